//! One pacer for everything the bot sends, so the whole bot stays within Telegram's limits: about
//! 30 messages a second in all, one a second per chat, 20 a minute per group, supergroup or
//! channel (a negative chat id). A request over a limit waits for its turn; nothing is dropped.
//!
//! - A new message ([`Pacer::message`]: text, photo, video) counts against all three limits.
//! - Edits, deletions, answers to button presses and reads (getUpdates, getChatAdministrators,
//!   getMe) are not paced: Telegram documents its limits for messages sent, and the edit that
//!   answers a press (a toggle's menu) must not queue behind the bot's 30 a second — the bot
//!   handles thousands of presses a second across chats (`cargo bench --bench workspaces`). A
//!   429 on one is still waited out and retried by the notifier.
//!
//! Each limit is a sliding window ("at most `count` in any `span`") over the instants requests
//! were let go, each span lengthened by [`MARGIN`] so that a request that takes a little longer
//! than its predecessor to reach Telegram is not counted inside the same window. Waiting is fair:
//! requests to one chat go in the order they came, and the overall budget is taken in arrival
//! order too, so a busy group never holds up a private chat. Memory is bounded: a chat's lane is
//! forgotten once it has sent nothing for longer than the longest window.
//!
//! Not `governor`: it cannot take a slot from several limiters at once (taking the chat's, then
//! waiting for the overall one, lets two messages of one chat reach Telegram closer than a
//! second apart), and it waits on a clock of its own rather than tokio's, which tests pause.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Added to every window: a request let go on time may still reach Telegram a little late or
/// early after the one before it (the network, a busy machine).
pub const MARGIN: Duration = Duration::from_millis(100);

/// Lanes kept before idle ones are looked for (then again each time the map doubles, and at
/// least once per longest window).
const SWEEP_FROM: usize = 1024;

/// At most `count` requests in any `span`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub count: usize,
    pub span: Duration,
}

impl Window {
    /// This window's part for one of `replicas` processes sending as one bot: together they
    /// keep to the whole. The count is divided while it can be; below one request per span the
    /// span is stretched instead (one a second per chat, shared by two, is one per two seconds).
    #[must_use]
    pub fn share(self, replicas: usize) -> Self {
        let replicas = replicas.max(1);
        if self.count >= replicas {
            Self { count: self.count / replicas, span: self.span }
        } else {
            let stretch = u32::try_from(replicas.div_ceil(self.count.max(1))).unwrap_or(u32::MAX);
            Self { count: 1, span: self.span.saturating_mul(stretch) }
        }
    }

    /// The earliest instant one more request fits, given the instants `sent` (oldest first);
    /// `None` when it fits now.
    fn free_at(self, sent: &VecDeque<Instant>, now: Instant) -> Option<Instant> {
        let count = self.count.max(1);
        let oldest_in_window = sent.len().checked_sub(count).and_then(|i| sent.get(i))?;
        let free = *oldest_in_window + self.span;
        (free > now).then_some(free)
    }
}

/// The windows a [`Pacer`] keeps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Every new message of the bot.
    pub overall: Window,
    /// New messages to one chat.
    pub per_chat: Window,
    /// New messages to one group, supergroup or channel (a negative chat id).
    pub per_group: Window,
}

impl Limits {
    /// Telegram's: 30 a second in all, 1 a second per chat, 20 a minute per group, each window
    /// [`MARGIN`] longer.
    #[must_use]
    pub const fn telegram() -> Self {
        Self {
            overall: Window { count: 30, span: Duration::from_secs(1).saturating_add(MARGIN) },
            per_chat: Window { count: 1, span: Duration::from_secs(1).saturating_add(MARGIN) },
            per_group: Window { count: 20, span: Duration::from_secs(60).saturating_add(MARGIN) },
        }
    }

    fn longest(&self) -> Duration {
        self.overall.span.max(self.per_chat.span).max(self.per_group.span)
    }

    /// Every window's part for one of `replicas` processes ([`Window::share`]).
    #[must_use]
    pub fn share(self, replicas: usize) -> Self {
        Self {
            overall: self.overall.share(replicas),
            per_chat: self.per_chat.share(replicas),
            per_group: self.per_group.share(replicas),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::telegram()
    }
}

/// When one chat's last new messages were let go, oldest first.
#[derive(Default)]
struct Lane {
    sent: VecDeque<Instant>,
}

/// The chats' lanes, and when to look for idle ones next.
struct Lanes {
    by_chat: HashMap<i64, Arc<tokio::sync::Mutex<Lane>>>,
    /// How many lanes make the next look.
    sweep_at: usize,
    /// When idle lanes were last looked for.
    swept: Instant,
}

struct Inner {
    /// The whole bot's limits.
    limits: Limits,
    /// How many processes send as this bot (see [`Pacer::share_with`]); this one keeps to its
    /// part.
    replicas: std::sync::atomic::AtomicUsize,
    /// Nothing goes before this instant (see [`Pacer::hold_for`]).
    held_until: Mutex<Option<Instant>>,
    /// The instants of the bot's last requests, oldest first; the lock is its queue.
    overall: tokio::sync::Mutex<VecDeque<Instant>>,
    lanes: Mutex<Lanes>,
}

/// Paces the bot's requests to Telegram's limits. Clones share one budget.
#[derive(Clone)]
pub struct Pacer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer").field("limits", &self.inner.limits).finish_non_exhaustive()
    }
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new(Limits::telegram())
    }
}

/// Keeps the last `keep` instants of `sent`.
fn push(sent: &mut VecDeque<Instant>, at: Instant, keep: usize) {
    sent.push_back(at);
    while sent.len() > keep.max(1) {
        sent.pop_front();
    }
}

impl Pacer {
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Self {
            inner: Arc::new(Inner {
                limits,
                replicas: std::sync::atomic::AtomicUsize::new(1),
                held_until: Mutex::new(None),
                overall: tokio::sync::Mutex::new(VecDeque::new()),
                lanes: Mutex::new(Lanes { by_chat: HashMap::new(), sweep_at: SWEEP_FROM, swept: Instant::now() }),
            }),
        }
    }

    /// From now on this process is one of `replicas` sending as the same bot (Telegram's limits
    /// are the bot's, not a process's): it keeps to its part of each limit, so that together
    /// they never exceed them. 1 (the default) is the whole.
    pub fn share_with(&self, replicas: usize) {
        let was = self.inner.replicas.swap(replicas.max(1), std::sync::atomic::Ordering::Relaxed);
        if was != replicas.max(1) {
            tracing::info!(replicas = replicas.max(1), "sharing Telegram's limits with the other replicas");
        }
    }

    /// Sends nothing for `wait` from now: a replica that joins others holds its messages until
    /// they all know of it (their next heartbeat) and keep to their smaller parts.
    pub fn hold_for(&self, wait: Duration) {
        *self.inner.held_until.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + wait);
    }

    /// The limits this process keeps to now.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.inner.limits.share(self.inner.replicas.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Waits until a new message to `chat` may go, and counts it as gone: call right before
    /// sending (and before opening what it uploads).
    pub async fn message(&self, chat: i64) {
        let held = *self.inner.held_until.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(until) = held {
            tokio::time::sleep_until(until).await;
        }
        let limits = self.limits();
        let lane = self.lane(chat);
        // Held until the message is let go: the chat's messages go in the order they came.
        let mut lane = lane.lock().await;
        loop {
            let now = Instant::now();
            let chat_free = limits.per_chat.free_at(&lane.sent, now);
            let group_free = if chat < 0 { limits.per_group.free_at(&lane.sent, now) } else { None };
            match chat_free.max(group_free) {
                Some(free) => tokio::time::sleep_until(free).await,
                None => break,
            }
        }
        // The chat's limits hold from now on (only this lane's holder adds to it), so the
        // instant the overall budget lets it go counts for both.
        let at = self.overall().await;
        let keep = if chat < 0 { limits.per_chat.count.max(limits.per_group.count) } else { limits.per_chat.count };
        push(&mut lane.sent, at, keep);
    }

    /// Takes the bot's overall budget in arrival order: the instant the request was let go.
    async fn overall(&self) -> Instant {
        let window = self.limits().overall;
        let mut sent = self.inner.overall.lock().await;
        loop {
            let now = Instant::now();
            match window.free_at(&sent, now) {
                Some(free) => tokio::time::sleep_until(free).await,
                None => {
                    push(&mut sent, now, window.count);
                    return now;
                }
            }
        }
    }

    /// `chat`'s lane, made when missing; idle lanes are forgotten now and then.
    fn lane(&self, chat: i64) -> Arc<tokio::sync::Mutex<Lane>> {
        let mut lanes = self.inner.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(lane) = lanes.by_chat.get(&chat) {
            return lane.clone();
        }
        let (now, idle) = (Instant::now(), self.inner.limits.longest());
        if lanes.by_chat.len() >= lanes.sweep_at || now - lanes.swept >= idle {
            lanes.by_chat.retain(|_, lane| {
                // In use (held or waited for elsewhere), or sent within its longest window.
                Arc::strong_count(lane) > 1
                    || lane.try_lock().map_or(true, |lane| lane.sent.back().is_some_and(|last| now - *last < idle))
            });
            lanes.sweep_at = (lanes.by_chat.len() * 2).max(SWEEP_FROM);
            lanes.swept = now;
        }
        lanes.by_chat.entry(chat).or_default().clone()
    }

    /// How many chats' lanes are kept.
    #[must_use]
    pub fn lanes(&self) -> usize {
        self.inner.lanes.lock().unwrap_or_else(PoisonError::into_inner).by_chat.len()
    }
}

#[cfg(test)]
mod tests;
