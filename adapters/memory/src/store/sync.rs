//! The library's side of a sync in memory: a run's changes are made on a copy of the workspace's
//! library, which replaces it only when every change went through (all or nothing).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::library::{MediaId, MediaItem};
use storyline_domain::ports::{LibrarySync, StoreError, SyncApplied, SyncChanges, SyncedItem};
use storyline_domain::queue::QueueStatus;

use super::MemoryStore;
use super::library::Library;

fn refused(why: String) -> StoreError {
    StoreError::unknown(std::io::Error::other(why))
}

fn apply(library: &mut Library, changes: &SyncChanges, at: DateTime<Utc>) -> Result<SyncApplied, StoreError> {
    let mut applied = SyncApplied::default();
    // Paths may change hands within one run: every moved item lets go of its old path first.
    for update in &changes.updated {
        let item = library.media.get(&update.id).ok_or_else(|| refused(format!("no media item {}", update.id)))?;
        if item.path != update.path && library.by_path.get(&item.path) == Some(&update.id) {
            let old = item.path.clone();
            library.by_path.remove(&old);
        }
    }
    for update in &changes.updated {
        if library.by_path.get(&update.path).is_some_and(|holder| *holder != update.id) {
            return Err(refused(format!("{} is already in the library", update.path)));
        }
        let item = library.media.get_mut(&update.id).ok_or_else(|| refused(format!("no media item {}", update.id)))?;
        item.path.clone_from(&update.path);
        item.category = update.category.clone();
        item.active = update.active;
        let mut new_hash = None;
        if let Some(content) = &update.content {
            new_hash = Some((item.hash.clone(), content.hash.clone()));
            item.kind = content.kind;
            item.hash = content.hash.clone();
            item.size_bytes = content.size_bytes;
            item.width = content.width;
            item.height = content.height;
        }
        library.by_path.insert(update.path.clone(), update.id);
        if let Some((old, new)) = new_hash {
            if library.by_hash.get(&new).is_some_and(|holder| *holder != update.id) {
                return Err(refused(format!("the content of {} is already in the library", update.path)));
            }
            library.by_hash.remove(&old);
            library.by_hash.insert(new, update.id);
        }
        library.seen.insert(update.id, (update.checksum.clone(), update.modified));
    }
    for media in &changes.removed {
        let item = library.media.get_mut(media).ok_or_else(|| refused(format!("no media item {media}")))?;
        item.active = false;
        let before = library.queue.len();
        library.queue.retain(|s| !(s.item.media == *media && s.item.status == QueueStatus::Pending));
        applied.dropped_from_queue += (before - library.queue.len()) as u64;
    }
    for new in &changes.added {
        let media = &new.media;
        if library.by_path.contains_key(&media.path) || library.by_hash.contains_key(&media.hash) {
            return Err(refused(format!("{} or its content is already in the library", media.path)));
        }
        let item = MediaItem {
            id: MediaId::new(),
            path: media.path.clone(),
            category: media.category.clone(),
            kind: media.kind,
            hash: media.hash.clone(),
            size_bytes: media.size_bytes,
            width: media.width,
            height: media.height,
            active: true,
            times_posted: 0,
            last_posted_at: None,
            added_at: at,
            needs_interaction: false,
        };
        library.by_hash.insert(item.hash.clone(), item.id);
        library.by_path.insert(item.path.clone(), item.id);
        library.seen.insert(item.id, (new.checksum.clone(), new.modified));
        library.media.insert(item.id, item);
    }
    Ok(applied)
}

#[async_trait]
impl LibrarySync for MemoryStore {
    async fn synced_items(&self, workspace: WorkspaceId) -> Result<Vec<SyncedItem>, StoreError> {
        let state = self.state();
        let Some(tenant) = state.workspaces.get(&workspace) else {
            return Ok(Vec::new());
        };
        let library = &tenant.library;
        let mut items: Vec<SyncedItem> = library
            .media
            .values()
            .map(|m| {
                let (checksum, modified) = library.seen.get(&m.id).cloned().unwrap_or_default();
                SyncedItem {
                    id: m.id,
                    path: m.path.clone(),
                    active: m.active,
                    hash: m.hash.clone(),
                    size_bytes: m.size_bytes,
                    checksum,
                    modified,
                }
            })
            .collect();
        items.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(items)
    }

    async fn apply_sync(
        &self,
        workspace: WorkspaceId,
        changes: &SyncChanges,
        at: DateTime<Utc>,
    ) -> Result<SyncApplied, StoreError> {
        let mut state = self.state();
        let library = &mut state.tenant(workspace)?.library;
        let mut draft = library.clone();
        let applied = apply(&mut draft, changes, at)?;
        *library = draft;
        Ok(applied)
    }
}
