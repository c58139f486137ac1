//! One incoming handled to the end: the outage, the rate limits, the chat's workspace (or the
//! wizard and the private chat where there is none), the person and the audit line, then the
//! command, answer, file or press; a failure becomes one short sentence for the chat.

use super::*;

impl Bot {
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

    /// Forgets what another process changed ([`storyline_domain::ports::ChangeFeed`]): a role
    /// changed elsewhere counts at this bot's next update, not after its short reuse time.
    pub fn forget_changed(&self, changed: &storyline_domain::ports::Changed) {
        use storyline_domain::ports::Changed;
        match changed {
            Changed::Member { workspace, user } => self.contacts.forget(&(*workspace, *user)),
            Changed::Accounts { workspace } => self.active_accounts.forget(workspace),
            Changed::Everything => {
                self.contacts.clear();
                self.active_accounts.clear();
                self.media_lines.clear();
            }
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
    pub(super) fn first_refusal(&self, chat: ChatId, from: Option<TelegramUserId>, kind: &'static str) -> bool {
        let now = self.ports.clock.now();
        let key = (chat, from, kind);
        let repeated = self.refusals.get(&key, now).is_some();
        self.refusals.put(key, (), now);
        !repeated
    }

    pub(super) async fn try_handle(&self, incoming: Incoming) -> Result<(), BotError> {
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
            // No import outside a workspace's chat: a file is its caption.
            let incoming = Incoming { event: incoming.event.caption_as_text(), ..incoming };
            if self.private_account_answer(&incoming).await? || self.private_start(&incoming).await? {
                return Ok(());
            }
            return self.refuse_other_chat(&incoming).await;
        }
        let Some(workspace) = self.workspace(&incoming).await? else {
            let incoming = Incoming { event: incoming.event.caption_as_text(), ..incoming };
            // A channel's wizard runs in its admin's private chat: its answers are the wizard's,
            // not a dialogue's still open in another workspace.
            if !self.wizard_waits_for(&incoming).await?
                && (self.private_account_answer(&incoming).await? || self.private_start(&incoming).await?)
            {
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
            Event::Document { file, caption, message } => self.settings_file(&turn, &file, &caption, message).await,
            Event::Press { id, data, message } => self.press(&turn, &id, &data, message).await,
            Event::Joined | Event::Left | Event::MovedTo(_) => Ok(()),
        }
    }

    pub(super) async fn refuse_other_chat(&self, incoming: &Incoming) -> Result<(), BotError> {
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
}
