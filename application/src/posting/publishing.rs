//! The Graph API path (FEATURES C5, A7, M4): carries out the steps that
//! [`storyline_domain::publishing::next`] decides — find the account, ask the quota, make the
//! container, ask its status, publish, record — and returns what happened. It decides nothing
//! itself and never talks to the chat: [`super::tick`] does.

use storyline_domain::WorkspaceId;
use storyline_domain::account::{Account, AccountId, TokenNotice};
use storyline_domain::library::MediaKind;
use storyline_domain::ports::{ContainerId, ContainerStatus, HostedMedia, PublishError, PublishTarget, VaultError};
use storyline_domain::publishing::{
    self, AccountState, Answer, Call, Container, Failure, Quota, Reason, Situation, Step,
};
use storyline_domain::queue::{Claimed, QueueEntry};
use storyline_domain::settings::ChatSettings;

use super::{MEDIA_URL_LIFETIME, Publishing, Stories};
use crate::errors::warn_with_reference;

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

/// What the API path did with one story.
#[derive(Debug)]
pub(super) enum Api {
    /// Not the API's story: it goes by hand, nothing to say.
    NotUsed,
    /// On Instagram and recorded.
    Published { account: String, media_id: Option<String> },
    /// Dry run: everything but the publishing call worked; it goes by hand too.
    DryRun { account: String },
    /// The API cannot take it: by hand, and the chat is told why (once).
    Fallback(Reason),
    /// A passing problem.
    Retry(Reason),
    /// Another process claimed the item after this one's lease ran out: leave it alone.
    Superseded,
}

/// What one run of the path holds besides the facts the decision reads.
struct Run {
    account: Option<Account>,
    target: Option<PublishTarget>,
    made: Option<Made>,
    media_id: Option<String>,
    /// The lease was renewed (and the container kept) since the claim.
    renewed: bool,
}

impl Stories {
    /// The Graph API path for one claimed story.
    pub(super) async fn api_path(&self, claim: &Claimed, settings: &ChatSettings) -> Api {
        let Some(api) = self.publishing.as_ref() else { return Api::NotUsed };
        let entry = &claim.entry;
        let made = entry.item.container.as_deref().and_then(Made::parse);
        let mut s = Situation::new(settings.instagram_api, settings.dry_run, entry.needs_interaction, made.is_some());
        let mut run = Run { account: None, target: None, made, media_id: None, renewed: false };
        loop {
            let step = publishing::next(&s);
            tracing::debug!(item = %entry.item.id, step = ?step, "publishing step");
            match step {
                Step::ByHand => return Api::NotUsed,
                Step::Fallback(reason) => return Api::Fallback(reason),
                Step::Retry(reason) => return Api::Retry(reason),
                Step::DryRunDone => return Api::DryRun { account: label(&run) },
                Step::Record => return self.record(claim, &run).await,
                Step::FindAccount => self.find_account(api, claim, &mut s, &mut run).await,
                Step::AskQuota => {
                    let Some(target) = &run.target else { return Api::NotUsed };
                    match api.publisher.quota(target).await {
                        Ok(quota) if quota.exhausted() => {
                            s.quota = Quota::UsedUp { used: quota.used, total: quota.total };
                        }
                        Ok(_) => s.quota = Quota::Left,
                        Err(error) => s.failure = Some(self.call_failed(api, claim, &run, Call::Quota, &error).await),
                    }
                }
                Step::MakeContainer => {
                    if let Some(superseded) = self.make_container(api, claim, &mut s, &mut run).await {
                        return superseded;
                    }
                }
                Step::AskStatus => {
                    if let Some(superseded) = self.ask_status(api, claim, &mut s, &mut run).await {
                        return superseded;
                    }
                }
                Step::Publish => {
                    // The claim is checked (and renewed) right before the one call that must not repeat.
                    if let Some(superseded) = self.keep_container(claim, &mut s, &mut run).await {
                        return superseded;
                    }
                    let (Some(target), Some(made)) = (&run.target, &run.made) else { return Api::NotUsed };
                    match api.publisher.publish(target, &made.container).await {
                        Ok(media_id) => (run.media_id, s.container) = (Some(media_id.0), Container::Published),
                        Err(error) => s.failure = Some(self.call_failed(api, claim, &run, Call::Publish, &error).await),
                    }
                }
            }
        }
    }

    /// Who publishes: the active account for a new story, the one that made the container for
    /// a kept one; and whether its token is live.
    async fn find_account(&self, api: &Publishing, claim: &Claimed, s: &mut Situation, run: &mut Run) {
        let workspace = claim.entry.item.workspace;
        let found = match &run.made {
            Some(made) => api.accounts.account(workspace, made.account).await,
            None => api.accounts.active(workspace).await,
        };
        let account = match found {
            Ok(Some(account)) => account,
            Ok(None) if run.made.is_some() => return s.account = AccountState::Gone,
            Ok(None) => return s.account = AccountState::NoneSelected,
            Err(error) => {
                return s.failure = Some(Failure::Store(warn_with_reference("could not read an account", &error)));
            }
        };
        let chosen = if run.made.is_some() {
            match api.accounts.active(workspace).await {
                Ok(active) => account.enabled && active.map(|a| a.id) == Some(account.id),
                Err(error) => {
                    return s.failure = Some(Failure::Store(warn_with_reference("could not read an account", &error)));
                }
            }
        } else {
            true
        };
        let name = account.label();
        let credential = match api.vault.credential(workspace, account.id).await {
            Ok(Some(credential)) => credential,
            Ok(None) => return s.account = AccountState::NoToken { account: name },
            Err(VaultError::Store(error)) => {
                return s.failure = Some(Failure::Store(warn_with_reference("could not read a token", &error)));
            }
            Err(error) => {
                let _ = warn_with_reference("could not open the account's token", &error);
                return s.account = AccountState::TokenLocked { account: name };
            }
        };
        if credential.expires_at.is_some_and(|at| at <= self.clock.now()) {
            if let Err(error) = api.vault.set_notice(workspace, account.id, Some(TokenNotice::Dead)).await {
                return s.failure = Some(Failure::Store(warn_with_reference("could not record a dead token", &error)));
            }
            return s.account = AccountState::TokenExpired { account: name };
        }
        run.target = Some(PublishTarget {
            instagram_id: account.instagram_id.clone(),
            login: account.login,
            token: credential.token,
        });
        s.account = AccountState::Ready { account: name, chosen };
        run.account = Some(account);
    }

    /// A media URL for Meta and a new container; kept on the item (and the lease renewed)
    /// unless in dry run. `Some` when another process owns the item now.
    async fn make_container(&self, api: &Publishing, claim: &Claimed, s: &mut Situation, run: &mut Run) -> Option<Api> {
        let (entry, target, account) = (&claim.entry, run.target.as_ref()?, run.account.as_ref()?);
        let expires = self.clock.now() + MEDIA_URL_LIFETIME;
        let url = match self.source_url(entry).await {
            Some(url) => url,
            None => match api.host.url(entry.item.workspace, entry.item.media, entry.kind, expires) {
                Ok(url) => url,
                Err(error) => {
                    s.failure = Some(Failure::MediaUrl(warn_with_reference("no media URL for Instagram", &error)));
                    return None;
                }
            },
        };
        match api.publisher.create_container(target, &HostedMedia { kind: entry.kind, url }).await {
            Ok(container) => {
                run.made = Some(Made { account: account.id, container });
                s.container = Container::Made;
                if !s.dry_run {
                    return self.keep_container(claim, s, run).await;
                }
                None
            }
            Err(error) => {
                s.failure = Some(self.call_failed(api, claim, run, Call::Container, &error).await);
                None
            }
        }
    }

    /// The source's own URL for the file (an S3 presigned URL, valid for
    /// [`MEDIA_URL_LIFETIME`]), where it gives one and Meta can take the file as it is: a video
    /// or a JPEG (other stills go through Storyline's own URL, which serves them as JPEG).
    /// `None`: Storyline serves the file (a failure to make one is logged, and Storyline serves it).
    async fn source_url(&self, entry: &QueueEntry) -> Option<String> {
        let lower = entry.path.to_ascii_lowercase();
        let as_is = entry.kind == MediaKind::Video || lower.ends_with(".jpg") || lower.ends_with(".jpeg");
        if !as_is {
            return None;
        }
        let valid_for = MEDIA_URL_LIFETIME.to_std().ok()?;
        let source = self.source_of(entry.item.workspace).await;
        match source {
            Ok(source) => match source.public_url(&entry.path, valid_for).await {
                Ok(url) => url,
                Err(error) => {
                    let _ = warn_with_reference("the media source gave no URL for Instagram", &error);
                    None
                }
            },
            Err(error) => {
                let _ = warn_with_reference("could not open the workspace's media source", &error);
                None
            }
        }
    }

    /// What became of the container (Meta is polled until it is ready or the time cap runs out).
    async fn ask_status(&self, api: &Publishing, claim: &Claimed, s: &mut Situation, run: &mut Run) -> Option<Api> {
        if s.earlier
            && !run.renewed
            && let Some(superseded) = self.keep_container(claim, s, run).await
        {
            return Some(superseded);
        }
        let (target, made) = (run.target.as_ref()?, run.made.as_ref()?);
        let item = claim.entry.item.id;
        s.container = match api.publisher.wait_ready(target, &made.container).await {
            Ok(ContainerStatus::Finished) => Container::Finished,
            Ok(ContainerStatus::InProgress) => Container::InProgress,
            Ok(ContainerStatus::Expired) => Container::Expired,
            Ok(ContainerStatus::Published) if s.earlier => {
                tracing::info!(%item, "an earlier try already published this story; not publishing it again");
                Container::Published
            }
            Ok(ContainerStatus::Published) => {
                tracing::warn!(%item, "a new container reported itself published");
                Container::Published
            }
            Ok(ContainerStatus::Error(why)) => {
                let reference = storyline_domain::reference::Reference::new();
                tracing::warn!(%reference, %item, meta = %why, "Instagram could not process the media");
                Container::Failed(reference)
            }
            Err(error) => {
                s.failure = Some(self.call_failed(api, claim, run, Call::Status, &error).await);
                s.container.clone()
            }
        };
        None
    }

    /// Renews the lease and keeps the container on the item. `Some` when another process owns
    /// the item now.
    async fn keep_container(&self, claim: &Claimed, s: &mut Situation, run: &mut Run) -> Option<Api> {
        let kept = run.made.as_ref().map(Made::encode);
        match self.renew(claim, kept.as_deref()).await {
            Ok(true) => {
                run.renewed = true;
                None
            }
            Ok(false) => Some(Api::Superseded),
            Err(error) => {
                s.failure = Some(Failure::Store(warn_with_reference("could not keep a container", &error)));
                None
            }
        }
    }

    /// A refused or unanswered call, logged under a reference; a refused token is marked dead.
    async fn call_failed(
        &self,
        api: &Publishing,
        claim: &Claimed,
        run: &Run,
        call: Call,
        error: &PublishError,
    ) -> Failure {
        let reference = warn_with_reference("a Graph API call failed", error);
        let answer = match error {
            PublishError::Transient(_) => Answer::NoAnswer,
            PublishError::RateLimited(_) => Answer::RateLimited,
            PublishError::Failed(_) => Answer::Refused,
            PublishError::TokenInvalid(_) => {
                if let Some(account) = &run.account {
                    let workspace = claim.entry.item.workspace;
                    if let Err(store) = api.vault.set_notice(workspace, account.id, Some(TokenNotice::Dead)).await {
                        return Failure::Store(warn_with_reference("could not record a dead token", &store));
                    }
                }
                Answer::TokenRefused
            }
        };
        Failure::Call { call, answer, reference }
    }

    async fn record(&self, claim: &Claimed, run: &Run) -> Api {
        let entry = &claim.entry;
        let workspace: WorkspaceId = entry.item.workspace;
        if let Err(error) = self.queue.published(workspace, entry.item.id, run.media_id.clone(), self.clock.now()).await
        {
            // It is on Instagram. Left as it is, the lease runs out, the next claim asks the
            // container, finds it published and records it; nothing is published again.
            let _ = warn_with_reference("published, but could not record it; the next try will", &error);
            return Api::Superseded;
        }
        tracing::info!(workspace_id = %workspace, item = %entry.item.id, media_id = ?run.media_id, "story published through the Graph API");
        Api::Published { account: label(run), media_id: run.media_id.clone() }
    }
}

fn label(run: &Run) -> String {
    run.account.as_ref().map(Account::label).unwrap_or_default()
}
