//! Small things tests make: image and video files, HTTP requests.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};

/// A real PNG of `width` × `height` (grey, made with the `image` crate) whose top band is a
/// pattern of the bytes of `salt`, so each file's content — and hash — differs.
///
/// # Panics
/// When `image` cannot encode it (it always can: the buffer is in memory).
#[must_use]
pub fn png(width: u32, height: u32, salt: &str) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::NoFilter)
        .write_image(&pixels(width, height, salt), width, height, ExtendedColorType::Rgb8)
        .expect("a PNG in memory");
    out
}

/// A real JPEG of `width` × `height`, like [`png`] (the band is strong enough to survive the
/// compression, so different salts make different files).
///
/// # Panics
/// When `image` cannot encode it.
#[must_use]
pub fn jpeg(width: u32, height: u32, salt: &str) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 80)
        .write_image(&pixels(width, height, salt), width, height, ExtendedColorType::Rgb8)
        .expect("a JPEG in memory");
    out
}

fn pixels(width: u32, height: u32, salt: &str) -> Vec<u8> {
    let mut pixels = vec![128_u8; width as usize * height as usize * 3];
    let band = width as usize * 3 * 16.min(height as usize);
    let salt: Vec<u8> = salt.bytes().map(|b| b.wrapping_mul(37)).collect();
    if !salt.is_empty() {
        // Blocks of 8 pixels per salt byte, so that JPEG keeps them apart.
        for (i, pixel) in pixels[..band].iter_mut().enumerate() {
            *pixel = salt[(i / 24) % salt.len()];
        }
    }
    pixels
}

/// A real MP4 (made with the `mp4` crate's writer): one H.264 video track of `width` ×
/// `height` holding one-second samples for `seconds` (the samples are placeholder bytes: a
/// player would not show them, but every box an MP4 reader looks at is real).
///
/// # Panics
/// When the writer fails (it does not: it writes to memory).
#[must_use]
pub fn mp4(width: u16, height: u16, seconds: u32) -> Vec<u8> {
    mp4_of_size(width, height, seconds, u64::from(seconds) * 16)
}

/// As [`mp4`], with about `bytes` of sample data in all (one sample a second, at least 16 bytes
/// each): for files as large as a real story video.
///
/// # Panics
/// When the writer fails (it does not: it writes to memory).
#[must_use]
pub fn mp4_of_size(width: u16, height: u16, seconds: u32, bytes: u64) -> Vec<u8> {
    let sample_size = usize::try_from(bytes / u64::from(seconds.max(1))).unwrap_or(usize::MAX).max(16);
    let config = mp4::Mp4Config {
        major_brand: "isom".parse().expect("a brand"),
        minor_version: 512,
        compatible_brands: vec!["isom".parse().expect("a brand"), "mp41".parse().expect("a brand")],
        timescale: 1000,
    };
    let mut writer = mp4::Mp4Writer::write_start(std::io::Cursor::new(Vec::new()), &config).expect("mp4 start");
    writer
        .add_track(&mp4::TrackConfig {
            track_type: mp4::TrackType::Video,
            timescale: 1000,
            language: "und".to_owned(),
            media_conf: mp4::MediaConfig::AvcConfig(mp4::AvcConfig {
                width,
                height,
                seq_param_set: vec![0x67, 0x42, 0x00, 0x1E],
                pic_param_set: vec![0x68, 0xCE, 0x3C, 0x80],
            }),
        })
        .expect("a video track");
    for second in 0..seconds {
        let sample = mp4::Mp4Sample {
            start_time: u64::from(second) * 1000,
            duration: 1000,
            rendering_offset: 0,
            is_sync: true,
            bytes: mp4::Bytes::from(vec![0_u8; sample_size]),
        };
        writer.write_sample(1, &sample).expect("a sample");
    }
    writer.write_end().expect("mp4 end");
    writer.into_writer().into_inner()
}

/// `GET /healthz` on `addr`: the status code and the JSON body.
///
/// # Errors
/// When the server cannot be reached or answers something else than HTTP with JSON.
pub async fn healthz(addr: std::net::SocketAddr) -> anyhow::Result<(u16, serde_json::Value)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    let status = answer.split(' ').nth(1).unwrap_or_default().parse()?;
    Ok((status, serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or_default())?))
}
