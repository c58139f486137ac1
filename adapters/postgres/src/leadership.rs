//! Singleton jobs on PostgreSQL: each job is a session advisory lock
//! (`pg_try_advisory_lock`), held on one connection of this process kept out of the pool. The
//! locks go with that connection: a stopped process closes it, and when a process dies the
//! server ends its session and another process takes the jobs at its next try.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::{Connection, PgConnection, Pool, Postgres};
use storyline_domain::ports::{Leadership, StoreError};
use tokio::sync::Mutex;

/// The first key of every Storyline advisory lock (the second is the job's name, hashed), so
/// they never meet another application's locks in the same database.
const NAMESPACE: i32 = 0x5354_4f52; // "STOR"
/// How long a check of the lock connection may take before it counts as lost.
const CHECK_WITHIN: Duration = Duration::from_secs(5);

/// The lock connection and the jobs it holds.
#[derive(Default)]
struct Held {
    connection: Option<PgConnection>,
    jobs: HashSet<String>,
}

/// [`Leadership`] by advisory locks.
pub struct PgLeadership {
    pool: Pool<Postgres>,
    held: Mutex<Held>,
}

impl std::fmt::Debug for PgLeadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLeadership").finish_non_exhaustive()
    }
}

impl PgLeadership {
    /// Leadership through `pool`'s database; the lock connection is opened on the first try.
    #[must_use]
    pub fn new(pool: Pool<Postgres>) -> Self {
        Self { pool, held: Mutex::new(Held::default()) }
    }
}

fn failed(error: impl Into<anyhow::Error>) -> StoreError {
    StoreError::unknown(error.into().context("singleton lock"))
}

#[async_trait]
impl Leadership for PgLeadership {
    async fn try_lead(&self, job: &str) -> Result<bool, StoreError> {
        let mut held = self.held.lock().await;
        // The locks live as long as the connection: make sure it still does.
        if let Some(connection) = held.connection.as_mut() {
            let alive = tokio::time::timeout(CHECK_WITHIN, connection.ping()).await.is_ok_and(|ping| ping.is_ok());
            if !alive {
                if !held.jobs.is_empty() {
                    tracing::warn!(jobs = ?held.jobs, "lost the connection that held the singleton jobs");
                }
                held.connection = None;
                held.jobs.clear();
            }
        }
        if held.jobs.contains(job) {
            return Ok(true);
        }
        if held.connection.is_none() {
            let connection = tokio::time::timeout(CHECK_WITHIN, self.pool.acquire())
                .await
                .map_err(failed)?
                .map_err(failed)?
                .detach();
            held.connection = Some(connection);
        }
        let Some(connection) = held.connection.as_mut() else { return Ok(false) };
        let took = tokio::time::timeout(
            CHECK_WITHIN,
            sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1, hashtext($2))")
                .bind(NAMESPACE)
                .bind(job)
                .fetch_one(connection),
        )
        .await;
        match took {
            Ok(Ok(took)) => {
                if took {
                    held.jobs.insert(job.to_owned());
                }
                Ok(took)
            }
            Ok(Err(error)) => {
                held.connection = None;
                held.jobs.clear();
                Err(failed(error))
            }
            Err(elapsed) => {
                held.connection = None;
                held.jobs.clear();
                Err(failed(elapsed))
            }
        }
    }

    async fn resign(&self) {
        let mut held = self.held.lock().await;
        held.jobs.clear();
        if let Some(connection) = held.connection.take() {
            // Closing the session releases every lock it held.
            if let Err(error) = connection.close().await {
                tracing::debug!(%error, "closing the singleton lock connection failed; the server ends it");
            }
        }
    }
}
