use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// One running process of the bot (`storyline run`), as its last heartbeat told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    /// Made at start: the host, the process id and a random part.
    pub id: String,
    pub host: String,
    pub pid: u32,
    /// How it takes updates: `polling` or `webhook`.
    pub mode: String,
    pub started_at: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
    /// The singleton jobs it led at its last heartbeat (see [`Leadership`]).
    pub leads: Vec<String>,
}

/// The processes of one deployment, from their heartbeats. It belongs to the deployment, not to
/// a workspace.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Replicas: Send + Sync {
    /// Records `replica` as alive at its `seen_at` (added the first time, updated after).
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn beat(&self, replica: &Replica) -> Result<(), StoreError>;

    /// The replicas seen at or after `since`, the longest running first.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn live(&self, since: DateTime<Utc>) -> Result<Vec<Replica>, StoreError>;

    /// Removes replica `id` (it stopped) and every replica not seen since `before` (it died);
    /// returns how many went.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn leave(&self, id: &str, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Singleton jobs (token refresh, media sync): at most one process at a time leads each, and
/// another takes over when it stops or dies.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Leadership: Send + Sync {
    /// Tries to lead `job`: `true` when this process leads it now (it did already and still
    /// does, or it took it now), `false` when another process does.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails; this process then leads nothing.
    async fn try_lead(&self, job: &str) -> Result<bool, StoreError>;

    /// Gives up every job this process leads (a graceful stop), so another takes them at once.
    async fn resign(&self);
}
