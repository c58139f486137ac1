//! When the slots fall. Each day's posting window is cut into posts/day equal shares and each
//! share holds one slot, in its middle, moved by at most a quarter share of jitter. Extending
//! the schedule fills the free shares ahead, so however often and in whatever steps it is
//! extended, a window never holds more than posts/day slots and they stay evenly spread.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::{Jitter, Plan, window_on};

/// One day's posting window cut into posts/day equal shares.
struct Grid {
    open: DateTime<Utc>,
    close: DateTime<Utc>,
    shares: usize,
}

impl Grid {
    /// The window opening on local `date`; `None` when it has no length that day (its hours fall
    /// in a clock change's gap).
    fn on(plan: &Plan, date: NaiveDate) -> Option<Self> {
        let (open, close) = window_on(plan, date);
        (close > open).then(|| Self { open, close, shares: usize::from(plan.posts_per_day.get()) })
    }

    fn share(&self) -> Duration {
        (self.close - self.open) / i32::try_from(self.shares).unwrap_or(i32::MAX)
    }

    /// The middle of share `i`.
    fn middle(&self, i: usize) -> DateTime<Utc> {
        self.open + self.share() * i32::try_from(i).unwrap_or(i32::MAX) + self.share() / 2
    }

    /// The share `at` (inside the window) falls in.
    fn share_of(&self, at: DateTime<Utc>) -> usize {
        let into = i128::from((at - self.open).num_milliseconds());
        let length = i128::from((self.close - self.open).num_milliseconds()).max(1);
        let shares = i128::try_from(self.shares).unwrap_or(i128::MAX);
        usize::try_from((into * shares / length).clamp(0, shares - 1)).unwrap_or(0)
    }
}

/// The earliest instant whose slot still shapes what comes next: the opening of the window that
/// opened the local day before `now` (a window that wraps midnight may still be open). Slots
/// before it are of no concern to [`next_slots`].
#[must_use]
pub fn horizon(plan: &Plan, now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.with_timezone(&plan.time_zone).date_naive();
    window_on(plan, today.pred_opt().unwrap_or(today)).0
}

/// The next `count` slots after `now`, given the slots already `taken` (every queue item's slot
/// from [`horizon`] on, stories already sent, posted or skipped included: they keep their place
/// in their window). Window after window, each share that holds no slot yet and whose middle is
/// still ahead gets one, until the window holds posts/day; so a window that is partly queued is
/// topped up to posts/day, never beyond, and one that has partly passed keeps only the slots
/// still ahead. Slots are whole seconds, in order.
#[must_use]
pub fn next_slots(
    plan: &Plan,
    now: DateTime<Utc>,
    taken: &[DateTime<Utc>],
    count: usize,
    jitter: &mut dyn Jitter,
) -> Vec<DateTime<Utc>> {
    let mut taken = taken.to_vec();
    taken.sort_unstable();
    let mut slots = Vec::with_capacity(count.min(10_000));
    let today = now.with_timezone(&plan.time_zone).date_naive();
    let mut date = today.pred_opt().unwrap_or(today);
    // Every window ahead that is not already full gives at least one slot, and a full one holds
    // at least one taken slot: so this many windows always suffice (two more for the one that
    // opened yesterday, the one partly passed today and a window lost to a clock change).
    for _ in 0..count.saturating_add(taken.len()).saturating_add(4) {
        if slots.len() >= count {
            break;
        }
        if let Some(grid) = Grid::on(plan, date) {
            let first = taken.partition_point(|at| *at < grid.open);
            let last = taken.partition_point(|at| *at < grid.close);
            let held: Vec<usize> = taken[first..last].iter().map(|at| grid.share_of(*at)).collect();
            let mut room = grid.shares.saturating_sub(held.len());
            let max = grid.share() / 4;
            for share in 0..grid.shares {
                if room == 0 || slots.len() >= count {
                    break;
                }
                let middle = grid.middle(share);
                if held.contains(&share) || middle <= now {
                    continue;
                }
                let offset = jitter.offset(max).clamp(-max, max);
                slots.push(whole_second((middle + offset).max(now + Duration::seconds(1))));
                room -= 1;
            }
        }
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    slots.sort_unstable();
    slots
}

/// `at` without its fraction of a second (every store keeps whole seconds exactly).
fn whole_second(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}
