//! `/settings import` (FEATURES T3): the settings file sent to the chat as a document, checked
//! whole, what it would change shown with Apply / Cancel, and applied in one transaction
//! (audited) only on Apply.
//!
//! Two prompts of the person who asked carry it: [`PromptKind::SettingsFile`] waits for the
//! file; [`PromptKind::SettingsImport`] holds the checked file's text (no token, no secret)
//! until Apply or Cancel on the message that showed its changes. Another person's file or press
//! does not move it, and a file nobody asked for is never fetched.

use storyline_domain::chat::{SentFile, Text};
use storyline_domain::ports::{AppliedImport, FileError};
use storyline_domain::settings::export::ImportChange;

use super::*;
use crate::settings::transfer::{ImportPlan, MAX_IMPORT_BYTES, TransferError};

/// Said after a file that was refused: the prompt stays, so a corrected file may follow.
const TRY_AGAIN: &str = "Nothing changed; send a corrected file, or cancel.";
/// Said for an Apply or Cancel that no import of this person's waits for.
pub(super) const IMPORT_GONE: &str = "This import is not waiting any more (applied, cancelled, expired, or someone else's). /settings import starts again.";

/// The store's failure behind a transfer; a refusal is answered before this is asked.
fn failed(error: TransferError) -> BotError {
    match error {
        TransferError::Settings(error) => error.into(),
        refused => BotError::Settings(SettingsError::Unknown(anyhow::Error::new(refused))),
    }
}

/// "Posts per day: 3 → 7", "Category mix: memes=100 → memes=70 merch=30".
fn change_line(change: &ImportChange) -> String {
    match change {
        ImportChange::Setting(field) => format!("• {}: {} → {}", answers::label(field.key), field.old, field.new),
        ImportChange::Mix { old: Some(old), new } => format!("• Category mix: {old} → {new}"),
        ImportChange::Mix { old: None, new } => format!("• Category mix: (none) → {new}"),
    }
}

/// What the file would change, and what it holds that an import leaves alone.
fn plan_text(plan: &ImportPlan) -> Text {
    let mut text = Text::new().bold("📥 Importing this file would change:");
    for change in &plan.changes {
        text = text.line().plain(change_line(change));
    }
    for note in &plan.not_imported {
        text = text.line().italic(note.clone());
    }
    text.line().plain("Nothing changes until you press Apply.")
}

/// What was applied, and how many upcoming stories moved to the new schedule.
fn applied_text(plan: &ImportPlan, applied: &AppliedImport, moved: u64) -> Text {
    if applied.changes.is_empty() && !applied.mix_changed {
        return Text::new().plain("Nothing changed: the settings already matched the file.");
    }
    let mut text = Text::new().bold("✅ Imported:");
    for field in &applied.changes {
        text = text.line().plain(change_line(&ImportChange::Setting(field.clone())));
    }
    if applied.mix_changed
        && let Some(mix) = plan.changes.iter().find(|change| matches!(change, ImportChange::Mix { .. }))
    {
        text = text.line().plain(change_line(mix));
    }
    if moved > 0 {
        text = text.line().plain(format!("🗓 Moved {moved} upcoming stories to the new schedule."));
    }
    text
}

impl Bot {
    /// `/settings import`, `/import`: asks the person for the file. The caller has asked the
    /// table.
    pub(super) async fn ask_for_settings_file(&self, turn: &Turn) -> Result<(), BotError> {
        if self.transfer.is_none() || self.files.is_none() {
            let said = "Importing a file in the chat is not set up here; on the server, \
                        `storyline settings import FILE --chat CHAT` imports one.";
            return self.say(turn, said).await.map(|_| ());
        }
        let Some(member) = &turn.from else {
            let said = "An import needs a person to send the file: use /settings import in a group, or \
                        `storyline settings import FILE --chat CHAT` on the server.";
            return self.say(turn, said).await.map(|_| ());
        };
        let prompt =
            PendingPrompt::new(member.user.telegram_id, PromptKind::SettingsFile, None, self.ports.clock.now());
        self.ports.conversations.put(turn.workspace.id, &prompt).await?;
        let asked = Text::new()
            .plain("📥 Send the settings file (the .json file /settings export makes) as your next message. ")
            .plain("I show what it would change before anything changes. Send ")
            .code("cancel")
            .plain(" to stop; this expires in 10 minutes.");
        self.say(turn, asked).await.map(|_| ())
    }

    /// A document sent to the workspace's chat: the settings file of the sender's import, if
    /// they asked for one; any other file is not for the bot and is not fetched.
    pub(super) async fn settings_file(
        &self,
        turn: &Turn,
        file: &SentFile,
        caption: &str,
        message: MessageId,
    ) -> Result<(), BotError> {
        let Some(member) = &turn.from else { return Ok(()) };
        let (user, now) = (member.user.telegram_id, self.ports.clock.now());
        let prompt = self.ports.conversations.pending(turn.workspace.id, user, now).await?;
        if prompt.as_ref().map(|prompt| prompt.kind) != Some(PromptKind::SettingsFile) {
            // Not a file an import waits for: the file is its caption, as before there were
            // imports (a prompt refuses it or takes `cancel`, a token in it is deleted).
            return self.answer_waiting(turn, prompt, caption, message).await;
        }
        let (Some(transfer), Some(files)) = (&self.transfer, &self.files) else { return Ok(()) };
        if let Err(refusal) = self.allowed(turn, Operation::Answer(PromptKind::SettingsFile)).await {
            self.ports.conversations.clear(turn.workspace.id, user).await?;
            return self.say(turn, refusal).await.map(|_| ());
        }
        let too_large = || format!("That file is over 1 MB; a settings file is a few kilobytes. {TRY_AGAIN}");
        if file.size.is_some_and(|size| size > MAX_IMPORT_BYTES) {
            return self.say(turn, too_large()).await.map(|_| ());
        }
        let bytes = match files.fetch(file, MAX_IMPORT_BYTES).await {
            Ok(bytes) => bytes,
            Err(FileError::TooLarge { .. }) => return self.say(turn, too_large()).await.map(|_| ()),
            Err(other) => return Err(other.into()),
        };
        let Ok(text) = String::from_utf8(bytes) else {
            let said =
                format!("That file is not text: a settings file is JSON, as /settings export makes it. {TRY_AGAIN}");
            return self.say(turn, said).await.map(|_| ());
        };
        let plan = match transfer.plan(turn.workspace.id, &text).await {
            Ok(plan) => plan,
            Err(refused) if refused.is_refusal() => {
                return self.say(turn, format!("Not imported: {refused}. {TRY_AGAIN}")).await.map(|_| ());
            }
            Err(other) => return Err(failed(other)),
        };
        if plan.changes.is_empty() {
            self.ports.conversations.clear(turn.workspace.id, user).await?;
            let mut said = Text::new().plain("The file matches this workspace's settings: nothing to import.");
            for note in &plan.not_imported {
                said = said.line().italic(note.clone());
            }
            return self.say(turn, said).await.map(|_| ());
        }
        let screen = Screen::new(plan_text(&plan)).row(vec![
            screens::button("✅ Apply", Action::ApplyImport, &turn.workspace),
            screens::button("✖ Cancel", Action::CancelImport, &turn.workspace),
        ]);
        let shown = self.say(turn, screen).await?;
        let waiting = PendingPrompt::new(user, PromptKind::SettingsImport, Some(shown.0), now).with_draft(vec![text]);
        self.ports.conversations.put(turn.workspace.id, &waiting).await?;
        Ok(())
    }

    /// A message from someone whose import waits for a file or a press: `cancel` ends it,
    /// anything else gets a hint.
    pub(super) async fn import_text(&self, turn: &Turn, prompt: &PendingPrompt, text: &str) -> Result<(), BotError> {
        if answers::is_cancel(text) {
            if prompt.kind == PromptKind::SettingsImport
                && let Some(shown) = prompt.message_id
            {
                self.replace_quietly(turn, MessageId(shown), "Import cancelled; nothing changed.").await?;
            }
            return self.cancel_prompt(turn).await;
        }
        let said = match prompt.kind {
            PromptKind::SettingsFile => {
                "Send the settings file itself, as a file (📎 → File), or send cancel. Nothing changed."
            }
            _ => "Press Apply or Cancel under the changes I showed, or send cancel. Nothing changed.",
        };
        self.say(turn, said).await.map(|_| ())
    }

    /// Apply or Cancel under an import's changes: only the person whose import it is, on the
    /// message that showed them. The caller has asked the table.
    pub(super) async fn import_press(
        &self,
        turn: &Turn,
        press: &PressId,
        apply: bool,
        message: Option<MessageId>,
    ) -> Result<(), BotError> {
        let notifier = &self.ports.notifier;
        let (Some(member), Some(transfer)) = (&turn.from, &self.transfer) else {
            notifier.answer(press, IMPORT_GONE, true).await?;
            return Ok(());
        };
        let now = self.ports.clock.now();
        let waiting = self.ports.conversations.pending(turn.workspace.id, member.user.telegram_id, now).await?;
        let waiting = waiting.filter(|prompt| {
            prompt.kind == PromptKind::SettingsImport
                && prompt.message_id.is_some()
                && prompt.message_id == message.map(|m| m.0)
        });
        let Some(waiting) = waiting else {
            notifier.answer(press, IMPORT_GONE, true).await?;
            return Ok(());
        };
        let (workspace, user) = (turn.workspace.id, member.user.telegram_id);
        if !apply {
            self.ports.conversations.clear(workspace, user).await?;
            notifier.answer(press, "Cancelled", false).await?;
            return self.show(turn, message, &Screen::new("Import cancelled; nothing changed.")).await;
        }
        let file = waiting.draft.first().map_or("", String::as_str);
        let (plan, applied) = match transfer.import(workspace, file, &turn.actor()).await {
            Ok(done) => done,
            Err(refused) if refused.is_refusal() => {
                // The library lost a category the mix names since the file was checked.
                self.ports.conversations.clear(workspace, user).await?;
                notifier.answer(press, "Not imported", false).await?;
                let said = format!("Not imported: {refused}. Nothing changed.");
                return self.show(turn, message, &Screen::new(said)).await;
            }
            Err(other) => return Err(failed(other)),
        };
        after_save(
            async {
                self.ports.conversations.clear(workspace, user).await?;
                notifier.answer(press, "Imported", false).await?;
                let moved = self.replan_after(turn, &applied.changes).await?;
                self.show(turn, message, &Screen::new(applied_text(&plan, &applied, moved))).await
            }
            .await,
        )
    }

    /// Replaces `message` with `text` and no buttons; a message already gone is fine.
    async fn replace_quietly(&self, turn: &Turn, message: MessageId, text: &str) -> Result<(), BotError> {
        match self.ports.notifier.edit(turn.chat(), message, &Screen::new(text)).await {
            Ok(()) | Err(NotifyError::MessageGone) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}
