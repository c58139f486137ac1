//! Each workspace's media source in memory: its versions, its secret sealed with the store's
//! cipher, and the state of its syncs.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use storyline_domain::WorkspaceId;
use storyline_domain::audit::{AuditAction, AuditEntry};
use storyline_domain::ports::{SourceStore, StoreError, VaultError, source_secret_binding};
use storyline_domain::queue::QueueStatus;
use storyline_domain::source::{OldItems, SourceConfig, SourceSwitch, SourceVersion, SyncStatus};
use storyline_domain::user::Actor;

use super::MemoryStore;

/// A workspace's source setting: versions oldest first, the current secret sealed.
#[derive(Debug, Default)]
pub(super) struct Sources {
    versions: Vec<SourceVersion>,
    secret: Option<Vec<u8>>,
    status: SyncStatus,
}

/// What the audit trail says of a version (as the SQL store says it).
fn audit_value(config: &SourceConfig, secret_changed: bool) -> String {
    if secret_changed { format!("{config} (secret changed)") } else { config.to_string() }
}

#[async_trait]
impl SourceStore for MemoryStore {
    async fn current_source(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Option<(SourceConfig, Option<SecretString>)>, VaultError> {
        let (config, sealed) = {
            let state = self.state();
            let Some(sources) = state.workspaces.get(&workspace).map(|t| &t.sources) else {
                return Ok(None);
            };
            let Some(current) = sources.versions.last() else {
                return Ok(None);
            };
            (current.config.clone(), sources.secret.clone())
        };
        let secret = match sealed {
            Some(sealed) => Some(self.cipher()?.open(&sealed, &source_secret_binding(workspace))?),
            None => None,
        };
        Ok(Some((config, secret)))
    }

    async fn set_source(
        &self,
        workspace: WorkspaceId,
        config: &SourceConfig,
        secret: Option<SecretString>,
        actor: &Actor,
        old_items: OldItems,
        at: DateTime<Utc>,
    ) -> Result<SourceSwitch, VaultError> {
        let sealed = match &secret {
            Some(secret) => Some(
                self.cipher()?
                    .seal(secret, &source_secret_binding(workspace))
                    .map_err(|error| VaultError::Store(StoreError::unknown(error)))?,
            ),
            None => None,
        };
        let mut state = self.state();
        let tenant = state.tenant(workspace)?;
        let sources = &mut tenant.sources;
        let old = sources.versions.last_mut().map(|current| {
            current.valid_to = Some(at);
            current.config.clone()
        });
        let same_kind = old.as_ref().is_some_and(|old| old.kind() == config.kind());
        let secret_changed = sealed.is_some();
        match sealed {
            Some(ciphertext) => sources.secret = Some(ciphertext),
            None if same_kind => {}
            None => sources.secret = None,
        }
        sources.versions.push(SourceVersion {
            config: config.clone(),
            secret_changed,
            set_by: actor.clone(),
            valid_from: at,
            valid_to: None,
        });
        tenant.audit.push(AuditEntry {
            at,
            actor: actor.clone(),
            action: AuditAction::Setting,
            subject: "media_source".to_owned(),
            old: old.map(|old| old.to_string()),
            new: Some(audit_value(config, secret_changed)),
        });
        let mut switch = SourceSwitch::default();
        if old_items == OldItems::SetAside {
            let library = &mut tenant.library;
            let before = library.queue.len();
            let media = &library.media;
            library.queue.retain(|s| {
                !(s.item.status == QueueStatus::Pending && media.get(&s.item.media).is_some_and(|m| m.active))
            });
            switch.dropped_from_queue = (before - library.queue.len()) as u64;
            for item in library.media.values_mut().filter(|item| item.active) {
                item.active = false;
                switch.set_aside += 1;
            }
            tenant.sources.status = SyncStatus::default();
        }
        Ok(switch)
    }

    async fn source_versions(&self, workspace: WorkspaceId) -> Result<Vec<SourceVersion>, StoreError> {
        let state = self.state();
        Ok(state
            .workspaces
            .get(&workspace)
            .map(|t| t.sources.versions.iter().rev().cloned().collect())
            .unwrap_or_default())
    }

    async fn sync_status(&self, workspace: WorkspaceId) -> Result<SyncStatus, StoreError> {
        let state = self.state();
        Ok(state.workspaces.get(&workspace).map(|t| t.sources.status.clone()).unwrap_or_default())
    }

    async fn record_sync(&self, workspace: WorkspaceId, status: &SyncStatus) -> Result<(), StoreError> {
        let mut state = self.state();
        state.tenant(workspace)?.sources.status = status.clone();
        Ok(())
    }

    async fn reseal_source_secrets(&self) -> Result<u64, VaultError> {
        let cipher = self.cipher()?;
        let mut state = self.state();
        let mut resealed = 0;
        for (workspace, tenant) in &mut state.workspaces {
            let Some(sealed) = tenant.sources.secret.as_mut() else { continue };
            if cipher.is_current(sealed) {
                continue;
            }
            let binding = source_secret_binding(*workspace);
            let secret = cipher.open(sealed, &binding)?;
            *sealed = cipher.seal(&secret, &binding).map_err(|error| VaultError::Store(StoreError::unknown(error)))?;
            resealed += 1;
        }
        Ok(resealed)
    }
}
