//! The posting loop and the story desk (FEATURES C4, C6, C7): due stories go to the chat with
//! Posted / Skip / Reject; presses resolve them; the queue commands read and change the queue.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use storyline_domain::account::TokenNotice;
use storyline_domain::chat::{Attachment, Button, ButtonTarget, MessageId, Screen, Text};
use storyline_domain::ports::{
    AccountStore, ChatNotifier, Clock, ContainerId, ContainerStatus, History, HostedMedia, Locks, MediaHost,
    MediaLibrary, MediaSource, NotifyError, PublishError, PublishTarget, Queue, SendFailure, SettingsStore, StoreError,
    StoryPublisher, TokenVault,
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
    library: Arc<dyn MediaLibrary>,
    scheduler: Scheduler,
    publishing: Option<Publishing>,
    /// Why each workspace's stories last went the manual way, so the chat is warned once.
    fallbacks: Arc<Mutex<HashMap<WorkspaceId, String>>>,
}

/// What publishing through the Graph API needs (FEATURES C5, A7, M4).
#[derive(Clone)]
pub struct Publishing {
    pub accounts: Arc<dyn AccountStore>,
    pub vault: Arc<dyn TokenVault>,
    pub publisher: Arc<dyn StoryPublisher>,
    pub host: Arc<dyn MediaHost>,
}

impl std::fmt::Debug for Publishing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publishing").finish_non_exhaustive()
    }
}

/// How long a media URL given to Meta stays valid.
pub const MEDIA_URL_LIFETIME: Duration = Duration::hours(1);

/// What the API path decided for one story.
enum ApiPath {
    /// Published; the item is done.
    Published,
    /// Dry run: everything but the publishing call happened; the story goes to the chat too.
    DryRun,
    /// The API cannot be used now (why, for the chat): the story goes the manual way.
    Manual(String),
    /// A passing failure: the item goes back to the queue for the next tick.
    Retry(String),
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
    pub library: Arc<dyn MediaLibrary>,
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
        .row(if entry.needs_interaction {
            vec![open_instagram()]
        } else {
            vec![open_instagram(), press("🔗 Always by hand", StoryMove::NeedsInteraction)]
        })
}

fn open_instagram() -> Button {
    Button { label: "📲 Open Instagram".to_owned(), target: ButtonTarget::Link(INSTAGRAM_URL.to_owned()) }
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

/// What the chat is told after Storyline published a story.
#[must_use]
pub fn published_screen(entry: &QueueEntry, account: &str, media_id: Option<&str>) -> Screen {
    let text =
        Text::new().bold("✅ Published to Instagram as ").bold(account.to_owned()).line().code(entry.path.clone());
    Screen::new(match media_id {
        Some(id) => text.line().plain("Instagram media id ").code(id.to_owned()),
        None => text.line().plain("(an earlier try had already published it)"),
    })
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
        let StoryPorts { queue, history, locks, settings, source, notifier, clock, library } = ports;
        Self {
            library,
            queue,
            history,
            locks,
            settings,
            source,
            notifier,
            clock,
            scheduler,
            publishing: None,
            fallbacks: Arc::default(),
        }
    }

    /// Adds publishing through the Graph API, used when a workspace turns the Instagram API on.
    #[must_use]
    pub fn with_publishing(mut self, publishing: Publishing) -> Self {
        self.publishing = Some(publishing);
        self
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
        let result = match self.api_path(claim).await {
            None | Some(ApiPath::DryRun) => self.try_send(claim).await,
            Some(ApiPath::Published) => return Ok(()),
            Some(ApiPath::Manual(why)) => {
                self.warn_fallback(claim, &why).await;
                self.try_send(claim).await
            }
            Some(ApiPath::Retry(why)) if entry.item.attempts >= MAX_SEND_ATTEMPTS => {
                // The last try: rather than fail the story, hand it to the team.
                self.warn_fallback(claim, &why).await;
                self.try_send(claim).await
            }
            Some(ApiPath::Retry(why)) => Err(why),
        };
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

    /// The Graph API path (C5), when the workspace has the Instagram API on and the media can
    /// be published by the API; `None` means the manual path.
    async fn api_path(&self, claim: &Claimed) -> Option<ApiPath> {
        let publishing = self.publishing.as_ref()?;
        let entry = &claim.entry;
        let settings = match self.settings.settings(entry.item.workspace).await {
            Ok(settings) => settings,
            Err(error) => return Some(ApiPath::Retry(error_chain(&error))),
        };
        if !settings.instagram_api || entry.needs_interaction {
            return None;
        }
        Some(match self.publish(publishing, claim, settings.dry_run).await {
            Ok(path) => path,
            Err(error) => ApiPath::Retry(error_chain(&error)),
        })
    }

    async fn publish(&self, api: &Publishing, claim: &Claimed, dry_run: bool) -> Result<ApiPath, StoreError> {
        let entry = &claim.entry;
        let (workspace, item) = (entry.item.workspace, entry.item.id);
        let Some(account) = api.accounts.active(workspace).await? else {
            return Ok(ApiPath::Manual("no Instagram account is selected (/settings → Instagram account)".to_owned()));
        };
        let credential = match api.vault.credential(workspace, account.id).await {
            Ok(Some(credential)) => credential,
            Ok(None) => return Ok(ApiPath::Manual(format!("{} has no token", account.label()))),
            Err(error) => {
                tracing::error!(error = %error_chain(&error), "could not open the account's token");
                return Ok(ApiPath::Manual(format!("the token of {} cannot be decrypted", account.label())));
            }
        };
        let now = self.clock.now();
        if credential.expires_at.is_some_and(|at| at <= now) {
            api.vault.set_notice(workspace, account.id, Some(TokenNotice::Dead)).await?;
            return Ok(ApiPath::Manual(format!("the token of {} has expired", account.label())));
        }
        let target =
            PublishTarget { instagram_id: account.instagram_id.clone(), login: account.login, token: credential.token };
        let who = account.label();
        let classify = |error: PublishError| async move {
            match error {
                PublishError::TokenInvalid(why) => {
                    api.vault.set_notice(workspace, account.id, Some(TokenNotice::Dead)).await?;
                    Ok(ApiPath::Manual(format!("Instagram refused the token of {}: {why}", account.label())))
                }
                PublishError::RateLimited(why) => Ok(ApiPath::Manual(format!("Instagram's rate limit: {why}"))),
                PublishError::Failed(why) => Ok(ApiPath::Manual(format!("Instagram refused the story: {why}"))),
                PublishError::Transient(why) => Ok(ApiPath::Retry(why)),
            }
        };
        match api.publisher.quota(&target).await {
            Ok(quota) if quota.exhausted() => {
                return Ok(ApiPath::Manual(format!(
                    "the publishing quota is used up ({} of {} in 24 hours)",
                    quota.used, quota.total
                )));
            }
            Ok(_) => {}
            Err(error) => return classify(error).await,
        }
        // A container made by an earlier try of this item (a crash, a timeout) is used again,
        // so the story is never published twice.
        let mut container = None;
        if let Some(earlier) = entry.item.container.clone().map(ContainerId) {
            match api.publisher.wait_ready(&target, &earlier).await {
                Ok(ContainerStatus::Published) => {
                    tracing::info!(%item, "an earlier try already published this story; not publishing it again");
                    self.queue.published(workspace, item, None, self.clock.now()).await?;
                    self.tell(claim.chat, published_screen(entry, &who, None)).await;
                    return Ok(ApiPath::Published);
                }
                Ok(ContainerStatus::Finished) => container = Some(earlier),
                Ok(ContainerStatus::InProgress) => return Ok(ApiPath::Retry("Instagram is still processing".into())),
                Ok(ContainerStatus::Error(_) | ContainerStatus::Expired) => {}
                Err(error) => return classify(error).await,
            }
        }
        let container = match container {
            Some(container) => container,
            None => {
                let url = match api.host.url(workspace, entry.item.media, entry.kind, now + MEDIA_URL_LIFETIME) {
                    Ok(url) => url,
                    Err(error) => return Ok(ApiPath::Manual(error.to_string())),
                };
                let media = HostedMedia { kind: entry.kind, url };
                let made = match api.publisher.create_container(&target, &media).await {
                    Ok(made) => made,
                    Err(error) => return classify(error).await,
                };
                if !dry_run {
                    self.queue.set_container(workspace, item, &made.0).await?;
                }
                match api.publisher.wait_ready(&target, &made).await {
                    Ok(ContainerStatus::Finished) => made,
                    Ok(ContainerStatus::Published) if !dry_run => {
                        self.queue.published(workspace, item, None, self.clock.now()).await?;
                        return Ok(ApiPath::Published);
                    }
                    Ok(ContainerStatus::InProgress) => {
                        return Ok(ApiPath::Retry("Instagram is still processing the media".into()));
                    }
                    Ok(ContainerStatus::Error(why)) => {
                        return Ok(ApiPath::Manual(format!("Instagram could not process the media: {why}")));
                    }
                    Ok(ContainerStatus::Expired | ContainerStatus::Published) => {
                        return Ok(ApiPath::Retry("the media container expired".into()));
                    }
                    Err(error) => return classify(error).await,
                }
            }
        };
        if dry_run {
            let text = Text::new()
                .bold("🧪 Dry run: would have published this story to ")
                .bold(who.clone())
                .plain(" through the Instagram API")
                .line()
                .code(entry.path.clone())
                .line()
                .plain("Everything but the publishing call worked. It comes next for manual posting.");
            self.tell(claim.chat, Screen::new(text)).await;
            return Ok(ApiPath::DryRun);
        }
        let media_id = match api.publisher.publish(&target, &container).await {
            Ok(media_id) => media_id,
            Err(error) => return classify(error).await,
        };
        self.queue.published(workspace, item, Some(media_id.0.clone()), self.clock.now()).await?;
        tracing::info!(workspace_id = %workspace, %item, media_id = %media_id.0, "story published through the Graph API");
        self.fallbacks.lock().unwrap_or_else(PoisonError::into_inner).remove(&workspace);
        self.tell(claim.chat, published_screen(entry, &who, Some(&media_id.0))).await;
        Ok(ApiPath::Published)
    }

    /// Tells the chat once per reason that stories go the manual way.
    async fn warn_fallback(&self, claim: &Claimed, why: &str) {
        let workspace = claim.entry.item.workspace;
        let news = self.fallbacks.lock().unwrap_or_else(PoisonError::into_inner).insert(workspace, why.to_owned())
            != Some(why.to_owned());
        tracing::warn!(workspace_id = %workspace, reason = %why, "publishing through the Instagram API is not possible; manual path");
        if news {
            let text = Text::new()
                .bold("⚠️ Instagram API: ")
                .plain(why.to_owned())
                .line()
                .plain("Stories come to this chat for manual posting until that is fixed. (Said once.)");
            self.tell(claim.chat, Screen::new(text)).await;
        }
    }

    async fn tell(&self, chat: ChatId, screen: Screen) {
        if let Err(error) = self.notifier.send(chat, &screen).await {
            tracing::warn!(error = %error_chain(&error), "could not tell the chat");
        }
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
            story_screen(workspace, &entry, &self.due_text(settings.time_zone, entry.item.slot))
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
            let screen = story_screen(workspace, &entry, &self.due_text(settings.time_zone, entry.item.slot));
            match self.notifier.edit_caption(chat, message, &screen).await {
                Ok(()) | Err(NotifyError::MessageGone) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok("Marked: this media always comes here for manual posting".to_owned())
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
