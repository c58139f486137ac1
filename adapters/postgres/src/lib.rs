//! Storyline's production store: every store port on PostgreSQL (sqlx).
//!
//! - [`PostgresStore`]: connecting, migrating, and the port implementations in [`settings`],
//!   [`audit`], [`users`] and [`conversations`].
//! - A read-modify-write change locks its row (`SELECT … FOR UPDATE`), so concurrent changes to
//!   one workspace serialise and none is lost; different workspaces never wait for each other.

mod audit;
mod conversations;
mod cursor;
mod rows;
mod settings;
mod users;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use storyline_domain::ports::StoreError;

/// Every store port on one PostgreSQL database. Clones share the pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/database`).
    ///
    /// # Errors
    /// When the URL is malformed or the server cannot be reached.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url).context("DATABASE_URL is not a valid PostgreSQL URL")?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .context("could not connect to PostgreSQL")?;
        Ok(Self { pool })
    }

    /// Applies every migration not yet applied.
    ///
    /// # Errors
    /// When a migration fails or the database is newer than this binary.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::migrate!("../../migrations/postgres")
            .run(&self.pool)
            .await
            .context("could not migrate the PostgreSQL database")
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A database error as a store error, keeping its cause.
fn db(error: sqlx::Error) -> StoreError {
    StoreError::unknown(anyhow::Error::new(error).context("PostgreSQL"))
}
