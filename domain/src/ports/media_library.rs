use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::WorkspaceId;
use crate::library::{Category, CategoryMix, CategoryStats, MediaId, MediaItem, MixVersion, NewMedia};
use crate::user::Actor;

/// What [`MediaLibrary::add`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddReport {
    /// How many files became new media items.
    pub added: u64,
    /// Files whose content the library already holds: `(new path, path already indexed)`.
    pub duplicates: Vec<(String, String)>,
}

/// Which media to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaQuery {
    pub category: Option<Category>,
    /// At most this many, by path.
    pub limit: u32,
}

/// A workspace's media items, categories and category mix (FEATURES C1, C2).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait MediaLibrary: Send + Sync {
    /// Adds files, all in one transaction, at `at`. A file whose content hash the workspace
    /// already holds (under any name, or twice in `items`) is not added but reported.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails; then nothing was added.
    async fn add(&self, workspace: WorkspaceId, items: &[NewMedia], at: DateTime<Utc>)
    -> Result<AddReport, StoreError>;

    /// Media items by path.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn media(&self, workspace: WorkspaceId, query: &MediaQuery) -> Result<Vec<MediaItem>, StoreError>;

    /// One media item.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn get(&self, workspace: WorkspaceId, media: MediaId) -> Result<Option<MediaItem>, StoreError>;

    /// Marks a media item as needing interaction (link stickers, polls: always posted by hand)
    /// or clears the mark. `false` when there is no such item in the workspace.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn set_needs_interaction(&self, workspace: WorkspaceId, media: MediaId, on: bool)
    -> Result<bool, StoreError>;

    /// Every category with its counts at `now` (available = active, not queued, not locked), by
    /// name.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn categories(&self, workspace: WorkspaceId, now: DateTime<Utc>) -> Result<Vec<CategoryStats>, StoreError>;

    /// Makes `mix` the current mix from `at`: the current version (if any) ends at `at` and a new
    /// one starts, in one transaction. Every version is kept.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn set_mix(
        &self,
        workspace: WorkspaceId,
        mix: &CategoryMix,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Every version of the mix, newest first (the current one has no `valid_to`).
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn mix_history(&self, workspace: WorkspaceId) -> Result<Vec<MixVersion>, StoreError>;
}
