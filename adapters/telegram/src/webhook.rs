//! Webhook mode: Telegram POSTs each update to `WEBHOOK_URL`; the HTTP server hands the request
//! here ([`Webhook::receive`]) and answers with what it says.
//!
//! An update is claimed in the store ([`UpdateCursor::claim`], batched with the other requests
//! of the moment) before Telegram hears 200, and handled after, in its chat's queue like a polled
//! one. Telegram sends an update again when it got no 200 in time, and with several processes
//! behind one webhook any of them may get it: the claim, one row per update in the shared
//! database, makes every copy after the first a no-op, whichever process receives it.
//!
//! The secret token (`X-Telegram-Bot-Api-Secret-Token`) is compared in constant time, as
//! SHA-256 digests so that not even its length shows; a request without it, or with another,
//! is refused before its body is read.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use storyline_application::bot::Bot;
use storyline_application::errors::error_chain;
use storyline_domain::ports::UpdateCursor;
use subtle::ConstantTimeEq;
use teloxide::payloads::SetWebhookSetters;
use teloxide::prelude::Requester;
use teloxide::types::Update;
use tokio::sync::watch;

use crate::TelegramBot;
use crate::polling::chats::{Chats, Handling};
use crate::polling::claims::Claims;
use crate::translate::incoming;

/// The largest request body taken. Telegram's updates are a few kilobytes (a message's text is
/// at most 4,096 characters, with entities and the replied-to message around it).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// How many connections Telegram may open to deliver updates at once (its default, 40).
const MAX_CONNECTIONS: u8 = 40;

/// What became of one webhook request, and the HTTP status it is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// Claimed now and queued for its chat: 200.
    Accepted,
    /// Claimed before (a re-delivery, here or on another process): 200, nothing done.
    Duplicate,
    /// An update of a kind the bot does not serve: 200, nothing done.
    Ignored,
    /// No secret token, or another one: 401, nothing read.
    Unauthorized,
    /// Not a Telegram update: 400.
    Malformed,
    /// Its chat already has a full queue: 503, and Telegram sends it again later.
    Busy,
}

impl Receipt {
    /// The HTTP status Telegram is answered with.
    #[must_use]
    pub const fn status(self) -> u16 {
        match self {
            Self::Accepted | Self::Duplicate | Self::Ignored => 200,
            Self::Unauthorized => 401,
            Self::Malformed => 400,
            Self::Busy => 503,
        }
    }
}

/// Counts for `/healthz`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WebhookCounts {
    pub accepted: u64,
    pub duplicates: u64,
    pub unauthorized: u64,
    pub malformed: u64,
    pub busy: u64,
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    unauthorized: AtomicU64,
    malformed: AtomicU64,
    busy: AtomicU64,
}

/// The secret token, kept as its SHA-256 digest and compared in constant time.
struct SecretCheck([u8; 32]);

impl SecretCheck {
    fn new(secret: &SecretString) -> Self {
        Self(digest(secret.expose_secret().as_bytes()))
    }

    fn matches(&self, given: Option<&[u8]>) -> bool {
        given.is_some_and(|given| bool::from(digest(given).ct_eq(&self.0)))
    }
}

/// The receiving end of the webhook: checks, claims, queues.
pub struct Webhook {
    secret: SecretCheck,
    bot: Arc<Bot>,
    claims: Claims,
    /// `None` once [`Self::finish`] ran: later requests are refused as busy.
    chats: Mutex<Option<Chats>>,
    counters: Counters,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("counts", &self.counts()).finish_non_exhaustive()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Webhook {
    /// Receives for bot `bot_id` (its Telegram user id), expecting `secret` in every request.
    /// Must run inside a tokio runtime (the claims' batching task starts here).
    #[must_use]
    pub fn start(bot: Arc<Bot>, cursor: Arc<dyn UpdateCursor>, bot_id: i64, secret: &SecretString) -> Arc<Self> {
        let claims = Claims::start(cursor, bot_id);
        // Every update queued here was claimed already: the chats' tasks handle all of them,
        // even while shutting down (a shutdown that skipped them would lose them). Nothing ever
        // sends on this channel, so its value stays `false`.
        let (_never, shutdown) = watch::channel(false);
        let chats =
            Chats::new(Handling { bot: bot.clone(), claims: claims.clone(), waiting: Arc::default(), shutdown });
        Arc::new(Self {
            secret: SecretCheck::new(secret),
            bot,
            claims,
            chats: Mutex::new(Some(chats)),
            counters: Counters::default(),
        })
    }

    /// Whether `header` (the `X-Telegram-Bot-Api-Secret-Token` value) is the secret, in constant
    /// time.
    #[must_use]
    pub fn authorized(&self, header: Option<&[u8]>) -> bool {
        self.secret.matches(header)
    }

    /// One webhook request: `header` its secret token, `body` its JSON.
    pub async fn receive(&self, header: Option<&[u8]>, body: &[u8]) -> Receipt {
        let receipt = self.take(header, body).await;
        let counter = match receipt {
            Receipt::Accepted => &self.counters.accepted,
            Receipt::Duplicate | Receipt::Ignored => &self.counters.duplicates,
            Receipt::Unauthorized => &self.counters.unauthorized,
            Receipt::Malformed => &self.counters.malformed,
            Receipt::Busy => &self.counters.busy,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        receipt
    }

    async fn take(&self, header: Option<&[u8]>, body: &[u8]) -> Receipt {
        if !self.authorized(header) {
            return Receipt::Unauthorized;
        }
        let update: Update = match serde_json::from_slice(body) {
            Ok(update) => update,
            Err(error) => {
                tracing::warn!(%error, bytes = body.len(), "a webhook request that is not an update");
                return Receipt::Malformed;
            }
        };
        let update_id = i64::from(update.id.0);
        let Some(incoming) = incoming(&update) else { return Receipt::Ignored };
        let place = {
            let mut chats = self.chats.lock().unwrap_or_else(PoisonError::into_inner);
            chats.as_mut().and_then(|chats| chats.reserve(incoming.chat))
        };
        let Some(place) = place else {
            tracing::warn!(chat_id = %incoming.chat, update_id, "this chat's queue is full; Telegram will send the update again");
            return Receipt::Busy;
        };
        if self.bot.database_is_down() {
            // Nothing can be recorded; the bot answers at once that the database is down, as
            // when polling.
            place.fill(update_id, incoming);
            return Receipt::Accepted;
        }
        match self.claims.claim(update_id).await {
            Ok(true) => {
                place.fill(update_id, incoming);
                Receipt::Accepted
            }
            Ok(false) => {
                tracing::debug!(update_id, "update handled before; skipped");
                Receipt::Duplicate
            }
            Err(error) => {
                // The store is probably down: the bot answers (it says so), as when polling.
                tracing::warn!(%error, update_id, "could not record the update");
                place.fill(update_id, incoming);
                Receipt::Accepted
            }
        }
    }

    /// What was received so far.
    #[must_use]
    pub fn counts(&self) -> WebhookCounts {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        WebhookCounts {
            accepted: read(&self.counters.accepted),
            duplicates: read(&self.counters.duplicates),
            unauthorized: read(&self.counters.unauthorized),
            malformed: read(&self.counters.malformed),
            busy: read(&self.counters.busy),
        }
    }

    /// Stops taking updates (later requests get 503, so Telegram keeps them for another
    /// process or the next start) and waits for the ones queued to be handled.
    pub async fn finish(&self) {
        let chats = self.chats.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(chats) = chats {
            chats.finish().await;
        }
    }
}

/// Why setWebhook did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Telegram said no (a URL it cannot use, for one); its description.
    #[error("Telegram refused WEBHOOK_URL: {0}")]
    Refused(String),
    /// Telegram did not answer; the cause chain, without the token.
    #[error("Telegram could not be reached: {0}")]
    Unreachable(String),
}

/// Tells Telegram to deliver updates to `url` with `secret` (setWebhook). Updates waiting with
/// Telegram are kept, not dropped.
///
/// # Errors
/// [`WebhookError`], in one line without the token.
pub async fn set_webhook(telegram: &TelegramBot, url: &str, secret: &SecretString) -> Result<(), WebhookError> {
    let url = url::Url::parse(url).map_err(|error| WebhookError::Refused(format!("not a URL ({error})")))?;
    telegram
        .set_webhook(url)
        .secret_token(secret.expose_secret())
        .allowed_updates(crate::translate::allowed_updates())
        .max_connections(MAX_CONNECTIONS)
        .drop_pending_updates(false)
        .await
        .map(|_| ())
        .map_err(|error| match error {
            teloxide::RequestError::Api(api) => WebhookError::Refused(api.to_string()),
            other => WebhookError::Unreachable(error_chain(&other)),
        })
}

/// What Telegram says of the webhook (getWebhookInfo), for `/healthz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookInfo {
    /// The URL updates go to; empty when none is set.
    pub url: String,
    pub pending_updates: u32,
    /// Telegram's last delivery error, if the last delivery failed.
    pub last_error: Option<String>,
}

/// Asks Telegram where updates go (getWebhookInfo).
///
/// # Errors
/// Telegram's refusal or the network failure, in one line without the token.
pub async fn webhook_info(telegram: &TelegramBot) -> Result<WebhookInfo, String> {
    let info = telegram.get_webhook_info().await.map_err(|error| error_chain(&error))?;
    Ok(WebhookInfo {
        url: info.url.map(|url| url.to_string()).unwrap_or_default(),
        pending_updates: info.pending_update_count,
        last_error: info.last_error_message,
    })
}

/// Removes the webhook, keeping the updates waiting, so that getUpdates works (long polling
/// after a run in webhook mode; Telegram refuses getUpdates while a webhook is set).
///
/// # Errors
/// Telegram's refusal or the network failure, in one line without the token.
pub async fn delete_webhook(telegram: &TelegramBot) -> Result<(), String> {
    use teloxide::payloads::DeleteWebhookSetters;
    telegram.delete_webhook().drop_pending_updates(false).await.map(|_| ()).map_err(|error| error_chain(&error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_secret_passes() {
        let check = SecretCheck::new(&SecretString::from("s3cret-Token_1".to_owned()));
        assert!(check.matches(Some(b"s3cret-Token_1")));
        for wrong in [&b""[..], b"s3cret-Token_", b"s3cret-Token_12", b"S3cret-Token_1", b"s3cret-Token_1 "] {
            assert!(!check.matches(Some(wrong)), "{}", String::from_utf8_lossy(wrong));
        }
        assert!(!check.matches(None), "no header, no entry");
    }

    #[test]
    fn receipts_answer_telegram_with_the_right_status() {
        assert_eq!(Receipt::Accepted.status(), 200);
        assert_eq!(Receipt::Duplicate.status(), 200, "a re-delivery is not sent a third time");
        assert_eq!(Receipt::Unauthorized.status(), 401);
        assert_eq!(Receipt::Malformed.status(), 400);
        assert_eq!(Receipt::Busy.status(), 503, "Telegram sends it again later");
    }
}
