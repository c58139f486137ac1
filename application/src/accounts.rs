//! Instagram accounts (FEATURES A1–A6): add (with a lookup at Meta), list with token status,
//! switch, deactivate, reactivate, replace a token, and the daily token refresh.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use storyline_domain::WorkspaceId;
use storyline_domain::account::{
    Account, AccountId, DisplayName, InstagramUserId, LoginKind, MAX_EXPIRES_IN_DAYS, NewAccount, NewToken, TokenInfo,
    TokenNotice, TokenStatus, Username, needs_refresh,
};
use storyline_domain::chat::{Screen, Text};
use storyline_domain::ports::{
    AccountError, AccountStore, Added, ChatNotifier, Clock, PublishError, PublishTarget, StoreError, StoryPublisher,
    TokenDue, TokenVault, VaultError,
};
use storyline_domain::user::Actor;

use crate::errors::{error_chain, warn_with_reference};
use storyline_domain::reference::Reference;

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

/// What one run of the refresh job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RefreshReport {
    pub checked: u32,
    pub refreshed: u32,
    pub failed: u32,
    /// Messages sent to chats (each problem once).
    pub announced: u32,
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

    /// The daily refresh job (FEATURES A6): refreshes every enabled account's token that is
    /// close to its expiry (Instagram Login tokens only once 24 h old), and tells each
    /// workspace's chat once about a token that fails to refresh, expires within 3 days, or is
    /// dead.
    ///
    /// # Errors
    /// When the vault cannot list tokens; a failure with one token is reported and the run goes
    /// on.
    pub async fn refresh_tokens(&self, notifier: &dyn ChatNotifier) -> Result<RefreshReport, StoreError> {
        let mut report = RefreshReport::default();
        for due in self.vault.all_tokens().await? {
            report.checked += 1;
            let outcome = self.refresh_one(&due).await;
            let notice = match outcome {
                Refreshed::Yes => {
                    report.refreshed += 1;
                    continue;
                }
                Refreshed::Failed(notice) => {
                    report.failed += 1;
                    Some(notice)
                }
                Refreshed::Locked => {
                    report.failed += 1;
                    let screen = Screen::new(
                        Text::new().bold("⚠️ Could not refresh an Instagram token.").line().plain(format!(
                            "{} Until then, stories go to this chat for manual posting. This is said once.",
                            capitalized(&locked_token(&due.account.label()))
                        )),
                    );
                    if self.announce(notifier, &due, TokenNotice::RefreshFailed, screen).await {
                        report.announced += 1;
                    }
                    continue;
                }
                Refreshed::NotNeeded => match due.info.status(self.clock.now()) {
                    TokenStatus::Expired | TokenStatus::Refused => Some(TokenNotice::Dead),
                    TokenStatus::ExpiresSoon(_) => Some(TokenNotice::Expiring),
                    _ => None,
                },
            };
            let Some(notice) = notice else { continue };
            let screen = token_notice_screen(&due.account, notice, due.info.status(self.clock.now()));
            if self.announce(notifier, &due, notice, screen).await {
                report.announced += 1;
            }
        }
        Ok(report)
    }

    async fn refresh_one(&self, due: &TokenDue) -> Refreshed {
        let now = self.clock.now();
        if !needs_refresh(due.account.login, &due.info, now) {
            return Refreshed::NotNeeded;
        }
        let credential = match self.vault.credential(due.workspace, due.account.id).await {
            Ok(Some(credential)) => credential,
            Ok(None) => return Refreshed::NotNeeded,
            Err(VaultError::Store(error)) => {
                tracing::error!(error = %error_chain(&error), account = %due.account.id, "could not read a token to refresh it");
                return Refreshed::Failed(TokenNotice::RefreshFailed);
            }
            Err(error) => {
                tracing::error!(error = %error_chain(&error), account = %due.account.id, "could not open a token to refresh it");
                return Refreshed::Locked;
            }
        };
        match self.publisher.refresh(due.account.login, &credential.token).await {
            Ok(fresh) => {
                // Meta's tokens live 60 days; an absurd answer is capped rather than trusted.
                let expires_at = fresh
                    .expires_in
                    .map(|lifetime| now + lifetime.clamp(Duration::zero(), Duration::days(MAX_EXPIRES_IN_DAYS)));
                // Meta handed it out: checked.
                let token = NewToken { token: fresh.token, expires_at, checked: true };
                match self.vault.put(due.workspace, due.account.id, &token, now).await {
                    Ok(()) => {
                        tracing::info!(account = %due.account.id, expires_at = ?token.expires_at, "refreshed an Instagram token");
                        Refreshed::Yes
                    }
                    Err(error) => {
                        tracing::error!(error = %error_chain(&error), account = %due.account.id, "could not store a refreshed token");
                        Refreshed::Failed(TokenNotice::RefreshFailed)
                    }
                }
            }
            Err(PublishError::TokenInvalid(why)) => {
                tracing::warn!(account = %due.account.id, error = %why, "Meta refused to refresh a token: it is invalid");
                Refreshed::Failed(TokenNotice::Dead)
            }
            Err(error) => {
                tracing::warn!(account = %due.account.id, error = %error, "could not refresh an Instagram token");
                Refreshed::Failed(TokenNotice::RefreshFailed)
            }
        }
    }

    /// Tells the chat about `notice` unless it was told already; returns whether it told.
    async fn announce(&self, notifier: &dyn ChatNotifier, due: &TokenDue, notice: TokenNotice, screen: Screen) -> bool {
        match self.vault.set_notice(due.workspace, due.account.id, Some(notice)).await {
            Ok(Some(previous)) if previous == notice => return false,
            Ok(_) => {}
            Err(error) => {
                tracing::error!(error = %error_chain(&error), "could not record a token notice; not announcing it");
                return false;
            }
        }
        if let Err(error) = notifier.send(due.chat, &screen).await {
            // Not told: forget the notice so the next run tells it.
            tracing::warn!(error = %error_chain(&error), "could not announce a token problem; will try again next run");
            if let Err(error) = self.vault.set_notice(due.workspace, due.account.id, due.info.notice).await {
                tracing::error!(error = %error_chain(&error), "could not restore a token notice");
            }
            return false;
        }
        true
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

enum Refreshed {
    Yes,
    NotNeeded,
    Failed(TokenNotice),
    /// The token does not open with the configured key.
    Locked,
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

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

fn status_of(infos: &[TokenInfo], account: AccountId, now: DateTime<Utc>) -> TokenStatus {
    infos.iter().find(|i| i.account == account).map_or(TokenStatus::NoToken, |info| info.status(now))
}

/// What the chat is told about a token problem.
#[must_use]
pub fn token_notice_screen(account: &Account, notice: TokenNotice, status: TokenStatus) -> Screen {
    let headline = match notice {
        TokenNotice::Expiring => format!("⚠️ The Instagram token of {} expires soon ({status}).", account.label()),
        TokenNotice::RefreshFailed => {
            format!("⚠️ Could not refresh the Instagram token of {} ({status}).", account.label())
        }
        TokenNotice::Dead => format!("⛔ The Instagram token of {} is expired or invalid.", account.label()),
    };
    Screen::new(
        Text::new()
            .bold(headline)
            .line()
            .plain("Until it is replaced, stories go to this chat for manual posting. Replace it with ")
            .code("storyline set-instagram-token")
            .plain(" on the server. This is said once."),
    )
}

impl From<VaultError> for AddError {
    fn from(error: VaultError) -> Self {
        Self::Account(AccountError::Vault(error))
    }
}
