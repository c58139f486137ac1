//! Logins under way (connecting an account by logging in at Meta).

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use storyline_domain::account::AccountId;
use storyline_domain::login::{ChoiceAccount, ChoiceId, LoginAttempt, LoginChoice, LoginProvider};
use storyline_domain::ports::{LoginAttempts, StoreError};
use storyline_domain::user::TelegramUserId;
use storyline_domain::{ChatId, WorkspaceId};
use uuid::Uuid;

use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::{Dialect, Store, db};

/// A `login_attempts` row: provider, user, chat, account, verifier, expiry.
type AttemptRow = (String, i64, i64, Option<Uuid>, String, DateTime<Utc>);
/// A `login_choices` row: provider, accounts (JSON), sealed token, days to expiry, expiry.
type ChoiceRow = (String, String, Vec<u8>, Option<i64>, DateTime<Utc>);

fn provider_of(text: &str) -> Result<LoginProvider, StoreError> {
    LoginProvider::parse(text)
        .ok_or_else(|| StoreError::unknown(anyhow::anyhow!("unknown login provider {text:?} in the store")))
}

#[async_trait]
impl<D: Dialect> LoginAttempts for Store<D>
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
    Option<i64>: Value<D::Db>,
    Option<Uuid>: Value<D::Db>,
    Option<DateTime<Utc>>: Value<D::Db>,
    for<'a> Cow<'a, str>: Encode<'a, D::Db> + Type<D::Db>,
    for<'a> Option<Cow<'a, str>>: Encode<'a, D::Db>,
{
    /// One transaction: the expired attempts go, this one comes.
    async fn begin(
        &self,
        workspace: WorkspaceId,
        nonce: &str,
        attempt: &LoginAttempt,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.workspace_exists(workspace).await?;
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM login_attempts WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
        sqlx::query(
            "INSERT INTO login_attempts (workspace_id, nonce, provider, telegram_user_id, telegram_chat_id, \
             account_id, verifier, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(workspace.as_uuid())
        .bind(nonce)
        .bind(attempt.provider.as_str())
        .bind(attempt.user.0)
        .bind(attempt.chat.0)
        .bind(attempt.reconnect.map(|a| a.as_uuid()))
        .bind(attempt.verifier.expose_secret())
        .bind(attempt.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        tx.commit().await.map_err(db::<D>)?;
        Ok(())
    }

    /// `DELETE … RETURNING`: one statement, so of two callbacks with one state one gets it.
    async fn take(&self, workspace: WorkspaceId, nonce: &str) -> Result<Option<LoginAttempt>, StoreError> {
        let row: Option<AttemptRow> = sqlx::query_as(
            "DELETE FROM login_attempts WHERE workspace_id = $1 AND nonce = $2 \
             RETURNING provider, telegram_user_id, telegram_chat_id, account_id, verifier, expires_at",
        )
        .bind(workspace.as_uuid())
        .bind(nonce)
        .fetch_optional(&self.pool)
        .await
        .map_err(db::<D>)?;
        let Some((provider, user, chat, account, verifier, expires_at)) = row else { return Ok(None) };
        Ok(Some(LoginAttempt {
            provider: provider_of(&provider)?,
            user: TelegramUserId(user),
            chat: ChatId(chat),
            reconnect: account.map(AccountId::from_uuid),
            verifier: SecretString::from(verifier),
            expires_at,
        }))
    }

    async fn offer(&self, workspace: WorkspaceId, choice: &LoginChoice, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.workspace_exists(workspace).await?;
        let accounts = serde_json::to_string(&choice.accounts).map_err(|e| StoreError::unknown(anyhow::anyhow!(e)))?;
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM login_choices WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
        sqlx::query(
            "INSERT INTO login_choices (workspace_id, choice_id, provider, telegram_user_id, accounts, sealed_token,              expires_in_days, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(workspace.as_uuid())
        .bind(choice.id.as_uuid())
        .bind(choice.provider.as_str())
        .bind(choice.user.0)
        .bind(accounts)
        .bind(choice.sealed_token.clone())
        .bind(choice.expires_in_days)
        .bind(choice.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        tx.commit().await.map_err(db::<D>)?;
        Ok(())
    }

    /// `DELETE … RETURNING` with the person and the expiry in the condition: one statement.
    async fn pick(
        &self,
        workspace: WorkspaceId,
        choice: ChoiceId,
        user: TelegramUserId,
        now: DateTime<Utc>,
    ) -> Result<Option<LoginChoice>, StoreError> {
        let row: Option<ChoiceRow> = sqlx::query_as(
            "DELETE FROM login_choices WHERE workspace_id = $1 AND choice_id = $2 AND telegram_user_id = $3              AND expires_at >= $4 RETURNING provider, accounts, sealed_token, expires_in_days, expires_at",
        )
        .bind(workspace.as_uuid())
        .bind(choice.as_uuid())
        .bind(user.0)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db::<D>)?;
        let Some((provider_text, accounts, sealed_token, expires_in_days, expires_at)) = row else { return Ok(None) };
        let accounts: Vec<ChoiceAccount> = serde_json::from_str(&accounts)
            .map_err(|e| StoreError::unknown(anyhow::anyhow!("unreadable login choice {}: {e}", choice.compact())))?;
        Ok(Some(LoginChoice {
            id: choice,
            provider: provider_of(&provider_text)?,
            user,
            accounts,
            sealed_token,
            expires_in_days,
            expires_at,
        }))
    }
}
