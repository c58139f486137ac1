use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::audit::AuditAction;
use storyline_domain::ports::{StoreError, Users};
use storyline_domain::text::{storable, storable_opt};
use storyline_domain::user::{Actor, Member, Role, TelegramUserId, User};

use crate::rows::MemberRow;
use crate::{SqliteStore, db};

const MEMBER: &str = "SELECT u.telegram_user_id, u.username, u.first_name, u.last_name, m.role, m.first_seen, m.last_seen \
     FROM memberships m JOIN users u ON u.telegram_user_id = m.telegram_user_id";

impl SqliteStore {
    async fn fetch_member(&self, workspace: WorkspaceId, user: TelegramUserId) -> Result<Option<Member>, StoreError> {
        sqlx::query_as::<_, MemberRow>(&format!("{MEMBER} WHERE m.workspace_id = ? AND m.telegram_user_id = ?"))
            .bind(workspace.as_uuid())
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(TryInto::try_into)
            .transpose()
    }

    async fn require_member(&self, workspace: WorkspaceId, user: TelegramUserId) -> Result<Member, StoreError> {
        self.fetch_member(workspace, user).await?.ok_or(StoreError::WorkspaceNotFound(workspace))
    }

    async fn workspace_exists(&self, workspace: WorkspaceId) -> Result<(), StoreError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM workspaces WHERE id = ?")
            .bind(workspace.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        found.map(|_| ()).ok_or(StoreError::WorkspaceNotFound(workspace))
    }
}

#[async_trait]
impl Users for SqliteStore {
    async fn record_contact(
        &self,
        workspace: WorkspaceId,
        user: &User,
        at: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        self.workspace_exists(workspace).await?;
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO users (telegram_user_id, username, first_name, last_name) VALUES (?, ?, ?, ?) \
             ON CONFLICT (telegram_user_id) DO UPDATE SET username = excluded.username, \
             first_name = excluded.first_name, last_name = excluded.last_name",
        )
        .bind(user.telegram_id.0)
        .bind(storable_opt(user.username.as_deref()))
        .bind(storable(&user.first_name))
        .bind(storable_opt(user.last_name.as_deref()))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query(
            "INSERT INTO memberships (workspace_id, telegram_user_id, role, first_seen, last_seen) \
             VALUES (?, ?, 'member', ?, ?) \
             ON CONFLICT (workspace_id, telegram_user_id) DO UPDATE SET last_seen = excluded.last_seen",
        )
        .bind(workspace.as_uuid())
        .bind(user.telegram_id.0)
        .bind(at)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        self.require_member(workspace, user.telegram_id).await
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
        let old: Option<String> =
            sqlx::query_scalar("SELECT role FROM memberships WHERE workspace_id = ? AND telegram_user_id = ?")
                .bind(workspace.as_uuid())
                .bind(user.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        sqlx::query("INSERT INTO users (telegram_user_id, first_name) VALUES (?, '') ON CONFLICT DO NOTHING")
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(
            "INSERT INTO memberships (workspace_id, telegram_user_id, role, first_seen, last_seen) \
             VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (workspace_id, telegram_user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(workspace.as_uuid())
        .bind(user.0)
        .bind(role.as_str())
        .bind(at)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if old.as_deref() != Some(role.as_str()) {
            sqlx::query(
                "INSERT INTO audit_log (workspace_id, at, actor, action, subject, old_value, new_value) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
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
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        self.require_member(workspace, user).await
    }

    async fn members(&self, workspace: WorkspaceId) -> Result<Vec<Member>, StoreError> {
        sqlx::query_as::<_, MemberRow>(&format!("{MEMBER} WHERE m.workspace_id = ? ORDER BY m.telegram_user_id"))
            .bind(workspace.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .into_iter()
            .map(TryInto::try_into)
            .collect()
    }
}
