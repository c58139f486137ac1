//! What a file holds, judged by its content (magic bytes and decoded headers), not by its name
//! (FEATURES C1). A media source finds it out; the story rules decide on it.

use std::fmt;

/// A still image format Storyline takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StillFormat {
    Jpeg,
    Png,
}

impl StillFormat {
    /// The name people know it by: "JPEG", "PNG".
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
        }
    }

    /// The usual file extension, without the dot.
    #[must_use]
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
        }
    }
}

/// What a file's content is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaContent {
    /// A still image whose header decoded: its format and pixel size.
    Still { format: StillFormat, width: u32, height: u32 },
    /// An MP4 or QuickTime (MOV) video whose `moov` box decoded: the pixel size of its video
    /// track (`None` when it has no video track) and its length.
    Video { size: Option<(u32, u32)>, duration_ms: u64 },
    /// Starts like `format` ("PNG", "MP4 or MOV video") but its header does not decode.
    Damaged { format: String, problem: String },
    /// Anything else, as people would call it: "text", "a GIF image", "unrecognised data".
    Other(String),
}

impl MediaContent {
    /// The content in a few words, for "content is …": "text", "a PNG image", "a video".
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Still { format, .. } => format!("a {} image", format.name()),
            Self::Video { .. } => "an MP4/MOV video".to_owned(),
            Self::Damaged { format, .. } => format!("a damaged {format}"),
            Self::Other(what) => what.clone(),
        }
    }

    /// The pixel size, when the content has one.
    #[must_use]
    pub const fn dimensions(&self) -> Option<(u32, u32)> {
        match *self {
            Self::Still { width, height, .. } => Some((width, height)),
            Self::Video { size, .. } => size,
            Self::Damaged { .. } | Self::Other(_) => None,
        }
    }
}

impl fmt::Display for MediaContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}
