//! Instagram accounts and the active selection. An account's token is sealed with the store's
//! cipher before it reaches SQL (see [`crate::vault`]); the database, the logs and the errors only
//! ever see ciphertext.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sqlx::Transaction;
use storyline_domain::WorkspaceId;
use storyline_domain::account::{Account, AccountId, NewAccount, NewToken};
use storyline_domain::audit::AuditAction;
use storyline_domain::ports::{AccountError, AccountStore, Added, StoreError, TokenCipher, VaultError, token_binding};
use storyline_domain::user::Actor;
use uuid::Uuid;

use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::rows::{ACCOUNT_COLUMNS, AccountRow};
use crate::{Dialect, Store, db};

/// The one kind of token stored so far (the columns leave room for others).
pub(crate) const SERVICE: &str = "instagram";
pub(crate) const TOKEN_TYPE: &str = "access_token";

impl<D: Dialect> Store<D>
where
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    for<'q> Arguments<'q, D>: IntoArguments<'q, D::Db>,
    for<'a> &'a str: ColumnIndex<Row<D>> + Encode<'a, D::Db> + Type<D::Db>,
    usize: ColumnIndex<Row<D>>,
    Uuid: Value<D::Db>,
    i64: Value<D::Db>,
    i32: Value<D::Db>,
    bool: Value<D::Db>,
    String: Value<D::Db>,
    DateTime<Utc>: Value<D::Db>,
    Vec<u8>: Value<D::Db>,
    for<'a> Option<&'a str>: Encode<'a, D::Db>,
    Option<String>: Value<D::Db>,
    Option<i32>: Value<D::Db>,
    Option<Uuid>: Value<D::Db>,
    Option<DateTime<Utc>>: Value<D::Db>,
    for<'a> Cow<'a, str>: Encode<'a, D::Db> + Type<D::Db>,
    for<'a> Option<Cow<'a, str>>: Encode<'a, D::Db>,
{
    /// Locks the workspace's row for the rest of `tx`, so account changes of one workspace take
    /// turns (and "the only enabled account" stays true until commit); `false` when there is no such
    /// workspace.
    async fn lock_workspace(tx: &mut Transaction<'static, D::Db>, workspace: WorkspaceId) -> Result<bool, StoreError> {
        let found: Option<Uuid> =
            sqlx::query_scalar(&format!("SELECT id FROM workspaces WHERE id = $1{}", D::FOR_NO_KEY_UPDATE))
                .bind(workspace.as_uuid())
                .fetch_optional(&mut **tx)
                .await
                .map_err(db::<D>)?;
        Ok(found.is_some())
    }

    /// One account of the workspace, read inside `tx`.
    async fn account_in(
        tx: &mut Transaction<'static, D::Db>,
        workspace: WorkspaceId,
        account: AccountId,
    ) -> Result<Option<Account>, StoreError> {
        sqlx::query_as::<_, AccountRow>(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM instagram_accounts a WHERE a.workspace_id = $1 AND a.id = $2"
        ))
        .bind(workspace.as_uuid())
        .bind(account.as_uuid())
        .fetch_optional(&mut **tx)
        .await
        .map_err(db::<D>)?
        .map(TryInto::try_into)
        .transpose()
    }

    /// The workspace's active account, read inside `tx`.
    async fn active_in(
        tx: &mut Transaction<'static, D::Db>,
        workspace: WorkspaceId,
    ) -> Result<Option<Account>, StoreError> {
        sqlx::query_as::<_, AccountRow>(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM active_accounts s \
             JOIN instagram_accounts a ON a.workspace_id = s.workspace_id AND a.id = s.account_id \
             WHERE s.workspace_id = $1"
        ))
        .bind(workspace.as_uuid())
        .fetch_optional(&mut **tx)
        .await
        .map_err(db::<D>)?
        .map(TryInto::try_into)
        .transpose()
    }

    async fn make_active(
        tx: &mut Transaction<'static, D::Db>,
        workspace: WorkspaceId,
        account: AccountId,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO active_accounts (workspace_id, account_id) VALUES ($1, $2) \
             ON CONFLICT (workspace_id) DO UPDATE SET account_id = excluded.account_id",
        )
        .bind(workspace.as_uuid())
        .bind(account.as_uuid())
        .execute(&mut **tx)
        .await
        .map_err(db::<D>)?;
        Ok(())
    }

    async fn enabled_count(tx: &mut Transaction<'static, D::Db>, workspace: WorkspaceId) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM instagram_accounts WHERE workspace_id = $1 AND enabled")
            .bind(workspace.as_uuid())
            .fetch_one(&mut **tx)
            .await
            .map_err(db::<D>)
    }

    async fn audit(
        tx: &mut Transaction<'static, D::Db>,
        workspace: WorkspaceId,
        (actor, at): (&Actor, DateTime<Utc>),
        account: AccountId,
        (old, new): (Option<String>, String),
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (workspace_id, at, actor, action, subject, old_value, new_value) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(workspace.as_uuid())
        .bind(at)
        .bind(actor.to_string())
        .bind(AuditAction::Account.as_str())
        .bind(format!("account:{account}"))
        .bind(old)
        .bind(new)
        .execute(&mut **tx)
        .await
        .map_err(db::<D>)?;
        // Every audited account change: the other replicas forget the accounts they showed.
        if let Some(notify) = D::NOTIFY {
            let changed = storyline_domain::ports::Changed::Accounts { workspace };
            sqlx::query(notify).bind(changed.payload()).execute(&mut **tx).await.map_err(db::<D>)?;
        }
        Ok(())
    }
}

pub(crate) fn seal(
    cipher: &dyn TokenCipher,
    workspace: WorkspaceId,
    account: AccountId,
    token: &SecretString,
) -> Result<Vec<u8>, VaultError> {
    cipher
        .seal(token, &token_binding(workspace, account))
        .map_err(|error| VaultError::Store(StoreError::unknown(error)))
}

const fn enabled_word(enabled: bool) -> &'static str {
    if enabled { "enabled" } else { "disabled" }
}

#[async_trait]
impl<D: Dialect> AccountStore for Store<D>
where
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    for<'q> Arguments<'q, D>: IntoArguments<'q, D::Db>,
    for<'a> &'a str: ColumnIndex<Row<D>> + Encode<'a, D::Db> + Type<D::Db>,
    usize: ColumnIndex<Row<D>>,
    Uuid: Value<D::Db>,
    i64: Value<D::Db>,
    i32: Value<D::Db>,
    bool: Value<D::Db>,
    String: Value<D::Db>,
    DateTime<Utc>: Value<D::Db>,
    Vec<u8>: Value<D::Db>,
    for<'a> Option<&'a str>: Encode<'a, D::Db>,
    Option<String>: Value<D::Db>,
    Option<i32>: Value<D::Db>,
    Option<Uuid>: Value<D::Db>,
    Option<DateTime<Utc>>: Value<D::Db>,
    for<'a> Cow<'a, str>: Encode<'a, D::Db> + Type<D::Db>,
    for<'a> Option<Cow<'a, str>>: Encode<'a, D::Db>,
{
    async fn add(
        &self,
        workspace: WorkspaceId,
        account: &NewAccount,
        token: &NewToken,
        make_active_now: bool,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Added, AccountError> {
        let cipher = self.cipher()?;
        let id = AccountId::new();
        let ciphertext = seal(cipher, workspace, id, &token.token)?;
        let mut tx = self.write().await?;
        if !Self::lock_workspace(&mut tx, workspace).await? {
            return Err(StoreError::WorkspaceNotFound(workspace).into());
        }
        let inserted = sqlx::query(
            "INSERT INTO instagram_accounts (id, workspace_id, display_name, instagram_id, username, login, enabled, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7, $8) \
             ON CONFLICT (workspace_id, instagram_id) DO NOTHING",
        )
        .bind(id.as_uuid())
        .bind(workspace.as_uuid())
        .bind(account.display_name.as_str())
        .bind(account.instagram_id.as_str())
        .bind(account.username.as_ref().map(|u| u.as_str().to_owned()))
        .bind(account.login.as_str())
        .bind(at)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        if D::rows_affected(&inserted) == 0 {
            let existing = sqlx::query_as::<_, AccountRow>(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM instagram_accounts a WHERE a.workspace_id = $1 AND a.instagram_id = $2"
            ))
            .bind(workspace.as_uuid())
            .bind(account.instagram_id.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db::<D>)?;
            return Err(AccountError::Exists(Account::try_from(existing)?.label()));
        }
        sqlx::query(
            "INSERT INTO api_tokens (id, workspace_id, service, token_type, account_id, ciphertext, expires_at, \
             issued_at, notice, updated_at, checked) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10)",
        )
        .bind(Uuid::new_v4())
        .bind(workspace.as_uuid())
        .bind(SERVICE)
        .bind(TOKEN_TYPE)
        .bind(id.as_uuid())
        .bind(ciphertext)
        .bind(token.expires_at)
        .bind(at)
        .bind(at)
        .bind(token.checked)
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        let active = make_active_now || Self::enabled_count(&mut tx, workspace).await? == 1;
        if active {
            Self::make_active(&mut tx, workspace, id).await?;
        }
        let added = Self::account_in(&mut tx, workspace, id).await?.ok_or(AccountError::NotFound)?;
        Self::audit(&mut tx, workspace, (actor, at), id, (None, added.label())).await?;
        tx.commit().await.map_err(db::<D>)?;
        Ok(Added { account: added, active })
    }

    async fn accounts(&self, workspace: WorkspaceId, with_disabled: bool) -> Result<Vec<Account>, StoreError> {
        sqlx::query_as::<_, AccountRow>(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM instagram_accounts a WHERE a.workspace_id = $1 AND ($2 OR a.enabled) \
             ORDER BY a.display_name, a.id"
        ))
        .bind(workspace.as_uuid())
        .bind(with_disabled)
        .fetch_all(&self.pool)
        .await
        .map_err(db::<D>)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }

    async fn account(&self, workspace: WorkspaceId, account: AccountId) -> Result<Option<Account>, StoreError> {
        sqlx::query_as::<_, AccountRow>(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM instagram_accounts a WHERE a.workspace_id = $1 AND a.id = $2"
        ))
        .bind(workspace.as_uuid())
        .bind(account.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(db::<D>)?
        .map(TryInto::try_into)
        .transpose()
    }

    async fn active(&self, workspace: WorkspaceId) -> Result<Option<Account>, StoreError> {
        sqlx::query_as::<_, AccountRow>(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM active_accounts s \
             JOIN instagram_accounts a ON a.workspace_id = s.workspace_id AND a.id = s.account_id \
             WHERE s.workspace_id = $1"
        ))
        .bind(workspace.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(db::<D>)?
        .map(TryInto::try_into)
        .transpose()
    }

    async fn select(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Account, AccountError> {
        let mut tx = self.write().await?;
        if !Self::lock_workspace(&mut tx, workspace).await? {
            return Err(AccountError::NotFound);
        }
        let chosen = Self::account_in(&mut tx, workspace, account).await?.ok_or(AccountError::NotFound)?;
        if !chosen.enabled {
            return Err(AccountError::Disabled(chosen.label()));
        }
        let before = Self::active_in(&mut tx, workspace).await?;
        if before.as_ref().is_some_and(|b| b.id == account) {
            return Ok(chosen);
        }
        Self::make_active(&mut tx, workspace, account).await?;
        Self::audit(&mut tx, workspace, (actor, at), account, (before.map(|b| b.label()), chosen.label())).await?;
        tx.commit().await.map_err(db::<D>)?;
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
        let mut tx = self.write().await?;
        if !Self::lock_workspace(&mut tx, workspace).await? {
            return Err(AccountError::NotFound);
        }
        let mut changed = Self::account_in(&mut tx, workspace, account).await?.ok_or(AccountError::NotFound)?;
        if changed.enabled == enabled {
            return Ok(changed);
        }
        sqlx::query("UPDATE instagram_accounts SET enabled = $1, updated_at = $2 WHERE workspace_id = $3 AND id = $4")
            .bind(enabled)
            .bind(at)
            .bind(workspace.as_uuid())
            .bind(account.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
        changed.enabled = enabled;
        if enabled {
            let nothing_selected = Self::active_in(&mut tx, workspace).await?.is_none();
            if nothing_selected && Self::enabled_count(&mut tx, workspace).await? == 1 {
                Self::make_active(&mut tx, workspace, account).await?;
            }
        } else {
            sqlx::query("DELETE FROM active_accounts WHERE workspace_id = $1 AND account_id = $2")
                .bind(workspace.as_uuid())
                .bind(account.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db::<D>)?;
        }
        let change = (Some(enabled_word(!enabled).to_owned()), enabled_word(enabled).to_owned());
        Self::audit(&mut tx, workspace, (actor, at), account, change).await?;
        tx.commit().await.map_err(db::<D>)?;
        Ok(changed)
    }

    async fn remove(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Account, AccountError> {
        let mut tx = self.write().await?;
        if !Self::lock_workspace(&mut tx, workspace).await? {
            return Err(AccountError::NotFound);
        }
        let mut removed = Self::account_in(&mut tx, workspace, account).await?.ok_or(AccountError::NotFound)?;
        let forgotten = sqlx::query("DELETE FROM api_tokens WHERE workspace_id = $1 AND account_id = $2")
            .bind(workspace.as_uuid())
            .bind(account.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
        let forgotten = D::rows_affected(&forgotten);
        if forgotten == 0 && !removed.enabled {
            return Ok(removed);
        }
        let before = enabled_word(removed.enabled).to_owned();
        sqlx::query(
            "UPDATE instagram_accounts SET enabled = FALSE, updated_at = $1 WHERE workspace_id = $2 AND id = $3",
        )
        .bind(at)
        .bind(workspace.as_uuid())
        .bind(account.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        sqlx::query("DELETE FROM active_accounts WHERE workspace_id = $1 AND account_id = $2")
            .bind(workspace.as_uuid())
            .bind(account.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
        removed.enabled = false;
        Self::audit(&mut tx, workspace, (actor, at), account, (Some(before), REMOVED.to_owned())).await?;
        tx.commit().await.map_err(db::<D>)?;
        Ok(removed)
    }
}

/// The audit trail's new value when an account's token is forgotten.
const REMOVED: &str = "removed (token forgotten)";
