use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::StoreError;
use crate::WorkspaceId;
use crate::library::MediaId;
use crate::queue::{
    Claimed, HistoryEntry, Lock, Outcome, QueueCounts, QueueEntry, QueueItemId, QueueStatus, Resolution,
};
use crate::schedule::{Candidate, CategoryCounts};
use crate::user::Actor;

/// Which pending items [`Queue::reschedule`] moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    /// Slot at or before now.
    Overdue,
    /// Slot after now.
    Upcoming,
}

/// What [`Queue::send_failed`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// Back to pending: the next tick tries again (attempts so far).
    WillRetry(u32),
    /// Given up after [`crate::queue::MAX_SEND_ATTEMPTS`]: a failed history row was written.
    GaveUp,
    /// The item was not being sent (already handled or cleared): nothing changed.
    NotSending,
}

/// The slots with their media, and every transition of an item (FEATURES C3, C4). Each method
/// is one transaction; a Posted / Skip / Reject press ([`Queue::resolve`]) writes the queue
/// change, the history row, the lock and the counters together.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Queue: Send + Sync {
    /// Media that may be scheduled at `now`: active, not queued (pending, sending or awaiting a
    /// press), not locked — at most `per_category` per category, never-posted first, then the
    /// least recently posted.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn candidates(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        per_category: u32,
    ) -> Result<Vec<Candidate>, StoreError>;

    /// The latest slot still queued (pending, sending or awaiting a press).
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn last_slot(&self, workspace: WorkspaceId) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Every queue item's slot at or after `from`, by slot, with the item's status: queued
    /// items and done ones alike (a story sent, posted, skipped or given up keeps its slot), so
    /// the schedule knows how full each posting window already is. Cleared items are gone.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn slots(
        &self,
        workspace: WorkspaceId,
        from: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, QueueStatus)>, StoreError>;

    /// What the category mix is held to, per category: the items queued now (pending, sending
    /// or awaiting a press) plus the stories posted at or after `posted_since`. Categories with
    /// neither are left out.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn category_counts(
        &self,
        workspace: WorkspaceId,
        posted_since: DateTime<Utc>,
    ) -> Result<CategoryCounts, StoreError>;

    /// Queues `plan` in one transaction. A media item already queued (say, by a concurrent
    /// schedule) is left out. Returns how many were queued.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails; then nothing was queued.
    async fn enqueue(&self, workspace: WorkspaceId, plan: &[(DateTime<Utc>, MediaId)]) -> Result<u64, StoreError>;

    /// Queued items (pending, sending, awaiting a press) by slot, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn entries(&self, workspace: WorkspaceId, limit: u32) -> Result<Vec<QueueEntry>, StoreError>;

    /// One queued item (pending, sending or awaiting a press) with its media; `None` when it is
    /// handled, gone, or of another workspace.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn entry(&self, workspace: WorkspaceId, item: QueueItemId) -> Result<Option<QueueEntry>, StoreError>;

    /// Counts for /status and /stats.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn counts(&self, workspace: WorkspaceId, now: DateTime<Utc>) -> Result<QueueCounts, StoreError>;

    /// Removes pending items — all of them, or only those due by `due_by` (overdue ones).
    /// Returns how many.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn clear(&self, workspace: WorkspaceId, due_by: Option<DateTime<Utc>>) -> Result<u64, StoreError>;

    /// Claims due work across every workspace that is not paused: at most one item per
    /// workspace (its earliest due pending slot, or an item whose sending lease ran out), at most
    /// `limit` in all. Claimed items are `sending` until `now + lease` and count an attempt. Two
    /// processes claiming at once never get the same item. The one store method that is not
    /// scoped to a workspace: the posting loop serves them all with one query.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn claim_due(&self, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Vec<Claimed>, StoreError>;

    /// Claims this workspace's next pending item now, due or not (/next), paused or not.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn claim_next(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Claimed>, StoreError>;

    /// A claimed item is in the chat as `message_id`: it now waits for a press. `false` when it
    /// was not being sent.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn mark_sent(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        message_id: i32,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Sending a claimed item failed with `error`: back to pending for the next tick, or, after
    /// [`crate::queue::MAX_SEND_ATTEMPTS`], done with a failed history row.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn send_failed(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<SendFailure, StoreError>;

    /// A Posted / Skip / Reject press on an item awaiting one (sent, or still marked as being
    /// sent when the press beats [`Queue::mark_sent`]): in one transaction the item is
    /// done, a history row written, the media locked (30 days, the skip lock, or for good) and,
    /// for Posted, its times-posted and last-posted updated. A second press changes nothing.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn resolve(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        outcome: Outcome,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Resolution, StoreError>;

    /// Remembers the Graph API container made for an item being sent (so a retry after a crash
    /// polls that container instead of creating, and publishing, another) and renews its lease
    /// to `lease_until`. Fenced on the claim: `false`, and nothing changes, unless the item is
    /// still being sent under claim number `attempt` — another process that re-claimed it after
    /// the lease ran out owns it now. Calling it again with the same container renews the lease.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn set_container(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        attempt: u32,
        container: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Renews the lease of an item still being sent under claim number `attempt` (see
    /// [`Queue::set_container`]); `false`, and nothing changes, when another process re-claimed
    /// it or it is no longer being sent. Called right before a step that must not run twice.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn renew_claim(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        attempt: u32,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Storyline published an item being sent through the Graph API: like a Posted press (one
    /// transaction: item done, history row with method `api` and Instagram's media id, 30-day
    /// lock, counters), by [`Actor::System`]. `media_id` is `None` when a retry found the
    /// container already published. A second call changes nothing.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn published(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        media_id: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<Resolution, StoreError>;

    /// Moves pending items to the slots given, in slot order, in one transaction: the overdue
    /// ones (slot ≤ `now`; /resume → Reschedule) or the upcoming ones (slot > `now`; the posting
    /// hours or posts/day changed). Returns how many moved; items beyond the slots given stay.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn reschedule(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        which: Pending,
        slots: &[DateTime<Utc>],
    ) -> Result<u64, StoreError>;
}

/// The posting history.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait History: Send + Sync {
    /// The newest `limit` rows, newest first.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn history(&self, workspace: WorkspaceId, limit: u32) -> Result<Vec<HistoryEntry>, StoreError>;
}

/// Media that may not be scheduled for now.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Locks: Send + Sync {
    /// Locks in force at `now`, the ones ending soonest first (permanent ones last).
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn locks(&self, workspace: WorkspaceId, now: DateTime<Utc>) -> Result<Vec<Lock>, StoreError>;
}
