use async_trait::async_trait;

use super::StoreError;
use crate::WorkspaceId;
use crate::audit::{AuditAction, AuditEntry};

/// Which audit entries to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only entries of this kind; all kinds when `None`.
    pub action: Option<AuditAction>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// The audit trail. Settings changes are written by [`super::SettingsStore::apply`] in its own
/// transaction; this port records everything else and lists all of it.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Audit: Send + Sync {
    /// Appends one entry.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn record(&self, workspace: WorkspaceId, entry: &AuditEntry) -> Result<(), StoreError>;

    /// Appends each entry to its own workspace's trail, in order: all of them or, on failure,
    /// none (a store that can write them in one statement does). For a writer that gathers the
    /// entries of many updates of the moment; each entry still names its workspace.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn record_many(&self, entries: &[(WorkspaceId, AuditEntry)]) -> Result<(), StoreError> {
        for (workspace, entry) in entries {
            self.record(*workspace, entry).await?;
        }
        Ok(())
    }

    /// The newest entries matching `query`, newest first.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn entries(&self, workspace: WorkspaceId, query: AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;
}
