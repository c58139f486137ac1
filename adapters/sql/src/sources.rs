//! Each workspace's media source: its versions (the settings as JSON), its secret sealed with the
//! store's cipher before it reaches SQL, and the state of its syncs.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sqlx::Transaction;
use storyline_domain::WorkspaceId;
use storyline_domain::audit::AuditAction;
use storyline_domain::ports::{SourceStore, StoreError, VaultError, source_secret_binding};
use storyline_domain::source::{OldItems, SourceConfig, SourceSwitch, SourceVersion, SyncStatus, SyncSummary};
use storyline_domain::user::Actor;
use uuid::Uuid;

use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::rows::parse_actor;
use crate::{Dialect, Store, db};

/// The audit subject of a source change (a setting like the others).
pub const SUBJECT: &str = "media_source";

/// The settings as stored.
fn config_json(config: &SourceConfig) -> Result<String, StoreError> {
    serde_json::to_string(config).map_err(StoreError::unknown)
}

fn parse_config(json: &str) -> Result<SourceConfig, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::unknown(anyhow::Error::new(e).context("unreadable media source")))
}

/// What the audit trail says of a version: its settings, and whether it set a secret.
#[must_use]
pub fn audit_value(config: &SourceConfig, secret_changed: bool) -> String {
    if secret_changed { format!("{config} (secret changed)") } else { config.to_string() }
}

/// [`SyncSummary`] as stored (JSON).
#[derive(Serialize, Deserialize)]
struct StoredSummary {
    #[serde(default)]
    added: u64,
    #[serde(default)]
    moved: u64,
    #[serde(default)]
    removed: u64,
    #[serde(default)]
    reactivated: u64,
    #[serde(default)]
    refused: Vec<(String, String)>,
    #[serde(default)]
    unchanged: u64,
    #[serde(default)]
    warnings: Vec<(String, String)>,
    #[serde(default)]
    dropped_from_queue: u64,
}

impl From<&SyncSummary> for StoredSummary {
    fn from(s: &SyncSummary) -> Self {
        Self {
            added: s.added,
            moved: s.moved,
            removed: s.removed,
            reactivated: s.reactivated,
            refused: s.refused.clone(),
            unchanged: s.unchanged,
            warnings: s.warnings.clone(),
            dropped_from_queue: s.dropped_from_queue,
        }
    }
}

impl From<StoredSummary> for SyncSummary {
    fn from(s: StoredSummary) -> Self {
        Self {
            added: s.added,
            moved: s.moved,
            removed: s.removed,
            reactivated: s.reactivated,
            refused: s.refused,
            unchanged: s.unchanged,
            warnings: s.warnings,
            dropped_from_queue: s.dropped_from_queue,
        }
    }
}

type VersionTuple = (String, bool, DateTime<Utc>, Option<DateTime<Utc>>, String);

fn version_of(
    (config, secret_changed, valid_from, valid_to, set_by): VersionTuple,
) -> Result<SourceVersion, StoreError> {
    Ok(SourceVersion {
        config: parse_config(&config)?,
        secret_changed,
        set_by: parse_actor(&set_by)?,
        valid_from,
        valid_to,
    })
}

impl<D: Dialect> Store<D>
where
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    for<'q> Arguments<'q, D>: IntoArguments<'q, D::Db>,
    for<'a> &'a str: ColumnIndex<Row<D>> + Encode<'a, D::Db> + Type<D::Db>,
    usize: ColumnIndex<Row<D>>,
    Uuid: Value<D::Db>,
    i64: Value<D::Db>,
    bool: Value<D::Db>,
    String: Value<D::Db>,
    DateTime<Utc>: Value<D::Db>,
    Vec<u8>: Value<D::Db>,
    Option<String>: Value<D::Db>,
    Option<Uuid>: Value<D::Db>,
    Option<DateTime<Utc>>: Value<D::Db>,
{
    /// The current version's number and settings, locked for the rest of `tx`.
    async fn current_version_in(
        tx: &mut Transaction<'static, D::Db>,
        workspace: WorkspaceId,
    ) -> Result<Option<(i64, SourceConfig)>, StoreError> {
        let row: Option<(i64, String)> = sqlx::query_as(&format!(
            "SELECT version, config FROM media_source_versions WHERE workspace_id = $1 AND valid_to IS NULL{}",
            D::FOR_UPDATE
        ))
        .bind(workspace.as_uuid())
        .fetch_optional(&mut **tx)
        .await
        .map_err(db::<D>)?;
        row.map(|(version, config)| Ok((version, parse_config(&config)?))).transpose()
    }

    /// Sets the old source's items aside within `tx`: their queued stories that have not gone
    /// to the chat dropped, the items deactivated (history, times posted and locks kept), the
    /// sync status cleared.
    async fn set_aside_in(
        tx: &mut Transaction<'static, D::Db>,
        workspace: WorkspaceId,
    ) -> Result<SourceSwitch, StoreError> {
        let dropped = sqlx::query(
            "DELETE FROM queue_items WHERE workspace_id = $1 AND status = 'pending' \
             AND media_id IN (SELECT id FROM media_items WHERE workspace_id = $2 AND active)",
        )
        .bind(workspace.as_uuid())
        .bind(workspace.as_uuid())
        .execute(&mut **tx)
        .await
        .map_err(db::<D>)?;
        let set_aside = sqlx::query("UPDATE media_items SET active = FALSE WHERE workspace_id = $1 AND active")
            .bind(workspace.as_uuid())
            .execute(&mut **tx)
            .await
            .map_err(db::<D>)?;
        sqlx::query("DELETE FROM media_sync_status WHERE workspace_id = $1")
            .bind(workspace.as_uuid())
            .execute(&mut **tx)
            .await
            .map_err(db::<D>)?;
        Ok(SourceSwitch { set_aside: D::rows_affected(&set_aside), dropped_from_queue: D::rows_affected(&dropped) })
    }
}

#[async_trait]
impl<D: Dialect> SourceStore for Store<D>
where
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    for<'q> Arguments<'q, D>: IntoArguments<'q, D::Db>,
    for<'a> &'a str: ColumnIndex<Row<D>> + Encode<'a, D::Db> + Type<D::Db>,
    usize: ColumnIndex<Row<D>>,
    Uuid: Value<D::Db>,
    i64: Value<D::Db>,
    i32: Value<D::Db>,
    bool: Value<D::Db>,
    String: Value<D::Db>,
    DateTime<Utc>: Value<D::Db>,
    Vec<u8>: Value<D::Db>,
    for<'a> Option<&'a str>: Encode<'a, D::Db>,
    Option<String>: Value<D::Db>,
    Option<i32>: Value<D::Db>,
    Option<Uuid>: Value<D::Db>,
    Option<DateTime<Utc>>: Value<D::Db>,
    for<'a> Cow<'a, str>: Encode<'a, D::Db> + Type<D::Db>,
    for<'a> Option<Cow<'a, str>>: Encode<'a, D::Db>,
{
    async fn current_source(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Option<(SourceConfig, Option<SecretString>)>, VaultError> {
        let row: Option<(String, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT v.config, s.ciphertext FROM media_source_versions v \
             LEFT JOIN media_source_secrets s ON s.workspace_id = v.workspace_id \
             WHERE v.workspace_id = $1 AND v.valid_to IS NULL",
        )
        .bind(workspace.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(db::<D>)?;
        let Some((config, sealed)) = row else {
            return Ok(None);
        };
        let config = parse_config(&config)?;
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
        // Sealed before the transaction: without a key nothing is written.
        let sealed = match &secret {
            Some(secret) => Some(
                self.cipher()?
                    .seal(secret, &source_secret_binding(workspace))
                    .map_err(|error| VaultError::Store(StoreError::unknown(error)))?,
            ),
            None => None,
        };
        let json = config_json(config)?;
        let mut tx = self.write().await?;
        let found: Option<Uuid> =
            sqlx::query_scalar(&format!("SELECT id FROM workspaces WHERE id = $1{}", D::FOR_NO_KEY_UPDATE))
                .bind(workspace.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db::<D>)?;
        if found.is_none() {
            return Err(StoreError::WorkspaceNotFound(workspace).into());
        }
        let current = Self::current_version_in(&mut tx, workspace).await?;
        let version = current.as_ref().map_or(1, |(version, _)| version + 1);
        if current.is_some() {
            sqlx::query("UPDATE media_source_versions SET valid_to = $1 WHERE workspace_id = $2 AND valid_to IS NULL")
                .bind(at)
                .bind(workspace.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db::<D>)?;
        }
        sqlx::query(
            "INSERT INTO media_source_versions (workspace_id, version, kind, config, secret_changed, valid_from, \
             valid_to, set_by) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)",
        )
        .bind(workspace.as_uuid())
        .bind(version)
        .bind(config.kind().as_str())
        .bind(json)
        .bind(sealed.is_some())
        .bind(at)
        .bind(actor.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        let same_kind = current.as_ref().is_some_and(|(_, old)| old.kind() == config.kind());
        match sealed {
            Some(ciphertext) => {
                sqlx::query(
                    "INSERT INTO media_source_secrets (workspace_id, ciphertext, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (workspace_id) DO UPDATE SET ciphertext = excluded.ciphertext, \
                     updated_at = excluded.updated_at",
                )
                .bind(workspace.as_uuid())
                .bind(ciphertext)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(db::<D>)?;
            }
            // The same kind keeps its secret.
            None if same_kind => {}
            None => {
                sqlx::query("DELETE FROM media_source_secrets WHERE workspace_id = $1")
                    .bind(workspace.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err(db::<D>)?;
            }
        }
        sqlx::query(
            "INSERT INTO audit_log (workspace_id, at, actor, action, subject, old_value, new_value) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(workspace.as_uuid())
        .bind(at)
        .bind(actor.to_string())
        .bind(AuditAction::Setting.as_str())
        .bind(SUBJECT)
        .bind(current.map(|(_, old)| old.to_string()))
        .bind(audit_value(config, secret.is_some()))
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        let switch = match old_items {
            OldItems::Keep => SourceSwitch::default(),
            OldItems::SetAside => Self::set_aside_in(&mut tx, workspace).await?,
        };
        tx.commit().await.map_err(db::<D>)?;
        Ok(switch)
    }

    async fn source_versions(&self, workspace: WorkspaceId) -> Result<Vec<SourceVersion>, StoreError> {
        sqlx::query_as::<_, VersionTuple>(
            "SELECT config, secret_changed, valid_from, valid_to, set_by FROM media_source_versions \
             WHERE workspace_id = $1 ORDER BY version DESC",
        )
        .bind(workspace.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(db::<D>)?
        .into_iter()
        .map(version_of)
        .collect()
    }

    async fn sync_status(&self, workspace: WorkspaceId) -> Result<SyncStatus, StoreError> {
        let row: Option<(Option<DateTime<Utc>>, Option<String>, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT last_synced_at, last_summary, unreachable_since FROM media_sync_status WHERE workspace_id = $1",
        )
        .bind(workspace.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(db::<D>)?;
        let Some((last_synced_at, summary, unreachable_since)) = row else {
            return Ok(SyncStatus::default());
        };
        let last_summary = summary
            .map(|json| serde_json::from_str::<StoredSummary>(&json).map(SyncSummary::from))
            .transpose()
            .map_err(|e| StoreError::unknown(anyhow::Error::new(e).context("unreadable sync summary")))?;
        Ok(SyncStatus { last_synced_at, last_summary, unreachable_since })
    }

    async fn record_sync(&self, workspace: WorkspaceId, status: &SyncStatus) -> Result<(), StoreError> {
        let summary = status
            .last_summary
            .as_ref()
            .map(|s| serde_json::to_string(&StoredSummary::from(s)))
            .transpose()
            .map_err(StoreError::unknown)?;
        // Only a workspace that exists gets a row.
        let done = sqlx::query(
            "INSERT INTO media_sync_status (workspace_id, last_synced_at, last_summary, unreachable_since) \
             SELECT id, $2, $3, $4 FROM workspaces WHERE id = $1 \
             ON CONFLICT (workspace_id) DO UPDATE SET last_synced_at = excluded.last_synced_at, \
             last_summary = excluded.last_summary, unreachable_since = excluded.unreachable_since",
        )
        .bind(workspace.as_uuid())
        .bind(status.last_synced_at)
        .bind(summary)
        .bind(status.unreachable_since)
        .execute(&self.pool)
        .await
        .map_err(db::<D>)?;
        if D::rows_affected(&done) == 0 {
            return Err(StoreError::WorkspaceNotFound(workspace));
        }
        Ok(())
    }

    async fn reseal_source_secrets(&self) -> Result<u64, VaultError> {
        let cipher = self.cipher()?;
        let mut tx = self.write().await?;
        // Locked, so a secret replaced meanwhile is not overwritten with the old one re-sealed.
        // One row per workspace at most: one transaction holds them all.
        let rows: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(&format!(
            "SELECT workspace_id, ciphertext FROM media_source_secrets ORDER BY workspace_id{}",
            D::FOR_UPDATE
        ))
        .fetch_all(&mut *tx)
        .await
        .map_err(db::<D>)?;
        let mut resealed = 0;
        for (workspace, ciphertext) in rows {
            if cipher.is_current(&ciphertext) {
                continue;
            }
            let binding = source_secret_binding(WorkspaceId::from_uuid(workspace));
            let secret = cipher.open(&ciphertext, &binding)?;
            let sealed =
                cipher.seal(&secret, &binding).map_err(|error| VaultError::Store(StoreError::unknown(error)))?;
            sqlx::query("UPDATE media_source_secrets SET ciphertext = $1 WHERE workspace_id = $2")
                .bind(sealed)
                .bind(workspace)
                .execute(&mut *tx)
                .await
                .map_err(db::<D>)?;
            resealed += 1;
        }
        tx.commit().await.map_err(db::<D>)?;
        Ok(resealed)
    }
}
