//! Small things tests make: image files, HTTP requests.

/// The header of a PNG of `width` × `height` (all an image probe reads), then `salt`, so each
/// file's content — and hash — differs.
#[must_use]
pub fn png(width: u32, height: u32, salt: &str) -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend_from_slice(salt.as_bytes());
    bytes
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
