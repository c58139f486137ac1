use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::audit::{AuditAction, AuditEntry};
use storyline_domain::conversation::PendingPrompt;
use storyline_domain::ports::{
    AppliedChange, ApplySettingError, Audit, AuditQuery, Conversations, SettingsStore, StoreError, TokenCipher,
    UpdateCursor, Users,
};
use storyline_domain::settings::{ChatSettings, SettingChange, SettingsDefaults, SettingsVersion};
use storyline_domain::text::{storable, storable_opt};
use storyline_domain::user::{Actor, Member, Role, TelegramUserId, User};
use storyline_domain::{ChatId, Workspace, WorkspaceId};

mod accounts;
mod library;
mod queue;

/// Every store port in memory. Clones share the same state (and the cipher they were made with).
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    /// Seals and opens tokens; without one, token operations fail with `VaultError::NoKey`.
    cipher: Option<Arc<dyn TokenCipher>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").field("cipher", &self.cipher.is_some()).finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct State {
    workspaces: HashMap<WorkspaceId, Tenant>,
    by_chat: HashMap<ChatId, WorkspaceId>,
    users: HashMap<TelegramUserId, User>,
    last_update: Option<i64>,
    /// Updates taken for handling, by (bot, update id), and when.
    handled: HashMap<(i64, i64), DateTime<Utc>>,
}

/// Everything that belongs to one workspace.
#[derive(Debug)]
struct Tenant {
    workspace: Workspace,
    settings: ChatSettings,
    history: Vec<SettingsVersion>,
    audit: Vec<AuditEntry>,
    members: BTreeMap<TelegramUserId, Membership>,
    prompts: HashMap<TelegramUserId, PendingPrompt>,
    /// Media, the category mix, the queue, the posting history and the locks.
    library: library::Library,
    /// Instagram accounts, their sealed tokens and the active selection.
    accounts: accounts::Accounts,
}

#[derive(Debug, Clone, Copy)]
struct Membership {
    role: Role,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
}

impl MemoryStore {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The same state, sealing and opening tokens with `cipher` (a clone keeps sharing the
    /// state, so a test can look at one store through another key ring).
    #[must_use]
    pub fn with_cipher(self, cipher: Arc<dyn TokenCipher>) -> Self {
        Self { cipher: Some(cipher), ..self }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn tenant(&mut self, workspace: WorkspaceId) -> Result<&mut Tenant, StoreError> {
        self.workspaces.get_mut(&workspace).ok_or(StoreError::WorkspaceNotFound(workspace))
    }

    fn member(&self, tenant: &Tenant, user: TelegramUserId) -> Option<Member> {
        let membership = tenant.members.get(&user)?;
        let user = self.users.get(&user)?.clone();
        Some(Member { user, role: membership.role, first_seen: membership.first_seen, last_seen: membership.last_seen })
    }
}

fn placeholder_user(id: TelegramUserId) -> User {
    User { telegram_id: id, username: None, first_name: String::new(), last_name: None }
}

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
        let workspace = Workspace { id: WorkspaceId::new(), chat_id: chat, name: storable(name).into_owned() };
        let settings = ChatSettings::from_defaults(defaults);
        let first = SettingsVersion {
            version: 1,
            settings: settings.clone(),
            valid_from: at,
            valid_to: None,
            changed_by: Actor::System,
        };
        state.by_chat.insert(chat, workspace.id);
        state.workspaces.insert(
            workspace.id,
            Tenant {
                workspace: workspace.clone(),
                settings,
                history: vec![first],
                audit: Vec::new(),
                members: BTreeMap::new(),
                prompts: HashMap::new(),
                library: library::Library::default(),
                accounts: accounts::Accounts::default(),
            },
        );
        Ok(workspace)
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
        let current = tenant.history.last_mut().ok_or(StoreError::WorkspaceNotFound(workspace))?;
        let mut version = current.version;
        if !changes.is_empty() {
            let valid_from = at.max(current.valid_from);
            current.valid_to = Some(valid_from);
            version += 1;
            tenant.history.push(SettingsVersion {
                version,
                settings: after.clone(),
                valid_from,
                valid_to: None,
                changed_by: actor.clone(),
            });
            tenant.audit.extend(changes.iter().map(|field| AuditEntry {
                at,
                actor: actor.clone(),
                action: AuditAction::Setting,
                subject: field.key.as_str().to_owned(),
                old: Some(field.old.clone()),
                new: Some(field.new.clone()),
            }));
            tenant.settings = after.clone();
        }
        Ok(AppliedChange { before, after, changes, version })
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

#[async_trait]
impl Audit for MemoryStore {
    async fn record(&self, workspace: WorkspaceId, entry: &AuditEntry) -> Result<(), StoreError> {
        let entry = AuditEntry {
            subject: storable(&entry.subject).into_owned(),
            old: storable_opt(entry.old.as_deref()).map(Cow::into_owned),
            new: storable_opt(entry.new.as_deref()).map(Cow::into_owned),
            ..entry.clone()
        };
        self.state().tenant(workspace)?.audit.push(entry);
        Ok(())
    }

    async fn entries(&self, workspace: WorkspaceId, query: AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let state = self.state();
        let all = state.workspaces.get(&workspace).map(|t| t.audit.as_slice()).unwrap_or_default();
        Ok(all
            .iter()
            .rev()
            .filter(|e| query.action.is_none_or(|action| e.action == action))
            .take(query.limit as usize)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl Users for MemoryStore {
    async fn record_contact(
        &self,
        workspace: WorkspaceId,
        user: &User,
        at: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        let mut state = self.state();
        state.tenant(workspace)?;
        let user = User {
            telegram_id: user.telegram_id,
            username: storable_opt(user.username.as_deref()).map(Cow::into_owned),
            first_name: storable(&user.first_name).into_owned(),
            last_name: storable_opt(user.last_name.as_deref()).map(Cow::into_owned),
        };
        state.users.insert(user.telegram_id, user.clone());
        let tenant = state.tenant(workspace)?;
        tenant.members.entry(user.telegram_id).and_modify(|m| m.last_seen = at).or_insert(Membership {
            role: Role::Member,
            first_seen: at,
            last_seen: at,
        });
        let tenant = &state.workspaces[&workspace];
        state.member(tenant, user.telegram_id).ok_or(StoreError::WorkspaceNotFound(workspace))
    }

    async fn member(&self, workspace: WorkspaceId, user: TelegramUserId) -> Result<Option<Member>, StoreError> {
        let state = self.state();
        Ok(state.workspaces.get(&workspace).and_then(|tenant| state.member(tenant, user)))
    }

    async fn set_role(
        &self,
        workspace: WorkspaceId,
        user: TelegramUserId,
        role: Role,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        let mut state = self.state();
        state.tenant(workspace)?;
        state.users.entry(user).or_insert_with(|| placeholder_user(user));
        let tenant = state.tenant(workspace)?;
        let old = tenant.members.get(&user).map(|m| m.role);
        tenant.members.entry(user).and_modify(|m| m.role = role).or_insert(Membership {
            role,
            first_seen: at,
            last_seen: at,
        });
        if old != Some(role) {
            tenant.audit.push(AuditEntry {
                at,
                actor: actor.clone(),
                action: AuditAction::Role,
                subject: format!("user:{user}"),
                old: old.map(|r| r.as_str().to_owned()),
                new: Some(role.as_str().to_owned()),
            });
        }
        let tenant = &state.workspaces[&workspace];
        state.member(tenant, user).ok_or(StoreError::WorkspaceNotFound(workspace))
    }

    async fn members(&self, workspace: WorkspaceId) -> Result<Vec<Member>, StoreError> {
        let state = self.state();
        let Some(tenant) = state.workspaces.get(&workspace) else {
            return Ok(Vec::new());
        };
        Ok(tenant.members.keys().filter_map(|id| state.member(tenant, *id)).collect())
    }
}

#[async_trait]
impl Conversations for MemoryStore {
    async fn put(&self, workspace: WorkspaceId, prompt: &PendingPrompt) -> Result<(), StoreError> {
        self.state().tenant(workspace)?.prompts.insert(prompt.user, prompt.clone());
        Ok(())
    }

    async fn pending(
        &self,
        workspace: WorkspaceId,
        user: TelegramUserId,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingPrompt>, StoreError> {
        let state = self.state();
        Ok(state.workspaces.get(&workspace).and_then(|t| t.prompts.get(&user)).filter(|p| !p.is_expired(now)).cloned())
    }

    async fn clear(&self, workspace: WorkspaceId, user: TelegramUserId) -> Result<bool, StoreError> {
        let mut state = self.state();
        Ok(state.workspaces.get_mut(&workspace).and_then(|t| t.prompts.remove(&user)).is_some())
    }
}

#[async_trait]
impl UpdateCursor for MemoryStore {
    async fn last_update(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.state().last_update)
    }

    async fn advance(&self, update_id: i64) -> Result<(), StoreError> {
        let mut state = self.state();
        state.last_update = state.last_update.max(Some(update_id));
        Ok(())
    }

    async fn claim(&self, bot: i64, update_id: i64, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut state = self.state();
        let fresh = !state.handled.contains_key(&(bot, update_id));
        state.handled.entry((bot, update_id)).or_insert(at);
        Ok(fresh)
    }

    async fn forget_claims_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut state = self.state();
        let was = state.handled.len();
        state.handled.retain(|_, at| *at >= before);
        Ok(u64::try_from(was - state.handled.len()).unwrap_or(u64::MAX))
    }
}
