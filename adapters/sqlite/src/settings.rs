//! A settings change in one write transaction: read, apply the domain rule, write the new
//! value, close the old version, open the new one and audit each changed field.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::audit::AuditAction;
use storyline_domain::ports::{AppliedChange, ApplySettingError, StoreError};
use storyline_domain::settings::{ChatSettings, SettingChange, StoredSettings};
use storyline_domain::user::Actor;
use storyline_sql::rows::{CurrentRow, SETTINGS_COLUMNS};
use storyline_sql::{SettingsDialect, Store};

use crate::{SqliteDialect, SqliteStore, db};

#[async_trait]
impl SettingsDialect for SqliteDialect {
    async fn apply(
        store: &Store<Self>,
        workspace: WorkspaceId,
        change: SettingChange,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<AppliedChange, ApplySettingError> {
        let mut tx = store.write().await?;
        let current = sqlx::query_as::<_, CurrentRow>(&format!(
            "SELECT {SETTINGS_COLUMNS}, version, updated_at AS current_from \
             FROM chat_settings WHERE workspace_id = $1"
        ))
        .bind(workspace.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or(StoreError::WorkspaceNotFound(workspace))?;
        let before = ChatSettings::try_from(current.settings)?;
        let (after, changes) = before.apply(change, actor, at)?;
        if changes.is_empty() {
            return Ok(AppliedChange { before, after, changes, version: current.version });
        }
        let version = current.version + 1;
        let valid_from = at.max(current.current_from);
        let stored = StoredSettings::from(&after);
        SqliteStore::bind_settings(
            sqlx::query(
                "UPDATE chat_settings SET dry_run_mode = $1, enable_instagram_api = $2, is_paused = $3, \
                 paused_at = $4, paused_by = $5, posts_per_day = $6, posting_hours_start = $7, \
                 posting_hours_end = $8, posting_timezone = $9, version = $10, updated_at = $11 \
                 WHERE workspace_id = $12",
            ),
            &stored,
        )
        .bind(version)
        .bind(valid_from)
        .bind(workspace.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query("UPDATE chat_settings_history SET valid_to = $1 WHERE workspace_id = $2 AND version = $3")
            .bind(valid_from)
            .bind(workspace.as_uuid())
            .bind(current.version)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        SqliteStore::insert_version(&mut tx, workspace, version, &stored, valid_from, actor).await?;
        for field in &changes {
            sqlx::query(
                "INSERT INTO audit_log (workspace_id, at, actor, action, subject, old_value, new_value) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(workspace.as_uuid())
            .bind(at)
            .bind(actor.to_string())
            .bind(AuditAction::Setting.as_str())
            .bind(field.key.as_str())
            .bind(&field.old)
            .bind(&field.new)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(AppliedChange { before, after, changes, version })
    }
}
