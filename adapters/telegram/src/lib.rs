//! Storyline's Telegram adapter (teloxide). It only translates:
//!
//! - [`polling`]: long polling in — each `Update` becomes an [`storyline_application::bot::Incoming`]
//!   for the transport-free bot, with the intake cursor kept in the store so a restart never
//!   handles an update twice.
//! - [`webhook`]: webhook mode in — the same updates POSTed by Telegram, checked against the
//!   secret token and claimed before Telegram hears 200, so a re-delivery (to this process or
//!   another behind the same webhook) is handled once.
//! - [`notifier`]: [`storyline_domain::ports::ChatNotifier`] and
//!   [`storyline_domain::ports::ChatAdmins`] out, every message, edit and story paced by one
//!   [`pacer::Pacer`] so the whole bot keeps to Telegram's limits; `retry_after` is honoured and
//!   "message is not modified" counts as success.
//! - [`pacer`]: Telegram's limits (about 30 messages a second in all, 1 a second per chat, 20 a
//!   minute per group), waited for, nothing dropped.
//! - [`commands`]: the command menu (`setMyCommands`) from the application's command list,
//!   admin-only commands scoped to chat administrators.
//! - [`render`]: a [`storyline_domain::chat::Screen`] as HTML (every span escaped) and an inline
//!   keyboard.
//!
//! The bot token is a `SecretString` until the moment teloxide needs it, and the teloxide `Bot`
//! (whose `Debug` shows the token) is never printed.

pub mod commands;
pub mod notifier;
pub mod pacer;
pub mod polling;
pub mod render;
mod translate;
pub mod webhook;

use secrecy::{ExposeSecret, SecretString};
use teloxide::prelude::Requester;
use teloxide::{ApiError, Bot, RequestError};

pub use notifier::TelegramNotifier;
pub use pacer::Pacer;
pub use polling::{PollOutcome, PollSettings, poll};
pub use webhook::{Receipt, Webhook};

/// The teloxide bot Storyline talks through. Not teloxide's `Throttle` adaptor: what the bot
/// sends is paced by the [`TelegramNotifier`]'s [`Pacer`], one budget for messages, edits and
/// stories alike (`Throttle` paced new messages only, and retried a flood-limited upload by
/// reading its file whole into memory).
pub type TelegramBot = Bot;

/// Connects to the Bot API at `api_url` (Telegram's own when `None`; `TELEGRAM_API_URL` points
/// it at a self-hosted Bot API server or a test fake).
///
/// # Errors
/// When `api_url` is not a URL.
pub fn connect(token: &SecretString, api_url: Option<&str>) -> anyhow::Result<TelegramBot> {
    let mut bot = Bot::new(token.expose_secret());
    if let Some(url) = api_url {
        let url = url.parse().map_err(|e| anyhow::anyhow!("TELEGRAM_API_URL is not a URL: {e}"))?;
        bot = bot.set_api_url(url);
    }
    Ok(bot)
}

/// Why the bot cannot start on Telegram.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("Telegram refused TELEGRAM_BOT_TOKEN (\"{0}\"): check the token with @BotFather")]
    TokenRefused(String),
}

/// Asks Telegram who the bot is (getMe) and returns its user id. A token Telegram refuses stops
/// the start; when Telegram cannot be reached the id is read from the token (`<id>:<secret>`)
/// and polling retries until Telegram answers.
///
/// # Errors
/// [`StartError::TokenRefused`] when Telegram refuses the token (the error never holds it).
pub async fn identify(bot: &TelegramBot, token: &SecretString) -> Result<i64, StartError> {
    match bot.get_me().await {
        Ok(me) => Ok(i64::try_from(me.id.0).unwrap_or(i64::MAX)),
        Err(RequestError::Api(ApiError::InvalidToken)) => Err(StartError::TokenRefused("Unauthorized".to_owned())),
        Err(error) => {
            tracing::warn!(error = %storyline_application::errors::error_chain(&error), "could not ask Telegram who the bot is; going on");
            Ok(token_id(token))
        }
    }
}

/// The bot's id as the token says (its part before the colon); 0 for a token without one.
fn token_id(token: &SecretString) -> i64 {
    token.expose_secret().split_once(':').and_then(|(id, _)| id.parse().ok()).unwrap_or_default()
}
