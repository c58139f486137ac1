//! One suite per store port. Each function is one contract test, run against every backend.

pub mod audit;
pub mod conversations;
pub mod cursor;
pub mod settings;
pub mod users;

use chrono::{DateTime, TimeZone, Utc};
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
