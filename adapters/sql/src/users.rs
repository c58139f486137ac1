//! People, their roles and memberships. Recording a contact differs per dialect ([`UsersDialect`]).

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::audit::AuditAction;
use storyline_domain::ports::{StoreError, Users};
use storyline_domain::user::{Actor, Member, Role, TelegramUserId, User};
use storyline_domain::{Workspace, WorkspaceId};
use uuid::Uuid;

use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::rows::MemberRow;
use crate::{Dialect, Store, UsersDialect, db};

/// A member with their person (`m`, `u`); append the `WHERE`.
pub const MEMBER: &str = "SELECT u.telegram_user_id, u.username, u.first_name, u.last_name, m.role, m.first_seen, m.last_seen \
     FROM memberships m JOIN users u ON u.telegram_user_id = m.telegram_user_id";

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
    /// The membership of `user` in `workspace`, if any.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn fetch_member(
        &self,
        workspace: WorkspaceId,
        user: TelegramUserId,
    ) -> Result<Option<Member>, StoreError> {
        sqlx::query_as::<_, MemberRow>(&format!("{MEMBER} WHERE m.workspace_id = $1 AND m.telegram_user_id = $2"))
            .bind(workspace.as_uuid())
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db::<D>)?
            .map(TryInto::try_into)
            .transpose()
    }

    /// The membership of `user` in `workspace`; `WorkspaceNotFound` without one.
    ///
    /// # Errors
    /// [`StoreError::WorkspaceNotFound`], or when the database fails.
    pub async fn require_member(&self, workspace: WorkspaceId, user: TelegramUserId) -> Result<Member, StoreError> {
        self.fetch_member(workspace, user).await?.ok_or(StoreError::WorkspaceNotFound(workspace))
    }

    /// `Ok` when the workspace exists.
    ///
    /// # Errors
    /// [`StoreError::WorkspaceNotFound`], or when the database fails.
    pub async fn workspace_exists(&self, workspace: WorkspaceId) -> Result<(), StoreError> {
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM workspaces WHERE id = $1")
            .bind(workspace.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db::<D>)?;
        found.map(|_| ()).ok_or(StoreError::WorkspaceNotFound(workspace))
    }
}

#[async_trait]
impl<D: UsersDialect> Users for Store<D>
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
    async fn record_contact(
        &self,
        workspace: WorkspaceId,
        user: &User,
        at: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        D::record_contact(self, workspace, user, at).await
    }

    async fn member(&self, workspace: WorkspaceId, user: TelegramUserId) -> Result<Option<Member>, StoreError> {
        self.fetch_member(workspace, user).await
    }

    async fn set_role(
        &self,
        workspace: WorkspaceId,
        user: TelegramUserId,
        role: Role,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        self.workspace_exists(workspace).await?;
        let mut tx = self.write().await?;
        let old: Option<String> = sqlx::query_scalar(&format!(
            "SELECT role FROM memberships WHERE workspace_id = $1 AND telegram_user_id = $2{}",
            D::FOR_UPDATE
        ))
        .bind(workspace.as_uuid())
        .bind(user.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db::<D>)?;
        sqlx::query("INSERT INTO users (telegram_user_id, first_name) VALUES ($1, '') ON CONFLICT DO NOTHING")
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
        sqlx::query(
            "INSERT INTO memberships (workspace_id, telegram_user_id, role, first_seen, last_seen) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (workspace_id, telegram_user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(workspace.as_uuid())
        .bind(user.0)
        .bind(role.as_str())
        .bind(at)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        if old.as_deref() != Some(role.as_str()) {
            sqlx::query(
                "INSERT INTO audit_log (workspace_id, at, actor, action, subject, old_value, new_value) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(workspace.as_uuid())
            .bind(at)
            .bind(actor.to_string())
            .bind(AuditAction::Role.as_str())
            .bind(format!("user:{user}"))
            .bind(old)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
            // The other replicas forget the role they remembered, once this commits.
            if let Some(notify) = D::NOTIFY {
                let changed = storyline_domain::ports::Changed::Member { workspace, user };
                sqlx::query(notify).bind(changed.payload()).execute(&mut *tx).await.map_err(db::<D>)?;
            }
        }
        tx.commit().await.map_err(db::<D>)?;
        self.require_member(workspace, user).await
    }

    async fn members(&self, workspace: WorkspaceId) -> Result<Vec<Member>, StoreError> {
        sqlx::query_as::<_, MemberRow>(&format!("{MEMBER} WHERE m.workspace_id = $1 ORDER BY m.telegram_user_id"))
            .bind(workspace.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(db::<D>)?
            .into_iter()
            .map(TryInto::try_into)
            .collect()
    }

    async fn memberships(&self, user: TelegramUserId) -> Result<Vec<(Workspace, Role)>, StoreError> {
        let rows = sqlx::query_as::<_, MembershipRow>(
            "SELECT w.id, w.telegram_chat_id, w.name, m.role FROM memberships m \
             JOIN workspaces w ON w.id = m.workspace_id WHERE m.telegram_user_id = $1",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db::<D>)?;
        let mut all = rows
            .into_iter()
            .map(|row| Ok((Workspace::from(row.workspace), row.role.parse::<Role>().map_err(StoreError::unknown)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Sorted here, byte-wise, so that every backend orders names alike (collations differ).
        all.sort_by(|a, b| (a.0.name.as_str(), a.0.chat_id).cmp(&(b.0.name.as_str(), b.0.chat_id)));
        Ok(all)
    }
}

/// A membership with its workspace.
#[derive(Debug, sqlx::FromRow)]
struct MembershipRow {
    #[sqlx(flatten)]
    workspace: crate::rows::WorkspaceRow,
    role: String,
}
