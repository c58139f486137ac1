use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::ports::{StoreError, UpdateCursor};

use crate::{PostgresStore, db};

#[async_trait]
impl UpdateCursor for PostgresStore {
    async fn last_update(&self) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar("SELECT last_update_id FROM bot_cursor WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }

    async fn advance(&self, update_id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO bot_cursor (id, last_update_id) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET last_update_id = GREATEST(bot_cursor.last_update_id, excluded.last_update_id)",
        )
        .bind(update_id)
        .execute(&self.relaxed)
        .await
        .map_err(db)?;
        Ok(())
    }

    /// On the relaxed pool, like the rest of the per-update bookkeeping: a killed bot loses
    /// nothing committed; only a crash of the database server itself could forget the last claims.
    async fn claim(&self, bot: i64, update_id: i64, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO handled_updates (bot_id, update_id, handled_at) VALUES ($1, $2, $3) \
             ON CONFLICT (bot_id, update_id) DO NOTHING",
        )
        .bind(bot)
        .bind(update_id)
        .bind(at)
        .execute(&self.relaxed)
        .await
        .map_err(db)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn forget_claims_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let deleted = sqlx::query("DELETE FROM handled_updates WHERE handled_at < $1")
            .bind(before)
            .execute(&self.relaxed)
            .await
            .map_err(db)?;
        Ok(deleted.rows_affected())
    }
}
