//! The audit trail and the interaction log in memory.

use std::borrow::Cow;

use async_trait::async_trait;
use storyline_domain::WorkspaceId;
use storyline_domain::audit::AuditEntry;
use storyline_domain::ports::{Audit, AuditQuery, StoreError};
use storyline_domain::text::{storable, storable_opt};

use super::MemoryStore;

#[async_trait]
impl Audit for MemoryStore {
    async fn record(&self, workspace: WorkspaceId, entry: &AuditEntry) -> Result<(), StoreError> {
        self.record_many(&[(workspace, entry.clone())]).await
    }

    /// All or none: every workspace is checked before any entry is kept.
    async fn record_many(&self, entries: &[(WorkspaceId, AuditEntry)]) -> Result<(), StoreError> {
        let mut state = self.state();
        for (workspace, _) in entries {
            state.tenant(*workspace)?;
        }
        for (workspace, entry) in entries {
            let entry = AuditEntry {
                subject: storable(&entry.subject).into_owned(),
                old: storable_opt(entry.old.as_deref()).map(Cow::into_owned),
                new: storable_opt(entry.new.as_deref()).map(Cow::into_owned),
                ..entry.clone()
            };
            state.tenant(*workspace)?.audit.push(entry);
        }
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
