//! The queue desk (FEATURES C7): the read side of the queue — what is queued, the counts, the
//! history, the locks — and clearing it. The bot's `/queue`, `/stats`, `/history`, `/locks`,
//! `/clear` and the CLI's `list-queue`, `clear-queue` ask it, never the stores.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::ports::{Clock, History, Locks, Queue, StoreError};
use storyline_domain::queue::{HistoryEntry, Lock, QueueCounts, QueueEntry};

/// Reads the queue, its history and its locks for one workspace at a time.
#[derive(Clone)]
pub struct QueueDesk {
    queue: Arc<dyn Queue>,
    history: Arc<dyn History>,
    locks: Arc<dyn Locks>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for QueueDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueDesk").finish_non_exhaustive()
    }
}

impl QueueDesk {
    #[must_use]
    pub fn new(queue: Arc<dyn Queue>, history: Arc<dyn History>, locks: Arc<dyn Locks>, clock: Arc<dyn Clock>) -> Self {
        Self { queue, history, locks, clock }
    }

    /// The queued stories by slot (pending, sending, waiting for a press), at most `limit`.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn entries(&self, workspace: WorkspaceId, limit: u32) -> Result<Vec<QueueEntry>, StoreError> {
        self.queue.entries(workspace, limit).await
    }

    /// The counts behind /stats and /status, as of now.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn counts(&self, workspace: WorkspaceId) -> Result<QueueCounts, StoreError> {
        self.queue.counts(workspace, self.clock.now()).await
    }

    /// The newest `limit` history rows, newest first.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn history(&self, workspace: WorkspaceId, limit: u32) -> Result<Vec<HistoryEntry>, StoreError> {
        self.history.history(workspace, limit).await
    }

    /// The locks in force now.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn locks(&self, workspace: WorkspaceId) -> Result<Vec<Lock>, StoreError> {
        self.locks.locks(workspace, self.clock.now()).await
    }

    /// Removes every pending story; returns how many.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn clear(&self, workspace: WorkspaceId) -> Result<u64, StoreError> {
        self.queue.clear(workspace, None).await
    }

    /// Removes the pending stories already due (those that fell due while paused).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn clear_overdue(&self, workspace: WorkspaceId) -> Result<u64, StoreError> {
        self.queue.clear(workspace, Some(self.clock.now())).await
    }

    /// Now, by the desk's clock.
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}
