use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::WorkspaceId;
use crate::library::{Category, ContentHash, MediaId, MediaKind, NewMedia};

/// A library item as a sync compares it with a listing: every item, active or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedItem {
    pub id: MediaId,
    pub path: String,
    pub active: bool,
    pub hash: ContentHash,
    pub size_bytes: u64,
    /// The source's checksum when it was last seen (S3 ETag, Drive md5), if the source has one.
    pub checksum: Option<String>,
    /// The source's modification time when it was last seen.
    pub modified: Option<DateTime<Utc>>,
}

/// A new file found by a sync, with the identity the listing gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedNew {
    pub media: NewMedia,
    pub checksum: Option<String>,
    pub modified: Option<DateTime<Utc>>,
}

/// An existing item seen again: at `path` (a new one for a move), active or not, with the
/// listing's identity. History, times posted and locks stay with the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemUpdate {
    pub id: MediaId,
    pub path: String,
    /// The category of `path` (a move to another top folder changes it).
    pub category: Category,
    pub active: bool,
    pub checksum: Option<String>,
    pub modified: Option<DateTime<Utc>>,
    /// The file at the same path holds new content: its new hash, size, kind and pixels.
    pub content: Option<ItemContent>,
}

/// What a file's content is, as indexing found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemContent {
    pub kind: MediaKind,
    pub hash: ContentHash,
    pub size_bytes: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// What one sync run changes in the library.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncChanges {
    pub added: Vec<SyncedNew>,
    /// Moves, reactivations and refreshed identities.
    pub updated: Vec<ItemUpdate>,
    /// Gone from the source: deactivated, and their queued (not yet sent) stories dropped.
    pub removed: Vec<MediaId>,
}

/// What applying [`SyncChanges`] did beyond the changes themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncApplied {
    /// Queued stories dropped because their file is gone.
    pub dropped_from_queue: u64,
}

/// The library's side of a sync (FEATURES M3).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait LibrarySync: Send + Sync {
    /// Every item of the workspace's library, active or not.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn synced_items(&self, workspace: WorkspaceId) -> Result<Vec<SyncedItem>, StoreError>;

    /// Applies `changes` at `at`, in one transaction: all of it or none of it. Updates are
    /// applied first (so a path freed by a move can take a new file), then removals, then the
    /// added files.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails, an update or removal names an item the workspace
    /// does not have, or an added file's path or content is already in the library; then nothing
    /// changed.
    async fn apply_sync(
        &self,
        workspace: WorkspaceId,
        changes: &SyncChanges,
        at: DateTime<Utc>,
    ) -> Result<SyncApplied, StoreError>;
}
