//! What a file holds, judged by its bytes (FEATURES C1): the magic bytes say the format, and
//! the header is decoded for the pixel size (PNG and JPEG through `image`; MP4 and MOV through
//! `mp4`: the `moov` box's `mvhd` for the length, the video track's `tkhd` for the size).
//! Only headers are read: a PNG's `IHDR` (its checksum included), a JPEG's markers up to its
//! frame header, an MP4's boxes but not its media data.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use image::{ImageFormat, ImageReader};
use storyline_domain::library::{MediaContent, StillFormat};

/// How much of an image is read to find its size: far more than any header needs, and more
/// than the largest image Instagram takes, so a huge file named `.jpg` is never read whole.
const IMAGE_HEADER_LIMIT: u64 = 16 * 1024 * 1024;
/// How much is read to tell text from other data.
const SNIFF: usize = 4096;

const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF];
const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// ISO base media brands that are still images, not videos.
const IMAGE_BRANDS: [(&[u8; 4], &str); 8] = [
    (b"heic", "a HEIC image"),
    (b"heix", "a HEIC image"),
    (b"hevc", "a HEIC image"),
    (b"heim", "a HEIC image"),
    (b"heis", "a HEIC image"),
    (b"mif1", "a HEIF image"),
    (b"msf1", "a HEIF image"),
    (b"avif", "an AVIF image"),
];

/// What `file` (of `size` bytes) holds.
///
/// # Errors
/// When the file cannot be opened or read.
pub(crate) fn probe(file: &Path, size: u64) -> io::Result<MediaContent> {
    let mut reader = File::open(file)?;
    let mut head = Vec::with_capacity(SNIFF);
    (&mut reader).take(SNIFF as u64).read_to_end(&mut head)?;
    reader.seek(SeekFrom::Start(0))?;
    Ok(if head.starts_with(JPEG) {
        still(reader, ImageFormat::Jpeg, StillFormat::Jpeg)
    } else if head.starts_with(PNG) {
        still(reader, ImageFormat::Png, StillFormat::Png)
    } else if head.get(4..8) == Some(b"ftyp") {
        match IMAGE_BRANDS.iter().find(|(brand, _)| head.get(8..12) == Some(brand.as_slice())) {
            Some((_, what)) => MediaContent::Other((*what).to_owned()),
            None => video(reader, size),
        }
    } else {
        MediaContent::Other(other(&head).to_owned())
    })
}

/// A PNG or JPEG: its pixel size from the header, or what is wrong with it.
fn still(reader: File, format: ImageFormat, still: StillFormat) -> MediaContent {
    let decoded = if format == ImageFormat::Png {
        // The PNG decoder reads chunk by chunk and stops at the first image data.
        ImageReader::with_format(BufReader::new(reader), format).into_dimensions()
    } else {
        // The JPEG decoder takes its input whole: give it no more than a header can need.
        let mut head = Vec::new();
        if let Err(error) = reader.take(IMAGE_HEADER_LIMIT).read_to_end(&mut head) {
            return damaged(still.name(), &format!("it cannot be read ({error})"));
        }
        ImageReader::with_format(io::Cursor::new(head), format).into_dimensions()
    };
    match decoded {
        Ok((width, height)) if width > 0 && height > 0 => MediaContent::Still { format: still, width, height },
        Ok(_) => damaged(still.name(), "it has no pixels"),
        Err(error) => damaged(still.name(), &format!("its header does not decode ({error})")),
    }
}

/// An MP4 or MOV: the length from `mvhd` (else the longest track), the size of the first
/// video track as shown (a track turned by 90° in its matrix, as phones record portrait
/// video, shows its height as width).
fn video(reader: File, size: u64) -> MediaContent {
    const FORMAT: &str = "MP4/MOV video";
    // A crafted header must not take the indexer down: the parser's panics are a damaged file.
    let parsed = catch_unwind(AssertUnwindSafe(|| mp4::Mp4Reader::read_header(BufReader::new(reader), size)));
    let header = match parsed {
        Ok(Ok(header)) => header,
        Ok(Err(error)) => return damaged(FORMAT, &format!("its boxes do not decode ({error})")),
        Err(_) => return damaged(FORMAT, "its boxes do not decode"),
    };
    let moov = &header.moov;
    let track_ms = moov
        .traks
        .iter()
        .filter(|t| t.mdia.mdhd.timescale > 0)
        .map(|t| t.mdia.mdhd.duration.saturating_mul(1000) / u64::from(t.mdia.mdhd.timescale))
        .max();
    let duration_ms = match (moov.mvhd.timescale, moov.mvhd.duration) {
        (scale, duration) if scale > 0 && duration > 0 => duration.saturating_mul(1000) / u64::from(scale),
        _ => match track_ms {
            Some(ms) => ms,
            None => return damaged(FORMAT, "it says nothing about its length"),
        },
    };
    let size = moov
        .traks
        .iter()
        .find(|t| mp4::TrackType::try_from(&t.mdia.hdlr.handler_type).ok() == Some(mp4::TrackType::Video))
        .map(|t| {
            let (width, height) = (u32::from(t.tkhd.width.value()), u32::from(t.tkhd.height.value()));
            let turned = t.tkhd.matrix.a == 0 && t.tkhd.matrix.d == 0 && t.tkhd.matrix.b != 0;
            if turned { (height, width) } else { (width, height) }
        })
        .filter(|&(width, height)| width > 0 && height > 0);
    MediaContent::Video { size, duration_ms }
}

fn damaged(format: &str, problem: &str) -> MediaContent {
    MediaContent::Damaged { format: format.to_owned(), problem: problem.to_owned() }
}

/// What the first bytes of a file that is no story format look like.
fn other(head: &[u8]) -> &'static str {
    let known: [(&[u8], &str); 6] = [
        (b"GIF87a", "a GIF image"),
        (b"GIF89a", "a GIF image"),
        (b"%PDF-", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"II*\0", "a TIFF image"),
        (b"MM\0*", "a TIFF image"),
    ];
    if head.is_empty() {
        return "nothing (the file is empty)";
    }
    if let Some((_, what)) = known.iter().find(|(magic, _)| head.starts_with(magic)) {
        return what;
    }
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        return "a WebP image";
    }
    if is_text(head) { "text" } else { "unrecognised data" }
}

/// UTF-8 (a character cut off at the end of `head` allowed) without control characters other
/// than tab, line breaks and form feed.
fn is_text(head: &[u8]) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(text) => text,
        // Cut in the middle of a character by the sniff limit: the part before it.
        Err(error) if error.error_len().is_none() => std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or(""),
        Err(_) => return false,
    };
    !valid.is_empty() && valid.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}
