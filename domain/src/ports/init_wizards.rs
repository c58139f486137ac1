use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::init::{Founding, InitWizard};
use crate::{ChatId, Workspace};

/// What [`InitWizards::found`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Founded {
    /// The workspace was created, with its owner.
    Created(Workspace),
    /// The chat had a workspace already (someone else confirmed first); nothing was written but
    /// the wizard's removal.
    AlreadyThere(Workspace),
}

/// `/init` wizards under way (FEATURES T1), one per chat, and the founding of a workspace from
/// one. They are keyed by chat, not by workspace: the workspace does not exist until the wizard
/// is confirmed. They live in the store, so they survive a restart.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait InitWizards: Send + Sync {
    /// Stores the chat's wizard, replacing the one there was.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn put(&self, chat: ChatId, wizard: &InitWizard) -> Result<(), StoreError>;

    /// The chat's wizard, unless there is none or it expired before `now`.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn pending(&self, chat: ChatId, now: DateTime<Utc>) -> Result<Option<InitWizard>, StoreError>;

    /// Forgets the chat's wizard; whether there was one.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn clear(&self, chat: ChatId) -> Result<bool, StoreError>;

    /// Creates the workspace of `chat` (or of `founding.chat`, a channel set up from the private
    /// chat `chat`) from a confirmed wizard, in one transaction: the workspace, its settings and
    /// their first history version (changed by the owner), the owner's membership with the role
    /// owner, an audit entry, and `chat`'s wizard removed. Safe to race: exactly one workspace
    /// per chat comes out.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails; nothing is written then.
    async fn found(&self, chat: ChatId, founding: &Founding, at: DateTime<Utc>) -> Result<Founded, StoreError>;
}
