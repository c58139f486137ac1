//! Settings export and import (FEATURES T3): a workspace's settings, category mix, account
//! identities and media source as a versioned JSON file, and that file applied to a workspace.
//!
//! An import checks everything first — the file ([`export::parse`]) and that the library has every
//! category its mix names — then says what would change ([`ImportPlan`]); applying it writes the
//! settings and the mix in one transaction with their audit entries
//! ([`SettingsStore::import`]). Accounts and the media source are never created from a file
//! (it holds no token and no secret): the plan lists them as not imported.

use std::sync::Arc;

use storyline_domain::WorkspaceId;
use storyline_domain::library::Category;
use storyline_domain::ports::{
    AccountStore, AppliedImport, Clock, MediaLibrary, SettingsStore, SourceStore, StoreError,
};
use storyline_domain::settings::export::{self, ImportChange, ImportError, SettingsExport, SettingsImport};
use storyline_domain::user::Actor;

use super::SettingsError;

/// The largest settings file read, from a disk or a chat: an export is a few kilobytes.
pub const MAX_IMPORT_BYTES: u64 = 1024 * 1024;

/// Why an import was refused or failed. Nothing was changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The file is wrong; the text names the field.
    #[error(transparent)]
    Refused(#[from] ImportError),
    /// The mix names categories this workspace's library does not have.
    #[error("category_mix: {}", unknown_categories(unknown, known))]
    UnknownCategories { unknown: Vec<Category>, known: Vec<Category> },
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

impl From<StoreError> for TransferError {
    fn from(error: StoreError) -> Self {
        Self::Settings(error.into())
    }
}

impl TransferError {
    /// Whether the person's file was refused (rather than the store failing).
    #[must_use]
    pub const fn is_refusal(&self) -> bool {
        matches!(self, Self::Refused(_) | Self::UnknownCategories { .. })
    }
}

/// "no category kittens in the library (it has memes, merch)".
fn unknown_categories(unknown: &[Category], known: &[Category]) -> String {
    let list = |categories: &[Category]| categories.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let named = if unknown.len() == 1 { "no category" } else { "no categories" };
    if known.is_empty() {
        format!("{named} {} in this workspace's library: it has no categories yet (index media first)", list(unknown))
    } else {
        format!("{named} {} in this workspace's library (it has {})", list(unknown), list(known))
    }
}

/// What an import would do, for the person to confirm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportPlan {
    pub import: SettingsImport,
    /// What would change; empty when the file matches the workspace.
    pub changes: Vec<ImportChange>,
    /// What the file holds that an import leaves alone, and how to set it by hand.
    pub not_imported: Vec<String>,
}

/// Exports and imports workspaces' settings.
#[derive(Clone)]
pub struct SettingsTransfer {
    settings: Arc<dyn SettingsStore>,
    library: Arc<dyn MediaLibrary>,
    accounts: Arc<dyn AccountStore>,
    sources: Arc<dyn SourceStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SettingsTransfer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettingsTransfer").finish_non_exhaustive()
    }
}

impl SettingsTransfer {
    #[must_use]
    pub fn new(
        settings: Arc<dyn SettingsStore>,
        library: Arc<dyn MediaLibrary>,
        accounts: Arc<dyn AccountStore>,
        sources: Arc<dyn SourceStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { settings, library, accounts, sources, clock }
    }

    /// The workspace's export document: its settings, current mix, every account's identity
    /// (disabled ones too; no token) and its current media source (no secret).
    ///
    /// # Errors
    /// [`StoreError`] when the workspace does not exist or the store fails.
    pub async fn export(&self, workspace: WorkspaceId) -> Result<SettingsExport, StoreError> {
        let settings = self.settings.settings(workspace).await?;
        let mixes = self.library.mix_history(workspace).await?;
        let mix = mixes.iter().find(|version| version.valid_to.is_none()).map(|version| &version.mix);
        let accounts = self.accounts.accounts(workspace, true).await?;
        let sources = self.sources.source_versions(workspace).await?;
        let source = sources.iter().find(|version| version.valid_to.is_none()).map(|version| &version.config);
        Ok(SettingsExport::of(&settings, mix, &accounts, source))
    }

    /// Checks `file` against `workspace` and says what importing it would change; changes
    /// nothing.
    ///
    /// # Errors
    /// [`TransferError::Refused`] naming the field, [`TransferError::UnknownCategories`], or the
    /// store's failure.
    pub async fn plan(&self, workspace: WorkspaceId, file: &str) -> Result<ImportPlan, TransferError> {
        let import = export::parse(file)?;
        if let Some(mix) = &import.category_mix {
            let known: Vec<Category> = self
                .library
                .categories(workspace, self.clock.now())
                .await?
                .into_iter()
                .map(|stats| stats.category)
                .collect();
            let unknown: Vec<Category> =
                mix.shares().map(|(category, _)| category.clone()).filter(|c| !known.contains(c)).collect();
            if !unknown.is_empty() {
                return Err(TransferError::UnknownCategories { unknown, known });
            }
        }
        let current = self.settings.settings(workspace).await?;
        let mixes = self.library.mix_history(workspace).await?;
        let current_mix = mixes.iter().find(|version| version.valid_to.is_none()).map(|version| &version.mix);
        let changes = export::diff(&current, current_mix, &import);
        let not_imported = export::not_imported(&import);
        Ok(ImportPlan { import, changes, not_imported })
    }

    /// Checks `file` as [`Self::plan`] does, then applies its settings and mix by `actor`, now,
    /// in one transaction with their audit entries.
    ///
    /// # Errors
    /// As [`Self::plan`]; nothing changes.
    #[tracing::instrument(skip(self, file), fields(workspace_id = %workspace, actor = %actor))]
    pub async fn import(
        &self,
        workspace: WorkspaceId,
        file: &str,
        actor: &Actor,
    ) -> Result<(ImportPlan, AppliedImport), TransferError> {
        let plan = self.plan(workspace, file).await?;
        let applied = self
            .settings
            .import(workspace, &plan.import.settings, plan.import.category_mix.clone(), actor, self.clock.now())
            .await?;
        for field in &applied.changes {
            tracing::info!(setting = %field.key, old = %field.old, new = %field.new, "setting imported");
        }
        if applied.mix_changed {
            tracing::info!("category mix imported");
        }
        Ok((plan, applied))
    }
}

#[cfg(test)]
mod tests;
