//! One tick of the posting loop: claim what is due, send it (through the Graph API or by hand),
//! hold the lease, and record a failure (retry, or give up with a message in the chat). The
//! only part of the wing that tells the chat about a send.

use std::sync::PoisonError;

use storyline_domain::chat::{MessageId, Screen};
use storyline_domain::ports::{Attachment, NotifyError, SendFailure, SourceError, StoreError};
use storyline_domain::publishing::{self, AfterRetry, Reason};
use storyline_domain::queue::{Claimed, QueueEntry};
use storyline_domain::settings::ChatSettings;
use storyline_domain::{ChatId, WorkspaceId};

use super::publishing::Api;
use super::screens::{
    dry_run_screen, due_text, fallback_screen, gave_up_screen, history_text, published_screen, story_screen,
};
use super::{CLAIMS_PER_TICK, Stories, TickReport};
use crate::errors::{error_chain, warn_with_reference};

/// Why a send failed this time, and whether Instagram may show the story.
struct Failed {
    reason: Reason,
    maybe_on_instagram: bool,
}

impl Failed {
    fn of(reason: Reason) -> Self {
        Self { reason, maybe_on_instagram: false }
    }
}

impl Stories {
    /// One tick of the posting loop: claims what is due in every workspace that is not paused
    /// (at most one story per workspace, so after downtime nothing bursts) and sends each.
    ///
    /// # Errors
    /// When the claim itself fails; a failure to send one story is handled (retry, then a failed
    /// history row and a message) and not returned.
    pub async fn tick(&self) -> Result<TickReport, StoreError> {
        let now = self.clock.now();
        let claimed = self.queue.claim_due(now, self.lease, CLAIMS_PER_TICK).await?;
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
        let Some(claim) = self.queue.claim_next(workspace, self.clock.now(), self.lease).await? else {
            return Ok(None);
        };
        // A failure is recorded (retry or give up) like any tick's, and returned.
        let sent = self.send(&claim).await;
        Ok(Some((claim.entry, sent)))
    }

    /// Sends one claimed story; on failure records it (retry next tick, or give up).
    async fn send(&self, claim: &Claimed) -> Result<(), SendFailure> {
        let entry = &claim.entry;
        let workspace = entry.item.workspace;
        // Read once: both the API path and the story's caption need them.
        let settings = self
            .settings
            .settings(workspace)
            .await
            .map_err(|e| Reason::StoreFailed(warn_with_reference("could not read a workspace's settings", &e)));
        let api = match &settings {
            Ok(settings) => self.api_path(claim, settings).await,
            Err(reason) if self.publishing.is_some() => Api::Retry(reason.clone()),
            Err(_) => Api::NotUsed,
        };
        let sent = match api {
            Api::NotUsed => self.send_by_hand(claim, &settings).await,
            Api::Superseded => return Err(SendFailure::NotSending),
            Api::Published { account, media_id } => {
                self.fallbacks.lock().unwrap_or_else(PoisonError::into_inner).remove(&workspace);
                if let Some(notices) = &self.notices {
                    // Published again: the next fallback is news, whichever process sees it.
                    if let Err(error) = notices.forget_notice(workspace, super::FALLBACK_TOPIC).await {
                        tracing::warn!(error = %error_chain(&error), "could not forget the manual-path notice");
                    }
                }
                self.tell(claim.chat, published_screen(entry, &account, media_id.as_deref())).await;
                return Ok(());
            }
            Api::DryRun { account } => {
                self.tell(claim.chat, dry_run_screen(entry, &account)).await;
                self.send_by_hand(claim, &settings).await
            }
            Api::Fallback(reason) => {
                self.warn_fallback(claim, &reason).await;
                self.send_by_hand(claim, &settings).await
            }
            Api::Retry(reason) => {
                // A container exists: Instagram may show the story already, so it is never
                // handed to the team as well.
                let may_exist = entry.item.container.is_some() || self.container_made(claim).await;
                match publishing::after_retry(reason, entry.item.attempts, may_exist) {
                    AfterRetry::ByHand(reason) => {
                        // The last try, nothing made at Meta: rather than fail it, the team posts it.
                        self.warn_fallback(claim, &reason).await;
                        self.send_by_hand(claim, &settings).await
                    }
                    AfterRetry::GiveUp(reason) => Err(Failed { reason, maybe_on_instagram: true }),
                    AfterRetry::Retry(reason) => Err(Failed::of(reason)),
                }
            }
        };
        let failed = match sent {
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
            Err(failed) => failed,
        };
        let reference = failed.reason.reference().map(ToString::to_string);
        tracing::warn!(workspace_id = %workspace, item = %entry.item.id, attempt = entry.item.attempts,
            reason = failed.reason.code(), reference = ?reference, "could not send a story");
        if !self.still_ours(claim).await {
            return Err(SendFailure::NotSending);
        }
        let row = history_text(&failed.reason, failed.maybe_on_instagram);
        let outcome = match self.queue.send_failed(workspace, entry.item.id, &row, self.clock.now()).await {
            Ok(outcome) => outcome,
            Err(store) => {
                tracing::error!(error = %error_chain(&store), "could not record a failed send; the lease will retry it");
                return Err(SendFailure::WillRetry(entry.item.attempts));
            }
        };
        if outcome == SendFailure::GaveUp {
            self.tell(claim.chat, gave_up_screen(entry, &failed.reason, failed.maybe_on_instagram)).await;
        }
        Err(outcome)
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

    /// Tells the chat once per reason that stories go the manual way.
    async fn warn_fallback(&self, claim: &Claimed, reason: &Reason) {
        let workspace = claim.entry.item.workspace;
        let key = reason.key();
        let news = match &self.notices {
            Some(notices) => match notices.tell_once(workspace, super::FALLBACK_TOPIC, &key, self.clock.now()).await {
                Ok(news) => news,
                Err(error) => {
                    // Rather told twice than not at all.
                    tracing::warn!(error = %error_chain(&error), "could not record the manual-path notice");
                    true
                }
            },
            None => {
                self.fallbacks.lock().unwrap_or_else(PoisonError::into_inner).insert(workspace, key.clone())
                    != Some(key)
            }
        };
        let reference = reason.reference().map(ToString::to_string);
        tracing::warn!(workspace_id = %workspace, reason = reason.code(), reference = ?reference,
            "publishing through the Instagram API is not possible; manual path");
        if news {
            self.tell(claim.chat, fallback_screen(reason)).await;
        }
    }

    pub(super) async fn tell(&self, chat: ChatId, screen: Screen) {
        if let Err(error) = self.notifier.send(chat, &screen).await {
            tracing::warn!(error = %error_chain(&error), "could not tell the chat");
        }
    }

    /// Renews this claim's lease — and with `container`, keeps it on the item — the one place
    /// the lease is renewed. `Ok(false)`: another process re-claimed the item after this one's
    /// lease ran out, and this one must leave it alone.
    pub(super) async fn renew(&self, claim: &Claimed, container: Option<&str>) -> Result<bool, StoreError> {
        let item = &claim.entry.item;
        let until = self.clock.now() + self.lease;
        let renewed = match container {
            Some(container) => self.queue.set_container(item.workspace, item.id, item.attempts, container, until).await,
            None => self.queue.renew_claim(item.workspace, item.id, item.attempts, until).await,
        };
        if matches!(renewed, Ok(false)) {
            tracing::info!(item = %item.id, "another process took this story over; leaving it");
        }
        renewed
    }

    /// Whether this claim still owns the item (its lease renewed). A store failure here is
    /// logged and taken as yes (the lease itself is the last guard).
    async fn still_ours(&self, claim: &Claimed) -> bool {
        self.renew(claim, None).await.unwrap_or_else(|error| {
            tracing::warn!(error = %error_chain(&error), "could not renew a claim; going on under the lease");
            true
        })
    }

    /// The manual path, if this claim still owns the item: `None` when it does not.
    async fn send_by_hand(
        &self,
        claim: &Claimed,
        settings: &Result<ChatSettings, Reason>,
    ) -> Result<Option<MessageId>, Failed> {
        let settings = settings.as_ref().map_err(|reason| Failed::of(reason.clone()))?;
        if !self.still_ours(claim).await {
            return Ok(None);
        }
        let entry = &claim.entry;
        let unreadable = |e: &SourceError| {
            Failed::of(Reason::MediaUnreadable(warn_with_reference("could not read a story's file", e)))
        };
        let source = self.source_of(entry.item.workspace).await.map_err(|e| unreadable(&e))?;
        // Opened (not read whole) here, so that a file that cannot be read is told as such; the
        // notifier streams it to the chat.
        let opened = source.open(&entry.path).await.map_err(|e| unreadable(&e))?;
        let attachment = Attachment::new(entry.kind, source, &entry.path, opened);
        let screen = story_screen(entry.item.workspace, entry, &due_text(settings.time_zone, entry.item.slot));
        self.notifier.send_media(claim.chat, &attachment, &screen).await.map(Some).map_err(|e| match e {
            NotifyError::Media(_) => {
                Failed::of(Reason::MediaUnreadable(warn_with_reference("could not read a story's file", &e)))
            }
            _ => Failed::of(Reason::ChatUnreachable(warn_with_reference("could not send a story to the chat", &e))),
        })
    }
}
