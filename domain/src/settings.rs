//! A workspace's runtime settings (FEATURES S1–S7).
//!
//! [`ChatSettings`] is the current state; [`SettingChange`] is one requested change;
//! [`ChatSettings::apply`] is the pure rule that turns a state and a change into the next state
//! plus the [`FieldChange`]s the audit trail records. Stores call `apply` inside their
//! transaction, so validation and the write can never drift apart.

mod change;
mod chat_settings;
pub mod export;
mod stored;
mod values;

pub use change::{FieldChange, SettingChange, SettingInputError, SettingKey, Toggle};
pub use chat_settings::{ChatSettings, Pause, SettingsDefaults, SettingsVersion};
pub use stored::{CorruptSettings, StoredSettings};
pub use values::{Hour, PostingWindow, PostsPerDay, SettingValueError, parse_time_zone};
