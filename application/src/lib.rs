//! Storyline's use cases, written against the domain's ports and nothing else.
//!
//! - [`settings`]: a workspace's runtime settings — get-or-create from the configured defaults,
//!   change (toggle, set, from typed input), history and "settings as of".

pub mod settings;

pub use settings::{SettingsError, SettingsService};
