//! Telegram's flood limits, when a test turns them on ([`FakeTelegram::enforce_limits`]): at most
//! 30 requests in any second for the whole bot, 1 new message a second per chat and 20 a minute
//! per group, supergroup or channel (a negative chat id). One over is answered 429 "Too Many
//! Requests: retry after N" with `parameters.retry_after`, N the whole seconds until it would
//! fit, and is not counted.
//!
//! What counts, as Telegram documents it: new messages (every `send…` method but
//! `sendChatAction`, `copyMessage`, `forwardMessage`) against all three limits. Edits, deletions,
//! answers to button presses and reads (`getUpdates`, `getMe`, `getChatAdministrators`, the
//! command menu) are not limited here.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::FakeTelegram;
use super::methods::int;

const OVERALL: (usize, Duration) = (30, Duration::from_secs(1));
const PER_CHAT: (usize, Duration) = (1, Duration::from_secs(1));
const PER_GROUP: (usize, Duration) = (20, Duration::from_secs(60));

/// Whether `method` sends a new message: counted against the bot's limit, its chat's and its
/// group's.
fn counted(method: &str) -> bool {
    (method.starts_with("send") && method != "sendChatAction") || method == "copyMessage" || method == "forwardMessage"
}

/// The instants of the requests let through, per limit, oldest first.
#[derive(Debug, Default)]
pub(super) struct Limits {
    overall: VecDeque<Instant>,
    chats: HashMap<i64, VecDeque<Instant>>,
    /// How many requests were answered 429.
    pub(super) refused: usize,
}

/// When one more request fits in `(count, span)`, given `sent` (oldest first).
fn wait((count, span): (usize, Duration), sent: &VecDeque<Instant>, now: Instant) -> Duration {
    sent.iter().rev().nth(count - 1).map_or(Duration::ZERO, |oldest| (*oldest + span).saturating_duration_since(now))
}

impl Limits {
    /// Lets the request through (and counts it), or says how long it must wait.
    pub(super) fn admit(&mut self, method: &str, params: &Value, now: Instant) -> Result<(), Duration> {
        if !counted(method) {
            return Ok(());
        }
        let chat = int(params, "chat_id");
        let mut wait_for = wait(OVERALL, &self.overall, now);
        if let Some(chat) = chat {
            let sent = self.chats.entry(chat).or_default();
            wait_for = wait_for.max(wait(PER_CHAT, sent, now));
            if chat < 0 {
                wait_for = wait_for.max(wait(PER_GROUP, sent, now));
            }
        }
        if !wait_for.is_zero() {
            self.refused += 1;
            return Err(wait_for);
        }
        self.overall.push_back(now);
        while self.overall.len() > OVERALL.0 {
            self.overall.pop_front();
        }
        if let Some(chat) = chat {
            let sent = self.chats.entry(chat).or_default();
            sent.push_back(now);
            while sent.len() > PER_CHAT.0.max(PER_GROUP.0) {
                sent.pop_front();
            }
        }
        Ok(())
    }
}

impl FakeTelegram {
    /// From now on, answers a request over Telegram's flood limits with 429 and
    /// `parameters.retry_after` (see the module `limits` for what counts); off by default.
    pub fn enforce_limits(&self) {
        self.shared.update(|state| state.limits = Some(Limits::default()));
    }

    /// How many requests were answered 429 for going over the limits [`Self::enforce_limits`]
    /// turned on (those queued with [`Self::fail_next`] are not among them).
    #[must_use]
    pub fn too_many_requests(&self) -> usize {
        self.shared.read().limits.as_ref().map_or(0, |limits| limits.refused)
    }
}
