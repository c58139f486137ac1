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

    /// The newest entries matching `query`, newest first.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn entries(&self, workspace: WorkspaceId, query: AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;
}
