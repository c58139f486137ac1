//! Storyline's production store: every store port on PostgreSQL (sqlx).
//!
//! - [`PostgresStore`]: the shared [`storyline_sql::Store`] on the [`PostgresDialect`]; the
//!   ports are implemented there. This crate holds only what PostgreSQL does differently:
//!   connecting (with a relaxed pool), `settings` (a change in one optimistic statement),
//!   `users` (a contact in one statement) and `queue` (candidates walked per category,
//!   `SKIP LOCKED` claims, batches as arrays).
//! - [`PgChangeFeed`]: `LISTEN` for the changes other processes commit (roles, accounts).
//! - [`PgLeadership`]: singleton jobs by advisory locks, one process at a time.
//! - Tokens are sealed and opened only in the store, with the cipher given to
//!   [`storyline_sql::Store::with_cipher`]; the database only ever holds ciphertext.
//! - A read-modify-write change locks its row (`SELECT … FOR UPDATE`), so concurrent changes to
//!   one workspace serialise and none is lost; different workspaces never wait for each other.

mod changes;
mod connect;
mod leadership;
mod queue;
mod settings;
mod users;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgQueryResult};
use sqlx::{Pool, Postgres, Transaction};
use storyline_domain::ports::StoreError;
use storyline_sql::{Dialect, Pools, Store};

pub use crate::changes::PgChangeFeed;
pub use crate::connect::{ConnectError, FIRST_CONNECTION};
pub use crate::leadership::PgLeadership;

/// Every store port on one PostgreSQL database. Clones share the pools.
pub type PostgresStore = Store<PostgresDialect>;

/// How the shared store speaks PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub struct PostgresDialect;

#[async_trait]
impl Dialect for PostgresDialect {
    type Db = Postgres;

    const STORE: &'static str = "PostgresStore";
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const FOR_NO_KEY_UPDATE: &'static str = " FOR NO KEY UPDATE";
    const NOTIFY: Option<&'static str> = Some("SELECT pg_notify('storyline_changes', $1)");

    /// Connects to `url` (`postgres://user@host:port/database`). The relaxed pool commits
    /// without waiting for the disk (`synchronous_commit = off`): a crash may lose the last
    /// fraction of a second of bookkeeping, never a settings change, and every update stops
    /// paying for a disk flush it does not need.
    ///
    /// One connection is tried first, at once: a server that refuses it, does not answer within
    /// [`FIRST_CONNECTION`], refuses the login or lacks the database is one [`ConnectError`]
    /// saying so, instead of the pool's "pool timed out" after its acquire timeout.
    async fn connect(url: &str) -> anyhow::Result<Pools<Self>> {
        let options = PgConnectOptions::from_str(url).context("DATABASE_URL is not a valid PostgreSQL URL")?;
        connect::check(&options, FIRST_CONNECTION).await?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .test_before_acquire(false)
            .before_acquire(ping_if_idle)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await
            .context("could not connect to PostgreSQL")?;
        let relaxed = PgPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .test_before_acquire(false)
            .before_acquire(ping_if_idle)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options.options([("synchronous_commit", "off")]));
        Ok(Pools { pool, relaxed })
    }

    async fn migrate(pool: &Pool<Postgres>) -> anyhow::Result<()> {
        sqlx::migrate!("../../migrations/postgres").run(pool).await.context("could not migrate the PostgreSQL database")
    }

    /// A plain transaction: the statements that must keep what they read lock it (`FOR UPDATE`).
    async fn begin_write(pool: &Pool<Postgres>) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        pool.begin().await
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }

    /// Connection exceptions (SQLSTATE class 08), and a server shutting down or starting up (57P).
    fn lost_connection(error: &sqlx::Error) -> bool {
        matches!(error, sqlx::Error::Database(e) if e.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")))
    }
}

/// A database error as a store error, keeping its cause.
fn db(error: sqlx::Error) -> StoreError {
    storyline_sql::db::<PostgresDialect>(error)
}
/// The shared store is every store port on PostgreSQL.
const _: () = storyline_sql::is_every_port::<PostgresStore>();

/// A pooled connection idle for longer than this is pinged before it is handed out.
const IDLE_PING: Duration = Duration::from_secs(1);

/// Pings a connection only when it has sat idle for [`IDLE_PING`] or more: one that a restarted
/// or unreachable server dropped is found out (and replaced) before a query fails on it, while a
/// burst of updates pays no extra round trip per statement (sqlx's `test_before_acquire` pings
/// every time, which doubled the round trips of a settings toggle).
fn ping_if_idle(
    connection: &mut sqlx::PgConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> std::pin::Pin<Box<dyn Future<Output = Result<bool, sqlx::Error>> + Send + '_>> {
    Box::pin(async move {
        if meta.idle_for >= IDLE_PING {
            sqlx::Connection::ping(connection).await?;
        }
        Ok(true)
    })
}
