//! Button presses: the codec decodes, the access table decides, the settings change or the
//! story desk acts, and the menu is edited in place.

use super::*;

impl Bot {
    pub(super) async fn press(
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
                let note = if init::is_wizard_press(data) {
                    "This chat is set up already; /settings changes it."
                } else {
                    "This button is no longer valid. Open /settings again."
                };
                self.ports.notifier.answer(press, note, false).await?;
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
            Action::MediaSource | Action::PickSource(_) => self.source_press(turn, press, action, message).await,
            Action::Accounts
            | Action::SelectAccount(_)
            | Action::AddAccount
            | Action::PasteToken
            | Action::Reconnect(_)
            | Action::PickLogin(..) => self.account_press(turn, press, action, message).await,
            Action::SetRole(user, role) => self.set_role_press(turn, press, user, role, message).await,
            Action::ApplyImport => self.import_press(turn, press, true, message).await,
            Action::CancelImport => self.import_press(turn, press, false, message).await,
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
    pub(super) async fn toggled(
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
    pub(super) async fn show(&self, turn: &Turn, message: Option<MessageId>, screen: &Screen) -> Result<(), BotError> {
        self.replace(turn.chat(), message, screen).await
    }

    /// Shows `screen` in place of `message` in `chat`, or as a new message when there is none
    /// (or it is gone).
    pub(super) async fn replace(
        &self,
        chat: ChatId,
        message: Option<MessageId>,
        screen: &Screen,
    ) -> Result<(), BotError> {
        if let Some(message) = message {
            match self.ports.notifier.edit(chat, message, screen).await {
                Ok(()) => return Ok(()),
                Err(NotifyError::MessageGone) => {}
                Err(error) => return Err(error.into()),
            }
        }
        self.ports.notifier.send(chat, screen).await?;
        Ok(())
    }
}
