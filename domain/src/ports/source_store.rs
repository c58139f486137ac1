use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use super::{StoreError, VaultError};
use crate::WorkspaceId;
use crate::source::{OldItems, SourceConfig, SourceSwitch, SourceVersion, SyncStatus};
use crate::user::Actor;

/// The binding a source's secret is sealed with: its workspace, so a ciphertext copied to
/// another workspace's row does not open.
#[must_use]
pub fn source_secret_binding(workspace: WorkspaceId) -> Vec<u8> {
    format!("storyline-source:v1:{workspace}").into_bytes()
}

/// A workspace's media source setting (versioned and audited like any setting, its secret sealed
/// with the token cipher) and the state of its syncs (FEATURES M1–M3).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SourceStore: Send + Sync {
    /// The current source and its secret, opened; `None` when the workspace has set none (it
    /// reads the default local folder).
    ///
    /// # Errors
    /// [`VaultError`] when the secret does not open, or the store fails.
    async fn current_source(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Option<(SourceConfig, Option<SecretString>)>, VaultError>;

    /// Makes `config` the current source from `at`, in one transaction with its audit entry
    /// (which says "secret changed", never the secret). `secret`: `Some` seals a new one;
    /// `None` keeps the current secret when the kind stays the same, and clears it otherwise.
    /// `old_items` says whether the old source's items are set aside in the same transaction.
    ///
    /// # Errors
    /// [`VaultError::NoKey`] when a secret is given and no key is configured; nothing changes.
    async fn set_source(
        &self,
        workspace: WorkspaceId,
        config: &SourceConfig,
        secret: Option<SecretString>,
        actor: &Actor,
        old_items: OldItems,
        at: DateTime<Utc>,
    ) -> Result<SourceSwitch, VaultError>;

    /// Every version of the setting, newest first.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn source_versions(&self, workspace: WorkspaceId) -> Result<Vec<SourceVersion>, StoreError>;

    /// The last sync and the source's reachability.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn sync_status(&self, workspace: WorkspaceId) -> Result<SyncStatus, StoreError>;

    /// Replaces the sync status.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn record_sync(&self, workspace: WorkspaceId, status: &SyncStatus) -> Result<(), StoreError>;

    /// Re-seals every source secret with the newest key (`rotate-keys`); how many were re-sealed.
    ///
    /// # Errors
    /// [`VaultError`] when a secret does not open.
    async fn reseal_source_secrets(&self) -> Result<u64, VaultError>;
}
