//! Meta's error answers turned into [`PublishError`]s, and the scrubbing that keeps tokens out
//! of every error text.

use std::error::Error as _;

use serde::Deserialize;
use storyline_domain::ports::PublishError;

/// What stands in an error text where a secret was.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// `{"error": {...}}`, Meta's error envelope.
#[derive(Deserialize)]
struct Envelope {
    error: MetaError,
}

/// Instagram Login's flat error answer; its `code` is the HTTP status, not Meta's error code.
#[derive(Deserialize)]
struct FlatError {
    #[serde(default)]
    error_type: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
}

/// The fields of Meta's error object that Storyline uses.
#[derive(Deserialize)]
pub(crate) struct MetaError {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub error_subcode: Option<i64>,
    #[serde(default)]
    pub fbtrace_id: Option<String>,
}

impl MetaError {
    /// The error in `body`, if it is Meta's error envelope.
    pub(crate) fn parse(body: &str) -> Option<Self> {
        if let Ok(envelope) = serde_json::from_str::<Envelope>(body) {
            return Some(envelope.error);
        }
        // Instagram Login's code exchange (api.instagram.com) answers flat:
        // `{"error_type": "OAuthException", "code": 400, "error_message": "…"}`.
        let flat = serde_json::from_str::<FlatError>(body).ok().filter(|flat| flat.error_message.is_some())?;
        Some(Self {
            message: flat.error_message,
            kind: flat.error_type,
            code: None,
            error_subcode: None,
            fbtrace_id: None,
        })
    }
}

/// Codes Meta uses for throttling: application (4), user (17), custom-level (32), application-
/// level (341), "too many calls" (613) and the publishing limit (9).
const RATE_LIMIT_CODES: [i64; 6] = [4, 17, 32, 341, 9, 613];
/// Unknown error (1) and temporary service problem (2): worth retrying.
const TRANSIENT_CODES: [i64; 2] = [1, 2];
/// The access token is invalid or expired.
const TOKEN_INVALID: i64 = 190;

/// Classifies an unsuccessful answer by Meta's code first, then by HTTP status. The text is
/// Meta's message (never the raw body), or the HTTP status when Meta sent none.
pub(crate) fn classify(call: &'static str, status: u16, meta: Option<&MetaError>) -> PublishError {
    let code = meta.and_then(|m| m.code);
    tracing::debug!(
        call,
        http_status = status,
        code,
        subcode = meta.and_then(|m| m.error_subcode),
        kind = meta.and_then(|m| m.kind.as_deref()),
        fbtrace_id = meta.and_then(|m| m.fbtrace_id.as_deref()),
        "the Graph API answered with an error"
    );
    let message = meta
        .and_then(|m| m.message.as_deref())
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map_or_else(|| format!("HTTP status {status}"), str::to_owned);
    match code {
        Some(TOKEN_INVALID) => PublishError::TokenInvalid(message),
        Some(c) if RATE_LIMIT_CODES.contains(&c) => PublishError::RateLimited(message),
        _ if status == 429 => PublishError::RateLimited(message),
        Some(c) if TRANSIENT_CODES.contains(&c) => PublishError::Transient(message),
        _ if (500..600).contains(&status) => PublishError::Transient(message),
        _ => PublishError::Failed(message),
    }
}

/// A request that got no answer (connect, time-out, broken body): transient. The URL (whose
/// query may hold a token) is stripped before the error is formatted; its causes are kept.
pub(crate) fn network(call: &'static str, error: reqwest::Error) -> PublishError {
    let timeout = error.is_timeout();
    let builder = error.is_builder();
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::debug!(call, timeout, "the Graph API request got no answer");
    if builder { PublishError::Failed(text) } else { PublishError::Transient(text) }
}

/// `error` with every occurrence of each non-empty secret replaced by [`REDACTED`].
pub(crate) fn scrub(error: PublishError, secrets: &[&str]) -> PublishError {
    let clean = |mut text: String| {
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            if text.contains(secret) {
                text = text.replace(secret, REDACTED);
            }
        }
        text
    };
    match error {
        PublishError::TokenInvalid(text) => PublishError::TokenInvalid(clean(text)),
        PublishError::RateLimited(text) => PublishError::RateLimited(clean(text)),
        PublishError::Transient(text) => PublishError::Transient(clean(text)),
        PublishError::Failed(text) => PublishError::Failed(clean(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(code: i64, message: &str) -> MetaError {
        MetaError {
            message: Some(message.to_owned()),
            kind: Some("OAuthException".to_owned()),
            code: Some(code),
            error_subcode: None,
            fbtrace_id: None,
        }
    }

    #[test]
    fn instagram_logins_flat_error_is_read_too() {
        let body = r#"{"error_type": "OAuthException", "code": 400, "error_message": "Invalid authorization code"}"#;
        let parsed = MetaError::parse(body).map(|e| (e.message, e.kind, e.code));
        assert_eq!(
            parsed,
            Some((Some("Invalid authorization code".to_owned()), Some("OAuthException".to_owned()), None))
        );
        assert!(MetaError::parse(r#"{"code": 400}"#).is_none());
    }

    #[test]
    fn codes_are_classified_before_http_statuses() {
        assert_eq!(classify("t", 400, Some(&meta(190, "expired"))), PublishError::TokenInvalid("expired".to_owned()));
        for code in RATE_LIMIT_CODES {
            assert_eq!(classify("t", 400, Some(&meta(code, "slow"))), PublishError::RateLimited("slow".to_owned()));
        }
        assert_eq!(classify("t", 500, Some(&meta(1, "oops"))), PublishError::Transient("oops".to_owned()));
        assert_eq!(classify("t", 503, Some(&meta(2, "down"))), PublishError::Transient("down".to_owned()));
        assert_eq!(classify("t", 400, Some(&meta(100, "bad"))), PublishError::Failed("bad".to_owned()));
        assert_eq!(classify("t", 429, None), PublishError::RateLimited("HTTP status 429".to_owned()));
        assert_eq!(classify("t", 502, None), PublishError::Transient("HTTP status 502".to_owned()));
        assert_eq!(classify("t", 404, None), PublishError::Failed("HTTP status 404".to_owned()));
    }

    #[test]
    fn scrubbing_replaces_every_secret_and_ignores_empty_ones() {
        let error = PublishError::Failed("token abc123 and secret s3cr3t, again abc123".to_owned());
        assert_eq!(
            scrub(error, &["abc123", "", "s3cr3t"]),
            PublishError::Failed("token [REDACTED] and secret [REDACTED], again [REDACTED]".to_owned())
        );
    }

    #[test]
    fn meta_errors_parse_with_missing_fields() {
        let parsed = MetaError::parse(r#"{"error":{"message":"m","code":190}}"#);
        assert_eq!(parsed.and_then(|m| m.code), Some(190));
        assert!(MetaError::parse(r#"{"id":"1"}"#).is_none());
        assert!(MetaError::parse("<html>bad gateway</html>").is_none());
    }
}
