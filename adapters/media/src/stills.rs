//! Instagram publishes only JPEG stories (FEATURES M4): a PNG (or any other still the library
//! takes) is served to Meta as a JPEG, converted when its signed URL is fetched.
//!
//! Conversions are kept in memory, least recently used first out, up to a byte cap. In memory
//! rather than on disk: a story's file is fetched by Meta a few times within minutes and then
//! not again, so a small cache catches every repeat; there is no folder to create, clean or
//! share between processes, and a restart simply converts again. The key is the SHA-256 of the
//! file's bytes, so a file changed on disk is never answered with an old conversion.

use std::fmt;
use std::io::Cursor;
use std::sync::{Arc, Mutex, PoisonError};

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageReader, Limits, Rgb, RgbImage};
use lru::LruCache;
use sha2::{Digest, Sha256};

/// JPEG quality of a conversion: visually lossless for a story, about 1 MB at 1080×1920.
const QUALITY: u8 = 90;
/// The largest side decoded, far above Instagram's 1080×1920, to stop decompression bombs.
const MAX_SIDE: u32 = 8_000;
/// The most memory one decode may take (an 8000×4000 RGBA image is 128 MB).
const MAX_DECODE_BYTES: u64 = 160 * 1024 * 1024;

/// Whether `bytes` are a JPEG (by their magic bytes).
#[must_use]
pub fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// A still could not be turned into a JPEG.
#[derive(Debug, thiserror::Error)]
#[error("the image could not be converted to JPEG")]
pub struct ConvertError(#[source] image::ImageError);

/// JPEG copies of stills, converted on demand, cached up to a byte cap.
pub struct JpegStills {
    cache: Mutex<Cache>,
    cap_bytes: usize,
    /// One conversion at a time: Meta fetches a story a few times within seconds, and parallel
    /// fetches of one file must not decode it in parallel (memory is the limit, not speed).
    converting: Mutex<()>,
}

struct Cache {
    entries: LruCache<[u8; 32], Arc<Vec<u8>>>,
    bytes: usize,
}

impl JpegStills {
    /// 64 MB: some 50 converted stories, more than a day of publishing for most teams.
    pub const DEFAULT_CAP_BYTES: usize = 64 * 1024 * 1024;

    /// A cache holding at most `cap_bytes` of JPEG.
    #[must_use]
    pub fn new(cap_bytes: usize) -> Self {
        Self {
            cache: Mutex::new(Cache { entries: LruCache::unbounded(), bytes: 0 }),
            cap_bytes,
            converting: Mutex::new(()),
        }
    }

    /// `bytes` of a still image as a JPEG: the bytes themselves when they are one, else
    /// converted (transparency becomes white) or taken from the cache. CPU-bound: call it off
    /// the async threads.
    ///
    /// # Errors
    /// [`ConvertError`] when the bytes are no image `image` decodes, or it is too large.
    pub fn jpeg(&self, bytes: Vec<u8>) -> Result<Arc<Vec<u8>>, ConvertError> {
        if is_jpeg(&bytes) {
            return Ok(Arc::new(bytes));
        }
        let key: [u8; 32] = Sha256::digest(&bytes).into();
        if let Some(hit) = self.lock().entries.get(&key) {
            return Ok(hit.clone());
        }
        let _one_at_a_time = self.converting.lock().unwrap_or_else(PoisonError::into_inner);
        // Another fetch of the same file may have converted it while this one waited.
        if let Some(hit) = self.lock().entries.get(&key) {
            return Ok(hit.clone());
        }
        let jpeg = Arc::new(convert(&bytes)?);
        let mut cache = self.lock();
        if jpeg.len() <= self.cap_bytes && !cache.entries.contains(&key) {
            while cache.bytes + jpeg.len() > self.cap_bytes {
                let Some((_, evicted)) = cache.entries.pop_lru() else { break };
                cache.bytes -= evicted.len();
            }
            cache.bytes += jpeg.len();
            cache.entries.put(key, jpeg.clone());
        }
        Ok(jpeg)
    }

    /// How many conversions and bytes are cached.
    #[must_use]
    pub fn cached(&self) -> (usize, usize) {
        let cache = self.lock();
        (cache.entries.len(), cache.bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // The cache holds only finished conversions: a panic elsewhere cannot leave it half-changed.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for JpegStills {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAP_BYTES)
    }
}

impl fmt::Debug for JpegStills {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (entries, bytes) = self.cached();
        f.debug_struct("JpegStills")
            .field("entries", &entries)
            .field("bytes", &bytes)
            .field("cap_bytes", &self.cap_bytes)
            .finish()
    }
}

/// Decodes any still `image` knows (by its magic bytes) and encodes it as a JPEG.
fn convert(bytes: &[u8]) -> Result<Vec<u8>, ConvertError> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| ConvertError(e.into()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let image = reader.decode().map_err(ConvertError)?;
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, QUALITY).encode_image(&on_white(&image)).map_err(ConvertError)?;
    Ok(out)
}

/// The image without transparency: see-through pixels are laid over white, as a viewer shows them.
fn on_white(image: &DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| {
            let (c, a) = (u16::from(c), u16::from(a));
            // c·a + 255·(255 − a), over 255: at most 255, so the cast cannot truncate.
            u8::try_from((c * a + 255 * (255 - a)) / 255).unwrap_or(u8::MAX)
        };
        Rgb([over(r), over(g), over(b)])
    })
}

#[cfg(test)]
mod tests {
    use image::{ImageFormat, Rgba, RgbaImage};

    use super::*;

    fn png(width: u32, height: u32, pixel: Rgba<u8>) -> anyhow::Result<Vec<u8>> {
        let mut out = Cursor::new(Vec::new());
        RgbaImage::from_pixel(width, height, pixel).write_to(&mut out, ImageFormat::Png)?;
        Ok(out.into_inner())
    }

    #[test]
    fn a_png_becomes_a_jpeg_of_the_same_size_and_a_jpeg_stays_as_it_is() -> anyhow::Result<()> {
        let stills = JpegStills::default();
        let jpeg = stills.jpeg(png(90, 160, Rgba([200, 10, 10, 255]))?)?;
        assert!(is_jpeg(&jpeg));
        let decoded = image::load_from_memory_with_format(&jpeg, ImageFormat::Jpeg)?;
        assert_eq!((decoded.width(), decoded.height()), (90, 160));
        let again = stills.jpeg(jpeg.as_ref().clone())?;
        assert_eq!(again, jpeg, "a JPEG is served as it is");
        Ok(())
    }

    #[test]
    fn an_image_wider_than_the_decode_limit_is_refused_not_decoded() -> anyhow::Result<()> {
        let stills = JpegStills::default();
        assert!(stills.jpeg(png(MAX_SIDE + 1, 1, Rgba([1, 2, 3, 255]))?).is_err());
        assert!(stills.jpeg(png(MAX_SIDE, 1, Rgba([1, 2, 3, 255]))?).is_ok(), "the limit itself is allowed");
        assert_eq!(stills.cached().0, 1, "only the allowed one was kept");
        Ok(())
    }

    #[test]
    fn transparency_becomes_white() -> anyhow::Result<()> {
        let jpeg = JpegStills::default().jpeg(png(16, 16, Rgba([0, 0, 0, 0]))?)?;
        let decoded = image::load_from_memory_with_format(&jpeg, ImageFormat::Jpeg)?.to_rgb8();
        assert!(decoded.pixels().all(|p| p.0.iter().all(|&c| c > 245)), "see-through is white, not black");
        Ok(())
    }

    #[test]
    fn conversions_are_cached_up_to_the_byte_cap_least_recently_used_first_out() -> anyhow::Result<()> {
        let one = JpegStills::default().jpeg(png(64, 64, Rgba([1, 2, 3, 255]))?)?.len();
        let stills = JpegStills::new(one * 2 + one / 2);
        let (a, b, c) = (
            png(64, 64, Rgba([1, 2, 3, 255]))?,
            png(64, 64, Rgba([4, 5, 6, 255]))?,
            png(64, 64, Rgba([7, 8, 9, 255]))?,
        );
        let first = stills.jpeg(a.clone())?;
        assert_eq!(stills.cached().0, 1);
        assert!(Arc::ptr_eq(&first, &stills.jpeg(a.clone())?), "the second fetch is the cached copy");
        stills.jpeg(b)?;
        stills.jpeg(a.clone())?; // a is now the most recently used
        stills.jpeg(c)?;
        let (entries, bytes) = stills.cached();
        assert_eq!(entries, 2, "b made room for c");
        assert!(bytes <= one * 2 + one / 2, "{bytes}");
        assert!(Arc::ptr_eq(&first, &stills.jpeg(a)?), "a was kept");
        Ok(())
    }

    #[test]
    fn bytes_that_are_no_image_are_an_error_not_a_panic() {
        assert!(JpegStills::default().jpeg(b"hello, this is text".to_vec()).is_err());
    }
}
