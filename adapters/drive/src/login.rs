//! [`GoogleLogin`]: "Log in with Google" for a Drive media source. Google's consent screen with
//! PKCE (S256), `access_type=offline` and `prompt=consent` (so a refresh token comes back), the
//! code exchanged at the token endpoint, and the folders at the top of My Drive listed with the
//! new access token. The refresh token becomes Google's `authorized_user` credentials, which a
//! [`crate::DriveSource`] reads with.
//!
//! Codes, tokens and the client secret go in form bodies or headers, never in a log line or an
//! error text.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use storyline_domain::login::{GoogleGrant, LoginError};
use storyline_domain::ports::GoogleLogin;

use storyline_domain::ports::SourceError;

use crate::key::{SCOPE, authorized_user};
use crate::{DriveEndpoints, DriveSource};

/// Google's consent screen.
pub const GOOGLE_AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";

/// A Google OAuth client (`GOOGLE_CLIENT_ID`, `GOOGLE_CLIENT_SECRET`). `Debug` shows the id.
#[derive(Clone)]
pub struct GoogleClient {
    pub id: String,
    pub secret: SecretString,
}

impl std::fmt::Debug for GoogleClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleClient").field("id", &self.id).finish_non_exhaustive()
    }
}

/// Google's login for Drive sources.
#[derive(Debug)]
pub struct GoogleOAuth {
    http: reqwest::Client,
    endpoints: DriveEndpoints,
    auth_url: String,
    client: Option<GoogleClient>,
}

/// The code's answer (its access token is not kept: the listing gets its own from the refresh
/// token, as every later read does).
#[derive(Deserialize)]
struct CodeAnswer {
    #[serde(default)]
    refresh_token: Option<String>,
    /// The scopes granted, space-separated: the person may have unticked Drive.
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize)]
struct OAuthError {
    #[serde(default)]
    error: Option<String>,
}

/// A request that got no answer; the error without its URL.
fn unreachable(what: &str, error: reqwest::Error) -> LoginError {
    LoginError::Unreachable(format!("{what}: {}", error.without_url()))
}

impl GoogleOAuth {
    /// Google's login at `endpoints` (the token URL and Drive), its consent screen at
    /// `auth_url` (Google's when `None`), for `client` (none: not configured).
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(
        endpoints: DriveEndpoints,
        auth_url: Option<String>,
        client: Option<GoogleClient>,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {}", e.without_url()))?;
        let auth_url = auth_url.map_or_else(|| GOOGLE_AUTH_URL.to_owned(), |url| url.trim_end_matches('/').to_owned());
        Ok(Self { http, endpoints, auth_url, client })
    }
}

#[async_trait]
impl GoogleLogin for GoogleOAuth {
    fn configured(&self) -> bool {
        self.client.is_some()
    }

    fn authorize_url(&self, redirect_uri: &str, state: &str, challenge: &str) -> Option<String> {
        let client = self.client.as_ref()?;
        let mut url = reqwest::Url::parse(&self.auth_url).ok()?;
        url.query_pairs_mut()
            .append_pair("client_id", &client.id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", SCOPE)
            .append_pair("access_type", "offline")
            .append_pair("prompt", "consent")
            .append_pair("state", state)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        Some(url.into())
    }

    async fn connect(
        &self,
        code: &SecretString,
        redirect_uri: &str,
        verifier: &SecretString,
    ) -> Result<GoogleGrant, LoginError> {
        let client = self.client.as_ref().ok_or(LoginError::NotConfigured("Google"))?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.expose_secret()),
            ("client_id", client.id.as_str()),
            ("client_secret", client.secret.expose_secret()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier.expose_secret()),
        ];
        tracing::debug!("exchanging a Google login's code");
        let response = self
            .http
            .post(&self.endpoints.token)
            .form(&form)
            .send()
            .await
            .map_err(|e| unreachable("Google's token endpoint did not answer", e))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| unreachable("Google's token endpoint", e))?;
        if !status.is_success() {
            // Only Google's error code ("invalid_grant" …): the body may echo what was sent.
            let code = serde_json::from_str::<OAuthError>(&body)
                .ok()
                .and_then(|e| e.error)
                .filter(|c| c.len() <= 40 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
                .unwrap_or_else(|| status.as_str().to_owned());
            return Err(LoginError::Refused(format!("Google refused the code ({code})")));
        }
        let answer: CodeAnswer = serde_json::from_str(&body)
            .map_err(|_| LoginError::Unreachable("Google answered the code in an unexpected shape".to_owned()))?;
        if answer.scope.as_deref().is_some_and(|granted| !granted.split(' ').any(|s| s == SCOPE)) {
            return Err(LoginError::Refused(
                "the login did not grant read access to Drive (drive.readonly)".to_owned(),
            ));
        }
        let Some(refresh) = answer.refresh_token.filter(|t| !t.is_empty()) else {
            return Err(LoginError::Refused(
                "Google gave no refresh token (consent without offline access)".to_owned(),
            ));
        };
        let credentials = authorized_user(&client.id, &client.secret, &SecretString::from(refresh));
        // The top of My Drive, read as the person with the new login (paged and retried as any
        // Drive listing).
        let my_drive = DriveSource::new("root", &credentials, self.endpoints.clone())
            .map_err(|e| LoginError::Unreachable(format!("the login's credentials: {e}")))?;
        let folders = my_drive.folders().await.map_err(|e| match e {
            SourceError::Unreachable(error) => LoginError::Unreachable(format!("{error:#}")),
            other => LoginError::Refused(other.to_string()),
        })?;
        Ok(GoogleGrant { credentials, folders })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_asks_for_drive_readonly_offline_with_pkce() -> anyhow::Result<()> {
        let client = GoogleClient { id: "client-1".to_owned(), secret: SecretString::from("client-secret-2") };
        let oauth = GoogleOAuth::new(DriveEndpoints::default(), None, Some(client))?;
        let link = oauth.authorize_url("https://s.example/oauth/google/callback", "st", "ch").unwrap_or_default();
        assert!(link.starts_with("https://accounts.google.com/o/oauth2/v2/auth?client_id=client-1&"), "{link}");
        for part in [
            "scope=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fdrive.readonly",
            "access_type=offline",
            "prompt=consent",
            "state=st",
            "code_challenge=ch",
            "code_challenge_method=S256",
            "redirect_uri=https%3A%2F%2Fs.example%2Foauth%2Fgoogle%2Fcallback",
        ] {
            assert!(link.contains(part), "{part} in {link}");
        }
        assert!(!link.contains("client-secret-2"));
        assert!(!GoogleOAuth::new(DriveEndpoints::default(), None, None)?.configured());
        Ok(())
    }
}
