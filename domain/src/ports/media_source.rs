use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::WorkspaceId;
use crate::library::MediaContent;
use crate::source::SourceConfig;

/// One file as a source lists it, without reading its body (FEATURES M3: an unchanged source
/// costs a listing, not a download).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEntry {
    /// The path below the root, with `/` separators; its first folder is the category.
    pub path: String,
    pub size_bytes: u64,
    /// The source's own checksum of the content, where it has one: an S3 ETag or checksum, a
    /// Drive `md5Checksum`. `None` for a local folder. Opaque: compared for equality only.
    pub checksum: Option<String>,
    /// When the source says the file last changed, where it says.
    pub modified: Option<DateTime<Utc>>,
}

/// A file in a library root, described by the source after reading it once: path below the root
/// (with `/`), extension, size, content hash and what the content is (judged by its bytes, not
/// its name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: String,
    pub extension: String,
    pub size_bytes: u64,
    /// SHA-256 as 64 hex digits.
    pub sha256: String,
    pub content: MediaContent,
}

/// A file's bytes, in chunks, as they arrive from the source: never the whole file in memory.
pub type ByteStream = Pin<Box<dyn futures_core::Stream<Item = Result<Vec<u8>, SourceError>> + Send>>;

/// An opened file: its size when the source knows it, and its bytes.
pub struct OpenedFile {
    pub size_bytes: Option<u64>,
    pub chunks: ByteStream,
}

impl std::fmt::Debug for OpenedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedFile").field("size_bytes", &self.size_bytes).finish_non_exhaustive()
    }
}

/// A media source failed. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0} is not there or cannot be read")]
    NotFound(String),
    /// The path is (or passes through) a symbolic link to something outside the library root:
    /// never followed.
    #[error("{0} is a link to outside the library")]
    OutsideRoot(String),
    /// The root itself does not exist: no such bucket, folder or directory. The text says which.
    #[error("{0}")]
    NoSuchRoot(String),
    /// The source refused the credentials, or they do not reach the root. The text says which.
    #[error("{0}")]
    Denied(String),
    /// The source did not answer (network, 5xx after retries).
    #[error("the media source is not answering")]
    Unreachable(#[source] anyhow::Error),
    #[error("the media source failed")]
    Unknown(#[source] anyhow::Error),
}

/// Files of a library root: a local folder, an S3 bucket (under a prefix), a Google Drive folder
/// (FEATURES M1).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait MediaSource: Send + Sync {
    /// Every file below the root, by path (hidden files and folders left out), with what the
    /// listing says of it. Links to outside a local root are listed, so that indexing can say
    /// why they are left out; [`MediaSource::describe`] and [`MediaSource::open`] refuse them.
    ///
    /// # Errors
    /// [`SourceError::NoSuchRoot`], [`SourceError::Denied`], [`SourceError::Unreachable`] …
    /// when the root cannot be listed.
    async fn list(&self) -> Result<Vec<SourceEntry>, SourceError>;

    /// Reads one file once: size, hash, and what its content is.
    ///
    /// # Errors
    /// [`SourceError::OutsideRoot`] for a link to outside the root; [`SourceError`] when it
    /// cannot be read.
    async fn describe(&self, path: &str) -> Result<SourceFile, SourceError>;

    /// The whole file in memory: for small files (stills to convert) and tests.
    ///
    /// # Errors
    /// [`SourceError::OutsideRoot`] for a link to outside the root; [`SourceError`] when it
    /// cannot be read.
    async fn read(&self, path: &str) -> Result<Vec<u8>, SourceError>;

    /// The file's bytes as a stream, for sending and serving: adapters override this so that a
    /// large video never sits whole in memory (the default reads it whole).
    ///
    /// # Errors
    /// As [`MediaSource::read`].
    async fn open(&self, path: &str) -> Result<OpenedFile, SourceError> {
        let bytes = self.read(path).await?;
        let size_bytes = Some(bytes.len() as u64);
        Ok(OpenedFile { size_bytes, chunks: Box::pin(Whole(Some(bytes))) })
    }

    /// A URL anyone can GET the file from for `valid_for` (an S3 presigned URL), where the source
    /// can give one; `None` when Storyline must serve the file itself (FEATURES M4).
    ///
    /// # Errors
    /// [`SourceError`] when the URL cannot be made.
    async fn public_url(&self, path: &str, valid_for: Duration) -> Result<Option<String>, SourceError> {
        let _ = (path, valid_for);
        Ok(None)
    }

    /// Where the file is, for people (a local path, `s3://bucket/key`, a Drive path).
    fn locate(&self, path: &str) -> String;
}

/// A file read whole, as a stream of one chunk.
struct Whole(Option<Vec<u8>>);

impl futures_core::Stream for Whole {
    type Item = Result<Vec<u8>, SourceError>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.0.take().map(Ok))
    }
}

/// Makes a [`MediaSource`] of a workspace's [`SourceConfig`] (implemented in `bootstrap`, which
/// knows the adapters).
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait SourceFactory: Send + Sync {
    /// The adapter for `config`, with its secret (S3 secret key, service-account key) opened.
    ///
    /// # Errors
    /// [`SourceError`] when the configuration cannot make a source (a malformed key).
    fn make(&self, config: &SourceConfig, secret: Option<SecretString>) -> Result<Arc<dyn MediaSource>, SourceError>;

    /// The source of `workspace` when it has none set: the local folder `MEDIA_DIR` (one team),
    /// or its own folder inside it (many workspaces, so that none reads another's).
    fn default_source(&self, workspace: WorkspaceId) -> Arc<dyn MediaSource>;

    /// How [`SourceFactory::default_source`] reads, for people (`local: ./media`).
    fn default_config(&self, workspace: WorkspaceId) -> SourceConfig;

    /// The folder a person typed in a chat for `workspace`'s local source, resolved (`..` and
    /// symlinks followed) and checked to be inside the workspace's default folder; else one
    /// line saying what is allowed. By default no folder is allowed.
    ///
    /// # Errors
    /// What is allowed, when `typed` is not.
    fn local_folder(&self, workspace: WorkspaceId, typed: &str) -> Result<String, String> {
        let _ = (workspace, typed);
        Err("A local folder cannot be chosen in this deployment.".to_owned())
    }
}

/// The media source each workspace reads from now (its own, or the default), cached.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait WorkspaceSources: Send + Sync {
    /// The workspace's source.
    ///
    /// # Errors
    /// [`SourceError`] when its settings cannot be read or opened.
    async fn source(&self, workspace: WorkspaceId) -> Result<Arc<dyn MediaSource>, SourceError>;
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    use super::*;

    struct Bytes;

    #[async_trait]
    impl MediaSource for Bytes {
        async fn list(&self) -> Result<Vec<SourceEntry>, SourceError> {
            Ok(Vec::new())
        }

        async fn describe(&self, path: &str) -> Result<SourceFile, SourceError> {
            Err(SourceError::NotFound(path.to_owned()))
        }

        async fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
            if path == "a" { Ok(vec![1, 2, 3]) } else { Err(SourceError::NotFound(path.to_owned())) }
        }

        fn locate(&self, path: &str) -> String {
            path.to_owned()
        }
    }

    /// Polls a future that never waits (everything here is ready at once).
    fn ready<T>(future: impl Future<Output = T>) -> T {
        let mut future = std::pin::pin!(future);
        match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(value) => value,
            Poll::Pending => panic!("the future waited"),
        }
    }

    #[test]
    fn the_default_open_gives_the_whole_file_as_one_chunk_then_ends() {
        let mut opened = ready(Bytes.open("a")).expect("opened");
        assert_eq!(opened.size_bytes, Some(3));
        let mut next = || ready(std::future::poll_fn(|cx| opened.chunks.as_mut().poll_next(cx)));
        assert_eq!(next().map(Result::ok), Some(Some(vec![1, 2, 3])));
        assert!(next().is_none());
        assert!(matches!(ready(Bytes.open("b")), Err(SourceError::NotFound(_))));
    }
}
