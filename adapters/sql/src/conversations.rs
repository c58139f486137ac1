//! Pending prompts that survive a restart.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use storyline_domain::conversation::{PendingPrompt, PromptKind};
use storyline_domain::ports::{Conversations, StoreError};
use storyline_domain::user::TelegramUserId;
use storyline_domain::{Workspace, WorkspaceId};
use uuid::Uuid;

use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::rows::WorkspaceRow;
use crate::{Dialect, Store, db};

#[derive(Debug, FromRow)]
struct PromptRow {
    telegram_user_id: i64,
    kind: String,
    message_id: Option<i32>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    draft: Option<String>,
}

/// A prompt with the workspace it waits in.
#[derive(Debug, FromRow)]
struct PromptWithWorkspace {
    #[sqlx(flatten)]
    workspace: WorkspaceRow,
    #[sqlx(flatten)]
    prompt: PromptRow,
}

#[async_trait]
impl<D: Dialect> Conversations for Store<D>
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
    async fn put(&self, workspace: WorkspaceId, prompt: &PendingPrompt) -> Result<(), StoreError> {
        let draft = if prompt.draft.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&prompt.draft).map_err(|e| StoreError::unknown(anyhow::anyhow!(e)))?)
        };
        sqlx::query(
            "INSERT INTO pending_prompts (workspace_id, telegram_user_id, kind, message_id, created_at, expires_at, draft) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (workspace_id, telegram_user_id) DO UPDATE SET kind = excluded.kind, \
             message_id = excluded.message_id, created_at = excluded.created_at, expires_at = excluded.expires_at, \
             draft = excluded.draft",
        )
        .bind(workspace.as_uuid())
        .bind(prompt.user.0)
        .bind(prompt.kind.as_str())
        .bind(prompt.message_id)
        .bind(prompt.created_at)
        .bind(prompt.expires_at)
        .bind(draft)
        .execute(&self.pool)
        .await
        .map_err(db::<D>)?;
        Ok(())
    }

    async fn pending(
        &self,
        workspace: WorkspaceId,
        user: TelegramUserId,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingPrompt>, StoreError> {
        let row = sqlx::query_as::<_, PromptRow>(
            "SELECT telegram_user_id, kind, message_id, created_at, expires_at, draft FROM pending_prompts \
             WHERE workspace_id = $1 AND telegram_user_id = $2 AND expires_at > $3",
        )
        .bind(workspace.as_uuid())
        .bind(user.0)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db::<D>)?;
        row.map(PendingPrompt::try_from).transpose()
    }

    async fn clear(&self, workspace: WorkspaceId, user: TelegramUserId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM pending_prompts WHERE workspace_id = $1 AND telegram_user_id = $2")
            .bind(workspace.as_uuid())
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(db::<D>)?;
        Ok(D::rows_affected(&done) > 0)
    }

    async fn newest_anywhere(
        &self,
        user: TelegramUserId,
        now: DateTime<Utc>,
    ) -> Result<Option<(Workspace, PendingPrompt)>, StoreError> {
        let row = sqlx::query_as::<_, PromptWithWorkspace>(
            "SELECT w.id, w.telegram_chat_id, w.name, p.telegram_user_id, p.kind, p.message_id, p.created_at, \
             p.expires_at, p.draft FROM pending_prompts p JOIN workspaces w ON w.id = p.workspace_id \
             WHERE p.telegram_user_id = $1 AND p.expires_at > $2 ORDER BY p.created_at DESC LIMIT 1",
        )
        .bind(user.0)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db::<D>)?;
        row.map(|row| Ok((Workspace::from(row.workspace), PendingPrompt::try_from(row.prompt)?))).transpose()
    }
}

impl TryFrom<PromptRow> for PendingPrompt {
    type Error = StoreError;

    fn try_from(row: PromptRow) -> Result<Self, StoreError> {
        Ok(PendingPrompt {
            user: TelegramUserId(row.telegram_user_id),
            kind: PromptKind::parse(&row.kind)
                .ok_or_else(|| StoreError::unknown(anyhow::anyhow!("unknown prompt kind {:?}", row.kind)))?,
            message_id: row.message_id,
            created_at: row.created_at,
            expires_at: row.expires_at,
            draft: match row.draft {
                Some(text) => serde_json::from_str(&text)
                    .map_err(|e| StoreError::unknown(anyhow::anyhow!("unreadable prompt draft: {e}")))?,
                None => Vec::new(),
            },
        })
    }
}
