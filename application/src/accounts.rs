//! Instagram accounts (FEATURES A1–A6): add (with a lookup at Meta), list with token status,
//! switch, deactivate, reactivate, replace a token; the daily token refresh is in [`refresh`].

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use storyline_domain::WorkspaceId;
use storyline_domain::account::{
    Account, AccountId, DisplayName, InstagramUserId, LoginKind, MAX_EXPIRES_IN_DAYS, NewAccount, NewToken, TokenInfo,
    TokenNotice, TokenStatus, Username,
};
use storyline_domain::ports::{
    AccountError, AccountStore, Added, Clock, PublishError, PublishTarget, StoreError, StoryPublisher, TokenVault,
    VaultError,
};
use storyline_domain::user::Actor;

use crate::errors::warn_with_reference;
use storyline_domain::reference::Reference;

mod refresh;

pub use refresh::{RefreshReport, token_notice_screen};

/// The account use cases.
#[derive(Clone)]
pub struct AccountService {
    accounts: Arc<dyn AccountStore>,
    vault: Arc<dyn TokenVault>,
    publisher: Arc<dyn StoryPublisher>,
    clock: Arc<dyn Clock>,
    /// Whether tokens can be sealed here (an encryption key is configured).
    sealing: bool,
}

impl std::fmt::Debug for AccountService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountService").finish_non_exhaustive()
    }
}

/// An account to add, as typed (CLI or bot). `Debug` never shows the token.
#[derive(Debug, Clone)]
pub struct AddAccount {
    pub display_name: DisplayName,
    pub instagram_id: InstagramUserId,
    /// Looked up at Meta when possible; this is the fallback.
    pub username: Option<Username>,
    pub token: SecretString,
    /// Days the token has left; `None` when unknown (the refresh job then learns it).
    pub expires_in_days: Option<i64>,
    /// `None`: guessed from the token (`IG…` Instagram Login, else Facebook Login).
    pub login: Option<LoginKind>,
    pub make_active: bool,
}

/// What adding did, with a note when Meta could not be asked.
#[derive(Debug, Clone)]
pub struct AddedAccount {
    pub added: Added,
    /// Set when the lookup at Meta failed for a reason other than the token (say, no network):
    /// the account was saved with the username as given and its token as not checked.
    pub lookup_note: Option<String>,
}

/// What replacing a token did, with a note when Meta could not check the new one.
#[derive(Debug, Clone)]
pub struct Replaced {
    pub account: Account,
    /// Set when Meta could not be asked: the token was saved as not checked.
    pub note: Option<String>,
}

/// Said when Meta could not be asked about a token: it is stored, but nobody confirmed it.
/// Meta's words stay in the log, under the reference.
fn unchecked_note(reference: &Reference) -> String {
    format!(
        "Instagram could not be reached (ref {reference}), so the token was NOT checked: it is saved and listed as \"Not checked\"; set it again with `storyline set-instagram-token` once Instagram answers."
    )
}

/// Why an account could not be added. Nothing was saved.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error("the token expiry must be 1 to {MAX_EXPIRES_IN_DAYS} days")]
    ExpiresInDays,
    /// Meta's words are in the log under the reference.
    #[error("Meta refused the token (ref {0})")]
    TokenRefused(Reference),
    #[error("Meta does not know Instagram account {0} for this token (ref {1})")]
    LookupFailed(String, Reference),
    #[error(transparent)]
    Account(#[from] AccountError),
}

/// An account as /settings and `list-instagram-accounts` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountView {
    pub account: Account,
    pub active: bool,
    pub status: TokenStatus,
}

impl AccountService {
    #[must_use]
    pub fn new(
        accounts: Arc<dyn AccountStore>,
        vault: Arc<dyn TokenVault>,
        publisher: Arc<dyn StoryPublisher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { accounts, vault, publisher, clock, sealing: true }
    }

    /// Says whether the vault can seal tokens; without a key, adding refuses at once instead
    /// of first showing the token to Meta.
    #[must_use]
    pub fn sealing(mut self, configured: bool) -> Self {
        self.sealing = configured;
        self
    }

    /// The store of identities and selection.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn AccountStore> {
        &self.accounts
    }

    /// The token vault.
    #[must_use]
    pub fn vault(&self) -> &Arc<dyn TokenVault> {
        &self.vault
    }

    /// Checks what comes with a typed token before it goes anywhere: that it can be sealed here
    /// (else it is not shown to Meta either) and its days to expiry; returns the expiry.
    fn typed_expiry(&self, now: DateTime<Utc>, days: Option<i64>) -> Result<Option<DateTime<Utc>>, AddError> {
        if !self.sealing {
            return Err(VaultError::NoKey.into());
        }
        match days {
            None => Ok(None),
            Some(days) if (1..=MAX_EXPIRES_IN_DAYS).contains(&days) => Ok(Some(now + Duration::days(days))),
            Some(_) => Err(AddError::ExpiresInDays),
        }
    }

    /// Adds an account (FEATURES A3): asks Meta for its @username with the token first — a token
    /// Meta refuses is not saved — then saves identity and token in one transaction. The only
    /// account becomes active by itself.
    ///
    /// # Errors
    /// [`AddError`]; nothing is saved then.
    pub async fn add(
        &self,
        workspace: WorkspaceId,
        input: AddAccount,
        actor: &Actor,
    ) -> Result<AddedAccount, AddError> {
        let now = self.clock.now();
        let expires_at = self.typed_expiry(now, input.expires_in_days)?;
        // An account already here is refused before its token goes anywhere, Meta included.
        // (The store refuses it again in the adding transaction, should two adds race.)
        let known = self.accounts.accounts(workspace, true).await.map_err(AccountError::from)?;
        if let Some(existing) = known.iter().find(|a| a.instagram_id == input.instagram_id) {
            return Err(AccountError::Exists(existing.label()).into());
        }
        let login = input.login.unwrap_or_else(|| LoginKind::guess(secrecy::ExposeSecret::expose_secret(&input.token)));
        let target = PublishTarget { instagram_id: input.instagram_id.clone(), login, token: input.token.clone() };
        let (username, lookup_note) = match self.publisher.username(&target).await {
            Ok(found) => (Some(found), None),
            Err(error @ PublishError::TokenInvalid(_)) => {
                return Err(AddError::TokenRefused(warn_with_reference("Meta refused a token being added", &error)));
            }
            Err(error @ PublishError::Failed(_)) => {
                let reference = warn_with_reference("Meta could not look an account up", &error);
                return Err(AddError::LookupFailed(input.instagram_id.to_string(), reference));
            }
            Err(other) => {
                // Told to the person who added it, with the reference of the log line.
                let reference =
                    warn_with_reference("could not look an Instagram account up; saving it unchecked", &other);
                (input.username.clone(), Some(unchecked_note(&reference)))
            }
        };
        let checked = lookup_note.is_none();
        let account =
            NewAccount { display_name: input.display_name, instagram_id: input.instagram_id, username, login };
        let token = NewToken { token: input.token, expires_at, checked };
        let added = self.accounts.add(workspace, &account, &token, input.make_active, actor, now).await?;
        tracing::info!(workspace_id = %workspace, account = %added.account.id, active = added.active, "added an Instagram account");
        Ok(AddedAccount { added, lookup_note })
    }

    /// Every account of the workspace (disabled ones too), with token status and the active
    /// mark.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn overview(&self, workspace: WorkspaceId) -> Result<Vec<AccountView>, StoreError> {
        let accounts = self.accounts.accounts(workspace, true).await?;
        let active = self.accounts.active(workspace).await?.map(|a| a.id);
        let infos = self.vault.token_infos(workspace).await?;
        let now = self.clock.now();
        Ok(accounts
            .into_iter()
            .map(|account| {
                let status = status_of(&infos, account.id, now);
                AccountView { active: active == Some(account.id), status, account }
            })
            .collect())
    }

    /// The active account with its token status, if one is selected.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn active(&self, workspace: WorkspaceId) -> Result<Option<AccountView>, StoreError> {
        // Independent reads: both at once (this renders every /settings menu and toggle).
        let (account, infos) =
            crate::concurrently::both(self.accounts.active(workspace), self.vault.token_infos(workspace)).await;
        let Some(account) = account? else { return Ok(None) };
        let infos = infos?;
        let status = status_of(&infos, account.id, self.clock.now());
        Ok(Some(AccountView { account, active: true, status }))
    }

    /// Makes `account` the active one (FEATURES A2): takes effect for the next post.
    ///
    /// # Errors
    /// [`AccountError::NotFound`] / [`AccountError::Disabled`]; nothing changes then.
    pub async fn switch(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        actor: &Actor,
    ) -> Result<Account, AccountError> {
        self.accounts.select(workspace, account, actor, self.clock.now()).await
    }

    /// Disables (soft delete, history kept) or re-enables an account (FEATURES A4).
    ///
    /// # Errors
    /// [`AccountError::NotFound`] for an unknown account.
    pub async fn set_enabled(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        enabled: bool,
        actor: &Actor,
    ) -> Result<Account, AccountError> {
        self.accounts.set_enabled(workspace, account, enabled, actor, self.clock.now()).await
    }

    /// Forgets an account's token and disables the account (`remove-instagram-account`), with
    /// an audit entry; its history stays. Works without an encryption key: it is the way out
    /// when a token no longer opens.
    ///
    /// # Errors
    /// [`AccountError::NotFound`] for an unknown account.
    pub async fn remove(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        actor: &Actor,
    ) -> Result<Account, AccountError> {
        let removed = self.accounts.remove(workspace, account, actor, self.clock.now()).await?;
        tracing::info!(workspace_id = %workspace, account = %account, "forgot an Instagram account's token and disabled it");
        Ok(removed)
    }

    /// Replaces an account's token (a new one from Meta after the old one died).
    ///
    /// # Errors
    /// [`AccountError::NotFound`], [`AddError::TokenRefused`] when Meta refuses the new token,
    /// [`VaultError::NoKey`] (as [`AddError::Account`]) without an encryption key.
    pub async fn replace_token(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        token: SecretString,
        expires_in_days: Option<i64>,
    ) -> Result<Replaced, AddError> {
        let now = self.clock.now();
        let expires_at = self.typed_expiry(now, expires_in_days)?;
        let found = self.accounts.account(workspace, account).await.map_err(AccountError::from)?;
        let found = found.ok_or(AccountError::NotFound)?;
        let target =
            PublishTarget { instagram_id: found.instagram_id.clone(), login: found.login, token: token.clone() };
        let note = match self.publisher.username(&target).await {
            Ok(_) => None,
            Err(error @ PublishError::TokenInvalid(_)) => {
                return Err(AddError::TokenRefused(warn_with_reference("Meta refused a new token", &error)));
            }
            Err(other) => {
                let reference =
                    warn_with_reference("could not check a new token with Instagram; saving it unchecked", &other);
                Some(unchecked_note(&reference))
            }
        };
        let token = NewToken { token, expires_at, checked: note.is_none() };
        self.vault.put(workspace, account, &token, now).await.map_err(AccountError::from)?;
        Ok(Replaced { account: found, note })
    }

    /// Records that the publishing path found the token dead; returns whether this is news
    /// (then the caller warns the chat).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn mark_dead(&self, workspace: WorkspaceId, account: AccountId) -> Result<bool, StoreError> {
        let previous = self.vault.set_notice(workspace, account, Some(TokenNotice::Dead)).await?;
        Ok(previous != Some(TokenNotice::Dead))
    }
}

/// Why an account publishes by hand when its token does not open with the configured key, and
/// the ways out (FEATURES A5): the old key, rotation, a new token, or forgetting it.
#[must_use]
pub fn locked_token(account: &str) -> String {
    format!(
        "the token of {} cannot be opened with this server's ENCRYPTION_KEY: set the key it was sealed with (ENCRYPTION_KEYS=new,old while rotating), give it a new token with `storyline set-instagram-token`, or forget it with `storyline remove-instagram-account`",
        account
    )
}

fn status_of(infos: &[TokenInfo], account: AccountId, now: DateTime<Utc>) -> TokenStatus {
    infos.iter().find(|i| i.account == account).map_or(TokenStatus::NoToken, |info| info.status(now))
}

impl From<VaultError> for AddError {
    fn from(error: VaultError) -> Self {
        Self::Account(AccountError::Vault(error))
    }
}
