//! Inbound rate limits (FEATURES T4): each person in a chat, and each chat as a whole, may send
//! so many commands and button presses a minute ([`RateLimits`]; a token bucket each, from
//! [`storyline_domain::rate_limit`]). The first command or press over the limit is answered
//! politely ("Slow down: try again in 5 s."), the rest of that burst silently, and none of them
//! is handled, logged or kept for later. Once one gets through again, the next excess is told
//! again.
//!
//! Plain messages are not counted: most are not for the bot, and telling the ones that answer a
//! prompt needs a store read; an answer is taken once per prompt, which a counted press opened.
//!
//! The buckets live in memory, bounded: a bucket full again is the same as a new one and is
//! dropped at the next sweep (about once a minute); past [`MAX_TRACKED`] buckets, people and
//! chats not yet tracked are let through rather than make the map grow.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use storyline_domain::ChatId;
use storyline_domain::chat::Screen;
use storyline_domain::rate_limit::{Rate, RetryAfter, TokenBucket};
use storyline_domain::user::TelegramUserId;

use super::{Bot, BotError, Event, Incoming};

/// How many commands and presses a person (in one chat) and a chat (everyone in it) may send a
/// minute; a bucket holds 20 seconds' worth, the burst allowed after a quiet while. `None` is no
/// limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// `RATE_LIMIT_PERSON_PER_MINUTE`.
    pub person: Option<Rate>,
    /// `RATE_LIMIT_CHAT_PER_MINUTE`.
    pub chat: Option<Rate>,
}

impl RateLimits {
    /// A person: 30 a minute, 10 at once — far above anyone toggling settings by hand.
    pub const DEFAULT_PERSON_PER_MINUTE: u32 = 30;
    /// A chat: 120 a minute, 40 at once — a whole team busy at the same moment.
    pub const DEFAULT_CHAT_PER_MINUTE: u32 = 120;
    /// No limits.
    pub const OFF: Self = Self { person: None, chat: None };

    /// `person` and `chat` a minute; 0 turns that limit off.
    #[must_use]
    pub fn per_minute(person: u32, chat: u32) -> Self {
        Self { person: Rate::per_minute(person), chat: Rate::per_minute(chat) }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::per_minute(Self::DEFAULT_PERSON_PER_MINUTE, Self::DEFAULT_CHAT_PER_MINUTE)
    }
}

/// What a person is told when over the limit.
#[must_use]
pub fn slow_down(wait: RetryAfter) -> String {
    format!("Slow down: try again in {} s.", wait.seconds())
}

/// The most buckets kept at once.
pub const MAX_TRACKED: usize = 10_000;
/// How often full buckets are dropped.
const SWEEP_EVERY: TimeDelta = TimeDelta::minutes(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Chat(ChatId),
    Person(ChatId, TelegramUserId),
}

struct Entry {
    bucket: TokenBucket,
    /// Whether a refusal was said since the last command or press that got through.
    told: bool,
}

/// What to do with one command or press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Go,
    /// Refused; say so (the first of a burst).
    Tell(RetryAfter),
    /// Refused; say nothing (the rest of the burst).
    Quiet,
}

/// The buckets of every person and chat lately heard from.
pub(super) struct Limiter {
    limits: RateLimits,
    state: Mutex<State>,
}

struct State {
    entries: HashMap<Key, Entry>,
    swept: Option<DateTime<Utc>>,
}

impl Limiter {
    pub(super) fn new(limits: RateLimits) -> Self {
        Self { limits, state: Mutex::new(State { entries: HashMap::new(), swept: None }) }
    }

    /// Takes a token from `from`'s bucket in `chat` and from the chat's; refused by either,
    /// neither is charged.
    pub(super) fn check(&self, chat: ChatId, from: Option<TelegramUserId>, now: DateTime<Utc>) -> Verdict {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.sweep(now);
        let person = from.zip(self.limits.person).map(|(from, rate)| (Key::Person(chat, from), rate));
        if let Some((key, rate)) = person
            && let Err(verdict) = state.take(key, rate, now)
        {
            return verdict;
        }
        if let Some(rate) = self.limits.chat
            && let Err(verdict) = state.take(Key::Chat(chat), rate, now)
        {
            // The chat refused, not the person: their token goes back.
            if let Some(entry) = person.and_then(|(key, _)| state.entries.get_mut(&key)) {
                entry.bucket.give_back(now);
            }
            return verdict;
        }
        Verdict::Go
    }

    /// How many buckets are kept now.
    #[cfg(test)]
    pub(super) fn tracked(&self) -> usize {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).entries.len()
    }
}

impl State {
    fn take(&mut self, key: Key, rate: Rate, now: DateTime<Utc>) -> Result<(), Verdict> {
        if self.entries.len() >= MAX_TRACKED && !self.entries.contains_key(&key) {
            return Ok(());
        }
        let entry =
            self.entries.entry(key).or_insert_with(|| Entry { bucket: TokenBucket::full(rate, now), told: false });
        match entry.bucket.try_take(now) {
            Ok(()) => {
                entry.told = false;
                Ok(())
            }
            Err(_) if entry.told => Err(Verdict::Quiet),
            Err(wait) => {
                entry.told = true;
                Err(Verdict::Tell(wait))
            }
        }
    }

    /// Drops the buckets full again (about once a minute; at once when at the bound).
    fn sweep(&mut self, now: DateTime<Utc>) {
        let due = self.swept.is_none_or(|at| now - at >= SWEEP_EVERY)
            || (self.entries.len() >= MAX_TRACKED && self.swept.is_none_or(|at| now - at >= TimeDelta::seconds(1)));
        if due {
            self.swept = Some(now);
            self.entries.retain(|_, entry| !entry.bucket.is_full(now));
        }
    }
}

impl Bot {
    /// Limits the commands and presses each person and each chat may send ([`RateLimits`]).
    /// Without it, nothing is limited.
    #[must_use]
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.limiter = (limits != RateLimits::OFF).then(|| Limiter::new(limits));
        self
    }

    /// Whether `incoming` is over a limit: then it has been answered (the first of a burst) or
    /// ignored, and must not be handled.
    pub(super) async fn rate_limited(&self, incoming: &Incoming) -> Result<bool, BotError> {
        let Some(limiter) = &self.limiter else { return Ok(false) };
        let press = match &incoming.event {
            Event::Command { .. } => None,
            Event::Press { id, .. } => Some(id),
            // Plain messages and files are mostly not for the bot (a file is fetched only for an import
            // its admin started).
            Event::Text { .. } | Event::Document { .. } | Event::Joined | Event::Left | Event::MovedTo(_) => {
                return Ok(false);
            }
        };
        let from = incoming.from.as_ref().map(|user| user.telegram_id);
        let wait = match limiter.check(incoming.chat, from, self.ports.clock.now()) {
            Verdict::Go => return Ok(false),
            Verdict::Quiet => return Ok(true),
            Verdict::Tell(wait) => wait,
        };
        tracing::info!(retry_after_s = wait.seconds(), "over the rate limit; the rest of this burst is ignored");
        let text = slow_down(wait);
        match press {
            Some(id) => self.ports.notifier.answer(id, &text, false).await?,
            None => {
                self.ports.notifier.send(incoming.chat, &Screen::new(text)).await?;
            }
        }
        Ok(true)
    }
}
