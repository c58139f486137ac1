use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::{Postgres, Transaction};
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
use crate::{PostgresStore, db};

/// Media that may be scheduled (as candidates) at `$2` (the row `m`): active, not queued, not locked.
const AVAILABLE: &str = "m.active \
     AND NOT EXISTS (SELECT 1 FROM queue_items q WHERE q.workspace_id = m.workspace_id AND q.media_id = m.id \
                     AND q.status IN ('pending', 'sending', 'sent')) \
     AND NOT EXISTS (SELECT 1 FROM media_locks l WHERE l.workspace_id = m.workspace_id AND l.media_id = m.id \
                     AND (l.locked_until IS NULL OR l.locked_until > $2))";

/// Claimable by the posting loop at `$1` (the row `q`): a due pending slot, or a send whose lease
/// ran out. Each half matches a partial index.
const CLAIMABLE: &str =
    "((q.status = 'pending' AND q.slot_at <= $1) OR (q.status = 'sending' AND q.claimed_until < $1))";

/// Sets the rows `picked` (a CTE of ids) sending until `$2`, returning them with media and chat.
fn claim_picked() -> String {
    format!(
        "UPDATE queue_items q SET status = 'sending', claimed_until = $2, attempts = q.attempts + 1 \
         FROM picked, media_items m, workspaces w \
         WHERE q.id = picked.id AND m.workspace_id = q.workspace_id AND m.id = q.media_id AND w.id = q.workspace_id \
         RETURNING {ENTRY_COLUMNS}, w.telegram_chat_id"
    )
}

/// How a story reached Instagram, for its history row: the method and Instagram's media id.
type Posted<'a> = (Option<PostMethod>, Option<&'a str>);

/// Writes a history row for the queue item `item`, with its media's path.
async fn insert_history(
    tx: &mut Transaction<'static, Postgres>,
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
         SELECT workspace_id, id, path, $1, $2, $3, $4, $5, $6, $7 FROM media_items WHERE workspace_id = $8 AND id = $9 \
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

impl PostgresStore {
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
            "UPDATE queue_items SET container_id = COALESCE($1, container_id), claimed_until = $2 \
             WHERE workspace_id = $3 AND id = $4 AND status = 'sending' AND attempts = $5",
        )
        .bind(container)
        .bind(lease_until)
        .bind(workspace.as_uuid())
        .bind(item.0)
        .bind(i32::try_from(attempt).unwrap_or(i32::MAX))
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        // The conditional update decides a race: a second press waits for the first to commit,
        // then finds the item done.
        let sent: Option<Uuid> = sqlx::query_scalar(
            "UPDATE queue_items SET status = 'done', outcome = $1 \
             WHERE workspace_id = $2 AND id = $3 AND status IN ('sending', 'sent') \
             RETURNING media_id",
        )
        .bind(outcome.as_str())
        .bind(workspace.as_uuid())
        .bind(item.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(media) = sent else {
            let before: Option<Option<String>> = sqlx::query_scalar(
                "SELECT outcome FROM queue_items WHERE workspace_id = $1 AND id = $2 AND status = 'done'",
            )
            .bind(workspace.as_uuid())
            .bind(item.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            return Ok(match before.flatten() {
                Some(stored) => Resolution::AlreadyHandled(parse_outcome(&stored)?),
                None => Resolution::NotFound,
            });
        };
        if outcome == Outcome::Posted {
            sqlx::query(
                "UPDATE media_items SET times_posted = times_posted + 1, last_posted_at = $1 \
                 WHERE workspace_id = $2 AND id = $3",
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
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workspace_id, media_id) DO UPDATE SET \
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
impl Queue for PostgresStore {
    async fn candidates(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        per_category: u32,
    ) -> Result<Vec<Candidate>, StoreError> {
        // Per category, walk the index in candidate order and stop after `per_category` free
        // items, instead of ranking every item (ROW_NUMBER() over 100,000 items sorts them all:
        // ~130 ms against ~30 ms). The categories come from a skip scan of the same index.
        sqlx::query_as::<_, CandidateRow>(&format!(
            "WITH RECURSIVE categories AS ( \
               (SELECT category FROM media_items WHERE workspace_id = $1 ORDER BY category LIMIT 1) \
               UNION ALL \
               SELECT (SELECT m.category FROM media_items m WHERE m.workspace_id = $1 AND m.category > c.category \
                       ORDER BY m.category LIMIT 1) \
               FROM categories c WHERE c.category IS NOT NULL) \
             SELECT free.id, free.category, free.last_posted_at FROM categories c \
             CROSS JOIN LATERAL ( \
               SELECT m.id, m.category, m.last_posted_at, m.path FROM media_items m \
               WHERE m.workspace_id = $1 AND m.category = c.category AND {AVAILABLE} \
               ORDER BY m.last_posted_at NULLS FIRST, m.path LIMIT $3) free \
             WHERE c.category IS NOT NULL \
             ORDER BY free.category, free.last_posted_at NULLS FIRST, free.path"
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
        sqlx::query_scalar(
            "SELECT slot_at FROM queue_items WHERE workspace_id = $1 AND status IN ('pending', 'sending', 'sent') \
             ORDER BY slot_at DESC LIMIT 1",
        )
        .bind(workspace.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)
    }

    async fn slots(
        &self,
        workspace: WorkspaceId,
        from: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, QueueStatus)>, StoreError> {
        let rows: Vec<(DateTime<Utc>, String)> = sqlx::query_as(
            "SELECT slot_at, status FROM queue_items WHERE workspace_id = $1 AND slot_at >= $2 ORDER BY slot_at, id",
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
               WHERE workspace_id = $1 AND status IN ('pending', 'sending', 'sent') \
               UNION ALL \
               SELECT media_id FROM posting_history \
               WHERE workspace_id = $1 AND outcome = 'posted' AND at >= $2) counted \
             JOIN media_items m ON m.workspace_id = $1 AND m.id = counted.media_id \
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
        let ids: Vec<Uuid> = plan.iter().map(|_| QueueItemId::new().0).collect();
        let slots: Vec<DateTime<Utc>> = plan.iter().map(|(slot, _)| *slot).collect();
        let media: Vec<Uuid> = plan.iter().map(|(_, media)| media.0).collect();
        // One statement: media of this workspace only; one already queued (or twice in the plan)
        // is left out by the partial unique index on queued media.
        let done = sqlx::query(
            "INSERT INTO queue_items (id, workspace_id, media_id, slot_at, status, attempts) \
             SELECT p.id, m.workspace_id, m.id, p.slot_at, 'pending', 0 \
             FROM UNNEST($2::uuid[], $3::timestamptz[], $4::uuid[]) WITH ORDINALITY AS p (id, slot_at, media_id, n) \
             JOIN media_items m ON m.workspace_id = $1 AND m.id = p.media_id \
             ORDER BY p.n \
             ON CONFLICT DO NOTHING",
        )
        .bind(workspace.as_uuid())
        .bind(ids)
        .bind(slots)
        .bind(media)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn entries(&self, workspace: WorkspaceId, limit: u32) -> Result<Vec<QueueEntry>, StoreError> {
        sqlx::query_as::<_, EntryRow>(&format!(
            "SELECT {ENTRY_COLUMNS} FROM queue_items q \
             JOIN media_items m ON m.workspace_id = q.workspace_id AND m.id = q.media_id \
             WHERE q.workspace_id = $1 AND q.status IN ('pending', 'sending', 'sent') \
             ORDER BY q.slot_at, q.id LIMIT $2"
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
             WHERE q.workspace_id = $1 AND q.id = $2 AND q.status IN ('pending', 'sending', 'sent')"
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
                "SELECT q.pending, q.due, q.awaiting_press, h.posted, h.skipped, h.rejected, h.failed \
                 FROM (SELECT COUNT(*) FILTER (WHERE status = 'pending') AS pending, \
                              COUNT(*) FILTER (WHERE status = 'pending' AND slot_at <= $2) AS due, \
                              COUNT(*) FILTER (WHERE status = 'sent') AS awaiting_press \
                       FROM queue_items WHERE workspace_id = $1 AND status IN ('pending', 'sending', 'sent')) q, \
                      (SELECT COUNT(*) FILTER (WHERE outcome = 'posted') AS posted, \
                              COUNT(*) FILTER (WHERE outcome = 'skipped') AS skipped, \
                              COUNT(*) FILTER (WHERE outcome = 'rejected') AS rejected, \
                              COUNT(*) FILTER (WHERE outcome = 'failed') AS failed \
                       FROM posting_history WHERE workspace_id = $1) h",
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
            "DELETE FROM queue_items WHERE workspace_id = $1 AND status = 'pending' \
             AND ($2::timestamptz IS NULL OR slot_at <= $2)",
        )
        .bind(workspace.as_uuid())
        .bind(due_by)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn claim_due(&self, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Vec<Claimed>, StoreError> {
        // `due`: each unpaused workspace's earliest claimable item (reads only the partial
        // indexes, so it costs nothing when nothing is due). `picked`: the most overdue of those,
        // locked; a row another process holds is skipped, and one it has claimed since this
        // statement began no longer matches when re-read under the lock.
        let mut claimed = sqlx::query_as::<_, ClaimedRow>(&format!(
            "WITH due AS ( \
               SELECT DISTINCT ON (q.workspace_id) q.id, q.slot_at FROM queue_items q \
               JOIN chat_settings s ON s.workspace_id = q.workspace_id \
               WHERE {CLAIMABLE} AND NOT s.is_paused \
               ORDER BY q.workspace_id, q.slot_at, q.id), \
             picked AS ( \
               SELECT q.id FROM queue_items q JOIN due ON due.id = q.id WHERE {CLAIMABLE} \
               ORDER BY due.slot_at, q.id LIMIT $3 FOR UPDATE OF q SKIP LOCKED) \
             {}",
            claim_picked()
        ))
        .bind(now)
        .bind(now + lease)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .into_iter()
        .map(Claimed::try_from)
        .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by_key(|c| (c.entry.item.slot, c.entry.item.id));
        Ok(claimed)
    }

    async fn claim_next(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Claimed>, StoreError> {
        sqlx::query_as::<_, ClaimedRow>(&format!(
            "WITH picked AS ( \
               SELECT q.id FROM queue_items q WHERE q.workspace_id = $1 AND q.status = 'pending' \
               ORDER BY q.slot_at, q.id LIMIT 1 FOR UPDATE OF q SKIP LOCKED) \
             {}",
            claim_picked()
        ))
        .bind(workspace.as_uuid())
        .bind(now + lease)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(TryInto::try_into)
        .transpose()
    }

    async fn mark_sent(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        message_id: i32,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE queue_items SET status = 'sent', message_id = $1, sent_at = $2, claimed_until = NULL \
             WHERE workspace_id = $3 AND id = $4 AND status = 'sending'",
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        let sending: Option<(Uuid, i32)> = sqlx::query_as(
            "SELECT media_id, attempts FROM queue_items \
             WHERE workspace_id = $1 AND id = $2 AND status = 'sending' FOR UPDATE",
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
            "UPDATE queue_items SET status = $1, outcome = $2, claimed_until = NULL \
             WHERE workspace_id = $3 AND id = $4",
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        let when = match which {
            Pending::Overdue => "slot_at <= $2",
            Pending::Upcoming => "slot_at > $2",
        };
        let overdue: Vec<Uuid> = sqlx::query_scalar(&format!(
            "SELECT id FROM queue_items WHERE workspace_id = $1 AND status = 'pending' AND {when} \
             ORDER BY slot_at, id LIMIT $3 FOR UPDATE"
        ))
        .bind(workspace.as_uuid())
        .bind(now)
        .bind(i64::try_from(slots.len()).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let slots: Vec<DateTime<Utc>> = slots.iter().take(overdue.len()).copied().collect();
        let moved = sqlx::query(
            "UPDATE queue_items q SET slot_at = u.slot_at FROM UNNEST($1::uuid[], $2::timestamptz[]) AS u (id, slot_at) \
             WHERE q.id = u.id",
        )
        .bind(overdue)
        .bind(slots)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        tx.commit().await.map_err(db)?;
        Ok(moved)
    }
}

#[async_trait]
impl History for PostgresStore {
    async fn history(&self, workspace: WorkspaceId, limit: u32) -> Result<Vec<HistoryEntry>, StoreError> {
        sqlx::query_as::<_, HistoryRow>(
            "SELECT media_id, path, queue_item_id, outcome, at, actor, error, method, instagram_media_id \
             FROM posting_history \
             WHERE workspace_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
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
impl Locks for PostgresStore {
    async fn locks(&self, workspace: WorkspaceId, now: DateTime<Utc>) -> Result<Vec<Lock>, StoreError> {
        sqlx::query_as::<_, LockRow>(
            "SELECT l.media_id, m.path, l.reason, l.locked_until FROM media_locks l \
             JOIN media_items m ON m.workspace_id = l.workspace_id AND m.id = l.media_id \
             WHERE l.workspace_id = $1 AND (l.locked_until IS NULL OR l.locked_until > $2) \
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
