//! The settings use case (FEATURES S2–S7). Every path that changes a setting — the bot's
//! buttons, `/pause`, `/dryrun`, the CLI — goes through [`SettingsService::change`], so each
//! persists and audits identically.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use storyline_domain::audit::{AuditAction, AuditEntry};
use storyline_domain::ports::{AppliedChange, ApplySettingError, Audit, AuditQuery, Clock, SettingsStore, StoreError};
use storyline_domain::settings::{
    ChatSettings, SettingChange, SettingInputError, SettingKey, SettingValueError, SettingsDefaults, SettingsVersion,
};
use storyline_domain::user::Actor;
use storyline_domain::{ChatId, Workspace, WorkspaceId};

pub mod transfer;

/// Why a settings operation failed. `Invalid` and `Input` carry a message for the person who
/// typed the value; nothing was changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Input(#[from] SettingInputError),
    #[error(transparent)]
    Invalid(#[from] SettingValueError),
    #[error("this chat has no workspace")]
    WorkspaceNotFound,
    #[error("the settings could not be read or saved")]
    Unknown(#[source] anyhow::Error),
}

impl From<StoreError> for SettingsError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::WorkspaceNotFound(_) => Self::WorkspaceNotFound,
            StoreError::Unknown(cause) => Self::Unknown(cause),
        }
    }
}

impl From<ApplySettingError> for SettingsError {
    fn from(error: ApplySettingError) -> Self {
        match error {
            ApplySettingError::Invalid(invalid) => Self::Invalid(invalid),
            ApplySettingError::Store(store) => store.into(),
        }
    }
}

/// Reads and changes workspaces' settings.
#[derive(Clone)]
pub struct SettingsService {
    store: Arc<dyn SettingsStore>,
    audit: Arc<dyn Audit>,
    clock: Arc<dyn Clock>,
    defaults: SettingsDefaults,
}

impl std::fmt::Debug for SettingsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettingsService").field("defaults", &self.defaults).finish_non_exhaustive()
    }
}

impl SettingsService {
    /// `defaults` are what a new workspace starts with; after that the store is the only source
    /// of truth.
    #[must_use]
    pub fn new(
        store: Arc<dyn SettingsStore>,
        audit: Arc<dyn Audit>,
        clock: Arc<dyn Clock>,
        defaults: SettingsDefaults,
    ) -> Self {
        Self { store, audit, clock, defaults }
    }

    /// What a new workspace starts with (the `/init` wizard's suggestions).
    #[must_use]
    pub const fn defaults(&self) -> &SettingsDefaults {
        &self.defaults
    }

    /// The workspace of `chat`, created from the defaults on first use.
    ///
    /// # Errors
    /// [`SettingsError::Unknown`] when the store fails.
    pub async fn workspace_for_chat(&self, chat: ChatId, name: &str) -> Result<Workspace, SettingsError> {
        let workspace = self.store.ensure_workspace(chat, name, &self.defaults, self.clock.now()).await?;
        Ok(workspace)
    }

    /// The workspace of `chat` if it has one; never creates.
    ///
    /// # Errors
    /// [`SettingsError::Unknown`] when the store fails.
    pub async fn existing_workspace(&self, chat: ChatId) -> Result<Option<Workspace>, SettingsError> {
        Ok(self.store.workspace_by_chat(chat).await?)
    }

    /// Moves `workspace` to chat `to` (a group that became a supergroup); `None` when `to` has
    /// a workspace already.
    ///
    /// # Errors
    /// [`SettingsError::Unknown`] when the store fails.
    pub async fn move_workspace(&self, workspace: WorkspaceId, to: ChatId) -> Result<Option<Workspace>, SettingsError> {
        Ok(self.store.move_workspace(workspace, to, self.clock.now()).await?)
    }

    /// Every workspace, by chat id; never creates one.
    ///
    /// # Errors
    /// [`SettingsError::Unknown`] when the store fails.
    pub async fn workspaces(&self) -> Result<Vec<Workspace>, SettingsError> {
        Ok(self.store.workspaces().await?)
    }

    /// The workspace's current settings.
    ///
    /// # Errors
    /// [`SettingsError::WorkspaceNotFound`] or [`SettingsError::Unknown`].
    pub async fn current(&self, workspace: WorkspaceId) -> Result<ChatSettings, SettingsError> {
        Ok(self.store.settings(workspace).await?)
    }

    /// Applies one change by `actor`, now. The store writes the new settings, one audit entry
    /// per changed field and a history version in one transaction.
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] (nothing changed), [`SettingsError::WorkspaceNotFound`] or
    /// [`SettingsError::Unknown`].
    #[tracing::instrument(skip(self), fields(workspace_id = %workspace, actor = %actor))]
    pub async fn change(
        &self,
        workspace: WorkspaceId,
        change: SettingChange,
        actor: &Actor,
    ) -> Result<AppliedChange, SettingsError> {
        let applied = self.store.apply(workspace, change, actor, self.clock.now()).await?;
        for field in &applied.changes {
            tracing::info!(setting = %field.key, old = %field.old, new = %field.new, "setting changed");
        }
        Ok(applied)
    }

    /// Applies a change typed as a setting name and a value (`settings set KEY VALUE`).
    ///
    /// # Errors
    /// [`SettingsError::Input`] naming what is allowed, and the errors of [`Self::change`].
    pub async fn change_from_input(
        &self,
        workspace: WorkspaceId,
        key: &str,
        value: &str,
        actor: &Actor,
    ) -> Result<AppliedChange, SettingsError> {
        let key: SettingKey = key.parse()?;
        let change = SettingChange::parse(key, value)?;
        self.change(workspace, change, actor).await
    }

    /// Every version of the workspace's settings, oldest first.
    ///
    /// # Errors
    /// [`SettingsError::Unknown`] when the store fails.
    pub async fn history(&self, workspace: WorkspaceId) -> Result<Vec<SettingsVersion>, SettingsError> {
        Ok(self.store.history(workspace).await?)
    }

    /// The settings in force at `at`; `None` before the workspace existed.
    ///
    /// # Errors
    /// [`SettingsError::Unknown`] when the store fails.
    pub async fn as_of(
        &self,
        workspace: WorkspaceId,
        at: DateTime<Utc>,
    ) -> Result<Option<SettingsVersion>, SettingsError> {
        Ok(self.store.as_of(workspace, at).await?)
    }

    /// The newest `limit` settings changes, newest first.
    ///
    /// # Errors
    /// [`SettingsError::Unknown`] when the store fails.
    pub async fn changes(&self, workspace: WorkspaceId, limit: u32) -> Result<Vec<AuditEntry>, SettingsError> {
        let query = AuditQuery { action: Some(AuditAction::Setting), limit };
        Ok(self.audit.entries(workspace, query).await?)
    }
}

#[cfg(test)]
mod tests;
