use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use storyline_domain::audit::AuditAction;
use storyline_domain::ports::{AppliedChange, ApplySettingError, SettingsStore, StoreError};
use storyline_domain::settings::{ChatSettings, SettingChange, SettingsDefaults, SettingsVersion, StoredSettings};
use storyline_domain::user::Actor;
use storyline_domain::{ChatId, Workspace, WorkspaceId};

use storyline_domain::text::storable;

use crate::rows::{CurrentRow, SETTINGS_COLUMNS, SettingsRow, VersionRow, WorkspaceRow};
use crate::{PostgresStore, db};

#[async_trait]
impl SettingsStore for PostgresStore {
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        // A racing creator makes this insert wait on the unique chat id, then do nothing.
        let inserted = sqlx::query_as::<_, WorkspaceRow>(
            "INSERT INTO workspaces (id, telegram_chat_id, name, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (telegram_chat_id) DO NOTHING RETURNING id, telegram_chat_id, name",
        )
        .bind(WorkspaceId::new().as_uuid())
        .bind(chat.0)
        .bind(storable(name))
        .bind(at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = inserted else {
            drop(tx);
            return self
                .workspace_by_chat(chat)
                .await?
                .ok_or_else(|| StoreError::unknown(anyhow::anyhow!("workspace of chat {chat} vanished")));
        };
        let workspace = Workspace::from(row);
        let settings = StoredSettings::from(&ChatSettings::from_defaults(defaults));
        bind_settings(
            sqlx::query(&format!(
                "INSERT INTO chat_settings (workspace_id, {SETTINGS_COLUMNS}, version, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11)"
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
            "SELECT id, telegram_chat_id, name FROM workspaces WHERE telegram_chat_id = $1",
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
            "SELECT {SETTINGS_COLUMNS} FROM chat_settings WHERE workspace_id = $1"
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
        // Optimistic: read, apply the domain rule, then write everything in one statement that
        // only takes effect if the version is still the one read. A racing change makes it
        // match nothing, and the change is applied again on top of the winner's: two toggles are
        // two flips. Two round trips and one commit, instead of a transaction's seven.
        for _ in 0..MAX_ATTEMPTS {
            let current = sqlx::query_as::<_, CurrentRow>(&format!(
                "SELECT {SETTINGS_COLUMNS}, version, updated_at AS current_from \
                 FROM chat_settings WHERE workspace_id = $1"
            ))
            .bind(workspace.as_uuid())
            .fetch_optional(&self.pool)
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
            let (subjects, (olds, news)): (Vec<&str>, (Vec<&str>, Vec<&str>)) =
                changes.iter().map(|c| (c.key.as_str(), (c.old.as_str(), c.new.as_str()))).unzip();
            let written: i64 = bind_settings(
                sqlx::query_scalar(&format!(
                    "WITH changed AS ( \
                         UPDATE chat_settings SET dry_run_mode = $3, enable_instagram_api = $4, is_paused = $5, \
                         paused_at = $6, paused_by = $7, posts_per_day = $8, posting_hours_start = $9, \
                         posting_hours_end = $10, posting_timezone = $11, version = $12, updated_at = $13 \
                         WHERE workspace_id = $1 AND version = $2 RETURNING workspace_id \
                     ), closed AS ( \
                         UPDATE chat_settings_history SET valid_to = $13 \
                         WHERE workspace_id IN (SELECT workspace_id FROM changed) AND version = $2 \
                     ), opened AS ( \
                         INSERT INTO chat_settings_history \
                         (workspace_id, version, {SETTINGS_COLUMNS}, valid_from, valid_to, changed_by) \
                         SELECT workspace_id, $12, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13, NULL, $14 FROM changed \
                     ), audited AS ( \
                         INSERT INTO audit_log (workspace_id, at, actor, action, subject, old_value, new_value) \
                         SELECT c.workspace_id, $15, $14, $16, f.subject, f.old_value, f.new_value \
                         FROM changed c CROSS JOIN unnest($17::text[], $18::text[], $19::text[]) \
                             AS f(subject, old_value, new_value) \
                     ) \
                     SELECT count(*) FROM changed"
                ))
                .bind(workspace.as_uuid())
                .bind(current.version),
                &stored,
            )
            .bind(version)
            .bind(valid_from)
            .bind(actor.to_string())
            .bind(at)
            .bind(AuditAction::Setting.as_str())
            .bind(subjects)
            .bind(olds)
            .bind(news)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
            if written == 1 {
                return Ok(AppliedChange { before, after, changes, version });
            }
        }
        Err(StoreError::unknown(anyhow::anyhow!(
            "settings of workspace {workspace} changed {MAX_ATTEMPTS} times under this change"
        ))
        .into())
    }

    async fn history(&self, workspace: WorkspaceId) -> Result<Vec<SettingsVersion>, StoreError> {
        sqlx::query_as::<_, VersionRow>(&format!(
            "SELECT {SETTINGS_COLUMNS}, version, valid_from, valid_to, changed_by \
             FROM chat_settings_history WHERE workspace_id = $1 ORDER BY version"
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
             FROM chat_settings_history WHERE workspace_id = $1 AND valid_from <= $2 \
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

/// How often one change is tried again after losing a race before giving up.
const MAX_ATTEMPTS: usize = 1_000;

/// Binds the nine settings columns in [`SETTINGS_COLUMNS`] order.
fn bind_settings<'q, Q: Bind<'q>>(query: Q, s: &'q StoredSettings) -> Q {
    query
        .bind_value(s.dry_run_mode)
        .bind_value(s.enable_instagram_api)
        .bind_value(s.is_paused)
        .bind_value(s.paused_at)
        .bind_value(s.paused_by.as_deref())
        .bind_value(s.posts_per_day)
        .bind_value(s.posting_hours_start)
        .bind_value(s.posting_hours_end)
        .bind_value(s.posting_timezone.as_str())
}

/// `bind` on plain queries and scalar queries alike.
trait Bind<'q>: Sized {
    fn bind_value<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres>;
}

impl<'q> Bind<'q> for sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    fn bind_value<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres>,
    {
        self.bind(value)
    }
}

impl<'q, O> Bind<'q> for sqlx::query::QueryScalar<'q, Postgres, O, sqlx::postgres::PgArguments> {
    fn bind_value<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres>,
    {
        self.bind(value)
    }
}

async fn insert_version(
    tx: &mut Transaction<'static, Postgres>,
    workspace: WorkspaceId,
    version: i64,
    settings: &StoredSettings,
    valid_from: DateTime<Utc>,
    actor: &Actor,
) -> Result<(), StoreError> {
    bind_settings(
        sqlx::query(&format!(
            "INSERT INTO chat_settings_history \
             (workspace_id, version, {SETTINGS_COLUMNS}, valid_from, valid_to, changed_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13)"
        ))
        .bind(workspace.as_uuid())
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
