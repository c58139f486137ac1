//! Connecting an Instagram account by logging in at Meta (OAuth 2.0), not by pasting a token.
//!
//! A press on "Log in with Instagram" starts a [`LoginAttempt`]: a signed, single-use `state`
//! that names the workspace, bound in the store to the person who pressed, expiring after
//! [`STATE_TTL_MINUTES`]. Meta sends the browser back with that state and a code; the code
//! becomes a long-lived token and the account or accounts it reaches ([`LoginCandidate`]).

use std::fmt;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::{AccountId, InstagramUserId, LoginKind, Username};
use crate::user::TelegramUserId;
use crate::{ChatId, WorkspaceId};

/// How long a login link works.
pub const STATE_TTL_MINUTES: i64 = 10;

/// Which of Meta's logins a person goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginProvider {
    /// Instagram Login (`instagram_business_basic`, `instagram_business_content_publish`).
    Instagram,
    /// Facebook Login, for an Instagram account linked to a Facebook Page.
    Facebook,
    /// Google (`drive.readonly`), for a Drive folder as the media source.
    Google,
}

impl LoginProvider {
    pub const ALL: [Self; 3] = [Self::Instagram, Self::Facebook, Self::Google];

    /// As in the callback path (`/oauth/instagram/callback`) and the store.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Instagram => "instagram",
            Self::Facebook => "facebook",
            Self::Google => "google",
        }
    }

    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// As a person reads it on a button.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Instagram => "Instagram",
            Self::Facebook => "Facebook",
            Self::Google => "Google",
        }
    }

    /// Which Graph API the token it yields speaks to; `None` for Google (not an Instagram login).
    #[must_use]
    pub const fn login_kind(self) -> Option<LoginKind> {
        match self {
            Self::Instagram => Some(LoginKind::Instagram),
            Self::Facebook => Some(LoginKind::Facebook),
            Self::Google => None,
        }
    }

    /// The path Meta sends the browser back to, under the public base URL.
    #[must_use]
    pub fn callback_path(self) -> String {
        format!("/oauth/{}/callback", self.as_str())
    }
}

/// A login under way, as the store keeps it until the callback takes it (once).
/// `Debug` never shows the PKCE verifier.
#[derive(Clone)]
pub struct LoginAttempt {
    pub provider: LoginProvider,
    /// The person who pressed: the account is added in their name, if they may still add one.
    pub user: TelegramUserId,
    /// The workspace's chat (where the team is told who connected what).
    pub chat: ChatId,
    /// Set when the login replaces the token of this account (Reconnect).
    pub reconnect: Option<AccountId>,
    /// The PKCE code verifier (sent with the code, where the provider takes one).
    pub verifier: SecretString,
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for LoginAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginAttempt")
            .field("provider", &self.provider)
            .field("user", &self.user)
            .field("chat", &self.chat)
            .field("reconnect", &self.reconnect)
            .field("verifier", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A fresh state for a login link, made by a [`crate::ports::StateSigner`].
/// `Debug` never shows the verifier.
#[derive(Clone)]
pub struct IssuedState {
    /// What goes in the `state` parameter: the workspace, a random nonce and their signature.
    pub state: String,
    /// The random part: the store keeps the attempt under it.
    pub nonce: String,
    /// The PKCE code verifier, kept in the store.
    pub verifier: SecretString,
    /// Its S256 challenge, sent in the authorization link.
    pub challenge: String,
}

impl fmt::Debug for IssuedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedState").field("nonce", &self.nonce).finish_non_exhaustive()
    }
}

/// An Instagram account a login reaches, with the long-lived token for it.
/// `Debug` never shows the token.
#[derive(Clone)]
pub struct LoginCandidate {
    pub instagram_id: InstagramUserId,
    pub username: Option<Username>,
    /// The account's name (or its Page's), else its username: the display name it gets.
    pub name: String,
    pub token: SecretString,
    /// Days until the token expires, when Meta said.
    pub expires_in_days: Option<i64>,
}

impl fmt::Debug for LoginCandidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginCandidate")
            .field("instagram_id", &self.instagram_id)
            .field("username", &self.username)
            .field("name", &self.name)
            .field("token", &"[REDACTED]")
            .field("expires_in_days", &self.expires_in_days)
            .finish()
    }
}

/// The most accounts a login's picker offers (buttons, and what the store keeps).
pub const MAX_CHOICES: usize = 8;

/// A login that reached several accounts, waiting for the person to pick one in the chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChoiceId(Uuid);

impl ChoiceId {
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

    /// The id [`ChoiceId::compact`] spells, if it is one.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Uuid::parse_str(text).ok().map(Self)
    }
}

impl Default for ChoiceId {
    fn default() -> Self {
        Self::new()
    }
}

/// One entry of a picker, without its token: an Instagram account (its id), or a Drive folder
/// (its id) for a Google login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceAccount {
    pub id: String,
    #[serde(default)]
    pub username: Option<String>,
    pub name: String,
}

/// A login's picker, as the store keeps it until the person picks (once). The token every
/// account of the login shares is sealed (bound to the workspace and the choice,
/// [`choice_binding`]); `Debug` shows none of it.
#[derive(Clone)]
pub struct LoginChoice {
    pub id: ChoiceId,
    pub provider: LoginProvider,
    /// The person who logged in: only they may pick.
    pub user: TelegramUserId,
    pub accounts: Vec<ChoiceAccount>,
    pub sealed_token: Vec<u8>,
    pub expires_in_days: Option<i64>,
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for LoginChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginChoice")
            .field("id", &self.id)
            .field("provider", &self.provider)
            .field("user", &self.user)
            .field("accounts", &self.accounts)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What a picker's sealed token is bound to: a ciphertext copied to another choice does not open.
#[must_use]
pub fn choice_binding(workspace: WorkspaceId, choice: ChoiceId) -> Vec<u8> {
    format!("storyline-login-choice:v1:{workspace}:{}", choice.compact()).into_bytes()
}

/// What a Google login gives: the credentials a Drive source is read with (Google's
/// `authorized_user` JSON with the refresh token) and the folders at the top of My Drive, by id
/// and name. `Debug` never shows the credentials.
#[derive(Clone)]
pub struct GoogleGrant {
    pub credentials: SecretString,
    pub folders: Vec<(String, String)>,
}

impl fmt::Debug for GoogleGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleGrant").field("folders", &self.folders).finish_non_exhaustive()
    }
}

/// Why a login could not reach an account. The text is for the log (Meta's words, with any
/// secret already taken out), never for the page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Meta refused the code or a token (used, expired, for another redirect URI, …).
    #[error("Meta refused the login: {0}")]
    Refused(String),
    /// Meta could not be asked, or answered what it should not.
    #[error("Meta could not be asked: {0}")]
    Unreachable(String),
    /// This deployment has no app for the provider.
    #[error("no Meta app is configured for {0} login")]
    NotConfigured(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_read_back_and_name_their_callback() {
        for provider in LoginProvider::ALL {
            assert_eq!(LoginProvider::parse(provider.as_str()), Some(provider));
        }
        assert_eq!(LoginProvider::parse("gmail"), None);
        assert_eq!(LoginProvider::Instagram.callback_path(), "/oauth/instagram/callback");
        assert_eq!(LoginProvider::Facebook.login_kind(), Some(LoginKind::Facebook));
        assert_eq!(LoginProvider::Google.login_kind(), None);
    }

    #[test]
    fn debug_shows_no_secret() -> Result<(), crate::account::AccountFieldError> {
        let candidate = LoginCandidate {
            instagram_id: InstagramUserId::new("17841400000000001")?,
            username: None,
            name: "brand".to_owned(),
            token: SecretString::from("IGAAB-secret-token-value".to_owned()),
            expires_in_days: Some(60),
        };
        let issued = IssuedState {
            state: "s".to_owned(),
            nonce: "n".to_owned(),
            verifier: SecretString::from("verifier-secret-value".to_owned()),
            challenge: "c".to_owned(),
        };
        let shown = format!("{candidate:?} {issued:?}");
        assert!(!shown.contains("secret"), "{shown}");
        Ok(())
    }
}
