//! The three store backends behind one test-facing shape.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgPool, SqlitePool};
use storyline_crypto::Keyring;
use storyline_domain::ports::TokenCipher;
use storyline_memory::MemoryStore;
use storyline_postgres::PostgresStore;
use storyline_sqlite::SqliteStore;

pub use storyline::wiring::Stores;

enum Kind {
    Memory(MemoryStore),
    Sqlite { url: String, _dir: tempfile::TempDir },
    Postgres(Box<TestDatabase>),
}

/// A fresh, empty, migrated store of one kind, and a way to open it again as a restarted
/// process would. Its tokens are sealed with a key of its own ([`Backend::encryption_key`]).
pub struct Backend {
    kind: Kind,
    stores: Stores,
    /// The `ENCRYPTION_KEY` the stores seal tokens with.
    key: String,
    cipher: Arc<dyn TokenCipher>,
}

/// Direct SQL access to a backend's database, for tests that look at what is stored (or tamper
/// with it) below the ports. One SQL text serves both: `$1`-style parameters work on SQLite too.
#[derive(Debug, Clone)]
pub enum Raw {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A fresh random key ring of one key, and its `ENCRYPTION_KEY` text.
fn new_keyring() -> anyhow::Result<(String, Arc<dyn TokenCipher>)> {
    let key = Keyring::generate();
    let keyring = Keyring::parse(&key).context("a generated key parses")?;
    Ok((key, Arc::new(keyring)))
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Memory(_) => "memory",
            Kind::Sqlite { .. } => "sqlite",
            Kind::Postgres(_) => "postgres",
        };
        f.debug_struct("Backend").field("kind", &kind).finish_non_exhaustive()
    }
}

impl Backend {
    /// The in-memory store. Always available.
    ///
    /// # Errors
    /// Never; the signature matches the other backends.
    pub async fn memory() -> anyhow::Result<Option<Self>> {
        let (key, cipher) = new_keyring()?;
        let store = MemoryStore::new();
        let stores = Stores::of(store.clone().with_cipher(cipher.clone()), "memory");
        Ok(Some(Self { stores, kind: Kind::Memory(store), key, cipher }))
    }

    /// A new SQLite file in a temporary folder.
    ///
    /// # Errors
    /// When the file cannot be created or migrated.
    pub async fn sqlite() -> anyhow::Result<Option<Self>> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("storyline.db").display());
        let store = SqliteStore::connect(&url).await?;
        store.migrate().await?;
        let (key, cipher) = new_keyring()?;
        let stores = Stores::of(store.with_cipher(cipher.clone()), "sqlite");
        Ok(Some(Self { stores, kind: Kind::Sqlite { url, _dir: dir }, key, cipher }))
    }

    /// A new PostgreSQL database of its own: on the server given by URL, else in a testcontainers
    /// container when Docker answers, else `None` (skipped) outside CI.
    ///
    /// # Errors
    /// When the server is configured but cannot be used, or is missing under `CI=true`.
    pub async fn postgres() -> anyhow::Result<Option<Self>> {
        let Some(server) = postgres_url().or_else(crate::container::postgres_url) else {
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                anyhow::bail!(
                    "CI=true but neither TEST_DATABASE_URL nor a postgres DATABASE_URL is set, and no PostgreSQL container could be started"
                );
            }
            // Straight to stderr, past the test harness's capture, so the skip is seen.
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: the PostgreSQL tests (no TEST_DATABASE_URL, no postgres DATABASE_URL, no Docker)"
                );
            });
            return Ok(None);
        };
        Self::postgres_on(&server).await.map(Some)
    }

    /// A new database of its own on the PostgreSQL server at `server`.
    ///
    /// # Errors
    /// When the server cannot be used.
    pub async fn postgres_on(server: &str) -> anyhow::Result<Self> {
        let database = TestDatabase::create(server).await?;
        let store = PostgresStore::connect(&database.url).await?;
        store.migrate().await?;
        let (key, cipher) = new_keyring()?;
        let stores = Stores::of(store.with_cipher(cipher.clone()), "postgres");
        Ok(Self { stores, kind: Kind::Postgres(Box::new(database)), key, cipher })
    }

    #[must_use]
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// The same data through a new connection pool, as after a restart. (The in-memory store
    /// has no restart; it hands back the same state.)
    ///
    /// # Errors
    /// When the database cannot be opened again.
    pub async fn reopen(&self) -> anyhow::Result<Stores> {
        self.stores_with_cipher(self.cipher.clone()).await
    }

    /// The same data through new stores that seal and open tokens with `cipher` (another key
    /// ring: rotation, a wrong key). The in-memory store hands back the same state.
    ///
    /// # Errors
    /// When the database cannot be opened again.
    pub async fn stores_with_cipher(&self, cipher: Arc<dyn TokenCipher>) -> anyhow::Result<Stores> {
        Ok(match &self.kind {
            Kind::Memory(store) => Stores::of(store.clone().with_cipher(cipher), "memory"),
            Kind::Sqlite { url, .. } => Stores::of(SqliteStore::connect(url).await?.with_cipher(cipher), "sqlite"),
            Kind::Postgres(database) => {
                Stores::of(PostgresStore::connect(&database.url).await?.with_cipher(cipher), "postgres")
            }
        })
    }

    /// The same data through stores without any key, as a process started without
    /// `ENCRYPTION_KEY`.
    ///
    /// # Errors
    /// When the database cannot be opened again.
    pub async fn stores_without_cipher(&self) -> anyhow::Result<Stores> {
        Ok(match &self.kind {
            Kind::Memory(store) => Stores::of(store.clone(), "memory"),
            Kind::Sqlite { url, .. } => Stores::of(SqliteStore::connect(url).await?, "sqlite"),
            Kind::Postgres(database) => Stores::of(PostgresStore::connect(&database.url).await?, "postgres"),
        })
    }

    /// The `ENCRYPTION_KEY` (base64) this backend's stores seal tokens with, for wiring the
    /// real application to the same data.
    #[must_use]
    pub fn encryption_key(&self) -> &str {
        &self.key
    }

    /// Direct SQL on the database (`None` in memory).
    ///
    /// # Errors
    /// When the database cannot be opened.
    pub async fn raw(&self) -> anyhow::Result<Option<Raw>> {
        Ok(match &self.kind {
            Kind::Memory(_) => None,
            Kind::Sqlite { url, .. } => Some(Raw::Sqlite(SqlitePool::connect(url).await?)),
            Kind::Postgres(database) => Some(Raw::Postgres(PgPool::connect(&database.url).await?)),
        })
    }

    /// The database URL, for wiring the real application to this backend (`None` in memory).
    #[must_use]
    pub fn database_url(&self) -> Option<&str> {
        match &self.kind {
            Kind::Memory(_) => None,
            Kind::Sqlite { url, .. } => Some(url),
            Kind::Postgres(database) => Some(&database.url),
        }
    }

    /// Whether this backend keeps data across a restart.
    #[must_use]
    pub fn persists(&self) -> bool {
        !matches!(self.kind, Kind::Memory(_))
    }
}

/// The PostgreSQL server the tests may use: `TEST_DATABASE_URL`, else a `postgres://`
/// `DATABASE_URL`.
#[must_use]
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .or_else(|| std::env::var("DATABASE_URL").ok().filter(|url| url.starts_with("postgres")))
}

/// A database made for one test and dropped when the test ends, pass or fail.
struct TestDatabase {
    admin: PgConnectOptions,
    name: String,
    url: String,
}

impl TestDatabase {
    async fn create(server: &str) -> anyhow::Result<Self> {
        let admin: PgConnectOptions = server.parse().context("TEST_DATABASE_URL is not a PostgreSQL URL")?;
        let name = format!("storyline_test_{}", uuid::Uuid::new_v4().simple());
        let mut connection = admin.connect().await.context("could not reach the test PostgreSQL")?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut connection).await?;
        connection.close().await?;
        let url = admin.clone().database(&name).to_url_lossy().to_string();
        Ok(Self { admin, name, url })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs inside the test's runtime; the clean-up needs one of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut connection = admin.connect().await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut connection).await?;
                connection.close().await?;
                anyhow::Ok(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}
