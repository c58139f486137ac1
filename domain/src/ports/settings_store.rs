use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::library::CategoryMix;
use crate::settings::export::ImportedSettings;
use crate::settings::{ChatSettings, FieldChange, SettingChange, SettingValueError, SettingsDefaults, SettingsVersion};
use crate::user::Actor;
use crate::{ChatId, Workspace, WorkspaceId};

/// A change as the store applied it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedChange {
    pub before: ChatSettings,
    pub after: ChatSettings,
    /// What changed; empty when the change asked for what already was (nothing was written).
    pub changes: Vec<FieldChange>,
    /// The history version now current.
    pub version: i64,
}

/// An import (FEATURES T3) as the store applied it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedImport {
    pub before: ChatSettings,
    pub after: ChatSettings,
    /// The settings that changed; empty when the file's settings were those already in force.
    pub changes: Vec<FieldChange>,
    /// Whether the category mix was replaced (a new mix version, audited as `category_mix`).
    pub mix_changed: bool,
    /// The settings history version now current.
    pub version: i64,
}

/// Why a settings change was not applied. Nothing was written in either case.
#[derive(Debug, thiserror::Error)]
pub enum ApplySettingError {
    #[error(transparent)]
    Invalid(#[from] SettingValueError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Workspaces and their runtime settings, with the audit entries and history versions every
/// change writes.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The workspace of `chat`; when there is none, creates it named `name` with settings from
    /// `defaults` and their first history version, valid from `at`. Safe to race: exactly one
    /// workspace per chat comes out.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn ensure_workspace(
        &self,
        chat: ChatId,
        name: &str,
        defaults: &SettingsDefaults,
        at: DateTime<Utc>,
    ) -> Result<Workspace, StoreError>;

    /// The workspace of `chat`, if there is one.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn workspace_by_chat(&self, chat: ChatId) -> Result<Option<Workspace>, StoreError>;

    /// Every workspace, by chat id: the directory of tenants, so that a command given no chat can
    /// take the only one or name them all. It returns the workspaces themselves, none of their
    /// rows, and never creates one.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn workspaces(&self) -> Result<Vec<Workspace>, StoreError>;

    /// Moves `workspace` to chat `to` (a group that became a supergroup keeps its workspace,
    /// history and queue), with an audit entry, in one transaction. `None` when `to` has a
    /// workspace already: nothing is changed then.
    ///
    /// # Errors
    /// [`StoreError::WorkspaceNotFound`], or [`StoreError::Unknown`] when the store fails.
    async fn move_workspace(
        &self,
        workspace: WorkspaceId,
        to: ChatId,
        at: DateTime<Utc>,
    ) -> Result<Option<Workspace>, StoreError>;

    /// The workspace's current settings.
    ///
    /// # Errors
    /// [`StoreError::WorkspaceNotFound`], or [`StoreError::Unknown`] when the store fails.
    async fn settings(&self, workspace: WorkspaceId) -> Result<ChatSettings, StoreError>;

    /// Applies `change` (by [`ChatSettings::apply`]) to the settings current at the moment of
    /// writing and, in the same transaction, writes one audit entry per changed field and a new
    /// history version valid from `at`. Concurrent calls serialise: two toggles are two flips.
    ///
    /// # Errors
    /// [`ApplySettingError::Invalid`] when the change would make the settings invalid;
    /// [`ApplySettingError::Store`] when the workspace does not exist or the store fails.
    async fn apply(
        &self,
        workspace: WorkspaceId,
        change: SettingChange,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<AppliedChange, ApplySettingError>;

    /// Makes `settings` the workspace's settings (by [`ChatSettings::imported`]) and, when `mix`
    /// is given and differs from the current one, makes it the current mix, all in one
    /// transaction with one audit entry per changed setting (and one for the mix, subject
    /// `category_mix`) and one new history version valid from `at`. Nothing is written when
    /// nothing differs. It serialises with [`Self::apply`].
    ///
    /// # Errors
    /// [`StoreError::WorkspaceNotFound`], or [`StoreError::Unknown`] when the store fails;
    /// nothing is written in either case.
    async fn import(
        &self,
        workspace: WorkspaceId,
        settings: &ImportedSettings,
        mix: Option<CategoryMix>,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<AppliedImport, StoreError>;

    /// Every version of the workspace's settings, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn history(&self, workspace: WorkspaceId) -> Result<Vec<SettingsVersion>, StoreError>;

    /// The version in force at `at`; `None` before the workspace existed.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the store fails.
    async fn as_of(&self, workspace: WorkspaceId, at: DateTime<Utc>) -> Result<Option<SettingsVersion>, StoreError>;
}
