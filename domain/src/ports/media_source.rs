use async_trait::async_trait;

use crate::library::MediaContent;

/// A file in a library root, described by the source: path below the root (with `/`),
/// extension, size, content hash and what the content is (judged by its bytes, not its name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: String,
    pub extension: String,
    pub size_bytes: u64,
    /// SHA-256 as 64 hex digits.
    pub sha256: String,
    pub content: MediaContent,
}

/// A media source failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0} is not there or cannot be read")]
    NotFound(String),
    /// The path is (or passes through) a symbolic link to something outside the library root:
    /// never followed.
    #[error("{0} is a link to outside the library")]
    OutsideRoot(String),
    #[error("the media source failed")]
    Unknown(#[source] anyhow::Error),
}

/// Files of a library root: a local folder now; S3 and Google Drive later (FEATURES M).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait MediaSource: Send + Sync {
    /// Every file below the root, by path (hidden files and folders left out). Links to
    /// outside the root are listed, so that indexing can say why they are left out;
    /// [`MediaSource::describe`] and [`MediaSource::read`] refuse them.
    ///
    /// # Errors
    /// [`SourceError::NotFound`] when the root cannot be read.
    async fn list(&self) -> Result<Vec<String>, SourceError>;

    /// Describes one file: size, hash, and what its content is.
    ///
    /// # Errors
    /// [`SourceError::OutsideRoot`] for a link to outside the root; [`SourceError`] when it
    /// cannot be read.
    async fn describe(&self, path: &str) -> Result<SourceFile, SourceError>;

    /// The file's bytes.
    ///
    /// # Errors
    /// [`SourceError::OutsideRoot`] for a link to outside the root; [`SourceError`] when it
    /// cannot be read.
    async fn read(&self, path: &str) -> Result<Vec<u8>, SourceError>;

    /// Where the file is, for people (a local path, a bucket key).
    fn locate(&self, path: &str) -> String;
}
