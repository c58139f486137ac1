//! Rows as SQLite returns them, and their conversion to domain values.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use storyline_domain::account::{
    Account, AccountId, DisplayName, InstagramUserId, LoginKind, PostMethod, TokenInfo, TokenNotice, Username,
};
use storyline_domain::library::{
    Category, CategoryMix, CategoryStats, ContentHash, MediaId, MediaItem, MediaKind, MixVersion,
};
use storyline_domain::ports::{StoreError, TokenDue};
use storyline_domain::queue::{
    Claimed, HistoryEntry, Lock, LockReason, Outcome, QueueEntry, QueueItem, QueueItemId, QueueStatus,
};
use storyline_domain::schedule::Candidate;
use storyline_domain::settings::{ChatSettings, SettingsVersion, StoredSettings};
use storyline_domain::user::{Actor, Member, Role, TelegramUserId, User};
use storyline_domain::{ChatId, Workspace, WorkspaceId};
use uuid::Uuid;

pub(crate) const SETTINGS_COLUMNS: &str = "dry_run_mode, enable_instagram_api, is_paused, paused_at, paused_by, \
     posts_per_day, posting_hours_start, posting_hours_end, posting_timezone";

#[derive(Debug, FromRow)]
pub(crate) struct WorkspaceRow {
    id: Uuid,
    telegram_chat_id: i64,
    name: String,
}

impl From<WorkspaceRow> for Workspace {
    fn from(row: WorkspaceRow) -> Self {
        Self { id: WorkspaceId::from_uuid(row.id), chat_id: ChatId(row.telegram_chat_id), name: row.name }
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct SettingsRow {
    dry_run_mode: bool,
    enable_instagram_api: bool,
    is_paused: bool,
    paused_at: Option<DateTime<Utc>>,
    paused_by: Option<String>,
    posts_per_day: i64,
    posting_hours_start: i64,
    posting_hours_end: i64,
    posting_timezone: String,
}

impl TryFrom<SettingsRow> for ChatSettings {
    type Error = StoreError;

    fn try_from(row: SettingsRow) -> Result<Self, Self::Error> {
        Self::try_from(StoredSettings {
            dry_run_mode: row.dry_run_mode,
            enable_instagram_api: row.enable_instagram_api,
            is_paused: row.is_paused,
            paused_at: row.paused_at,
            paused_by: row.paused_by,
            posts_per_day: row.posts_per_day,
            posting_hours_start: row.posting_hours_start,
            posting_hours_end: row.posting_hours_end,
            posting_timezone: row.posting_timezone,
        })
        .map_err(StoreError::unknown)
    }
}

/// The current settings with their version and when that version began.
#[derive(Debug, FromRow)]
pub(crate) struct CurrentRow {
    #[sqlx(flatten)]
    pub(crate) settings: SettingsRow,
    pub(crate) version: i64,
    /// When the current version began: `updated_at`, which is its `valid_from`.
    pub(crate) current_from: DateTime<Utc>,
}

#[derive(Debug, FromRow)]
pub(crate) struct VersionRow {
    #[sqlx(flatten)]
    settings: SettingsRow,
    version: i64,
    valid_from: DateTime<Utc>,
    valid_to: Option<DateTime<Utc>>,
    changed_by: String,
}

impl TryFrom<VersionRow> for SettingsVersion {
    type Error = StoreError;

    fn try_from(row: VersionRow) -> Result<Self, Self::Error> {
        Ok(Self {
            version: row.version,
            settings: row.settings.try_into()?,
            valid_from: row.valid_from,
            valid_to: row.valid_to,
            changed_by: parse_actor(&row.changed_by)?,
        })
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct MemberRow {
    telegram_user_id: i64,
    username: Option<String>,
    first_name: String,
    last_name: Option<String>,
    role: String,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
}

impl TryFrom<MemberRow> for Member {
    type Error = StoreError;

    fn try_from(row: MemberRow) -> Result<Self, Self::Error> {
        Ok(Self {
            user: User {
                telegram_id: TelegramUserId(row.telegram_user_id),
                username: row.username,
                first_name: row.first_name,
                last_name: row.last_name,
            },
            role: row.role.parse::<Role>().map_err(StoreError::unknown)?,
            first_seen: row.first_seen,
            last_seen: row.last_seen,
        })
    }
}

pub(crate) fn parse_actor(text: &str) -> Result<Actor, StoreError> {
    text.parse::<Actor>().map_err(StoreError::unknown)
}

pub(crate) const MEDIA_COLUMNS: &str = "id, path, category, kind, content_hash, size_bytes, width, height, active, \
     times_posted, last_posted_at, added_at, needs_interaction";

#[derive(Debug, FromRow)]
pub(crate) struct MediaRow {
    id: Uuid,
    path: String,
    category: String,
    kind: String,
    content_hash: String,
    size_bytes: i64,
    width: Option<i64>,
    height: Option<i64>,
    active: bool,
    times_posted: i64,
    last_posted_at: Option<DateTime<Utc>>,
    added_at: DateTime<Utc>,
    needs_interaction: bool,
}

impl TryFrom<MediaRow> for MediaItem {
    type Error = StoreError;

    fn try_from(row: MediaRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: MediaId(row.id),
            category: parse_category(&row.category)?,
            kind: parse_kind(&row.kind)?,
            hash: ContentHash::from_hex(&row.content_hash)
                .ok_or_else(|| unreadable("content hash", &row.content_hash))?,
            size_bytes: u64::try_from(row.size_bytes).map_err(StoreError::unknown)?,
            width: row.width.map(u32::try_from).transpose().map_err(StoreError::unknown)?,
            height: row.height.map(u32::try_from).transpose().map_err(StoreError::unknown)?,
            active: row.active,
            times_posted: u32::try_from(row.times_posted).map_err(StoreError::unknown)?,
            last_posted_at: row.last_posted_at,
            added_at: row.added_at,
            needs_interaction: row.needs_interaction,
            path: row.path,
        })
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct MixRow {
    mix: String,
    valid_from: DateTime<Utc>,
    valid_to: Option<DateTime<Utc>>,
    set_by: String,
}

impl TryFrom<MixRow> for MixVersion {
    type Error = StoreError;

    fn try_from(row: MixRow) -> Result<Self, Self::Error> {
        Ok(Self {
            mix: CategoryMix::parse(&row.mix).map_err(StoreError::unknown)?,
            valid_from: row.valid_from,
            valid_to: row.valid_to,
            set_by: parse_actor(&row.set_by)?,
        })
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct CategoryRow {
    category: String,
    total: i64,
    available: i64,
    posted: i64,
}

impl TryFrom<CategoryRow> for CategoryStats {
    type Error = StoreError;

    fn try_from(row: CategoryRow) -> Result<Self, Self::Error> {
        Ok(Self {
            category: parse_category(&row.category)?,
            total: count(row.total)?,
            available: count(row.available)?,
            posted: count(row.posted)?,
        })
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct CandidateRow {
    id: Uuid,
    category: String,
    last_posted_at: Option<DateTime<Utc>>,
}

impl TryFrom<CandidateRow> for Candidate {
    type Error = StoreError;

    fn try_from(row: CandidateRow) -> Result<Self, Self::Error> {
        Ok(Self {
            media: MediaId(row.id),
            category: parse_category(&row.category)?,
            last_posted_at: row.last_posted_at,
        })
    }
}

/// A queue item joined with its media (`q` and `m`).
pub(crate) const ENTRY_COLUMNS: &str = "q.id, q.workspace_id, q.media_id, q.slot_at, q.status, q.attempts, q.message_id, q.container_id, m.path, \
     m.kind, m.category, m.needs_interaction";

#[derive(Debug, FromRow)]
pub(crate) struct EntryRow {
    id: Uuid,
    workspace_id: Uuid,
    media_id: Uuid,
    slot_at: DateTime<Utc>,
    status: String,
    attempts: i64,
    message_id: Option<i32>,
    container_id: Option<String>,
    path: String,
    kind: String,
    category: String,
    needs_interaction: bool,
}

impl TryFrom<EntryRow> for QueueEntry {
    type Error = StoreError;

    fn try_from(row: EntryRow) -> Result<Self, Self::Error> {
        Ok(Self {
            item: QueueItem {
                id: QueueItemId(row.id),
                workspace: WorkspaceId::from_uuid(row.workspace_id),
                media: MediaId(row.media_id),
                slot: row.slot_at,
                status: QueueStatus::parse(&row.status).ok_or_else(|| unreadable("queue status", &row.status))?,
                attempts: u32::try_from(row.attempts).map_err(StoreError::unknown)?,
                message_id: row.message_id,
                container: row.container_id,
            },
            kind: parse_kind(&row.kind)?,
            category: parse_category(&row.category)?,
            path: row.path,
            needs_interaction: row.needs_interaction,
        })
    }
}

/// A claimed queue item with its media and its workspace's chat (`w`).
#[derive(Debug, FromRow)]
pub(crate) struct ClaimedRow {
    #[sqlx(flatten)]
    entry: EntryRow,
    telegram_chat_id: i64,
}

impl TryFrom<ClaimedRow> for Claimed {
    type Error = StoreError;

    fn try_from(row: ClaimedRow) -> Result<Self, Self::Error> {
        Ok(Self { entry: row.entry.try_into()?, chat: ChatId(row.telegram_chat_id) })
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct HistoryRow {
    media_id: Uuid,
    path: String,
    queue_item_id: Uuid,
    outcome: String,
    at: DateTime<Utc>,
    actor: String,
    error: Option<String>,
    method: Option<String>,
    instagram_media_id: Option<String>,
}

impl TryFrom<HistoryRow> for HistoryEntry {
    type Error = StoreError;

    fn try_from(row: HistoryRow) -> Result<Self, Self::Error> {
        Ok(Self {
            media: MediaId(row.media_id),
            path: row.path,
            queue_item: QueueItemId(row.queue_item_id),
            outcome: parse_outcome(&row.outcome)?,
            at: row.at,
            by: parse_actor(&row.actor)?,
            error: row.error,
            method: row
                .method
                .map(|method| PostMethod::parse(&method).ok_or_else(|| unreadable("post method", &method)))
                .transpose()?,
            instagram_media_id: row.instagram_media_id,
        })
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct LockRow {
    media_id: Uuid,
    path: String,
    reason: String,
    locked_until: Option<DateTime<Utc>>,
}

impl TryFrom<LockRow> for Lock {
    type Error = StoreError;

    fn try_from(row: LockRow) -> Result<Self, Self::Error> {
        Ok(Self {
            media: MediaId(row.media_id),
            path: row.path,
            reason: LockReason::parse(&row.reason).ok_or_else(|| unreadable("lock reason", &row.reason))?,
            until: row.locked_until,
        })
    }
}

/// An account's columns (`a`).
pub(crate) const ACCOUNT_COLUMNS: &str =
    "a.id, a.workspace_id, a.display_name, a.instagram_id, a.username, a.login, a.enabled, a.created_at";

#[derive(Debug, FromRow)]
pub(crate) struct AccountRow {
    id: Uuid,
    workspace_id: Uuid,
    display_name: String,
    instagram_id: String,
    username: Option<String>,
    login: String,
    enabled: bool,
    created_at: DateTime<Utc>,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;

    fn try_from(row: AccountRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: AccountId::from_uuid(row.id),
            workspace: WorkspaceId::from_uuid(row.workspace_id),
            display_name: DisplayName::new(&row.display_name).map_err(StoreError::unknown)?,
            instagram_id: InstagramUserId::new(&row.instagram_id).map_err(StoreError::unknown)?,
            username: row.username.as_deref().map(Username::new).transpose().map_err(StoreError::unknown)?,
            login: LoginKind::parse(&row.login).ok_or_else(|| unreadable("login kind", &row.login))?,
            enabled: row.enabled,
            created_at: row.created_at,
        })
    }
}

/// A token's columns (`t`) without its ciphertext.
pub(crate) const TOKEN_INFO_COLUMNS: &str = "t.account_id, t.expires_at, t.issued_at, t.notice, t.checked";

#[derive(Debug, FromRow)]
pub(crate) struct TokenInfoRow {
    account_id: Uuid,
    expires_at: Option<DateTime<Utc>>,
    issued_at: DateTime<Utc>,
    notice: Option<String>,
    checked: bool,
}

impl TryFrom<TokenInfoRow> for TokenInfo {
    type Error = StoreError;

    fn try_from(row: TokenInfoRow) -> Result<Self, Self::Error> {
        Ok(Self {
            account: AccountId::from_uuid(row.account_id),
            expires_at: row.expires_at,
            issued_at: row.issued_at,
            notice: row.notice.as_deref().map(parse_notice).transpose()?,
            checked: row.checked,
        })
    }
}

/// An enabled account with its token and its workspace's chat (`w`).
#[derive(Debug, FromRow)]
pub(crate) struct TokenDueRow {
    #[sqlx(flatten)]
    account: AccountRow,
    #[sqlx(flatten)]
    info: TokenInfoRow,
    telegram_chat_id: i64,
}

impl TryFrom<TokenDueRow> for TokenDue {
    type Error = StoreError;

    fn try_from(row: TokenDueRow) -> Result<Self, Self::Error> {
        let account = Account::try_from(row.account)?;
        Ok(Self {
            workspace: account.workspace,
            chat: ChatId(row.telegram_chat_id),
            info: row.info.try_into()?,
            account,
        })
    }
}

pub(crate) fn parse_notice(text: &str) -> Result<TokenNotice, StoreError> {
    TokenNotice::parse(text).ok_or_else(|| unreadable("token notice", text))
}

pub(crate) fn parse_outcome(text: &str) -> Result<Outcome, StoreError> {
    Outcome::parse(text).ok_or_else(|| unreadable("outcome", text))
}

pub(crate) fn parse_status(text: &str) -> Result<QueueStatus, StoreError> {
    QueueStatus::parse(text).ok_or_else(|| unreadable("queue status", text))
}

pub(crate) fn parse_category(text: &str) -> Result<Category, StoreError> {
    Category::new(text).map_err(StoreError::unknown)
}

fn parse_kind(text: &str) -> Result<MediaKind, StoreError> {
    MediaKind::parse(text).ok_or_else(|| unreadable("media kind", text))
}

/// A count as the domain wants it.
pub(crate) fn count(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(StoreError::unknown)
}

fn unreadable(what: &str, text: &str) -> StoreError {
    StoreError::unknown(anyhow::anyhow!("unreadable stored {what} {text:?}"))
}
