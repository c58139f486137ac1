//! The settings of one workspace and the rule that changes them.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::change::{FieldChange, SettingChange, SettingKey, Toggle};
use super::values::{PostingWindow, PostsPerDay, SettingValueError};
use crate::user::Actor;

/// What a new workspace starts with (from the environment, read once at start-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsDefaults {
    pub dry_run: bool,
    pub instagram_api: bool,
    pub posts_per_day: PostsPerDay,
    pub window: PostingWindow,
    pub time_zone: Tz,
}

/// The seed's defaults: dry run on, Instagram API off, 3 posts a day from 14:00 to 02:00 UTC.
impl Default for SettingsDefaults {
    fn default() -> Self {
        Self {
            dry_run: true,
            instagram_api: false,
            posts_per_day: PostsPerDay::default(),
            window: PostingWindow::default(),
            time_zone: Tz::UTC,
        }
    }
}

/// Who paused posting, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub at: DateTime<Utc>,
    pub by: Actor,
}

/// A workspace's runtime settings. The database is their only source of truth once created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSettings {
    pub dry_run: bool,
    pub instagram_api: bool,
    /// `Some` while posting is paused.
    pub pause: Option<Pause>,
    pub posts_per_day: PostsPerDay,
    pub window: PostingWindow,
    pub time_zone: Tz,
}

/// One version of a workspace's settings in the history (valid from `valid_from` until
/// `valid_to`, or still current).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsVersion {
    /// 1 for the settings a workspace was created with, then one more per change.
    pub version: i64,
    pub settings: ChatSettings,
    pub valid_from: DateTime<Utc>,
    pub valid_to: Option<DateTime<Utc>>,
    pub changed_by: Actor,
}

impl SettingsVersion {
    /// Whether this version was in force at `at`.
    #[must_use]
    pub fn covers(&self, at: DateTime<Utc>) -> bool {
        self.valid_from <= at && self.valid_to.is_none_or(|end| at < end)
    }
}

impl ChatSettings {
    #[must_use]
    pub fn from_defaults(defaults: &SettingsDefaults) -> Self {
        Self {
            dry_run: defaults.dry_run,
            instagram_api: defaults.instagram_api,
            pause: None,
            posts_per_day: defaults.posts_per_day,
            window: defaults.window,
            time_zone: defaults.time_zone,
        }
    }

    #[must_use]
    pub const fn is_paused(&self) -> bool {
        self.pause.is_some()
    }

    #[must_use]
    pub const fn flag(&self, toggle: Toggle) -> bool {
        match toggle {
            Toggle::DryRun => self.dry_run,
            Toggle::InstagramApi => self.instagram_api,
            Toggle::Paused => self.pause.is_some(),
        }
    }

    /// The value of one setting, as the audit trail and the CLI show it.
    #[must_use]
    pub fn value_of(&self, key: SettingKey) -> String {
        match key {
            SettingKey::DryRunMode => self.dry_run.to_string(),
            SettingKey::EnableInstagramApi => self.instagram_api.to_string(),
            SettingKey::IsPaused => self.is_paused().to_string(),
            SettingKey::PostsPerDay => self.posts_per_day.get().to_string(),
            SettingKey::PostingHoursStart => self.window.start().get().to_string(),
            SettingKey::PostingHoursEnd => self.window.end().get().to_string(),
            SettingKey::PostingTimezone => self.time_zone.name().to_owned(),
        }
    }

    /// The settings after `change`, made by `actor` at `at`, and what changed (empty when the
    /// change asks for what already is).
    ///
    /// # Errors
    /// [`SettingValueError::EmptyWindow`] when moving one end of the posting window onto the
    /// other.
    pub fn apply(
        &self,
        change: SettingChange,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<(Self, Vec<FieldChange>), SettingValueError> {
        let mut next = self.clone();
        match change {
            SettingChange::Toggle(toggle) => next.set_flag(toggle, !self.flag(toggle), actor, at),
            SettingChange::Set(toggle, on) => next.set_flag(toggle, on, actor, at),
            SettingChange::PostsPerDay(posts) => next.posts_per_day = posts,
            SettingChange::HoursStart(start) => next.window = PostingWindow::new(start, self.window.end())?,
            SettingChange::HoursEnd(end) => next.window = PostingWindow::new(self.window.start(), end)?,
            SettingChange::Window(window) => next.window = window,
            SettingChange::TimeZone(zone) => next.time_zone = zone,
        }
        let changes = self.changes_to(&next);
        Ok((next, changes))
    }

    /// The fields that differ from these settings in `next`, in [`SettingKey::ALL`] order.
    pub(super) fn changes_to(&self, next: &Self) -> Vec<FieldChange> {
        SettingKey::ALL
            .into_iter()
            .filter_map(|key| {
                let (old, new) = (self.value_of(key), next.value_of(key));
                (old != new).then_some(FieldChange { key, old, new })
            })
            .collect()
    }

    fn set_flag(&mut self, toggle: Toggle, on: bool, actor: &Actor, at: DateTime<Utc>) {
        match toggle {
            Toggle::DryRun => self.dry_run = on,
            Toggle::InstagramApi => self.instagram_api = on,
            Toggle::Paused if on == self.is_paused() => {}
            Toggle::Paused if on => self.pause = Some(Pause { at, by: actor.clone() }),
            Toggle::Paused => self.pause = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::settings::values::Hour;
    use crate::user::TelegramUserId;

    fn settings() -> Result<ChatSettings, SettingValueError> {
        Ok(ChatSettings::from_defaults(&SettingsDefaults {
            dry_run: true,
            instagram_api: false,
            posts_per_day: PostsPerDay::new(3)?,
            window: PostingWindow::new(Hour::new(14)?, Hour::new(2)?)?,
            time_zone: Tz::UTC,
        }))
    }

    fn noon() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).single().unwrap_or_default()
    }

    #[test]
    fn toggling_twice_restores_the_setting() -> Result<(), SettingValueError> {
        let actor = Actor::Cli;
        let before = settings()?;
        let (once, changes) = before.apply(SettingChange::Toggle(Toggle::DryRun), &actor, noon())?;
        assert!(!once.dry_run);
        assert_eq!(changes, vec![FieldChange { key: SettingKey::DryRunMode, old: "true".into(), new: "false".into() }]);
        let (twice, _) = once.apply(SettingChange::Toggle(Toggle::DryRun), &actor, noon())?;
        assert_eq!(twice, before);
        Ok(())
    }

    #[test]
    fn pausing_records_who_and_when_and_resuming_forgets_it() -> Result<(), SettingValueError> {
        let actor = Actor::User(TelegramUserId(42));
        let (paused, _) = settings()?.apply(SettingChange::Set(Toggle::Paused, true), &actor, noon())?;
        assert_eq!(paused.pause, Some(Pause { at: noon(), by: actor.clone() }));
        let (again, changes) = paused.apply(SettingChange::Set(Toggle::Paused, true), &Actor::Cli, noon())?;
        assert!(changes.is_empty(), "pausing a paused workspace changes nothing");
        assert_eq!(again.pause, paused.pause);
        let (resumed, _) = paused.apply(SettingChange::Toggle(Toggle::Paused), &actor, noon())?;
        assert_eq!(resumed.pause, None);
        Ok(())
    }

    #[test]
    fn moving_the_window_start_onto_its_end_is_refused() -> Result<(), SettingValueError> {
        let result = settings()?.apply(SettingChange::HoursStart(Hour::new(2)?), &Actor::Cli, noon());
        assert_eq!(result, Err(SettingValueError::EmptyWindow(2)));
        Ok(())
    }

    #[test]
    fn a_new_window_records_both_ends() -> Result<(), SettingValueError> {
        let window = PostingWindow::new(Hour::new(9)?, Hour::new(17)?)?;
        let (_, changes) = settings()?.apply(SettingChange::Window(window), &Actor::Cli, noon())?;
        let keys: Vec<_> = changes.iter().map(|c| c.key).collect();
        assert_eq!(keys, vec![SettingKey::PostingHoursStart, SettingKey::PostingHoursEnd]);
        Ok(())
    }
}
