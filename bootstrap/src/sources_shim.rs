//! SHIM(sources): stand-ins for what the `sources` lane builds — the stored `SourceStore` (sync
//! status in the database, per-workspace source settings) and the `WorkspaceSources` that reads
//! each workspace's own source. Until that lands, every workspace reads the default `MEDIA_DIR`
//! local folder and its sync status lives in this process's memory (a restart forgets an
//! ongoing outage, so the chat may hear of it once more).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use storyline_domain::WorkspaceId;
use storyline_domain::ports::{MediaSource, SourceError, SourceStore, StoreError, VaultError, WorkspaceSources};
use storyline_domain::source::{SourceConfig, SourceVersion, SyncStatus};
use storyline_domain::user::Actor;

/// SHIM(sources): the sync status of every workspace, in memory. No workspace has a source of its
/// own: setting one is refused until the `sources` lane's store is wired.
#[derive(Debug, Default)]
pub struct MemorySyncStatus(Mutex<HashMap<WorkspaceId, SyncStatus>>);

#[async_trait]
impl SourceStore for MemorySyncStatus {
    async fn current_source(
        &self,
        _workspace: WorkspaceId,
    ) -> Result<Option<(SourceConfig, Option<SecretString>)>, VaultError> {
        Ok(None)
    }

    async fn set_source(
        &self,
        _workspace: WorkspaceId,
        _config: &SourceConfig,
        _secret: Option<SecretString>,
        _actor: &Actor,
        _at: DateTime<Utc>,
    ) -> Result<(), VaultError> {
        // SHIM(sources): per-workspace sources are the `sources` lane's.
        Err(VaultError::Store(StoreError::unknown(std::io::Error::other(
            "per-workspace media sources are not available in this build",
        ))))
    }

    async fn source_versions(&self, _workspace: WorkspaceId) -> Result<Vec<SourceVersion>, StoreError> {
        Ok(Vec::new())
    }

    async fn sync_status(&self, workspace: WorkspaceId) -> Result<SyncStatus, StoreError> {
        Ok(self.0.lock().unwrap_or_else(PoisonError::into_inner).get(&workspace).cloned().unwrap_or_default())
    }

    async fn record_sync(&self, workspace: WorkspaceId, status: &SyncStatus) -> Result<(), StoreError> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(workspace, status.clone());
        Ok(())
    }

    async fn reseal_source_secrets(&self) -> Result<u64, VaultError> {
        Ok(0)
    }
}

/// SHIM(sources): every workspace reads the one default source (`MEDIA_DIR`).
#[derive(Clone)]
pub struct DefaultSources(pub Arc<dyn MediaSource>);

impl std::fmt::Debug for DefaultSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DefaultSources").finish_non_exhaustive()
    }
}

#[async_trait]
impl WorkspaceSources for DefaultSources {
    async fn source(&self, _workspace: WorkspaceId) -> Result<Arc<dyn MediaSource>, SourceError> {
        Ok(self.0.clone())
    }
}
