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
}

impl PromptKind {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PostsPerDay => "posts_per_day",
            Self::PostingHours => "posting_hours",
            Self::TimeZone => "time_zone",
            Self::InstagramAccount => "instagram_account",
        }
    }

    /// The kind stored as `text`, if it is one.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::PostsPerDay, Self::PostingHours, Self::TimeZone, Self::InstagramAccount]
            .into_iter()
            .find(|k| k.as_str() == text)
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
}

impl PendingPrompt {
    /// A prompt asked at `now`, answerable for [`PROMPT_LIFETIME`].
    #[must_use]
    pub fn new(user: TelegramUserId, kind: PromptKind, message_id: Option<i32>, now: DateTime<Utc>) -> Self {
        Self { user, kind, message_id, created_at: now, expires_at: now + PROMPT_LIFETIME }
    }

    #[must_use]
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}
