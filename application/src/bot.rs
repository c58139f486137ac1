//! The bot without a transport (docs/ARCHITECTURE.md, "One toggle"): an [`Incoming`]
//! command, message or button press goes to the use cases, and the answer goes out through the
//! [`ChatNotifier`] as [`Screen`]s. The Telegram and console adapters only translate.
//!
//! - [`crate::action`]: buttons' callback data; [`crate::command`]: typed commands;
//!   [`crate::access`]: who may do what.
//! - [`screens`]: what each menu shows.
//! - [`answers`]: typed answers to Change prompts.
//!
//! Errors end here: [`Bot::handle`] logs their cause chain and tells the chat a short generic
//! message, so an adapter never has to.

mod answers;
mod incoming;
mod limits;
mod outage;
mod recent;
pub mod screens;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};

use storyline_domain::audit::{AuditAction, AuditEntry};
use storyline_domain::chat::{MessageId, PressId, Screen};
use storyline_domain::conversation::{PendingPrompt, PromptKind};
use storyline_domain::ports::{
    Audit, ChatAdmins, ChatFiles, ChatNotifier, Clock, Conversations, MediaLibrary, NotifyError, StoreError, Users,
    WorkspaceSources, is_unreachable,
};
use storyline_domain::settings::{ChatSettings, SettingChange, Toggle};
use storyline_domain::user::{Actor, Member, Role, TelegramUserId, User};
use storyline_domain::{ChatId, Workspace, WorkspaceId};

pub use crate::action::{Action, ActionError};
pub use incoming::{Event, Incoming};
pub use limits::{RateLimits, slow_down};
pub use login::{Login, LoginCallback, LoginPage};
pub use outage::DATABASE_DOWN;

use crate::access::{self, Operation};
use crate::accounts::{AccountService, AccountView};
use crate::command::Command;
use crate::concurrently;
use crate::errors::error_chain;
use crate::library::SyncService;
use crate::posting::Stories;
use crate::settings::transfer::SettingsTransfer;
use crate::settings::{SettingsError, SettingsService};
use crate::sources::SourceService;
use outage::Outage;
use recent::Recent;

mod accounts;
mod admins;
mod commands;
mod desk;
mod export;
mod google_login;
mod handle;
mod import;
mod init;
mod life;
mod login;
mod menus;
mod presses;
mod private;
mod prompts;
mod source_dialogue;
mod sync;
mod turn;

/// Said when something failed that the person can do nothing about but try again.
pub const GENERIC_FAILURE: &str =
    "Something went wrong on our side; nothing was changed. Please try again in a moment.";
/// Said when a change was saved but what should have followed (the answer, the menu) failed.
pub const SAVED_BUT_NOT_SHOWN: &str =
    "The change was saved, but Telegram did not take the answer; /settings shows where things stand.";

/// Who the bot serves and who may administer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotConfig {
    /// The team chat (`TELEGRAM_CHAT_ID`): the one chat served, single-team mode. `None`: every
    /// chat that has run `/init` is served, each its own workspace.
    pub team_chat: Option<ChatId>,
    /// People who are admins everywhere (`ADMIN_TELEGRAM_USER_IDS`).
    pub admin_ids: HashSet<TelegramUserId>,
    /// Who may run `/init` (`INIT_ALLOWED_USER_IDS`); `None`: anyone.
    pub init_allowed: Option<HashSet<TelegramUserId>>,
}

impl BotConfig {
    /// Single-team mode: `chat` only, as with `TELEGRAM_CHAT_ID`.
    #[must_use]
    pub fn team(chat: ChatId, admin_ids: HashSet<TelegramUserId>) -> Self {
        Self { team_chat: Some(chat), admin_ids, init_allowed: None }
    }
}

/// The ports the bot talks through besides the settings use case.
#[derive(Clone)]
pub struct BotPorts {
    pub users: Arc<dyn Users>,
    pub audit: Arc<dyn Audit>,
    pub conversations: Arc<dyn Conversations>,
    pub notifier: Arc<dyn ChatNotifier>,
    pub admins: Arc<dyn ChatAdmins>,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for BotPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotPorts").finish_non_exhaustive()
    }
}

/// Why handling one incoming failed (logged, never shown verbatim).
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("the store failed")]
    Store(#[from] StoreError),
    #[error("the chat could not be reached")]
    Notify(#[from] NotifyError),
    #[error(transparent)]
    Schedule(#[from] crate::scheduling::ScheduleError),
    #[error(transparent)]
    Account(#[from] storyline_domain::ports::AccountError),
    #[error("a file sent to the chat could not be fetched")]
    File(#[from] storyline_domain::ports::FileError),
    /// A change was saved; what came after it failed (so "nothing was changed" would be false).
    #[error("the change was saved, then")]
    Saved(#[source] Box<BotError>),
}

/// Marks a failure after a saved change as such.
fn after_save<T>(result: Result<T, BotError>) -> Result<T, BotError> {
    result.map_err(|error| BotError::Saved(Box::new(error)))
}

impl From<crate::posting::PressError> for BotError {
    fn from(error: crate::posting::PressError) -> Self {
        match error {
            crate::posting::PressError::Store(store) => Self::Store(store),
            crate::posting::PressError::Notify(notify) => Self::Notify(notify),
        }
    }
}

/// The conversation: turns what people do in the chat into use-case calls and screens.
pub struct Bot {
    settings: SettingsService,
    ports: BotPorts,
    config: BotConfig,
    /// Workspaces by chat: they never move once created.
    workspaces: Mutex<HashMap<ChatId, Workspace>>,
    /// People recorded in the last [`CONTACT_TTL`], so a burst of presses records them once.
    contacts: Recent<(WorkspaceId, TelegramUserId), Member>,
    /// The queue, schedule and story buttons; without it those commands say they are off.
    stories: Option<Stories>,
    /// Instagram accounts; without it the account picker says accounts are not set up.
    accounts: Option<AccountService>,
    /// Each workspace's media source and the library it fills, for the /settings line; without
    /// it the line says the media source is not set up.
    media: Option<(SourceService, Arc<dyn MediaLibrary>)>,
    /// Each workspace's active account as last read, for [`CONTACT_TTL`]: every menu shows it,
    /// and a burst of toggles should not read it each time.
    active_accounts: Recent<WorkspaceId, Option<AccountView>>,
    /// Each workspace's media line as last read (the source, how many items, when last synced),
    /// for [`CONTACT_TTL`], forgotten at once after a source change or `/sync` here: a burst of
    /// toggles reads it once, a sync by the background loop shows within that time.
    media_lines: Recent<WorkspaceId, (String, u64, Option<chrono::DateTime<chrono::Utc>>)>,
    /// How often the posting loop looks for due stories: overdue ones go out one per tick.
    posting_interval: std::time::Duration,
    /// Refusals said lately, by chat, person and kind: said once per burst ([`REFUSAL_QUIET`]).
    refusals: Recent<(ChatId, Option<TelegramUserId>, &'static str), ()>,
    outage: Outage,
    /// `/sync`: the sync and each workspace's source; without it `/sync` says it is off.
    sync: Option<(SyncService, Arc<dyn WorkspaceSources>)>,
    /// `/init` wizards, for chats without a workspace (multi-workspace mode).
    wizards: Option<Arc<dyn storyline_domain::ports::InitWizards>>,
    /// Commands and presses per person and per chat ([`Bot::with_rate_limits`]); none without.
    limiter: Option<limits::Limiter>,
    /// `/settings export` and `/settings import`; without it the commands say they are off.
    transfer: Option<SettingsTransfer>,
    /// Files people send (a settings file for `/settings import`); without it the import says
    /// to use the command line.
    files: Option<Arc<dyn ChatFiles>>,
    /// Connecting accounts by logging in at Meta, or why this deployment cannot.
    login: Result<Login, String>,
}

/// A refusal is said again to the same person in the same chat only after this long without
/// being asked again: someone spamming unknown commands gets one answer, not one per message.
const REFUSAL_QUIET: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// How long a recorded contact (and the role read with it) is reused. A role changed from the
/// command line takes effect in the chat within this time.
const CONTACT_TTL: chrono::TimeDelta = chrono::TimeDelta::seconds(10);
/// The posting loop's interval when none is given (the default of `POSTING_INTERVAL_SECONDS`).
const DEFAULT_POSTING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot").field("config", &self.config).finish_non_exhaustive()
    }
}

/// One incoming, resolved: its workspace, the person behind it, and the chat it came from (the
/// workspace's chat, or a private chat answering an add-account prompt).
struct Turn {
    workspace: Workspace,
    from: Option<Member>,
    chat: ChatId,
}

impl Turn {
    fn actor(&self) -> Actor {
        self.from.as_ref().map_or(Actor::Channel, |m| Actor::User(m.user.telegram_id))
    }

    fn chat(&self) -> ChatId {
        self.chat
    }
}

impl Bot {
    #[must_use]
    pub fn new(settings: SettingsService, ports: BotPorts, config: BotConfig) -> Self {
        Self {
            settings,
            ports,
            config,
            workspaces: Mutex::new(HashMap::new()),
            contacts: Recent::new(CONTACT_TTL),
            stories: None,
            accounts: None,
            media: None,
            active_accounts: Recent::new(CONTACT_TTL),
            media_lines: Recent::new(CONTACT_TTL),
            posting_interval: DEFAULT_POSTING_INTERVAL,
            refusals: Recent::new(REFUSAL_QUIET),
            outage: Outage::default(),
            sync: None,
            wizards: None,
            limiter: None,
            transfer: None,
            files: None,
            login: Err("logging in is not set up in this deployment".to_owned()),
        }
    }

    /// Adds `/settings export`: the workspace's settings sent as a JSON file (FEATURES T3).
    #[must_use]
    pub fn with_transfer(mut self, transfer: SettingsTransfer) -> Self {
        self.transfer = Some(transfer);
        self
    }

    /// Adds `/settings import` by file: the settings file a person sends is fetched through
    /// `files` (FEATURES T3).
    #[must_use]
    pub fn with_files(mut self, files: Arc<dyn ChatFiles>) -> Self {
        self.files = Some(files);
        self
    }

    /// Adds `/sync`: the library synced with each workspace's source on demand.
    #[must_use]
    pub fn with_sync(mut self, sync: SyncService, sources: Arc<dyn WorkspaceSources>) -> Self {
        self.sync = Some((sync, sources));
        self
    }

    /// Says how often the posting loop ticks (`POSTING_INTERVAL_SECONDS`), so the bot can say
    /// how fast overdue stories go out.
    #[must_use]
    pub const fn posting_every(mut self, interval: std::time::Duration) -> Self {
        self.posting_interval = interval;
        self
    }

    /// Adds the Instagram accounts: the picker in /settings, the add-account dialogue.
    #[must_use]
    pub fn with_accounts(mut self, accounts: AccountService) -> Self {
        self.accounts = Some(accounts);
        self
    }

    /// Adds the media source line of /settings (FEATURES M1): the source, the library's size,
    /// the last sync.
    #[must_use]
    pub fn with_media_sources(mut self, sources: SourceService, library: Arc<dyn MediaLibrary>) -> Self {
        self.media = Some((sources, library));
        self
    }

    /// Adds the story desk: queue commands, /schedule, and the buttons on stories.
    #[must_use]
    pub fn with_stories(mut self, stories: Stories) -> Self {
        self.stories = Some(stories);
        self
    }

    /// The story desk, when the bot has one: the posting loop shares it (one memory of what the
    /// chat was told).
    #[must_use]
    pub fn stories(&self) -> Option<&Stories> {
        self.stories.as_ref()
    }

    async fn say(&self, turn: &Turn, screen: impl Into<Screen>) -> Result<MessageId, BotError> {
        Ok(self.ports.notifier.send(turn.chat(), &screen.into()).await?)
    }
}

#[cfg(test)]
mod tests;
