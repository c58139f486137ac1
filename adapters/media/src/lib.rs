//! Media sources (FEATURES C1, M): where library files live. The local folder for now; what a
//! file holds is judged by its bytes (`probe`). [`SignedUrls`]: the signed, expiring URLs Meta
//! fetches story media from (FEATURES M4); [`JpegStills`]: the JPEG copies of other stills that
//! those URLs serve, since Instagram publishes only JPEG images.

mod host;
mod probe;
mod stills;

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use futures_util::StreamExt as _;
use sha2::{Digest, Sha256};
use storyline_domain::ports::{ByteStream, MediaSource, OpenedFile, SourceEntry, SourceError, SourceFile};
use tokio::io::AsyncReadExt as _;

pub use host::{SignedUrls, Verdict, content_type};
pub use stills::{ConvertError, JpegStills, is_jpeg};

/// How much of a file [`LocalFolder::open`] reads at a time.
const CHUNK: usize = 256 * 1024;
/// How much of a streamed file [`describe_stream`] keeps in memory; a larger one goes to a
/// temporary file.
pub const IN_MEMORY_LIMIT: usize = 4 * 1024 * 1024;

/// A folder on this machine; categories are its first-level folders.
///
/// Symbolic links are followed only within the root: a link to a file inside the root is a
/// library file like any other (under the link's path); a link to a folder inside the root is
/// not walked into (its files are indexed where they are); a link that leads outside the root
/// (or passes through a linked folder outside it) is listed, so that indexing can say so, but
/// never described or read.
#[derive(Debug, Clone)]
pub struct LocalFolder {
    root: PathBuf,
}

impl LocalFolder {
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The file for a library path, refusing anything that would leave the root (`..`, absolute
    /// paths, symbolic links to outside it): library paths come from the database and are not
    /// trusted blindly, and a link may have changed since it was indexed. Blocking.
    fn file(&self, path: &str) -> Result<PathBuf, SourceError> {
        let relative = Path::new(path);
        if path.is_empty() || !relative.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(SourceError::NotFound(path.to_owned()));
        }
        let root = std::fs::canonicalize(&self.root).map_err(|_| SourceError::NotFound(path.to_owned()))?;
        let file = std::fs::canonicalize(root.join(relative)).map_err(|_| SourceError::NotFound(path.to_owned()))?;
        if !file.starts_with(&root) {
            return Err(SourceError::OutsideRoot(path.to_owned()));
        }
        Ok(file)
    }
}

/// Whether a walked entry is a library file: a file, or a link that is not a folder inside
/// `root` (links to outside are listed so that indexing reports them; see [`LocalFolder`]).
fn listed(entry: &walkdir::DirEntry, root: &Path) -> bool {
    if entry.file_type().is_file() {
        return true;
    }
    if !entry.path_is_symlink() {
        return false;
    }
    match std::fs::canonicalize(entry.path()) {
        Ok(target) if target.starts_with(root) => target.is_file(),
        // Outside the root, or dangling: listed, and refused with a reason.
        _ => true,
    }
}

fn hidden(entry: &walkdir::DirEntry) -> bool {
    entry.depth() > 0 && entry.file_name().to_str().is_some_and(|name| name.starts_with('.'))
}

fn unknown(error: impl Into<anyhow::Error>) -> SourceError {
    SourceError::Unknown(error.into())
}

/// Reads a file: size and SHA-256, then what its content is from its header.
fn describe_file(file: &Path, path: &str) -> Result<SourceFile, SourceError> {
    let mut reader = std::fs::File::open(file).map_err(|_| SourceError::NotFound(path.to_owned()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0_u8; 64 * 1024];
    let mut size = 0_u64;
    loop {
        let read = reader.read(&mut buffer).map_err(unknown)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    let content = probe::probe(file).map_err(unknown)?;
    Ok(SourceFile { path: path.to_owned(), extension: extension(path), size_bytes: size, sha256: hex(hasher), content })
}

fn hex(hasher: Sha256) -> String {
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn extension(path: &str) -> String {
    Path::new(path).extension().and_then(|e| e.to_str()).unwrap_or_default().to_owned()
}

/// Where [`describe_stream`] keeps the bytes it has read.
enum Spool {
    Memory(Vec<u8>),
    File(std::fs::File),
}

/// Describes a file that arrives as a stream (from S3, Drive …) as [`LocalFolder`] describes
/// one on disk: size, SHA-256 and what its content is, judged by its bytes. Up to
/// [`IN_MEMORY_LIMIT`] is kept in memory; a larger file (a video) goes to a temporary file that
/// is removed when this returns, so that it never sits whole in memory.
///
/// # Errors
/// The stream's own [`SourceError`]; [`SourceError::Unknown`] when the temporary file cannot be
/// written.
pub async fn describe_stream(path: &str, mut chunks: ByteStream) -> Result<SourceFile, SourceError> {
    let mut hasher = Sha256::new();
    let mut size = 0_u64;
    let mut spool = Spool::Memory(Vec::new());
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        spool = match spool {
            Spool::Memory(mut buffer) if buffer.len() + chunk.len() <= IN_MEMORY_LIMIT => {
                buffer.extend_from_slice(&chunk);
                Spool::Memory(buffer)
            }
            Spool::Memory(buffer) => tokio::task::spawn_blocking(move || {
                let mut file = tempfile::tempfile()?;
                file.write_all(&buffer)?;
                file.write_all(&chunk)?;
                Ok::<_, std::io::Error>(Spool::File(file))
            })
            .await
            .map_err(unknown)?
            .map_err(unknown)?,
            Spool::File(mut file) => tokio::task::spawn_blocking(move || {
                file.write_all(&chunk)?;
                Ok::<_, std::io::Error>(Spool::File(file))
            })
            .await
            .map_err(unknown)?
            .map_err(unknown)?,
        };
    }
    let content = tokio::task::spawn_blocking(move || match spool {
        Spool::Memory(buffer) => probe::probe_reader(std::io::Cursor::new(buffer)),
        Spool::File(mut file) => {
            file.seek(SeekFrom::Start(0))?;
            probe::probe_reader(std::io::BufReader::new(file))
        }
    })
    .await
    .map_err(unknown)?
    .map_err(unknown)?;
    Ok(SourceFile { path: path.to_owned(), extension: extension(path), size_bytes: size, sha256: hex(hasher), content })
}

#[async_trait]
impl MediaSource for LocalFolder {
    async fn list(&self) -> Result<Vec<SourceEntry>, SourceError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            if !root.is_dir() {
                return Err(SourceError::NoSuchRoot(format!("there is no folder {}", root.display())));
            }
            let canonical =
                std::fs::canonicalize(&root).map_err(|_| SourceError::NotFound(root.display().to_string()))?;
            let mut paths = Vec::new();
            for entry in walkdir::WalkDir::new(&root).follow_links(false).into_iter().filter_entry(|e| !hidden(e)) {
                // An unreadable entry (permissions) is left out, not fatal.
                let Ok(entry) = entry else { continue };
                if !listed(&entry, &canonical) {
                    continue;
                }
                let relative = entry.path().strip_prefix(&root).map_err(unknown)?;
                // Library paths use '/' whatever the platform; names that are not UTF-8 are skipped.
                let parts: Option<Vec<&str>> = relative.components().map(|c| c.as_os_str().to_str()).collect();
                if let Some(parts) = parts {
                    // Size and time of what a link points to; a link to outside (refused later)
                    // or one that dangles is listed with nothing known of it.
                    let metadata = std::fs::metadata(entry.path()).ok();
                    paths.push(SourceEntry {
                        path: parts.join("/"),
                        size_bytes: metadata.as_ref().map_or(0, std::fs::Metadata::len),
                        checksum: None,
                        modified: metadata.and_then(|m| m.modified().ok()).map(chrono::DateTime::from),
                    });
                }
            }
            paths.sort_by(|a, b| a.path.cmp(&b.path));
            Ok(paths)
        })
        .await
        .map_err(unknown)?
    }

    async fn describe(&self, path: &str) -> Result<SourceFile, SourceError> {
        let (source, path) = (self.clone(), path.to_owned());
        tokio::task::spawn_blocking(move || describe_file(&source.file(&path)?, &path)).await.map_err(unknown)?
    }

    async fn open(&self, path: &str) -> Result<OpenedFile, SourceError> {
        let (source, owned) = (self.clone(), path.to_owned());
        let file = tokio::task::spawn_blocking(move || source.file(&owned)).await.map_err(unknown)??;
        let file = tokio::fs::File::open(&file).await.map_err(|_| SourceError::NotFound(path.to_owned()))?;
        let size = file.metadata().await.ok().map(|m| m.len());
        let chunks = futures_util::stream::try_unfold(file, |mut file| async move {
            let mut chunk = vec![0_u8; CHUNK];
            let read = file.read(&mut chunk).await.map_err(unknown)?;
            if read == 0 {
                return Ok(None);
            }
            chunk.truncate(read);
            Ok(Some((chunk, file)))
        });
        Ok(OpenedFile { size_bytes: size, chunks: Box::pin(chunks) })
    }

    async fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let (source, owned) = (self.clone(), path.to_owned());
        let file = tokio::task::spawn_blocking(move || source.file(&owned)).await.map_err(unknown)??;
        tokio::fs::read(&file).await.map_err(|_| SourceError::NotFound(path.to_owned()))
    }

    fn locate(&self, path: &str) -> String {
        self.root.join(path).display().to_string()
    }
}

#[cfg(test)]
mod tests;
