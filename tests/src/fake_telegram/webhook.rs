//! Webhook delivery, as Telegram does it: after setWebhook, pushed updates are POSTed to the
//! webhook with the secret token in `X-Telegram-Bot-Api-Secret-Token`, at most
//! `max_connections` at once; an update is forgotten once answered 2xx and sent again
//! (after a short wait) when not. getUpdates is refused with 409 meanwhile, as by Telegram.
//!
//! The webhook URL is public HTTPS; the fake delivers to the server a test names instead
//! ([`FakeTelegram::deliver_to`]), with the URL's path, as a TLS reverse proxy in front of it
//! would.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::methods::{Answer, Refusal, int};
use super::{FakeTelegram, Shared};

/// Telegram's default for `max_connections`.
const DEFAULT_CONNECTIONS: usize = 40;
/// How long a failed delivery waits before it is sent again (Telegram waits longer).
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// The webhook as set.
#[derive(Debug, Clone)]
pub(super) struct Hook {
    pub(super) url: String,
    pub(super) secret: Option<String>,
    pub(super) max_connections: usize,
}

/// What the delivery side keeps.
#[derive(Debug, Default)]
pub(super) struct Delivery {
    pub(super) hook: Option<Hook>,
    /// Where requests really go (scheme and authority), in place of the URL's.
    pub(super) target: Option<String>,
    /// Several targets, taken in turn (replicas behind a load balancer).
    pub(super) targets: Vec<String>,
    next_target: usize,
    /// Every `n`th update is delivered a second time after its first 200.
    pub(super) redeliver_every: Option<i64>,
    in_flight: HashSet<i64>,
    /// Each delivery attempt: the update id and the status (0: no answer).
    pub(super) attempts: Vec<(i64, u16)>,
    pub(super) last_error: Option<String>,
}

/// setWebhook, checked as Telegram checks it.
pub(super) fn set(shared: &Shared, params: &Value) -> Answer {
    let url = params["url"].as_str().unwrap_or_default().to_owned();
    if url.is_empty() {
        shared.update(|state| state.delivery.hook = None);
        return Ok(json!(true));
    }
    if !url.starts_with("https://") {
        return Err(Refusal::bad_request("Bad Request: bad webhook: An HTTPS URL must be provided for webhook"));
    }
    let secret = params["secret_token"].as_str().map(ToOwned::to_owned);
    if secret.as_ref().is_some_and(|secret| {
        secret.is_empty()
            || secret.len() > 256
            || !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }) {
        return Err(Refusal::bad_request("Bad Request: secret token contains unallowed characters"));
    }
    let max_connections = int(params, "max_connections")
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| (1..=100).contains(n))
        .unwrap_or(DEFAULT_CONNECTIONS);
    shared.update(|state| state.delivery.hook = Some(Hook { url, secret, max_connections }));
    shared.pushed.notify_waiters();
    Ok(json!(true))
}

/// deleteWebhook; `drop_pending_updates` forgets what waits.
pub(super) fn delete(shared: &Shared, params: &Value) -> Answer {
    let drop = params["drop_pending_updates"].as_bool().unwrap_or(false) || params["drop_pending_updates"] == "true";
    shared.update(|state| {
        state.delivery.hook = None;
        if drop {
            state.pending.clear();
        }
    });
    Ok(json!(true))
}

/// getWebhookInfo.
pub(super) fn info(shared: &Shared) -> Answer {
    let state = shared.read();
    let mut info = json!({
        "url": state.delivery.hook.as_ref().map(|hook| hook.url.clone()).unwrap_or_default(),
        "has_custom_certificate": false,
        "pending_update_count": state.pending.len(),
    });
    if let Some(hook) = &state.delivery.hook {
        info["max_connections"] = json!(hook.max_connections);
        info["allowed_updates"] = json!(["message", "channel_post", "callback_query", "my_chat_member"]);
    }
    if let Some(error) = &state.delivery.last_error {
        info["last_error_date"] = json!(super::state::now());
        info["last_error_message"] = json!(error);
    }
    Ok(info)
}

/// getUpdates while a webhook is set: Telegram's 409.
pub(super) fn refuses_get_updates(shared: &Shared) -> Option<Refusal> {
    shared.read().delivery.hook.is_some().then(|| {
        Refusal::conflict("Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
    })
}

/// One update to send: where, with which secret, and whether to send it twice.
struct Due {
    update: Value,
    id: i64,
    url: String,
    secret: Option<String>,
    twice: bool,
}

/// The delivery task: runs for the fake's life.
pub(super) async fn deliver(shared: Arc<Shared>, client: reqwest::Client) {
    loop {
        let pushed = shared.pushed.notified();
        let mut pushed = std::pin::pin!(pushed);
        pushed.as_mut().enable();
        let due = take_due(&shared);
        if due.is_empty() {
            tokio::select! {
                () = pushed => {}
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
            continue;
        }
        for due in due {
            tokio::spawn(send(shared.clone(), client.clone(), due));
        }
    }
}

/// The pending updates not being sent, up to the free connections, marked as being sent.
fn take_due(shared: &Shared) -> Vec<Due> {
    let mut state = shared.read();
    let state = &mut *state;
    let Some(hook) = state.delivery.hook.clone() else { return Vec::new() };
    let free = hook.max_connections.saturating_sub(state.delivery.in_flight.len());
    let mut due = Vec::new();
    for update in &state.pending {
        if due.len() >= free {
            break;
        }
        let Some(id) = update["update_id"].as_i64() else { continue };
        if state.delivery.in_flight.contains(&id) {
            continue;
        }
        let base = if state.delivery.targets.is_empty() {
            state.delivery.target.clone()
        } else {
            let base = state.delivery.targets[state.delivery.next_target % state.delivery.targets.len()].clone();
            state.delivery.next_target += 1;
            Some(base)
        };
        let Some(base) = base else { return Vec::new() };
        let path = hook.url.splitn(4, '/').nth(3).unwrap_or_default();
        due.push(Due {
            update: update.clone(),
            id,
            url: format!("{}/{path}", base.trim_end_matches('/')),
            secret: hook.secret.clone(),
            twice: state.delivery.redeliver_every.is_some_and(|n| n > 0 && id % n == 0),
        });
    }
    for due in &due {
        state.delivery.in_flight.insert(due.id);
    }
    due
}

/// Sends one update (twice when asked); forgets it on a 2xx, else frees it for a retry.
async fn send(shared: Arc<Shared>, client: reqwest::Client, due: Due) {
    let times = if due.twice { 2 } else { 1 };
    let mut delivered = false;
    for _ in 0..times {
        let mut request = client.post(&due.url).json(&due.update);
        if let Some(secret) = &due.secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        let (status, error) = match request.send().await {
            Ok(answer) => {
                let status = answer.status();
                (status.as_u16(), (!status.is_success()).then(|| format!("Wrong response from the webhook: {status}")))
            }
            Err(error) => (0, Some(format!("Connection failed: {error}"))),
        };
        shared.update(|state| {
            state.delivery.attempts.push((due.id, status));
            state.delivery.last_error = error.clone();
        });
        if error.is_some() {
            break;
        }
        delivered = true;
    }
    if !delivered {
        tokio::time::sleep(RETRY_AFTER).await;
    }
    shared.update(|state| {
        state.delivery.in_flight.remove(&due.id);
        // The updates being sent are at the front: found in a few steps, not by a scan of all.
        let at = state.pending.iter().position(|update| update["update_id"].as_i64() == Some(due.id));
        if let Some(at) = at.filter(|_| delivered) {
            state.pending.remove(at);
        }
    });
    shared.pushed.notify_waiters();
}

impl FakeTelegram {
    /// Delivers webhook requests to `base` (like `http://127.0.0.1:8080`) with the webhook URL's
    /// path, instead of to the URL's host: the reverse proxy in front of the bot.
    pub fn deliver_to(&self, base: &str) {
        self.shared.update(|state| state.delivery.target = Some(base.to_owned()));
        self.shared.pushed.notify_waiters();
    }

    /// Delivers to each of `bases` in turn (replicas behind a load balancer).
    pub fn deliver_round_robin(&self, bases: &[String]) {
        self.shared.update(|state| state.delivery.targets = bases.to_vec());
        self.shared.pushed.notify_waiters();
    }

    /// Every update whose id is a multiple of `n` is delivered twice, the second time after the
    /// first was answered 200 (as Telegram does when the answer came too late).
    pub fn redeliver_every(&self, n: i64) {
        self.shared.update(|state| state.delivery.redeliver_every = Some(n));
    }

    /// The webhook as set: its URL and secret token; `None` when none is.
    #[must_use]
    pub fn webhook(&self) -> Option<(String, Option<String>)> {
        self.shared.read().delivery.hook.as_ref().map(|hook| (hook.url.clone(), hook.secret.clone()))
    }

    /// Every delivery attempt: the update id and the HTTP status it got (0: no answer).
    #[must_use]
    pub fn webhook_attempts(&self) -> Vec<(i64, u16)> {
        self.shared.read().delivery.attempts.clone()
    }
}
