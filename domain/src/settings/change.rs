//! One requested change to a workspace's settings, and how typed input becomes one.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::values::{Hour, PostingWindow, PostsPerDay, SettingValueError, parse_time_zone, truncate};

/// The settings a person can name, by the names the CLI and the audit trail use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingKey {
    DryRunMode,
    EnableInstagramApi,
    IsPaused,
    PostsPerDay,
    PostingHoursStart,
    PostingHoursEnd,
    PostingTimezone,
}

impl SettingKey {
    /// Whether a change of this setting moves the slots of the queue (posts/day, posting hours,
    /// time zone).
    #[must_use]
    pub const fn shapes_the_schedule(self) -> bool {
        matches!(self, Self::PostsPerDay | Self::PostingHoursStart | Self::PostingHoursEnd | Self::PostingTimezone)
    }

    pub const ALL: [Self; 7] = [
        Self::DryRunMode,
        Self::EnableInstagramApi,
        Self::IsPaused,
        Self::PostsPerDay,
        Self::PostingHoursStart,
        Self::PostingHoursEnd,
        Self::PostingTimezone,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DryRunMode => "dry_run_mode",
            Self::EnableInstagramApi => "enable_instagram_api",
            Self::IsPaused => "is_paused",
            Self::PostsPerDay => "posts_per_day",
            Self::PostingHoursStart => "posting_hours_start",
            Self::PostingHoursEnd => "posting_hours_end",
            Self::PostingTimezone => "posting_timezone",
        }
    }

    /// The allowed names, comma-separated, for error messages.
    #[must_use]
    pub fn allowed() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl fmt::Display for SettingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SettingKey {
    type Err = SettingInputError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let wanted = input.trim();
        Self::ALL
            .into_iter()
            .find(|key| key.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| SettingInputError::UnknownKey(truncate(wanted, 64)))
    }
}

/// The three on/off settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Toggle {
    DryRun,
    InstagramApi,
    Paused,
}

impl Toggle {
    #[must_use]
    pub const fn key(self) -> SettingKey {
        match self {
            Self::DryRun => SettingKey::DryRunMode,
            Self::InstagramApi => SettingKey::EnableInstagramApi,
            Self::Paused => SettingKey::IsPaused,
        }
    }
}

/// One change a person asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SettingChange {
    /// Flip an on/off setting relative to its value at the moment the store applies it, so two
    /// fast presses are two flips.
    Toggle(Toggle),
    /// Set an on/off setting to a value (`/pause`, `/dryrun on`); a no-op when already so.
    Set(Toggle, bool),
    PostsPerDay(PostsPerDay),
    HoursStart(Hour),
    HoursEnd(Hour),
    Window(PostingWindow),
    TimeZone(Tz),
}

impl SettingChange {
    /// A change from a setting name and a typed value, as `settings set KEY VALUE` takes them.
    ///
    /// # Errors
    /// [`SettingInputError`] saying what is allowed for that key.
    pub fn parse(key: SettingKey, value: &str) -> Result<Self, SettingInputError> {
        let value = value.trim();
        match key {
            SettingKey::DryRunMode => parse_bool(key, value).map(|on| Self::Set(Toggle::DryRun, on)),
            SettingKey::EnableInstagramApi => parse_bool(key, value).map(|on| Self::Set(Toggle::InstagramApi, on)),
            SettingKey::IsPaused => parse_bool(key, value).map(|on| Self::Set(Toggle::Paused, on)),
            SettingKey::PostsPerDay => parse_whole(key, value, "1 to 50")
                .and_then(|n| PostsPerDay::try_from_i64(n).map_err(|_| out_of_range(key, value, "1 to 50")))
                .map(Self::PostsPerDay),
            SettingKey::PostingHoursStart => parse_hour(key, value).map(Self::HoursStart),
            SettingKey::PostingHoursEnd => parse_hour(key, value).map(Self::HoursEnd),
            SettingKey::PostingTimezone => parse_time_zone(value).map(Self::TimeZone).map_err(SettingInputError::Value),
        }
    }
}

/// One setting's old and new value, as the audit trail records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub key: SettingKey,
    pub old: String,
    pub new: String,
}

/// Why typed input could not become a [`SettingChange`]. Each message says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingInputError {
    #[error("unknown setting {0:?}: use one of {allowed}", allowed = SettingKey::allowed())]
    UnknownKey(String),
    #[error("{key} must be true or false (on/off), not {got:?}")]
    NotABool { key: SettingKey, got: String },
    #[error("{key} must be a whole number from {allowed}, not {got:?}")]
    NotAWholeNumber { key: SettingKey, allowed: &'static str, got: String },
    #[error(transparent)]
    Value(#[from] SettingValueError),
}

fn parse_bool(key: SettingKey, value: &str) -> Result<bool, SettingInputError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" => Ok(true),
        "false" | "off" | "no" => Ok(false),
        _ => Err(SettingInputError::NotABool { key, got: truncate(value, 32) }),
    }
}

fn parse_whole(key: SettingKey, value: &str, allowed: &'static str) -> Result<i64, SettingInputError> {
    value.parse::<i64>().map_err(|_| out_of_range(key, value, allowed))
}

fn parse_hour(key: SettingKey, value: &str) -> Result<Hour, SettingInputError> {
    parse_whole(key, value, "0 to 23")
        .and_then(|n| Hour::try_from_i64(n).map_err(|_| out_of_range(key, value, "0 to 23")))
}

fn out_of_range(key: SettingKey, value: &str, allowed: &'static str) -> SettingInputError {
    SettingInputError::NotAWholeNumber { key, allowed, got: truncate(value, 32) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(key: &str, value: &str) -> Result<SettingChange, SettingInputError> {
        SettingChange::parse(key.parse()?, value)
    }

    #[test]
    fn every_bad_value_is_refused_with_what_is_allowed() {
        for (key, value, expected) in [
            ("posts_per_day", "0", "from 1 to 50"),
            ("posts_per_day", "51", "from 1 to 50"),
            ("posts_per_day", "abc", "from 1 to 50"),
            ("posts_per_day", "99999999999", "from 1 to 50"),
            ("posts_per_day", "99999999999999999999999", "from 1 to 50"),
            ("posts_per_day", "", "from 1 to 50"),
            ("posts_per_day", "🎉", "from 1 to 50"),
            ("posts_per_day", "true", "from 1 to 50"),
            ("posting_hours_start", "24", "from 0 to 23"),
            ("posting_hours_end", "-1", "from 0 to 23"),
            ("dry_run_mode", "7", "true or false"),
            ("is_paused", "", "true or false"),
            ("posting_timezone", "Mars/Olympus", "IANA name"),
            ("colour", "red", "use one of dry_run_mode"),
        ] {
            let error = parse(key, value).expect_err(value).to_string();
            assert!(error.contains(expected), "{key}={value:?}: {error}");
        }
    }

    #[test]
    fn good_values_become_changes() -> Result<(), SettingInputError> {
        assert_eq!(parse("posts_per_day", " 7 ")?, SettingChange::PostsPerDay(PostsPerDay::new(7)?));
        assert_eq!(parse("DRY_RUN_MODE", "off")?, SettingChange::Set(Toggle::DryRun, false));
        assert_eq!(parse("posting_hours_end", "0")?, SettingChange::HoursEnd(Hour::new(0)?));
        assert_eq!(parse("posting_timezone", "Europe/Berlin")?, SettingChange::TimeZone(Tz::Europe__Berlin));
        Ok(())
    }

    #[test]
    fn echoed_input_is_cut_short() {
        let long = "x".repeat(10_000);
        let error = parse("posts_per_day", &long).expect_err("too long").to_string();
        assert!(error.len() < 200, "{error}");
    }
}
