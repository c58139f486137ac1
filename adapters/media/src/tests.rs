//! The local folder and the content probe, on real files made here: PNG and JPEG with the
//! `image` crate, MP4 and MOV with the `mp4` crate's writer.

use std::io::Cursor;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder, ImageFormat, RgbImage};
use storyline_domain::library::{MediaContent, StillFormat};

use super::*;

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let pixels = vec![90_u8; width as usize * height as usize * 3];
    let encoded = PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::NoFilter).write_image(
        &pixels,
        width,
        height,
        ExtendedColorType::Rgb8,
    );
    assert!(encoded.is_ok(), "{encoded:?}");
    out
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let encoded = RgbImage::new(width, height).write_to(&mut out, ImageFormat::Jpeg);
    assert!(encoded.is_ok(), "{encoded:?}");
    out.into_inner()
}

/// A real MP4 (or, with brand `qt  `, a MOV): one H.264 track of one-second placeholder samples.
fn movie(brand: &str, width: u16, height: u16, seconds: u32) -> anyhow::Result<Vec<u8>> {
    movie_of(brand, width, height, seconds, 16)
}

/// As [`movie`], with samples of `sample_bytes` each (to make a large file).
fn movie_of(brand: &str, width: u16, height: u16, seconds: u32, sample_bytes: usize) -> anyhow::Result<Vec<u8>> {
    let config = mp4::Mp4Config {
        major_brand: brand.parse()?,
        minor_version: 512,
        compatible_brands: vec![brand.parse()?],
        timescale: 1000,
    };
    let mut writer = mp4::Mp4Writer::write_start(Cursor::new(Vec::new()), &config)?;
    writer.add_track(&mp4::TrackConfig {
        track_type: mp4::TrackType::Video,
        timescale: 90_000,
        language: "und".to_owned(),
        media_conf: mp4::MediaConfig::AvcConfig(mp4::AvcConfig {
            width,
            height,
            seq_param_set: vec![0x67, 0x42, 0x00, 0x1E],
            pic_param_set: vec![0x68, 0xCE, 0x3C, 0x80],
        }),
    })?;
    for second in 0..seconds {
        writer.write_sample(
            1,
            &mp4::Mp4Sample {
                start_time: u64::from(second) * 90_000,
                duration: 90_000,
                rendering_offset: 0,
                is_sync: true,
                bytes: mp4::Bytes::from(vec![0_u8; sample_bytes]),
            },
        )?;
    }
    writer.write_end()?;
    Ok(writer.into_writer().into_inner())
}

async fn content(bytes: &[u8], name: &str) -> anyhow::Result<MediaContent> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join(name), bytes)?;
    Ok(LocalFolder::new(dir.path()).describe(name).await?.content)
}

#[tokio::test]
async fn lists_describes_and_reads_files_below_the_root() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("memes/deep"))?;
    std::fs::create_dir_all(dir.path().join(".hidden"))?;
    std::fs::write(dir.path().join("memes/a.png"), png(1080, 1920))?;
    std::fs::write(dir.path().join("memes/deep/b.txt"), b"hello")?;
    std::fs::write(dir.path().join(".hidden/c.png"), png(1, 1))?;
    std::fs::write(dir.path().join("memes/.d.png"), png(1, 1))?;
    let source = LocalFolder::new(dir.path());
    let paths: Vec<String> = source.list().await?.into_iter().map(|e| e.path).collect();
    assert_eq!(paths, ["memes/a.png", "memes/deep/b.txt"]);
    let a = source.describe("memes/a.png").await?;
    assert_eq!(a.extension, "png");
    assert_eq!(a.content, MediaContent::Still { format: StillFormat::Png, width: 1080, height: 1920 });
    assert_eq!(a.size_bytes, std::fs::metadata(dir.path().join("memes/a.png"))?.len());
    let b = source.describe("memes/deep/b.txt").await?;
    // sha256("hello")
    assert_eq!(b.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    assert_eq!(b.content, MediaContent::Other("text".to_owned()));
    assert_eq!(source.read("memes/deep/b.txt").await?, b"hello");
    Ok(())
}

#[tokio::test]
async fn paths_that_leave_the_root_are_refused() {
    let source = LocalFolder::new("/tmp");
    for path in ["../etc/passwd", "/etc/passwd", "", "a/../../b"] {
        assert!(matches!(source.read(path).await, Err(SourceError::NotFound(_))), "{path}");
    }
    assert!(matches!(LocalFolder::new("/nonexistent-root").list().await, Err(SourceError::NoSuchRoot(_))));
}

#[tokio::test]
async fn images_are_judged_by_their_content_and_decoded_for_their_size() -> anyhow::Result<()> {
    assert_eq!(
        content(&jpeg(720, 1280), "a.jpg").await?,
        MediaContent::Still { format: StillFormat::Jpeg, width: 720, height: 1280 }
    );
    // A JPEG named .png is found to be a JPEG (the rules then refuse the name).
    assert_eq!(
        content(&jpeg(64, 32), "b.png").await?,
        MediaContent::Still { format: StillFormat::Jpeg, width: 64, height: 32 }
    );
    assert_eq!(content(b"this is not an image\n", "broken.png").await?, MediaContent::Other("text".to_owned()));
    let random: Vec<u8> =
        (0_u32..4096).map(|i| u8::try_from(i.wrapping_mul(2_654_435_761) >> 24).unwrap_or(0)).collect();
    assert_eq!(content(&random, "noise.jpg").await?, MediaContent::Other("unrecognised data".to_owned()));
    assert_eq!(content(b"GIF89a\x01\x00\x01\x00", "anim.png").await?, MediaContent::Other("a GIF image".to_owned()));
    // The signature of a PNG, then a header whose checksum is wrong: damaged, not "added".
    let mut forged = png(1080, 1920);
    forged[29] ^= 0xFF;
    assert!(matches!(content(&forged, "forged.png").await?, MediaContent::Damaged { format, .. } if format == "PNG"));
    let truncated = jpeg(100, 100)[..12].to_vec();
    assert!(matches!(content(&truncated, "cut.jpg").await?, MediaContent::Damaged { format, .. } if format == "JPEG"));
    Ok(())
}

#[tokio::test]
async fn videos_are_decoded_for_their_size_and_length() -> anyhow::Result<()> {
    assert_eq!(
        content(&movie("isom", 1080, 1920, 10)?, "clip.mp4").await?,
        MediaContent::Video { size: Some((1080, 1920)), duration_ms: 10_000 }
    );
    assert_eq!(
        content(&movie("qt  ", 720, 1280, 75)?, "long.mov").await?,
        MediaContent::Video { size: Some((720, 1280)), duration_ms: 75_000 }
    );
    let random: Vec<u8> =
        (0_u32..4096).map(|i| u8::try_from(i.wrapping_mul(40_503) >> 8 & 0xFF).unwrap_or(0)).collect();
    assert_eq!(content(&random, "noise.mp4").await?, MediaContent::Other("unrecognised data".to_owned()));
    // An `ftyp` box and then nothing that decodes.
    let mut cut = movie("isom", 1080, 1920, 5)?;
    cut.truncate(40);
    assert!(matches!(content(&cut, "cut.mp4").await?, MediaContent::Damaged { .. }));
    let heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic";
    assert_eq!(content(heic, "photo.mp4").await?, MediaContent::Other("a HEIC image".to_owned()));
    Ok(())
}

#[tokio::test]
async fn a_video_turned_by_its_matrix_shows_its_size_as_seen() -> anyhow::Result<()> {
    // Phones store portrait video as landscape frames with a 90° matrix in `tkhd`.
    let mut turned = movie("qt  ", 1920, 1080, 5)?;
    let tkhd = turned.windows(4).position(|w| w == b"tkhd").ok_or_else(|| anyhow::anyhow!("a tkhd box"))? + 4;
    // Version 0: 1+3 flags, 4 created, 4 modified, 4 track, 4 reserved, 4 duration, 8 reserved,
    // 2 layer, 2 group, 2 volume, 2 reserved; then the matrix a b u c d v x y w.
    let matrix = tkhd + 40;
    for (i, value) in [0_i32, 0x0001_0000, 0, -0x0001_0000, 0].iter().enumerate() {
        turned[matrix + i * 4..matrix + i * 4 + 4].copy_from_slice(&value.to_be_bytes());
    }
    assert_eq!(
        content(&turned, "portrait.mov").await?,
        MediaContent::Video { size: Some((1080, 1920)), duration_ms: 5_000 }
    );
    Ok(())
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_are_followed_only_within_the_root() -> anyhow::Result<()> {
    use std::os::unix::fs::symlink;

    let outside = tempfile::tempdir()?;
    std::fs::write(outside.path().join("secret.png"), png(1080, 1920))?;
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("memes"))?;
    std::fs::write(dir.path().join("memes/a.png"), png(1080, 1920))?;
    symlink("/etc/passwd", dir.path().join("memes/link.png"))?;
    symlink(outside.path().join("secret.png"), dir.path().join("memes/secret.png"))?;
    symlink(outside.path(), dir.path().join("elsewhere"))?;
    symlink(dir.path().join("memes/a.png"), dir.path().join("memes/alias.png"))?;
    symlink(dir.path().join("memes"), dir.path().join("memes-again"))?;
    let source = LocalFolder::new(dir.path());

    let listed: Vec<String> = source.list().await?.into_iter().map(|e| e.path).collect();
    assert_eq!(listed, ["elsewhere", "memes/a.png", "memes/alias.png", "memes/link.png", "memes/secret.png"]);
    for path in ["memes/link.png", "memes/secret.png", "elsewhere", "elsewhere/secret.png"] {
        assert!(matches!(source.describe(path).await, Err(SourceError::OutsideRoot(_))), "describe {path}");
        assert!(matches!(source.read(path).await, Err(SourceError::OutsideRoot(_))), "read {path}");
    }
    // A link to a file inside the root is that file.
    let alias = source.describe("memes/alias.png").await?;
    assert_eq!(alias.sha256, source.describe("memes/a.png").await?.sha256);
    Ok(())
}

/// `bytes` as a stream of chunks of `size`.
fn chunked(bytes: &[u8], size: usize) -> ByteStream {
    let chunks: Vec<Result<Vec<u8>, SourceError>> = bytes.chunks(size).map(|c| Ok(c.to_vec())).collect();
    Box::pin(futures_util::stream::iter(chunks))
}

#[tokio::test]
async fn a_streamed_file_is_described_as_the_same_file_on_disk() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let small = png(1080, 1920);
    // Larger than what is kept in memory, its `moov` box at the end: judged from the spooled file.
    let large = movie_of("isom", 1080, 1920, 6, 1024 * 1024)?;
    assert!(large.len() > IN_MEMORY_LIMIT);
    std::fs::create_dir_all(dir.path().join("memes"))?;
    std::fs::write(dir.path().join("memes/a.png"), &small)?;
    std::fs::write(dir.path().join("memes/b.mp4"), &large)?;
    let local = LocalFolder::new(dir.path());
    for (path, bytes) in [("memes/a.png", &small), ("memes/b.mp4", &large)] {
        let streamed = describe_stream(path, chunked(bytes, 100_000)).await?;
        assert_eq!(streamed, local.describe(path).await?, "{path}");
    }
    let streamed = describe_stream("memes/b.mp4", chunked(&large, 100_000)).await?;
    assert_eq!(streamed.content, MediaContent::Video { size: Some((1080, 1920)), duration_ms: 6_000 });
    let empty = describe_stream("e.txt", chunked(b"", 1)).await?;
    assert_eq!((empty.size_bytes, empty.content), (0, MediaContent::Other("nothing (the file is empty)".to_owned())));
    Ok(())
}

#[tokio::test]
async fn a_stream_that_fails_fails_the_description() {
    let chunks: Vec<Result<Vec<u8>, SourceError>> =
        vec![Ok(vec![1, 2, 3]), Err(SourceError::Unreachable(anyhow::anyhow!("gone")))];
    let described = describe_stream("a.png", Box::pin(futures_util::stream::iter(chunks))).await;
    assert!(matches!(described, Err(SourceError::Unreachable(_))), "{described:?}");
}
