//! The traits adapters implement. Each is object-safe and held as `Arc<dyn …>`; every store
//! method is scoped by a [`crate::WorkspaceId`] (or, for finding a chat's workspace, its
//! [`crate::ChatId`]).

mod accounts;
mod audit;
mod changes;
mod chat_notifier;
mod clock;
mod conversations;
mod init_wizards;
mod library_sync;
mod login;
mod media_library;
mod media_source;
mod notices;
mod publisher;
mod queue;
mod replicas;
mod settings_store;
mod source_store;
mod update_cursor;
mod users;

pub use accounts::{
    AccountError, AccountStore, Added, CipherError, TokenCipher, TokenDue, TokenVault, VaultError, token_binding,
};
pub use audit::{Audit, AuditQuery};
pub use changes::{ChangeFeed, Changed};
pub use chat_notifier::{Attachment, ChatAdmins, ChatFiles, ChatNotifier, FileError, NotifyError};
pub use clock::Clock;
pub use conversations::Conversations;
pub use init_wizards::{Founded, InitWizards};
pub use library_sync::{ItemContent, ItemUpdate, LibrarySync, SyncApplied, SyncChanges, SyncedItem, SyncedNew};
pub use login::{GoogleLogin, LoginAttempts, MetaLogin, StateSigner};
pub use media_library::{AddReport, MediaLibrary, MediaQuery};
pub use media_source::{
    ByteStream, MediaSource, OpenedFile, SourceEntry, SourceError, SourceFactory, SourceFile, WorkspaceSources,
};
pub use notices::Notices;
pub use publisher::{
    ContainerId, ContainerStatus, HostError, HostedMedia, InstagramMediaId, MediaHost, PublishError, PublishTarget,
    PublishingQuota, RefreshedToken, StoryPublisher,
};
pub use queue::{History, Locks, Pending, Queue, SendFailure};
pub use replicas::{Leadership, Replica, Replicas};
pub use settings_store::{AppliedChange, AppliedImport, ApplySettingError, SettingsStore};
pub use source_store::{SourceStore, source_secret_binding};
pub use update_cursor::UpdateCursor;
pub use users::Users;

#[cfg(feature = "mocks")]
pub use {
    accounts::MockAccountStore, accounts::MockTokenCipher, accounts::MockTokenVault, audit::MockAudit,
    chat_notifier::MockChatAdmins, chat_notifier::MockChatFiles, chat_notifier::MockChatNotifier, clock::MockClock,
    conversations::MockConversations, init_wizards::MockInitWizards, library_sync::MockLibrarySync,
    login::MockGoogleLogin, login::MockLoginAttempts, login::MockMetaLogin, login::MockStateSigner,
    media_library::MockMediaLibrary, media_source::MockMediaSource, media_source::MockSourceFactory,
    media_source::MockWorkspaceSources, notices::MockNotices, publisher::MockMediaHost, publisher::MockStoryPublisher,
    queue::MockHistory, queue::MockLocks, queue::MockQueue, replicas::MockLeadership, replicas::MockReplicas,
    settings_store::MockSettingsStore, source_store::MockSourceStore, update_cursor::MockUpdateCursor,
    users::MockUsers,
};

use crate::WorkspaceId;

/// A store failed. Adapters put their cause chain in `Unknown`; callers log it and show a short
/// generic message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("workspace {0} does not exist")]
    WorkspaceNotFound(WorkspaceId),
    #[error("the store failed")]
    Unknown(#[source] anyhow::Error),
}

impl StoreError {
    /// Wraps any adapter error, keeping its cause chain.
    pub fn unknown(error: impl Into<anyhow::Error>) -> Self {
        Self::Unknown(error.into())
    }

    /// The store could not be reached at all (see [`Unreachable`]).
    pub fn unreachable(backend: &'static str, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Unknown(anyhow::Error::new(Unreachable { backend, cause: Box::new(cause) }))
    }
}

/// A store that does not answer at all (no connection to be had), as opposed to one refusing a
/// statement. Adapters put it in the cause chain of a [`StoreError`]; [`is_unreachable`] finds it
/// there, so callers can stop waiting for every request while the database is down.
#[derive(Debug, thiserror::Error)]
#[error("{backend} is not answering")]
pub struct Unreachable {
    pub backend: &'static str,
    #[source]
    pub cause: Box<dyn std::error::Error + Send + Sync>,
}

/// Whether [`Unreachable`] is anywhere in `error`'s cause chain.
#[must_use]
pub fn is_unreachable(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error.is::<Unreachable>() {
            return true;
        }
        next = error.source();
    }
    false
}
