//! What Instagram accepts as a story, checked before a file enters the library (FEATURES C1).

use std::fmt;

use super::{MediaContent, MediaKind, StillFormat};

/// The largest image Instagram takes for a story (Graph API: 8 MB).
pub const MAX_IMAGE_BYTES: u64 = 8 * 1024 * 1024;
/// The largest video Instagram takes for a story (Graph API: 100 MB).
pub const MAX_VIDEO_BYTES: u64 = 100 * 1024 * 1024;
/// Below this width a story looks blurry.
pub const MIN_WIDTH: u32 = 720;

/// The shortest video Instagram takes for a story.
pub const MIN_VIDEO_MS: u64 = 3_000;
/// The longest video Instagram takes for a story.
pub const MAX_VIDEO_MS: u64 = 60_000;

/// Why a file is not indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not JPEG, PNG, MP4 or MOV by its name.
    Format(String),
    /// The name says one format, the content is something else.
    NotWhatItSays {
        /// "a JPEG", "a PNG", "an MP4 or MOV video".
        expected: &'static str,
        /// What the content is, in a few words.
        content: String,
        /// When the content is another story format: the extension it should have.
        rename_to: Option<&'static str>,
    },
    /// It starts like its format, but its header does not decode.
    Damaged {
        format: String,
        problem: String,
    },
    TooLarge {
        kind: MediaKind,
        size_bytes: u64,
        max_bytes: u64,
    },
    Empty,
    /// Shorter than [`MIN_VIDEO_MS`] or longer than [`MAX_VIDEO_MS`].
    VideoLength {
        duration_ms: u64,
    },
    /// A video file with no video track (sound only).
    NoVideoTrack,
}

/// Milliseconds as seconds for people: whole seconds without a decimal, else one decimal,
/// rounded away from the allowed range so that a refused length never reads as allowed.
fn seconds(duration_ms: u64) -> String {
    let tenths = if duration_ms > MAX_VIDEO_MS { duration_ms.div_ceil(100) } else { duration_ms / 100 };
    if tenths % 10 == 0 { format!("{}", tenths / 10) } else { format!("{}.{}", tenths / 10, tenths % 10) }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Format(ext) => write!(f, "{ext:?} is not a story format (JPEG, PNG, MP4 or MOV)"),
            Self::NotWhatItSays { expected, content, rename_to: None } => {
                write!(f, "not {expected} (content is {content})")
            }
            Self::NotWhatItSays { expected, content, rename_to: Some(extension) } => {
                write!(f, "not {expected} (content is {content}; rename it to .{extension})")
            }
            Self::Damaged { format, problem } => write!(f, "a damaged {format}: {problem}"),
            Self::TooLarge { kind, size_bytes, max_bytes } => write!(
                f,
                "{} MB is over Instagram's {} MB limit for a story {kind}",
                size_bytes.div_ceil(1024 * 1024),
                max_bytes / (1024 * 1024)
            ),
            Self::Empty => f.write_str("the file is empty"),
            Self::VideoLength { duration_ms } => write!(
                f,
                "video is {} s; stories take {}–{} s",
                seconds(*duration_ms),
                MIN_VIDEO_MS / 1000,
                MAX_VIDEO_MS / 1000
            ),
            Self::NoVideoTrack => f.write_str("an MP4/MOV without a video track (sound only)"),
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

/// What the content must be for a file named with `extension` (a story format's).
fn expected_for(extension: &str) -> &'static str {
    match extension.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" => "a JPEG",
        "png" => "a PNG",
        _ => "an MP4 or MOV video",
    }
}

/// Checks that the content is what the name says; for a video, its length.
fn check_content(extension: &str, content: &MediaContent) -> Result<Option<u64>, Refusal> {
    let expected = expected_for(extension);
    let named = kind_of(extension);
    let mismatch = |rename_to| Refusal::NotWhatItSays { expected, content: content.describe(), rename_to };
    match content {
        MediaContent::Still { format, .. } => {
            let matches = match format {
                StillFormat::Jpeg => expected == "a JPEG",
                StillFormat::Png => expected == "a PNG",
            };
            if matches { Ok(None) } else { Err(mismatch(Some(format.extension()))) }
        }
        MediaContent::Video { size, duration_ms } => {
            if named != Some(MediaKind::Video) {
                return Err(mismatch(Some("mp4")));
            }
            if size.is_none() {
                return Err(Refusal::NoVideoTrack);
            }
            Ok(Some(*duration_ms))
        }
        MediaContent::Damaged { format, problem } => {
            Err(Refusal::Damaged { format: format.clone(), problem: problem.clone() })
        }
        MediaContent::Other(_) => Err(mismatch(None)),
    }
}

/// Checks a file for a story by its name, size and content (as the media source found it):
/// its kind when accepted, with warnings, or why it is refused.
///
/// # Errors
/// The [`Refusal`] when Instagram would not take the file, or the content is not what its
/// name says.
pub fn check_story_media(
    extension: &str,
    size_bytes: u64,
    content: &MediaContent,
) -> Result<(MediaKind, Vec<Warning>), Refusal> {
    let kind = kind_of(extension).ok_or_else(|| Refusal::Format(extension.to_owned()))?;
    if size_bytes == 0 {
        return Err(Refusal::Empty);
    }
    let duration_ms = check_content(extension, content)?;
    let max_bytes = match kind {
        MediaKind::Image => MAX_IMAGE_BYTES,
        MediaKind::Video => MAX_VIDEO_BYTES,
    };
    if size_bytes > max_bytes {
        return Err(Refusal::TooLarge { kind, size_bytes, max_bytes });
    }
    if let Some(duration_ms) = duration_ms.filter(|ms| !(MIN_VIDEO_MS..=MAX_VIDEO_MS).contains(ms)) {
        return Err(Refusal::VideoLength { duration_ms });
    }
    let mut warnings = Vec::new();
    if let Some((width, height)) = content.dimensions().filter(|&(w, h)| w > 0 && h > 0) {
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

    fn png(width: u32, height: u32) -> MediaContent {
        MediaContent::Still { format: StillFormat::Png, width, height }
    }

    fn jpeg(width: u32, height: u32) -> MediaContent {
        MediaContent::Still { format: StillFormat::Jpeg, width, height }
    }

    fn video(duration_ms: u64) -> MediaContent {
        MediaContent::Video { size: Some((1080, 1920)), duration_ms }
    }

    #[test]
    fn formats_sizes_and_shapes_are_checked() {
        assert_eq!(check_story_media("JPG", 10, &jpeg(1080, 1920)), Ok((MediaKind::Image, vec![])));
        assert_eq!(check_story_media("mov", 10, &video(10_000)), Ok((MediaKind::Video, vec![])));
        assert_eq!(check_story_media("gif", 10, &png(1, 1)), Err(Refusal::Format("gif".into())));
        assert_eq!(check_story_media("png", 0, &MediaContent::Other("empty".into())), Err(Refusal::Empty));
        assert!(matches!(
            check_story_media("png", MAX_IMAGE_BYTES + 1, &png(1080, 1920)),
            Err(Refusal::TooLarge { .. })
        ));
        assert!(check_story_media("mp4", MAX_IMAGE_BYTES + 1, &video(10_000)).is_ok());
        let (_, warnings) = check_story_media("png", 10, &png(400, 400)).expect("accepted");
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

    #[test]
    fn content_that_is_not_what_the_name_says_is_refused_with_what_it_is() {
        let text = MediaContent::Other("text".into());
        let refused = |ext: &str, content: &MediaContent| {
            check_story_media(ext, 10, content).err().map(|r| r.to_string()).unwrap_or_default()
        };
        assert_eq!(refused("jpg", &text), "not a JPEG (content is text)");
        assert_eq!(refused("png", &text), "not a PNG (content is text)");
        assert_eq!(
            refused("mp4", &MediaContent::Other("unrecognised data".into())),
            "not an MP4 or MOV video (content is unrecognised data)"
        );
        assert_eq!(refused("jpeg", &png(1080, 1920)), "not a JPEG (content is a PNG image; rename it to .png)");
        assert_eq!(refused("png", &jpeg(1080, 1920)), "not a PNG (content is a JPEG image; rename it to .jpg)");
        assert_eq!(refused("png", &video(10_000)), "not a PNG (content is an MP4/MOV video; rename it to .mp4)");
        assert_eq!(
            refused("mp4", &png(1080, 1920)),
            "not an MP4 or MOV video (content is a PNG image; rename it to .png)"
        );
        let damaged = MediaContent::Damaged { format: "PNG".into(), problem: "its header does not decode".into() };
        assert_eq!(refused("png", &damaged), "a damaged PNG: its header does not decode");
        // An MP4 named .mov (or the other way round) is the same kind of file.
        assert!(check_story_media("mov", 10, &video(10_000)).is_ok());
        assert!(check_story_media("MP4", 10, &video(10_000)).is_ok());
    }

    #[test]
    fn videos_outside_3_to_60_seconds_are_refused_with_their_length() {
        let refused = |content: &MediaContent| {
            check_story_media("mp4", 10, content).err().map(|r| r.to_string()).unwrap_or_default()
        };
        assert_eq!(refused(&video(75_000)), "video is 75 s; stories take 3–60 s");
        assert_eq!(refused(&video(2_500)), "video is 2.5 s; stories take 3–60 s");
        assert_eq!(refused(&video(2_990)), "video is 2.9 s; stories take 3–60 s");
        assert_eq!(refused(&video(60_010)), "video is 60.1 s; stories take 3–60 s");
        for allowed in [3_000, 15_000, 60_000] {
            assert!(check_story_media("mp4", 10, &video(allowed)).is_ok(), "{allowed} ms");
        }
        let silent = MediaContent::Video { size: None, duration_ms: 10_000 };
        assert_eq!(check_story_media("mp4", 10, &silent), Err(Refusal::NoVideoTrack));
    }

    #[test]
    fn an_accepted_video_is_checked_for_its_shape_too() {
        let wide = MediaContent::Video { size: Some((1920, 1080)), duration_ms: 10_000 };
        let (kind, warnings) = check_story_media("mp4", 10, &wide).expect("accepted");
        assert_eq!(kind, MediaKind::Video);
        assert_eq!(warnings, vec![Warning::AspectRatio { width: 1920, height: 1080 }]);
    }
}
