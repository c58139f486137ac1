use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use super::StoreError;
use crate::WorkspaceId;
use crate::login::{
    ChoiceId, GoogleGrant, IssuedState, LoginAttempt, LoginCandidate, LoginChoice, LoginError, LoginProvider,
};
use crate::user::TelegramUserId;

/// Makes and checks the `state` of login links: signed with a key of the deployment, so a
/// state this server did not make is refused before anything is looked up.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait StateSigner: Send + Sync {
    /// A fresh state naming `workspace`, with a random nonce and a PKCE verifier.
    fn issue(&self, workspace: WorkspaceId) -> IssuedState;

    /// The workspace and nonce of a state this signer made; `None` for anything else. The
    /// signature is compared in constant time.
    fn open(&self, state: &str) -> Option<(WorkspaceId, String)>;
}

/// Logins under way: kept from the press until the callback takes them, once.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait LoginAttempts: Send + Sync {
    /// Keeps `attempt` under `nonce` in `workspace`, and forgets attempts that expired before `now`.
    ///
    /// # Errors
    /// [`StoreError::WorkspaceNotFound`], or [`StoreError::Unknown`] when the store fails.
    async fn begin(
        &self,
        workspace: WorkspaceId,
        nonce: &str,
        attempt: &LoginAttempt,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Takes the attempt kept under `nonce` in `workspace` and forgets it, in one statement:
    /// of two callbacks with one state, one gets it. Expired attempts are returned too (the
    /// caller says why it refuses); another workspace's never.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn take(&self, workspace: WorkspaceId, nonce: &str) -> Result<Option<LoginAttempt>, StoreError>;

    /// Keeps a login's picker until its person picks, and forgets pickers that expired before
    /// `now`.
    ///
    /// # Errors
    /// [`StoreError::WorkspaceNotFound`], or [`StoreError::Unknown`] when the store fails.
    async fn offer(&self, workspace: WorkspaceId, choice: &LoginChoice, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Takes the picker `choice` of `workspace` if `user` is the person who logged in and it has
    /// not expired at `now`, and forgets it, in one statement; `None` otherwise (and then a
    /// picker of someone else is left as it was).
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn pick(
        &self,
        workspace: WorkspaceId,
        choice: ChoiceId,
        user: TelegramUserId,
        now: DateTime<Utc>,
    ) -> Result<Option<LoginChoice>, StoreError>;
}

/// Meta's side of a login: the authorization link, and the code turned into accounts.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait MetaLogin: Send + Sync {
    /// Whether this deployment has an app for `provider` (`INSTAGRAM_APP_ID` …).
    fn configured(&self, provider: LoginProvider) -> bool;

    /// The link to Meta's authorization dialog; `None` without an app for `provider`.
    fn authorize_url(
        &self,
        provider: LoginProvider,
        redirect_uri: &str,
        state: &str,
        challenge: &str,
    ) -> Option<String>;

    /// Exchanges `code` for a short-lived token, that for a long-lived one, and finds the
    /// Instagram accounts it reaches (Instagram Login: the one logged in; Facebook Login: the
    /// accounts linked to the person's Pages).
    ///
    /// # Errors
    /// [`LoginError`]; its text never holds a token, a code or the app secret.
    async fn connect(
        &self,
        provider: LoginProvider,
        code: &SecretString,
        redirect_uri: &str,
        verifier: &SecretString,
    ) -> Result<Vec<LoginCandidate>, LoginError>;
}

/// Google's side of a login for a Drive media source (OAuth 2.0 with PKCE, `drive.readonly`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait GoogleLogin: Send + Sync {
    /// Whether this deployment has a Google OAuth client (`GOOGLE_CLIENT_ID`).
    fn configured(&self) -> bool;

    /// The link to Google's consent screen; `None` without a client.
    fn authorize_url(&self, redirect_uri: &str, state: &str, challenge: &str) -> Option<String>;

    /// Exchanges `code` (with the PKCE `verifier`) for a refresh token, and lists the folders
    /// at the top of the person's My Drive.
    ///
    /// # Errors
    /// [`LoginError`]; its text never holds a token, a code or the client secret.
    async fn connect(
        &self,
        code: &SecretString,
        redirect_uri: &str,
        verifier: &SecretString,
    ) -> Result<GoogleGrant, LoginError>;
}
