//! Storyline's pure core.
//!
//! - [`account`]: Instagram accounts, their tokens' state, how a story was posted.
//! - [`workspace`]: the tenant — one Telegram chat the bot serves.
//! - [`settings`]: a workspace's runtime settings, the value objects that keep them valid, and the
//!   pure rule that applies one change ([`settings::ChatSettings::apply`]).
//! - [`user`]: people, their per-workspace roles, and who performed an action ([`user::Actor`]).
//! - [`audit`]: the trail of every change.
//! - [`chat`]: what the bot shows: screens of styled text and buttons.
//! - [`conversation`]: prompts waiting for a person's next message.
//! - [`init`]: the `/init` wizard a new team sets its workspace up with.
//! - [`library`]: media items, categories, the category mix and Instagram's rules for stories.
//! - [`queue`]: slots with their media, the posting history, locks.
//! - [`rate_limit`]: the token bucket behind the limits on commands and presses.
//! - [`reference`]: short references tying a message in the chat to its log line.
//! - [`schedule`]: when slots fall and which media fills them (pure).
//! - [`text`]: text from outside as every store can keep it (no NUL).
//! - [`publishing`]: the pure decisions of publishing a story through the Graph API.
//! - [`ports`]: the traits adapters implement. Every store method is scoped by [`WorkspaceId`].
//!
//! This crate does no I/O: no async runtime, no database, no network.

pub mod account;
pub mod audit;
pub mod chat;
pub mod conversation;
pub mod init;
pub mod library;
pub mod login;
pub mod ports;
pub mod publishing;
pub mod queue;
pub mod rate_limit;
pub mod reference;
pub mod schedule;
pub mod settings;
pub mod source;
pub mod text;
pub mod user;
pub mod workspace;

pub use workspace::{ChatId, Workspace, WorkspaceId};
