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
mod import;
mod init;
mod life;
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

    /// Handles one incoming to the end. Never fails: a failure is logged with its cause chain
    /// (under a reference) and the chat gets a short message: [`DATABASE_DOWN`] when the
    /// database does not answer (and at once while it is known to be down),
    /// [`SAVED_BUT_NOT_SHOWN`] when a change was saved, else [`GENERIC_FAILURE`] with the
    /// reference of the log line.
    #[tracing::instrument(skip_all, fields(chat_id = %incoming.chat, user_id = incoming.from.as_ref().map(|u| u.telegram_id.0)))]
    pub async fn handle(&self, incoming: Incoming) {
        let press = match &incoming.event {
            Event::Press { id, .. } => Some(id.clone()),
            _ => None,
        };
        let (chat, from) = (incoming.chat, incoming.from.as_ref().map(|u| u.telegram_id));
        let text = if self.outage.is_down() {
            // Plain messages are mostly not for the bot: they get no answer meanwhile.
            if matches!(incoming.event, Event::Text { .. } | Event::Document { .. })
                || incoming.event.is_life_cycle()
                || (press.is_none() && !self.first_refusal(chat, from, "database"))
            {
                return;
            }
            DATABASE_DOWN.to_owned()
        } else {
            let life_cycle = incoming.event.is_life_cycle();
            let Err(error) = self.try_handle(incoming).await else { return };
            // The person gets a short sentence; the log line the cause chain, under a reference.
            let reference = storyline_domain::reference::Reference::new();
            tracing::error!(reference = %reference, error = %error_chain(&error), "could not handle an update");
            let unreachable = is_unreachable(&error);
            if unreachable && self.outage.went_down() {
                tracing::warn!("the database is not answering; answering at once until it is back");
            }
            if life_cycle {
                // Nobody asked: the log line is the whole story.
                return;
            }
            match error {
                BotError::Saved(_) => SAVED_BUT_NOT_SHOWN.to_owned(),
                _ if unreachable => DATABASE_DOWN.to_owned(),
                _ => format!("{GENERIC_FAILURE} (ref {reference})"),
            }
        };
        let told = match press {
            Some(press) => self.ports.notifier.answer(&press, &text, true).await.map(|_| ()),
            None => self.ports.notifier.send(chat, &Screen::new(text)).await.map(|_| ()),
        };
        if let Err(error) = told {
            tracing::warn!(error = %error_chain(&error), "could not tell the chat about the failure");
        }
    }

    /// Whether the database is known to be down (see [`Self::probe_database`]).
    #[must_use]
    pub fn database_is_down(&self) -> bool {
        self.outage.is_down()
    }

    /// Asks the database whether it answers again; the bot works as usual from then on.
    pub async fn probe_database(&self) {
        match self.settings.existing_workspace(self.config.team_chat.unwrap_or(ChatId(0))).await {
            Err(error) if is_unreachable(&error) => {}
            _ => {
                if self.outage.came_back() {
                    tracing::info!("the database answers again");
                }
            }
        }
    }

    /// Whether to say refusal `kind` to `from` in `chat`: once per burst of them.
    fn first_refusal(&self, chat: ChatId, from: Option<TelegramUserId>, kind: &'static str) -> bool {
        let now = self.ports.clock.now();
        let key = (chat, from, kind);
        let repeated = self.refusals.get(&key, now).is_some();
        self.refusals.put(key, (), now);
        !repeated
    }

    async fn try_handle(&self, incoming: Incoming) -> Result<(), BotError> {
        if incoming.event.is_life_cycle() {
            return self.life_cycle(&incoming).await;
        }
        // T4: over a limit, nothing is handled (bot/limits.rs).
        if self.rate_limited(&incoming).await? {
            return Ok(());
        }
        if let Some(team) = self.config.team_chat
            && incoming.chat != team
        {
            if self.private_account_answer(&incoming).await? || self.private_start(&incoming).await? {
                return Ok(());
            }
            return self.refuse_other_chat(&incoming).await;
        }
        let Some(workspace) = self.workspace(&incoming).await? else {
            if self.private_account_answer(&incoming).await? || self.private_start(&incoming).await? {
                return Ok(());
            }
            return self.unclaimed(&incoming).await;
        };
        let now = self.ports.clock.now();
        let actor = incoming.from.as_ref().map_or(Actor::Channel, |u| Actor::User(u.telegram_id));
        let contact = async {
            match &incoming.from {
                Some(user) => self.contact(workspace.id, user, now).await.map(Some),
                None => Ok(None),
            }
        };
        // C8: every command is logged; independent of recording the person, so both at once.
        let logged = async {
            match &incoming.event {
                Event::Command { name, args, .. } => {
                    self.log(workspace.id, &actor, AuditAction::Command, format!("/{name} {args}").trim_end()).await
                }
                _ => Ok(()),
            }
        };
        let (from, logged) = concurrently::both(contact, logged).await;
        let turn = Turn { chat: workspace.chat_id, workspace, from: from? };
        logged?;
        match incoming.event {
            Event::Command { name, args, message } => self.command(&turn, &name, &args, message).await,
            Event::Text { text, message } => self.answer_prompt(&turn, &text, message).await,
            Event::Document { file, message } => self.settings_file(&turn, &file, message).await,
            Event::Press { id, data, message } => self.press(&turn, &id, &data, message).await,
            Event::Joined | Event::Left | Event::MovedTo(_) => Ok(()),
        }
    }

    async fn refuse_other_chat(&self, incoming: &Incoming) -> Result<(), BotError> {
        tracing::info!(chat_id = %incoming.chat, "refused an update from a chat this bot does not serve");
        let notifier = &self.ports.notifier;
        match &incoming.event {
            Event::Command { .. } => {
                if self.first_refusal(incoming.chat, incoming.from.as_ref().map(|u| u.telegram_id), "other chat") {
                    notifier
                        .send(
                            incoming.chat,
                            &Screen::new("Sorry, this bot serves one team chat only, and this is not it."),
                        )
                        .await?;
                }
            }
            Event::Press { id, .. } => notifier.answer(id, "This bot does not serve this chat.", false).await?,
            Event::Text { .. } | Event::Document { .. } | Event::Joined | Event::Left | Event::MovedTo(_) => {}
        }
        Ok(())
    }

    async fn say(&self, turn: &Turn, screen: impl Into<Screen>) -> Result<MessageId, BotError> {
        Ok(self.ports.notifier.send(turn.chat(), &screen.into()).await?)
    }
}

#[cfg(test)]
mod tests;
