//! The change feed on PostgreSQL: `LISTEN storyline_changes`, the channel the stores `NOTIFY`
//! in the transaction of a change (a role, an account), so every replica hears of it once it
//! commits.

use async_trait::async_trait;
use sqlx::postgres::PgListener;
use sqlx::{Pool, Postgres};
use storyline_domain::ports::{ChangeFeed, Changed, StoreError};

/// The channel of [`storyline_sql::Dialect::NOTIFY`].
const CHANNEL: &str = "storyline_changes";

/// [`ChangeFeed`] by `LISTEN`, on a connection of its own.
pub struct PgChangeFeed {
    pool: Pool<Postgres>,
}

impl std::fmt::Debug for PgChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgChangeFeed").finish_non_exhaustive()
    }
}

impl PgChangeFeed {
    /// Listens through `pool`'s database (a connection of its own, opened by `follow`).
    #[must_use]
    pub const fn new(pool: Pool<Postgres>) -> Self {
        Self { pool }
    }
}

fn failed(error: sqlx::Error) -> StoreError {
    StoreError::unknown(anyhow::Error::new(error).context("following the change feed"))
}

#[async_trait]
impl ChangeFeed for PgChangeFeed {
    async fn follow(&self, heard: Box<dyn Fn(Changed) + Send + Sync>) -> Result<(), StoreError> {
        // A pool of one of its own: the listener keeps its connection for good, and must not
        // take one of the connections the bot works with.
        let own = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with((*self.pool.connect_options()).clone());
        let mut listener = PgListener::connect_with(&own).await.map_err(failed)?;
        listener.listen(CHANNEL).await.map_err(failed)?;
        // Whatever changed before this listened is unknown: start from nothing remembered.
        heard(Changed::Everything);
        loop {
            match listener.try_recv().await.map_err(failed)? {
                Some(notification) => heard(Changed::parse(notification.payload())),
                // The connection was lost and is made again: what was sent meanwhile is lost.
                None => heard(Changed::Everything),
            }
        }
    }
}
