//! Workspaces and their settings, with every version, in memory.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::audit::{AuditAction, AuditEntry};
use storyline_domain::library::CategoryMix;
use storyline_domain::ports::{AppliedChange, AppliedImport, ApplySettingError, SettingsStore, StoreError};
use storyline_domain::settings::export::ImportedSettings;
use storyline_domain::settings::{ChatSettings, FieldChange, SettingChange, SettingsDefaults, SettingsVersion};
use storyline_domain::text::storable;
use storyline_domain::user::Actor;
use storyline_domain::{ChatId, Workspace, WorkspaceId};

use super::{MemoryStore, State, Tenant};

#[async_trait]
impl SettingsStore for MemoryStore {
    async fn ensure_workspace(
        &self,
        chat: ChatId,
        name: &str,
        defaults: &SettingsDefaults,
        at: DateTime<Utc>,
    ) -> Result<Workspace, StoreError> {
        let mut state = self.state();
        if let Some(id) = state.by_chat.get(&chat).copied() {
            return Ok(state.tenant(id)?.workspace.clone());
        }
        Ok(state.create_workspace(chat, name, defaults, at, Actor::System))
    }

    async fn workspace_by_chat(&self, chat: ChatId) -> Result<Option<Workspace>, StoreError> {
        let state = self.state();
        Ok(state.by_chat.get(&chat).and_then(|id| state.workspaces.get(id)).map(|t| t.workspace.clone()))
    }

    async fn workspaces(&self) -> Result<Vec<Workspace>, StoreError> {
        let state = self.state();
        let mut all: Vec<Workspace> = state.workspaces.values().map(|t| t.workspace.clone()).collect();
        all.sort_by_key(|w| w.chat_id);
        Ok(all)
    }

    async fn move_workspace(
        &self,
        workspace: WorkspaceId,
        to: ChatId,
        at: DateTime<Utc>,
    ) -> Result<Option<Workspace>, StoreError> {
        let mut state = self.state();
        let from = state.tenant(workspace)?.workspace.chat_id;
        if state.by_chat.contains_key(&to) {
            return Ok(None);
        }
        state.by_chat.remove(&from);
        state.by_chat.insert(to, workspace);
        let tenant = state.tenant(workspace)?;
        tenant.workspace.chat_id = to;
        tenant.audit.push(AuditEntry {
            at,
            actor: Actor::System,
            action: AuditAction::Workspace,
            subject: "moved".to_owned(),
            old: Some(from.to_string()),
            new: Some(to.to_string()),
        });
        Ok(Some(tenant.workspace.clone()))
    }

    async fn settings(&self, workspace: WorkspaceId) -> Result<ChatSettings, StoreError> {
        Ok(self.state().tenant(workspace)?.settings.clone())
    }

    async fn apply(
        &self,
        workspace: WorkspaceId,
        change: SettingChange,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<AppliedChange, ApplySettingError> {
        let mut state = self.state();
        let tenant = state.tenant(workspace)?;
        let before = tenant.settings.clone();
        let (after, changes) = before.apply(change, actor, at)?;
        let version = tenant.write_settings(&after, &changes, actor, at)?;
        Ok(AppliedChange { before, after, changes, version })
    }

    async fn import(
        &self,
        workspace: WorkspaceId,
        settings: &ImportedSettings,
        mix: Option<CategoryMix>,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<AppliedImport, StoreError> {
        let mut state = self.state();
        let tenant = state.tenant(workspace)?;
        let before = tenant.settings.clone();
        let (after, changes) = before.imported(settings, actor, at);
        let version = tenant.write_settings(&after, &changes, actor, at)?;
        let old_mix = tenant.library.current_mix().cloned();
        let new_mix = mix.filter(|mix| old_mix.as_ref() != Some(mix));
        let mix_changed = new_mix.is_some();
        if let Some(mix) = new_mix {
            tenant.audit.push(AuditEntry {
                at,
                actor: actor.clone(),
                action: AuditAction::Setting,
                subject: "category_mix".to_owned(),
                old: Some(old_mix.map(|m| m.to_string()).unwrap_or_default()),
                new: Some(mix.to_string()),
            });
            tenant.library.set_mix(&mix, actor, at);
        }
        Ok(AppliedImport { before, after, changes, mix_changed, version })
    }

    async fn history(&self, workspace: WorkspaceId) -> Result<Vec<SettingsVersion>, StoreError> {
        Ok(self.state().workspaces.get(&workspace).map(|t| t.history.clone()).unwrap_or_default())
    }

    async fn as_of(&self, workspace: WorkspaceId, at: DateTime<Utc>) -> Result<Option<SettingsVersion>, StoreError> {
        let state = self.state();
        let history = state.workspaces.get(&workspace).map(|t| t.history.as_slice()).unwrap_or_default();
        Ok(history.iter().rev().find(|v| v.covers(at)).cloned())
    }
}

impl State {
    /// Creates the workspace of `chat` (which has none), its settings from `defaults` and their
    /// first version by `actor`.
    pub(super) fn create_workspace(
        &mut self,
        chat: ChatId,
        name: &str,
        defaults: &SettingsDefaults,
        at: DateTime<Utc>,
        actor: Actor,
    ) -> Workspace {
        let workspace = Workspace { id: WorkspaceId::new(), chat_id: chat, name: storable(name).into_owned() };
        let settings = ChatSettings::from_defaults(defaults);
        let first = SettingsVersion {
            version: 1,
            settings: settings.clone(),
            valid_from: at,
            valid_to: None,
            changed_by: actor,
        };
        self.by_chat.insert(chat, workspace.id);
        self.workspaces.insert(
            workspace.id,
            Tenant {
                workspace: workspace.clone(),
                settings,
                history: vec![first],
                audit: Vec::new(),
                members: BTreeMap::new(),
                prompts: HashMap::new(),
                library: super::library::Library::default(),
                accounts: super::accounts::Accounts::default(),
                sources: super::sources::Sources::default(),
            },
        );
        workspace
    }
}

impl Tenant {
    /// Makes `after` current when `changes` is not empty: a new history version and one audit
    /// entry per changed field. Returns the version now current.
    fn write_settings(
        &mut self,
        after: &ChatSettings,
        changes: &[FieldChange],
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let id = self.workspace.id;
        let current = self.history.last_mut().ok_or(StoreError::WorkspaceNotFound(id))?;
        let mut version = current.version;
        if !changes.is_empty() {
            let valid_from = at.max(current.valid_from);
            current.valid_to = Some(valid_from);
            version += 1;
            self.history.push(SettingsVersion {
                version,
                settings: after.clone(),
                valid_from,
                valid_to: None,
                changed_by: actor.clone(),
            });
            self.audit.extend(changes.iter().map(|field| AuditEntry {
                at,
                actor: actor.clone(),
                action: AuditAction::Setting,
                subject: field.key.as_str().to_owned(),
                old: Some(field.old.clone()),
                new: Some(field.new.clone()),
            }));
            self.settings = after.clone();
        }
        Ok(version)
    }
}
