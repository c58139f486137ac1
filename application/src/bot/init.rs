//! `/init` (FEATURES T1): without `TELEGRAM_CHAT_ID` the bot serves every chat that has set up a
//! workspace, and a chat without one hears only `/start`, `/help` and `/init`. The wizard asks
//! one question at a time ([`storyline_domain::init`] decides), each answer checked as the
//! settings prompts check theirs; it lives in the store (it survives a restart), times out after
//! 30 minutes, and can be cancelled. Confirming creates the workspace, its settings and its owner
//! in one transaction, then starts the media source or add-account dialogue if one was chosen.
//!
//! Wizard buttons carry `1:init:<code>`: there is no workspace yet to bind them to, and a press
//! arrives with the chat of the message it was on, so another chat cannot answer this one's.

use chrono_tz::Tz;
use storyline_domain::chat::{Button, ButtonTarget, Text};
use storyline_domain::init::{
    AccountChoice, COMMON_ZONES, InitAnswer, InitError, InitStep, InitWizard, MediaChoice, WIZARD_LIFETIME,
};
use storyline_domain::ports::{Founded, InitWizards};
use storyline_domain::settings::SettingChange;
use storyline_domain::source::SourceKind;

use super::*;

/// What a chat without a workspace hears for anything but `/start`, `/help` and `/init`.
pub const NO_WORKSPACE: &str = "This chat has no workspace yet: /init sets one up (about a minute).";
/// Said to someone `INIT_ALLOWED_USER_IDS` does not list.
pub const INIT_REFUSED: &str =
    "Only the people this deployment's operator allows can set up a workspace here; ask them to add you.";

mod questions;

pub(super) use questions::is_wizard_press;
use questions::{InitPress, question, typed_answer};

impl Bot {
    /// Adds `/init` and multi-workspace chats: the wizards live in `wizards`.
    #[must_use]
    pub fn with_init(mut self, wizards: Arc<dyn InitWizards>) -> Self {
        self.wizards = Some(wizards);
        self
    }

    /// An update from a chat with no workspace (only without `TELEGRAM_CHAT_ID`): `/start`,
    /// `/help` and `/init` are answered, and the wizard's answers and buttons; the rest gets
    /// [`NO_WORKSPACE`] once per burst, or nothing.
    pub(super) async fn unclaimed(&self, incoming: &Incoming) -> Result<(), BotError> {
        let Some(wizards) = &self.wizards else {
            return self.refuse_other_chat(incoming).await;
        };
        let chat = incoming.chat;
        let now = self.ports.clock.now();
        let from = incoming.from.as_ref().map(|u| u.telegram_id);
        match &incoming.event {
            Event::Command { name, args, .. } => match Command::parse(name, args) {
                Ok(Command::Start) => self.tell(chat, Screen::new(NO_WORKSPACE)).await,
                Ok(Command::Help) => self.tell(chat, screens::help()).await,
                Ok(Command::Init) => self.start_wizard(incoming).await,
                Ok(Command::Cancel) => {
                    let Some(wizard) = wizards.pending(chat, now).await? else {
                        return self.tell(chat, Screen::new("Nothing to cancel: no setup is under way here.")).await;
                    };
                    if Some(wizard.user) != from {
                        return self
                            .tell(chat, Screen::new("Only the person who started the setup can cancel it."))
                            .await;
                    }
                    wizards.clear(chat).await?;
                    self.tell(chat, Screen::new("Setup cancelled; nothing was created. /init starts again.")).await
                }
                _ => {
                    if self.first_refusal(chat, from, NO_WORKSPACE) {
                        self.tell(chat, Screen::new(NO_WORKSPACE)).await?;
                    }
                    Ok(())
                }
            },
            Event::Text { text, .. } => {
                let Some(wizard) = wizards.pending(chat, now).await? else { return Ok(()) };
                if Some(wizard.user) != from {
                    return Ok(());
                }
                if answers::is_cancel(text) {
                    wizards.clear(chat).await?;
                    return self
                        .tell(chat, Screen::new("Setup cancelled; nothing was created. /init starts again."))
                        .await;
                }
                let answer = match typed_answer(wizard.step, text) {
                    Ok(answer) => answer,
                    Err(problem) => return self.tell(chat, Screen::new(problem)).await,
                };
                self.advance(incoming, wizard, answer, None).await
            }
            Event::Press { id, data, message } => {
                let notifier = &self.ports.notifier;
                let Some(press) = InitPress::decode(data) else {
                    let shown: String = data.chars().take(64).collect();
                    tracing::warn!(data = %shown, "refused a button press in a chat without a workspace");
                    notifier.answer(id, NO_WORKSPACE, false).await?;
                    return Ok(());
                };
                let Some(wizard) = wizards.pending(chat, now).await? else {
                    notifier.answer(id, "This setup has ended; /init starts again.", true).await?;
                    return Ok(());
                };
                if Some(wizard.user) != from {
                    notifier.answer(id, "Only the person who started the setup can answer it.", true).await?;
                    return Ok(());
                }
                notifier.answer(id, "", false).await?;
                let mut wizard = wizard;
                match press {
                    InitPress::Cancel => {
                        wizards.clear(chat).await?;
                        let text = "Setup cancelled; nothing was created. /init starts again.";
                        self.replace(chat, *message, &Screen::new(text)).await
                    }
                    InitPress::Back => {
                        wizard.back(now);
                        self.ask(chat, wizard, *message).await
                    }
                    InitPress::Confirm if wizard.step == InitStep::Summary => {
                        self.confirm(incoming, &wizard, *message).await
                    }
                    InitPress::Confirm => self.ask(chat, wizard, *message).await,
                    InitPress::Keep => self.advance(incoming, wizard, InitAnswer::Keep, *message).await,
                    InitPress::Zone(index) => {
                        let zone: Tz = COMMON_ZONES[index];
                        self.advance(incoming, wizard, InitAnswer::TimeZone(zone), *message).await
                    }
                    InitPress::Media(media) => self.advance(incoming, wizard, InitAnswer::Media(media), *message).await,
                    InitPress::Account(account) => {
                        self.advance(incoming, wizard, InitAnswer::Account(account), *message).await
                    }
                }
            }
            Event::Document { .. } | Event::Joined | Event::Left | Event::MovedTo(_) => Ok(()),
        }
    }

    /// Whether a wizard in this chat waits for this person's answer (a text or a press).
    pub(super) async fn wizard_waits_for(&self, incoming: &Incoming) -> Result<bool, BotError> {
        let (Some(wizards), Some(from)) = (&self.wizards, &incoming.from) else { return Ok(false) };
        if !matches!(incoming.event, Event::Text { .. } | Event::Press { .. }) {
            return Ok(false);
        }
        let pending = wizards.pending(incoming.chat, self.ports.clock.now()).await?;
        Ok(pending.is_some_and(|wizard| wizard.user == from.telegram_id))
    }

    /// `/init` in a chat without a workspace.
    async fn start_wizard(&self, incoming: &Incoming) -> Result<(), BotError> {
        let Some(wizards) = &self.wizards else { return Ok(()) };
        let chat = incoming.chat;
        let Some(user) = &incoming.from else {
            // A channel post names no sender: its admin answers the wizard in a private chat.
            let text = Text::new()
                .plain("A channel post does not say who sent it, so the setup runs in a private chat: an administrator of this channel opens my profile, presses Start and sends me ")
                .code(format!("/init {chat}"))
                .plain(". I need to be an administrator of the channel to see who its administrators are.");
            return self.tell(chat, Screen::new(text)).await;
        };
        if let Some(allowed) = &self.config.init_allowed
            && !allowed.contains(&user.telegram_id)
            && !self.config.admin_ids.contains(&user.telegram_id)
        {
            tracing::info!(user_id = user.telegram_id.0, "refused /init: not in INIT_ALLOWED_USER_IDS");
            return self.tell(chat, Screen::new(INIT_REFUSED)).await;
        }
        let mut channel = None;
        if chat.0 == user.telegram_id.0 {
            let Event::Command { args, .. } = &incoming.event else { return Ok(()) };
            match self.channel_to_set_up(user.telegram_id, args).await? {
                Ok(target) => channel = Some(target),
                Err(refusal) => return self.tell(chat, Screen::new(refusal)).await,
            }
        }
        let now = self.ports.clock.now();
        if let Some(under_way) = wizards.pending(chat, now).await?
            && under_way.user != user.telegram_id
        {
            let left = (under_way.expires_at - now).num_minutes().max(1);
            let text = format!(
                "Someone else is setting up this chat; their setup ends in {left} min if they do not finish it."
            );
            return self.tell(chat, Screen::new(text)).await;
        }
        let title = incoming
            .chat_title
            .clone()
            .unwrap_or_else(|| if channel.is_some() { "Channel" } else { "Team" }.to_owned());
        let mut wizard = InitWizard::start(user.telegram_id, &title, self.settings.defaults(), now);
        if let Some(channel) = channel {
            wizard = wizard.for_channel(channel);
        }
        tracing::info!(chat_id = %chat, lifetime_min = WIZARD_LIFETIME.num_minutes(), "an /init wizard started");
        self.ask(chat, wizard, None).await
    }

    /// Takes one answer; a wrong one is said and changes nothing.
    async fn advance(
        &self,
        incoming: &Incoming,
        mut wizard: InitWizard,
        answer: InitAnswer,
        message: Option<MessageId>,
    ) -> Result<(), BotError> {
        let now = self.ports.clock.now();
        if let Err(problem) = wizard.answer(answer, now) {
            return self.tell(incoming.chat, Screen::new(problem.to_string())).await;
        }
        self.ask(incoming.chat, wizard, message).await
    }

    /// Shows the wizard's current question (in place of `message` when it came from a button)
    /// and stores the wizard with it.
    async fn ask(&self, chat: ChatId, mut wizard: InitWizard, message: Option<MessageId>) -> Result<(), BotError> {
        let Some(wizards) = &self.wizards else { return Ok(()) };
        let screen = question(&wizard);
        let shown = match message {
            Some(message) => match self.ports.notifier.edit(chat, message, &screen).await {
                Ok(()) => message,
                Err(NotifyError::MessageGone) => self.ports.notifier.send(chat, &screen).await?,
                Err(error) => return Err(error.into()),
            },
            None => self.ports.notifier.send(chat, &screen).await?,
        };
        wizard.message_id = Some(shown.0);
        wizards.put(chat, &wizard).await?;
        Ok(())
    }

    /// Confirm: the workspace, its settings and its owner in one transaction, then the dialogue
    /// chosen for the media source or the account.
    async fn confirm(
        &self,
        incoming: &Incoming,
        wizard: &InitWizard,
        message: Option<MessageId>,
    ) -> Result<(), BotError> {
        let (Some(wizards), Some(user)) = (&self.wizards, &incoming.from) else { return Ok(()) };
        let chat = incoming.chat;
        let now = self.ports.clock.now();
        // Still an administrator of the channel, half an hour on?
        if let Some(channel) = wizard.channel
            && let Err(refusal) = self.channel_to_set_up(user.telegram_id, &channel.to_string()).await?
        {
            wizards.clear(chat).await?;
            return self.replace(chat, message, &Screen::new(format!("{refusal} Nothing was created."))).await;
        }
        let workspace = match wizards.found(chat, &wizard.founding(user.clone()), now).await? {
            Founded::Created(workspace) => workspace,
            Founded::AlreadyThere(workspace) => {
                let text = format!("This chat already has a workspace, {}; /settings changes it.", workspace.name);
                return self.replace(chat, message, &Screen::new(text)).await;
            }
        };
        self.workspaces.lock().unwrap_or_else(PoisonError::into_inner).insert(workspace.chat_id, workspace.clone());
        let done = Text::new().bold(format!("{} is set up.", workspace.name)).plain(
            " You are its owner. /settings shows and changes everything; /schedule fills the queue once \
                    there is media.",
        );
        let done = if workspace.chat_id == chat {
            done
        } else {
            done.plain(" Post those commands in the channel; questions with secrets come here.")
        };
        self.replace(chat, message, &Screen::new(done)).await?;
        if workspace.chat_id != chat {
            let hello = format!(
                "{} is set up here: stories for this channel come to this chat. /help lists the commands.",
                workspace.name
            );
            // The workspace exists whether or not the channel hears it.
            if let Err(error) = self.tell(workspace.chat_id, Screen::new(hello)).await {
                tracing::warn!(error = %error_chain(&error), "could not greet the channel just set up");
            }
        }
        let member = self.contact(workspace.id, user, now).await?;
        let turn = Turn { chat, workspace, from: Some(member) };
        // One dialogue at a time: the media source first, then the account.
        let first = match (wizard.media, wizard.account) {
            (MediaChoice::S3, _) => Some(super::source_dialogue::first_prompt(SourceKind::S3)),
            (MediaChoice::Drive, _) => Some(super::source_dialogue::first_prompt(SourceKind::Drive)),
            (MediaChoice::Folder, AccountChoice::Add) => Some(PromptKind::InstagramAccount),
            (MediaChoice::Folder, AccountChoice::Later) => None,
        };
        let Some(kind) = first else { return Ok(()) };
        if kind == PromptKind::InstagramAccount
            && let Ok(links) = self.login_links(&turn, None).await?
        {
            let shown = self.deliver_links(&turn, links, None).await?;
            return self.say(&turn, shown).await.map(|_| ());
        }
        let prompt = PendingPrompt::new(user.telegram_id, kind, None, now);
        self.ports.conversations.put(turn.workspace.id, &prompt).await?;
        let mut screen = if kind == PromptKind::InstagramAccount {
            screens::add_account_prompt(None)
        } else {
            screens::source_prompt(kind)
        };
        if kind != PromptKind::InstagramAccount && wizard.account == AccountChoice::Add {
            screen.text = screen.text.line().line().plain("Then /settings → Accounts adds the Instagram account.");
        }
        self.say(&turn, screen).await.map(|_| ())
    }

    /// `/init <channel id>` in a private chat: the channel `person` may set up, or why not.
    async fn channel_to_set_up(&self, person: TelegramUserId, args: &str) -> Result<Result<ChatId, String>, BotError> {
        let how = "/init here sets up a channel: send /init followed by the channel's id, which the channel is \
                   told when /init is posted there (for example /init -1001234567890). A group is set up with /init \
                   in the group itself.";
        let Some(target) = args.trim().parse::<i64>().ok().filter(|id| *id < 0).map(ChatId) else {
            return Ok(Err(how.to_owned()));
        };
        if let Some(workspace) = self.settings.existing_workspace(target).await? {
            return Ok(Err(format!(
                "That chat already has a workspace, {}; /settings there changes it.",
                workspace.name
            )));
        }
        match self.ports.admins.administrators(target).await {
            Ok(admins) if admins.contains(&person) => Ok(Ok(target)),
            Ok(_) => Ok(Err("Only an administrator of that channel can set it up.".to_owned())),
            Err(error) => {
                tracing::info!(chat_id = %target, error = %error_chain(&error), "could not read a channel's administrators for /init");
                Ok(Err("I cannot see that channel's administrators: add me to the channel as an administrator, then \
                        send /init with its id again."
                    .to_owned()))
            }
        }
    }

    /// Sends `screen` to `chat`.
    async fn tell(&self, chat: ChatId, screen: Screen) -> Result<(), BotError> {
        self.ports.notifier.send(chat, &screen).await?;
        Ok(())
    }
}
