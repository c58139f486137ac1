//! Instagram accounts, their sealed tokens and each workspace's active account in memory. Tokens
//! are sealed with the store's cipher exactly as the database stores seal them, so the fake
//! never holds a plaintext token either.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use storyline_domain::WorkspaceId;
use storyline_domain::account::{Account, AccountId, NewAccount, NewToken, TokenInfo, TokenNotice};
use storyline_domain::audit::{AuditAction, AuditEntry};
use storyline_domain::ports::{AccountError, AccountStore, Added, StoreError, TokenCipher, VaultError, token_binding};
use storyline_domain::user::Actor;

use super::{MemoryStore, Tenant};

/// One workspace's accounts.
#[derive(Debug, Default)]
pub(super) struct Accounts {
    pub(super) list: HashMap<AccountId, Account>,
    /// At most one token per account, as the databases' unique constraint.
    pub(super) tokens: HashMap<AccountId, Sealed>,
    pub(super) active: Option<AccountId>,
}

/// A stored token: only ever the ciphertext.
#[derive(Debug, Clone)]
pub(super) struct Sealed {
    pub(super) ciphertext: Vec<u8>,
    pub(super) expires_at: Option<DateTime<Utc>>,
    pub(super) issued_at: DateTime<Utc>,
    pub(super) notice: Option<TokenNotice>,
    pub(super) checked: bool,
}

impl Sealed {
    pub(super) fn info(&self, account: AccountId) -> TokenInfo {
        TokenInfo {
            account,
            expires_at: self.expires_at,
            issued_at: self.issued_at,
            notice: self.notice,
            checked: self.checked,
        }
    }
}

impl Accounts {
    /// The accounts by display name (then id, as the databases order them).
    pub(super) fn sorted(&self) -> Vec<&Account> {
        let mut accounts: Vec<&Account> = self.list.values().collect();
        accounts.sort_by(|a, b| (a.display_name.as_str(), a.id).cmp(&(b.display_name.as_str(), b.id)));
        accounts
    }

    pub(super) fn enabled_count(&self) -> usize {
        self.list.values().filter(|a| a.enabled).count()
    }
}

impl MemoryStore {
    pub(super) fn cipher(&self) -> Result<&dyn TokenCipher, VaultError> {
        self.cipher.as_deref().ok_or(VaultError::NoKey)
    }
}

pub(super) fn seal(
    cipher: &dyn TokenCipher,
    workspace: WorkspaceId,
    account: AccountId,
    token: &SecretString,
) -> Result<Vec<u8>, VaultError> {
    cipher
        .seal(token, &token_binding(workspace, account))
        .map_err(|error| VaultError::Store(StoreError::unknown(error)))
}

fn audit(tenant: &mut Tenant, at: DateTime<Utc>, actor: &Actor, account: AccountId, change: (Option<String>, String)) {
    tenant.audit.push(AuditEntry {
        at,
        actor: actor.clone(),
        action: AuditAction::Account,
        subject: format!("account:{account}"),
        old: change.0,
        new: Some(change.1),
    });
}

const fn enabled_word(enabled: bool) -> &'static str {
    if enabled { "enabled" } else { "disabled" }
}

#[async_trait]
impl AccountStore for MemoryStore {
    async fn add(
        &self,
        workspace: WorkspaceId,
        account: &NewAccount,
        token: &NewToken,
        make_active: bool,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Added, AccountError> {
        let cipher = self.cipher()?;
        let mut state = self.state();
        let tenant = state.tenant(workspace)?;
        if let Some(existing) = tenant.accounts.list.values().find(|a| a.instagram_id == account.instagram_id) {
            return Err(AccountError::Exists(existing.label()));
        }
        let id = AccountId::new();
        let ciphertext = seal(cipher, workspace, id, &token.token)?;
        let added = Account {
            id,
            workspace,
            display_name: account.display_name.clone(),
            instagram_id: account.instagram_id.clone(),
            username: account.username.clone(),
            login: account.login,
            enabled: true,
            created_at: at,
        };
        let accounts = &mut tenant.accounts;
        accounts.list.insert(id, added.clone());
        accounts.tokens.insert(
            id,
            Sealed { ciphertext, expires_at: token.expires_at, issued_at: at, notice: None, checked: token.checked },
        );
        let active = make_active || accounts.enabled_count() == 1;
        if active {
            accounts.active = Some(id);
        }
        audit(tenant, at, actor, id, (None, added.label()));
        Ok(Added { account: added, active })
    }

    async fn accounts(&self, workspace: WorkspaceId, with_disabled: bool) -> Result<Vec<Account>, StoreError> {
        let state = self.state();
        let Some(tenant) = state.workspaces.get(&workspace) else {
            return Ok(Vec::new());
        };
        Ok(tenant.accounts.sorted().into_iter().filter(|a| with_disabled || a.enabled).cloned().collect())
    }

    async fn account(&self, workspace: WorkspaceId, account: AccountId) -> Result<Option<Account>, StoreError> {
        let state = self.state();
        Ok(state.workspaces.get(&workspace).and_then(|t| t.accounts.list.get(&account)).cloned())
    }

    async fn active(&self, workspace: WorkspaceId) -> Result<Option<Account>, StoreError> {
        let state = self.state();
        Ok(state
            .workspaces
            .get(&workspace)
            .and_then(|t| t.accounts.active.and_then(|id| t.accounts.list.get(&id)))
            .cloned())
    }

    async fn select(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Account, AccountError> {
        let mut state = self.state();
        let Some(tenant) = state.workspaces.get_mut(&workspace) else {
            return Err(AccountError::NotFound);
        };
        let accounts = &mut tenant.accounts;
        let chosen = accounts.list.get(&account).cloned().ok_or(AccountError::NotFound)?;
        if !chosen.enabled {
            return Err(AccountError::Disabled(chosen.label()));
        }
        if accounts.active == Some(account) {
            return Ok(chosen);
        }
        let old = accounts.active.and_then(|id| accounts.list.get(&id)).map(Account::label);
        accounts.active = Some(account);
        audit(tenant, at, actor, account, (old, chosen.label()));
        Ok(chosen)
    }

    async fn set_enabled(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        enabled: bool,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Account, AccountError> {
        let mut state = self.state();
        let Some(tenant) = state.workspaces.get_mut(&workspace) else {
            return Err(AccountError::NotFound);
        };
        let accounts = &mut tenant.accounts;
        let Some(changed) = accounts.list.get_mut(&account) else {
            return Err(AccountError::NotFound);
        };
        if changed.enabled == enabled {
            return Ok(changed.clone());
        }
        changed.enabled = enabled;
        let changed = changed.clone();
        if !enabled && accounts.active == Some(account) {
            accounts.active = None;
        }
        if enabled && accounts.active.is_none() && accounts.enabled_count() == 1 {
            accounts.active = Some(account);
        }
        audit(tenant, at, actor, account, (Some(enabled_word(!enabled).to_owned()), enabled_word(enabled).to_owned()));
        Ok(changed)
    }

    async fn remove(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Account, AccountError> {
        let mut state = self.state();
        let Some(tenant) = state.workspaces.get_mut(&workspace) else {
            return Err(AccountError::NotFound);
        };
        let accounts = &mut tenant.accounts;
        let Some(removed) = accounts.list.get_mut(&account) else {
            return Err(AccountError::NotFound);
        };
        let had_token = accounts.tokens.remove(&account).is_some();
        if !had_token && !removed.enabled {
            return Ok(removed.clone());
        }
        let before = enabled_word(removed.enabled).to_owned();
        removed.enabled = false;
        let removed = removed.clone();
        if accounts.active == Some(account) {
            accounts.active = None;
        }
        audit(tenant, at, actor, account, (Some(before), REMOVED.to_owned()));
        Ok(removed)
    }
}

/// The audit trail's new value when an account's token is forgotten.
const REMOVED: &str = "removed (token forgotten)";
