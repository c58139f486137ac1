//! The store: its pools, its token cipher, and the error every statement maps to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use sqlx::{Pool, Transaction};
use storyline_domain::WorkspaceId;
use storyline_domain::ports::{StoreError, TokenCipher, VaultError};
use storyline_domain::settings::ChatSettings;

use crate::{BackupDialect, Dialect};

/// The pools a dialect opens: one for what must survive a crash, one for bookkeeping it may
/// commit without waiting for the disk (the same pool where the dialect has no such thing).
#[derive(Debug)]
pub struct Pools<D: Dialect> {
    /// For what must survive a crash.
    pub pool: Pool<D::Db>,
    /// For bookkeeping that may commit without waiting for the disk.
    pub relaxed: Pool<D::Db>,
}

/// Every store port on one database of the dialect `D`. Clones share the pools.
pub struct Store<D: Dialect> {
    pub(crate) pool: Pool<D::Db>,
    /// For the bookkeeping written on every update — the intake cursor, a person's last-seen
    /// time, the log of commands and presses: see [`Dialect::connect`].
    pub(crate) relaxed: Pool<D::Db>,
    /// Seals and opens tokens; without one, token operations fail with `VaultError::NoKey`.
    pub(crate) cipher: Option<Arc<dyn TokenCipher>>,
    /// Each workspace's settings as this store last wrote them: see [`KnownSettings`].
    known: Arc<Mutex<HashMap<WorkspaceId, KnownSettings>>>,
}

/// A workspace's settings as this store last wrote them, with their version and when it began.
/// A dialect may start a change from them instead of reading the row first; the write checks the
/// version, so a change made elsewhere since (another process, an import) is found and the
/// change starts again from the row. Never used to answer a read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownSettings {
    pub settings: ChatSettings,
    pub version: i64,
    pub current_from: DateTime<Utc>,
}

/// At most this many workspaces' settings are remembered; past it the memory starts over.
const KNOWN_SETTINGS: usize = 4_096;

impl<D: Dialect> Clone for Store<D> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            relaxed: self.relaxed.clone(),
            cipher: self.cipher.clone(),
            known: self.known.clone(),
        }
    }
}

impl<D: Dialect> std::fmt::Debug for Store<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(D::STORE)
            .field("pool", &self.pool)
            .field("relaxed", &self.relaxed)
            .field("cipher", &self.cipher.is_some())
            .finish()
    }
}

impl<D: Dialect> Store<D> {
    /// Connects to `url` as the dialect reads it.
    ///
    /// # Errors
    /// When the URL is malformed or the database cannot be reached.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let Pools { pool, relaxed } = D::connect(url).await?;
        Ok(Self { pool, relaxed, cipher: None, known: Arc::default() })
    }

    /// The same store, sealing and opening tokens with `cipher`.
    #[must_use]
    pub fn with_cipher(self, cipher: Arc<dyn TokenCipher>) -> Self {
        Self { cipher: Some(cipher), ..self }
    }

    /// The settings this store last wrote for `workspace`, if it remembers them.
    #[must_use]
    pub fn known_settings(&self, workspace: WorkspaceId) -> Option<KnownSettings> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner).get(&workspace).cloned()
    }

    /// Remembers the settings just written for `workspace` (`None`: forgets them).
    pub fn remember_settings(&self, workspace: WorkspaceId, known: Option<KnownSettings>) {
        let mut remembered = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        match known {
            Some(known) => {
                if remembered.len() >= KNOWN_SETTINGS && !remembered.contains_key(&workspace) {
                    remembered.clear();
                }
                remembered.insert(workspace, known);
            }
            None => {
                remembered.remove(&workspace);
            }
        }
    }

    /// Applies every migration not yet applied.
    ///
    /// # Errors
    /// When a migration fails or the database is newer than this binary.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        D::migrate(&self.pool).await
    }

    /// Closes every connection (after what the dialect wants done first); later calls fail.
    pub async fn close(&self) {
        D::before_close(&self.pool).await;
        self.pool.close().await;
        self.relaxed.close().await;
    }

    /// The pool for what must survive a crash.
    #[must_use]
    pub fn pool(&self) -> &Pool<D::Db> {
        &self.pool
    }

    /// The pool for bookkeeping that may commit without waiting for the disk.
    #[must_use]
    pub fn relaxed(&self) -> &Pool<D::Db> {
        &self.relaxed
    }

    /// A transaction for a change that reads before it writes (see [`Dialect::begin_write`]).
    ///
    /// # Errors
    /// When the database cannot be reached.
    pub async fn write(&self) -> Result<Transaction<'static, D::Db>, StoreError> {
        D::begin_write(&self.pool).await.map_err(db::<D>)
    }

    pub(crate) fn cipher(&self) -> Result<&dyn TokenCipher, VaultError> {
        self.cipher.as_deref().ok_or(VaultError::NoKey)
    }
}

/// A database error as a store error, keeping its cause and naming the database.
pub fn db<D: Dialect>(error: sqlx::Error) -> StoreError {
    let name = <D::Db as sqlx::Database>::NAME;
    // No connection to be had (or the wire broke mid-talk): callers may stop asking until it
    // is back.
    let unreachable = matches!(
        error,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed
    );
    if unreachable || D::lost_connection(&error) {
        return StoreError::unreachable(name, error);
    }
    StoreError::unknown(anyhow::Error::new(error).context(name))
}

impl<D: BackupDialect> Store<D> {
    /// Writes a consistent copy of the whole database to a new file at `path`, while others keep
    /// reading and writing.
    ///
    /// # Errors
    /// When `path` exists already or cannot be written.
    pub async fn backup(&self, path: &std::path::Path) -> anyhow::Result<()> {
        D::backup(&self.pool, path).await
    }
}
