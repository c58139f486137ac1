//! Settings as a database row holds them, so every store converts them the same way.

use chrono::{DateTime, Utc};

use super::chat_settings::{ChatSettings, Pause};
use super::values::{Hour, PostingWindow, PostsPerDay, parse_time_zone};
use crate::user::Actor;

/// The columns of a settings row, in plain types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSettings {
    pub dry_run_mode: bool,
    pub enable_instagram_api: bool,
    pub is_paused: bool,
    pub paused_at: Option<DateTime<Utc>>,
    pub paused_by: Option<String>,
    pub posts_per_day: i64,
    pub posting_hours_start: i64,
    pub posting_hours_end: i64,
    pub posting_timezone: String,
}

/// A stored row that no valid [`ChatSettings`] could have produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored settings are invalid: {0}")]
pub struct CorruptSettings(String);

impl TryFrom<StoredSettings> for ChatSettings {
    type Error = CorruptSettings;

    fn try_from(row: StoredSettings) -> Result<Self, Self::Error> {
        let corrupt = |e: &dyn std::fmt::Display| CorruptSettings(e.to_string());
        let pause = match (row.is_paused, row.paused_at, row.paused_by) {
            (false, _, _) => None,
            (true, Some(at), Some(by)) => Some(Pause { at, by: by.parse::<Actor>().map_err(|e| corrupt(&e))? }),
            (true, _, _) => return Err(CorruptSettings("paused without who and when".to_owned())),
        };
        let start = Hour::try_from_i64(row.posting_hours_start).map_err(|e| corrupt(&e))?;
        let end = Hour::try_from_i64(row.posting_hours_end).map_err(|e| corrupt(&e))?;
        Ok(Self {
            dry_run: row.dry_run_mode,
            instagram_api: row.enable_instagram_api,
            pause,
            posts_per_day: PostsPerDay::try_from_i64(row.posts_per_day).map_err(|e| corrupt(&e))?,
            window: PostingWindow::new(start, end).map_err(|e| corrupt(&e))?,
            time_zone: parse_time_zone(&row.posting_timezone).map_err(|e| corrupt(&e))?,
        })
    }
}

impl From<&ChatSettings> for StoredSettings {
    fn from(settings: &ChatSettings) -> Self {
        Self {
            dry_run_mode: settings.dry_run,
            enable_instagram_api: settings.instagram_api,
            is_paused: settings.is_paused(),
            paused_at: settings.pause.as_ref().map(|p| p.at),
            paused_by: settings.pause.as_ref().map(|p| p.by.to_string()),
            posts_per_day: i64::from(settings.posts_per_day.get()),
            posting_hours_start: i64::from(settings.window.start().get()),
            posting_hours_end: i64::from(settings.window.end().get()),
            posting_timezone: settings.time_zone.name().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SettingsDefaults;

    #[test]
    fn settings_survive_the_round_trip_through_a_row() -> Result<(), CorruptSettings> {
        let settings = ChatSettings::from_defaults(&SettingsDefaults::default());
        assert_eq!(ChatSettings::try_from(StoredSettings::from(&settings))?, settings);
        Ok(())
    }

    #[test]
    fn a_corrupt_row_is_an_error_not_a_panic() {
        let mut row = StoredSettings::from(&ChatSettings::from_defaults(&SettingsDefaults::default()));
        row.posts_per_day = 500;
        assert!(ChatSettings::try_from(row.clone()).is_err());
        row.posts_per_day = 3;
        row.is_paused = true;
        assert!(ChatSettings::try_from(row).is_err());
    }
}
