//! Opens the store that `DATABASE_URL` names, migrates it, and builds the use cases on it.

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, SubsecRound, Utc};
use storyline_application::SettingsService;
use storyline_application::accounts::AccountService;
use storyline_application::bot::{Bot, BotConfig, BotPorts, Login, RateLimits};
use storyline_application::library::{LibraryService, SyncService};
use storyline_application::posting::{Publishing, QueueDesk, Stories, StoryPorts};
use storyline_application::scheduling::Scheduler;
use storyline_application::settings::transfer::SettingsTransfer;
use storyline_application::sources::SourceService;
use storyline_crypto::{Keyring, LoginStates};
use storyline_domain::ports::{
    AccountStore, Audit, ChatAdmins, ChatNotifier, Clock, Conversations, History, InitWizards, Leadership, LibrarySync,
    Locks, LoginAttempts, MediaHost, MediaLibrary, MediaSource, Notices, Queue, Replicas, SettingsStore, SourceFactory,
    SourceStore, StoryPublisher, TokenCipher, TokenVault, UpdateCursor, Users, VaultError, WorkspaceSources,
};
use storyline_instagram::{FacebookApp, GraphApi, GraphConfig, PollPolicy};
use storyline_media::SignedUrls;
use storyline_postgres::PostgresStore;
use storyline_sqlite::SqliteStore;

use crate::config::Config;

/// The chat the console plays when no `--chat` is given.
pub const CONSOLE_CHAT: storyline_domain::ChatId = storyline_domain::ChatId(0);
/// The person at the terminal.
pub const CONSOLE_USER: storyline_domain::user::TelegramUserId = storyline_domain::user::TelegramUserId(0);
/// How the person at the terminal shows in menus, `users list` and the settings history.
pub const CONSOLE_NAME: &str = "Console operator";

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
    pub accounts: Arc<dyn AccountStore>,
    pub vault: Arc<dyn TokenVault>,
    /// The library's side of a media sync.
    pub sync: Arc<dyn LibrarySync>,
    /// Each workspace's media source setting and sync status.
    pub sources: Arc<dyn SourceStore>,
    /// `/init` wizards under way and the founding of workspaces.
    pub wizards: Arc<dyn InitWizards>,
    /// The deployment's processes, from their heartbeats.
    pub replicas: Arc<dyn Replicas>,
    /// What each workspace's chat was told once, whichever process told it.
    pub notices: Arc<dyn Notices>,
    /// Logins under way ("Log in with Instagram").
    pub logins: Arc<dyn LoginAttempts>,
    /// The changes other processes commit (roles, accounts), on PostgreSQL; `None` on SQLite
    /// (one process).
    pub changes: Option<Arc<dyn storyline_domain::ports::ChangeFeed>>,
    /// Who runs the singleton jobs: on PostgreSQL one process at a time by advisory locks; on
    /// SQLite (one process) always this one.
    pub leadership: Arc<dyn Leadership>,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The database behind the ports, when it was opened here: closed on exit, backed up.
    database: Option<Database>,
}

/// The store value behind [`Stores`], for what no port does: closing and backing up.
#[derive(Clone)]
enum Database {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

/// Why `storyline backup` did not write a backup.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "PostgreSQL is backed up with its own tools: pg_dump --format=custom --file=storyline.dump \"$DATABASE_URL\""
    )]
    Postgres,
    #[error("{0} exists already; give a new file name")]
    Exists(String),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
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
            + AccountStore
            + TokenVault
            + LibrarySync
            + SourceStore
            + InitWizards
            + Replicas
            + Notices
            + LoginAttempts
            + Clone
            + 'static,
    {
        Self {
            accounts: Arc::new(store.clone()),
            sources: Arc::new(store.clone()),
            wizards: Arc::new(store.clone()),
            replicas: Arc::new(store.clone()),
            notices: Arc::new(store.clone()),
            logins: Arc::new(store.clone()),
            leadership: Arc::new(SoleLeadership),
            changes: None,
            vault: Arc::new(store.clone()),
            sync: Arc::new(store.clone()),
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
            database: None,
        }
    }

    /// Closes the database's connections (so SQLite checkpoints its write-ahead log into the
    /// file). Later calls through the ports fail.
    pub async fn close(&self) {
        match &self.database {
            Some(Database::Sqlite(store)) => store.close().await,
            Some(Database::Postgres(store)) => store.close().await,
            None => {}
        }
    }

    /// A consistent copy of the SQLite database in the new file `path`.
    ///
    /// # Errors
    /// [`BackupError::Postgres`] on PostgreSQL (pg_dump does it), [`BackupError::Exists`] when
    /// `path` exists, [`BackupError::Failed`] when the copy cannot be written.
    pub async fn backup(&self, path: &std::path::Path) -> Result<(), BackupError> {
        match &self.database {
            Some(Database::Sqlite(store)) => {
                if path.exists() {
                    return Err(BackupError::Exists(path.display().to_string()));
                }
                Ok(store.backup(path).await?)
            }
            Some(Database::Postgres(_)) => Err(BackupError::Postgres),
            None => Err(BackupError::Failed(anyhow::anyhow!("this store cannot be backed up"))),
        }
    }
}

/// Leadership where one process is all there is (SQLite, the memory store): it leads every job.
#[derive(Debug, Clone, Copy)]
pub struct SoleLeadership;

#[async_trait::async_trait]
impl Leadership for SoleLeadership {
    async fn try_lead(&self, _job: &str) -> Result<bool, storyline_domain::ports::StoreError> {
        Ok(true)
    }

    async fn resign(&self) {}
}

/// Opens the database and applies any pending migration (FEATURES O2: migrations run on start).
///
/// # Errors
/// When the database cannot be reached or migrated.
pub async fn open_stores(database_url: &str, keyring: Option<&Arc<Keyring>>) -> anyhow::Result<Stores> {
    let cipher: Option<Arc<dyn TokenCipher>> = keyring.cloned().map(|k| k as Arc<dyn TokenCipher>);
    if database_url.starts_with("sqlite:") {
        let mut store = SqliteStore::connect(database_url).await?;
        store.migrate().await?;
        if let Some(cipher) = cipher {
            store = store.with_cipher(cipher);
        }
        Ok(Stores { database: Some(Database::Sqlite(store.clone())), ..Stores::of(store, "sqlite") })
    } else {
        let mut store = PostgresStore::connect(database_url).await?;
        store.migrate().await?;
        if let Some(cipher) = cipher {
            store = store.with_cipher(cipher);
        }
        let leadership = Arc::new(storyline_postgres::PgLeadership::new(store.pool().clone()));
        let changes: Option<Arc<dyn storyline_domain::ports::ChangeFeed>> =
            Some(Arc::new(storyline_postgres::PgChangeFeed::new(store.pool().clone())));
        Ok(Stores {
            database: Some(Database::Postgres(store.clone())),
            leadership,
            changes,
            ..Stores::of(store, "postgres")
        })
    }
}

/// Opens the configured database: creates the per-user data folder when the default file is
/// to live there, and says where the database is when it cannot be opened.
///
/// # Errors
/// When the folder cannot be made or the database cannot be reached or migrated.
pub async fn open_configured(config: &Config) -> anyhow::Result<Stores> {
    let context = || format!("could not open the database, {}", config.database_location());
    if let crate::config::DatabaseOrigin::DataDir(dir) = &config.database_origin {
        std::fs::create_dir_all(dir).with_context(context)?;
    }
    open_stores(&config.database_url, config.keyring.as_ref()).await.with_context(context)
}

/// How often a container's status is polled inside one posting tick: a container still
/// processing after a minute is looked at again on the next tick (its id is kept).
const CONTAINER_POLL: PollPolicy = PollPolicy {
    first: std::time::Duration::from_secs(1),
    max_interval: std::time::Duration::from_secs(5),
    cap: std::time::Duration::from_secs(60),
};

/// The Graph API client the configuration describes.
///
/// # Errors
/// When the HTTP client cannot be built.
pub fn graph_api(config: &Config) -> anyhow::Result<GraphApi> {
    GraphApi::new(GraphConfig {
        base_url: config.graph_api_url.clone(),
        facebook_app: config.facebook_app.clone().map(|(id, secret)| FacebookApp { id, secret }),
        instagram_app: config.instagram_app.clone().map(|(id, secret)| FacebookApp { id, secret }),
        login_url: config.meta_login_url.clone(),
        poll: CONTAINER_POLL,
        ..GraphConfig::default()
    })
}

/// Logging in at Meta, when this deployment can: a public address for Meta's redirect, a key to
/// sign states and seal tokens, and a Meta app; else what is missing, in a person's words.
fn login(config: &Config, stores: &Stores, meta: Arc<GraphApi>) -> Result<Login, String> {
    let (base, keyring) = login_needs(config)?;
    let google = config.google_client.clone().and_then(|(id, secret)| {
        let endpoints = storyline_drive::DriveEndpoints::with_overrides(
            config.drive_api_url.clone(),
            config.google_token_url.clone(),
        );
        let client = storyline_drive::GoogleClient { id, secret };
        match storyline_drive::GoogleOAuth::new(endpoints, config.google_auth_url.clone(), Some(client)) {
            Ok(google) => Some(Arc::new(google) as Arc<dyn storyline_domain::ports::GoogleLogin>),
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), "Log in with Google is off");
                None
            }
        }
    });
    Ok(Login {
        attempts: stores.logins.clone(),
        signer: Arc::new(LoginStates::new(keyring)),
        meta,
        cipher: keyring.clone(),
        google,
        public_base: base.trim().trim_end_matches('/').to_owned(),
    })
}

/// What logging in needs from `config` (the public address and the key ring, with an app or
/// client configured), or what it lacks, in the words the chat is told.
fn login_needs(config: &Config) -> Result<(&String, &Arc<Keyring>), String> {
    let Some(base) = &config.public_base_url else { return Err("PUBLIC_BASE_URL is not set".to_owned()) };
    let Some(keyring) = &config.keyring else {
        return Err("ENCRYPTION_KEY is not set, so tokens cannot be stored".to_owned());
    };
    if config.instagram_app.is_none() && config.facebook_app.is_none() && config.google_client.is_none() {
        return Err("neither INSTAGRAM_APP_ID nor FACEBOOK_APP_ID is set".to_owned());
    }
    Ok((base, keyring))
}

/// The signed media URLs under `PUBLIC_BASE_URL`, keyed from the newest encryption key (or, with
/// none configured, a key of this process alone).
#[must_use]
pub fn media_urls(config: &Config) -> SignedUrls {
    let key = match &config.keyring {
        Some(keyring) => keyring.derive("storyline media urls v1"),
        None => Keyring::ephemeral().derive("storyline media urls v1"),
    };
    SignedUrls::new(config.public_base_url.clone(), key)
}

/// The use cases, wired.
#[derive(Clone)]
pub struct App {
    pub stores: Stores,
    pub settings: SettingsService,
    /// Exports and imports workspaces' settings (FEATURES T3).
    pub transfer: SettingsTransfer,
    pub library: LibraryService,
    pub scheduler: Scheduler,
    pub clock: Arc<dyn Clock>,
    /// Where the posting loop reads media (`MEDIA_DIR`).
    pub source: Arc<dyn MediaSource>,
    /// Each workspace's own media source, or `source` where it has set none (FEATURES M1).
    pub sources: Arc<dyn WorkspaceSources>,
    /// Makes the source a setting names (what `media-source set` tries first).
    pub source_factory: Arc<dyn SourceFactory>,
    /// Shows and changes each workspace's media source.
    pub media_sources: SourceService,
    pub accounts: AccountService,
    pub publisher: Arc<dyn StoryPublisher>,
    /// Connecting accounts by logging in at Meta, or why this deployment cannot (what is missing).
    pub login: Result<Login, String>,
    /// Signed media URLs for Meta, served by [`crate::media_http`].
    pub urls: Arc<SignedUrls>,
    /// How often the posting loop ticks (`POSTING_INTERVAL_SECONDS`); the bot says it.
    pub posting_interval: std::time::Duration,
    /// How long a claim holds a story before another process may take it over
    /// (`SEND_LEASE_SECONDS`).
    pub send_lease: chrono::Duration,
    /// The bot's limits on commands and presses (`RATE_LIMIT_*_PER_MINUTE`).
    pub rate_limits: RateLimits,
    /// Syncs each workspace's library with its media source (FEATURES M3); it tells no chat
    /// until given a notifier ([`SyncService::telling`]).
    pub sync: SyncService,
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
        let stores = open_configured(config).await?;
        Self::wire(stores, Arc::new(SystemClock), config)
    }

    /// The transport-free bot, talking through `notifier` and asking `admins` who administers
    /// the chat. Its story desk ([`Bot::stories`]) is the one the posting loop must share, so
    /// what the chat was told once (an Instagram fallback) is remembered across `/next` and the loop.
    #[must_use]
    pub fn bot(&self, notifier: Arc<dyn ChatNotifier>, admins: Arc<dyn ChatAdmins>, config: BotConfig) -> Bot {
        let ports = BotPorts {
            users: self.stores.users.clone(),
            // The log line of every update: gathered into batches under a burst.
            audit: storyline_sql::audit_batch::BatchedAudit::around(self.stores.audit.clone()),
            conversations: self.stores.conversations.clone(),
            notifier,
            admins,
            clock: self.clock.clone(),
        };
        let stories = self.stories(ports.notifier.clone());
        let sync = self.sync.clone().telling(ports.notifier.clone());
        Bot::new(self.settings.clone(), ports, config)
            .with_sync(sync, self.sources.clone())
            .with_stories(stories)
            .with_accounts(self.accounts.clone())
            .with_media_sources(self.media_sources.clone(), self.stores.library.clone())
            .with_transfer(self.transfer.clone())
            .posting_every(self.posting_interval)
            .with_init(self.stores.wizards.clone())
            .with_rate_limits(self.rate_limits)
            .with_login(self.login.clone())
    }

    /// The queue desk for the read-side commands (`list-queue`, `clear-queue`).
    #[must_use]
    pub fn desk(&self) -> QueueDesk {
        QueueDesk::new(
            self.stores.queue.clone(),
            self.stores.history.clone(),
            self.stores.locks.clone(),
            self.clock.clone(),
        )
    }

    /// A story desk of its own, sending through `notifier` (the CLI's `process-queue`; the
    /// long-running modes use the bot's, [`Bot::stories`]).
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
            library: self.stores.library.clone(),
        };
        let host: Arc<dyn MediaHost> = self.urls.clone();
        Stories::new(ports, self.scheduler.clone())
            .with_publishing(Publishing {
                accounts: self.stores.accounts.clone(),
                vault: self.stores.vault.clone(),
                publisher: self.publisher.clone(),
                host,
            })
            .with_sources(self.sources.clone())
            .with_notices(self.stores.notices.clone())
            .with_lease(self.send_lease)
    }

    /// Wires the use cases to given stores and clock (tests pass their own).
    ///
    /// # Errors
    /// When the Graph API client cannot be built.
    pub fn wire(stores: Stores, clock: Arc<dyn Clock>, config: &Config) -> anyhow::Result<Self> {
        let settings =
            SettingsService::new(stores.settings.clone(), stores.audit.clone(), clock.clone(), config.defaults);
        let library = LibraryService::new(stores.library.clone(), clock.clone());
        let transfer = SettingsTransfer::new(
            stores.settings.clone(),
            stores.library.clone(),
            stores.accounts.clone(),
            stores.sources.clone(),
            clock.clone(),
        );
        let scheduler =
            Scheduler::new(stores.settings.clone(), stores.library.clone(), stores.queue.clone(), clock.clone());
        let source_factory: Arc<dyn SourceFactory> = Arc::new(
            crate::sources::Sources::new(config.media_dir.clone()).per_workspace(config.serves_many()).with_drive(
                storyline_drive::DriveEndpoints::with_overrides(
                    config.drive_api_url.clone(),
                    config.google_token_url.clone(),
                ),
            ),
        );
        // Where nothing asks a workspace's own source (every path here does: a fallback).
        let source: Arc<dyn MediaSource> = Arc::new(storyline_media::LocalFolder::new(config.media_dir.clone()));
        let sources: Arc<dyn WorkspaceSources> =
            Arc::new(crate::sources::SourceRegistry::new(stores.sources.clone(), source_factory.clone()));
        let media_sources = SourceService::new(stores.sources.clone(), source_factory.clone(), clock.clone())
            .sealing(config.keyring.is_some());
        let graph = Arc::new(graph_api(config)?);
        let login = login(config, &stores, graph.clone());
        let publisher: Arc<dyn StoryPublisher> = graph;
        let accounts =
            AccountService::new(stores.accounts.clone(), stores.vault.clone(), publisher.clone(), clock.clone())
                .sealing(config.keyring.is_some());
        let urls = Arc::new(media_urls(config));
        let posting_interval = config.posting_interval;
        let sync = SyncService::new(stores.sync.clone(), stores.sources.clone(), clock.clone());
        Ok(Self {
            stores,
            settings,
            transfer,
            library,
            scheduler,
            clock,
            source,
            sources,
            source_factory,
            media_sources,
            accounts,
            publisher,
            urls,
            posting_interval,
            send_lease: chrono::Duration::from_std(config.send_lease)?,
            rate_limits: config.rate_limits,
            sync,
            login,
        })
    }

    /// Checks at start-up that the stored Instagram tokens open with the configured key (A5).
    /// A lost or changed key locks out only what needs it: the bot starts, a workspace without
    /// tokens and the manual Telegram path work as ever, and the accounts whose tokens do not
    /// open publish by hand. Returns the one warning line to show then, naming those accounts
    /// and the ways out (never a key or a token); `None` when every token opens.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn check_keys(&self) -> anyhow::Result<Option<String>> {
        let vault = &self.stores.vault;
        let why = match vault.verify_all().await {
            Ok(_) => return Ok(None),
            Err(VaultError::NoKey) => "ENCRYPTION_KEY is not set",
            Err(VaultError::Undecryptable(_)) => "ENCRYPTION_KEY does not open them",
            Err(other) => return Err(other.into()),
        };
        let mut locked = Vec::new();
        for due in vault.all_tokens().await? {
            match vault.credential(due.workspace, due.account.id).await {
                Ok(_) => {}
                Err(VaultError::NoKey | VaultError::Undecryptable(_)) => {
                    locked.push(format!("{} (chat {})", due.account.label(), due.chat));
                }
                Err(other) => return Err(other.into()),
            }
        }
        if locked.is_empty() {
            // Only disabled accounts hold tokens that do not open: nothing would use them.
            return Ok(None);
        }
        let (tokens, accounts, them, were) = if locked.len() == 1 {
            ("token", "that account posts", "it", "it was")
        } else {
            ("tokens", "those accounts post", "them", "they were")
        };
        Ok(Some(format!(
            "warning: the Instagram {tokens} of {} cannot be opened ({why}): {accounts} by hand until you set the key {were} sealed with (ENCRYPTION_KEYS=new,old while rotating), give {them} a new token with `storyline set-instagram-token`, or forget {them} with `storyline remove-instagram-account`",
            locked.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        Ok(Config::from_lookup(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))?)
    }

    #[test]
    fn logging_in_says_what_is_missing() -> anyhow::Result<()> {
        let key = Keyring::generate();
        let base = ("PUBLIC_BASE_URL", "https://stories.example.com");
        let app = [("INSTAGRAM_APP_ID", "5151"), ("INSTAGRAM_APP_SECRET", "s")];
        let cases = [
            (vec![("ENCRYPTION_KEY", key.as_str()), app[0], app[1]], Some("PUBLIC_BASE_URL is not set")),
            (vec![base, app[0], app[1]], Some("ENCRYPTION_KEY is not set")),
            (vec![base, ("ENCRYPTION_KEY", key.as_str())], Some("neither INSTAGRAM_APP_ID nor FACEBOOK_APP_ID")),
            (vec![base, ("ENCRYPTION_KEY", key.as_str()), app[0], app[1]], None::<&str>),
        ];
        for (vars, expected) in cases {
            let read = config(&vars)?;
            let missing = login_needs(&read).err();
            match expected {
                Some(text) => assert!(missing.as_deref().is_some_and(|m| m.contains(text)), "{vars:?}: {missing:?}"),
                None => assert_eq!(missing, None, "{vars:?}"),
            }
        }
        Ok(())
    }
}
