//! Everything one workspace owns, read through the store ports (FEATURES T2): taken before and
//! after driving another workspace, two snapshots compare with `==` and print what differs with
//! `Debug`. Secrets are never part of it (tokens and source secrets are read as their state only).
//!
//! What no port can list is left out and said so here: the pending prompts of people who are not
//! members of the workspace (the port reads a prompt by person), the update cursor and claims
//! (the bot's, not a workspace's) and `/init` wizards (a chat's before it has a workspace).

use chrono::{DateTime, Utc};
use storyline_domain::account::{Account, TokenInfo};
use storyline_domain::audit::AuditEntry;
use storyline_domain::conversation::PendingPrompt;
use storyline_domain::library::{CategoryStats, MediaItem, MixVersion};
use storyline_domain::ports::{AuditQuery, MediaQuery, SyncedItem};
use storyline_domain::queue::{HistoryEntry, Lock, QueueEntry};
use storyline_domain::settings::{ChatSettings, SettingsVersion};
use storyline_domain::source::{SourceConfig, SourceVersion, SyncStatus};
use storyline_domain::user::{Member, TelegramUserId};
use storyline_domain::{Workspace, WorkspaceId};

use crate::Stores;

/// More rows than any test makes, so that a listing is the whole of it.
const ALL: u32 = 10_000;

/// Everything one workspace owns, as its store ports tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub workspace: Option<Workspace>,
    pub settings: ChatSettings,
    pub settings_history: Vec<SettingsVersion>,
    pub audit: Vec<AuditEntry>,
    pub members: Vec<Member>,
    /// The pending prompt of each member and of each `known` person, by person.
    pub prompts: Vec<(TelegramUserId, Option<PendingPrompt>)>,
    pub media: Vec<MediaItem>,
    pub categories: Vec<CategoryStats>,
    pub mix_history: Vec<MixVersion>,
    pub synced: Vec<SyncedItem>,
    pub queue: Vec<QueueEntry>,
    pub history: Vec<HistoryEntry>,
    pub locks: Vec<Lock>,
    /// Every account, disabled ones too, and the active one.
    pub accounts: Vec<Account>,
    pub active_account: Option<Account>,
    /// Each token's state (expiry, notice, checked), never the token.
    pub tokens: Vec<TokenInfo>,
    /// The current media source without its secret; whether it has one.
    pub source: Option<(SourceConfig, bool)>,
    pub source_versions: Vec<SourceVersion>,
    pub sync_status: SyncStatus,
}

impl Snapshot {
    /// Reads everything `workspace` owns, as of `now` (the instant categories, locks and prompts
    /// are judged at), with the prompts of the `known` people besides its members.
    ///
    /// # Errors
    /// When a store fails.
    pub async fn of(
        stores: &Stores,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        known: &[TelegramUserId],
    ) -> anyhow::Result<Self> {
        let members = stores.users.members(workspace).await?;
        let mut people: Vec<TelegramUserId> =
            members.iter().map(|m| m.user.telegram_id).chain(known.iter().copied()).collect();
        people.sort_by_key(|p| p.0);
        people.dedup();
        let mut prompts = Vec::with_capacity(people.len());
        for person in people {
            prompts.push((person, stores.conversations.pending(workspace, person, now).await?));
        }
        let mut tokens = stores.vault.token_infos(workspace).await?;
        tokens.sort_by_key(|t| t.account.to_string());
        Ok(Self {
            workspace: stores.settings.workspaces().await?.into_iter().find(|w| w.id == workspace),
            settings: stores.settings.settings(workspace).await?,
            settings_history: stores.settings.history(workspace).await?,
            audit: stores.audit.entries(workspace, AuditQuery { action: None, limit: ALL }).await?,
            members,
            prompts,
            media: stores.library.media(workspace, &MediaQuery { category: None, limit: ALL }).await?,
            categories: stores.library.categories(workspace, now).await?,
            mix_history: stores.library.mix_history(workspace).await?,
            synced: stores.sync.synced_items(workspace).await?,
            queue: stores.queue.entries(workspace, ALL).await?,
            history: stores.history.history(workspace, ALL).await?,
            locks: stores.locks.locks(workspace, now).await?,
            accounts: stores.accounts.accounts(workspace, true).await?,
            active_account: stores.accounts.active(workspace).await?,
            tokens,
            source: stores.sources.current_source(workspace).await?.map(|(config, secret)| (config, secret.is_some())),
            source_versions: stores.sources.source_versions(workspace).await?,
            sync_status: stores.sources.sync_status(workspace).await?,
        })
    }

    /// What differs between two snapshots, field by field, for a readable failure.
    #[must_use]
    pub fn differences(&self, other: &Self) -> Vec<String> {
        macro_rules! compare {
            ($($field:ident),+) => {{
                let mut found = Vec::new();
                $(
                    if self.$field != other.$field {
                        found.push(format!(
                            "{}:\n  before: {:?}\n  after:  {:?}",
                            stringify!($field), self.$field, other.$field
                        ));
                    }
                )+
                found
            }};
        }
        compare!(
            workspace,
            settings,
            settings_history,
            audit,
            members,
            prompts,
            media,
            categories,
            mix_history,
            synced,
            queue,
            history,
            locks,
            accounts,
            active_account,
            tokens,
            source,
            source_versions,
            sync_status
        )
    }
}
