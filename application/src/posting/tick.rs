//! One tick of the posting loop: claim what is due, send it (through the Graph API or by hand),
//! hold the lease, and record a failure (retry, or give up with a message in the chat).

use std::sync::PoisonError;

use storyline_domain::ChatId;
use storyline_domain::WorkspaceId;
use storyline_domain::chat::{Attachment, MessageId, Screen, Text};
use storyline_domain::ports::{SendFailure, StoreError};
use storyline_domain::queue::{Claimed, MAX_SEND_ATTEMPTS, QueueEntry};
use storyline_domain::settings::ChatSettings;

use super::publishing::ApiPath;
use super::screens::{due_text, story_screen};
use super::{CLAIMS_PER_TICK, SEND_LEASE, Stories, TickReport};
use crate::errors::error_chain;

impl Stories {
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

    pub(super) async fn tell(&self, chat: ChatId, screen: Screen) {
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
        let screen = story_screen(entry.item.workspace, entry, &due_text(settings.time_zone, entry.item.slot));
        self.notifier.send_media(claim.chat, &attachment, &screen).await.map_err(|e| error_chain(&e))
    }
}
