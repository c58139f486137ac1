use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use super::StoreError;
use crate::WorkspaceId;
use crate::account::{Account, AccountId, Credential, NewAccount, NewToken, TokenInfo, TokenNotice};
use crate::user::Actor;

/// Why an account change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("the Instagram account {0} is already added")]
    Exists(String),
    #[error("there is no such account in this workspace")]
    NotFound,
    #[error("the account {0} is disabled; reactivate it first")]
    Disabled(String),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What [`AccountStore::add`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    pub account: Account,
    /// Whether it is now the workspace's active account (asked for, or the only one).
    pub active: bool,
}

/// Instagram account identities and the workspace's active selection (FEATURES A1–A4). Adding
/// an account stores its token in the same transaction, sealed by the store's cipher.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Adds an account and its token in one transaction, with an audit entry. It becomes the
    /// active account when `make_active`, or when it is the workspace's only enabled account.
    ///
    /// # Errors
    /// [`AccountError::Exists`] when the workspace already has this Instagram id (enabled or
    /// not); [`AccountError::Vault`] when the token cannot be sealed. Nothing is written then.
    async fn add(
        &self,
        workspace: WorkspaceId,
        account: &NewAccount,
        token: &NewToken,
        make_active: bool,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Added, AccountError>;

    /// The workspace's accounts by display name; disabled ones too when `with_disabled`.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn accounts(&self, workspace: WorkspaceId, with_disabled: bool) -> Result<Vec<Account>, StoreError>;

    /// One account of the workspace (`None` for another workspace's).
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn account(&self, workspace: WorkspaceId, account: AccountId) -> Result<Option<Account>, StoreError>;

    /// The workspace's active account, if one is selected.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn active(&self, workspace: WorkspaceId) -> Result<Option<Account>, StoreError>;

    /// Selects the active account, with an audit entry (old → new).
    ///
    /// # Errors
    /// [`AccountError::NotFound`] for an unknown account or another workspace's;
    /// [`AccountError::Disabled`] for a disabled one. Nothing changes then.
    async fn select(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Account, AccountError>;

    /// Disables or re-enables an account, with an audit entry. Disabling the active account
    /// clears the selection; enabling one when nothing is selected and it is the only enabled
    /// account selects it.
    ///
    /// # Errors
    /// [`AccountError::NotFound`] for an unknown account.
    async fn set_enabled(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        enabled: bool,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Account, AccountError>;

    /// Forgets the account's token and disables the account (`remove-instagram-account`: the
    /// way out when its token no longer opens), with an audit entry, in one transaction. Its
    /// identity and history stay: reactivating it and setting a new token bring it back. Needs
    /// no encryption key. Removing an account already disabled without a token changes nothing.
    ///
    /// # Errors
    /// [`AccountError::NotFound`] for an unknown account or another workspace's.
    async fn remove(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Account, AccountError>;
}

/// The token vault failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// No encryption key is configured, so tokens can be neither stored nor read.
    #[error("no encryption key is configured: set ENCRYPTION_KEY (generate one with `storyline generate-key`)")]
    NoKey,
    /// A stored token does not open with any configured key (wrong key, or a ciphertext moved
    /// to another row).
    #[error("a stored token cannot be decrypted with the configured ENCRYPTION_KEY(S): {0}")]
    Undecryptable(#[from] CipherError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An account whose token the refresh job should look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenDue {
    pub workspace: WorkspaceId,
    /// The workspace's chat, where problems are announced.
    pub chat: crate::ChatId,
    pub account: Account,
    pub info: TokenInfo,
}

/// Credentials per account (FEATURES A5, A6). Tokens are sealed by the store's cipher on the way
/// in and opened on the way out: callers only ever see [`SecretString`]s.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait TokenVault: Send + Sync {
    /// The account's token, decrypted.
    ///
    /// # Errors
    /// [`VaultError::Undecryptable`] when no configured key opens it.
    async fn credential(&self, workspace: WorkspaceId, account: AccountId) -> Result<Option<Credential>, VaultError>;

    /// Replaces the account's token (after a refresh, or when a person sets a new one); clears
    /// its notice.
    ///
    /// # Errors
    /// [`VaultError::Store`] when the account is not the workspace's.
    async fn put(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        token: &NewToken,
        at: DateTime<Utc>,
    ) -> Result<(), VaultError>;

    /// Expiry, age and notice of every token of the workspace; nothing is decrypted.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn token_infos(&self, workspace: WorkspaceId) -> Result<Vec<TokenInfo>, StoreError>;

    /// Records the notice told to the chat (or clears it) and returns the one recorded before,
    /// so a caller tells each problem once.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn set_notice(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        notice: Option<TokenNotice>,
    ) -> Result<Option<TokenNotice>, StoreError>;

    /// Every enabled account with a token, across workspaces, for the daily refresh job. Like
    /// `Queue::claim_due`, this is a system job's read and the one vault method not scoped to a
    /// workspace.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn all_tokens(&self) -> Result<Vec<TokenDue>, StoreError>;

    /// Re-seals every token not sealed with the newest key (`storyline rotate-keys`), in
    /// batches; returns how many were re-sealed. System-wide like [`TokenVault::all_tokens`].
    ///
    /// # Errors
    /// [`VaultError::Undecryptable`] when a token opens with no configured key; the tokens
    /// re-sealed before it stay re-sealed (each batch is one transaction).
    async fn reseal_all(&self) -> Result<u64, VaultError>;

    /// Checks that every stored token opens with a configured key, without returning any: a
    /// wrong key is then a start-up error instead of a failed post. Returns how many were
    /// checked.
    ///
    /// # Errors
    /// [`VaultError::Undecryptable`] or [`VaultError::NoKey`] when tokens exist but cannot be
    /// opened.
    async fn verify_all(&self) -> Result<u64, VaultError>;
}

/// A cipher could not seal or open a token. Never carries the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error("the ciphertext was sealed with key id {0}, which is not among the configured keys")]
    UnknownKey(String),
    #[error("the ciphertext does not open: wrong key, tampered, or bound to another account")]
    Forged,
    #[error("the ciphertext is malformed")]
    Malformed,
}

/// The authenticated encryption the vault seals tokens with (implemented by `storyline-crypto`).
/// `binding` is authenticated but not stored: the vault passes the row's workspace and account,
/// so a ciphertext copied to another row does not open.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait TokenCipher: Send + Sync {
    /// Seals with the newest key; the output starts with that key's id.
    ///
    /// # Errors
    /// [`CipherError`] only on an internal failure.
    fn seal(&self, plaintext: &SecretString, binding: &[u8]) -> Result<Vec<u8>, CipherError>;

    /// Opens a sealed token with whichever configured key its id names.
    ///
    /// # Errors
    /// [`CipherError::UnknownKey`], [`CipherError::Forged`], [`CipherError::Malformed`].
    fn open(&self, sealed: &[u8], binding: &[u8]) -> Result<SecretString, CipherError>;

    /// Whether `sealed` was sealed with the newest key (else `rotate-keys` re-seals it).
    fn is_current(&self, sealed: &[u8]) -> bool;
}

/// The binding the vault authenticates a token with: its workspace and account.
#[must_use]
pub fn token_binding(workspace: WorkspaceId, account: AccountId) -> Vec<u8> {
    format!("storyline-token:v1:{workspace}:{account}").into_bytes()
}
