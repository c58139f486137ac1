//! Storyline's use cases, written against the domain's ports and nothing else.
//!
//! - [`bot`]: the transport-free conversation: commands, menus, buttons, prompts.
//! - [`settings`]: a workspace's runtime settings — get-or-create from the configured defaults,
//!   change (toggle, set, from typed input), history and "settings as of".

pub mod bot;
pub mod settings;

pub use settings::{SettingsError, SettingsService};
