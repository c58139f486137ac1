use async_trait::async_trait;
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
}
