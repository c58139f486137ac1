use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::WorkspaceId;
use crate::conversation::PendingPrompt;
use crate::user::TelegramUserId;

/// Prompts waiting for a person's next message. They live in the store, so they survive a
/// restart.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Conversations: Send + Sync {
    /// Stores `prompt`, replacing any earlier prompt of the same person here.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn put(&self, workspace: WorkspaceId, prompt: &PendingPrompt) -> Result<(), StoreError>;

    /// The person's prompt here, unless there is none or it expired before `now`.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn pending(
        &self,
        workspace: WorkspaceId,
        user: TelegramUserId,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingPrompt>, StoreError>;

    /// Removes the person's prompt here; `true` if there was one.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn clear(&self, workspace: WorkspaceId, user: TelegramUserId) -> Result<bool, StoreError>;

    /// The person's newest unexpired prompt in any workspace, with that workspace: where a
    /// message they send the bot privately (a token, a secret key) belongs.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn newest_anywhere(
        &self,
        user: TelegramUserId,
        now: DateTime<Utc>,
    ) -> Result<Option<(crate::Workspace, PendingPrompt)>, StoreError>;
}
