//! Opens the store that `DATABASE_URL` names, migrates it, and builds the use cases on it.

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use storyline_application::SettingsService;
use storyline_application::bot::{Bot, BotConfig, BotPorts};
use storyline_application::library::LibraryService;
use storyline_application::posting::{Stories, StoryPorts};
use storyline_application::scheduling::Scheduler;
use storyline_domain::ports::{
    Audit, ChatAdmins, ChatNotifier, Clock, Conversations, History, Locks, MediaLibrary, MediaSource, Queue,
    SettingsStore, UpdateCursor, Users,
};
use storyline_media::LocalFolder;
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
    pub library: Arc<dyn MediaLibrary>,
    pub queue: Arc<dyn Queue>,
    pub history: Arc<dyn History>,
    pub locks: Arc<dyn Locks>,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").field("backend", &self.backend).finish_non_exhaustive()
    }
}

impl Stores {
    /// Every port on one store value (they share its pool).
    #[must_use]
    pub fn of<S>(store: S, backend: &'static str) -> Self
    where
        S: SettingsStore
            + Audit
            + Users
            + Conversations
            + UpdateCursor
            + MediaLibrary
            + Queue
            + History
            + Locks
            + Clone
            + 'static,
    {
        Self {
            library: Arc::new(store.clone()),
            queue: Arc::new(store.clone()),
            history: Arc::new(store.clone()),
            locks: Arc::new(store.clone()),
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
    pub library: LibraryService,
    pub scheduler: Scheduler,
    pub clock: Arc<dyn Clock>,
    /// Where the posting loop reads media (`MEDIA_DIR`).
    pub source: Arc<dyn MediaSource>,
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
        let stories = self.stories(ports.notifier.clone());
        Bot::new(self.settings.clone(), ports, config).with_stories(stories)
    }

    /// The story desk, sending through `notifier`.
    #[must_use]
    pub fn stories(&self, notifier: Arc<dyn ChatNotifier>) -> Stories {
        let ports = StoryPorts {
            queue: self.stores.queue.clone(),
            history: self.stores.history.clone(),
            locks: self.stores.locks.clone(),
            settings: self.stores.settings.clone(),
            source: self.source.clone(),
            notifier,
            clock: self.clock.clone(),
        };
        Stories::new(ports, self.scheduler.clone())
    }

    /// Wires the use cases to given stores and clock (tests pass their own).
    #[must_use]
    pub fn wire(stores: Stores, clock: Arc<dyn Clock>, config: &Config) -> Self {
        let settings =
            SettingsService::new(stores.settings.clone(), stores.audit.clone(), clock.clone(), config.defaults);
        let library = LibraryService::new(stores.library.clone(), clock.clone());
        let scheduler =
            Scheduler::new(stores.settings.clone(), stores.library.clone(), stores.queue.clone(), clock.clone());
        let source: Arc<dyn MediaSource> = Arc::new(LocalFolder::new(config.media_dir.clone()));
        Self { stores, settings, library, scheduler, clock, source }
    }
}
