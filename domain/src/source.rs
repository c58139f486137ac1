//! Where a workspace's media comes from (FEATURES M1–M3): the source's settings, its versions,
//! and what a sync did.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::user::Actor;

/// The kinds of media source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Local,
    S3,
    Drive,
}

impl SourceKind {
    /// The stored and typed spelling.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::S3 => "s3",
            Self::Drive => "drive",
        }
    }

    /// Reads the stored or typed spelling.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "local" => Some(Self::Local),
            "s3" => Some(Self::S3),
            "drive" => Some(Self::Drive),
            _ => None,
        }
    }

    /// Whether a source of this kind has a secret (the S3 secret access key, the service
    /// account's JSON key), kept sealed apart from the rest of the settings.
    #[must_use]
    pub const fn has_secret(self) -> bool {
        !matches!(self, Self::Local)
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A media source's settings, without its secret. Stored as JSON; nothing in it is secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceConfig {
    /// A folder on the machine Storyline runs on.
    Local { root: String },
    /// An S3 bucket (AWS or any S3-compatible endpoint), under a prefix.
    S3 {
        bucket: String,
        /// Keys below this prefix (no leading `/`; empty for the whole bucket). The first path
        /// segment under it is the category.
        #[serde(default)]
        prefix: String,
        /// `None` for AWS itself; else the endpoint URL (MinIO, R2, Backblaze, Garage …).
        #[serde(default)]
        endpoint: Option<String>,
        region: String,
        /// Path-style addressing (`endpoint/bucket/key`), which most S3-compatible servers want.
        #[serde(default)]
        path_style: bool,
        access_key_id: String,
    },
    /// A Google Drive folder (and its subfolders), read with a service account.
    Drive { folder_id: String },
}

impl SourceConfig {
    #[must_use]
    pub const fn kind(&self) -> SourceKind {
        match self {
            Self::Local { .. } => SourceKind::Local,
            Self::S3 { .. } => SourceKind::S3,
            Self::Drive { .. } => SourceKind::Drive,
        }
    }
}

/// For people: `local ./media`, `s3://bucket/prefix`, `drive folder 1AbC…`.
impl fmt::Display for SourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local { root } => write!(f, "local {root}"),
            Self::S3 { bucket, prefix, .. } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Self::S3 { bucket, prefix, .. } => write!(f, "s3://{bucket}/{}", prefix.trim_matches('/')),
            Self::Drive { folder_id } => write!(f, "drive folder {folder_id}"),
        }
    }
}

/// One version of a workspace's media source setting. The secret is never part of it: only
/// whether this version changed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceVersion {
    pub config: SourceConfig,
    /// Whether this version set a new secret (shown as "changed", never its value).
    pub secret_changed: bool,
    pub set_by: Actor,
    pub valid_from: DateTime<Utc>,
    /// `None` for the current version.
    pub valid_to: Option<DateTime<Utc>>,
}

/// What becomes of the library when a workspace's source is set (FEATURES M1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldItems {
    /// The same source as before (a new secret, say): the library stays as it is.
    Keep,
    /// Another source: every active item is set aside (deactivated, its history, times posted
    /// and locks kept), its queued stories that have not gone to the chat are dropped, and the
    /// sync status starts afresh. The next sync reactivates what the new source holds.
    SetAside,
}

/// What setting a source did to the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SourceSwitch {
    /// Items of the old source deactivated.
    pub set_aside: u64,
    /// Their queued stories dropped.
    pub dropped_from_queue: u64,
}

/// What one sync run did (FEATURES M3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncSummary {
    pub added: u64,
    /// The same content found at a new path: it keeps its history, times posted and locks.
    pub moved: u64,
    /// Gone from the source: deactivated (history kept), queued stories of them dropped.
    pub removed: u64,
    /// Back in the source after being removed.
    pub reactivated: u64,
    /// `(path, why)`: not indexed (format, size, a file that could not be read …).
    pub refused: Vec<(String, String)>,
    pub unchanged: u64,
    /// `(path, warning)` for files added in this run that will not look right.
    pub warnings: Vec<(String, String)>,
    /// Queued stories dropped because their file is gone.
    pub dropped_from_queue: u64,
}

/// The last sync of a workspace, and whether its source is answering.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncStatus {
    /// When the last sync that reached the source finished.
    pub last_synced_at: Option<DateTime<Utc>>,
    pub last_summary: Option<SyncSummary>,
    /// Since when the source has not answered (`None` while it answers). The chat is told once
    /// when this starts and once when it ends.
    pub unreachable_since: Option<DateTime<Utc>>,
}
