//! Long polling: take updates from Telegram, hand each to its chat's queue, never one twice.
//!
//! - [`intake`]: the offset, so that Telegram forgets an update only once it was taken.
//! - [`chats`]: one queue and task per chat: chats are handled at once, each in order.

pub(crate) mod chats;
pub(crate) mod claims;
pub(crate) mod intake;

use std::sync::Arc;
use std::time::Duration;

use storyline_application::bot::Bot;
use storyline_application::errors::error_chain;
use storyline_domain::ports::UpdateCursor;
use teloxide::RequestError;
use teloxide::payloads::GetUpdatesSetters;
use teloxide::prelude::Requester;
use tokio::sync::watch;

use crate::TelegramBot;
use crate::translate::incoming;
use chats::{Chats, Handling};
use claims::Claims;
use intake::Intake;

/// How long the poller waits for a busy chat to take an update before it asks Telegram again.
const BUSY_WAIT: Duration = Duration::from_millis(250);
/// How often updates taken more than [`KEEP_CLAIMS`] ago are forgotten.
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);
/// Telegram keeps an update for a day; a record of having taken it is not needed longer.
const KEEP_CLAIMS: chrono::TimeDelta = chrono::TimeDelta::days(1);

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

/// What one getUpdates came to, for `/healthz`: `Ok` when Telegram answered, else the error
/// (teloxide keeps the token out of it).
pub type PollOutcome<'a> = Result<(), &'a str>;

/// Polls until `shutdown` turns true, as bot `bot_id` (its Telegram user id, from getMe).
///
/// Each update goes to its chat's queue; chats are handled concurrently, each in order. Before
/// an update is handled it is claimed in `cursor` ([`UpdateCursor::claim`]), and Telegram is
/// told to forget only updates that were claimed; so a bot killed at any moment loses at most
/// the updates being handled at that moment (one per chat), and after a restart none is handled
/// twice. A shutdown waits for the updates being handled; the queued rest stay with Telegram.
/// While the database is unreachable the poller keeps going (the bot then answers each update
/// with a short error), and Telegram failures are retried with backoff. The loop never gives up.
/// `report` hears how every getUpdates went.
pub async fn poll(
    telegram: TelegramBot,
    bot: Arc<Bot>,
    cursor: Arc<dyn UpdateCursor>,
    bot_id: i64,
    settings: PollSettings,
    mut shutdown: watch::Receiver<bool>,
    report: impl Fn(PollOutcome<'_>) + Send + Sync,
) {
    let mut intake = Intake::new(cursor.clone());
    let mut chats = Chats::new(Handling {
        bot,
        claims: Claims::start(cursor.clone(), bot_id),
        waiting: intake.waiting.clone(),
        shutdown: shutdown.clone(),
    });
    let mut backoff = settings.backoff;
    let mut failing = false;
    let mut pruned: Option<std::time::Instant> = None;
    tracing::info!("polling Telegram for updates");
    while !*shutdown.borrow() {
        if pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) && !chats.database_is_down() {
            pruned = Some(std::time::Instant::now());
            prune(cursor.as_ref()).await;
        }
        match poll_once(&telegram, &mut intake, &mut chats, settings, &mut shutdown).await {
            Ok(()) => {
                report(Ok(()));
                if failing {
                    tracing::info!("polling recovered");
                }
                failing = false;
                backoff = settings.backoff;
            }
            Err(Failed { error, wait }) => {
                report(Err(&error));
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
    let down = chats.database_is_down();
    chats.finish().await;
    if !down {
        intake.save(true).await;
    }
    tracing::info!("polling stopped");
}

async fn prune(cursor: &dyn UpdateCursor) {
    match cursor.forget_claims_before(chrono::Utc::now() - KEEP_CLAIMS).await {
        Ok(0) => {}
        Ok(forgotten) => tracing::debug!(forgotten, "forgot updates taken over a day ago"),
        Err(error) => tracing::warn!(error = %error_chain(&error), "could not forget old updates"),
    }
}

/// A getUpdates that failed: what went wrong, and how long Telegram asked to wait, if it did.
struct Failed {
    error: String,
    wait: Option<Duration>,
}

/// One getUpdates and the queueing of what it brought.
async fn poll_once(
    telegram: &TelegramBot,
    intake: &mut Intake,
    chats: &mut Chats,
    settings: PollSettings,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), Failed> {
    let offset = i32::try_from(intake.offset(!chats.database_is_down()).await).unwrap_or(i32::MAX);
    // With updates still queued here Telegram answers at once anyway; do not wait for more.
    let long_poll = if intake.waiting.is_empty() { settings.long_poll.as_secs() } else { 0 };
    let request = telegram
        .get_updates()
        .offset(offset)
        .timeout(u32::try_from(long_poll).unwrap_or(10))
        .allowed_updates(crate::translate::allowed_updates());
    let updates = tokio::select! {
        result = request.into_future() => result,
        _ = shutdown.changed() => return Ok(()),
    };
    let updates = match updates {
        Ok(updates) => updates,
        Err(RequestError::RetryAfter(wait)) => {
            return Err(Failed { error: "Telegram asked to retry later".to_owned(), wait: Some(wait.duration()) });
        }
        Err(error) => {
            let error = error_chain(&error);
            tracing::warn!(%error, "getUpdates failed");
            return Err(Failed { error, wait: None });
        }
    };
    for update in intake.fresh(updates) {
        if let Some(incoming) = incoming(&update) {
            chats.dispatch(i64::from(update.id.0), incoming);
        }
    }
    // Telegram keeps what is queued here (the offset stays at the oldest of it) and would answer
    // with it at once: give the chats a moment to take it. Another chat's new update is then seen
    // within that moment, however long a busy chat's queue.
    intake.waiting.until_taken(BUSY_WAIT, shutdown).await;
    if !chats.database_is_down() {
        intake.save(false).await;
    }
    Ok(())
}
