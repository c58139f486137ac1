//! A contact in one statement on the relaxed pool: this runs on every update.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::ports::StoreError;
use storyline_domain::text::{storable, storable_opt};
use storyline_domain::user::{Member, User};
use storyline_sql::rows::MemberRow;
use storyline_sql::{Store, UsersDialect};

use crate::{PostgresDialect, db};

#[async_trait]
impl UsersDialect for PostgresDialect {
    async fn record_contact(
        store: &Store<Self>,
        workspace: WorkspaceId,
        user: &User,
        at: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        // One statement (its own transaction, one round trip): this runs on every update.
        let row = sqlx::query_as::<_, MemberRow>(
            "WITH person AS ( \
                 INSERT INTO users (telegram_user_id, username, first_name, last_name) VALUES ($2, $3, $4, $5) \
                 ON CONFLICT (telegram_user_id) DO UPDATE SET username = excluded.username, \
                 first_name = excluded.first_name, last_name = excluded.last_name \
                 RETURNING telegram_user_id, username, first_name, last_name \
             ), membership AS ( \
                 INSERT INTO memberships (workspace_id, telegram_user_id, role, first_seen, last_seen) \
                 VALUES ($1, $2, 'member', $6, $6) \
                 ON CONFLICT (workspace_id, telegram_user_id) DO UPDATE SET last_seen = excluded.last_seen \
                 RETURNING telegram_user_id, role, first_seen, last_seen \
             ) \
             SELECT p.telegram_user_id, p.username, p.first_name, p.last_name, m.role, m.first_seen, m.last_seen \
             FROM person p JOIN membership m ON m.telegram_user_id = p.telegram_user_id",
        )
        .bind(workspace.as_uuid())
        .bind(user.telegram_id.0)
        .bind(storable_opt(user.username.as_deref()))
        .bind(storable(&user.first_name))
        .bind(storable_opt(user.last_name.as_deref()))
        .bind(at)
        .fetch_one(store.relaxed())
        .await
        .map_err(|error| match &error {
            sqlx::Error::Database(e) if e.constraint() == Some("memberships_workspace_id_fkey") => {
                StoreError::WorkspaceNotFound(workspace)
            }
            _ => db(error),
        })?;
        row.try_into()
    }
}
