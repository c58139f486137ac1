use async_trait::async_trait;

use super::StoreError;

/// Where the bot's intake of chat updates stands (Telegram's update id), kept in the store so a
/// restarted bot never handles an update twice. It belongs to the bot, not to a workspace.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait UpdateCursor: Send + Sync {
    /// The id of the last update taken for handling, if any.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn last_update(&self) -> Result<Option<i64>, StoreError>;

    /// Records that `update_id` was taken for handling. Never moves backwards.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn advance(&self, update_id: i64) -> Result<(), StoreError>;
}
