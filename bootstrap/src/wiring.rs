//! Opens the store that `DATABASE_URL` names, migrates it, and builds the use cases on it.

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use storyline_application::SettingsService;
use storyline_application::bot::{Bot, BotConfig, BotPorts};
use storyline_domain::ports::{
    Audit, ChatAdmins, ChatNotifier, Clock, Conversations, SettingsStore, UpdateCursor, Users,
};
use storyline_postgres::PostgresStore;
use storyline_sqlite::SqliteStore;

use crate::config::Config;

/// The real clock, to the microsecond (what both databases keep).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// Every store port, on one backend.
#[derive(Clone)]
pub struct Stores {
    pub settings: Arc<dyn SettingsStore>,
    pub audit: Arc<dyn Audit>,
    pub users: Arc<dyn Users>,
    pub conversations: Arc<dyn Conversations>,
    pub cursor: Arc<dyn UpdateCursor>,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").field("backend", &self.backend).finish_non_exhaustive()
    }
}

impl Stores {
    fn of<S>(store: S, backend: &'static str) -> Self
    where
        S: SettingsStore + Audit + Users + Conversations + UpdateCursor + Clone + 'static,
    {
        Self {
            settings: Arc::new(store.clone()),
            audit: Arc::new(store.clone()),
            users: Arc::new(store.clone()),
            conversations: Arc::new(store.clone()),
            cursor: Arc::new(store),
            backend,
        }
    }
}

/// Opens the database and applies any pending migration (FEATURES O2: migrations run on start).
///
/// # Errors
/// When the database cannot be reached or migrated.
pub async fn open_stores(database_url: &str) -> anyhow::Result<Stores> {
    if database_url.starts_with("sqlite:") {
        let store = SqliteStore::connect(database_url).await?;
        store.migrate().await?;
        Ok(Stores::of(store, "sqlite"))
    } else {
        let store = PostgresStore::connect(database_url).await?;
        store.migrate().await?;
        Ok(Stores::of(store, "postgres"))
    }
}

/// The use cases, wired.
#[derive(Clone)]
pub struct App {
    pub stores: Stores,
    pub settings: SettingsService,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("stores", &self.stores).finish_non_exhaustive()
    }
}

impl App {
    /// Opens the store and wires every use case to it.
    ///
    /// # Errors
    /// When the database cannot be reached or migrated.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let stores = open_stores(&config.database_url).await?;
        Ok(Self::wire(stores, Arc::new(SystemClock), config))
    }

    /// The transport-free bot, talking through `notifier` and asking `admins` who administers
    /// the chat.
    #[must_use]
    pub fn bot(&self, notifier: Arc<dyn ChatNotifier>, admins: Arc<dyn ChatAdmins>, config: BotConfig) -> Bot {
        let ports = BotPorts {
            users: self.stores.users.clone(),
            audit: self.stores.audit.clone(),
            conversations: self.stores.conversations.clone(),
            notifier,
            admins,
            clock: self.clock.clone(),
        };
        Bot::new(self.settings.clone(), ports, config)
    }

    /// Wires the use cases to given stores and clock (tests pass their own).
    #[must_use]
    pub fn wire(stores: Stores, clock: Arc<dyn Clock>, config: &Config) -> Self {
        let settings =
            SettingsService::new(stores.settings.clone(), stores.audit.clone(), clock.clone(), config.defaults);
        Self { stores, settings, clock }
    }
}
