//! The posting loop and the story desk (FEATURES C4, C6, C7): due stories go to the chat with
//! Posted / Skip / Reject; presses resolve them; the queue commands read and change the queue.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use storyline_domain::chat::{Attachment, Button, ButtonTarget, MessageId, Screen, Text};
use storyline_domain::ports::{
    ChatNotifier, Clock, History, Locks, MediaSource, NotifyError, Queue, SendFailure, SettingsStore, StoreError,
};
use storyline_domain::queue::{Claimed, MAX_SEND_ATTEMPTS, Outcome, QueueEntry, QueueItemId, Resolution};
use storyline_domain::user::Actor;
use storyline_domain::{ChatId, WorkspaceId};

use crate::bot::action::{Action, StoryMove};
use crate::bot::error_chain;
use crate::scheduling::Scheduler;

/// How long a claimed item may stay `sending` before another tick may claim it again (a
/// process that died mid-send).
pub const SEND_LEASE: Duration = Duration::minutes(5);
/// The most stories one tick sends (one per workspace).
pub const CLAIMS_PER_TICK: u32 = 200;
/// Where "Open Instagram" goes.
pub const INSTAGRAM_URL: &str = "https://www.instagram.com/";

/// What one tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TickReport {
    pub sent: u32,
    /// Failed this time; tried again next tick.
    pub retrying: u32,
    /// Failed for the last time: a failed history row and a message in the chat.
    pub gave_up: u32,
}

/// The story desk: sends due stories and resolves the presses on them.
#[derive(Clone)]
pub struct Stories {
    queue: Arc<dyn Queue>,
    history: Arc<dyn History>,
    locks: Arc<dyn Locks>,
    settings: Arc<dyn SettingsStore>,
    source: Arc<dyn MediaSource>,
    notifier: Arc<dyn ChatNotifier>,
    clock: Arc<dyn Clock>,
    scheduler: Scheduler,
}

impl std::fmt::Debug for Stories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stories").finish_non_exhaustive()
    }
}

/// The ports the story desk works through.
#[derive(Clone)]
pub struct StoryPorts {
    pub queue: Arc<dyn Queue>,
    pub history: Arc<dyn History>,
    pub locks: Arc<dyn Locks>,
    pub settings: Arc<dyn SettingsStore>,
    pub source: Arc<dyn MediaSource>,
    pub notifier: Arc<dyn ChatNotifier>,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for StoryPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoryPorts").finish_non_exhaustive()
    }
}

/// The caption of a story waiting for a press, with its buttons.
#[must_use]
pub fn story_screen(workspace: WorkspaceId, entry: &QueueEntry, due: &str) -> Screen {
    let item = entry.item.id;
    let press = |label: &str, step: StoryMove| Button {
        label: label.to_owned(),
        target: ButtonTarget::Press(Action::Story(step, item).encode(workspace)),
    };
    Screen::new(caption(entry, due))
        .row(vec![
            press("✅ Posted", StoryMove::Posted),
            press("⏭ Skip", StoryMove::Skip),
            press("🚫 Reject", StoryMove::Reject),
        ])
        .row(vec![Button {
            label: "📲 Open Instagram".to_owned(),
            target: ButtonTarget::Link(INSTAGRAM_URL.to_owned()),
        }])
}

fn caption(entry: &QueueEntry, due: &str) -> Text {
    Text::new()
        .bold("📸 Story due ")
        .bold(due.to_owned())
        .plain(" · ")
        .plain(entry.category.to_string())
        .line()
        .code(entry.path.clone())
}

/// The caption once a story is handled: what happened, by whom; no buttons.
#[must_use]
pub fn resolved_screen(path: &str, outcome: Outcome, by: &str) -> Screen {
    let what = match outcome {
        Outcome::Posted => "✅ Posted",
        Outcome::Skipped => "⏭ Skipped",
        Outcome::Rejected => "🚫 Rejected",
        Outcome::Failed => "⚠️ Failed",
    };
    let text = Text::new().bold(what).plain(" by ").plain(by.to_owned()).line().code(path.to_owned());
    Screen::new(if outcome == Outcome::Rejected {
        text.line().plain("It will never be scheduled again.")
    } else {
        text
    })
}

/// The confirmation asked before a Reject.
#[must_use]
pub fn confirm_reject_screen(workspace: WorkspaceId, entry_path: &str, item: QueueItemId) -> Screen {
    let press = |label: &str, step: StoryMove| Button {
        label: label.to_owned(),
        target: ButtonTarget::Press(Action::Story(step, item).encode(workspace)),
    };
    Screen::new(
        Text::new()
            .bold("Reject this story for good?")
            .line()
            .code(entry_path.to_owned())
            .line()
            .plain("It will never be scheduled again."),
    )
    .row(vec![press("🚫 Yes, reject", StoryMove::ConfirmReject), press("↩️ Keep it", StoryMove::KeepIt)])
}

impl Stories {
    #[must_use]
    pub fn new(ports: StoryPorts, scheduler: Scheduler) -> Self {
        let StoryPorts { queue, history, locks, settings, source, notifier, clock } = ports;
        Self { queue, history, locks, settings, source, notifier, clock, scheduler }
    }

    /// One tick of the posting loop: claims what is due in every workspace that is not paused
    /// (at most one story per workspace, so after downtime nothing bursts) and sends each.
    ///
    /// # Errors
    /// When the claim itself fails; a failure to send one story is handled (retry, then a failed
    /// history row and a message) and not returned.
    pub async fn tick(&self) -> Result<TickReport, StoreError> {
        let now = self.clock.now();
        let claimed = self.queue.claim_due(now, SEND_LEASE, CLAIMS_PER_TICK).await?;
        let mut report = TickReport::default();
        for claim in claimed {
            match self.send(&claim).await {
                Ok(()) => report.sent += 1,
                Err(SendFailure::GaveUp) => report.gave_up += 1,
                Err(_) => report.retrying += 1,
            }
        }
        Ok(report)
    }

    /// Claims and sends a workspace's next story now (/next, `process-queue --force`), with
    /// whether the send worked.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn send_next(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Option<(QueueEntry, Result<(), SendFailure>)>, StoreError> {
        let Some(claim) = self.queue.claim_next(workspace, self.clock.now(), SEND_LEASE).await? else {
            return Ok(None);
        };
        // A failure is recorded (retry or give up) like any tick's, and returned.
        let sent = self.send(&claim).await;
        Ok(Some((claim.entry, sent)))
    }

    fn due_text(&self, chat_zone: chrono_tz::Tz, slot: DateTime<Utc>) -> String {
        slot.with_timezone(&chat_zone).format("%a %H:%M").to_string()
    }

    /// Sends one claimed story; on failure records it (retry next tick, or give up).
    async fn send(&self, claim: &Claimed) -> Result<(), SendFailure> {
        let entry = &claim.entry;
        let workspace = entry.item.workspace;
        let result = self.try_send(claim).await;
        let error = match result {
            Ok(message) => {
                match self.queue.mark_sent(workspace, entry.item.id, message.0, self.clock.now()).await {
                    Ok(true) => {}
                    Ok(false) => tracing::info!(item = %entry.item.id, "a story was sent after it left the queue"),
                    Err(error) => tracing::error!(error = %error_chain(&error), item = %entry.item.id,
                        "a story was sent but could not be marked; its lease will run out and it may be sent again"),
                }
                tracing::info!(workspace_id = %workspace, item = %entry.item.id, path = %entry.path, "story sent");
                return Ok(());
            }
            Err(error) => error,
        };
        tracing::warn!(workspace_id = %workspace, item = %entry.item.id, attempt = entry.item.attempts, error = %error, "could not send a story");
        let outcome = match self.queue.send_failed(workspace, entry.item.id, &error, self.clock.now()).await {
            Ok(outcome) => outcome,
            Err(store) => {
                tracing::error!(error = %error_chain(&store), "could not record a failed send; the lease will retry it");
                return Err(SendFailure::WillRetry(entry.item.attempts));
            }
        };
        if outcome == SendFailure::GaveUp {
            let text = Text::new()
                .bold(format!("⚠️ Could not send a story after {MAX_SEND_ATTEMPTS} tries; it is marked failed."))
                .line()
                .code(entry.path.clone())
                .line()
                .plain(error);
            if let Err(told) = self.notifier.send(claim.chat, &Screen::new(text)).await {
                tracing::error!(error = %error_chain(&told), "could not tell the chat about a failed story");
            }
        }
        Err(outcome)
    }

    async fn try_send(&self, claim: &Claimed) -> Result<MessageId, String> {
        let entry = &claim.entry;
        let settings = self.settings.settings(entry.item.workspace).await.map_err(|e| error_chain(&e))?;
        let bytes = self.source.read(&entry.path).await.map_err(|e| error_chain(&e))?;
        let file_name = entry.path.rsplit('/').next().unwrap_or(&entry.path).to_owned();
        let attachment = Attachment { kind: entry.kind, file_name, location: self.source.locate(&entry.path), bytes };
        let screen = story_screen(entry.item.workspace, entry, &self.due_text(settings.time_zone, entry.item.slot));
        self.notifier.send_media(claim.chat, &attachment, &screen).await.map_err(|e| error_chain(&e))
    }

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
            story_screen(workspace, &entry, &self.due_text(settings.time_zone, entry.item.slot))
        };
        match self.notifier.edit_caption(chat, message, &screen).await {
            Ok(()) | Err(NotifyError::MessageGone) => Ok(String::new()),
            Err(error) => Err(error.into()),
        }
    }

    /// The queue, for /queue and `list-queue`.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn queue(&self, workspace: WorkspaceId, limit: u32) -> Result<Vec<QueueEntry>, StoreError> {
        self.queue.entries(workspace, limit).await
    }

    /// The scheduler behind /schedule.
    #[must_use]
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// The store behind the queue commands.
    #[must_use]
    pub fn queue_store(&self) -> &Arc<dyn Queue> {
        &self.queue
    }

    /// The history store.
    #[must_use]
    pub fn history_store(&self) -> &Arc<dyn History> {
        &self.history
    }

    /// The locks store.
    #[must_use]
    pub fn locks_store(&self) -> &Arc<dyn Locks> {
        &self.locks
    }

    /// Now, by the desk's clock.
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
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
