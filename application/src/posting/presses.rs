//! Presses on a story: Posted / Skip / Reject (with its confirmation), Keep it, and "always by
//! hand" (FEATURES C4, C5).

use storyline_domain::chat::MessageId;
use storyline_domain::ports::{NotifyError, StoreError};
use storyline_domain::queue::{Outcome, QueueItemId, Resolution};
use storyline_domain::user::Actor;
use storyline_domain::{ChatId, WorkspaceId};

use super::Stories;
use super::screens::{confirm_reject_screen, due_text, resolved_screen, story_screen};
use crate::action::StoryMove;

impl Stories {
    /// A press on a story's button. Returns the note for the press, and edits the story.
    ///
    /// # Errors
    /// When the store or the chat fails.
    pub async fn press(
        &self,
        on: StoryMessage,
        step: StoryMove,
        item: QueueItemId,
        actor: &Actor,
        by: &str,
    ) -> Result<String, PressError> {
        let StoryMessage { chat, workspace, message } = on;
        let outcome = match step {
            StoryMove::Posted => Outcome::Posted,
            StoryMove::Skip => Outcome::Skipped,
            StoryMove::ConfirmReject => Outcome::Rejected,
            StoryMove::Reject | StoryMove::KeepIt => {
                return self.reject_step(chat, workspace, message, step, item).await;
            }
            StoryMove::NeedsInteraction => return self.mark_interactive(chat, workspace, message, item).await,
        };
        match self.queue.resolve(workspace, item, outcome, actor, self.clock.now()).await? {
            Resolution::Resolved { outcome, path } => {
                if let Some(message) = message {
                    match self.notifier.edit_caption(chat, message, &resolved_screen(&path, outcome, by)).await {
                        Ok(()) | Err(NotifyError::MessageGone) => {}
                        Err(error) => return Err(error.into()),
                    }
                }
                Ok(match outcome {
                    Outcome::Posted => "Marked as posted".to_owned(),
                    Outcome::Skipped => "Skipped".to_owned(),
                    _ => "Rejected".to_owned(),
                })
            }
            Resolution::AlreadyHandled(outcome) => Ok(format!("Already handled: {outcome}. Nothing changed.")),
            Resolution::NotFound => Ok("This story is no longer in the queue.".to_owned()),
        }
    }

    async fn reject_step(
        &self,
        chat: ChatId,
        workspace: WorkspaceId,
        message: Option<MessageId>,
        step: StoryMove,
        item: QueueItemId,
    ) -> Result<String, PressError> {
        let Some(entry) = self.queue.entry(workspace, item).await? else {
            return Ok("This story is no longer in the queue.".to_owned());
        };
        let Some(message) = message else { return Ok(String::new()) };
        let screen = if step == StoryMove::Reject {
            confirm_reject_screen(workspace, &entry.path, item)
        } else {
            let settings = self.settings.settings(workspace).await?;
            story_screen(workspace, &entry, &due_text(settings.time_zone, entry.item.slot))
        };
        match self.notifier.edit_caption(chat, message, &screen).await {
            Ok(()) | Err(NotifyError::MessageGone) => Ok(String::new()),
            Err(error) => Err(error.into()),
        }
    }

    /// "Always by hand": marks the story's media as needing interaction, so the API never
    /// publishes it (C5), and drops the button from the story.
    async fn mark_interactive(
        &self,
        chat: ChatId,
        workspace: WorkspaceId,
        message: Option<MessageId>,
        item: QueueItemId,
    ) -> Result<String, PressError> {
        let Some(mut entry) = self.queue.entry(workspace, item).await? else {
            return Ok("This story is no longer in the queue.".to_owned());
        };
        self.library.set_needs_interaction(workspace, entry.item.media, true).await?;
        entry.needs_interaction = true;
        if let Some(message) = message {
            let settings = self.settings.settings(workspace).await?;
            let screen = story_screen(workspace, &entry, &due_text(settings.time_zone, entry.item.slot));
            match self.notifier.edit_caption(chat, message, &screen).await {
                Ok(()) | Err(NotifyError::MessageGone) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok("Marked: this media always comes here for manual posting".to_owned())
    }
}

/// Where a press on a story happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoryMessage {
    pub chat: ChatId,
    pub workspace: WorkspaceId,
    /// The message carrying the story, when Telegram still shows it.
    pub message: Option<MessageId>,
}

/// A press on a story could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum PressError {
    #[error("the store failed")]
    Store(#[from] StoreError),
    #[error("the chat could not be reached")]
    Notify(#[from] NotifyError),
}
