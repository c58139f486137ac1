//! Storyline's Telegram adapter (teloxide). It only translates:
//!
//! - [`polling`]: long polling in — each `Update` becomes an [`storyline_application::bot::Incoming`]
//!   for the transport-free bot, with the intake cursor kept in the store so a restart never
//!   handles an update twice.
//! - [`notifier`]: [`storyline_domain::ports::ChatNotifier`] and
//!   [`storyline_domain::ports::ChatAdmins`] out, through teloxide's `Throttle` adaptor so
//!   Telegram's limits are respected; `retry_after` is honoured and "message is not modified"
//!   counts as success.
//! - [`commands`]: the command menu (`setMyCommands`) from the application's command list,
//!   admin-only commands scoped to chat administrators.
//! - [`render`]: a [`storyline_domain::chat::Screen`] as HTML (every span escaped) and an inline
//!   keyboard.
//!
//! The bot token is a `SecretString` until the moment teloxide needs it, and the teloxide `Bot`
//! (whose `Debug` shows the token) is never printed.

pub mod commands;
pub mod notifier;
pub mod polling;
pub mod render;
mod translate;

use secrecy::{ExposeSecret, SecretString};
use teloxide::Bot;
use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::Limits;

pub use notifier::TelegramNotifier;
pub use polling::{PollSettings, poll};

/// The teloxide bot Storyline talks through: throttled to Telegram's limits.
pub type TelegramBot = Throttle<Bot>;

/// Connects to the Bot API at `api_url` (Telegram's own when `None`; `TELEGRAM_API_URL` points
/// it at a self-hosted Bot API server or a test fake). Must run inside a tokio runtime.
///
/// # Errors
/// When `api_url` is not a URL.
pub fn connect(token: &SecretString, api_url: Option<&str>) -> anyhow::Result<TelegramBot> {
    let mut bot = Bot::new(token.expose_secret());
    if let Some(url) = api_url {
        let url = url.parse().map_err(|e| anyhow::anyhow!("TELEGRAM_API_URL is not a URL: {e}"))?;
        bot = bot.set_api_url(url);
    }
    Ok(Throttle::new_spawn(bot, Limits::default()))
}
