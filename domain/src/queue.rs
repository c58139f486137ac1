//! The queue, the posting history and the locks (FEATURES C3, C4): what is due when, what
//! happened to each story, and which media may not be scheduled for a while.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::WorkspaceId;
use crate::library::{Category, MediaId, MediaKind};
use crate::user::Actor;

/// After a Posted press the media rests this long before it may be scheduled again.
pub const REPOST_LOCK: Duration = Duration::days(30);
/// After a Skip press the media rests this long.
pub const SKIP_LOCK: Duration = Duration::days(7);
/// Sending a due story is tried this many times before it is given up as failed.
pub const MAX_SEND_ATTEMPTS: u32 = 3;

/// Whether try number `attempt` (counted from 1) is the last: when it fails, the story is given
/// up as failed. The one place the rule is decided; the stores and the posting loop ask it.
#[must_use]
pub const fn is_last_attempt(attempt: u32) -> bool {
    attempt >= MAX_SEND_ATTEMPTS
}

/// A queue item's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QueueItemId(pub Uuid);

impl QueueItemId {
    #[must_use]
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    /// The id as 32 lowercase hex digits (for button data).
    #[must_use]
    pub fn compact(&self) -> String {
        self.0.simple().to_string()
    }

    /// Reads [`Self::compact`]'s form: exactly 32 hex digits, nothing else.
    #[must_use]
    pub fn from_compact(text: &str) -> Option<Self> {
        (text.len() == 32 && text.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| Uuid::try_parse(text).ok().map(Self))
            .flatten()
    }
}

impl Default for QueueItemId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for QueueItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a queue item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QueueStatus {
    /// Waiting for its slot.
    Pending,
    /// Claimed by a posting loop, which is sending it (until its lease runs out).
    Sending,
    /// In the chat, waiting for Posted, Skip or Reject.
    Sent,
    /// Handled: the outcome is in the history.
    Done,
}

impl QueueStatus {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Done => "done",
        }
    }

    #[must_use]
    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "pending" => Some(Self::Pending),
            "sending" => Some(Self::Sending),
            "sent" => Some(Self::Sent),
            "done" => Some(Self::Done),
            _ => None,
        }
    }
}

impl fmt::Display for QueueStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One slot with its media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueItem {
    pub id: QueueItemId,
    pub workspace: WorkspaceId,
    pub media: MediaId,
    pub slot: DateTime<Utc>,
    pub status: QueueStatus,
    /// Send attempts so far.
    pub attempts: u32,
    /// The chat message showing it, once sent.
    pub message_id: Option<i32>,
    /// The Graph API container made for it, while it is being published.
    pub container: Option<String>,
}

/// A queue item with what is needed to show it: its media's path, kind and category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    pub item: QueueItem,
    pub path: String,
    pub kind: MediaKind,
    pub category: Category,
    /// Link stickers, polls …: the API cannot add them, so it always goes the manual way.
    pub needs_interaction: bool,
}

/// What became of a story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    Posted,
    Skipped,
    Rejected,
    /// Could not be sent after [`MAX_SEND_ATTEMPTS`].
    Failed,
}

impl Outcome {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Posted => "posted",
            Self::Skipped => "skipped",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
        }
    }

    #[must_use]
    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "posted" => Some(Self::Posted),
            "skipped" => Some(Self::Skipped),
            "rejected" => Some(Self::Rejected),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    /// The lock this outcome puts on the media, from `at`: `None` for no lock, `Some(None)` for
    /// a permanent one.
    #[must_use]
    pub fn lock(self, at: DateTime<Utc>) -> Option<(LockReason, Option<DateTime<Utc>>)> {
        match self {
            Self::Posted => Some((LockReason::Posted, Some(at + REPOST_LOCK))),
            Self::Skipped => Some((LockReason::Skipped, Some(at + SKIP_LOCK))),
            Self::Rejected => Some((LockReason::Rejected, None)),
            Self::Failed => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the posting history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub media: MediaId,
    pub path: String,
    pub queue_item: QueueItemId,
    pub outcome: Outcome,
    pub at: DateTime<Utc>,
    pub by: Actor,
    /// What went wrong, for [`Outcome::Failed`].
    pub error: Option<String>,
    /// How a posted story reached Instagram (`None` for skips, rejects and failures).
    pub method: Option<crate::account::PostMethod>,
    /// Instagram's id of a story Storyline published.
    pub instagram_media_id: Option<String>,
}

/// Why a media item is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LockReason {
    Posted,
    Skipped,
    Rejected,
}

impl LockReason {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Posted => "posted",
            Self::Skipped => "skipped",
            Self::Rejected => "rejected",
        }
    }

    #[must_use]
    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "posted" => Some(Self::Posted),
            "skipped" => Some(Self::Skipped),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// A media item that may not be scheduled until `until` (forever when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub media: MediaId,
    pub path: String,
    pub reason: LockReason,
    pub until: Option<DateTime<Utc>>,
}

/// The result of a Posted / Skip / Reject press.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// This press decided it.
    Resolved { outcome: Outcome, path: String },
    /// It had been decided before (another press, or another person): nothing changed.
    AlreadyHandled(Outcome),
    /// No such item in this workspace (or not sent yet).
    NotFound,
}

/// A due item claimed by a posting loop, with everything needed to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub entry: QueueEntry,
    pub chat: crate::ChatId,
}

/// Counts for /status and /stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueCounts {
    pub pending: u64,
    /// Pending and already due (overdue when paused).
    pub due: u64,
    pub awaiting_press: u64,
    pub posted: u64,
    pub skipped: u64,
    pub rejected: u64,
    pub failed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_lock_as_features_c4_says() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(Outcome::Posted.lock(at), Some((LockReason::Posted, Some(at + Duration::days(30)))));
        assert_eq!(Outcome::Skipped.lock(at), Some((LockReason::Skipped, Some(at + SKIP_LOCK))));
        assert_eq!(Outcome::Rejected.lock(at), Some((LockReason::Rejected, None)));
        assert_eq!(Outcome::Failed.lock(at), None);
        for outcome in [Outcome::Posted, Outcome::Skipped, Outcome::Rejected, Outcome::Failed] {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
        }
        for status in [QueueStatus::Pending, QueueStatus::Sending, QueueStatus::Sent, QueueStatus::Done] {
            assert_eq!(QueueStatus::parse(status.as_str()), Some(status));
        }
    }
}
