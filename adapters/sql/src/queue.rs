//! The queue: slots, claims, resolutions. The candidate query, batches, claims and moving
//! slots differ per dialect ([`QueueDialect`]).

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::Transaction;
use storyline_domain::WorkspaceId;
use storyline_domain::account::PostMethod;
use storyline_domain::library::MediaId;
use storyline_domain::ports::{Pending, Queue, SendFailure, StoreError};
use storyline_domain::queue::{
    Claimed, Outcome, QueueCounts, QueueEntry, QueueItemId, QueueStatus, Resolution, is_last_attempt,
};
use storyline_domain::schedule::{Candidate, CategoryCounts};
use storyline_domain::user::Actor;
use uuid::Uuid;

use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::rows::{CandidateRow, ENTRY_COLUMNS, EntryRow, count, parse_category, parse_outcome, parse_status};
use crate::{Dialect, QueueDialect, Store, db};

/// Media that may be scheduled (as candidates) at `$2` (the row `m`): active, not queued, not locked.
pub const AVAILABLE: &str = "m.active \
     AND NOT EXISTS (SELECT 1 FROM queue_items q WHERE q.workspace_id = m.workspace_id AND q.media_id = m.id \
                     AND q.status IN ('pending', 'sending', 'sent')) \
     AND NOT EXISTS (SELECT 1 FROM media_locks l WHERE l.workspace_id = m.workspace_id AND l.media_id = m.id \
                     AND (l.locked_until IS NULL OR l.locked_until > $2))";

/// How a story reached Instagram, for its history row: the method and Instagram's media id.
type Posted<'a> = (Option<PostMethod>, Option<&'a str>);

/// Writes a history row for the queue item `item`, with its media's path.
async fn insert_history<D: Dialect>(
    tx: &mut Transaction<'static, D::Db>,
    workspace: WorkspaceId,
    item: QueueItemId,
    media: Uuid,
    outcome: Outcome,
    (at, actor, error): (DateTime<Utc>, &Actor, Option<&str>),
    (method, instagram_media_id): Posted<'_>,
) -> Result<String, StoreError>
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
    .map_err(db::<D>)
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
        .map_err(db::<D>)?;
        Ok(D::rows_affected(&done) > 0)
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
        .map_err(db::<D>)?;
        let Some(media) = sent else {
            let before: Option<Option<String>> = sqlx::query_scalar(
                "SELECT outcome FROM queue_items WHERE workspace_id = $1 AND id = $2 AND status = 'done'",
            )
            .bind(workspace.as_uuid())
            .bind(item.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db::<D>)?;
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
            .map_err(db::<D>)?;
        }
        let path = insert_history::<D>(&mut tx, workspace, item, media, outcome, (at, actor, None), posted).await?;
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
            .map_err(db::<D>)?;
        }
        tx.commit().await.map_err(db::<D>)?;
        Ok(Resolution::Resolved { outcome, path })
    }
}

#[async_trait]
impl<D: QueueDialect> Queue for Store<D>
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
    async fn candidates(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        per_category: u32,
    ) -> Result<Vec<Candidate>, StoreError> {
        sqlx::query_as::<_, CandidateRow>(&D::candidates())
            .bind(workspace.as_uuid())
            .bind(now)
            .bind(i64::from(per_category))
            .fetch_all(&self.pool)
            .await
            .map_err(db::<D>)?
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
        .map_err(db::<D>)
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
        .map_err(db::<D>)?;
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
        .map_err(db::<D>)?;
        rows.into_iter().map(|(category, n)| Ok((parse_category(&category)?, count(n)?))).collect()
    }

    async fn enqueue(&self, workspace: WorkspaceId, plan: &[(DateTime<Utc>, MediaId)]) -> Result<u64, StoreError> {
        D::enqueue(self, workspace, plan).await
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
        .map_err(db::<D>)?
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
        .map_err(db::<D>)?
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
            .map_err(db::<D>)?;
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
             AND ($2 IS NULL OR slot_at <= $2)",
        )
        .bind(workspace.as_uuid())
        .bind(due_by)
        .execute(&self.pool)
        .await
        .map_err(db::<D>)?;
        Ok(D::rows_affected(&done))
    }

    async fn claim_due(&self, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Vec<Claimed>, StoreError> {
        D::claim_due(self, now, lease, limit).await
    }

    async fn claim_next(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Claimed>, StoreError> {
        D::claim_next(self, workspace, now, lease).await
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
        .map_err(db::<D>)?;
        Ok(D::rows_affected(&done) > 0)
    }

    async fn send_failed(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<SendFailure, StoreError> {
        let mut tx = self.write().await?;
        let select = format!(
            "SELECT media_id, attempts FROM queue_items \
             WHERE workspace_id = $1 AND id = $2 AND status = 'sending'{}",
            D::FOR_UPDATE
        );
        let sending: Option<(Uuid, i32)> = sqlx::query_as(&select)
            .bind(workspace.as_uuid())
            .bind(item.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db::<D>)?;
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
        .map_err(db::<D>)?;
        let decided = if gives_up {
            let failure = (at, &Actor::System, Some(error));
            insert_history::<D>(&mut tx, workspace, item, media, Outcome::Failed, failure, (None, None)).await?;
            SendFailure::GaveUp
        } else {
            SendFailure::WillRetry(attempts)
        };
        tx.commit().await.map_err(db::<D>)?;
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
            Pending::Overdue => "slot_at <= $2",
            Pending::Upcoming => "slot_at > $2",
        };
        let items: Vec<Uuid> = sqlx::query_scalar(&format!(
            "SELECT id FROM queue_items WHERE workspace_id = $1 AND status = 'pending' AND {when} \
             ORDER BY slot_at, id LIMIT $3{}",
            D::FOR_UPDATE
        ))
        .bind(workspace.as_uuid())
        .bind(now)
        .bind(i64::try_from(slots.len()).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await
        .map_err(db::<D>)?;
        let moved = D::move_slots(&mut tx, items, slots).await?;
        tx.commit().await.map_err(db::<D>)?;
        Ok(moved)
    }
}
