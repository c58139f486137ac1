use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::WorkspaceId;
use crate::user::{Actor, Member, Role, TelegramUserId, User};

/// People and their roles, per workspace.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Users: Send + Sync {
    /// Records that `user` was seen in the workspace at `at`: updates their names, and makes them
    /// a member on first contact. Returns the membership.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn record_contact(
        &self,
        workspace: WorkspaceId,
        user: &User,
        at: DateTime<Utc>,
    ) -> Result<Member, StoreError>;

    /// The person's membership, if they have been seen or promoted here.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn member(&self, workspace: WorkspaceId, user: TelegramUserId) -> Result<Option<Member>, StoreError>;

    /// Gives the person `role` here, making them a member first if the bot has not seen them, and
    /// in the same transaction audits the change (by `actor`, old role → new role) when it is one.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn set_role(
        &self,
        workspace: WorkspaceId,
        user: TelegramUserId,
        role: Role,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Member, StoreError>;

    /// Every member, by Telegram id.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn members(&self, workspace: WorkspaceId) -> Result<Vec<Member>, StoreError>;

    /// The workspaces `user` is a member of, with their role in each, by name: what a person
    /// sees of their own memberships (`/start` in a private chat), nothing of anyone else's.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn memberships(&self, user: TelegramUserId) -> Result<Vec<(crate::Workspace, Role)>, StoreError>;
}
