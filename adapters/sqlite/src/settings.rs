use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Sqlite, Transaction};
use storyline_domain::audit::AuditAction;
use storyline_domain::ports::{AppliedChange, ApplySettingError, SettingsStore, StoreError};
use storyline_domain::settings::{ChatSettings, SettingChange, SettingsDefaults, SettingsVersion, StoredSettings};
use storyline_domain::user::Actor;
use storyline_domain::{ChatId, Workspace, WorkspaceId};
use uuid::Uuid;

use storyline_domain::text::storable;

use crate::rows::{CurrentRow, SETTINGS_COLUMNS, SettingsRow, VersionRow, WorkspaceRow};
use crate::{SqliteStore, db};

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn ensure_workspace(
        &self,
        chat: ChatId,
        name: &str,
        defaults: &SettingsDefaults,
        at: DateTime<Utc>,
    ) -> Result<Workspace, StoreError> {
        if let Some(workspace) = self.workspace_by_chat(chat).await? {
            return Ok(workspace);
        }
        let mut tx = self.write().await?;
        let existing = sqlx::query_as::<_, WorkspaceRow>(
            "SELECT id, telegram_chat_id, name FROM workspaces WHERE telegram_chat_id = ?",
        )
        .bind(chat.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        if let Some(row) = existing {
            return Ok(row.into());
        }
        let workspace = Workspace { id: WorkspaceId::new(), chat_id: chat, name: storable(name).into_owned() };
        sqlx::query("INSERT INTO workspaces (id, telegram_chat_id, name, created_at) VALUES (?, ?, ?, ?)")
            .bind(workspace.id.as_uuid())
            .bind(chat.0)
            .bind(&workspace.name)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let settings = StoredSettings::from(&ChatSettings::from_defaults(defaults));
        bind_settings(
            sqlx::query(&format!(
                "INSERT INTO chat_settings (workspace_id, {SETTINGS_COLUMNS}, version, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)"
            ))
            .bind(workspace.id.as_uuid()),
            &settings,
        )
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        insert_version(&mut tx, workspace.id, 1, &settings, at, &Actor::System).await?;
        tx.commit().await.map_err(db)?;
        tracing::info!(workspace_id = %workspace.id, chat_id = %chat, "workspace created from the defaults");
        Ok(workspace)
    }

    async fn workspace_by_chat(&self, chat: ChatId) -> Result<Option<Workspace>, StoreError> {
        let row = sqlx::query_as::<_, WorkspaceRow>(
            "SELECT id, telegram_chat_id, name FROM workspaces WHERE telegram_chat_id = ?",
        )
        .bind(chat.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(row.map(Into::into))
    }

    async fn workspaces(&self) -> Result<Vec<Workspace>, StoreError> {
        let rows = sqlx::query_as::<_, WorkspaceRow>(
            "SELECT id, telegram_chat_id, name FROM workspaces ORDER BY telegram_chat_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn settings(&self, workspace: WorkspaceId) -> Result<ChatSettings, StoreError> {
        let row = sqlx::query_as::<_, SettingsRow>(&format!(
            "SELECT {SETTINGS_COLUMNS} FROM chat_settings WHERE workspace_id = ?"
        ))
        .bind(workspace.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.ok_or(StoreError::WorkspaceNotFound(workspace))?.try_into()
    }

    async fn apply(
        &self,
        workspace: WorkspaceId,
        change: SettingChange,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<AppliedChange, ApplySettingError> {
        let mut tx = self.write().await?;
        let current = sqlx::query_as::<_, CurrentRow>(&format!(
            "SELECT {SETTINGS_COLUMNS}, version, updated_at AS current_from \
             FROM chat_settings WHERE workspace_id = ?"
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
        bind_settings(
            sqlx::query(
                "UPDATE chat_settings SET dry_run_mode = ?, enable_instagram_api = ?, is_paused = ?, \
                 paused_at = ?, paused_by = ?, posts_per_day = ?, posting_hours_start = ?, \
                 posting_hours_end = ?, posting_timezone = ?, version = ?, updated_at = ? \
                 WHERE workspace_id = ?",
            ),
            &stored,
        )
        .bind(version)
        .bind(valid_from)
        .bind(workspace.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query("UPDATE chat_settings_history SET valid_to = ? WHERE workspace_id = ? AND version = ?")
            .bind(valid_from)
            .bind(workspace.as_uuid())
            .bind(current.version)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        insert_version(&mut tx, workspace, version, &stored, valid_from, actor).await?;
        for field in &changes {
            sqlx::query(
                "INSERT INTO audit_log (workspace_id, at, actor, action, subject, old_value, new_value) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
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

    async fn history(&self, workspace: WorkspaceId) -> Result<Vec<SettingsVersion>, StoreError> {
        sqlx::query_as::<_, VersionRow>(&format!(
            "SELECT {SETTINGS_COLUMNS}, version, valid_from, valid_to, changed_by \
             FROM chat_settings_history WHERE workspace_id = ? ORDER BY version"
        ))
        .bind(workspace.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }

    async fn as_of(&self, workspace: WorkspaceId, at: DateTime<Utc>) -> Result<Option<SettingsVersion>, StoreError> {
        // valid_from never decreases with the version, so the newest version that had begun by
        // `at` is the one in force then.
        sqlx::query_as::<_, VersionRow>(&format!(
            "SELECT {SETTINGS_COLUMNS}, version, valid_from, valid_to, changed_by \
             FROM chat_settings_history WHERE workspace_id = ? AND valid_from <= ? \
             ORDER BY version DESC LIMIT 1"
        ))
        .bind(workspace.as_uuid())
        .bind(at)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(TryInto::try_into)
        .transpose()
    }
}

type Query<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// Binds the nine settings columns in [`SETTINGS_COLUMNS`] order.
fn bind_settings<'q>(query: Query<'q>, s: &'q StoredSettings) -> Query<'q> {
    query
        .bind(s.dry_run_mode)
        .bind(s.enable_instagram_api)
        .bind(s.is_paused)
        .bind(s.paused_at)
        .bind(s.paused_by.as_deref())
        .bind(s.posts_per_day)
        .bind(s.posting_hours_start)
        .bind(s.posting_hours_end)
        .bind(s.posting_timezone.as_str())
}

async fn insert_version(
    tx: &mut Transaction<'static, Sqlite>,
    workspace: WorkspaceId,
    version: i64,
    settings: &StoredSettings,
    valid_from: DateTime<Utc>,
    actor: &Actor,
) -> Result<(), StoreError> {
    let id: Uuid = workspace.as_uuid();
    bind_settings(
        sqlx::query(&format!(
            "INSERT INTO chat_settings_history \
             (workspace_id, version, {SETTINGS_COLUMNS}, valid_from, valid_to, changed_by) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)"
        ))
        .bind(id)
        .bind(version),
        settings,
    )
    .bind(valid_from)
    .bind(actor.to_string())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}
