//! Storyline's Instagram adapter: [`GraphApi`] implements
//! [`storyline_domain::ports::StoryPublisher`] over Meta's Graph API with reqwest.
//!
//! - The host follows the account's [`LoginKind`]: Facebook Login → `graph.facebook.com`,
//!   Instagram Login → `graph.instagram.com` (both replaced by `GRAPH_API_URL` when set).
//! - Errors are classified by Meta's code ([`PublishError`]) and carry Meta's message, never the
//!   raw body.
//! - Tokens stay `SecretString`s until a request is built. Tokens go in form bodies for POSTs;
//!   GETs need them in the query, so reqwest errors are stripped of their URL, URLs are never
//!   logged, and every error text has the token (and the app secret) replaced by `[REDACTED]`
//!   because Meta echoes bad tokens back in its messages.

mod config;
mod error;
mod login;

use std::fmt;

use async_trait::async_trait;
use chrono::TimeDelta;
use reqwest::{RequestBuilder, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use storyline_domain::account::{LoginKind, Username};
use storyline_domain::library::MediaKind;
use storyline_domain::ports::{
    ContainerId, ContainerStatus, HostedMedia, InstagramMediaId, PublishError, PublishTarget, PublishingQuota,
    RefreshedToken, StoryPublisher,
};

pub use config::{DEFAULT_VERSION, FacebookApp, GraphConfig, PollPolicy};
use error::{MetaError, classify, network, scrub};
pub use login::{FACEBOOK_SCOPES, INSTAGRAM_SCOPES};

const FACEBOOK_HOST: &str = "https://graph.facebook.com";
const INSTAGRAM_HOST: &str = "https://graph.instagram.com";
/// Where Instagram Login exchanges a code for a token.
const INSTAGRAM_API_HOST: &str = "https://api.instagram.com";

/// When `content_publishing_limit` answers without `config.quota_total`: the figure Meta's
/// reference for that endpoint gives ("currently 50" per 24 hours; stories count against it).
/// The content publishing guide has since spoken of 100, so 50 errs on the safe side.
pub const DEFAULT_QUOTA_TOTAL: u32 = 50;

/// Meta's Graph API for one Storyline process (all accounts share the HTTP client).
pub struct GraphApi {
    client: reqwest::Client,
    facebook: Url,
    instagram: Url,
    instagram_api: Url,
    config: GraphConfig,
}

impl fmt::Debug for GraphApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphApi").field("config", &self.config).finish_non_exhaustive()
    }
}

/// Which root a call goes to.
#[derive(Clone, Copy)]
enum Root {
    /// `{host}/{version}/…` on the login kind's host.
    Versioned(LoginKind),
    /// `{instagram host}/…` without a version (Instagram Login's `refresh_access_token`).
    InstagramUnversioned,
    /// `https://api.instagram.com/…` (Instagram Login's code exchange).
    InstagramApi,
}

impl GraphApi {
    /// A Graph API client with `config`'s hosts, version, app credentials, polling and time-out.
    ///
    /// # Errors
    /// When `base_url` is not an `http`/`https` URL, or the HTTP client cannot be built.
    pub fn new(config: GraphConfig) -> anyhow::Result<Self> {
        let (facebook, instagram, instagram_api) = match &config.base_url {
            Some(base) => {
                let url = Url::parse(base.trim())
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && !u.cannot_be_a_base())
                    .ok_or_else(|| anyhow::anyhow!("GRAPH_API_URL must be an http(s) URL"))?;
                (url.clone(), url.clone(), url)
            }
            None => (Url::parse(FACEBOOK_HOST)?, Url::parse(INSTAGRAM_HOST)?, Url::parse(INSTAGRAM_API_HOST)?),
        };
        anyhow::ensure!(
            !config.version.is_empty() && !config.version.contains(['/', '?', '#']),
            "the Graph API version must look like v21.0"
        );
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("storyline/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {}", e.without_url()))?;
        Ok(Self { client, facebook, instagram, instagram_api, config })
    }

    /// The URL of `segments` under `root` (each segment escaped).
    fn url(&self, root: Root, segments: &[&str]) -> Result<Url, PublishError> {
        let (mut url, version) = match root {
            Root::Versioned(LoginKind::Facebook) => (self.facebook.clone(), Some(self.config.version.as_str())),
            Root::Versioned(LoginKind::Instagram) => (self.instagram.clone(), Some(self.config.version.as_str())),
            Root::InstagramUnversioned => (self.instagram.clone(), None),
            Root::InstagramApi => (self.instagram_api.clone(), None),
        };
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .map_err(|()| PublishError::Failed("the Graph API URL cannot have a path".to_owned()))?
            .pop_if_empty()
            .extend(version)
            .extend(segments);
        Ok(url)
    }

    /// Sends `request` and reads its JSON answer; Meta's error envelope becomes a
    /// [`PublishError`]. Neither the URL nor the body is logged.
    async fn send<T: DeserializeOwned>(&self, call: &'static str, request: RequestBuilder) -> Result<T, PublishError> {
        tracing::debug!(call, "calling the Graph API");
        let response = request.send().await.map_err(|e| network(call, e))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| network(call, e))?;
        if let Some(meta) = MetaError::parse(&body) {
            return Err(classify(call, status.as_u16(), Some(&meta)));
        }
        if !status.is_success() {
            return Err(classify(call, status.as_u16(), None));
        }
        serde_json::from_str(&body).map_err(|e| {
            tracing::debug!(call, "the Graph API answered in an unexpected shape");
            PublishError::Failed(format!("Instagram answered {call} in an unexpected shape: {e}"))
        })
    }

    async fn get<T: DeserializeOwned>(
        &self,
        call: &'static str,
        root: Root,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<T, PublishError> {
        let url = self.url(root, segments)?;
        self.send(call, self.client.get(url).query(query)).await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        call: &'static str,
        root: Root,
        segments: &[&str],
        form: &[(&str, &str)],
    ) -> Result<T, PublishError> {
        let url = self.url(root, segments)?;
        self.send(call, self.client.post(url).form(form)).await
    }

    async fn status_once(
        &self,
        target: &PublishTarget,
        container: &ContainerId,
    ) -> Result<ContainerStatus, PublishError> {
        let answer: StatusAnswer = self
            .get(
                "container_status",
                Root::Versioned(target.login),
                &[&container.0],
                &[("fields", "status_code,status"), ("access_token", target.token.expose_secret())],
            )
            .await?;
        let text = || answer.status.clone().or_else(|| answer.status_code.clone()).unwrap_or_default();
        match answer.status_code.as_deref() {
            Some("IN_PROGRESS") => Ok(ContainerStatus::InProgress),
            Some("FINISHED") => Ok(ContainerStatus::Finished),
            Some("PUBLISHED") => Ok(ContainerStatus::Published),
            Some("EXPIRED") => Ok(ContainerStatus::Expired),
            Some("ERROR") => Ok(ContainerStatus::Error(text())),
            Some(other) => Err(PublishError::Failed(format!("unknown container status {other}"))),
            None => Err(PublishError::Failed("Instagram did not say the container's status".to_owned())),
        }
    }

    async fn wait(&self, target: &PublishTarget, container: &ContainerId) -> Result<ContainerStatus, PublishError> {
        let policy = self.config.poll;
        let started = tokio::time::Instant::now();
        let mut pause = policy.first;
        loop {
            let status = self.status_once(target, container).await?;
            if status != ContainerStatus::InProgress {
                return Ok(status);
            }
            let elapsed = started.elapsed();
            if elapsed >= policy.cap {
                tracing::debug!(call = "container_status", "still in progress when the time cap ran out");
                return Ok(ContainerStatus::InProgress);
            }
            tokio::time::sleep(pause.min(policy.cap - elapsed)).await;
            pause = pause.saturating_mul(2).min(policy.max_interval);
        }
    }

    async fn refresh_token(&self, login: LoginKind, token: &SecretString) -> Result<RefreshedToken, PublishError> {
        let answer: TokenAnswer = match login {
            LoginKind::Instagram => {
                self.get(
                    "refresh_instagram_token",
                    Root::InstagramUnversioned,
                    &["refresh_access_token"],
                    &[("grant_type", "ig_refresh_token"), ("access_token", token.expose_secret())],
                )
                .await?
            }
            LoginKind::Facebook => {
                let app = self.config.facebook_app.as_ref().ok_or_else(|| {
                    PublishError::Failed(
                        "FACEBOOK_APP_ID and FACEBOOK_APP_SECRET are needed to refresh Facebook Login tokens"
                            .to_owned(),
                    )
                })?;
                self.get(
                    "exchange_facebook_token",
                    Root::Versioned(LoginKind::Facebook),
                    &["oauth", "access_token"],
                    &[
                        ("grant_type", "fb_exchange_token"),
                        ("client_id", &app.id),
                        ("client_secret", app.secret.expose_secret()),
                        ("fb_exchange_token", token.expose_secret()),
                    ],
                )
                .await?
            }
        };
        let TokenAnswer { access_token, expires_in } = answer;
        if access_token.trim().is_empty() {
            return Err(PublishError::Failed("Instagram answered the refresh without a token".to_owned()));
        }
        let expires_in = expires_in.filter(|seconds| *seconds > 0).and_then(TimeDelta::try_seconds);
        Ok(RefreshedToken { token: SecretString::from(access_token), expires_in })
    }

    /// The secrets a Facebook token exchange sends, to scrub from its errors.
    fn app_secret(&self) -> &str {
        self.config.facebook_app.as_ref().map_or("", |app| app.secret.expose_secret())
    }
}

#[derive(Deserialize)]
struct IdAnswer {
    id: String,
}

#[derive(Deserialize)]
struct StatusAnswer {
    #[serde(default)]
    status_code: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct QuotaAnswer {
    #[serde(default)]
    data: Vec<QuotaEntry>,
}

#[derive(Deserialize)]
struct QuotaEntry {
    #[serde(default)]
    quota_usage: Option<u32>,
    #[serde(default)]
    config: Option<QuotaConfig>,
}

#[derive(Deserialize)]
struct QuotaConfig {
    #[serde(default)]
    quota_total: Option<u32>,
}

/// A refresh answer (its `token_type` is always "bearer" and is ignored). No `Debug`: it holds
/// a token.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
}

#[derive(Deserialize)]
struct UsernameAnswer {
    username: String,
}

#[async_trait]
impl StoryPublisher for GraphApi {
    async fn create_container(&self, target: &PublishTarget, media: &HostedMedia) -> Result<ContainerId, PublishError> {
        let url_field = match media.kind {
            MediaKind::Image => "image_url",
            MediaKind::Video => "video_url",
        };
        let answer: Result<IdAnswer, _> = self
            .post(
                "create_container",
                Root::Versioned(target.login),
                &[target.instagram_id.as_str(), "media"],
                &[("media_type", "STORIES"), (url_field, &media.url), ("access_token", target.token.expose_secret())],
            )
            .await;
        answer.map(|a| ContainerId(a.id)).map_err(|e| scrub(e, &[target.token.expose_secret()]))
    }

    async fn wait_ready(
        &self,
        target: &PublishTarget,
        container: &ContainerId,
    ) -> Result<ContainerStatus, PublishError> {
        self.wait(target, container).await.map_err(|e| scrub(e, &[target.token.expose_secret()]))
    }

    async fn publish(&self, target: &PublishTarget, container: &ContainerId) -> Result<InstagramMediaId, PublishError> {
        let answer: Result<IdAnswer, _> = self
            .post(
                "publish",
                Root::Versioned(target.login),
                &[target.instagram_id.as_str(), "media_publish"],
                &[("creation_id", &container.0), ("access_token", target.token.expose_secret())],
            )
            .await;
        answer.map(|a| InstagramMediaId(a.id)).map_err(|e| scrub(e, &[target.token.expose_secret()]))
    }

    async fn quota(&self, target: &PublishTarget) -> Result<PublishingQuota, PublishError> {
        let answer: Result<QuotaAnswer, _> = self
            .get(
                "quota",
                Root::Versioned(target.login),
                &[target.instagram_id.as_str(), "content_publishing_limit"],
                &[("fields", "quota_usage,config"), ("access_token", target.token.expose_secret())],
            )
            .await;
        let answer = answer.map_err(|e| scrub(e, &[target.token.expose_secret()]))?;
        let entry = answer.data.into_iter().next();
        let used = entry.as_ref().and_then(|e| e.quota_usage).unwrap_or(0);
        let total = entry.and_then(|e| e.config).and_then(|c| c.quota_total).unwrap_or(DEFAULT_QUOTA_TOTAL);
        Ok(PublishingQuota { used, total })
    }

    async fn refresh(&self, login: LoginKind, token: &SecretString) -> Result<RefreshedToken, PublishError> {
        self.refresh_token(login, token).await.map_err(|e| scrub(e, &[token.expose_secret(), self.app_secret()]))
    }

    async fn username(&self, target: &PublishTarget) -> Result<Username, PublishError> {
        let answer: Result<UsernameAnswer, _> = self
            .get(
                "username",
                Root::Versioned(target.login),
                &[target.instagram_id.as_str()],
                &[("fields", "username"), ("access_token", target.token.expose_secret())],
            )
            .await;
        let answer = answer.map_err(|e| scrub(e, &[target.token.expose_secret()]))?;
        Username::new(&answer.username).map_err(|e| {
            scrub(
                PublishError::Failed(format!("Instagram gave an unusable username: {e}")),
                &[target.token.expose_secret()],
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(base_url: Option<&str>) -> GraphApi {
        let config = GraphConfig { base_url: base_url.map(str::to_owned), ..GraphConfig::default() };
        match GraphApi::new(config) {
            Ok(api) => api,
            Err(e) => panic!("{e}"),
        }
    }

    fn url(api: &GraphApi, root: Root, segments: &[&str]) -> String {
        api.url(root, segments).map(|u| u.to_string()).unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn each_login_kind_goes_to_its_own_host() {
        let api = api(None);
        assert_eq!(
            url(&api, Root::Versioned(LoginKind::Facebook), &["178", "media"]),
            "https://graph.facebook.com/v21.0/178/media"
        );
        assert_eq!(
            url(&api, Root::Versioned(LoginKind::Instagram), &["178", "media"]),
            "https://graph.instagram.com/v21.0/178/media"
        );
        assert_eq!(
            url(&api, Root::InstagramUnversioned, &["refresh_access_token"]),
            "https://graph.instagram.com/refresh_access_token"
        );
        assert_eq!(
            url(&api, Root::Versioned(LoginKind::Facebook), &["oauth", "access_token"]),
            "https://graph.facebook.com/v21.0/oauth/access_token"
        );
    }

    #[test]
    fn an_override_replaces_both_hosts_and_keeps_its_own_path() {
        let api = api(Some("http://127.0.0.1:9/graph/"));
        assert_eq!(
            url(&api, Root::Versioned(LoginKind::Facebook), &["1", "media"]),
            "http://127.0.0.1:9/graph/v21.0/1/media"
        );
        assert_eq!(url(&api, Root::Versioned(LoginKind::Instagram), &["1"]), "http://127.0.0.1:9/graph/v21.0/1");
        assert_eq!(
            url(&api, Root::InstagramUnversioned, &["refresh_access_token"]),
            "http://127.0.0.1:9/graph/refresh_access_token"
        );
    }

    #[test]
    fn path_segments_from_meta_are_escaped() {
        let api = api(None);
        assert_eq!(
            url(&api, Root::Versioned(LoginKind::Facebook), &["1/../x?y"]),
            "https://graph.facebook.com/v21.0/1%2F..%2Fx%3Fy"
        );
    }

    #[test]
    fn a_bad_override_or_version_is_refused() {
        let bad = |config: GraphConfig| GraphApi::new(config).is_err();
        assert!(bad(GraphConfig { base_url: Some("not a url".to_owned()), ..GraphConfig::default() }));
        assert!(bad(GraphConfig { base_url: Some("ftp://example.com".to_owned()), ..GraphConfig::default() }));
        assert!(bad(GraphConfig { version: "v21.0/../x".to_owned(), ..GraphConfig::default() }));
    }
}
