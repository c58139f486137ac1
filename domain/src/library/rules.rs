//! What Instagram accepts as a story, checked before a file enters the library (FEATURES C1).

use std::fmt;

use super::MediaKind;

/// The largest image Instagram takes for a story (Graph API: 8 MB).
pub const MAX_IMAGE_BYTES: u64 = 8 * 1024 * 1024;
/// The largest video Instagram takes for a story (Graph API: 100 MB).
pub const MAX_VIDEO_BYTES: u64 = 100 * 1024 * 1024;
/// Below this width a story looks blurry.
pub const MIN_WIDTH: u32 = 720;

/// Why a file is not indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not JPEG, PNG, MP4 or MOV.
    Format(String),
    TooLarge {
        kind: MediaKind,
        size_bytes: u64,
        max_bytes: u64,
    },
    Empty,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Format(ext) => write!(f, "{ext:?} is not a story format (JPEG, PNG, MP4 or MOV)"),
            Self::TooLarge { kind, size_bytes, max_bytes } => write!(
                f,
                "{} MB is over Instagram's {} MB limit for a story {kind}",
                size_bytes.div_ceil(1024 * 1024),
                max_bytes / (1024 * 1024)
            ),
            Self::Empty => f.write_str("the file is empty"),
        }
    }
}

/// Something Instagram accepts but that will not look right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// Far from 9:16: Instagram crops or letterboxes it.
    AspectRatio { width: u32, height: u32 },
    /// Narrower than [`MIN_WIDTH`].
    LowResolution { width: u32, height: u32 },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AspectRatio { width, height } => {
                write!(f, "{width}×{height} is far from 9:16; Instagram will crop or letterbox it")
            }
            Self::LowResolution { width, height } => {
                write!(f, "{width}×{height} is below {MIN_WIDTH} px wide; it will look blurry (1080×1920 is best)")
            }
        }
    }
}

/// The kind of a file from its extension (any case), if it is a story format.
#[must_use]
pub fn kind_of(extension: &str) -> Option<MediaKind> {
    match extension.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" | "png" => Some(MediaKind::Image),
        "mp4" | "mov" => Some(MediaKind::Video),
        _ => None,
    }
}

/// Checks a file for a story: its kind when accepted, with warnings, or why it is refused.
///
/// # Errors
/// The [`Refusal`] when Instagram would not take the file.
pub fn check_story_media(
    extension: &str,
    size_bytes: u64,
    dimensions: Option<(u32, u32)>,
) -> Result<(MediaKind, Vec<Warning>), Refusal> {
    let kind = kind_of(extension).ok_or_else(|| Refusal::Format(extension.to_owned()))?;
    let max_bytes = match kind {
        MediaKind::Image => MAX_IMAGE_BYTES,
        MediaKind::Video => MAX_VIDEO_BYTES,
    };
    if size_bytes == 0 {
        return Err(Refusal::Empty);
    }
    if size_bytes > max_bytes {
        return Err(Refusal::TooLarge { kind, size_bytes, max_bytes });
    }
    let mut warnings = Vec::new();
    if let Some((width, height)) = dimensions.filter(|&(w, h)| w > 0 && h > 0) {
        // 9:16 is 0.5625; Instagram shows 0.5 to 0.66 without visible loss.
        let ratio = f64::from(width) / f64::from(height);
        if !(0.5..=0.66).contains(&ratio) {
            warnings.push(Warning::AspectRatio { width, height });
        }
        if width < MIN_WIDTH {
            warnings.push(Warning::LowResolution { width, height });
        }
    }
    Ok((kind, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_sizes_and_shapes_are_checked() {
        assert_eq!(check_story_media("JPG", 10, Some((1080, 1920))), Ok((MediaKind::Image, vec![])));
        assert_eq!(check_story_media("mov", 10, None), Ok((MediaKind::Video, vec![])));
        assert_eq!(check_story_media("gif", 10, None), Err(Refusal::Format("gif".into())));
        assert_eq!(check_story_media("png", 0, None), Err(Refusal::Empty));
        assert!(matches!(check_story_media("png", MAX_IMAGE_BYTES + 1, None), Err(Refusal::TooLarge { .. })));
        assert!(check_story_media("mp4", MAX_IMAGE_BYTES + 1, None).is_ok());
        let (_, warnings) = check_story_media("png", 10, Some((400, 400))).expect("accepted");
        assert_eq!(
            warnings,
            vec![Warning::AspectRatio { width: 400, height: 400 }, Warning::LowResolution { width: 400, height: 400 }]
        );
        assert!(
            Refusal::TooLarge { kind: MediaKind::Image, size_bytes: 9 << 20, max_bytes: MAX_IMAGE_BYTES }
                .to_string()
                .contains("8 MB")
        );
    }
}
