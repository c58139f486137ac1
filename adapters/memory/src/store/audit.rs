//! The audit trail and the interaction log in memory.

use async_trait::async_trait;
use storyline_domain::WorkspaceId;
use storyline_domain::audit::AuditEntry;
use storyline_domain::ports::{Audit, AuditQuery, StoreError};

use super::MemoryStore;

#[async_trait]
impl Audit for MemoryStore {
    async fn record(&self, workspace: WorkspaceId, entry: &AuditEntry) -> Result<(), StoreError> {
        self.state().tenant(workspace)?.audit.push(entry.clone());
        Ok(())
    }

    async fn entries(&self, workspace: WorkspaceId, query: AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let state = self.state();
        let all = state.workspaces.get(&workspace).map(|t| t.audit.as_slice()).unwrap_or_default();
        Ok(all
            .iter()
            .rev()
            .filter(|e| query.action.is_none_or(|action| e.action == action))
            .take(query.limit as usize)
            .cloned()
            .collect())
    }
}
