//! Media sources (FEATURES C1, M): where library files live. The local folder for now.
//! [`SignedUrls`]: the signed, expiring URLs Meta fetches story media from (FEATURES M4).

mod host;

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use storyline_domain::ports::{MediaSource, SourceError, SourceFile};

pub use host::{SignedUrls, Verdict, content_type};

/// A folder on this machine; categories are its first-level folders.
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
    /// paths): library paths come from the database and are not trusted blindly.
    fn file(&self, path: &str) -> Result<PathBuf, SourceError> {
        let relative = Path::new(path);
        if path.is_empty() || !relative.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(SourceError::NotFound(path.to_owned()));
        }
        Ok(self.root.join(relative))
    }
}

fn hidden(entry: &walkdir::DirEntry) -> bool {
    entry.depth() > 0 && entry.file_name().to_str().is_some_and(|name| name.starts_with('.'))
}

fn unknown(error: impl Into<anyhow::Error>) -> SourceError {
    SourceError::Unknown(error.into())
}

/// Reads a file once: size, SHA-256, and for images the pixel size from the header.
fn describe_file(file: &Path, path: &str) -> Result<SourceFile, SourceError> {
    let mut reader = std::fs::File::open(file).map_err(|_| SourceError::NotFound(path.to_owned()))?;
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut buffer = vec![0_u8; 64 * 1024];
    let mut size = 0_u64;
    loop {
        let read = reader.read(&mut buffer).map_err(unknown)?;
        if read == 0 {
            break;
        }
        if head.len() < 64 * 1024 {
            head.extend_from_slice(&buffer[..read.min(64 * 1024 - head.len())]);
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    let sha256 = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let extension = Path::new(path).extension().and_then(|e| e.to_str()).unwrap_or_default().to_owned();
    let dimensions = imagesize::blob_size(&head)
        .ok()
        .and_then(|size| Some((u32::try_from(size.width).ok()?, u32::try_from(size.height).ok()?)));
    Ok(SourceFile { path: path.to_owned(), extension, size_bytes: size, sha256, dimensions })
}

#[async_trait]
impl MediaSource for LocalFolder {
    async fn list(&self) -> Result<Vec<String>, SourceError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            if !root.is_dir() {
                return Err(SourceError::NotFound(root.display().to_string()));
            }
            let mut paths = Vec::new();
            for entry in walkdir::WalkDir::new(&root).follow_links(true).into_iter().filter_entry(|e| !hidden(e)) {
                // An unreadable entry (permissions, a symlink loop) is left out, not fatal.
                let Ok(entry) = entry else { continue };
                if !entry.file_type().is_file() {
                    continue;
                }
                let relative = entry.path().strip_prefix(&root).map_err(unknown)?;
                // Library paths use '/' whatever the platform; names that are not UTF-8 are skipped.
                let parts: Option<Vec<&str>> = relative.components().map(|c| c.as_os_str().to_str()).collect();
                if let Some(parts) = parts {
                    paths.push(parts.join("/"));
                }
            }
            paths.sort();
            Ok(paths)
        })
        .await
        .map_err(unknown)?
    }

    async fn describe(&self, path: &str) -> Result<SourceFile, SourceError> {
        let file = self.file(path)?;
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || describe_file(&file, &path)).await.map_err(unknown)?
    }

    async fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let file = self.file(path)?;
        tokio::fs::read(&file).await.map_err(|_| SourceError::NotFound(path.to_owned()))
    }

    fn locate(&self, path: &str) -> String {
        self.root.join(path).display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2×3 PNG header (enough for the size; the body need not be valid for hashing).
    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        bytes
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
        assert_eq!(source.list().await?, vec!["memes/a.png".to_owned(), "memes/deep/b.txt".to_owned()]);
        let a = source.describe("memes/a.png").await?;
        assert_eq!(a.extension, "png");
        assert_eq!(a.dimensions, Some((1080, 1920)));
        assert_eq!(a.size_bytes, 33);
        let b = source.describe("memes/deep/b.txt").await?;
        // sha256("hello")
        assert_eq!(b.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(b.dimensions, None);
        assert_eq!(source.read("memes/deep/b.txt").await?, b"hello");
        Ok(())
    }

    #[tokio::test]
    async fn paths_that_leave_the_root_are_refused() {
        let source = LocalFolder::new("/tmp");
        for path in ["../etc/passwd", "/etc/passwd", "", "a/../../b"] {
            assert!(matches!(source.read(path).await, Err(SourceError::NotFound(_))), "{path}");
        }
        assert!(matches!(LocalFolder::new("/nonexistent-root").list().await, Err(SourceError::NotFound(_))));
    }
}
