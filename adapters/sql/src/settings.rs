//! Workspaces and their settings with every version. A change differs per dialect
//! ([`SettingsDialect`]); everything else is here.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Database, Transaction};
use storyline_domain::audit::AuditAction;
use storyline_domain::library::CategoryMix;
use storyline_domain::ports::{AppliedChange, AppliedImport, ApplySettingError, SettingsStore, StoreError};
use storyline_domain::settings::export::ImportedSettings;
use storyline_domain::settings::{
    ChatSettings, FieldChange, SettingChange, SettingsDefaults, SettingsVersion, StoredSettings,
};
use storyline_domain::text::storable;
use storyline_domain::user::Actor;
use storyline_domain::{ChatId, Workspace, WorkspaceId};
use uuid::Uuid;

use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::rows::{CurrentRow, SETTINGS_COLUMNS, SettingsRow, VersionRow, WorkspaceRow};
use crate::{Dialect, SettingsDialect, Store, db};

#[async_trait]
impl<D: SettingsDialect> SettingsStore for Store<D>
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
        let Some(workspace) = Self::insert_workspace(&mut tx, chat, name, defaults, at, &Actor::System).await? else {
            drop(tx);
            return self
                .workspace_by_chat(chat)
                .await?
                .ok_or_else(|| StoreError::unknown(anyhow::anyhow!("workspace of chat {chat} vanished")));
        };
        tx.commit().await.map_err(db::<D>)?;
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
        .map_err(db::<D>)?;
        Ok(row.map(Into::into))
    }

    async fn workspaces(&self) -> Result<Vec<Workspace>, StoreError> {
        let rows = sqlx::query_as::<_, WorkspaceRow>(
            "SELECT id, telegram_chat_id, name FROM workspaces ORDER BY telegram_chat_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db::<D>)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn move_workspace(
        &self,
        workspace: WorkspaceId,
        to: ChatId,
        at: DateTime<Utc>,
    ) -> Result<Option<Workspace>, StoreError> {
        let mut tx = self.write().await?;
        let from: Option<i64> =
            sqlx::query_scalar(&format!("SELECT telegram_chat_id FROM workspaces WHERE id = $1{}", D::FOR_UPDATE))
                .bind(workspace.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db::<D>)?;
        let from = from.ok_or(StoreError::WorkspaceNotFound(workspace))?;
        let taken: Option<Uuid> = sqlx::query_scalar("SELECT id FROM workspaces WHERE telegram_chat_id = $1")
            .bind(to.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db::<D>)?;
        if taken.is_some() {
            return Ok(None);
        }
        let moved = sqlx::query_as::<_, WorkspaceRow>(
            "UPDATE workspaces SET telegram_chat_id = $1 WHERE id = $2 RETURNING id, telegram_chat_id, name",
        )
        .bind(to.0)
        .bind(workspace.as_uuid())
        .fetch_one(&mut *tx)
        .await
        .map_err(db::<D>)?;
        let entry = storyline_domain::audit::AuditEntry {
            at,
            actor: Actor::System,
            action: AuditAction::Workspace,
            subject: "moved".to_owned(),
            old: Some(from.to_string()),
            new: Some(to.0.to_string()),
        };
        Self::audit_in(&mut tx, workspace, &entry).await?;
        tx.commit().await.map_err(db::<D>)?;
        tracing::info!(workspace_id = %workspace, from_chat = from, to_chat = to.0, "workspace moved to a new chat id");
        Ok(Some(moved.into()))
    }

    async fn settings(&self, workspace: WorkspaceId) -> Result<ChatSettings, StoreError> {
        let row = sqlx::query_as::<_, SettingsRow>(&format!(
            "SELECT {SETTINGS_COLUMNS} FROM chat_settings WHERE workspace_id = $1"
        ))
        .bind(workspace.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(db::<D>)?;
        row.ok_or(StoreError::WorkspaceNotFound(workspace))?.try_into()
    }

    async fn apply(
        &self,
        workspace: WorkspaceId,
        change: SettingChange,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<AppliedChange, ApplySettingError> {
        D::apply(self, workspace, change, actor, at).await
    }

    async fn import(
        &self,
        workspace: WorkspaceId,
        settings: &ImportedSettings,
        mix: Option<CategoryMix>,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<AppliedImport, StoreError> {
        let mut tx = self.write().await?;
        // The settings row is held until commit: a racing change waits (PostgreSQL's optimistic
        // one then finds a newer version and is applied again on top of this import).
        let current = sqlx::query_as::<_, CurrentRow>(&format!(
            "SELECT {SETTINGS_COLUMNS}, version, updated_at AS current_from \
             FROM chat_settings WHERE workspace_id = $1{}",
            D::FOR_UPDATE
        ))
        .bind(workspace.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db::<D>)?
        .ok_or(StoreError::WorkspaceNotFound(workspace))?;
        let before = ChatSettings::try_from(current.settings)?;
        let (after, changes) = before.imported(settings, actor, at);
        let current = (current.version, current.current_from);
        let version = Self::write_version(&mut tx, workspace, current, &after, &changes, actor, at).await?;
        let mut mix_changed = false;
        if let Some(mix) = mix {
            Self::lock_mix(&mut tx, workspace).await?;
            let old = Self::current_mix(&mut tx, workspace).await?;
            if old.as_ref() != Some(&mix) {
                let old = old.map(|m| m.to_string()).unwrap_or_default();
                Self::audit_setting(&mut tx, workspace, actor, at, "category_mix", &old, &mix.to_string()).await?;
                Self::write_mix(&mut tx, workspace, &mix, actor, at).await?;
                mix_changed = true;
            }
        }
        tx.commit().await.map_err(db::<D>)?;
        Ok(AppliedImport { before, after, changes, mix_changed, version })
    }

    async fn history(&self, workspace: WorkspaceId) -> Result<Vec<SettingsVersion>, StoreError> {
        sqlx::query_as::<_, VersionRow>(&format!(
            "SELECT {SETTINGS_COLUMNS}, version, valid_from, valid_to, changed_by \
             FROM chat_settings_history WHERE workspace_id = $1 ORDER BY version"
        ))
        .bind(workspace.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(db::<D>)?
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
        .map_err(db::<D>)?
        .map(TryInto::try_into)
        .transpose()
    }
}

impl<D: Dialect> Store<D>
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
    /// Makes `after` the current settings when `changes` is not empty, in `tx`: the row, the old
    /// version closed and the new one opened (valid from `at`, or the current one's start if
    /// later), one audit entry per changed field. Returns the version now current.
    ///
    /// # Errors
    /// When the database fails.
    #[allow(clippy::too_many_arguments)]
    pub async fn write_version(
        tx: &mut Transaction<'static, D::Db>,
        workspace: WorkspaceId,
        current: (i64, DateTime<Utc>),
        after: &ChatSettings,
        changes: &[FieldChange],
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let (current_version, current_from) = current;
        if changes.is_empty() {
            return Ok(current_version);
        }
        let version = current_version + 1;
        let valid_from = at.max(current_from);
        let stored = StoredSettings::from(after);
        Self::bind_settings(
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
        .execute(&mut **tx)
        .await
        .map_err(db::<D>)?;
        sqlx::query("UPDATE chat_settings_history SET valid_to = $1 WHERE workspace_id = $2 AND version = $3")
            .bind(valid_from)
            .bind(workspace.as_uuid())
            .bind(current_version)
            .execute(&mut **tx)
            .await
            .map_err(db::<D>)?;
        Self::insert_version(tx, workspace, version, &stored, valid_from, actor).await?;
        for field in changes {
            Self::audit_setting(tx, workspace, actor, at, field.key.as_str(), &field.old, &field.new).await?;
        }
        Ok(version)
    }

    /// Creates the workspace of `chat` named `name`, its settings from `defaults` and their
    /// first history version (by `actor`), in `tx`; `None` when the chat has one already (a
    /// racing creator makes the insert wait on the unique chat id, then do nothing).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn insert_workspace(
        tx: &mut Transaction<'static, D::Db>,
        chat: ChatId,
        name: &str,
        defaults: &SettingsDefaults,
        at: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Option<Workspace>, StoreError> {
        let inserted = sqlx::query_as::<_, WorkspaceRow>(
            "INSERT INTO workspaces (id, telegram_chat_id, name, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (telegram_chat_id) DO NOTHING RETURNING id, telegram_chat_id, name",
        )
        .bind(WorkspaceId::new().as_uuid())
        .bind(chat.0)
        .bind(storable(name))
        .bind(at)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db::<D>)?;
        let Some(row) = inserted else { return Ok(None) };
        let workspace = Workspace::from(row);
        let settings = StoredSettings::from(&ChatSettings::from_defaults(defaults));
        Self::bind_settings(
            sqlx::query(&format!(
                "INSERT INTO chat_settings (workspace_id, {SETTINGS_COLUMNS}, version, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11)"
            ))
            .bind(workspace.id.as_uuid()),
            &settings,
        )
        .bind(at)
        .execute(&mut **tx)
        .await
        .map_err(db::<D>)?;
        Self::insert_version(tx, workspace.id, 1, &settings, at, actor).await?;
        Ok(Some(workspace))
    }

    /// Binds the nine settings columns in [`SETTINGS_COLUMNS`] order.
    pub fn bind_settings<'q, Q: Bind<'q, D::Db>>(query: Q, s: &'q StoredSettings) -> Q {
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

    /// Writes version `version` of the settings to the history, valid from `valid_from`.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn insert_version(
        tx: &mut Transaction<'static, D::Db>,
        workspace: WorkspaceId,
        version: i64,
        settings: &StoredSettings,
        valid_from: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        Self::bind_settings(
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
        .map_err(db::<D>)?;
        Ok(())
    }
}

impl<D: Dialect> Store<D>
where
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    for<'q> Arguments<'q, D>: IntoArguments<'q, D::Db>,
    Uuid: Value<D::Db>,
    String: Value<D::Db>,
    DateTime<Utc>: Value<D::Db>,
    for<'a> &'a str: Encode<'a, D::Db> + Type<D::Db>,
{
    /// One audit entry for a changed setting (`subject` its name).
    ///
    /// # Errors
    /// When the database fails.
    async fn audit_setting(
        tx: &mut Transaction<'static, D::Db>,
        workspace: WorkspaceId,
        actor: &Actor,
        at: DateTime<Utc>,
        subject: &str,
        old: &str,
        new: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (workspace_id, at, actor, action, subject, old_value, new_value) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(workspace.as_uuid())
        .bind(at)
        .bind(actor.to_string())
        .bind(AuditAction::Setting.as_str())
        .bind(subject)
        .bind(old)
        .bind(new)
        .execute(&mut **tx)
        .await
        .map_err(db::<D>)?;
        Ok(())
    }
}

/// `bind` on plain queries and scalar queries alike.
pub trait Bind<'q, DB: Database>: Sized {
    /// Binds the next parameter.
    #[must_use]
    fn bind_value<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, DB> + sqlx::Type<DB>;
}

impl<'q, DB: Database> Bind<'q, DB> for sqlx::query::Query<'q, DB, DB::Arguments<'q>> {
    fn bind_value<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        self.bind(value)
    }
}

impl<'q, DB: Database, O> Bind<'q, DB> for sqlx::query::QueryScalar<'q, DB, O, DB::Arguments<'q>> {
    fn bind_value<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        self.bind(value)
    }
}
