//! The Graph API path (FEATURES C5, A7, M4): quota, container, status, publish, record — never
//! publishing one story twice.

use std::sync::PoisonError;

use storyline_domain::WorkspaceId;
use storyline_domain::account::{Account, AccountId, TokenNotice};
use storyline_domain::chat::{Screen, Text};
use storyline_domain::ports::{
    ContainerId, ContainerStatus, HostedMedia, PublishError, PublishTarget, StoreError, VaultError,
};
use storyline_domain::queue::Claimed;
use storyline_domain::settings::ChatSettings;

use super::screens::published_screen;
use super::{MEDIA_URL_LIFETIME, Publishing, SEND_LEASE, Stories};
use crate::errors::error_chain;

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

/// What the API path decided for one story.
pub(super) enum ApiPath {
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

impl Stories {
    /// be published by the API; `None` means the manual path.
    pub(super) async fn api_path(&self, claim: &Claimed, settings: &ChatSettings) -> Option<ApiPath> {
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
}
