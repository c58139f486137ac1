//! Value objects that cannot be built invalid.

use std::fmt;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Why a value was refused. Each message says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingValueError {
    #[error("posts per day must be a whole number from 1 to 50")]
    PostsPerDayOutOfRange,
    #[error("an hour must be a whole number from 0 to 23")]
    HourOutOfRange,
    #[error("the posting window must start and end at different hours (both are {0:02}:00)")]
    EmptyWindow(u8),
    #[error("unknown time zone {0:?}: use an IANA name such as Europe/Berlin, America/New_York or UTC")]
    UnknownTimeZone(String),
}

/// How many stories a workspace posts per day: 1 to 50.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct PostsPerDay(u8);

impl PostsPerDay {
    pub const MIN: u8 = 1;
    pub const MAX: u8 = 50;

    /// # Errors
    /// [`SettingValueError::PostsPerDayOutOfRange`] outside 1–50.
    pub fn new(value: u8) -> Result<Self, SettingValueError> {
        if (Self::MIN..=Self::MAX).contains(&value) {
            Ok(Self(value))
        } else {
            Err(SettingValueError::PostsPerDayOutOfRange)
        }
    }

    /// From any integer a store or a user may hand over.
    ///
    /// # Errors
    /// [`SettingValueError::PostsPerDayOutOfRange`] outside 1–50.
    pub fn try_from_i64(value: i64) -> Result<Self, SettingValueError> {
        u8::try_from(value).map_err(|_| SettingValueError::PostsPerDayOutOfRange).and_then(Self::new)
    }

    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }
}

/// The seed's default: three stories a day.
impl Default for PostsPerDay {
    fn default() -> Self {
        Self(3)
    }
}

impl TryFrom<u8> for PostsPerDay {
    type Error = SettingValueError;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<PostsPerDay> for u8 {
    fn from(value: PostsPerDay) -> Self {
        value.0
    }
}

impl fmt::Display for PostsPerDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An hour of the day, 0 to 23, in the workspace's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Hour(u8);

impl Hour {
    /// # Errors
    /// [`SettingValueError::HourOutOfRange`] above 23.
    pub fn new(value: u8) -> Result<Self, SettingValueError> {
        if value <= 23 { Ok(Self(value)) } else { Err(SettingValueError::HourOutOfRange) }
    }

    /// # Errors
    /// [`SettingValueError::HourOutOfRange`] outside 0–23.
    pub fn try_from_i64(value: i64) -> Result<Self, SettingValueError> {
        u8::try_from(value).map_err(|_| SettingValueError::HourOutOfRange).and_then(Self::new)
    }

    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Hour {
    type Error = SettingValueError;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Hour> for u8 {
    fn from(value: Hour) -> Self {
        value.0
    }
}

impl fmt::Display for Hour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:00", self.0)
    }
}

/// The daily posting window `[start, end)`. It may wrap midnight (`22`–`2`); it is never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PostingWindow {
    start: Hour,
    end: Hour,
}

impl PostingWindow {
    /// # Errors
    /// [`SettingValueError::EmptyWindow`] when `start == end`.
    pub fn new(start: Hour, end: Hour) -> Result<Self, SettingValueError> {
        if start == end { Err(SettingValueError::EmptyWindow(start.get())) } else { Ok(Self { start, end }) }
    }

    #[must_use]
    pub const fn start(&self) -> Hour {
        self.start
    }

    #[must_use]
    pub const fn end(&self) -> Hour {
        self.end
    }

    /// Whether the window runs past midnight (`end` before `start`).
    #[must_use]
    pub fn wraps_midnight(&self) -> bool {
        self.end < self.start
    }

    /// The window's length in whole hours, 1 to 23.
    #[must_use]
    pub fn hours(&self) -> u8 {
        (self.end.get() + 24 - self.start.get()) % 24
    }

    /// Whether `hour` falls inside the window.
    #[must_use]
    pub fn contains(&self, hour: Hour) -> bool {
        if self.wraps_midnight() {
            hour >= self.start || hour < self.end
        } else {
            hour >= self.start && hour < self.end
        }
    }
}

/// The seed's default: 14:00 to 02:00.
impl Default for PostingWindow {
    fn default() -> Self {
        Self { start: Hour(14), end: Hour(2) }
    }
}

impl fmt::Display for PostingWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", self.start, self.end)
    }
}

/// An IANA time zone name, as a user or the environment typed it.
///
/// # Errors
/// [`SettingValueError::UnknownTimeZone`] for anything that is not an IANA name.
/// Matched without regard to case (`europe/berlin` is Europe/Berlin): IANA names differ by more
/// than case only, and chrono-tz's own case-insensitive parser would rebuild its tables at build
/// time for what one pass over its ~600 names does.
pub fn parse_time_zone(input: &str) -> Result<Tz, SettingValueError> {
    let trimmed = input.trim();
    trimmed
        .parse::<Tz>()
        .ok()
        .or_else(|| chrono_tz::TZ_VARIANTS.iter().copied().find(|tz| tz.name().eq_ignore_ascii_case(trimmed)))
        .ok_or_else(|| SettingValueError::UnknownTimeZone(truncate(trimmed, 64)))
}

/// Cuts untrusted input before echoing it back, so a huge message cannot become a huge reply.
pub(crate) fn truncate(input: &str, max_chars: usize) -> String {
    if input.chars().count() <= max_chars {
        input.to_owned()
    } else {
        let mut cut: String = input.chars().take(max_chars).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_per_day_accepts_only_one_to_fifty() {
        assert!(PostsPerDay::new(0).is_err());
        assert_eq!(PostsPerDay::new(1).map(PostsPerDay::get), Ok(1));
        assert_eq!(PostsPerDay::new(50).map(PostsPerDay::get), Ok(50));
        assert!(PostsPerDay::new(51).is_err());
        assert!(PostsPerDay::try_from_i64(-1).is_err());
        assert!(PostsPerDay::try_from_i64(99_999_999_999).is_err());
    }

    #[test]
    fn an_hour_is_zero_to_twenty_three() {
        assert!(Hour::new(0).is_ok());
        assert!(Hour::new(23).is_ok());
        assert_eq!(Hour::new(24), Err(SettingValueError::HourOutOfRange));
        assert!(Hour::try_from_i64(-3).is_err());
    }

    #[test]
    fn a_window_that_wraps_midnight_contains_the_late_and_the_early_hours() -> Result<(), SettingValueError> {
        let window = PostingWindow::new(Hour::new(22)?, Hour::new(2)?)?;
        assert!(window.wraps_midnight());
        assert_eq!(window.hours(), 4);
        assert!(window.contains(Hour::new(23)?));
        assert!(window.contains(Hour::new(1)?));
        assert!(!window.contains(Hour::new(2)?));
        assert!(!window.contains(Hour::new(12)?));
        Ok(())
    }

    #[test]
    fn an_empty_window_is_refused() -> Result<(), SettingValueError> {
        let nine = Hour::new(9)?;
        assert_eq!(PostingWindow::new(nine, nine), Err(SettingValueError::EmptyWindow(9)));
        Ok(())
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert!(parse_time_zone("Europe/Berlin").is_ok());
        assert!(parse_time_zone(" UTC ").is_ok());
        assert_eq!(parse_time_zone("europe/berlin"), Ok(Tz::Europe__Berlin));
        assert_eq!(parse_time_zone("AMERICA/NEW_YORK"), Ok(Tz::America__New_York));
        assert_eq!(parse_time_zone("utc"), Ok(Tz::UTC));
        assert!(matches!(parse_time_zone("Mars/Olympus"), Err(SettingValueError::UnknownTimeZone(_))));
    }
}
