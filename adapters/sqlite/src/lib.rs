//! Storyline's embedded default store: every store port on one SQLite file (sqlx).
//!
//! - [`SqliteStore`]: connecting, migrating, and the port implementations in [`settings`],
//!   [`audit`], [`users`], [`conversations`], [`library`] (media and the category mix),
//!   [`queue`] (the queue, the posting history and the locks) and [`accounts`] (Instagram
//!   accounts and the token vault).
//! - Tokens are sealed and opened only here, with the cipher given to
//!   [`SqliteStore::with_cipher`]; the database only ever holds ciphertext.
//! - Writes that read first run in `BEGIN IMMEDIATE` transactions, which take SQLite's single
//!   write lock up front, so concurrent read-modify-write changes serialise instead of failing.
//! - Timestamps are stored as RFC 3339 text in UTC, which sorts in time order.

mod accounts;
mod audit;
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
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use storyline_domain::ports::{StoreError, TokenCipher};

/// Every store port on one SQLite database. Clones share the pool.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Seals and opens tokens; without one, token operations fail with `VaultError::NoKey`.
    cipher: Option<Arc<dyn TokenCipher>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("pool", &self.pool).field("cipher", &self.cipher.is_some()).finish()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://file.db`, `sqlite::memory:`).
    ///
    /// # Errors
    /// When the URL is malformed or the file cannot be opened.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("DATABASE_URL is not a valid SQLite URL: {url}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        // Each connection to an in-memory database is a database of its own: keep just one.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(if in_memory { 1 } else { 8 })
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .with_context(|| format!("could not open the SQLite database {url}"))?;
        Ok(Self { pool, cipher: None })
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
        sqlx::migrate!("../../migrations/sqlite").run(&self.pool).await.context("could not migrate the SQLite database")
    }

    /// Copies the write-ahead log into the database file, then closes every connection; later
    /// calls fail. Afterwards the file alone holds every write. (SQLite checkpoints as the last
    /// connection closes, but connections closing at the same moment each see the other open and
    /// none does it; so the checkpoint is asked for first.)
    pub async fn close(&self) {
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await {
            tracing::warn!(error = %error, "could not checkpoint the SQLite write-ahead log");
        }
        self.pool.close().await;
    }

    /// Writes a consistent copy of the whole database to a new file at `path` (`VACUUM INTO`),
    /// while others keep reading and writing.
    ///
    /// # Errors
    /// When `path` exists already or cannot be written.
    pub async fn backup(&self, path: &std::path::Path) -> anyhow::Result<()> {
        let target = path.to_str().context("the backup path is not valid UTF-8")?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.pool)
            .await
            .with_context(|| format!("could not write the backup {}", path.display()))?;
        Ok(())
    }

    /// A write transaction holding SQLite's write lock from its first statement.
    async fn write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)
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
    ) {
        return StoreError::unreachable("SQLite", error);
    }
    StoreError::unknown(anyhow::Error::new(error).context("SQLite"))
}
