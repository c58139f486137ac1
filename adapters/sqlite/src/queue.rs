use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::{Sqlite, Transaction};
use storyline_domain::WorkspaceId;
use storyline_domain::account::PostMethod;
use storyline_domain::library::MediaId;
use storyline_domain::ports::{History, Locks, Pending, Queue, SendFailure, StoreError};
use storyline_domain::queue::{
    Claimed, HistoryEntry, Lock, Outcome, QueueCounts, QueueEntry, QueueItemId, QueueStatus, Resolution,
    is_last_attempt,
};
use storyline_domain::schedule::{Candidate, CategoryCounts};
use storyline_domain::user::Actor;
use uuid::Uuid;

use crate::rows::{
    CandidateRow, ClaimedRow, ENTRY_COLUMNS, EntryRow, HistoryRow, LockRow, count, parse_category, parse_outcome,
    parse_status,
};
use crate::{SqliteStore, db};

/// Media that may be scheduled (as candidates) at `?2` (the row `m`): active, not queued, not locked.
const AVAILABLE: &str = "m.active \
     AND NOT EXISTS (SELECT 1 FROM queue_items q WHERE q.workspace_id = m.workspace_id AND q.media_id = m.id \
                     AND q.status IN ('pending', 'sending', 'sent')) \
     AND NOT EXISTS (SELECT 1 FROM media_locks l WHERE l.workspace_id = m.workspace_id AND l.media_id = m.id \
                     AND (l.locked_until IS NULL OR l.locked_until > ?2))";

/// Claims the queue item `id` until `until` and reads it back with its media and chat.
async fn claim(tx: &mut Transaction<'static, Sqlite>, id: Uuid, until: DateTime<Utc>) -> Result<Claimed, StoreError> {
    sqlx::query("UPDATE queue_items SET status = 'sending', claimed_until = ?, attempts = attempts + 1 WHERE id = ?")
        .bind(until)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    sqlx::query_as::<_, ClaimedRow>(&format!(
        "SELECT {ENTRY_COLUMNS}, w.telegram_chat_id FROM queue_items q \
         JOIN media_items m ON m.workspace_id = q.workspace_id AND m.id = q.media_id \
         JOIN workspaces w ON w.id = q.workspace_id WHERE q.id = ?"
    ))
    .bind(id)
    .fetch_one(&mut **tx)
    .await
    .map_err(db)?
    .try_into()
}

/// How a story reached Instagram, for its history row: the method and Instagram's media id.
type Posted<'a> = (Option<PostMethod>, Option<&'a str>);

/// Writes a history row for the queue item `item`, with its media's path.
async fn insert_history(
    tx: &mut Transaction<'static, Sqlite>,
    workspace: WorkspaceId,
    item: QueueItemId,
    media: Uuid,
    outcome: Outcome,
    (at, actor, error): (DateTime<Utc>, &Actor, Option<&str>),
    (method, instagram_media_id): Posted<'_>,
) -> Result<String, StoreError> {
    sqlx::query_scalar(
        "INSERT INTO posting_history (workspace_id, media_id, path, queue_item_id, outcome, at, actor, error, \
         method, instagram_media_id) \
         SELECT workspace_id, id, path, ?, ?, ?, ?, ?, ?, ? FROM media_items WHERE workspace_id = ? AND id = ? \
         RETURNING path",
    )
    .bind(item.0)
    .bind(outcome.as_str())
    .bind(at)
    .bind(actor.to_string())
    .bind(error)
    .bind(method.map(PostMethod::as_str))
    .bind(instagram_media_id)
    .bind(workspace.as_uuid())
    .bind(media)
    .fetch_one(&mut **tx)
    .await
    .map_err(db)
}

impl SqliteStore {
    /// Renews the lease of an item still being sent under claim `attempt`, remembering
    /// `container` when given (`Queue::set_container`, `Queue::renew_claim`).
    async fn renew(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        attempt: u32,
        container: Option<&str>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE queue_items SET container_id = COALESCE(?, container_id), claimed_until = ? \
             WHERE workspace_id = ? AND id = ? AND status = 'sending' AND attempts = ?",
        )
        .bind(container)
        .bind(lease_until)
        .bind(workspace.as_uuid())
        .bind(item.0)
        .bind(i64::from(attempt))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    /// Resolves an item being sent or awaiting a press in one transaction: done, with its
    /// history row, the media's counters and its lock. A second call finds it done.
    async fn finish(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        outcome: Outcome,
        (actor, at): (&Actor, DateTime<Utc>),
        posted: Posted<'_>,
    ) -> Result<Resolution, StoreError> {
        let mut tx = self.write().await?;
        let sent: Option<(Uuid,)> = sqlx::query_as(
            "UPDATE queue_items SET status = 'done', outcome = ? WHERE workspace_id = ? AND id = ? \
             AND status IN ('sending', 'sent') RETURNING media_id",
        )
        .bind(outcome.as_str())
        .bind(workspace.as_uuid())
        .bind(item.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some((media,)) = sent else {
            let before: Option<(Option<String>,)> =
                sqlx::query_as("SELECT outcome FROM queue_items WHERE workspace_id = ? AND id = ? AND status = 'done'")
                    .bind(workspace.as_uuid())
                    .bind(item.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
            return Ok(match before.and_then(|(outcome,)| outcome) {
                Some(stored) => Resolution::AlreadyHandled(parse_outcome(&stored)?),
                None => Resolution::NotFound,
            });
        };
        if outcome == Outcome::Posted {
            sqlx::query(
                "UPDATE media_items SET times_posted = times_posted + 1, last_posted_at = ? \
                 WHERE workspace_id = ? AND id = ?",
            )
            .bind(at)
            .bind(workspace.as_uuid())
            .bind(media)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        let path = insert_history(&mut tx, workspace, item, media, outcome, (at, actor, None), posted).await?;
        if let Some((reason, until)) = outcome.lock(at) {
            sqlx::query(
                "INSERT INTO media_locks (workspace_id, media_id, reason, locked_at, locked_until) \
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT (workspace_id, media_id) DO UPDATE SET \
                 reason = excluded.reason, locked_at = excluded.locked_at, locked_until = excluded.locked_until",
            )
            .bind(workspace.as_uuid())
            .bind(media)
            .bind(reason.as_str())
            .bind(at)
            .bind(until)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(Resolution::Resolved { outcome, path })
    }
}

#[async_trait]
impl Queue for SqliteStore {
    async fn candidates(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        per_category: u32,
    ) -> Result<Vec<Candidate>, StoreError> {
        sqlx::query_as::<_, CandidateRow>(&format!(
            "SELECT id, category, last_posted_at FROM ( \
               SELECT m.id, m.category, m.last_posted_at, ROW_NUMBER() OVER ( \
                 PARTITION BY m.category ORDER BY m.last_posted_at NULLS FIRST, m.path) AS place \
               FROM media_items m WHERE m.workspace_id = ?1 AND {AVAILABLE}) \
             WHERE place <= ?3 ORDER BY category, place"
        ))
        .bind(workspace.as_uuid())
        .bind(now)
        .bind(i64::from(per_category))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }

    async fn last_slot(&self, workspace: WorkspaceId) -> Result<Option<DateTime<Utc>>, StoreError> {
        let last: Option<(DateTime<Utc>,)> = sqlx::query_as(
            "SELECT slot_at FROM queue_items WHERE workspace_id = ? AND status IN ('pending', 'sending', 'sent') \
             ORDER BY slot_at DESC LIMIT 1",
        )
        .bind(workspace.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(last.map(|(slot,)| slot))
    }

    async fn slots(
        &self,
        workspace: WorkspaceId,
        from: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, QueueStatus)>, StoreError> {
        let rows: Vec<(DateTime<Utc>, String)> = sqlx::query_as(
            "SELECT slot_at, status FROM queue_items WHERE workspace_id = ?1 AND slot_at >= ?2 ORDER BY slot_at, id",
        )
        .bind(workspace.as_uuid())
        .bind(from)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter().map(|(slot, status)| Ok((slot, parse_status(&status)?))).collect()
    }

    async fn category_counts(
        &self,
        workspace: WorkspaceId,
        posted_since: DateTime<Utc>,
    ) -> Result<CategoryCounts, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT m.category, COUNT(*) FROM ( \
               SELECT media_id FROM queue_items \
               WHERE workspace_id = ?1 AND status IN ('pending', 'sending', 'sent') \
               UNION ALL \
               SELECT media_id FROM posting_history \
               WHERE workspace_id = ?1 AND outcome = 'posted' AND at >= ?2) counted \
             JOIN media_items m ON m.workspace_id = ?1 AND m.id = counted.media_id \
             GROUP BY m.category",
        )
        .bind(workspace.as_uuid())
        .bind(posted_since)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter().map(|(category, n)| Ok((parse_category(&category)?, count(n)?))).collect()
    }

    async fn enqueue(&self, workspace: WorkspaceId, plan: &[(DateTime<Utc>, MediaId)]) -> Result<u64, StoreError> {
        let mut tx = self.write().await?;
        let mut queued = 0;
        for (slot, media) in plan {
            // Media of this workspace only; one already queued is left out (the partial unique
            // index on queued media).
            queued += sqlx::query(
                "INSERT INTO queue_items (id, workspace_id, media_id, slot_at, status, attempts) \
                 SELECT ?, workspace_id, id, ?, 'pending', 0 FROM media_items WHERE workspace_id = ? AND id = ? \
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

    async fn entries(&self, workspace: WorkspaceId, limit: u32) -> Result<Vec<QueueEntry>, StoreError> {
        sqlx::query_as::<_, EntryRow>(&format!(
            "SELECT {ENTRY_COLUMNS} FROM queue_items q \
             JOIN media_items m ON m.workspace_id = q.workspace_id AND m.id = q.media_id \
             WHERE q.workspace_id = ? AND q.status IN ('pending', 'sending', 'sent') \
             ORDER BY q.slot_at, q.id LIMIT ?"
        ))
        .bind(workspace.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }

    async fn entry(&self, workspace: WorkspaceId, item: QueueItemId) -> Result<Option<QueueEntry>, StoreError> {
        sqlx::query_as::<_, EntryRow>(&format!(
            "SELECT {ENTRY_COLUMNS} FROM queue_items q \
             JOIN media_items m ON m.workspace_id = q.workspace_id AND m.id = q.media_id \
             WHERE q.workspace_id = ? AND q.id = ? AND q.status IN ('pending', 'sending', 'sent')"
        ))
        .bind(workspace.as_uuid())
        .bind(item.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(TryInto::try_into)
        .transpose()
    }

    async fn counts(&self, workspace: WorkspaceId, now: DateTime<Utc>) -> Result<QueueCounts, StoreError> {
        let (pending, due, awaiting_press, posted, skipped, rejected, failed): (i64, i64, i64, i64, i64, i64, i64) =
            sqlx::query_as(
                "SELECT \
                   (SELECT COUNT(*) FROM queue_items WHERE workspace_id = ?1 AND status = 'pending'), \
                   (SELECT COUNT(*) FROM queue_items WHERE workspace_id = ?1 AND status = 'pending' AND slot_at <= ?2), \
                   (SELECT COUNT(*) FROM queue_items WHERE workspace_id = ?1 AND status = 'sent'), \
                   (SELECT COUNT(*) FROM posting_history WHERE workspace_id = ?1 AND outcome = 'posted'), \
                   (SELECT COUNT(*) FROM posting_history WHERE workspace_id = ?1 AND outcome = 'skipped'), \
                   (SELECT COUNT(*) FROM posting_history WHERE workspace_id = ?1 AND outcome = 'rejected'), \
                   (SELECT COUNT(*) FROM posting_history WHERE workspace_id = ?1 AND outcome = 'failed')",
            )
            .bind(workspace.as_uuid())
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(QueueCounts {
            pending: count(pending)?,
            due: count(due)?,
            awaiting_press: count(awaiting_press)?,
            posted: count(posted)?,
            skipped: count(skipped)?,
            rejected: count(rejected)?,
            failed: count(failed)?,
        })
    }

    async fn clear(&self, workspace: WorkspaceId, due_by: Option<DateTime<Utc>>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM queue_items WHERE workspace_id = ?1 AND status = 'pending' AND (?2 IS NULL OR slot_at <= ?2)",
        )
        .bind(workspace.as_uuid())
        .bind(due_by)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn claim_due(&self, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Vec<Claimed>, StoreError> {
        let mut tx = self.write().await?;
        let picks: Vec<(Uuid,)> = sqlx::query_as(
            "SELECT id FROM ( \
               SELECT q.id, q.slot_at, ROW_NUMBER() OVER (PARTITION BY q.workspace_id ORDER BY q.slot_at, q.id) AS place \
               FROM queue_items q JOIN chat_settings s ON s.workspace_id = q.workspace_id \
               WHERE NOT s.is_paused \
                 AND ((q.status = 'pending' AND q.slot_at <= ?1) OR (q.status = 'sending' AND q.claimed_until < ?1))) \
             WHERE place = 1 ORDER BY slot_at, id LIMIT ?2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let mut claimed = Vec::with_capacity(picks.len());
        for (id,) in picks {
            claimed.push(claim(&mut tx, id, now + lease).await?);
        }
        tx.commit().await.map_err(db)?;
        Ok(claimed)
    }

    async fn claim_next(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Claimed>, StoreError> {
        let mut tx = self.write().await?;
        let next: Option<(Uuid,)> = sqlx::query_as(
            "SELECT id FROM queue_items WHERE workspace_id = ? AND status = 'pending' ORDER BY slot_at, id LIMIT 1",
        )
        .bind(workspace.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some((id,)) = next else {
            return Ok(None);
        };
        let claimed = claim(&mut tx, id, now + lease).await?;
        tx.commit().await.map_err(db)?;
        Ok(Some(claimed))
    }

    async fn mark_sent(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        message_id: i32,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE queue_items SET status = 'sent', message_id = ?, sent_at = ?, claimed_until = NULL \
             WHERE workspace_id = ? AND id = ? AND status = 'sending'",
        )
        .bind(message_id)
        .bind(at)
        .bind(workspace.as_uuid())
        .bind(item.0)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn send_failed(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<SendFailure, StoreError> {
        let mut tx = self.write().await?;
        let sending: Option<(Uuid, i64)> = sqlx::query_as(
            "SELECT media_id, attempts FROM queue_items \
             WHERE workspace_id = ?1 AND id = ?2 AND status = 'sending'",
        )
        .bind(workspace.as_uuid())
        .bind(item.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some((media, attempts)) = sending else {
            return Ok(SendFailure::NotSending);
        };
        let attempts = u32::try_from(attempts).map_err(StoreError::unknown)?;
        // The domain decides when a story is given up; the row follows.
        let gives_up = is_last_attempt(attempts);
        sqlx::query(
            "UPDATE queue_items SET status = ?1, outcome = ?2, claimed_until = NULL \
             WHERE workspace_id = ?3 AND id = ?4",
        )
        .bind(if gives_up { "done" } else { "pending" })
        .bind(gives_up.then_some("failed"))
        .bind(workspace.as_uuid())
        .bind(item.0)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let decided = if gives_up {
            let failure = (at, &Actor::System, Some(error));
            insert_history(&mut tx, workspace, item, media, Outcome::Failed, failure, (None, None)).await?;
            SendFailure::GaveUp
        } else {
            SendFailure::WillRetry(attempts)
        };
        tx.commit().await.map_err(db)?;
        Ok(decided)
    }

    async fn resolve(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        outcome: Outcome,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Resolution, StoreError> {
        let method = (outcome == Outcome::Posted).then_some(PostMethod::Telegram);
        self.finish(workspace, item, outcome, (actor, at), (method, None)).await
    }

    async fn set_container(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        attempt: u32,
        container: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.renew(workspace, item, attempt, Some(container), lease_until).await
    }

    async fn renew_claim(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        attempt: u32,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.renew(workspace, item, attempt, None, lease_until).await
    }

    async fn published(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        media_id: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<Resolution, StoreError> {
        let posted = (Some(PostMethod::Api), media_id.as_deref());
        self.finish(workspace, item, Outcome::Posted, (&Actor::System, at), posted).await
    }

    async fn reschedule(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        which: Pending,
        slots: &[DateTime<Utc>],
    ) -> Result<u64, StoreError> {
        if slots.is_empty() {
            return Ok(0);
        }
        let mut tx = self.write().await?;
        let when = match which {
            Pending::Overdue => "slot_at <= ?",
            Pending::Upcoming => "slot_at > ?",
        };
        let overdue: Vec<(Uuid,)> = sqlx::query_as(&format!(
            "SELECT id FROM queue_items WHERE workspace_id = ? AND status = 'pending' AND {when} \
             ORDER BY slot_at, id LIMIT ?"
        ))
        .bind(workspace.as_uuid())
        .bind(now)
        .bind(i64::try_from(slots.len()).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let mut moved = 0;
        for ((id,), slot) in overdue.into_iter().zip(slots) {
            moved += sqlx::query("UPDATE queue_items SET slot_at = ? WHERE id = ?")
                .bind(slot)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
        }
        tx.commit().await.map_err(db)?;
        Ok(moved)
    }
}

#[async_trait]
impl History for SqliteStore {
    async fn history(&self, workspace: WorkspaceId, limit: u32) -> Result<Vec<HistoryEntry>, StoreError> {
        sqlx::query_as::<_, HistoryRow>(
            "SELECT media_id, path, queue_item_id, outcome, at, actor, error, method, instagram_media_id \
             FROM posting_history \
             WHERE workspace_id = ? ORDER BY at DESC, id DESC LIMIT ?",
        )
        .bind(workspace.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }
}

#[async_trait]
impl Locks for SqliteStore {
    async fn locks(&self, workspace: WorkspaceId, now: DateTime<Utc>) -> Result<Vec<Lock>, StoreError> {
        sqlx::query_as::<_, LockRow>(
            "SELECT l.media_id, m.path, l.reason, l.locked_until FROM media_locks l \
             JOIN media_items m ON m.workspace_id = l.workspace_id AND m.id = l.media_id \
             WHERE l.workspace_id = ?1 AND (l.locked_until IS NULL OR l.locked_until > ?2) \
             ORDER BY l.locked_until NULLS LAST, m.path",
        )
        .bind(workspace.as_uuid())
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }
}
