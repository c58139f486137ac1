//! `/init` wizards under way, one per chat, and the founding of a workspace from a confirmed one.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::audit::{AuditAction, AuditEntry};
use storyline_domain::init::{Founding, InitWizard};
use storyline_domain::ports::{Founded, InitWizards, SettingsStore, StoreError};
use storyline_domain::text::{storable, storable_opt};
use storyline_domain::user::{Actor, Role};
use storyline_domain::{ChatId, Workspace};
use uuid::Uuid;

use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::{SettingsDialect, Store, db};

#[async_trait]
impl<D: SettingsDialect> InitWizards for Store<D>
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
    async fn put(&self, chat: ChatId, wizard: &InitWizard) -> Result<(), StoreError> {
        let state = serde_json::to_string(wizard).map_err(|e| StoreError::unknown(anyhow::anyhow!(e)))?;
        sqlx::query(
            "INSERT INTO init_wizards (telegram_chat_id, telegram_user_id, state, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (telegram_chat_id) DO UPDATE SET telegram_user_id = excluded.telegram_user_id, \
             state = excluded.state, expires_at = excluded.expires_at",
        )
        .bind(chat.0)
        .bind(wizard.user.0)
        .bind(state)
        .bind(wizard.expires_at)
        .execute(&self.pool)
        .await
        .map_err(db::<D>)?;
        Ok(())
    }

    async fn pending(&self, chat: ChatId, now: DateTime<Utc>) -> Result<Option<InitWizard>, StoreError> {
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM init_wizards WHERE telegram_chat_id = $1 AND expires_at > $2")
                .bind(chat.0)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(db::<D>)?;
        state
            .map(|text| {
                serde_json::from_str(&text)
                    .map_err(|e| StoreError::unknown(anyhow::anyhow!("unreadable /init wizard of chat {chat}: {e}")))
            })
            .transpose()
    }

    async fn clear(&self, chat: ChatId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM init_wizards WHERE telegram_chat_id = $1")
            .bind(chat.0)
            .execute(&self.pool)
            .await
            .map_err(db::<D>)?;
        Ok(D::rows_affected(&done) > 0)
    }

    async fn found(&self, chat: ChatId, founding: &Founding, at: DateTime<Utc>) -> Result<Founded, StoreError> {
        let owner = &founding.owner;
        let actor = Actor::User(owner.telegram_id);
        let mut tx = self.write().await?;
        // The workspace's chat: the wizard's own, or the channel it sets up from a private chat.
        let serves = founding.chat.unwrap_or(chat);
        let created = Self::insert_workspace(&mut tx, serves, &founding.name, &founding.settings, at, &actor).await?;
        if let Some(workspace) = &created {
            sqlx::query(
                "INSERT INTO users (telegram_user_id, username, first_name, last_name) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (telegram_user_id) DO UPDATE SET username = excluded.username, \
                 first_name = excluded.first_name, last_name = excluded.last_name",
            )
            .bind(owner.telegram_id.0)
            .bind(storable_opt(owner.username.as_deref()))
            .bind(storable(&owner.first_name))
            .bind(storable_opt(owner.last_name.as_deref()))
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
            sqlx::query(
                "INSERT INTO memberships (workspace_id, telegram_user_id, role, first_seen, last_seen) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(workspace.id.as_uuid())
            .bind(owner.telegram_id.0)
            .bind(Role::Owner.as_str())
            .bind(at)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
            let entry = |action, subject: String, new: &str| AuditEntry {
                at,
                actor: actor.clone(),
                action,
                subject,
                old: None,
                new: Some(new.to_owned()),
            };
            let created = entry(AuditAction::Workspace, "created".to_owned(), &founding.name);
            Self::audit_in(&mut tx, workspace.id, &created).await?;
            let owned = entry(AuditAction::Role, format!("user:{}", owner.telegram_id), Role::Owner.as_str());
            Self::audit_in(&mut tx, workspace.id, &owned).await?;
        }
        sqlx::query("DELETE FROM init_wizards WHERE telegram_chat_id = $1")
            .bind(chat.0)
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
        tx.commit().await.map_err(db::<D>)?;
        match created {
            Some(workspace) => {
                tracing::info!(workspace_id = %workspace.id, chat_id = %serves, "workspace created by /init");
                Ok(Founded::Created(workspace))
            }
            None => {
                let there: Option<Workspace> = self.workspace_by_chat(serves).await?;
                there
                    .map(Founded::AlreadyThere)
                    .ok_or_else(|| StoreError::unknown(anyhow::anyhow!("workspace of chat {chat} vanished")))
            }
        }
    }
}
