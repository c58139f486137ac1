//! Prompts waiting for a person's next message ("send the new posts/day value", FEATURES S3).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::user::TelegramUserId;

/// How long a prompt waits for its answer.
pub const PROMPT_LIFETIME: Duration = Duration::minutes(10);

/// What a pending prompt is asking for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptKind {
    PostsPerDay,
    PostingHours,
    TimeZone,
    /// A new Instagram account in one message: name, account id, token (FEATURES A3).
    InstagramAccount,
    /// The media source dialogue (FEATURES M1): one value per prompt; the earlier answers ride
    /// in [`PendingPrompt::draft`], the secret never does.
    SourceLocalPath,
    SourceS3Bucket,
    SourceS3Prefix,
    SourceS3Endpoint,
    SourceS3Region,
    SourceS3PathStyle,
    SourceS3AccessKeyId,
    /// The S3 secret access key: only in a private chat with the bot; the message is deleted.
    SourceS3Secret,
    SourceDriveFolder,
    /// The service account's JSON key: only in a private chat with the bot; deleted.
    SourceDriveKey,
    /// `/settings import`: the settings file, sent as a document (FEATURES T3).
    SettingsFile,
    /// A settings file checked and its changes shown, waiting for Apply or Cancel; the file's
    /// text rides in [`PendingPrompt::draft`] (it holds no token and no secret).
    SettingsImport,
}

impl PromptKind {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PostsPerDay => "posts_per_day",
            Self::PostingHours => "posting_hours",
            Self::TimeZone => "time_zone",
            Self::InstagramAccount => "instagram_account",
            Self::SourceLocalPath => "source_local_path",
            Self::SourceS3Bucket => "source_s3_bucket",
            Self::SourceS3Prefix => "source_s3_prefix",
            Self::SourceS3Endpoint => "source_s3_endpoint",
            Self::SourceS3Region => "source_s3_region",
            Self::SourceS3PathStyle => "source_s3_path_style",
            Self::SourceS3AccessKeyId => "source_s3_access_key_id",
            Self::SourceS3Secret => "source_s3_secret",
            Self::SourceDriveFolder => "source_drive_folder",
            Self::SourceDriveKey => "source_drive_key",
            Self::SettingsFile => "settings_file",
            Self::SettingsImport => "settings_import",
        }
    }

    /// Every kind.
    pub const ALL: [Self; 16] = [
        Self::PostsPerDay,
        Self::PostingHours,
        Self::TimeZone,
        Self::InstagramAccount,
        Self::SourceLocalPath,
        Self::SourceS3Bucket,
        Self::SourceS3Prefix,
        Self::SourceS3Endpoint,
        Self::SourceS3Region,
        Self::SourceS3PathStyle,
        Self::SourceS3AccessKeyId,
        Self::SourceS3Secret,
        Self::SourceDriveFolder,
        Self::SourceDriveKey,
        Self::SettingsFile,
        Self::SettingsImport,
    ];

    /// Whether this prompt belongs to the media source dialogue.
    #[must_use]
    pub const fn is_source(self) -> bool {
        !matches!(
            self,
            Self::PostsPerDay
                | Self::PostingHours
                | Self::TimeZone
                | Self::InstagramAccount
                | Self::SettingsFile
                | Self::SettingsImport
        )
    }

    /// Whether this prompt belongs to a settings import (`/settings import`).
    #[must_use]
    pub const fn is_import(self) -> bool {
        matches!(self, Self::SettingsFile | Self::SettingsImport)
    }

    /// Whether the answer is a secret: accepted only in a private chat, and deleted.
    #[must_use]
    pub const fn is_secret(self) -> bool {
        matches!(self, Self::InstagramAccount | Self::SourceS3Secret | Self::SourceDriveKey)
    }

    /// The kind stored as `text`, if it is one.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A question put to one person in one workspace's chat; their next message there answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPrompt {
    pub user: TelegramUserId,
    pub kind: PromptKind,
    /// The message that asked, so the answer can edit or remove it.
    pub message_id: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Earlier answers of a many-step dialogue, in order (never a secret).
    #[serde(default)]
    pub draft: Vec<String>,
}

impl PendingPrompt {
    /// A prompt asked at `now`, answerable for [`PROMPT_LIFETIME`].
    #[must_use]
    pub fn new(user: TelegramUserId, kind: PromptKind, message_id: Option<i32>, now: DateTime<Utc>) -> Self {
        Self { user, kind, message_id, created_at: now, expires_at: now + PROMPT_LIFETIME, draft: Vec::new() }
    }

    /// The same prompt with the earlier answers `draft`.
    #[must_use]
    pub fn with_draft(mut self, draft: Vec<String>) -> Self {
        self.draft = draft;
        self
    }

    #[must_use]
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}
