//! The Drive v3 REST API as this adapter uses it: an access token from the service account's
//! grant (cached until shortly before it expires), and calls retried on 429, 5xx, Drive's
//! rate-limit 403s and network failures, honouring `Retry-After`. Access tokens and grants are
//! [`SecretString`]s, sent as headers marked sensitive and never logged.

use std::fmt;
use std::time::{Duration, Instant};

use reqwest::{RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use storyline_domain::ports::SourceError;
use tokio::sync::Mutex;

use crate::key::Credential;

/// Where Google's APIs are: Drive itself and the OAuth token endpoint. Tests point both at a
/// local fake (`DRIVE_API_URL`, `GOOGLE_TOKEN_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveEndpoints {
    /// The API host: calls go to `{api}/drive/v3/…`.
    pub api: String,
    /// The token URL the grant is posted to, and the grant's audience.
    pub token: String,
}

impl Default for DriveEndpoints {
    fn default() -> Self {
        Self { api: "https://www.googleapis.com".to_owned(), token: "https://oauth2.googleapis.com/token".to_owned() }
    }
}

impl DriveEndpoints {
    /// Google's own hosts, each replaced where an override is given (a trailing `/` dropped).
    #[must_use]
    pub fn with_overrides(api: Option<String>, token: Option<String>) -> Self {
        let defaults = Self::default();
        let trim = |url: String| url.trim_end_matches('/').to_owned();
        Self { api: api.map_or(defaults.api, trim), token: token.map_or(defaults.token, trim) }
    }
}

/// How failed calls are tried again: up to `attempts` tries in all, waiting `Retry-After` when
/// the answer gives one (in seconds), else `first_backoff` doubled each time; no wait is longer
/// than `max_wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { attempts: 5, first_backoff: Duration::from_millis(500), max_wait: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// At least one try.
    pub(crate) fn clamped(self) -> Self {
        Self { attempts: self.attempts.max(1), ..self }
    }

    fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self.first_backoff.saturating_mul(2_u32.saturating_pow(attempt.saturating_sub(1)));
        retry_after.unwrap_or(backoff).min(self.max_wait)
    }
}

/// A token is renewed this long before Google says it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(120);
/// The most one JSON call may take; downloads have no overall limit, only a read time-out.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

struct AccessToken {
    value: SecretString,
    renew_at: Instant,
}

/// An answer that is not a success and not worth trying again: its status, and Drive's reason
/// and message (no secret is in them; they go to the log).
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) status: StatusCode,
    pub(crate) reason: String,
}

/// The Drive API for one service account.
pub(crate) struct DriveApi {
    http: reqwest::Client,
    endpoints: DriveEndpoints,
    account: Credential,
    retry: RetryPolicy,
    token: Mutex<Option<AccessToken>>,
}

impl fmt::Debug for DriveApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DriveApi")
            .field("endpoints", &self.endpoints)
            .field("account", &self.account)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
}

#[derive(Deserialize)]
struct ApiErrorBody {
    error: Option<ApiError>,
}

#[derive(Deserialize)]
struct ApiError {
    message: Option<String>,
    #[serde(default)]
    errors: Vec<ApiErrorItem>,
}

#[derive(Deserialize)]
struct ApiErrorItem {
    reason: Option<String>,
}

/// Drive's reasons for a 403 that only means "slow down".
const RATE_LIMITS: [&str; 2] = ["rateLimitExceeded", "userRateLimitExceeded"];

fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Drive's reason and message from an error body, for the log (cut short).
fn reason_of(body: &str) -> (Vec<String>, String) {
    let parsed: Option<ApiError> = serde_json::from_str::<ApiErrorBody>(body).ok().and_then(|b| b.error);
    match parsed {
        Some(error) => (
            error.errors.into_iter().filter_map(|e| e.reason).collect(),
            error.message.unwrap_or_default().chars().take(200).collect(),
        ),
        None => (Vec::new(), String::new()),
    }
}

impl DriveApi {
    pub(crate) fn new(account: Credential, endpoints: DriveEndpoints, retry: RetryPolicy) -> Result<Self, SourceError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|error| SourceError::Unknown(error.into()))?;
        Ok(Self { http, endpoints, account, retry, token: Mutex::new(None) })
    }

    /// The service account's e-mail, or "the Google account that logged in".
    pub(crate) fn email(&self) -> &str {
        self.account.who()
    }

    /// Whether Drive is read as a person who logged in (not a service account).
    pub(crate) fn logged_in(&self) -> bool {
        matches!(self.account, Credential::User(_))
    }

    /// `{api}/drive/v3/{rest}`.
    pub(crate) fn url(&self, rest: &str) -> String {
        format!("{}/drive/v3/{rest}", self.endpoints.api)
    }

    pub(crate) fn get(&self, url: &str) -> RequestBuilder {
        self.http.get(url)
    }

    fn denied_key(&self, code: &str) -> SourceError {
        if self.logged_in() {
            return SourceError::Denied(format!(
                "Google refused the login this Drive source was connected with ({code}): it may have been revoked; log in with Google again"
            ));
        }
        SourceError::Denied(format!(
            "Google refused the key of the service account {} ({code}): the key may have been deleted; make a new JSON key",
            self.account.who()
        ))
    }

    /// A valid access token: the cached one, or a new one from the grant.
    async fn access_token(&self) -> Result<SecretString, SourceError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|token| Instant::now() < token.renew_at) {
            return Ok(token.value.clone());
        }
        let fresh = self.grant().await?;
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    /// Forgets the cached token (Drive said it is no longer good).
    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    /// Trades a freshly signed grant for an access token, retrying as any call.
    async fn grant(&self) -> Result<AccessToken, SourceError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let now = chrono::Utc::now().timestamp();
            let grant = self
                .account
                .grant(&self.endpoints.token, now)
                .map_err(|error| SourceError::Unknown(anyhow::anyhow!("the grant could not be signed: {error}")))?;
            tracing::debug!(account = %self.account.who(), attempt, "asking Google for a Drive access token");
            let form: Vec<(&str, &str)> = grant.iter().map(|(name, value)| (*name, value.expose_secret())).collect();
            let sent = self.http.post(&self.endpoints.token).form(&form).timeout(CALL_TIMEOUT).send().await;
            let wait = match sent {
                Err(error) => {
                    let error =
                        anyhow::Error::new(error.without_url()).context("the Google token endpoint did not answer");
                    if attempt >= self.retry.attempts {
                        return Err(SourceError::Unreachable(error));
                    }
                    tracing::debug!(attempt, error = %format!("{error:#}"), "trying the token endpoint again");
                    self.retry.wait(attempt, None)
                }
                Ok(response) if response.status().is_success() => {
                    let answer: TokenAnswer = response.json().await.map_err(|_| {
                        SourceError::Unknown(anyhow::anyhow!(
                            "the Google token endpoint gave an answer that is not a token"
                        ))
                    })?;
                    let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600));
                    let renew_at = Instant::now() + lifetime.saturating_sub(RENEW_BEFORE);
                    tracing::debug!(account = %self.account.who(), lifetime_s = lifetime.as_secs(), "got a Drive access token");
                    return Ok(AccessToken { value: SecretString::from(answer.access_token), renew_at });
                }
                Ok(response) if retried(response.status()) => {
                    let status = response.status();
                    if attempt >= self.retry.attempts {
                        return Err(SourceError::Unreachable(anyhow::anyhow!(
                            "the Google token endpoint answered {status} {attempt} times"
                        )));
                    }
                    let wait = self.retry.wait(attempt, retry_after(&response));
                    tracing::debug!(%status, attempt, wait_ms = wait.as_millis(), "the token endpoint is busy; trying again");
                    wait
                }
                Ok(response) => {
                    let status = response.status();
                    let body = response.text().await.unwrap_or_default();
                    let code = serde_json::from_str::<OAuthError>(&body)
                        .ok()
                        .and_then(|e| e.error)
                        .filter(|code| code.len() <= 40 && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
                        .unwrap_or_else(|| status.as_str().to_owned());
                    tracing::warn!(%status, code, account = %self.account.who(), "Google refused the grant");
                    return Err(self.denied_key(&code));
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends the request `build` makes with a bearer token, trying again on 429, 5xx, Drive's
    /// rate-limit 403s and network failures; a 401 gets one new token. A success comes back as
    /// it is; any other answer as [`Refused`].
    ///
    /// # Errors
    /// [`SourceError::Unreachable`] when the tries run out; [`SourceError::Denied`] when the
    /// grant is refused.
    pub(crate) async fn send(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Result<Response, Refused>, SourceError> {
        let mut attempt = 0;
        let mut renewed = false;
        loop {
            attempt += 1;
            let token = self.access_token().await?;
            tracing::trace!(what, attempt, "calling Drive");
            let sent = build().bearer_auth(token.expose_secret()).send().await;
            drop(token);
            let (status, wait) = match sent {
                Err(error) => {
                    let error =
                        anyhow::Error::new(error.without_url()).context(format!("Drive did not answer ({what})"));
                    if attempt >= self.retry.attempts {
                        return Err(SourceError::Unreachable(error));
                    }
                    tracing::debug!(what, attempt, error = %format!("{error:#}"), "trying Drive again");
                    (None, self.retry.wait(attempt, None))
                }
                Ok(response) if response.status().is_success() => return Ok(Ok(response)),
                Ok(response) if response.status() == StatusCode::UNAUTHORIZED && !renewed => {
                    // The token may have been revoked or expired early: one new one.
                    tracing::debug!(what, "Drive refused the access token; asking for a new one");
                    self.forget_token().await;
                    renewed = true;
                    attempt -= 1;
                    continue;
                }
                Ok(response) if retried(response.status()) => {
                    let wait = self.retry.wait(attempt, retry_after(&response));
                    (Some(response.status()), wait)
                }
                Ok(response) => {
                    let status = response.status();
                    let after = retry_after(&response);
                    let body = response.text().await.unwrap_or_default();
                    let (reasons, message) = reason_of(&body);
                    let limited = status == StatusCode::FORBIDDEN
                        && reasons.iter().any(|reason| RATE_LIMITS.contains(&reason.as_str()));
                    if !limited {
                        let reason = format!("{} {message}", reasons.join(",")).trim().to_owned();
                        tracing::debug!(what, %status, reason, "Drive refused a call");
                        return Ok(Err(Refused { status, reason }));
                    }
                    (Some(status), self.retry.wait(attempt, after))
                }
            };
            if let Some(status) = status {
                if attempt >= self.retry.attempts {
                    return Err(SourceError::Unreachable(anyhow::anyhow!(
                        "Drive answered {status} {attempt} times ({what})"
                    )));
                }
                tracing::debug!(what, %status, attempt, wait_ms = wait.as_millis(), "Drive is busy; trying again");
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// A JSON call: [`DriveApi::send`] with the call time-out, the answer decoded.
    pub(crate) async fn json<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Result<T, Refused>, SourceError> {
        match self.send(what, || build().timeout(CALL_TIMEOUT)).await? {
            Ok(response) => {
                let body = response.bytes().await.map_err(|error| {
                    SourceError::Unreachable(anyhow::Error::new(error.without_url()).context(format!("reading {what}")))
                })?;
                serde_json::from_slice(&body).map(Ok).map_err(|error| {
                    SourceError::Unknown(anyhow::anyhow!(
                        "Drive's answer to {what} does not decode (at column {})",
                        error.column()
                    ))
                })
            }
            Err(refused) => Ok(Err(refused)),
        }
    }
}

/// Statuses worth trying again.
fn retried(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_retry_after_wins_within_the_limit() {
        let policy =
            RetryPolicy { attempts: 5, first_backoff: Duration::from_secs(1), max_wait: Duration::from_secs(10) };
        assert_eq!(policy.wait(1, None), Duration::from_secs(1));
        assert_eq!(policy.wait(3, None), Duration::from_secs(4));
        assert_eq!(policy.wait(9, None), Duration::from_secs(10));
        assert_eq!(policy.wait(1, Some(Duration::from_secs(7))), Duration::from_secs(7));
        assert_eq!(policy.wait(1, Some(Duration::from_secs(700))), Duration::from_secs(10));
    }

    #[test]
    fn overrides_replace_the_hosts_and_lose_a_trailing_slash() {
        let endpoints = DriveEndpoints::with_overrides(Some("http://127.0.0.1:9/".to_owned()), None);
        assert_eq!(endpoints.api, "http://127.0.0.1:9");
        assert_eq!(endpoints.token, "https://oauth2.googleapis.com/token");
        assert_eq!(DriveEndpoints::with_overrides(None, None), DriveEndpoints::default());
    }

    #[test]
    fn drive_error_bodies_give_their_reasons() {
        let body = r#"{"error": {"code": 403, "message": "Rate Limit Exceeded", "errors": [{"reason": "userRateLimitExceeded"}]}}"#;
        assert_eq!(reason_of(body), (vec!["userRateLimitExceeded".to_owned()], "Rate Limit Exceeded".to_owned()));
        assert_eq!(reason_of("<html>"), (Vec::new(), String::new()));
    }
}
