use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::WorkspaceId;

/// What a workspace's chat was told once ("stories go the manual way because …"), kept in the
/// store so that the chat hears it once however many processes notice it.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Notices: Send + Sync {
    /// Records that `workspace`'s chat is told `key` about `topic` (at `at`): `true` when that is
    /// news (nothing, or another key, was recorded for the topic), `false` when it was told
    /// already. One statement: two processes asking at once get one `true`.
    ///
    /// # Errors
    /// [`StoreError::WorkspaceNotFound`], or [`StoreError::Unknown`] when the store fails.
    async fn tell_once(
        &self,
        workspace: WorkspaceId,
        topic: &str,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Forgets what was told about `topic` (it no longer holds: told again when it comes back).
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn forget_notice(&self, workspace: WorkspaceId, topic: &str) -> Result<(), StoreError>;
}
