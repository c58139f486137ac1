//! Where the intake stands: which updates were seen, which still wait for their chat, and the
//! offset that tells Telegram to forget only what was taken.

use std::collections::BTreeSet;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use storyline_application::errors::error_chain;
use storyline_domain::ports::UpdateCursor;
use teloxide::types::Update;
use tokio::sync::{Notify, watch};

/// Updates handed to a chat's queue and not yet taken from it. Telegram keeps them until they
/// are taken, so a killed bot loses none of them.
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    ids: Mutex<BTreeSet<i64>>,
    /// Woken when an update leaves the set.
    pub(crate) taken: Notify,
}

impl Waiting {
    pub(crate) fn add(&self, id: i64) {
        self.ids.lock().unwrap_or_else(PoisonError::into_inner).insert(id);
    }

    pub(crate) fn remove(&self, id: i64) {
        self.ids.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
        self.taken.notify_waiters();
    }

    fn lowest(&self) -> Option<i64> {
        self.ids.lock().unwrap_or_else(PoisonError::into_inner).first().copied()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lowest().is_none()
    }

    /// Waits until every waiting update was taken, `at_most` long, or until `shutdown`.
    pub(crate) async fn until_taken(&self, at_most: Duration, shutdown: &mut watch::Receiver<bool>) {
        let deadline = tokio::time::Instant::now() + at_most;
        loop {
            let taken = self.taken.notified();
            let mut taken = pin!(taken);
            // Registered before looking, so a take in between is not missed.
            taken.as_mut().enable();
            if self.is_empty() || *shutdown.borrow() {
                return;
            }
            tokio::select! {
                () = taken => {}
                () = tokio::time::sleep_until(deadline) => return,
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// The intake: in memory while running, the cursor in the store for the next start.
pub(crate) struct Intake {
    cursor: Arc<dyn UpdateCursor>,
    pub(crate) waiting: Arc<Waiting>,
    /// The newest update seen.
    seen: Option<i64>,
    /// What the store holds, once read.
    stored: Option<Option<i64>>,
    saved_at: Option<Instant>,
}

/// How often the cursor is written while updates flow. It only spares a restart from asking for
/// updates it took already (their claims keep them from being handled twice).
const SAVE_EVERY: Duration = Duration::from_secs(1);

impl Intake {
    pub(crate) fn new(cursor: Arc<dyn UpdateCursor>) -> Self {
        Self { cursor, waiting: Arc::default(), seen: None, stored: None, saved_at: None }
    }

    /// The offset for the next getUpdates: the oldest update still waiting for its chat (so
    /// Telegram keeps it), else the one after the newest seen. The store is read once, unless
    /// `read_store` is false (the database is known to be down: it is read later).
    pub(crate) async fn offset(&mut self, read_store: bool) -> i64 {
        if self.stored.is_none() && read_store {
            match self.cursor.last_update().await {
                Ok(stored) => {
                    self.seen = self.seen.max(stored);
                    self.stored = Some(stored);
                }
                Err(error) => {
                    tracing::warn!(error = %error_chain(&error), "could not read the update cursor; polling on");
                }
            }
        }
        let next = self.seen.map_or(0, |id| id + 1);
        self.waiting.lowest().unwrap_or(next)
    }

    /// The updates of `batch` not seen before, in order; they count as seen from now on.
    pub(crate) fn fresh(&mut self, batch: Vec<Update>) -> Vec<Update> {
        let seen = self.seen;
        let fresh: Vec<Update> =
            batch.into_iter().filter(|u| seen.is_none_or(|seen| i64::from(u.id.0) > seen)).collect();
        if let Some(newest) = fresh.last() {
            self.seen = Some(i64::from(newest.id.0));
        }
        fresh
    }

    /// Records in the store where a restart should ask from: below the offset, every update
    /// was taken. At most once a [`SAVE_EVERY`] unless `now`, and only when it moved.
    pub(crate) async fn save(&mut self, now: bool) {
        if !now && self.saved_at.is_some_and(|at| at.elapsed() < SAVE_EVERY) {
            return;
        }
        let offset = self.offset(true).await;
        let taken = (offset > 0).then_some(offset - 1);
        let Some(taken) = taken else { return };
        if self.stored.is_some_and(|stored| stored >= Some(taken)) {
            return;
        }
        match self.cursor.advance(taken).await {
            Ok(()) => {
                self.stored = Some(Some(taken));
                self.saved_at = Some(Instant::now());
            }
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), update_id = taken, "could not record the update cursor");
            }
        }
    }
}
