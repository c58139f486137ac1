//! The token vault in memory: tokens sealed with the store's cipher.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::account::{AccountId, Credential, NewToken, TokenInfo, TokenNotice};
use storyline_domain::ports::{StoreError, TokenDue, TokenVault, VaultError, token_binding};

use super::accounts::{Sealed, seal};
use super::{MemoryStore, Tenant};

#[async_trait]
impl TokenVault for MemoryStore {
    async fn credential(&self, workspace: WorkspaceId, account: AccountId) -> Result<Option<Credential>, VaultError> {
        let cipher = self.cipher()?;
        let sealed = {
            let state = self.state();
            state.workspaces.get(&workspace).and_then(|t| t.accounts.tokens.get(&account)).cloned()
        };
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let token = cipher.open(&sealed.ciphertext, &token_binding(workspace, account))?;
        Ok(Some(Credential { account, token, expires_at: sealed.expires_at, issued_at: sealed.issued_at }))
    }

    async fn put(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        token: &NewToken,
        at: DateTime<Utc>,
    ) -> Result<(), VaultError> {
        let cipher = self.cipher()?;
        let mut state = self.state();
        let accounts = &mut state.tenant(workspace)?.accounts;
        if !accounts.list.contains_key(&account) {
            return Err(VaultError::Store(StoreError::unknown(std::io::Error::other(format!(
                "there is no account {account} in workspace {workspace}"
            )))));
        }
        let ciphertext = seal(cipher, workspace, account, &token.token)?;
        accounts.tokens.insert(
            account,
            Sealed { ciphertext, expires_at: token.expires_at, issued_at: at, notice: None, checked: token.checked },
        );
        Ok(())
    }

    async fn token_infos(&self, workspace: WorkspaceId) -> Result<Vec<TokenInfo>, StoreError> {
        let state = self.state();
        let Some(tenant) = state.workspaces.get(&workspace) else {
            return Ok(Vec::new());
        };
        let accounts = &tenant.accounts;
        Ok(accounts.sorted().into_iter().filter_map(|a| accounts.tokens.get(&a.id).map(|t| t.info(a.id))).collect())
    }

    async fn set_notice(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        notice: Option<TokenNotice>,
    ) -> Result<Option<TokenNotice>, StoreError> {
        let mut state = self.state();
        let sealed = state.workspaces.get_mut(&workspace).and_then(|t| t.accounts.tokens.get_mut(&account));
        Ok(sealed.and_then(|sealed| std::mem::replace(&mut sealed.notice, notice)))
    }

    async fn all_tokens(&self) -> Result<Vec<TokenDue>, StoreError> {
        let state = self.state();
        let mut tenants: Vec<&Tenant> = state.workspaces.values().collect();
        tenants.sort_by_key(|t| t.workspace.id.as_uuid());
        let mut due = Vec::new();
        for tenant in tenants {
            let accounts = &tenant.accounts;
            for account in accounts.sorted().into_iter().filter(|a| a.enabled) {
                if let Some(sealed) = accounts.tokens.get(&account.id) {
                    due.push(TokenDue {
                        workspace: tenant.workspace.id,
                        chat: tenant.workspace.chat_id,
                        account: account.clone(),
                        info: sealed.info(account.id),
                    });
                }
            }
        }
        Ok(due)
    }

    async fn reseal_all(&self) -> Result<u64, VaultError> {
        let cipher = self.cipher()?;
        let mut state = self.state();
        let mut workspaces: Vec<WorkspaceId> = state.workspaces.keys().copied().collect();
        workspaces.sort_by_key(|w| w.as_uuid());
        let mut resealed = 0;
        for workspace in workspaces {
            let accounts = &mut state.tenant(workspace)?.accounts;
            let mut ids: Vec<AccountId> = accounts.tokens.keys().copied().collect();
            ids.sort();
            for account in ids {
                let Some(sealed) = accounts.tokens.get_mut(&account) else {
                    continue;
                };
                if cipher.is_current(&sealed.ciphertext) {
                    continue;
                }
                let binding = token_binding(workspace, account);
                let token = cipher.open(&sealed.ciphertext, &binding)?;
                sealed.ciphertext = seal(cipher, workspace, account, &token)?;
                resealed += 1;
            }
        }
        Ok(resealed)
    }

    async fn verify_all(&self) -> Result<u64, VaultError> {
        let state = self.state();
        let tokens: Vec<(WorkspaceId, AccountId, &Sealed)> = state
            .workspaces
            .values()
            .flat_map(|t| t.accounts.tokens.iter().map(|(account, sealed)| (t.workspace.id, *account, sealed)))
            .collect();
        if tokens.is_empty() {
            return Ok(0);
        }
        let cipher = self.cipher()?;
        for (workspace, account, sealed) in &tokens {
            cipher.open(&sealed.ciphertext, &token_binding(*workspace, *account))?;
        }
        Ok(tokens.len() as u64)
    }
}
