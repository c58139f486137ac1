//! The posting history in memory.

use async_trait::async_trait;
use storyline_domain::WorkspaceId;
use storyline_domain::ports::{History, StoreError};
use storyline_domain::queue::HistoryEntry;

use super::MemoryStore;

#[async_trait]
impl History for MemoryStore {
    async fn history(&self, workspace: WorkspaceId, limit: u32) -> Result<Vec<HistoryEntry>, StoreError> {
        let state = self.state();
        let Some(tenant) = state.workspaces.get(&workspace) else {
            return Ok(Vec::new());
        };
        let mut entries: Vec<HistoryEntry> = tenant.library.history.iter().rev().cloned().collect();
        entries.sort_by_key(|entry| std::cmp::Reverse(entry.at));
        entries.truncate(limit as usize);
        Ok(entries)
    }
}
