//! Rows as SQLite returns them, and their conversion to domain values.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use storyline_domain::ports::StoreError;
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
