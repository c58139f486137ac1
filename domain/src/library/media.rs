use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A media item's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MediaId(pub Uuid);

impl MediaId {
    #[must_use]
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for MediaId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for MediaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A still image or a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MediaKind {
    Image,
    Video,
}

impl MediaKind {
    /// The stored spelling.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
        }
    }

    /// Reads the stored spelling.
    #[must_use]
    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "image" => Some(Self::Image),
            "video" => Some(Self::Video),
            _ => None,
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A category name: the first folder below the library root. Lowercase letters, digits, `-`
/// and `_`, 1 to 40 characters, so that it can be typed in `category-mix set memes=70`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Category(String);

/// A category name that is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a category name: use 1 to 40 lowercase letters, digits, '-' or '_' (folder names are lowercased)"
)]
pub struct CategoryError(pub String);

impl Category {
    /// A category from a folder or typed name; letters are lowercased.
    ///
    /// # Errors
    /// [`CategoryError`] when the name is empty, longer than 40 characters, or holds anything
    /// but letters, digits, `-` and `_`.
    pub fn new(name: &str) -> Result<Self, CategoryError> {
        let lower = name.trim().to_lowercase();
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
        if lower.is_empty() || lower.chars().count() > 40 || !lower.chars().all(allowed) {
            return Err(CategoryError(name.to_owned()));
        }
        Ok(Self(lower))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The SHA-256 of a file's content, as 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContentHash(String);

impl ContentHash {
    /// `None` unless `hex` is 64 hex digits.
    #[must_use]
    pub fn from_hex(hex: &str) -> Option<Self> {
        (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| Self(hex.to_ascii_lowercase()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 digits, for people.
    #[must_use]
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

/// A file about to be added to the library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMedia {
    /// The path below the library root, with `/` separators.
    pub path: String,
    pub category: Category,
    pub kind: MediaKind,
    pub hash: ContentHash,
    pub size_bytes: u64,
    /// Pixels, when known.
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// A media item in a workspace's library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaItem {
    pub id: MediaId,
    pub path: String,
    pub category: Category,
    pub kind: MediaKind,
    pub hash: ContentHash,
    pub size_bytes: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Inactive items are never scheduled.
    pub active: bool,
    pub times_posted: u32,
    pub last_posted_at: Option<DateTime<Utc>>,
    pub added_at: DateTime<Utc>,
    /// Link stickers, polls …: the API cannot add them, so it always goes the manual way.
    pub needs_interaction: bool,
}

impl MediaItem {
    /// The file name, the last part of the path.
    #[must_use]
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// How many items a category holds, and how many could be scheduled now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryStats {
    pub category: Category,
    pub total: u64,
    /// Active, not queued and not locked.
    pub available: u64,
    pub posted: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_names_are_lowercased_and_checked() {
        assert_eq!(Category::new("Memes").map(|c| c.0), Ok("memes".to_owned()));
        assert_eq!(Category::new("  merch_2024 ").map(|c| c.0), Ok("merch_2024".to_owned()));
        for bad in ["", " ", "a b", "memes=70", "ü", &"x".repeat(41)] {
            assert!(Category::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn content_hashes_are_64_hex_digits() {
        let hex = "AB".repeat(32);
        assert_eq!(ContentHash::from_hex(&hex).map(|h| h.0), Some("ab".repeat(32)));
        assert!(ContentHash::from_hex("abc").is_none());
        assert!(ContentHash::from_hex(&"zz".repeat(32)).is_none());
    }
}
