//! A contact in one write transaction: the person, then the membership.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::ports::StoreError;
use storyline_domain::text::{storable, storable_opt};
use storyline_domain::user::{Member, User};
use storyline_sql::{Store, UsersDialect};

use crate::{SqliteDialect, db};

#[async_trait]
impl UsersDialect for SqliteDialect {
    async fn record_contact(
        store: &Store<Self>,
        workspace: WorkspaceId,
        user: &User,
        at: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        store.workspace_exists(workspace).await?;
        let mut tx = store.write().await?;
        sqlx::query(
            "INSERT INTO users (telegram_user_id, username, first_name, last_name) VALUES ($1, $2, $3, $4) \
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
             VALUES ($1, $2, 'member', $3, $3) \
             ON CONFLICT (workspace_id, telegram_user_id) DO UPDATE SET last_seen = excluded.last_seen",
        )
        .bind(workspace.as_uuid())
        .bind(user.telegram_id.0)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        store.require_member(workspace, user.telegram_id).await
    }
}
