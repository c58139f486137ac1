//! The repost and reject locks in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::ports::{Locks, StoreError};
use storyline_domain::queue::Lock;

use super::MemoryStore;

#[async_trait]
impl Locks for MemoryStore {
    async fn locks(&self, workspace: WorkspaceId, now: DateTime<Utc>) -> Result<Vec<Lock>, StoreError> {
        let state = self.state();
        let Some(tenant) = state.workspaces.get(&workspace) else {
            return Ok(Vec::new());
        };
        let library = &tenant.library;
        let mut locks: Vec<Lock> = library
            .locks
            .iter()
            .filter(|(_, lock)| lock.in_force(now))
            .map(|(media, lock)| Lock {
                media: *media,
                path: library.media.get(media).map(|m| m.path.clone()).unwrap_or_default(),
                reason: lock.reason,
                until: lock.until,
            })
            .collect();
        // Permanent (None) last.
        locks.sort_by(|a, b| (a.until.is_none(), a.until, &a.path).cmp(&(b.until.is_none(), b.until, &b.path)));
        Ok(locks)
    }
}
