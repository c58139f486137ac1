//! Long polling: take updates from Telegram, hand each to the bot, never one twice.

use std::sync::Arc;
use std::time::Duration;

use storyline_application::bot::Bot;
use storyline_application::errors::error_chain;
use storyline_domain::ports::UpdateCursor;
use teloxide::RequestError;
use teloxide::payloads::GetUpdatesSetters;
use teloxide::prelude::Requester;
use teloxide::types::{AllowedUpdate, Update};
use tokio::sync::watch;

use crate::TelegramBot;
use crate::translate::incoming;

/// How the poller waits.
#[derive(Debug, Clone, Copy)]
pub struct PollSettings {
    /// How long one getUpdates waits for an update (below teloxide's 17 s request timeout).
    pub long_poll: Duration,
    /// The first wait after a failure; it doubles up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for PollSettings {
    fn default() -> Self {
        Self {
            long_poll: Duration::from_secs(10),
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Polls until `shutdown` turns true. The id of the last update of each batch is written to
/// `cursor` before the batch is handled, and a shutdown waits for the batch to finish, so after a
/// restart no update is handled twice. (At most once: if the process is killed in the middle of a
/// batch, the rest of that batch is not handled. Batches are a few updates in normal use; one
/// write per batch instead of per update is what lets a burst of presses go fast.) While the database is unreachable
/// the poller keeps its place in memory and keeps going — the bot then answers each update with
/// a short error — and Telegram failures are retried with backoff. The loop never gives up.
/// `heartbeat` is called after every successful getUpdates (for `/healthz`).
pub async fn poll(
    telegram: TelegramBot,
    bot: Arc<Bot>,
    cursor: Arc<dyn UpdateCursor>,
    settings: PollSettings,
    mut shutdown: watch::Receiver<bool>,
    heartbeat: impl Fn() + Send + Sync,
) {
    let mut intake = Intake { cursor, last: None, loaded: false };
    let mut backoff = settings.backoff;
    let mut failing = false;
    tracing::info!("polling Telegram for updates");
    while !*shutdown.borrow() {
        match poll_once(&telegram, &bot, &mut intake, settings, &mut shutdown).await {
            Ok(()) => {
                heartbeat();
                if failing {
                    tracing::info!("polling recovered");
                }
                failing = false;
                backoff = settings.backoff;
            }
            Err(wait) => {
                failing = true;
                let wait = wait.unwrap_or(backoff);
                backoff = (backoff * 2).min(settings.max_backoff);
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
    tracing::info!("polling stopped");
}

/// Where the intake stands: in memory while running, in the store for the next start.
struct Intake {
    cursor: Arc<dyn UpdateCursor>,
    last: Option<i64>,
    /// Whether `last` has been read from the store (until then it may be behind).
    loaded: bool,
}

impl Intake {
    async fn offset(&mut self) -> i32 {
        if !self.loaded {
            match self.cursor.last_update().await {
                Ok(stored) => {
                    self.last = self.last.max(stored);
                    self.loaded = true;
                }
                Err(error) => {
                    tracing::warn!(error = %error_chain(&error), "could not read the update cursor; polling on")
                }
            }
        }
        self.last.map_or(0, |id| i32::try_from(id + 1).unwrap_or(i32::MAX))
    }

    /// Takes the updates not taken before, recording the last one's id first.
    async fn take(&mut self, updates: Vec<Update>) -> Vec<Update> {
        let last = self.last;
        let fresh: Vec<Update> =
            updates.into_iter().filter(|u| last.is_none_or(|last| i64::from(u.id.0) > last)).collect();
        if let Some(newest) = fresh.iter().map(|u| i64::from(u.id.0)).max() {
            if let Err(error) = self.cursor.advance(newest).await {
                tracing::warn!(error = %error_chain(&error), update_id = newest, "could not record the update cursor");
            }
            self.last = Some(newest);
        }
        fresh
    }
}

/// One getUpdates and the handling of what it brought. `Err` carries how long to wait, if
/// Telegram said.
async fn poll_once(
    telegram: &TelegramBot,
    bot: &Bot,
    intake: &mut Intake,
    settings: PollSettings,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), Option<Duration>> {
    let request = telegram
        .get_updates()
        .offset(intake.offset().await)
        .timeout(u32::try_from(settings.long_poll.as_secs()).unwrap_or(10))
        .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::ChannelPost, AllowedUpdate::CallbackQuery]);
    let updates = tokio::select! {
        result = request.into_future() => result,
        _ = shutdown.changed() => return Ok(()),
    };
    let updates = match updates {
        Ok(updates) => updates,
        Err(RequestError::RetryAfter(wait)) => return Err(Some(wait.duration())),
        Err(error) => {
            tracing::warn!(error = %error_chain(&error), "getUpdates failed");
            return Err(None);
        }
    };
    for update in intake.take(updates).await {
        if let Some(incoming) = incoming(&update) {
            bot.handle(incoming).await;
        }
    }
    Ok(())
}
