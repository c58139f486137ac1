//! A settings change in one write transaction: read, apply the domain rule, write the new
//! value, close the old version, open the new one and audit each changed field (the writing is
//! the shared `Store::write_version`; only the locking read differs from PostgreSQL).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::ports::{AppliedChange, ApplySettingError, StoreError};
use storyline_domain::settings::{ChatSettings, SettingChange};
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
        let current = (current.version, current.current_from);
        let version = SqliteStore::write_version(&mut tx, workspace, current, &after, &changes, actor, at).await?;
        tx.commit().await.map_err(db)?;
        Ok(AppliedChange { before, after, changes, version })
    }
}
