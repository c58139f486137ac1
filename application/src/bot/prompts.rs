//! Answers to Change prompts (FEATURES S3): typed values, "cancel", and the replanned queue.

use super::*;

impl Bot {
    pub(super) async fn cancel_prompt(&self, turn: &Turn) -> Result<(), BotError> {
        let Some(member) = &turn.from else {
            return Ok(());
        };
        let had = self.ports.conversations.clear(turn.workspace.id, member.user.telegram_id).await?;
        let text = if had { "Cancelled; nothing changed." } else { "There was nothing to cancel." };
        self.say(turn, text).await.map(|_| ())
    }

    /// A message that may answer a Change prompt (S3). Messages from people with no prompt
    /// waiting are not for the bot.
    pub(super) async fn answer_prompt(&self, turn: &Turn, text: &str, message: MessageId) -> Result<(), BotError> {
        let Some(member) = &turn.from else {
            return Ok(());
        };
        let user = member.user.telegram_id;
        let prompt = self.ports.conversations.pending(turn.workspace.id, user, self.ports.clock.now()).await?;
        self.answer_waiting(turn, prompt, text, message).await
    }

    /// [`Self::answer_prompt`] with the person's prompt already read.
    pub(super) async fn answer_waiting(
        &self,
        turn: &Turn,
        prompt: Option<PendingPrompt>,
        text: &str,
        message: MessageId,
    ) -> Result<(), BotError> {
        let Some(member) = &turn.from else {
            return Ok(());
        };
        let user = member.user.telegram_id;
        let asked_for_secret = prompt.as_ref().is_some_and(|p| p.kind.is_secret());
        if !asked_for_secret && storyline_domain::account::looks_like_token(text) {
            // A token pasted without the dialogue (or after it expired): off the chat at once.
            return self.delete_token_message(turn, message, true).await;
        }
        let Some(prompt) = prompt else {
            return Ok(());
        };
        if prompt.kind == PromptKind::InstagramAccount {
            return self.account_answer(turn, text, message).await;
        }
        if prompt.kind.is_source() {
            return self.source_answer(turn, prompt, text, message).await;
        }
        if prompt.kind.is_import() {
            return self.import_text(turn, &prompt, text).await;
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
    pub(super) async fn after_prompt_change(
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
        let said = match self.replan_after(turn, &applied.changes).await? {
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
