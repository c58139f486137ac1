//! The media library use cases (FEATURES C1, C2): index a media source, list media and
//! categories, set the category mix.

use std::collections::HashSet;
use std::sync::Arc;

use storyline_domain::WorkspaceId;
use storyline_domain::library::{
    Category, CategoryMix, CategoryStats, ContentHash, MediaItem, MixVersion, NewMedia, check_story_media,
};
use storyline_domain::ports::{Clock, MediaLibrary, MediaQuery, MediaSource, SourceError, SourceFile, StoreError};
use storyline_domain::user::Actor;

mod mix;
pub mod sync;

pub use mix::SetMixError;
pub use sync::{SyncError, SyncService};

/// Files are added in transactions of this many.
const BATCH: usize = 500;
/// The category of files directly in the library root.
pub const UNCATEGORIZED: &str = "uncategorized";

/// Why indexing stopped. Batches added before the failure stay.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("the library could not be saved")]
    Store(#[from] StoreError),
}

/// What indexing did, file by file where something is worth saying.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexReport {
    pub seen: u64,
    /// How many files became new media items (their paths in `added_paths`).
    pub added: u64,
    pub added_paths: Vec<String>,
    /// Files already in the library under the same path: nothing to say about them.
    pub unchanged: u64,
    /// `(path, path already in the library with the same content)`: not added.
    pub duplicates: Vec<(String, String)>,
    /// `(path, why it is refused)`: not indexed.
    pub refused: Vec<(String, String)>,
    /// `(path, warning)` for files added in this run that will not look right.
    pub warnings: Vec<(String, String)>,
}

/// Progress as indexing goes: files looked at so far, of how many.
pub trait Progress: Send + Sync {
    fn start(&self, total: u64);
    fn advance(&self, path: &str);
    fn finish(&self);
}

/// No progress display.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn start(&self, _total: u64) {}
    fn advance(&self, _path: &str) {}
    fn finish(&self) {}
}

/// The category of a library path: its first folder, or [`UNCATEGORIZED`] for a file in the root.
///
/// # Errors
/// When the folder name is not a usable category name.
pub fn category_of(path: &str) -> Result<Category, String> {
    match path.split_once('/') {
        Some((folder, _)) => Category::new(folder).map_err(|e| e.to_string()),
        None => Category::new(UNCATEGORIZED).map_err(|e| e.to_string()),
    }
}

/// A file the source described, as a new media item by Instagram's formats and size limits
/// (FEATURES C1), with the warnings for shapes that will not look right; or why it is refused.
/// `index-media` and a sync judge every file by this one rule.
///
/// # Errors
/// Why the file is refused: its format, size, folder name or hash.
pub fn accept(path: &str, file: &SourceFile) -> Result<(NewMedia, Vec<String>), String> {
    let (kind, warnings) =
        check_story_media(&file.extension, file.size_bytes, &file.content).map_err(|r| r.to_string())?;
    let category = category_of(path)?;
    let hash = ContentHash::from_hex(&file.sha256).ok_or_else(|| "its content hash is unreadable".to_owned())?;
    let dimensions = file.content.dimensions();
    let media = NewMedia {
        path: path.to_owned(),
        category,
        kind,
        hash,
        size_bytes: file.size_bytes,
        width: dimensions.map(|d| d.0),
        height: dimensions.map(|d| d.1),
    };
    Ok((media, warnings.iter().map(ToString::to_string).collect()))
}

/// Why a file the source could not describe is refused, for people.
#[must_use]
pub fn unreadable(error: &SourceError) -> String {
    match error {
        SourceError::NotFound(_) => "it vanished or cannot be read".to_owned(),
        SourceError::OutsideRoot(_) => "a link to outside the library (links are followed only within it)".to_owned(),
        other => format!("it could not be read from the media source ({other})"),
    }
}

/// Media library use cases.
#[derive(Clone)]
pub struct LibraryService {
    library: Arc<dyn MediaLibrary>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for LibraryService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibraryService").finish_non_exhaustive()
    }
}

impl LibraryService {
    #[must_use]
    pub fn new(library: Arc<dyn MediaLibrary>, clock: Arc<dyn Clock>) -> Self {
        Self { library, clock }
    }

    /// Indexes every file of `source` into the workspace's library: Instagram's formats and size
    /// limits are checked (refused files are reported and skipped; shape problems are warnings),
    /// and content already in the library — under any name — is not added twice.
    ///
    /// # Errors
    /// [`IndexError`] when the source cannot be listed or the store fails.
    pub async fn index(
        &self,
        workspace: WorkspaceId,
        source: &dyn MediaSource,
        progress: &dyn Progress,
    ) -> Result<IndexReport, IndexError> {
        let paths: Vec<String> = source.list().await?.into_iter().map(|entry| entry.path).collect();
        let mut report = IndexReport::default();
        progress.start(paths.len() as u64);
        let mut batch = Vec::with_capacity(BATCH);
        let mut pending_warnings = Vec::new();
        for path in paths {
            progress.advance(&path);
            report.seen += 1;
            let file = match source.describe(&path).await {
                Ok(file) => file,
                Err(error @ (SourceError::NotFound(_) | SourceError::OutsideRoot(_))) => {
                    report.refused.push((path, unreadable(&error)));
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            let (media, warnings) = match accept(&path, &file) {
                Ok(accepted) => accepted,
                Err(why) => {
                    report.refused.push((path, why));
                    continue;
                }
            };
            pending_warnings.extend(warnings.into_iter().map(|w| (path.clone(), w)));
            batch.push(media);
            if batch.len() == BATCH {
                self.add(workspace, &mut batch, &mut pending_warnings, &mut report).await?;
            }
        }
        self.add(workspace, &mut batch, &mut pending_warnings, &mut report).await?;
        progress.finish();
        Ok(report)
    }

    /// Adds a batch; sorts what the store did not add into unchanged files (the same path
    /// is already indexed) and duplicates (another path holds the content). Warnings are kept
    /// only for the files that were added: what is already in the library was warned about then.
    async fn add(
        &self,
        workspace: WorkspaceId,
        batch: &mut Vec<NewMedia>,
        warnings: &mut Vec<(String, String)>,
        report: &mut IndexReport,
    ) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let added = self.library.add(workspace, batch, self.clock.now()).await?;
        report.added += added.added;
        let not_added: HashSet<&str> = added.duplicates.iter().map(|(path, _)| path.as_str()).collect();
        report.added_paths.extend(batch.iter().map(|m| &m.path).filter(|p| !not_added.contains(p.as_str())).cloned());
        report.warnings.extend(warnings.drain(..).filter(|(path, _)| !not_added.contains(path.as_str())));
        for (path, existing) in added.duplicates {
            if path == existing {
                report.unchanged += 1;
            } else {
                report.duplicates.push((path, existing));
            }
        }
        batch.clear();
        Ok(())
    }

    /// Media items by path.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn media(
        &self,
        workspace: WorkspaceId,
        category: Option<Category>,
        limit: u32,
    ) -> Result<Vec<MediaItem>, StoreError> {
        self.library.media(workspace, &MediaQuery { category, limit }).await
    }

    /// Categories with their counts now.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn categories(&self, workspace: WorkspaceId) -> Result<Vec<CategoryStats>, StoreError> {
        self.library.categories(workspace, self.clock.now()).await
    }

    /// Makes `mix` current (every version is kept). Every category it names must be in the
    /// library.
    ///
    /// # Errors
    /// [`SetMixError::UnknownCategories`], and nothing changes, when it names a category the
    /// library does not have; [`SetMixError::Store`] when the store fails.
    pub async fn set_mix(&self, workspace: WorkspaceId, mix: &CategoryMix, actor: &Actor) -> Result<(), SetMixError> {
        let now = self.clock.now();
        let known: Vec<Category> =
            self.library.categories(workspace, now).await?.into_iter().map(|stats| stats.category).collect();
        let unknown: Vec<Category> = mix.shares().map(|(c, _)| c.clone()).filter(|c| !known.contains(c)).collect();
        if !unknown.is_empty() {
            return Err(SetMixError::UnknownCategories { unknown, known });
        }
        Ok(self.library.set_mix(workspace, mix, actor, now).await?)
    }

    /// Every version of the mix, newest first.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn mix_history(&self, workspace: WorkspaceId) -> Result<Vec<MixVersion>, StoreError> {
        self.library.mix_history(workspace).await
    }
}

#[cfg(test)]
mod tests;
