//! Storyline's use cases, written against the domain's ports and nothing else.
//!
//! - [`access`]: who may do what — one table for every command, button, answer and CLI operation.
//! - [`action`]: what a button does, and the codec of its callback data.
//! - [`command`]: the chat's commands, parsed once into a typed [`command::Command`].
//! - [`accounts`]: Instagram accounts, their tokens, the daily refresh.
//! - [`bot`]: the transport-free conversation: commands, menus, buttons, prompts.
//! - [`settings`]: a workspace's runtime settings — get-or-create from the configured defaults,
//!   change (toggle, set, from typed input), history and "settings as of".
//! - [`sources`]: each workspace's media source: show it, try and set a new one.
//! - [`library`]: index a media source, list media and categories, the category mix.
//! - [`scheduling`]: fill the queue from the library.
//! - [`posting`]: the posting wing: the loop, publishing, presses, the story screens, the queue desk.
//! - [`errors`]: errors as people see them (a sentence and a reference) and as the log keeps them.

pub mod access;
pub mod accounts;
pub mod action;
pub mod bot;
pub mod command;
mod concurrently;
pub mod errors;
pub mod library;
pub mod posting;
pub mod scheduling;
pub mod settings;
pub mod sources;

pub use settings::{SettingsError, SettingsService};
