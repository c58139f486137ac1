//! The queue statements SQLite words its own way: candidates ranked with `ROW_NUMBER()`, and
//! claims, batches and moves row by row inside one `BEGIN IMMEDIATE` transaction, which
//! already keeps every other writer out.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::{Sqlite, Transaction};
use storyline_domain::WorkspaceId;
use storyline_domain::library::MediaId;
use storyline_domain::ports::StoreError;
use storyline_domain::queue::{Claimed, QueueItemId};
use storyline_sql::queue::AVAILABLE;
use storyline_sql::rows::{ClaimedRow, ENTRY_COLUMNS};
use storyline_sql::{QueueDialect, Store};
use uuid::Uuid;

use crate::{SqliteDialect, db};

/// Claims the queue item `id` until `until` and reads it back with its media and chat.
async fn claim(tx: &mut Transaction<'static, Sqlite>, id: Uuid, until: DateTime<Utc>) -> Result<Claimed, StoreError> {
    sqlx::query("UPDATE queue_items SET status = 'sending', claimed_until = $1, attempts = attempts + 1 WHERE id = $2")
        .bind(until)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    sqlx::query_as::<_, ClaimedRow>(&format!(
        "SELECT {ENTRY_COLUMNS}, w.telegram_chat_id FROM queue_items q \
         JOIN media_items m ON m.workspace_id = q.workspace_id AND m.id = q.media_id \
         JOIN workspaces w ON w.id = q.workspace_id WHERE q.id = $1"
    ))
    .bind(id)
    .fetch_one(&mut **tx)
    .await
    .map_err(db)?
    .try_into()
}

#[async_trait]
impl QueueDialect for SqliteDialect {
    /// Ranks each category's free items with `ROW_NUMBER()` and keeps the first `$3`.
    fn candidates() -> String {
        format!(
            "SELECT id, category, last_posted_at FROM ( \
           SELECT m.id, m.category, m.last_posted_at, ROW_NUMBER() OVER ( \
             PARTITION BY m.category ORDER BY m.last_posted_at NULLS FIRST, m.path) AS place \
           FROM media_items m WHERE m.workspace_id = $1 AND {AVAILABLE}) \
         WHERE place <= $3 ORDER BY category, place"
        )
    }

    async fn enqueue(
        store: &Store<Self>,
        workspace: WorkspaceId,
        plan: &[(DateTime<Utc>, MediaId)],
    ) -> Result<u64, StoreError> {
        let mut tx = store.write().await?;
        let mut queued = 0;
        for (slot, media) in plan {
            // Media of this workspace only; one already queued is left out (the partial unique
            // index on queued media).
            queued += sqlx::query(
                "INSERT INTO queue_items (id, workspace_id, media_id, slot_at, status, attempts) \
                 SELECT $1, workspace_id, id, $2, 'pending', 0 FROM media_items WHERE workspace_id = $3 AND id = $4 \
                 ON CONFLICT DO NOTHING",
            )
            .bind(QueueItemId::new().0)
            .bind(slot)
            .bind(workspace.as_uuid())
            .bind(media.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        }
        tx.commit().await.map_err(db)?;
        Ok(queued)
    }

    async fn claim_due(
        store: &Store<Self>,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError> {
        let mut tx = store.write().await?;
        let picks: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM ( \
               SELECT q.id, q.slot_at, ROW_NUMBER() OVER (PARTITION BY q.workspace_id ORDER BY q.slot_at, q.id) AS place \
               FROM queue_items q JOIN chat_settings s ON s.workspace_id = q.workspace_id \
               WHERE NOT s.is_paused \
                 AND ((q.status = 'pending' AND q.slot_at <= $1) OR (q.status = 'sending' AND q.claimed_until < $1))) \
             WHERE place = 1 ORDER BY slot_at, id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let mut claimed = Vec::with_capacity(picks.len());
        for id in picks {
            claimed.push(claim(&mut tx, id, now + lease).await?);
        }
        tx.commit().await.map_err(db)?;
        Ok(claimed)
    }

    async fn claim_next(
        store: &Store<Self>,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Claimed>, StoreError> {
        let mut tx = store.write().await?;
        let next: Option<Uuid> = sqlx::query_scalar(
            "SELECT id FROM queue_items WHERE workspace_id = $1 AND status = 'pending' ORDER BY slot_at, id LIMIT 1",
        )
        .bind(workspace.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(id) = next else {
            return Ok(None);
        };
        let claimed = claim(&mut tx, id, now + lease).await?;
        tx.commit().await.map_err(db)?;
        Ok(Some(claimed))
    }

    async fn move_slots(
        tx: &mut Transaction<'static, Sqlite>,
        items: Vec<Uuid>,
        slots: &[DateTime<Utc>],
    ) -> Result<u64, StoreError> {
        let mut moved = 0;
        for (id, slot) in items.into_iter().zip(slots) {
            moved += sqlx::query("UPDATE queue_items SET slot_at = $1 WHERE id = $2")
                .bind(slot)
                .bind(id)
                .execute(&mut **tx)
                .await
                .map_err(db)?
                .rows_affected();
        }
        Ok(moved)
    }
}
