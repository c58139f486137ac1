//! The in-memory store: one mutex-guarded state, and one file per port ([`settings`],
//! [`audit`], [`users`], [`conversations`], [`cursor`], [`library`], [`queue`], [`history`],
//! [`locks`], [`accounts`], [`vault`], [`sync`], [`sources`], [`init_wizards`]), the way the SQL store lays them out.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use storyline_domain::audit::AuditEntry;
use storyline_domain::conversation::PendingPrompt;
use storyline_domain::ports::{StoreError, TokenCipher};
use storyline_domain::settings::{ChatSettings, SettingsVersion};
use storyline_domain::user::{Member, Role, TelegramUserId, User};
use storyline_domain::{ChatId, Workspace, WorkspaceId};

mod accounts;
mod audit;
mod conversations;
mod cursor;
mod history;
mod init_wizards;
mod library;
mod locks;
mod login;
mod notices;
mod queue;
mod replicas;
mod settings;
mod sources;
mod sync;
mod users;
mod vault;

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
    /// Each bot's webhook secret token.
    webhook_secrets: HashMap<i64, String>,
    /// The deployment's processes, from their heartbeats.
    replicas: Vec<storyline_domain::ports::Replica>,
    /// What each workspace's chat was told once, by topic.
    notices: HashMap<(WorkspaceId, String), String>,
    /// `/init` wizards under way, by chat (there is no workspace yet).
    wizards: HashMap<ChatId, storyline_domain::init::InitWizard>,
    /// Logins under way, by workspace and nonce.
    logins: HashMap<(WorkspaceId, String), storyline_domain::login::LoginAttempt>,
    /// Logins' pickers, by workspace and choice.
    login_choices: HashMap<(WorkspaceId, storyline_domain::login::ChoiceId), storyline_domain::login::LoginChoice>,
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
    /// The media source setting, its sealed secret and the sync status.
    sources: sources::Sources,
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
