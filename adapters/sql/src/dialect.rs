//! What the SQLite and PostgreSQL stores do differently. Everything else is in the port files.

use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::{Database, Pool, Transaction};
use storyline_domain::WorkspaceId;
use storyline_domain::library::MediaId;
use storyline_domain::ports::{AppliedChange, ApplySettingError, StoreError};
use storyline_domain::queue::Claimed;
use storyline_domain::settings::SettingChange;
use storyline_domain::user::{Actor, Member, User};
use uuid::Uuid;

use crate::{Pools, Store};

/// A database and how the store uses it: connecting, migrating, and how a change that reads
/// before it writes keeps concurrent changes of one workspace apart.
#[async_trait]
pub trait Dialect: Sized + Send + Sync + 'static {
    /// The sqlx database.
    type Db: Database;

    /// The store's name in `Debug` output.
    const STORE: &'static str;

    /// Appended to a `SELECT` inside [`Store::write`] that must keep the rows it read until
    /// commit (`FOR UPDATE`; nothing where the write transaction already excludes every other).
    const FOR_UPDATE: &'static str;

    /// The same for a parent row whose children change (`FOR NO KEY UPDATE`), so changes of one
    /// workspace take turns.
    const FOR_NO_KEY_UPDATE: &'static str;

    /// A statement that tells the other processes of a change once its transaction commits
    /// (one text parameter, [`storyline_domain::ports::Changed::payload`]); `None` where one
    /// process is all there is (SQLite).
    const NOTIFY: Option<&'static str> = None;

    /// Opens the pools for `url`.
    ///
    /// # Errors
    /// When the URL is malformed or the database cannot be reached.
    async fn connect(url: &str) -> anyhow::Result<Pools<Self>>;

    /// Applies every migration not yet applied.
    ///
    /// # Errors
    /// When a migration fails or the database is newer than this binary.
    async fn migrate(pool: &Pool<Self::Db>) -> anyhow::Result<()>;

    /// A transaction for a change that reads before it writes.
    ///
    /// # Errors
    /// When the database cannot be reached.
    async fn begin_write(pool: &Pool<Self::Db>) -> Result<Transaction<'static, Self::Db>, sqlx::Error>;

    /// How many rows a statement changed (sqlx has no trait for it).
    fn rows_affected(done: &<Self::Db as Database>::QueryResult) -> u64;

    /// Whether the database said, in its own words, that the connection is gone (a server
    /// shutting down, say); sqlx's own connection errors are recognised for every dialect.
    fn lost_connection(_error: &sqlx::Error) -> bool {
        false
    }

    /// Whatever the database wants done before its connections close ([`Store::close`]).
    async fn before_close(_pool: &Pool<Self::Db>) {}
}

/// A database that can write a consistent copy of itself to a file while in use.
#[async_trait]
pub trait BackupDialect: Dialect {
    /// Writes the copy to the new file `path`.
    ///
    /// # Errors
    /// When `path` exists already or cannot be written.
    async fn backup(pool: &Pool<Self::Db>, path: &Path) -> anyhow::Result<()>;
}

/// The settings statements that differ: see `SettingsStore::apply`.
#[async_trait]
pub trait SettingsDialect: Dialect {
    /// `SettingsStore::apply`.
    ///
    /// # Errors
    /// As `SettingsStore::apply`.
    async fn apply(
        store: &Store<Self>,
        workspace: WorkspaceId,
        change: SettingChange,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<AppliedChange, ApplySettingError>;
}

/// The people statements that differ: see `Users::record_contact`.
#[async_trait]
pub trait UsersDialect: Dialect {
    /// `Users::record_contact`.
    ///
    /// # Errors
    /// As `Users::record_contact`.
    async fn record_contact(
        store: &Store<Self>,
        workspace: WorkspaceId,
        user: &User,
        at: DateTime<Utc>,
    ) -> Result<Member, StoreError>;
}

/// The queue statements that differ: the candidate walk, batches, claims and moving slots.
#[async_trait]
pub trait QueueDialect: Dialect {
    /// The `Queue::candidates` query: per category of workspace `$1`, the first `$3` media
    /// free at `$2` (see [`crate::queue::AVAILABLE`]), never posted first, then least recently
    /// posted, then by path; columns `id, category, last_posted_at`.
    fn candidates() -> String;

    /// `Queue::enqueue`.
    ///
    /// # Errors
    /// As `Queue::enqueue`.
    async fn enqueue(
        store: &Store<Self>,
        workspace: WorkspaceId,
        plan: &[(DateTime<Utc>, MediaId)],
    ) -> Result<u64, StoreError>;

    /// `Queue::claim_due`.
    ///
    /// # Errors
    /// As `Queue::claim_due`.
    async fn claim_due(
        store: &Store<Self>,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError>;

    /// `Queue::claim_next`.
    ///
    /// # Errors
    /// As `Queue::claim_next`.
    async fn claim_next(
        store: &Store<Self>,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Claimed>, StoreError>;

    /// Moves the pending `items` to the `slots` (in order, as many as both have), inside the
    /// transaction of `Queue::reschedule`, which has locked them; how many moved.
    ///
    /// # Errors
    /// When the database fails.
    async fn move_slots(
        tx: &mut Transaction<'static, Self::Db>,
        items: Vec<Uuid>,
        slots: &[DateTime<Utc>],
    ) -> Result<u64, StoreError>;
}
