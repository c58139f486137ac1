//! `WEBHOOK_URL` and `WEBHOOK_SECRET`: webhook mode instead of long polling.

use secrecy::SecretString;

use super::{ConfigError, invalid};

/// The ports Telegram delivers webhooks to.
const TELEGRAM_PORTS: [u16; 4] = [443, 80, 88, 8443];
/// Routes of `HTTP_ADDR` a webhook path must not take.
const TAKEN: [&str; 2] = ["/healthz", "/media/"];

/// Webhook mode: where Telegram sends updates, and the secret it sends with them.
#[derive(Clone)]
pub struct WebhookConfig {
    /// `WEBHOOK_URL`: the public HTTPS URL (a reverse proxy in front of `HTTP_ADDR`).
    pub url: String,
    /// The URL's path, the route `HTTP_ADDR` serves the webhook on (for example
    /// `/telegram/webhook`).
    pub path: String,
    /// `WEBHOOK_SECRET`; `None`: generated at the first start and kept in the database.
    pub secret: Option<SecretString>,
}

/// The URL may hold a secret path (Telegram's docs suggest one), the secret is one: show
/// neither.
impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &shown_url(&self.url))
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .finish_non_exhaustive()
    }
}

/// The URL without its path, fit for a log line and `/healthz`: `https://bot.example.com/…`.
#[must_use]
pub fn shown_url(url: &str) -> String {
    url::Url::parse(url)
        .map_or_else(|_| "(not a URL)".to_owned(), |url| format!("{}/…", url.origin().ascii_serialization()))
}

/// Reads `WEBHOOK_URL` and `WEBHOOK_SECRET` (trimmed, empty = unset).
pub(super) fn read(url: Option<String>, secret: Option<String>) -> Result<Option<WebhookConfig>, ConfigError> {
    let Some(text) = url else {
        if secret.is_some() {
            return Err(ConfigError {
                variable: "WEBHOOK_SECRET",
                problem:
                    "is set, but WEBHOOK_URL is not: set WEBHOOK_URL for webhook mode, or neither for long polling"
                        .to_owned(),
            });
        }
        return Ok(None);
    };
    const ALLOWED: &str = "a public https:// URL on port 443, 80, 88 or 8443, like https://bot.example.com/telegram";
    let parsed = url::Url::parse(&text).map_err(|_| invalid("WEBHOOK_URL", ALLOWED, &shown_url(&text)))?;
    if parsed.scheme() != "https" || parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("WEBHOOK_URL", ALLOWED, &shown_url(&text)));
    }
    if parsed.port().is_some_and(|port| !TELEGRAM_PORTS.contains(&port)) {
        return Err(ConfigError {
            variable: "WEBHOOK_URL",
            problem: format!(
                "uses port {}: Telegram delivers only to 443, 80, 88 or 8443 (HTTP_ADDR, behind the proxy, may be any)",
                parsed.port().unwrap_or_default()
            ),
        });
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(ConfigError {
            variable: "WEBHOOK_URL",
            problem: "has a query or a fragment: use a path only, like https://bot.example.com/telegram".to_owned(),
        });
    }
    let path = parsed.path().to_owned();
    if TAKEN.iter().any(|taken| path == *taken || (taken.ends_with('/') && path.starts_with(taken))) {
        return Err(ConfigError {
            variable: "WEBHOOK_URL",
            problem: "has the path of /healthz or /media/: choose another, like /telegram".to_owned(),
        });
    }
    let secret = match secret {
        None => None,
        Some(secret)
            if (1..=256).contains(&secret.len())
                && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
        {
            Some(SecretString::from(secret))
        }
        Some(_) => {
            return Err(ConfigError {
                variable: "WEBHOOK_SECRET",
                problem: "must be 1 to 256 characters of A-Z, a-z, 0-9, _ and - (unset, one is generated)".to_owned(),
            });
        }
    };
    Ok(Some(WebhookConfig { url: text, path, secret }))
}

/// What `run` needs besides: webhook mode serves on `HTTP_ADDR` (the reverse proxy forwards to it).
/// The other commands (`replicas`, `migrate` …) take an environment file that sets `WEBHOOK_URL`
/// for the replicas and leaves each one's `HTTP_ADDR` to it.
pub(super) fn needs_http_addr(webhook: Option<&WebhookConfig>, http_addr_set: bool) -> Result<(), ConfigError> {
    if webhook.is_some() && !http_addr_set {
        return Err(ConfigError {
            variable: "HTTP_ADDR",
            problem: "is not set, but WEBHOOK_URL is: set the address your HTTPS reverse proxy forwards the webhook to, like 127.0.0.1:8080".to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn some(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    #[test]
    fn an_https_url_with_a_path_is_webhook_mode() -> Result<(), ConfigError> {
        let config = read(some("https://bot.example.com/telegram/hook"), None)?;
        let config = config.ok_or_else(|| invalid("WEBHOOK_URL", "webhook mode", "none"))?;
        assert_eq!(config.path, "/telegram/hook");
        assert!(config.secret.is_none());
        let with_port = read(some("https://bot.example.com:8443/t"), some("abc_DEF-123"))?;
        assert_eq!(
            with_port.and_then(|c| c.secret).map(|s| s.expose_secret().to_owned()).as_deref(),
            Some("abc_DEF-123")
        );
        assert!(read(None, None)?.is_none(), "unset: long polling");
        Ok(())
    }

    #[test]
    fn unusable_values_name_the_variable_and_what_is_allowed() {
        let refused = |url: Option<&str>, secret: Option<&str>| {
            read(url.map(ToOwned::to_owned), secret.map(ToOwned::to_owned)).err()
        };
        for url in ["http://bot.example.com/t", "ftp://x/t", "not a url", "https://"] {
            let error = refused(Some(url), None).map(|e| e.to_string()).unwrap_or_default();
            assert!(error.starts_with("WEBHOOK_URL") && error.contains("https://"), "{url}: {error}");
        }
        let error = refused(Some("https://b.example.com:9000/t"), None).map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("port 9000") && error.contains("8443"), "{error}");
        assert!(refused(Some("https://b.example.com/t?x=1"), None).is_some());
        assert!(refused(Some("https://b.example.com/healthz"), None).is_some());
        assert!(refused(Some("https://b.example.com/media/x"), None).is_some());
        let hook = read(Some("https://b.example.com/t".to_owned()), None).ok().flatten();
        let error = needs_http_addr(hook.as_ref(), false).err().map(|e| e.variable);
        assert_eq!(error, Some("HTTP_ADDR"), "the proxy needs somewhere to forward to");
        assert!(needs_http_addr(hook.as_ref(), true).is_ok());
        assert!(needs_http_addr(None, false).is_ok(), "long polling needs no HTTP_ADDR");
        for secret in ["has space", "ünïcode", &"x".repeat(257)] {
            let error = refused(Some("https://b.example.com/t"), Some(secret)).map(|e| e.variable);
            assert_eq!(error, Some("WEBHOOK_SECRET"), "{secret}");
        }
        assert_eq!(refused(None, Some("abc")).map(|e| e.variable), Some("WEBHOOK_SECRET"));
    }

    #[test]
    fn neither_the_path_nor_the_secret_is_shown() {
        let config = read(some("https://bot.example.com/123456:TOKEN-path"), some("topsecret")).ok().flatten();
        let shown = format!("{config:?}");
        assert!(!shown.contains("TOKEN-path") && !shown.contains("topsecret"), "{shown}");
        assert!(shown.contains("https://bot.example.com"), "{shown}");
    }
}
