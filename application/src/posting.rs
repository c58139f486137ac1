//! The posting loop and the story desk (FEATURES C4, C6, C7): due stories go to the chat with
//! Posted / Skip / Reject; presses resolve them; the queue commands read and change the queue.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use storyline_domain::account::{Account, AccountId, TokenNotice};
use storyline_domain::chat::{Attachment, Button, ButtonTarget, MessageId, Screen, Text};
use storyline_domain::ports::{
    AccountStore, ChatNotifier, Clock, ContainerId, ContainerStatus, History, HostedMedia, Locks, MediaHost,
    MediaLibrary, MediaSource, NotifyError, PublishError, PublishTarget, Queue, SendFailure, SettingsStore, StoreError,
    StoryPublisher, TokenVault, VaultError,
};
use storyline_domain::queue::{Claimed, MAX_SEND_ATTEMPTS, Outcome, QueueEntry, QueueItemId, Resolution};
use storyline_domain::settings::ChatSettings;
use storyline_domain::user::Actor;
use storyline_domain::{ChatId, WorkspaceId};

use crate::action::{Action, StoryMove};
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

/// A container made at Meta, and the account that made it (only its token can ask about it),
/// as the queue item keeps it: `<account uuid>:<container id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Made {
    account: AccountId,
    container: ContainerId,
}

impl Made {
    fn encode(&self) -> String {
        format!("{}:{}", self.account.compact(), self.container.0)
    }

    fn parse(text: &str) -> Option<Self> {
        let (account, container) = text.split_once(':')?;
        Some(Self { account: AccountId::parse(account)?, container: ContainerId(container.to_owned()) })
    }
}

/// The account publishing a story, with its Graph API identity and token.
struct Target {
    account: Account,
    target: PublishTarget,
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
    /// Another process claimed the item after this one's lease ran out: leave it alone.
    Superseded,
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
        // Read once: both the API path and the story's caption need them.
        let settings = self.settings.settings(workspace).await.map_err(|e| error_chain(&e));
        let path = match &settings {
            Ok(settings) => self.api_path(claim, settings).await,
            Err(why) if self.publishing.is_some() => Some(ApiPath::Retry(why.clone())),
            Err(_) => None,
        };
        let result = match path {
            None | Some(ApiPath::DryRun) => self.send_by_hand(claim, &settings).await,
            Some(ApiPath::Published) => return Ok(()),
            Some(ApiPath::Superseded) => return Err(SendFailure::NotSending),
            Some(ApiPath::Manual(why)) => {
                self.warn_fallback(claim, &why).await;
                self.send_by_hand(claim, &settings).await
            }
            // A container exists: Instagram may show the story already, so it is never handed
            // to the team as well. After the last try it is failed, and the chat told to check.
            Some(ApiPath::Retry(why)) if entry.item.container.is_some() || self.container_made(claim).await => {
                Err(if entry.item.attempts >= MAX_SEND_ATTEMPTS {
                    format!("{why}. Instagram may already show this story: check before posting it by hand.")
                } else {
                    why
                })
            }
            Some(ApiPath::Retry(why)) if entry.item.attempts >= MAX_SEND_ATTEMPTS => {
                // The last try, nothing made at Meta: rather than fail the story, hand it to the team.
                self.warn_fallback(claim, &why).await;
                self.send_by_hand(claim, &settings).await
            }
            Some(ApiPath::Retry(why)) => Err(why),
        };
        let error = match result {
            Ok(None) => return Err(SendFailure::NotSending),
            Ok(Some(message)) => {
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
        if !self.still_ours(claim).await {
            return Err(SendFailure::NotSending);
        }
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
            self.tell(claim.chat, Screen::new(text)).await;
        }
        Err(outcome)
    }

    /// The Graph API path (C5), when the workspace has the Instagram API on and the media can
    /// be published by the API; `None` means the manual path.
    async fn api_path(&self, claim: &Claimed, settings: &ChatSettings) -> Option<ApiPath> {
        let publishing = self.publishing.as_ref()?;
        let entry = &claim.entry;
        let earlier = entry.item.container.as_deref().and_then(Made::parse);
        if earlier.is_none() && (!settings.instagram_api || entry.needs_interaction) {
            return None;
        }
        let path = match &earlier {
            // An earlier try made a container: what became of it decides, before anything else.
            Some(made) => self.resume(publishing, claim, made, settings).await,
            None => self.publish(publishing, claim, settings.dry_run).await,
        };
        Some(match path {
            // Dry run never holds up the Telegram path.
            Ok(ApiPath::Retry(why)) if settings.dry_run && earlier.is_none() => {
                ApiPath::Manual(format!("dry run, the API check did not finish: {why}"))
            }
            Ok(path) => path,
            Err(error) if settings.dry_run && earlier.is_none() => {
                ApiPath::Manual(format!("dry run, the API check did not finish: {}", error_chain(&error)))
            }
            Err(error) => ApiPath::Retry(error_chain(&error)),
        })
    }

    /// Whether this claim may have made a container at Meta (the item's row says so, or
    /// cannot be read).
    async fn container_made(&self, claim: &Claimed) -> bool {
        let entry = &claim.entry;
        // Only a row read back without a container proves that none was made.
        !matches!(
            self.queue.entry(entry.item.workspace, entry.item.id).await,
            Ok(Some(now)) if now.item.container.is_none()
        )
    }

    /// Who publishes for the workspace now: the active account and its live token.
    async fn target(&self, api: &Publishing, workspace: WorkspaceId) -> Result<Result<Target, ApiPath>, StoreError> {
        let Some(account) = api.accounts.active(workspace).await? else {
            return Ok(Err(ApiPath::Manual(
                "no Instagram account is selected (/settings → Instagram account)".to_owned(),
            )));
        };
        self.target_of(api, workspace, account).await
    }

    async fn target_of(
        &self,
        api: &Publishing,
        workspace: WorkspaceId,
        account: Account,
    ) -> Result<Result<Target, ApiPath>, StoreError> {
        let credential = match api.vault.credential(workspace, account.id).await {
            Ok(Some(credential)) => credential,
            Ok(None) => return Ok(Err(ApiPath::Manual(format!("{} has no token", account.label())))),
            Err(VaultError::Store(error)) => return Err(error),
            Err(error) => {
                tracing::error!(error = %error_chain(&error), "could not open the account's token");
                return Ok(Err(ApiPath::Manual(crate::accounts::locked_token(&account))));
            }
        };
        if credential.expires_at.is_some_and(|at| at <= self.clock.now()) {
            api.vault.set_notice(workspace, account.id, Some(TokenNotice::Dead)).await?;
            return Ok(Err(ApiPath::Manual(format!("the token of {} has expired", account.label()))));
        }
        let target =
            PublishTarget { instagram_id: account.instagram_id.clone(), login: account.login, token: credential.token };
        Ok(Ok(Target { account, target }))
    }

    /// What a refused call means for the story. With `made`, a container exists and only a
    /// definite refusal of the publishing call itself may send the story the manual way.
    async fn refused(
        &self,
        api: &Publishing,
        workspace: WorkspaceId,
        account: &Account,
        error: PublishError,
    ) -> Result<ApiPath, StoreError> {
        Ok(match error {
            PublishError::TokenInvalid(why) => {
                api.vault.set_notice(workspace, account.id, Some(TokenNotice::Dead)).await?;
                ApiPath::Manual(format!("Instagram refused the token of {}: {why}", account.label()))
            }
            PublishError::RateLimited(why) => ApiPath::Manual(format!("Instagram's rate limit: {why}")),
            PublishError::Failed(why) => ApiPath::Manual(format!("Instagram refused the story: {why}")),
            PublishError::Transient(why) => ApiPath::Retry(why),
        })
    }

    /// A new story: quota, container, status, publish (dry run stops before publishing).
    async fn publish(&self, api: &Publishing, claim: &Claimed, dry_run: bool) -> Result<ApiPath, StoreError> {
        let entry = &claim.entry;
        let (workspace, item) = (entry.item.workspace, entry.item.id);
        let Target { account, target } = match self.target(api, workspace).await? {
            Ok(target) => target,
            Err(path) => return Ok(path),
        };
        match api.publisher.quota(&target).await {
            Ok(quota) if quota.exhausted() => {
                return Ok(ApiPath::Manual(format!(
                    "the publishing quota is used up ({} of {} in 24 hours)",
                    quota.used, quota.total
                )));
            }
            Ok(_) => {}
            Err(error) => return self.refused(api, workspace, &account, error).await,
        }
        let now = self.clock.now();
        let url = match api.host.url(workspace, entry.item.media, entry.kind, now + MEDIA_URL_LIFETIME) {
            Ok(url) => url,
            Err(error) => return Ok(ApiPath::Manual(error.to_string())),
        };
        let media = HostedMedia { kind: entry.kind, url };
        let container = match api.publisher.create_container(&target, &media).await {
            Ok(container) => container,
            Err(error) => return self.refused(api, workspace, &account, error).await,
        };
        let made = Made { account: account.id, container };
        if !dry_run && !self.remember(claim, &made).await? {
            return Ok(ApiPath::Superseded);
        }
        let status = match api.publisher.wait_ready(&target, &made.container).await {
            Ok(status) => status,
            Err(error) if dry_run => return self.refused(api, workspace, &account, error).await,
            Err(error) => return Ok(ApiPath::Retry(error.to_string())),
        };
        match status {
            ContainerStatus::Finished if dry_run => {
                let text = Text::new()
                    .bold("🧪 Dry run: would have published this story to ")
                    .bold(account.label())
                    .plain(" through the Instagram API")
                    .line()
                    .code(entry.path.clone())
                    .line()
                    .plain("Everything but the publishing call worked. It comes next for manual posting.");
                self.tell(claim.chat, Screen::new(text)).await;
                Ok(ApiPath::DryRun)
            }
            ContainerStatus::Finished => self.publish_made(api, claim, &account, &target, &made).await,
            ContainerStatus::Error(why) if dry_run => {
                Ok(ApiPath::Manual(format!("dry run: Instagram could not process the media: {why}")))
            }
            ContainerStatus::Error(why) => {
                // Nothing was published: the container is dropped and the team posts it.
                Ok(ApiPath::Manual(format!("Instagram could not process the media: {why}")))
            }
            ContainerStatus::InProgress => Ok(ApiPath::Retry("Instagram is still processing the media".into())),
            ContainerStatus::Expired => Ok(ApiPath::Retry("the media container expired".into())),
            ContainerStatus::Published if dry_run => {
                Ok(ApiPath::Manual("dry run: Instagram reported a new container as published".to_owned()))
            }
            ContainerStatus::Published => {
                // Not asked to publish, yet it is: record what Instagram shows.
                tracing::warn!(%item, "a new container reported itself published");
                self.record_published(claim, &account, None).await
            }
        }
    }

    /// A retry of an item whose container an earlier try made (a crash, a timeout, a store
    /// failure after publishing): its status decides, so it is never published twice.
    async fn resume(
        &self,
        api: &Publishing,
        claim: &Claimed,
        made: &Made,
        settings: &ChatSettings,
    ) -> Result<ApiPath, StoreError> {
        let workspace = claim.entry.item.workspace;
        let Some(account) = api.accounts.account(workspace, made.account).await? else {
            return Ok(ApiPath::Retry("the account that made the container is gone".into()));
        };
        let Target { account, target } = match self.target_of(api, workspace, account).await? {
            Ok(target) => target,
            Err(ApiPath::Manual(why)) => return Ok(ApiPath::Retry(why)),
            Err(other) => return Ok(other),
        };
        if !self.remember(claim, made).await? {
            return Ok(ApiPath::Superseded);
        }
        match api.publisher.wait_ready(&target, &made.container).await {
            Ok(ContainerStatus::Published) => {
                tracing::info!(item = %claim.entry.item.id, "an earlier try already published this story; not publishing it again");
                self.record_published(claim, &account, None).await
            }
            // Ready but not published: publish it only if the team still wants this account to
            // publish it now; otherwise nothing is on Instagram and the team posts it.
            Ok(ContainerStatus::Finished) => {
                let active = api.accounts.active(workspace).await?.map(|a| a.id);
                let why = if settings.dry_run {
                    Some("dry run was turned on before this story was published")
                } else if !settings.instagram_api {
                    Some("the Instagram API was turned off before this story was published")
                } else if claim.entry.needs_interaction {
                    Some("this media was marked to always go by hand")
                } else if !account.enabled || active != Some(account.id) {
                    Some("the account was switched before this story was published")
                } else {
                    None
                };
                match why {
                    Some(why) => Ok(ApiPath::Manual(why.to_owned())),
                    None => self.publish_made(api, claim, &account, &target, made).await,
                }
            }
            Ok(ContainerStatus::Error(why)) => {
                Ok(ApiPath::Manual(format!("Instagram could not process the media: {why}")))
            }
            Ok(ContainerStatus::Expired) => {
                // Containers that were never published expire after 24 hours.
                Ok(ApiPath::Manual("the media container expired before it was published".to_owned()))
            }
            Ok(ContainerStatus::InProgress) => Ok(ApiPath::Retry("Instagram is still processing the media".into())),
            Err(error) => Ok(ApiPath::Retry(error.to_string())),
        }
    }

    /// Renews the claim and remembers the container; `false` when another process owns the
    /// item now.
    async fn remember(&self, claim: &Claimed, made: &Made) -> Result<bool, StoreError> {
        let item = &claim.entry.item;
        let until = self.clock.now() + SEND_LEASE;
        self.queue.set_container(item.workspace, item.id, item.attempts, &made.encode(), until).await
    }

    async fn publish_made(
        &self,
        api: &Publishing,
        claim: &Claimed,
        account: &Account,
        target: &PublishTarget,
        made: &Made,
    ) -> Result<ApiPath, StoreError> {
        // The claim is checked (and renewed) right before the one call that must not repeat.
        if !self.remember(claim, made).await? {
            return Ok(ApiPath::Superseded);
        }
        match api.publisher.publish(target, &made.container).await {
            Ok(media_id) => self.record_published(claim, account, Some(media_id.0)).await,
            // No answer: it may have gone through. The next try asks the container.
            Err(PublishError::Transient(why)) => Ok(ApiPath::Retry(why)),
            Err(error) => self.refused(api, claim.entry.item.workspace, account, error).await,
        }
    }

    async fn record_published(
        &self,
        claim: &Claimed,
        account: &Account,
        media_id: Option<String>,
    ) -> Result<ApiPath, StoreError> {
        let entry = &claim.entry;
        let workspace = entry.item.workspace;
        if let Err(error) = self.queue.published(workspace, entry.item.id, media_id.clone(), self.clock.now()).await {
            // It is on Instagram. Left as it is, the lease runs out, the next claim asks the
            // container, finds it published and records it; nothing is published again.
            tracing::error!(error = %error_chain(&error), item = %entry.item.id, "published, but could not record it; the next try will");
            return Ok(ApiPath::Superseded);
        }
        tracing::info!(workspace_id = %workspace, item = %entry.item.id, media_id = ?media_id, "story published through the Graph API");
        self.fallbacks.lock().unwrap_or_else(PoisonError::into_inner).remove(&workspace);
        self.tell(claim.chat, published_screen(entry, &account.label(), media_id.as_deref())).await;
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

    /// Whether this claim still owns the item (its lease renewed): another process re-claims
    /// an item whose lease ran out, and then this one must leave it alone. A store failure
    /// here is logged and taken as yes (the lease itself is the last guard).
    async fn still_ours(&self, claim: &Claimed) -> bool {
        let item = &claim.entry.item;
        match self.queue.renew_claim(item.workspace, item.id, item.attempts, self.clock.now() + SEND_LEASE).await {
            Ok(true) => true,
            Ok(false) => {
                tracing::info!(item = %item.id, "another process took this story over; leaving it");
                false
            }
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "could not renew a claim; going on under the lease");
                true
            }
        }
    }

    /// The manual path, if this claim still owns the item: `None` when it does not.
    async fn send_by_hand(
        &self,
        claim: &Claimed,
        settings: &Result<ChatSettings, String>,
    ) -> Result<Option<MessageId>, String> {
        let settings = settings.as_ref().map_err(Clone::clone)?;
        if !self.still_ours(claim).await {
            return Ok(None);
        }
        self.try_send(claim, settings).await.map(Some)
    }

    async fn try_send(&self, claim: &Claimed, settings: &ChatSettings) -> Result<MessageId, String> {
        let entry = &claim.entry;
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
