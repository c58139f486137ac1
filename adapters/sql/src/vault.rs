//! The token vault: tokens sealed with the store's cipher before they reach SQL and opened
//! after they leave it; the database, the logs and the errors only ever see ciphertext.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::account::{AccountId, Credential, NewToken, TokenInfo, TokenNotice};
use storyline_domain::ports::{StoreError, TokenDue, TokenVault, VaultError, token_binding};
use uuid::Uuid;

use crate::accounts::{SERVICE, TOKEN_TYPE, seal};
use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::rows::{ACCOUNT_COLUMNS, TOKEN_INFO_COLUMNS, TokenDueRow, TokenInfoRow, parse_notice};
use crate::{Dialect, Store, db};

/// How many tokens `reseal_all` and `verify_all` handle per round (and per transaction).
const BATCH: i64 = 100;

#[async_trait]
impl<D: Dialect> TokenVault for Store<D>
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
    async fn credential(&self, workspace: WorkspaceId, account: AccountId) -> Result<Option<Credential>, VaultError> {
        let cipher = self.cipher()?;
        let sealed: Option<(Vec<u8>, Option<DateTime<Utc>>, DateTime<Utc>)> = sqlx::query_as(
            "SELECT ciphertext, expires_at, issued_at FROM api_tokens \
             WHERE workspace_id = $1 AND account_id = $2 AND service = $3 AND token_type = $4",
        )
        .bind(workspace.as_uuid())
        .bind(account.as_uuid())
        .bind(SERVICE)
        .bind(TOKEN_TYPE)
        .fetch_optional(&self.pool)
        .await
        .map_err(db::<D>)?;
        let Some((ciphertext, expires_at, issued_at)) = sealed else {
            return Ok(None);
        };
        let token = cipher.open(&ciphertext, &token_binding(workspace, account))?;
        Ok(Some(Credential { account, token, expires_at, issued_at }))
    }

    async fn put(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        token: &NewToken,
        at: DateTime<Utc>,
    ) -> Result<(), VaultError> {
        let cipher = self.cipher()?;
        let ciphertext = seal(cipher, workspace, account, &token.token)?;
        // Only an account of this workspace gets a row; the conflict target is the one token of
        // its kind per account.
        let done = sqlx::query(
            "INSERT INTO api_tokens (id, workspace_id, service, token_type, account_id, ciphertext, expires_at, \
             issued_at, notice, updated_at, checked) \
             SELECT $1, workspace_id, $2, $3, id, $4, $5, $6, NULL, $7, $10 FROM instagram_accounts WHERE workspace_id = $8 AND id = $9 \
             ON CONFLICT (service, token_type, account_id) DO UPDATE SET ciphertext = excluded.ciphertext, \
             expires_at = excluded.expires_at, issued_at = excluded.issued_at, notice = NULL, \
             updated_at = excluded.updated_at, checked = excluded.checked",
        )
        .bind(Uuid::new_v4())
        .bind(SERVICE)
        .bind(TOKEN_TYPE)
        .bind(ciphertext)
        .bind(token.expires_at)
        .bind(at)
        .bind(at)
        .bind(workspace.as_uuid())
        .bind(account.as_uuid())
        .bind(token.checked)
        .execute(&self.pool)
        .await
        .map_err(db::<D>)?;
        if D::rows_affected(&done) == 0 {
            return Err(VaultError::Store(StoreError::unknown(anyhow::anyhow!(
                "there is no account {account} in workspace {workspace}"
            ))));
        }
        Ok(())
    }

    async fn token_infos(&self, workspace: WorkspaceId) -> Result<Vec<TokenInfo>, StoreError> {
        sqlx::query_as::<_, TokenInfoRow>(&format!(
            "SELECT {TOKEN_INFO_COLUMNS} FROM api_tokens t \
             JOIN instagram_accounts a ON a.workspace_id = t.workspace_id AND a.id = t.account_id \
             WHERE t.workspace_id = $1 AND t.service = $2 AND t.token_type = $3 ORDER BY a.display_name, a.id"
        ))
        .bind(workspace.as_uuid())
        .bind(SERVICE)
        .bind(TOKEN_TYPE)
        .fetch_all(&self.pool)
        .await
        .map_err(db::<D>)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }

    async fn set_notice(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        notice: Option<TokenNotice>,
    ) -> Result<Option<TokenNotice>, StoreError> {
        let mut tx = self.write().await?;
        let before: Option<Option<String>> = sqlx::query_scalar(&format!(
            "SELECT notice FROM api_tokens WHERE workspace_id = $1 AND account_id = $2 AND service = $3 AND token_type = $4{}",
            D::FOR_UPDATE
        ))
        .bind(workspace.as_uuid())
        .bind(account.as_uuid())
        .bind(SERVICE)
        .bind(TOKEN_TYPE)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db::<D>)?;
        let Some(before) = before else {
            return Ok(None);
        };
        sqlx::query(
            "UPDATE api_tokens SET notice = $1 WHERE workspace_id = $2 AND account_id = $3 AND service = $4 AND token_type = $5",
        )
        .bind(notice.map(TokenNotice::as_str))
        .bind(workspace.as_uuid())
        .bind(account.as_uuid())
        .bind(SERVICE)
        .bind(TOKEN_TYPE)
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        tx.commit().await.map_err(db::<D>)?;
        before.as_deref().map(parse_notice).transpose()
    }

    async fn all_tokens(&self) -> Result<Vec<TokenDue>, StoreError> {
        sqlx::query_as::<_, TokenDueRow>(&format!(
            "SELECT {ACCOUNT_COLUMNS}, {TOKEN_INFO_COLUMNS}, w.telegram_chat_id FROM api_tokens t \
             JOIN instagram_accounts a ON a.workspace_id = t.workspace_id AND a.id = t.account_id \
             JOIN workspaces w ON w.id = t.workspace_id \
             WHERE a.enabled AND t.service = $1 AND t.token_type = $2 ORDER BY t.workspace_id, a.display_name, a.id"
        ))
        .bind(SERVICE)
        .bind(TOKEN_TYPE)
        .fetch_all(&self.pool)
        .await
        .map_err(db::<D>)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }

    async fn reseal_all(&self) -> Result<u64, VaultError> {
        let cipher = self.cipher()?;
        let mut after: Option<Uuid> = None;
        let mut resealed = 0;
        loop {
            let mut tx = self.write().await?;
            // Locked, so a token replaced meanwhile is not overwritten with the old one re-sealed.
            let batch: Vec<(Uuid, Uuid, Uuid, Vec<u8>)> = sqlx::query_as(&format!(
                "SELECT id, workspace_id, account_id, ciphertext FROM api_tokens WHERE $1 IS NULL OR id > $1 \
                 ORDER BY id LIMIT $2{}",
                D::FOR_UPDATE
            ))
            .bind(after)
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await
            .map_err(db::<D>)?;
            let Some(last) = batch.last().map(|row| row.0) else {
                break;
            };
            for (id, workspace, account, ciphertext) in batch {
                if cipher.is_current(&ciphertext) {
                    continue;
                }
                let (workspace, account) = (WorkspaceId::from_uuid(workspace), AccountId::from_uuid(account));
                let token = cipher.open(&ciphertext, &token_binding(workspace, account))?;
                sqlx::query("UPDATE api_tokens SET ciphertext = $1 WHERE id = $2")
                    .bind(seal(cipher, workspace, account, &token)?)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db::<D>)?;
                resealed += 1;
            }
            tx.commit().await.map_err(db::<D>)?;
            after = Some(last);
        }
        Ok(resealed)
    }

    async fn verify_all(&self) -> Result<u64, VaultError> {
        let stored: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens").fetch_one(&self.pool).await.map_err(db::<D>)?;
        if stored == 0 {
            return Ok(0);
        }
        let cipher = self.cipher()?;
        let mut after: Option<Uuid> = None;
        let mut checked = 0;
        loop {
            let batch: Vec<(Uuid, Uuid, Uuid, Vec<u8>)> = sqlx::query_as(
                "SELECT id, workspace_id, account_id, ciphertext FROM api_tokens WHERE $1 IS NULL OR id > $1 \
                 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(BATCH)
            .fetch_all(&self.pool)
            .await
            .map_err(db::<D>)?;
            let Some(last) = batch.last().map(|row| row.0) else {
                break;
            };
            for (_, workspace, account, ciphertext) in batch {
                let binding = token_binding(WorkspaceId::from_uuid(workspace), AccountId::from_uuid(account));
                cipher.open(&ciphertext, &binding)?;
                checked += 1;
            }
            after = Some(last);
        }
        Ok(checked)
    }
}
