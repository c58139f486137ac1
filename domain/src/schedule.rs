//! The schedule (FEATURES C3) as pure functions: when the slots fall ([`next_slots`]), and which
//! media goes in each ([`assign`]). No clock and no randomness of its own: both are passed in.

mod mix;
mod slots;

use chrono::{DateTime, Duration, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

pub use mix::{Candidate, CategoryCounts, assign};
pub use slots::{horizon, next_slots};

use crate::settings::{PostingWindow, PostsPerDay};

/// The most days one `/schedule` may add.
pub const MAX_DAYS: u32 = 30;

/// A source of jitter: an offset in `[-max, max]`. The schedule also draws from it to break ties
/// between categories, so it is its only source of chance.
pub trait Jitter {
    fn offset(&mut self, max: Duration) -> Duration;
}

/// No jitter at all: slots exactly evenly spread.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoJitter;

impl Jitter for NoJitter {
    fn offset(&mut self, _max: Duration) -> Duration {
        Duration::zero()
    }
}

/// Any `FnMut(max) -> offset` is a jitter source (offsets outside `[-max, max]` are clamped).
impl<F: FnMut(Duration) -> Duration> Jitter for F {
    fn offset(&mut self, max: Duration) -> Duration {
        self(max)
    }
}

/// What the schedule is spread over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub window: PostingWindow,
    pub posts_per_day: PostsPerDay,
    pub time_zone: Tz,
}

/// The instant a local wall-clock hour starts on `date`. When clocks jump forward over it, the
/// first instant after the gap; when they fall back, the first of the two.
fn local_hour(tz: Tz, date: NaiveDate, hour: u8) -> DateTime<Utc> {
    let naive = date.and_hms_opt(u32::from(hour), 0, 0).unwrap_or_default();
    let mut probe = naive;
    // A gap is at most a few hours: step over it in 15-minute steps.
    for _ in 0..(4 * 4) {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => return at.with_timezone(&Utc),
            LocalResult::None => probe += Duration::minutes(15),
        }
    }
    Utc.from_utc_datetime(&naive)
}

/// The window that opens on local `date`, as `[start, end)` in UTC (the end may fall on the next
/// day when the window wraps midnight).
#[must_use]
pub fn window_on(plan: &Plan, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = local_hour(plan.time_zone, date, plan.window.start().get());
    let end_date = if plan.window.wraps_midnight() { date.succ_opt().unwrap_or(date) } else { date };
    let end = local_hour(plan.time_zone, end_date, plan.window.end().get());
    (start, end)
}

#[cfg(test)]
mod tests;
