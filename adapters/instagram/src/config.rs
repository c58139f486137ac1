//! How the adapter reaches Meta: hosts, API version, app credentials, polling and time-outs.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;

/// The Graph API version used when none is configured.
pub const DEFAULT_VERSION: &str = "v21.0";

/// Settings of [`crate::GraphApi`]. `Debug` never shows the app secret.
#[derive(Clone)]
pub struct GraphConfig {
    /// `GRAPH_API_URL`: when set, it replaces both `https://graph.facebook.com` and
    /// `https://graph.instagram.com` (tests, proxies). Calls go to `{base_url}/{version}/…`, the
    /// Instagram Login refresh to `{base_url}/refresh_access_token`.
    pub base_url: Option<String>,
    /// The Graph API version, `v21.0` by default.
    pub version: String,
    /// The Meta app for Facebook Login: refreshes its tokens (`fb_exchange_token`) and
    /// connects accounts by logging in.
    pub facebook_app: Option<FacebookApp>,
    /// The app for Instagram Login (`INSTAGRAM_APP_ID`, `INSTAGRAM_APP_SECRET`): connects
    /// accounts by logging in.
    pub instagram_app: Option<FacebookApp>,
    /// `META_LOGIN_URL`: when set, the login dialogs are under it instead of
    /// `https://www.instagram.com` and `https://www.facebook.com` (tests, proxies).
    pub login_url: Option<String>,
    /// How a container's status is polled until it is ready.
    pub poll: PollPolicy,
    /// The most one HTTP request may take, connecting included.
    pub timeout: Duration,
}

impl Default for GraphConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            version: DEFAULT_VERSION.to_owned(),
            facebook_app: None,
            instagram_app: None,
            login_url: None,
            poll: PollPolicy::default(),
            timeout: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for GraphConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphConfig")
            .field("base_url", &self.base_url.as_deref().map(without_password))
            .field("version", &self.version)
            .field("facebook_app", &self.facebook_app)
            .field("instagram_app", &self.instagram_app)
            .field("login_url", &self.login_url.as_deref().map(without_password))
            .field("poll", &self.poll)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A base URL for display: any `user:password@` part is left out.
fn without_password(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() || !parsed.username().is_empty() => {
            // Both calls only fail for URLs that cannot carry credentials, which these do.
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "(not a URL)".to_owned(),
    }
}

/// A Meta app (`FACEBOOK_APP_ID`, `FACEBOOK_APP_SECRET`; or Instagram Login's
/// `INSTAGRAM_APP_ID`, `INSTAGRAM_APP_SECRET`). `Debug` never shows the secret.
#[derive(Clone)]
pub struct FacebookApp {
    pub id: String,
    pub secret: SecretString,
}

impl fmt::Debug for FacebookApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FacebookApp").field("id", &self.id).field("secret", &"[REDACTED]").finish()
    }
}

/// Pauses between two looks at a container's status: `first`, then doubled each time up to
/// `max_interval`, until `cap` has passed since the first look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    pub first: Duration,
    pub max_interval: Duration,
    pub cap: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self { first: Duration::from_secs(1), max_interval: Duration::from_secs(10), cap: Duration::from_secs(5 * 60) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_neither_the_app_secret_nor_a_proxy_password() {
        let config = GraphConfig {
            base_url: Some("https://user:hunter2-proxy@proxy.example/graph".to_owned()),
            facebook_app: Some(FacebookApp {
                id: "1234".to_owned(),
                secret: SecretString::from("app-secret-value-42".to_owned()),
            }),
            ..GraphConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("app-secret-value-42"), "{shown}");
        assert!(!shown.contains("hunter2-proxy"), "{shown}");
        assert!(shown.contains("1234") && shown.contains("proxy.example"), "{shown}");
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let config = GraphConfig::default();
        assert_eq!(config.version, "v21.0");
        assert_eq!(config.timeout, Duration::from_secs(30));
        assert_eq!(config.poll.first, Duration::from_secs(1));
        assert_eq!(config.poll.max_interval, Duration::from_secs(10));
        assert_eq!(config.poll.cap, Duration::from_secs(300));
    }
}
