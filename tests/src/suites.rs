//! One suite per store port. Each function is one contract test, run against every backend.

pub mod accounts;
pub mod audit;
pub mod conversations;
pub mod cursor;
pub mod init_wizards;
pub mod library;
pub mod logins;
pub mod notices;
pub mod queue;
pub mod replicas;
pub mod settings;
pub mod sources;
pub mod sync;
pub mod users;

use chrono::{DateTime, TimeZone, Utc};
use storyline_domain::library::{Category, ContentHash, MediaKind, NewMedia};
use storyline_domain::settings::SettingsDefaults;
use storyline_domain::{ChatId, Workspace};

use crate::Stores;

/// A whole-second instant (every backend stores it exactly), `minutes` after a fixed start.
#[must_use]
pub fn instant(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).single().unwrap_or_default() + chrono::Duration::minutes(minutes)
}

/// Two workspaces, so every suite can prove one cannot see the other's data.
///
/// # Errors
/// When the store fails.
pub async fn two_workspaces(stores: &Stores) -> anyhow::Result<(Workspace, Workspace)> {
    let defaults = SettingsDefaults::default();
    let a = stores.settings.ensure_workspace(ChatId(-1001), "Team A", &defaults, instant(0)).await?;
    let b = stores.settings.ensure_workspace(ChatId(-1002), "Team B", &defaults, instant(0)).await?;
    Ok((a, b))
}

/// A 1080×1920 image at `path` (its first folder is the category) whose content is told apart
/// by `content`: the same number is the same content.
///
/// # Panics
/// When the first folder of `path` is not a category name.
#[must_use]
pub fn new_media(path: &str, content: u64) -> NewMedia {
    let folder = path.split('/').next().unwrap_or_default();
    NewMedia {
        path: path.to_owned(),
        category: Category::new(folder).expect("a category folder"),
        kind: MediaKind::Image,
        hash: ContentHash::from_hex(&format!("{content:064x}")).expect("64 hex digits"),
        size_bytes: 1000 + content,
        width: Some(1080),
        height: Some(1920),
    }
}
