//! What a file holds, judged by its bytes (FEATURES C1): the magic bytes say the format, and
//! the header is decoded for the pixel size (PNG and JPEG through `image`; MP4 and MOV through
//! `mp4parse`: the `moov` box's track headers, `tkhd`, for the size and the length). Only
//! headers are decoded: a PNG's `IHDR` (its checksum included), a JPEG's markers up to its frame
//! header, an MP4's boxes but not its media data.
//!
//! `mp4parse` (Mozilla's, Firefox's parser, fuzzed against hostile files) rather than `mp4`:
//! `mp4` refuses ordinary QuickTime files (a MOV with AAC sound written by ffmpeg fails with
//! "mp4a box contains a box with a larger size than it"), and phones record MOV.

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

/// What `file` holds.
///
/// # Errors
/// When the file cannot be opened or read.
pub(crate) fn probe(file: &Path) -> io::Result<MediaContent> {
    probe_reader(File::open(file)?)
}

/// What the bytes of `reader` hold (a file, or a buffer in memory): only headers are read.
///
/// # Errors
/// When the bytes cannot be read.
pub(crate) fn probe_reader<R: Read + Seek>(mut reader: R) -> io::Result<MediaContent> {
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
            None => video(reader),
        }
    } else {
        MediaContent::Other(other(&head).to_owned())
    })
}

/// A PNG or JPEG: its pixel size from the header, or what is wrong with it.
fn still<R: Read + Seek>(reader: R, format: ImageFormat, still: StillFormat) -> MediaContent {
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

/// An MP4 or MOV: the length of its longest track (from `tkhd`, in the movie's time scale,
/// else from `mdhd`), the size of its first video track as shown (a track turned by 90° in its
/// matrix, as phones record portrait video, shows its height as width).
fn video<R: Read>(reader: R) -> MediaContent {
    const FORMAT: &str = "MP4/MOV video";
    // The parser is made for hostile input; should it still panic, that is a damaged file, not
    // a stopped indexer.
    let parsed = catch_unwind(AssertUnwindSafe(|| mp4parse::read_mp4(&mut BufReader::new(reader))));
    let movie = match parsed {
        Ok(Ok(movie)) => movie,
        Ok(Err(error)) => return damaged(FORMAT, &format!("its boxes do not decode ({error})")),
        Err(_) => return damaged(FORMAT, "its boxes do not decode"),
    };
    let movie_scale = movie.timescale.map(|scale| scale.0).filter(|&scale| scale > 0);
    let length_ms = |track: &mp4parse::Track| {
        let from_header = movie_scale.zip(track.tkhd.as_ref()).map(|(scale, tkhd)| ms(tkhd.duration, scale));
        let from_media =
            track.duration.zip(track.timescale).filter(|(_, scale)| scale.0 > 0).map(|(d, s)| ms(d.0, s.0));
        from_header.filter(|&ms| ms > 0).or(from_media)
    };
    let duration_ms = movie.tracks.iter().filter_map(length_ms).max().unwrap_or(0);
    if duration_ms == 0 {
        return damaged(FORMAT, "its header gives no length (a fragmented MP4? save it again as a plain MP4)");
    }
    let size = movie
        .tracks
        .iter()
        .filter(|track| track.track_type == mp4parse::TrackType::Video)
        .find_map(|track| track.tkhd.as_ref())
        .map(|tkhd| {
            // Fixed point 16.16.
            let (width, height) = (tkhd.width >> 16, tkhd.height >> 16);
            let turned = tkhd.matrix.a == 0 && tkhd.matrix.d == 0 && tkhd.matrix.b != 0;
            if turned { (height, width) } else { (width, height) }
        })
        .filter(|&(width, height)| width > 0 && height > 0);
    MediaContent::Video { size, duration_ms }
}

/// `duration` units of `1/scale` s in milliseconds (`scale` > 0).
fn ms(duration: u64, scale: u64) -> u64 {
    u64::try_from(u128::from(duration) * 1000 / u128::from(scale)).unwrap_or(u64::MAX)
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
