//! The media library (FEATURES C1, C2): media items with their category and content hash, the
//! rules Instagram applies to story media, and the category mix the schedule follows.

mod content;
mod media;
mod mix;
mod rules;

pub use content::{MediaContent, StillFormat};
pub use media::{Category, CategoryError, CategoryStats, ContentHash, MediaId, MediaItem, MediaKind, NewMedia};
pub use mix::{CategoryMix, MixError, MixVersion};
pub use rules::{
    MAX_IMAGE_BYTES, MAX_VIDEO_BYTES, MAX_VIDEO_MS, MIN_VIDEO_MS, Refusal, Warning, check_story_media, kind_of,
};
