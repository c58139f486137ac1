//! Storyline's production store: every store port on PostgreSQL (sqlx).
//!
//! - [`PostgresStore`]: connecting, migrating, and the port implementations in [`settings`],
//!   [`audit`], [`users`], [`conversations`], [`library`] (media and the category mix),
//!   [`queue`] (the queue, the posting history and the locks) and [`accounts`] (Instagram
//!   accounts and the token vault).
//! - Tokens are sealed and opened only here, with the cipher given to
//!   [`PostgresStore::with_cipher`]; the database only ever holds ciphertext.
//! - A read-modify-write change locks its row (`SELECT … FOR UPDATE`), so concurrent changes to
//!   one workspace serialise and none is lost; different workspaces never wait for each other.

mod accounts;
mod audit;
mod connect;
mod conversations;
mod cursor;
mod library;
mod queue;
mod rows;
mod settings;
mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use storyline_domain::ports::{StoreError, TokenCipher};

pub use crate::connect::{ConnectError, FIRST_CONNECTION};

/// Every store port on one PostgreSQL database. Clones share the pools.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// For the bookkeeping written on every update — the intake cursor, a person's last-seen
    /// time, the log of commands and presses — commits without waiting for the disk
    /// (`synchronous_commit = off`): a crash may lose the last fraction of a second of it, never
    /// a settings change, and every update stops paying for a disk flush it does not need.
    relaxed: PgPool,
    /// Seals and opens tokens; without one, token operations fail with `VaultError::NoKey`.
    cipher: Option<Arc<dyn TokenCipher>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("pool", &self.pool)
            .field("relaxed", &self.relaxed)
            .field("cipher", &self.cipher.is_some())
            .finish()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/database`).
    ///
    /// One connection is tried first, at once: a server that refuses it, does not answer within
    /// [`FIRST_CONNECTION`], refuses the login or lacks the database is one [`ConnectError`]
    /// saying so, instead of the pool's "pool timed out" after its acquire timeout.
    ///
    /// # Errors
    /// When the URL is malformed or the server cannot be used ([`ConnectError`]).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url).context("DATABASE_URL is not a valid PostgreSQL URL")?;
        connect::check(&options, FIRST_CONNECTION).await?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await
            .context("could not connect to PostgreSQL")?;
        let relaxed = PgPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options.options([("synchronous_commit", "off")]));
        Ok(Self { pool, relaxed, cipher: None })
    }

    /// The same store, sealing and opening tokens with `cipher`.
    #[must_use]
    pub fn with_cipher(self, cipher: Arc<dyn TokenCipher>) -> Self {
        Self { cipher: Some(cipher), ..self }
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
        self.relaxed.close().await;
    }
}

/// A database error as a store error, keeping its cause.
fn db(error: sqlx::Error) -> StoreError {
    // No connection to be had (or the wire broke mid-talk): callers may stop asking until it
    // is back.
    if matches!(
        error,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed
    )
        // Connection exceptions, and a server shutting down or starting up.
        || matches!(&error, sqlx::Error::Database(e) if e.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")))
    {
        return StoreError::unreachable("PostgreSQL", error);
    }
    StoreError::unknown(anyhow::Error::new(error).context("PostgreSQL"))
}
