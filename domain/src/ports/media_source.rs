use async_trait::async_trait;

/// A file in a library root, described by the source: path below the root (with `/`),
/// extension, size, content hash and, for images, pixel size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: String,
    pub extension: String,
    pub size_bytes: u64,
    /// SHA-256 as 64 hex digits.
    pub sha256: String,
    pub dimensions: Option<(u32, u32)>,
}

/// A media source failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0} is not there or cannot be read")]
    NotFound(String),
    #[error("the media source failed")]
    Unknown(#[source] anyhow::Error),
}

/// Files of a library root: a local folder now; S3 and Google Drive later (FEATURES M).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait MediaSource: Send + Sync {
    /// Every file below the root, by path (hidden files and folders left out).
    ///
    /// # Errors
    /// [`SourceError::NotFound`] when the root cannot be read.
    async fn list(&self) -> Result<Vec<String>, SourceError>;

    /// Describes one file: size, hash, and pixel size for images.
    ///
    /// # Errors
    /// [`SourceError`] when it cannot be read.
    async fn describe(&self, path: &str) -> Result<SourceFile, SourceError>;

    /// The file's bytes.
    ///
    /// # Errors
    /// [`SourceError`] when it cannot be read.
    async fn read(&self, path: &str) -> Result<Vec<u8>, SourceError>;

    /// Where the file is, for people (a local path, a bucket key).
    fn locate(&self, path: &str) -> String;
}
