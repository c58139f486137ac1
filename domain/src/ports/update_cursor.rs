use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// Where the bot's intake of chat updates stands (Telegram's update id), and which updates were
/// taken for handling, kept in the store so a restarted bot (or a second process) never handles
/// an update twice. It belongs to the bot, not to a workspace.
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

    /// Takes update `update_id` of bot `bot` (its Telegram user id) for handling: `true` the
    /// first time, `false` when it was taken before, by this process or another.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails (nothing is recorded then).
    async fn claim(&self, bot: i64, update_id: i64, at: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Takes each of `update_ids` as [`Self::claim`] does, at once (one statement in a SQL
    /// store); returns the ones taken now, in any order. Either all are recorded or none.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails (nothing is recorded then).
    async fn claim_many(&self, bot: i64, update_ids: &[i64], at: DateTime<Utc>) -> Result<Vec<i64>, StoreError>;

    /// Forgets the updates taken before `before`; returns how many.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn forget_claims_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// The secret token of bot `bot`'s webhook: the one stored before, else `candidate`, stored
    /// now (`at`). Every process of one bot gets the same one, whichever asked first.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn webhook_secret(&self, bot: i64, candidate: &str, at: DateTime<Utc>) -> Result<String, StoreError>;
}
