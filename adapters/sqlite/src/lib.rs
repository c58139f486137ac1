//! Storyline's embedded default store: every store port on one SQLite file (sqlx).
//!
//! - [`SqliteStore`]: the shared [`storyline_sql::Store`] on the [`SqliteDialect`]; the ports
//!   are implemented there. This crate holds only what SQLite does differently: connecting,
//!   `settings` (a change in one write transaction), `users` (a contact in one write
//!   transaction) and `queue` (ranked candidates, claims and batches row by row).
//! - Tokens are sealed and opened only in the store, with the cipher given to
//!   [`storyline_sql::Store::with_cipher`]; the database only ever holds ciphertext.
//! - Writes that read first run in `BEGIN IMMEDIATE` transactions, which take SQLite's single
//!   write lock up front, so concurrent read-modify-write changes serialise instead of failing;
//!   that is why no `SELECT` here needs `FOR UPDATE`.
//! - Timestamps are stored as RFC 3339 text in UTC, which sorts in time order.

mod queue;
mod settings;
mod users;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult, SqliteSynchronous};
use sqlx::{Pool, Sqlite, Transaction};
use storyline_domain::ports::StoreError;
use storyline_sql::{BackupDialect, Dialect, Pools, Store};

/// Every store port on one SQLite database. Clones share the pool.
pub type SqliteStore = Store<SqliteDialect>;

/// How the shared store speaks SQLite.
#[derive(Debug, Clone, Copy)]
pub struct SqliteDialect;

#[async_trait]
impl Dialect for SqliteDialect {
    type Db = Sqlite;

    const STORE: &'static str = "SqliteStore";
    const FOR_UPDATE: &'static str = "";
    const FOR_NO_KEY_UPDATE: &'static str = "";

    /// Opens (creating if missing) the database at `url` (`sqlite://file.db`, `sqlite::memory:`).
    /// SQLite has no relaxed commits of its own: the relaxed pool is the pool.
    async fn connect(url: &str) -> anyhow::Result<Pools<Self>> {
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
        Ok(Pools { relaxed: pool.clone(), pool })
    }

    async fn migrate(pool: &Pool<Sqlite>) -> anyhow::Result<()> {
        sqlx::migrate!("../../migrations/sqlite").run(pool).await.context("could not migrate the SQLite database")
    }

    /// A write transaction holding SQLite's write lock from its first statement.
    async fn begin_write(pool: &Pool<Sqlite>) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }

    /// Copies the write-ahead log into the database file, so that afterwards the file alone holds
    /// every write. (SQLite checkpoints as the last connection closes, but connections closing at
    /// the same moment each see the other open and none does it; so the checkpoint is asked for
    /// first.)
    async fn before_close(pool: &Pool<Sqlite>) {
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await {
            tracing::warn!(error = %error, "could not checkpoint the SQLite write-ahead log");
        }
    }
}

#[async_trait]
impl BackupDialect for SqliteDialect {
    /// `VACUUM INTO`: a consistent copy while others keep reading and writing.
    async fn backup(pool: &Pool<Sqlite>, path: &Path) -> anyhow::Result<()> {
        let target = path.to_str().context("the backup path is not valid UTF-8")?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(pool)
            .await
            .with_context(|| format!("could not write the backup {}", path.display()))?;
        Ok(())
    }
}

/// A database error as a store error, keeping its cause.
fn db(error: sqlx::Error) -> StoreError {
    storyline_sql::db::<SqliteDialect>(error)
}

/// The shared store is every store port on SQLite.
const _: () = storyline_sql::is_every_port::<SqliteStore>();
