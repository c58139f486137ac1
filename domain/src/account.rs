//! Instagram accounts (FEATURES A1–A7): identity ([`Account`]) is kept apart from credentials
//! ([`Credential`], behind the token vault) and from selection (the workspace's active account).

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::WorkspaceId;

/// Storyline's id of an account (not Meta's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccountId(Uuid);

impl AccountId {
    #[must_use]
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    #[must_use]
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    #[must_use]
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// 32 hex digits, for callback data.
    #[must_use]
    pub fn compact(&self) -> String {
        self.0.simple().to_string()
    }

    /// The id from [`AccountId::compact`] (or any UUID spelling).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Uuid::parse_str(text).ok().map(Self)
    }
}

impl Default for AccountId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why an account field was refused; the text says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountFieldError {
    #[error("the display name must be 1 to 100 characters without line breaks")]
    DisplayName,
    #[error("the Instagram account id must be 1 to 32 digits (the numeric id Meta shows, not the @username)")]
    InstagramId,
    #[error("the username must be 1 to 30 letters, digits, dots or underscores (an optional leading @ is dropped)")]
    Username,
    #[error("the access token must be 20 to 1024 printable characters without spaces")]
    Token,
    #[error("the expiry must be 1 to 365 days")]
    ExpiresInDays,
}

/// A name people give an account ("Main Brand").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DisplayName(String);

impl DisplayName {
    /// # Errors
    /// [`AccountFieldError::DisplayName`] when empty, longer than 100 characters or holding a
    /// control character.
    pub fn new(text: &str) -> Result<Self, AccountFieldError> {
        let text = text.trim();
        let length = text.chars().count();
        if length == 0 || length > 100 || text.chars().any(char::is_control) {
            return Err(AccountFieldError::DisplayName);
        }
        Ok(Self(text.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Meta's numeric id of an Instagram professional account ("17841234567890").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InstagramUserId(String);

impl InstagramUserId {
    /// # Errors
    /// [`AccountFieldError::InstagramId`] unless 1 to 32 ASCII digits.
    pub fn new(text: &str) -> Result<Self, AccountFieldError> {
        let text = text.trim();
        if text.is_empty() || text.len() > 32 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AccountFieldError::InstagramId);
        }
        Ok(Self(text.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstagramUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An Instagram @username, kept without the `@`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Username(String);

impl Username {
    /// # Errors
    /// [`AccountFieldError::Username`] unless 1 to 30 letters, digits, `.` or `_`.
    pub fn new(text: &str) -> Result<Self, AccountFieldError> {
        let text = text.trim();
        let text = text.strip_prefix('@').unwrap_or(text);
        if text.is_empty()
            || text.len() > 30
            || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
        {
            return Err(AccountFieldError::Username);
        }
        Ok(Self(text.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}", self.0)
    }
}

/// How the token was obtained, which decides the Graph API host and how it is refreshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LoginKind {
    /// Instagram API with Instagram Login: graph.instagram.com, refreshed with `ig_refresh_token`.
    Instagram,
    /// Instagram API with Facebook Login: graph.facebook.com, refreshed by exchange with the
    /// app id and secret (`fb_exchange_token`).
    Facebook,
}

impl LoginKind {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Instagram => "instagram",
            Self::Facebook => "facebook",
        }
    }

    /// The stored or typed name (`instagram`, `facebook`), if it is one.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "instagram" | "ig" => Some(Self::Instagram),
            "facebook" | "fb" => Some(Self::Facebook),
            _ => None,
        }
    }

    /// The kind a token's prefix reveals: Instagram Login tokens start with `IG`, Facebook
    /// Login ones with `EA`.
    #[must_use]
    pub fn guess(token: &str) -> Self {
        if token.starts_with("IG") { Self::Instagram } else { Self::Facebook }
    }
}

impl fmt::Display for LoginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An Instagram account a workspace can publish to (identity only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub workspace: WorkspaceId,
    pub display_name: DisplayName,
    pub instagram_id: InstagramUserId,
    pub username: Option<Username>,
    pub login: LoginKind,
    /// Disabled accounts are kept (with their history) but cannot be selected.
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

impl Account {
    /// "Main Brand (@brand_main)" or just the display name.
    #[must_use]
    pub fn label(&self) -> String {
        match &self.username {
            Some(username) => format!("{} ({username})", self.display_name),
            None => self.display_name.to_string(),
        }
    }
}

/// An account to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub display_name: DisplayName,
    pub instagram_id: InstagramUserId,
    pub username: Option<Username>,
    pub login: LoginKind,
}

/// An access token as typed or as Meta returned it. `Debug` never shows the value.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub token: SecretString,
    /// `None` when unknown (then refresh decides).
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether Meta confirmed the token when it was stored (`false`: Meta could not be reached,
    /// so it was saved as given and shows as "Not checked").
    pub checked: bool,
}

/// Checks a typed token's shape without keeping it anywhere but the returned secret.
///
/// # Errors
/// [`AccountFieldError::Token`] when shorter than 20, longer than 1024 characters or holding
/// whitespace or control characters.
pub fn parse_token(text: &str) -> Result<SecretString, AccountFieldError> {
    let text = text.trim();
    if text.len() < 20 || text.len() > 1024 || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AccountFieldError::Token);
    }
    Ok(SecretString::from(text.to_owned()))
}

/// Whether `text` holds something shaped like a Meta access token (a word of 40 or more
/// letters, digits, `-`, `_` or `.` starting with `IG` or `EA`), so a chat message carrying one
/// can be deleted even when nobody asked for it.
#[must_use]
pub fn looks_like_token(text: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || c == '|').any(|word| {
        word.len() >= 40
            && (word.starts_with("IG") || word.starts_with("EA"))
            && word.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    })
}

/// The longest a token may be declared to live when added by hand.
pub const MAX_EXPIRES_IN_DAYS: i64 = 365;
/// A token this close to its expiry is announced (FEATURES A6).
pub const EXPIRY_WARNING: Duration = Duration::days(3);
/// Instagram Login tokens can only be refreshed once they are this old.
pub const MIN_REFRESH_AGE: Duration = Duration::hours(24);
/// Tokens expiring within this window are refreshed by the daily job.
pub const REFRESH_AHEAD: Duration = Duration::days(10);

/// A decrypted credential, as the token vault returns it.
#[derive(Debug, Clone)]
pub struct Credential {
    pub account: AccountId,
    pub token: SecretString,
    pub expires_at: Option<DateTime<Utc>>,
    /// When this token was stored (added or last refreshed).
    pub issued_at: DateTime<Utc>,
}

/// What is known about a token without decrypting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub account: AccountId,
    pub expires_at: Option<DateTime<Utc>>,
    pub issued_at: DateTime<Utc>,
    /// The last problem announced in the chat, so it is announced once.
    pub notice: Option<TokenNotice>,
    /// Whether Meta confirmed the token when it was stored ([`NewToken::checked`]).
    pub checked: bool,
}

impl TokenInfo {
    #[must_use]
    pub fn status(&self, now: DateTime<Utc>) -> TokenStatus {
        match TokenStatus::of(Some(self.expires_at), now) {
            status if status.usable() && self.notice == Some(TokenNotice::Dead) => TokenStatus::Refused,
            TokenStatus::Valid(days) if !self.checked => TokenStatus::Unchecked(days),
            status => status,
        }
    }
}

/// A token problem told to the chat (stored so it is told once, not on every run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TokenNotice {
    /// Within [`EXPIRY_WARNING`] of its expiry.
    Expiring,
    /// The last refresh failed.
    RefreshFailed,
    /// Meta said the token is invalid or expired (error 190), or it is past its expiry.
    Dead,
}

impl TokenNotice {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Expiring => "expiring",
            Self::RefreshFailed => "refresh_failed",
            Self::Dead => "dead",
        }
    }

    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Expiring, Self::RefreshFailed, Self::Dead].into_iter().find(|n| n.as_str() == text)
    }
}

/// A token's state as /settings and `list-instagram-accounts` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    NoToken,
    Expired,
    /// Instagram said the token is invalid (error 190) although it has not reached its expiry.
    Refused,
    /// Within [`EXPIRY_WARNING`]: whole days left (0 = today).
    ExpiresSoon(i64),
    /// Whole days left, `None` when the expiry is unknown.
    Valid(Option<i64>),
    /// Saved without Meta confirming it (Meta could not be reached); days left as for `Valid`.
    Unchecked(Option<i64>),
}

impl TokenStatus {
    /// `expiry` is `None` without a token, `Some(None)` for a token without a known expiry.
    #[must_use]
    pub fn of(expiry: Option<Option<DateTime<Utc>>>, now: DateTime<Utc>) -> Self {
        match expiry {
            None => Self::NoToken,
            Some(None) => Self::Valid(None),
            Some(Some(at)) if at <= now => Self::Expired,
            Some(Some(at)) if at - now <= EXPIRY_WARNING => Self::ExpiresSoon(days_left(at - now)),
            Some(Some(at)) => Self::Valid(Some(days_left(at - now))),
        }
    }

    /// Whether publishing may use the token.
    #[must_use]
    pub const fn usable(self) -> bool {
        matches!(self, Self::ExpiresSoon(_) | Self::Valid(_) | Self::Unchecked(_))
    }
}

impl fmt::Display for TokenStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoToken => f.write_str("No token"),
            Self::Expired => f.write_str("Expired"),
            Self::Refused => f.write_str("Refused by Instagram"),
            Self::ExpiresSoon(0) => f.write_str("Expires today"),
            Self::ExpiresSoon(1) => f.write_str("Expires in 1 day"),
            Self::ExpiresSoon(days) => write!(f, "Expires in {days} days"),
            Self::Valid(None) => f.write_str("Valid"),
            Self::Valid(Some(1)) => f.write_str("Valid (1 day)"),
            Self::Valid(Some(days)) => write!(f, "Valid ({days} days)"),
            Self::Unchecked(None) => f.write_str("Not checked"),
            Self::Unchecked(Some(1)) => f.write_str("Not checked (1 day)"),
            Self::Unchecked(Some(days)) => write!(f, "Not checked ({days} days)"),
        }
    }
}

/// Days left, rounded to the nearest day: a token added a moment ago with 60 days reads
/// "60 days", not 59; one with 58 days and 3 hours left reads 58.
fn days_left(left: Duration) -> i64 {
    const DAY: i64 = 86_400;
    (left.num_seconds() + DAY / 2) / DAY
}

/// Whether a stored token should be refreshed now (FEATURES A6): it expires within
/// [`REFRESH_AHEAD`] (or its expiry is unknown), is not expired, and — for Instagram Login,
/// whose endpoint refuses younger tokens — is at least [`MIN_REFRESH_AGE`] old.
#[must_use]
pub fn needs_refresh(login: LoginKind, info: &TokenInfo, now: DateTime<Utc>) -> bool {
    let alive = info.expires_at.is_none_or(|at| at > now);
    let soon = info.expires_at.is_none_or(|at| at - now <= REFRESH_AHEAD);
    let old_enough = login == LoginKind::Facebook || now - info.issued_at >= MIN_REFRESH_AGE;
    alive && soon && old_enough
}

/// How a story reached Instagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PostMethod {
    /// Sent to the team chat; a person posted it and pressed Posted.
    Telegram,
    /// Published by Storyline through the Graph API.
    Api,
}

impl PostMethod {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Telegram => "telegram",
            Self::Api => "api",
        }
    }

    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Telegram, Self::Api].into_iter().find(|m| m.as_str() == text)
    }
}

impl fmt::Display for PostMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use secrecy::ExposeSecret;

    use super::*;

    fn noon() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).single().unwrap_or_default()
    }

    #[test]
    fn token_status_reads_as_the_settings_menu_shows_it() {
        let now = noon();
        assert_eq!(TokenStatus::of(None, now).to_string(), "No token");
        assert_eq!(TokenStatus::of(Some(None), now).to_string(), "Valid");
        assert_eq!(TokenStatus::of(Some(Some(now)), now).to_string(), "Expired");
        assert_eq!(TokenStatus::of(Some(Some(now - Duration::days(1))), now).to_string(), "Expired");
        assert_eq!(TokenStatus::of(Some(Some(now + Duration::hours(5))), now).to_string(), "Expires today");
        assert_eq!(TokenStatus::of(Some(Some(now + Duration::hours(50))), now).to_string(), "Expires in 2 days");
        assert_eq!(TokenStatus::of(Some(Some(now + Duration::days(3))), now).to_string(), "Expires in 3 days");
        assert_eq!(
            TokenStatus::of(Some(Some(now + Duration::days(58) + Duration::hours(3))), now).to_string(),
            "Valid (58 days)"
        );
        assert_eq!(
            TokenStatus::of(Some(Some(now + Duration::days(60) - Duration::seconds(2))), now).to_string(),
            "Valid (60 days)",
            "a token added a moment ago with 60 days reads 60 days"
        );
        assert_eq!(
            TokenStatus::of(Some(Some(now + Duration::days(2) - Duration::seconds(2))), now).to_string(),
            "Expires in 2 days"
        );
        assert!(!TokenStatus::Expired.usable());
        assert!(!TokenStatus::NoToken.usable());
        assert!(TokenStatus::ExpiresSoon(1).usable());
    }

    #[test]
    fn a_token_meta_did_not_confirm_reads_not_checked_until_it_expires() {
        let now = noon();
        let info = |expires_at, checked| TokenInfo {
            account: AccountId::new(),
            expires_at,
            issued_at: now,
            notice: None,
            checked,
        };
        assert_eq!(info(Some(now + Duration::days(60)), false).status(now).to_string(), "Not checked (60 days)");
        assert_eq!(info(None, false).status(now).to_string(), "Not checked");
        assert!(info(None, false).status(now).usable(), "publishing may still try it");
        assert_eq!(info(Some(now - Duration::days(1)), false).status(now), TokenStatus::Expired);
        assert_eq!(info(Some(now + Duration::days(60)), true).status(now).to_string(), "Valid (60 days)");
    }

    #[test]
    fn fields_say_what_is_allowed() {
        assert_eq!(Username::new("@brand_main").map(|u| u.to_string()), Ok("@brand_main".to_owned()));
        assert_eq!(Username::new("brand main"), Err(AccountFieldError::Username));
        assert_eq!(Username::new(&"a".repeat(31)), Err(AccountFieldError::Username));
        assert_eq!(InstagramUserId::new(" 17841234567890 ").map(|i| i.to_string()), Ok("17841234567890".to_owned()));
        assert_eq!(InstagramUserId::new("brand_main"), Err(AccountFieldError::InstagramId));
        assert_eq!(DisplayName::new("  "), Err(AccountFieldError::DisplayName));
        assert_eq!(DisplayName::new("a\nb"), Err(AccountFieldError::DisplayName));
        assert_eq!(parse_token("short").err(), Some(AccountFieldError::Token));
        assert_eq!(parse_token("EAAB has spaces in it ok").err(), Some(AccountFieldError::Token));
        assert_eq!(
            parse_token(" IGAAB1234567890abcdefghij ").map(|t| t.expose_secret().to_owned()).ok(),
            Some("IGAAB1234567890abcdefghij".to_owned())
        );
        assert_eq!(LoginKind::guess("IGQVJ..."), LoginKind::Instagram);
        assert_eq!(LoginKind::guess("EAAB..."), LoginKind::Facebook);
    }

    #[test]
    fn a_token_is_refreshed_when_close_to_expiry_old_enough_and_alive() {
        let now = noon();
        let info = |issued: Duration, expires: Option<Duration>| TokenInfo {
            account: AccountId::new(),
            expires_at: expires.map(|d| now + d),
            issued_at: now - issued,
            notice: None,
            checked: true,
        };
        assert!(needs_refresh(LoginKind::Instagram, &info(Duration::days(50), Some(Duration::days(9))), now));
        assert!(!needs_refresh(LoginKind::Instagram, &info(Duration::days(2), Some(Duration::days(58))), now));
        assert!(!needs_refresh(LoginKind::Instagram, &info(Duration::hours(2), Some(Duration::days(5))), now));
        assert!(needs_refresh(LoginKind::Facebook, &info(Duration::hours(2), Some(Duration::days(5))), now));
        assert!(!needs_refresh(LoginKind::Instagram, &info(Duration::days(70), Some(-Duration::days(1))), now));
        assert!(needs_refresh(LoginKind::Instagram, &info(Duration::days(3), None), now));
    }

    #[test]
    fn token_shaped_words_are_recognised_in_a_message() {
        let token = format!("EAAB{}", "x1".repeat(30));
        assert!(looks_like_token(&format!("here it is: {token} thanks")));
        assert!(looks_like_token(&format!("Main | 1784 | IG{}", "Q".repeat(60))));
        assert!(!looks_like_token("EAAB-short"));
        assert!(!looks_like_token(&"Instagram ".repeat(20)));
        assert!(!looks_like_token(&format!("IGNORE{}", "!".repeat(50))));
    }

    #[test]
    fn a_token_never_shows_in_debug() {
        let token = NewToken {
            token: SecretString::from("IGAAB-very-secret-value-123".to_owned()),
            expires_at: None,
            checked: true,
        };
        assert!(!format!("{token:?}").contains("very-secret"));
    }
}
