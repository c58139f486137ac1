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
    Audit, ChatAdmins, ChatNotifier, Clock, Conversations, NotifyError, StoreError, Users, is_unreachable,
};
use storyline_domain::settings::{ChatSettings, SettingChange, Toggle};
use storyline_domain::user::{Actor, Member, Role, TelegramUserId, User};
use storyline_domain::{ChatId, Workspace, WorkspaceId};

pub use crate::action::{Action, ActionError};
pub use incoming::{Event, Incoming};
pub use outage::DATABASE_DOWN;

use crate::access::{self, Operation};
use crate::accounts::{AccountService, AccountView};
use crate::command::Command;
use crate::concurrently;
use crate::errors::error_chain;
use crate::posting::Stories;
use crate::settings::{SettingsError, SettingsService};
use outage::Outage;
use recent::Recent;

mod accounts;
mod desk;

/// Said when something failed that the person can do nothing about but try again.
pub const GENERIC_FAILURE: &str =
    "Something went wrong on our side; nothing was changed. Please try again in a moment.";
/// Said when a change was saved but what should have followed (the answer, the menu) failed.
pub const SAVED_BUT_NOT_SHOWN: &str =
    "The change was saved, but Telegram did not take the answer; /settings shows where things stand.";

/// Who the bot serves and who may administer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotConfig {
    /// The team chat (one workspace per deployment for now).
    pub team_chat: ChatId,
    /// People who are admins everywhere (`ADMIN_TELEGRAM_USER_IDS`).
    pub admin_ids: HashSet<TelegramUserId>,
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
    /// Each workspace's active account as last read, for [`CONTACT_TTL`]: every menu shows it,
    /// and a burst of toggles should not read it each time.
    active_accounts: Recent<WorkspaceId, Option<AccountView>>,
    /// How often the posting loop looks for due stories: overdue ones go out one per tick.
    posting_interval: std::time::Duration,
    /// Refusals said lately, by chat, person and kind: said once per burst ([`REFUSAL_QUIET`]).
    refusals: Recent<(ChatId, Option<TelegramUserId>, &'static str), ()>,
    outage: Outage,
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
            active_accounts: Recent::new(CONTACT_TTL),
            posting_interval: DEFAULT_POSTING_INTERVAL,
            refusals: Recent::new(REFUSAL_QUIET),
            outage: Outage::default(),
        }
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
            if matches!(incoming.event, Event::Text { .. })
                || (press.is_none() && !self.first_refusal(chat, from, "database"))
            {
                return;
            }
            DATABASE_DOWN.to_owned()
        } else {
            let Err(error) = self.try_handle(incoming).await else { return };
            // The person gets a short sentence; the log line the cause chain, under a reference.
            let reference = storyline_domain::reference::Reference::new();
            tracing::error!(reference = %reference, error = %error_chain(&error), "could not handle an update");
            let unreachable = is_unreachable(&error);
            if unreachable && self.outage.went_down() {
                tracing::warn!("the database is not answering; answering at once until it is back");
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
        match self.settings.existing_workspace(self.config.team_chat).await {
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
        if incoming.chat != self.config.team_chat {
            if self.private_account_answer(&incoming).await? {
                return Ok(());
            }
            return self.refuse_other_chat(&incoming).await;
        }
        let workspace = self.workspace(&incoming).await?;
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
            Event::Press { id, data, message } => self.press(&turn, &id, &data, message).await,
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
            Event::Text { .. } => {}
        }
        Ok(())
    }

    /// C8: records the person (first contact, names, last seen) and returns their membership.
    async fn contact(&self, workspace: WorkspaceId, user: &User, now: DateTime<Utc>) -> Result<Member, StoreError> {
        let key = (workspace, user.telegram_id);
        if let Some(member) = self.contacts.get(&key, now)
            && member.user == *user
        {
            return Ok(member);
        }
        let member = self.ports.users.record_contact(workspace, user, now).await?;
        self.contacts.put(key, member.clone(), now);
        Ok(member)
    }

    async fn workspace(&self, incoming: &Incoming) -> Result<Workspace, BotError> {
        let cached = self.workspaces.lock().unwrap_or_else(PoisonError::into_inner).get(&incoming.chat).cloned();
        if let Some(workspace) = cached {
            return Ok(workspace);
        }
        let name = incoming.chat_title.clone().unwrap_or_else(|| format!("Chat {}", incoming.chat));
        let workspace = self.settings.workspace_for_chat(incoming.chat, &name).await?;
        self.workspaces.lock().unwrap_or_else(PoisonError::into_inner).insert(incoming.chat, workspace.clone());
        Ok(workspace)
    }

    /// C8: every command and button press is logged.
    async fn log(
        &self,
        workspace: WorkspaceId,
        actor: &Actor,
        action: AuditAction,
        subject: &str,
    ) -> Result<(), BotError> {
        let entry = AuditEntry {
            at: self.ports.clock.now(),
            actor: actor.clone(),
            action,
            subject: subject.chars().take(64).collect(),
            old: None,
            new: None,
        };
        self.ports.audit.record(workspace, &entry).await?;
        Ok(())
    }

    /// S8: the person's role: their role in the workspace, admin when a configured admin id
    /// or one of the chat's administrators. A channel post (no user) is a channel admin's.
    async fn role(&self, turn: &Turn) -> Role {
        let Some(member) = &turn.from else {
            return access::CHANNEL_POST;
        };
        let id = member.user.telegram_id;
        if member.role.is_admin() {
            return member.role;
        }
        if self.config.admin_ids.contains(&id) {
            return Role::Admin;
        }
        match self.ports.admins.administrators(turn.workspace.chat_id).await {
            Ok(admins) if admins.contains(&id) => Role::Admin,
            Ok(_) => Role::Member,
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "could not ask the chat for its administrators; refusing");
                Role::Member
            }
        }
    }

    /// Asks the one table ([`access::rule`]) whether this turn's person may do `operation`.
    /// The role is looked up only when the operation needs more than a member.
    ///
    /// # Errors
    /// The refusal to tell them.
    async fn allowed(&self, turn: &Turn, operation: Operation) -> Result<(), &'static str> {
        if access::rule(operation).allows(Role::Member) {
            return Ok(());
        }
        access::check(self.role(turn).await, operation)
    }

    async fn say(&self, turn: &Turn, screen: impl Into<Screen>) -> Result<MessageId, BotError> {
        Ok(self.ports.notifier.send(turn.chat(), &screen.into()).await?)
    }

    async fn settings_screen(&self, turn: &Turn) -> Result<Screen, BotError> {
        let settings = self.settings.current(turn.workspace.id).await?;
        self.settings_screen_of(turn, &settings).await
    }

    async fn settings_screen_of(&self, turn: &Turn, settings: &ChatSettings) -> Result<Screen, BotError> {
        let paused_by = async {
            match settings.pause.as_ref().map(|p| &p.by) {
                Some(Actor::User(id)) => Ok::<_, BotError>(
                    self.ports.users.member(turn.workspace.id, *id).await?.map(|m| m.user.display_name()),
                ),
                _ => Ok(None),
            }
        };
        let (paused_by, account) = concurrently::both(paused_by, self.active_account(turn)).await;
        let (paused_by, account) = (paused_by?, account?);
        Ok(screens::settings(&turn.workspace, settings, paused_by.as_deref(), account.as_ref()))
    }

    /// The workspace's active account with its token status.
    /// Read again after [`CONTACT_TTL`], or at once after a change made in this bot; a switch
    /// made from the command line shows within that time.
    async fn active_account(&self, turn: &Turn) -> Result<Option<AccountView>, BotError> {
        let Some(accounts) = &self.accounts else { return Ok(None) };
        let now = self.ports.clock.now();
        let workspace = turn.workspace.id;
        if let Some(view) = self.active_accounts.get(&workspace, now) {
            return Ok(view);
        }
        let view = accounts.active(workspace).await?;
        self.active_accounts.put(workspace, view.clone(), now);
        Ok(view)
    }

    /// Forgets the cached active account after a change made here.
    fn accounts_changed(&self, workspace: WorkspaceId) {
        self.active_accounts.forget(&workspace);
    }

    /// A command: parsed once, checked against the table, then done. Refused or not
    /// understood, it changes nothing.
    async fn command(&self, turn: &Turn, name: &str, args: &str, _message: MessageId) -> Result<(), BotError> {
        let parsed = Command::parse(name, args);
        let named = match &parsed {
            Ok(command) => Some(command.name()),
            Err(problem) => problem.name(),
        };
        let from = turn.from.as_ref().map(|m| m.user.telegram_id);
        if let Some(named) = named
            && let Err(refusal) = self.allowed(turn, Operation::Command(named)).await
        {
            // Said once per burst to one person (each refusal its own burst).
            if !self.first_refusal(turn.chat(), from, refusal) {
                return Ok(());
            }
            return self.say(turn, refusal).await.map(|_| ());
        }
        let command = match parsed {
            Ok(command) => command,
            Err(problem @ crate::command::CommandError::Unknown(_)) => {
                if !self.first_refusal(turn.chat(), from, "unknown command") {
                    return Ok(());
                }
                return self.say(turn, problem.to_string()).await.map(|_| ());
            }
            Err(problem) => return self.say(turn, problem.to_string()).await.map(|_| ()),
        };
        match command {
            Command::Start => self.say(turn, screens::start(&turn.workspace)).await.map(|_| ()),
            Command::Help => self.say(turn, screens::help()).await.map(|_| ()),
            Command::Settings => {
                let screen = self.settings_screen(turn).await?;
                self.say(turn, screen).await.map(|_| ())
            }
            Command::Status => {
                let screen = self.status_screen(turn).await?;
                self.say(turn, screen).await.map(|_| ())
            }
            Command::Pause => self.set_flag(turn, Toggle::Paused, Some(true)).await,
            Command::Resume => {
                // With stories overdue, posting stays paused until an admin chooses what to do
                // with them (C6); otherwise the loop would start sending them before the choice.
                if self.offer_overdue(turn).await? {
                    return Ok(());
                }
                self.set_flag(turn, Toggle::Paused, Some(false)).await
            }
            Command::DryRun(on) => self.set_flag(turn, Toggle::DryRun, on).await,
            Command::Cancel => self.cancel_prompt(turn).await,
            Command::Queue
            | Command::Next
            | Command::Schedule { .. }
            | Command::Clear
            | Command::Stats
            | Command::History { .. }
            | Command::Locks => self.desk_command(turn, command).await,
        }
    }

    /// `/pause`, `/resume`, `/dryrun`: the same settings use case as the buttons (S5). The
    /// caller has asked the table.
    async fn set_flag(&self, turn: &Turn, toggle: Toggle, on: Option<bool>) -> Result<(), BotError> {
        let change = on.map_or(SettingChange::Toggle(toggle), |on| SettingChange::Set(toggle, on));
        let applied = self.settings.change(turn.workspace.id, change, &turn.actor()).await?;
        let now_on = applied.after.flag(toggle);
        let text = match (toggle, now_on, applied.changes.is_empty()) {
            (Toggle::Paused, true, true) => "Posting is already paused. /resume restarts it.".to_owned(),
            (Toggle::Paused, true, false) => "⏸ Paused. Nothing will be posted until /resume.".to_owned(),
            (Toggle::Paused, false, true) => "Posting is not paused.".to_owned(),
            (Toggle::Paused, false, false) => "▶️ Posting resumed.".to_owned(),
            (_, true, true) => "Dry run is already on.".to_owned(),
            (_, true, false) => "🧪 Dry run is on: everything happens except the real publishing.".to_owned(),
            (_, false, unchanged) => {
                let already = if unchanged { "Dry run is already off" } else { "Dry run is off" };
                match self.api_problem(turn, &applied.after).await? {
                    None => format!("{already}: stories are published for real through the Instagram API."),
                    Some(problem) => {
                        format!("{already}, but {problem}, so stories still come to this chat for manual posting.")
                    }
                }
            }
        };
        let said = self.say(turn, text).await.map(|_| ());
        if applied.changes.is_empty() { said } else { after_save(said) }
    }

    /// Why stories would not be published through the Instagram API now (the toggle is off, no
    /// account is selected, or its token cannot be used), in words that follow "but".
    async fn api_problem(&self, turn: &Turn, settings: &ChatSettings) -> Result<Option<String>, BotError> {
        if !settings.instagram_api {
            return Ok(Some("the Instagram API is off (/settings switches it on)".to_owned()));
        }
        Ok(match self.active_account(turn).await? {
            None => Some("no Instagram account is selected (/settings → 📸 Instagram account)".to_owned()),
            Some(view) if !view.status.usable() => {
                Some(format!("the token of {} is {}", view.account.label(), view.status.to_string().to_lowercase()))
            }
            Some(_) => None,
        })
    }

    async fn press(
        &self,
        turn: &Turn,
        press: &PressId,
        data: &str,
        message: Option<MessageId>,
    ) -> Result<(), BotError> {
        let action = match Action::decode(data, turn.workspace.id) {
            Ok(action) => action,
            Err(refused) => {
                let shown: String = data.chars().take(64).collect();
                tracing::warn!(data = %shown, reason = %refused, "refused a button press");
                self.log(turn.workspace.id, &turn.actor(), AuditAction::Button, &format!("refused: {shown}")).await?;
                self.ports
                    .notifier
                    .answer(press, "This button is no longer valid. Open /settings again.", false)
                    .await?;
                return Ok(());
            }
        };
        // C8: every press is logged, allowed or not. The log is independent of the change a
        // toggle makes, so for a toggle both are written at once.
        let (subject, actor) = (format!("{action:?}"), turn.actor());
        let logged = self.log(turn.workspace.id, &actor, AuditAction::Button, &subject);
        if let Err(refusal) = self.allowed(turn, Operation::Button(action)).await {
            logged.await?;
            self.ports.notifier.answer(press, refusal, true).await?;
            return Ok(());
        }
        if let Action::Toggle(toggle) = action {
            let (logged, applied) = concurrently::both(
                logged,
                self.settings.change(turn.workspace.id, SettingChange::Toggle(toggle), &actor),
            )
            .await;
            logged?;
            return self.toggled(turn, press, message, toggle, applied?).await;
        }
        logged.await?;
        match action {
            Action::Toggle(_) => Ok(()),
            Action::Change(kind) => {
                let Some(member) = &turn.from else {
                    self.ports
                        .notifier
                        .answer(press, "Change needs a person to answer: use the bot in a group.", true)
                        .await?;
                    return Ok(());
                };
                let prompt =
                    PendingPrompt::new(member.user.telegram_id, kind, message.map(|m| m.0), self.ports.clock.now());
                self.ports.conversations.put(turn.workspace.id, &prompt).await?;
                self.ports.notifier.answer(press, "Send the new value as your next message", false).await?;
                self.say(turn, screens::prompt(kind)).await.map(|_| ())
            }
            Action::Settings => {
                self.ports.notifier.answer(press, "", false).await?;
                let screen = self.settings_screen(turn).await?;
                self.show(turn, message, &screen).await
            }
            Action::Status => {
                self.ports.notifier.answer(press, "", false).await?;
                let screen = self.status_screen(turn).await?;
                self.show(turn, message, &screen).await
            }
            Action::Story(..)
            | Action::ClearQueue
            | Action::KeepQueue
            | Action::Queue
            | Action::Schedule
            | Action::ScheduleDays(_)
            | Action::Overdue(_) => self.desk_press(turn, press, action, message).await,
            Action::Accounts | Action::SelectAccount(_) | Action::AddAccount => {
                self.account_press(turn, press, action, message).await
            }
            Action::Close => {
                self.ports.notifier.answer(press, "Closed", false).await?;
                match message {
                    Some(message) => match self.ports.notifier.delete(turn.chat(), message).await {
                        Ok(()) | Err(NotifyError::MessageGone) => Ok(()),
                        Err(error) => Err(error.into()),
                    },
                    None => Ok(()),
                }
            }
        }
    }

    /// After a toggle: the confirmation and the refreshed menu, independent calls, at once.
    async fn toggled(
        &self,
        turn: &Turn,
        press: &PressId,
        message: Option<MessageId>,
        toggle: Toggle,
        applied: storyline_domain::ports::AppliedChange,
    ) -> Result<(), BotError> {
        let (note, alert) = match (toggle, applied.after.flag(toggle)) {
            (Toggle::DryRun, on) => (format!("Dry run {}", if on { "ON" } else { "off" }), false),
            // Switched on with nothing to publish to: say so, or the team waits for stories
            // the API will never publish.
            (Toggle::InstagramApi, true) => match self.api_problem(turn, &applied.after).await? {
                Some(problem) => {
                    (format!("Instagram API ON, but {problem}: stories come here for manual posting until then."), true)
                }
                None => ("Instagram API ON".to_owned(), false),
            },
            (Toggle::InstagramApi, false) => ("Instagram API off".to_owned(), false),
            (Toggle::Paused, true) => ("Paused".to_owned(), false),
            (Toggle::Paused, false) => ("Resumed".to_owned(), false),
        };
        // Telegram shows at most 200 characters of an answer.
        let note: String = note.chars().take(200).collect();
        let screen = after_save(self.settings_screen_of(turn, &applied.after).await)?;
        let (answered, shown) =
            concurrently::both(self.ports.notifier.answer(press, &note, alert), self.show(turn, message, &screen))
                .await;
        match (answered, shown) {
            (Ok(()), Ok(())) => Ok(()),
            // The menu shows the new state: the change is not lost on anyone.
            (Err(error), Ok(())) => {
                tracing::warn!(error = %error_chain(&error), "could not answer a press; the menu shows the change");
                Ok(())
            }
            (_, Err(error)) => Err(BotError::Saved(Box::new(error))),
        }
    }

    /// Shows `screen` in place of `message`, or as a new message when that one is gone.
    async fn show(&self, turn: &Turn, message: Option<MessageId>, screen: &Screen) -> Result<(), BotError> {
        if let Some(message) = message {
            match self.ports.notifier.edit(turn.chat(), message, screen).await {
                Ok(()) => return Ok(()),
                Err(NotifyError::MessageGone) => {}
                Err(error) => return Err(error.into()),
            }
        }
        self.ports.notifier.send(turn.chat(), screen).await?;
        Ok(())
    }

    async fn cancel_prompt(&self, turn: &Turn) -> Result<(), BotError> {
        let Some(member) = &turn.from else {
            return Ok(());
        };
        let had = self.ports.conversations.clear(turn.workspace.id, member.user.telegram_id).await?;
        let text = if had { "Cancelled; nothing changed." } else { "There was nothing to cancel." };
        self.say(turn, text).await.map(|_| ())
    }

    /// A message that may answer a Change prompt (S3). Messages from people with no prompt
    /// waiting are not for the bot.
    async fn answer_prompt(&self, turn: &Turn, text: &str, message: MessageId) -> Result<(), BotError> {
        let Some(member) = &turn.from else {
            return Ok(());
        };
        let user = member.user.telegram_id;
        let prompt = self.ports.conversations.pending(turn.workspace.id, user, self.ports.clock.now()).await?;
        let asked_for_account = prompt.as_ref().is_some_and(|p| p.kind == PromptKind::InstagramAccount);
        if !asked_for_account && storyline_domain::account::looks_like_token(text) {
            // A token pasted without the dialogue (or after it expired): off the chat at once.
            return self.delete_token_message(turn, message, true).await;
        }
        let Some(prompt) = prompt else {
            return Ok(());
        };
        if prompt.kind == PromptKind::InstagramAccount {
            return self.account_answer(turn, text, message).await;
        }
        if answers::is_cancel(text) {
            return self.cancel_prompt(turn).await;
        }
        if let Err(refusal) = self.allowed(turn, Operation::Answer(prompt.kind)).await {
            self.ports.conversations.clear(turn.workspace.id, user).await?;
            return self.say(turn, refusal).await.map(|_| ());
        }
        let change = match answers::parse(prompt.kind, text) {
            Ok(change) => change,
            Err(problem) => {
                return self
                    .say(turn, format!("{problem} Nothing changed; try again, or send cancel."))
                    .await
                    .map(|_| ());
            }
        };
        let applied = match self.settings.change(turn.workspace.id, change, &turn.actor()).await {
            Ok(applied) => applied,
            Err(SettingsError::Invalid(problem)) => {
                let text = format!("That doesn't work: {problem}. Nothing changed; try again, or send cancel.");
                return self.say(turn, text).await.map(|_| ());
            }
            Err(other) => return Err(other.into()),
        };
        after_save(self.after_prompt_change(turn, user, prompt.message_id, &applied).await)
    }

    /// What follows a change typed as an answer: the prompt cleared, the confirmation, the menu.
    async fn after_prompt_change(
        &self,
        turn: &Turn,
        user: TelegramUserId,
        menu: Option<i32>,
        applied: &storyline_domain::ports::AppliedChange,
    ) -> Result<(), BotError> {
        self.ports.conversations.clear(turn.workspace.id, user).await?;
        let said = if applied.changes.is_empty() {
            "That is already the value; nothing changed.".to_owned()
        } else {
            applied
                .changes
                .iter()
                .map(|c| format!("✅ {}: {} → {}", answers::label(c.key), c.old, c.new))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let said = match self.replan_after(turn, applied).await? {
            0 => said,
            moved => format!("{said}\n🗓 Moved {moved} upcoming stories to the new schedule."),
        };
        self.say(turn, said).await?;
        if let Some(menu) = menu {
            let screen = self.settings_screen_of(turn, &applied.after).await?;
            match self.ports.notifier.edit(turn.chat(), MessageId(menu), &screen).await {
                Ok(()) | Err(NotifyError::MessageGone) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
