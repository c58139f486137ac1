//! Filling the queue (FEATURES C3): `/schedule N` and `create-schedule --days N`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::ports::{Clock, MediaLibrary, Pending, Queue, SettingsStore, StoreError};
use storyline_domain::queue::QueueStatus;
use storyline_domain::schedule::{Jitter, MAX_DAYS, Plan, assign, horizon, next_slots};

/// Why a schedule was not made. Nothing was queued.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("the number of days must be from 1 to {MAX_DAYS}")]
    Days,
    #[error("this chat has no workspace")]
    WorkspaceNotFound,
    #[error("the schedule could not be saved")]
    Store(#[source] StoreError),
}

impl From<StoreError> for ScheduleError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::WorkspaceNotFound(_) => Self::WorkspaceNotFound,
            other => Self::Store(other),
        }
    }
}

/// What a schedule run queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleReport {
    pub queued: u64,
    /// Slots left empty because the library had no more media to give.
    pub unfilled: u64,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

/// Fills the queue from the library.
#[derive(Clone)]
pub struct Scheduler {
    settings: Arc<dyn SettingsStore>,
    library: Arc<dyn MediaLibrary>,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler").finish_non_exhaustive()
    }
}

impl Scheduler {
    #[must_use]
    pub fn new(
        settings: Arc<dyn SettingsStore>,
        library: Arc<dyn MediaLibrary>,
        queue: Arc<dyn Queue>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { settings, library, queue, clock }
    }

    /// Adds `days` × posts/day stories in the free slots ahead, at the workspace's posting hours
    /// and time zone: each posting window is topped up to posts/day (stories already sent or
    /// posted from it count), so running it again extends the schedule instead of crowding a
    /// day. Media is chosen by the category mix, held for what is queued and what was posted
    /// since the mix was set.
    ///
    /// # Errors
    /// [`ScheduleError::Days`] outside 1–30; [`ScheduleError::Store`] when the store fails.
    pub async fn schedule(
        &self,
        workspace: WorkspaceId,
        days: u32,
        jitter: &mut (dyn Jitter + Send),
    ) -> Result<ScheduleReport, ScheduleError> {
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(ScheduleError::Days);
        }
        let now = self.clock.now();
        let plan = self.plan(workspace).await?;
        let taken = self.taken(workspace, &plan, now, |_| true).await?;
        let wanted = usize::try_from(days).unwrap_or(0) * usize::from(plan.posts_per_day.get());
        let slots = next_slots(&plan, now, &taken, wanted, jitter);
        let per_category = u32::try_from(slots.len()).unwrap_or(u32::MAX);
        let candidates = self.queue.candidates(workspace, now, per_category).await?;
        let mix = self.library.mix_history(workspace).await?.into_iter().find(|v| v.valid_to.is_none());
        // The mix's period: since the current version was set (with no mix, what is queued).
        let so_far = self.queue.category_counts(workspace, mix.as_ref().map_or(now, |v| v.valid_from)).await?;
        let filled = assign(&slots, mix.as_ref().map(|v| &v.mix), &so_far, candidates, jitter);
        let queued = self.queue.enqueue(workspace, &filled).await?;
        Ok(ScheduleReport {
            queued,
            unfilled: (slots.len() as u64).saturating_sub(queued),
            first: filled.first().map(|(slot, _)| *slot),
            last: filled.last().map(|(slot, _)| *slot),
        })
    }

    /// The workspace's posts/day, posting hours and time zone.
    async fn plan(&self, workspace: WorkspaceId) -> Result<Plan, ScheduleError> {
        let settings = self.settings.settings(workspace).await?;
        Ok(Plan { window: settings.window, posts_per_day: settings.posts_per_day, time_zone: settings.time_zone })
    }

    /// The slots that stay where they are, from the [`horizon`] on: every queue item's (sent,
    /// posted and skipped ones included) that `stays`.
    async fn taken(
        &self,
        workspace: WorkspaceId,
        plan: &Plan,
        now: DateTime<Utc>,
        stays: impl Fn(&(DateTime<Utc>, QueueStatus)) -> bool,
    ) -> Result<Vec<DateTime<Utc>>, ScheduleError> {
        let slots = self.queue.slots(workspace, horizon(plan, now)).await?;
        Ok(slots.into_iter().filter(|slot| stays(slot)).map(|(slot, _)| slot).collect())
    }
}

/// Jitter from a small seeded generator (xorshift64*): slots need spread, not secrecy. Seed it
/// from the clock in production and with a constant in tests.
#[derive(Debug, Clone)]
pub struct SeededJitter(u64);

impl SeededJitter {
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
}

impl storyline_domain::schedule::Jitter for SeededJitter {
    fn offset(&mut self, max: chrono::Duration) -> chrono::Duration {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let random = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let span = u64::try_from(max.num_seconds()).unwrap_or(0);
        let offset = i64::try_from(random % (2 * span + 1)).unwrap_or(0) - i64::try_from(span).unwrap_or(0);
        chrono::Duration::seconds(offset)
    }
}

impl Scheduler {
    /// Re-spreads the upcoming stories over the current posting hours, posts/day and time zone,
    /// after one of those changed, so the change applies from the next tick. Returns how many
    /// moved.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn replan(&self, workspace: WorkspaceId, jitter: &mut (dyn Jitter + Send)) -> Result<u64, ScheduleError> {
        let now = self.clock.now();
        let counts = self.queue.counts(workspace, now).await?;
        let upcoming = counts.pending.saturating_sub(counts.due);
        if upcoming == 0 {
            return Ok(0);
        }
        let plan = self.plan(workspace).await?;
        // Every upcoming story gets a new slot; the others keep theirs and fill their windows.
        let upcoming_item =
            |(slot, status): &(DateTime<Utc>, QueueStatus)| *status == QueueStatus::Pending && *slot > now;
        let taken = self.taken(workspace, &plan, now, |slot| !upcoming_item(slot)).await?;
        let slots = next_slots(&plan, now, &taken, usize::try_from(upcoming).unwrap_or(usize::MAX), jitter);
        Ok(self.queue.reschedule(workspace, now, Pending::Upcoming, &slots).await?)
    }

    /// Moves the stories that fell due while paused to the free slots ahead (/resume →
    /// Reschedule). Returns how many moved.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn reschedule_overdue(
        &self,
        workspace: WorkspaceId,
        jitter: &mut (dyn Jitter + Send),
    ) -> Result<u64, ScheduleError> {
        let now = self.clock.now();
        let overdue = self.queue.counts(workspace, now).await?.due;
        if overdue == 0 {
            return Ok(0);
        }
        let plan = self.plan(workspace).await?;
        let overdue_item =
            |(slot, status): &(DateTime<Utc>, QueueStatus)| *status == QueueStatus::Pending && *slot <= now;
        let taken = self.taken(workspace, &plan, now, |slot| !overdue_item(slot)).await?;
        let slots = next_slots(&plan, now, &taken, usize::try_from(overdue).unwrap_or(usize::MAX), jitter);
        Ok(self.queue.reschedule(workspace, now, Pending::Overdue, &slots).await?)
    }
}

#[cfg(test)]
mod tests;
