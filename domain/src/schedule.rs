//! The schedule (FEATURES C3) as pure functions: when the slots fall, and which media goes in
//! each. No clock and no randomness of its own: both are passed in.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Duration, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::library::{Category, CategoryMix, MediaId};
use crate::settings::{PostingWindow, PostsPerDay};

/// The most days one `/schedule` may add.
pub const MAX_DAYS: u32 = 30;

/// A source of jitter: an offset in `[-max, max]`.
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

/// The slots of the window opening on local `date`: posts/day of them, evenly spread (each in
/// the middle of its share of the window), moved by at most a quarter share of jitter.
fn slots_on(plan: &Plan, date: NaiveDate, jitter: &mut dyn Jitter) -> Vec<DateTime<Utc>> {
    let (start, end) = window_on(plan, date);
    let count = i32::from(plan.posts_per_day.get());
    let share = (end - start) / count;
    let max = share / 4;
    (0..count)
        .map(|i| {
            let offset = jitter.offset(max).clamp(-max, max);
            start + share * i + share / 2 + offset
        })
        .collect()
}

/// The next `days × posts/day` slots after `after` (the later of now and the last slot already
/// queued): so a second run extends the schedule rather than doubling it. `days` is capped at
/// [`MAX_DAYS`]. Every slot is inside a posting window, in the workspace's time zone, and after
/// `after`.
#[must_use]
pub fn next_slots(plan: &Plan, after: DateTime<Utc>, days: u32, jitter: &mut dyn Jitter) -> Vec<DateTime<Utc>> {
    let wanted = usize::try_from(days.min(MAX_DAYS)).unwrap_or(0) * usize::from(plan.posts_per_day.get());
    let first = after.with_timezone(&plan.time_zone).date_naive().pred_opt().unwrap_or_default();
    let mut slots = Vec::with_capacity(wanted);
    let mut date = first;
    // A window per day; two more days than asked cover the partial day at each end.
    for _ in 0..days.min(MAX_DAYS) + 3 {
        slots.extend(slots_on(plan, date, jitter).into_iter().filter(|slot| *slot > after));
        if slots.len() >= wanted {
            break;
        }
        date = date.succ_opt().unwrap_or(date);
    }
    slots.sort_unstable();
    slots.truncate(wanted);
    slots
}

/// A media item that may go into a slot: active, not queued, not locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub media: MediaId,
    pub category: Category,
    pub last_posted_at: Option<DateTime<Utc>>,
}

/// Fills `slots` with media: each slot's category follows the mix (the category furthest behind
/// its share goes next; with no mix every category present gets an equal share), and within a
/// category never-posted media comes first, then the least recently posted. A category that has
/// run out falls back to the best media of any category. Slots left when every candidate is used
/// stay empty (the result is shorter).
#[must_use]
pub fn assign(
    slots: &[DateTime<Utc>],
    mix: Option<&CategoryMix>,
    mut candidates: Vec<Candidate>,
) -> Vec<(DateTime<Utc>, MediaId)> {
    // Never posted (None) first, then oldest post first; stable, so the store's order breaks ties.
    candidates.sort_by_key(|c| c.last_posted_at.map_or((0, DateTime::<Utc>::MIN_UTC), |at| (1, at)));
    let mut by_category: BTreeMap<Category, VecDeque<(usize, MediaId)>> = BTreeMap::new();
    for (rank, candidate) in candidates.iter().enumerate() {
        by_category.entry(candidate.category.clone()).or_default().push_back((rank, candidate.media));
    }
    let weights: Vec<(Category, u32)> = match mix {
        Some(mix) => mix.shares().map(|(c, p)| (c.clone(), u32::from(p))).collect(),
        None => by_category.keys().map(|c| (c.clone(), 1)).collect(),
    };
    let total_weight: u32 = weights.iter().map(|(_, w)| w).sum();
    let mut assigned: BTreeMap<Category, u32> = BTreeMap::new();
    let mut used = vec![false; candidates.len()];
    let mut plan = Vec::with_capacity(slots.len());
    for (k, slot) in slots.iter().enumerate() {
        let k = u32::try_from(k + 1).unwrap_or(u32::MAX);
        // The category furthest behind: largest weight·k/total − assigned (scaled by total).
        let pick = weights
            .iter()
            .max_by_key(|(category, weight)| {
                let due = i64::from(*weight) * i64::from(k);
                let had = i64::from(assigned.get(category).copied().unwrap_or(0)) * i64::from(total_weight);
                (due - had, *weight)
            })
            .map(|(category, _)| category.clone());
        let mut take = |queue: &mut VecDeque<(usize, MediaId)>| {
            while let Some((rank, media)) = queue.pop_front() {
                if !used[rank] {
                    used[rank] = true;
                    return Some(media);
                }
            }
            None
        };
        let chosen = pick.as_ref().and_then(|category| by_category.get_mut(category).and_then(&mut take));
        let chosen = chosen.or_else(|| {
            // Fall back: the best remaining candidate of any category.
            let rank = used.iter().position(|u| !u)?;
            used[rank] = true;
            Some(candidates[rank].media)
        });
        let Some(media) = chosen else { break };
        if let Some(category) = pick {
            *assigned.entry(category).or_default() += 1;
        }
        plan.push((*slot, media));
    }
    plan
}

#[cfg(test)]
mod tests;
