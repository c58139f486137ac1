//! A workspace's media library and category mix in memory, and the state the queue shares with
//! it (queue items, posting history, locks), so a press changes all of them under one lock.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::library::{CategoryMix, CategoryStats, ContentHash, MediaId, MediaItem, MixVersion, NewMedia};
use storyline_domain::ports::{AddReport, MediaLibrary, MediaQuery, StoreError};
use storyline_domain::queue::{HistoryEntry, LockReason, Outcome, QueueItem};
use storyline_domain::user::Actor;

use super::MemoryStore;

/// Everything about one workspace's media.
#[derive(Debug, Default, Clone)]
pub(super) struct Library {
    pub(super) media: HashMap<MediaId, MediaItem>,
    /// The media by content and by path, as the stores' unique indexes.
    pub(super) by_hash: HashMap<ContentHash, MediaId>,
    pub(super) by_path: HashMap<String, MediaId>,
    /// What a sync last saw of each item: the source's checksum and modification time.
    pub(super) seen: HashMap<MediaId, (Option<String>, Option<DateTime<Utc>>)>,
    /// Oldest first; the last one is current when its `valid_to` is `None`.
    pub(super) mixes: Vec<MixVersion>,
    /// Every queue item, done ones included.
    pub(super) queue: Vec<Slot>,
    /// Oldest first, as written.
    pub(super) history: Vec<HistoryEntry>,
    /// One per media item.
    pub(super) locks: HashMap<MediaId, MediaLock>,
}

/// A queue item with what the stores keep beside it.
#[derive(Debug, Clone)]
pub(super) struct Slot {
    pub(super) item: QueueItem,
    /// Set when done.
    pub(super) outcome: Option<Outcome>,
    /// While sending: until when the claim holds.
    pub(super) claimed_until: Option<DateTime<Utc>>,
}

impl Slot {
    /// Pending, sending or awaiting a press.
    pub(super) fn is_queued(&self) -> bool {
        self.outcome.is_none()
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct MediaLock {
    pub(super) reason: LockReason,
    pub(super) until: Option<DateTime<Utc>>,
}

impl MediaLock {
    pub(super) fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|until| until > now)
    }
}

impl Library {
    /// Makes `mix` current from `at`, ending the current version.
    pub(super) fn set_mix(&mut self, mix: &CategoryMix, actor: &Actor, at: DateTime<Utc>) {
        let mut valid_from = at;
        if let Some(current) = self.mixes.last_mut().filter(|v| v.valid_to.is_none()) {
            valid_from = at.max(current.valid_from);
            current.valid_to = Some(valid_from);
        }
        self.mixes.push(MixVersion { mix: mix.clone(), valid_from, valid_to: None, set_by: actor.clone() });
    }

    /// The current mix, if any.
    pub(super) fn current_mix(&self) -> Option<&CategoryMix> {
        self.mixes.last().filter(|v| v.valid_to.is_none()).map(|v| &v.mix)
    }

    /// Media that may be scheduled at `now`: active, not queued, not locked.
    pub(super) fn available(&self, now: DateTime<Utc>) -> impl Iterator<Item = &MediaItem> {
        let queued: HashSet<MediaId> = self.queue.iter().filter(|s| s.is_queued()).map(|s| s.item.media).collect();
        self.media.values().filter(move |m| {
            m.active && !queued.contains(&m.id) && !self.locks.get(&m.id).is_some_and(|l| l.in_force(now))
        })
    }
}

#[async_trait]
impl MediaLibrary for MemoryStore {
    async fn add(
        &self,
        workspace: WorkspaceId,
        items: &[NewMedia],
        at: DateTime<Utc>,
    ) -> Result<AddReport, StoreError> {
        let mut state = self.state();
        let library = &mut state.tenant(workspace)?.library;
        let mut report = AddReport::default();
        for new in items {
            let existing = library
                .by_hash
                .get(&new.hash)
                .or_else(|| library.by_path.get(&new.path))
                .and_then(|id| library.media.get(id));
            if let Some(existing) = existing {
                report.duplicates.push((new.path.clone(), existing.path.clone()));
                continue;
            }
            let item = MediaItem {
                id: MediaId::new(),
                path: new.path.clone(),
                category: new.category.clone(),
                kind: new.kind,
                hash: new.hash.clone(),
                size_bytes: new.size_bytes,
                width: new.width,
                height: new.height,
                active: true,
                times_posted: 0,
                last_posted_at: None,
                added_at: at,
                needs_interaction: false,
            };
            library.by_hash.insert(item.hash.clone(), item.id);
            library.by_path.insert(item.path.clone(), item.id);
            library.media.insert(item.id, item);
            report.added += 1;
        }
        Ok(report)
    }

    async fn media(&self, workspace: WorkspaceId, query: &MediaQuery) -> Result<Vec<MediaItem>, StoreError> {
        let state = self.state();
        let Some(tenant) = state.workspaces.get(&workspace) else {
            return Ok(Vec::new());
        };
        let mut items: Vec<MediaItem> = tenant
            .library
            .media
            .values()
            .filter(|m| query.category.as_ref().is_none_or(|c| &m.category == c))
            .cloned()
            .collect();
        items.sort_by(|a, b| a.path.cmp(&b.path));
        items.truncate(query.limit as usize);
        Ok(items)
    }

    async fn get(&self, workspace: WorkspaceId, media: MediaId) -> Result<Option<MediaItem>, StoreError> {
        let state = self.state();
        Ok(state.workspaces.get(&workspace).and_then(|t| t.library.media.get(&media)).cloned())
    }

    async fn set_needs_interaction(
        &self,
        workspace: WorkspaceId,
        media: MediaId,
        on: bool,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let item = state.workspaces.get_mut(&workspace).and_then(|t| t.library.media.get_mut(&media));
        Ok(item.is_some_and(|item| {
            item.needs_interaction = on;
            true
        }))
    }

    async fn categories(&self, workspace: WorkspaceId, now: DateTime<Utc>) -> Result<Vec<CategoryStats>, StoreError> {
        let state = self.state();
        let Some(tenant) = state.workspaces.get(&workspace) else {
            return Ok(Vec::new());
        };
        let library = &tenant.library;
        let mut stats = BTreeMap::new();
        for item in library.media.values() {
            let entry = stats.entry(item.category.clone()).or_insert((0, 0, 0));
            entry.0 += 1;
            if item.times_posted > 0 {
                entry.2 += 1;
            }
        }
        for item in library.available(now) {
            if let Some(entry) = stats.get_mut(&item.category) {
                entry.1 += 1;
            }
        }
        Ok(stats
            .into_iter()
            .map(|(category, (total, available, posted))| CategoryStats { category, total, available, posted })
            .collect())
    }

    async fn set_mix(
        &self,
        workspace: WorkspaceId,
        mix: &CategoryMix,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.state().tenant(workspace)?.library.set_mix(mix, actor, at);
        Ok(())
    }

    async fn mix_history(&self, workspace: WorkspaceId) -> Result<Vec<MixVersion>, StoreError> {
        let state = self.state();
        Ok(state
            .workspaces
            .get(&workspace)
            .map(|t| t.library.mixes.iter().rev().cloned().collect())
            .unwrap_or_default())
    }
}
