//! A token bucket (FEATURES T4): how many commands and presses one person or one chat may send.
//! A bucket holds up to `capacity` tokens and gains `per_minute` of them a minute; each command
//! or press takes one, and when none is left the caller is told how long until the next.
//!
//! Pure: time is an argument, so tests pass explicit instants. (`governor` does the same with
//! a clock trait, but brings its own keyed store and atomics; the bot keeps its buckets beside
//! its other short-lived state, and these few lines need nothing but chrono.)

use chrono::{DateTime, TimeDelta, Utc};

/// How fast a bucket refills and how much it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Tokens gained a minute (at least 1).
    per_minute: u32,
    /// The most tokens a bucket holds: the burst allowed after a quiet while (at least 1).
    capacity: u32,
}

impl Rate {
    /// `per_minute` tokens a minute; a bucket holds 20 seconds' worth (a third of a minute,
    /// at least one). `None` for 0, which means no limit.
    #[must_use]
    pub fn per_minute(per_minute: u32) -> Option<Self> {
        (per_minute > 0).then(|| Self { per_minute, capacity: (per_minute / 3).max(1) })
    }

    #[must_use]
    pub const fn get(self) -> u32 {
        self.per_minute
    }

    /// The burst a full bucket allows.
    #[must_use]
    pub const fn capacity(self) -> u32 {
        self.capacity
    }

    /// Tokens gained in `elapsed` (none for a clock that went back).
    fn gained(self, elapsed: TimeDelta) -> f64 {
        let micros = elapsed.num_microseconds().unwrap_or(i64::MAX).max(0);
        // Exact: microseconds of centuries fit an f64's mantissa.
        let seconds = micros as f64 / 1e6;
        seconds * f64::from(self.per_minute) / 60.0
    }
}

/// How long until a refused bucket has a token again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub TimeDelta);

impl RetryAfter {
    /// Whole seconds, rounded up, at least 1: what a person is told to wait.
    #[must_use]
    pub fn seconds(self) -> i64 {
        let micros = self.0.num_microseconds().unwrap_or(i64::MAX);
        micros.div_euclid(1_000_000).saturating_add(i64::from(micros.rem_euclid(1_000_000) > 0)).max(1)
    }
}

/// One person's or one chat's bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    rate: Rate,
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: DateTime<Utc>,
}

impl TokenBucket {
    /// A full bucket at `now`.
    #[must_use]
    pub fn full(rate: Rate, now: DateTime<Utc>) -> Self {
        Self { rate, tokens: f64::from(rate.capacity), at: now }
    }

    fn refill(&mut self, now: DateTime<Utc>) {
        if now > self.at {
            self.tokens = (self.tokens + self.rate.gained(now - self.at)).min(f64::from(self.rate.capacity));
            self.at = now;
        }
    }

    /// Takes one token at `now`.
    ///
    /// # Errors
    /// [`RetryAfter`] how long until a token is there again; nothing was taken.
    pub fn try_take(&mut self, now: DateTime<Utc>) -> Result<(), RetryAfter> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - self.tokens;
        let seconds = missing * 60.0 / f64::from(self.rate.per_minute);
        // At most 60 s (one token a minute): the cast cannot overflow.
        let micros = (seconds * 1e6).ceil() as i64;
        Err(RetryAfter(TimeDelta::microseconds(micros.max(1))))
    }

    /// Gives back a token taken at `now` for something that was refused elsewhere after all.
    pub fn give_back(&mut self, now: DateTime<Utc>) {
        self.refill(now);
        self.tokens = (self.tokens + 1.0).min(f64::from(self.rate.capacity));
    }

    /// Whether the bucket is full at `now`: it then behaves as a new one, and may be forgotten.
    #[must_use]
    pub fn is_full(&self, now: DateTime<Utc>) -> bool {
        let mut ahead = self.clone();
        ahead.refill(now);
        ahead.tokens >= f64::from(self.rate.capacity)
    }
}

#[cfg(test)]
mod tests;
