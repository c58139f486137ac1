//! Extending a schedule again and again: every posting window holds posts/day, evenly spread.

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

/// A seeded jitter source (an LCG), as random as the production one for these purposes.
fn seeded(seed: u64) -> impl FnMut(Duration) -> Duration {
    let mut state = seed;
    move |max: Duration| {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let span = max.num_seconds().max(0);
        Duration::seconds(i64::try_from(state >> 33).unwrap_or(0) % (2 * span + 1) - span)
    }
}

/// The slots of `slots` in the window opening on `date`, and that window's share.
fn in_window_on(p: &Plan, date: NaiveDate, slots: &[DateTime<Utc>]) -> (Vec<DateTime<Utc>>, DateTime<Utc>, Duration) {
    let (open, close) = window_on(p, date);
    let share = (close - open) / i32::from(p.posts_per_day.get());
    (slots.iter().copied().filter(|s| *s >= open && *s < close).collect(), open, share)
}

/// Each slot of a window sits in a share of its own, within a quarter share (and the second
/// slots are rounded to) of the share's middle.
fn evenly_spread(slots: &[DateTime<Utc>], open: DateTime<Utc>, share: Duration) -> Result<(), String> {
    let mut shares = Vec::new();
    for slot in slots {
        let index = (*slot - open).num_milliseconds() / share.num_milliseconds().max(1);
        let middle = open + share * i32::try_from(index).unwrap_or(0) + share / 2;
        if (*slot - middle).abs() > share / 4 + Duration::seconds(1) {
            return Err(format!("{slot} is off the middle {middle} of its share by more than {}", share / 4));
        }
        if shares.contains(&index) {
            return Err(format!("{slot} shares its share with another slot"));
        }
        shares.push(index);
    }
    Ok(())
}

#[test]
fn extending_a_partly_queued_window_tops_it_up_without_regenerating_it() {
    // The report: window 9–21, 3 a day; five one-day runs gave days of 4, 5 and 2 stories.
    let p = plan(9, 21, 3, chrono_tz::UTC);
    let now = at("2026-06-01T08:00:00Z");
    let mut taken = Vec::new();
    let mut jitter = seeded(42);
    for _ in 0..5 {
        let more = next_slots(&p, now, &taken, 3, &mut jitter);
        assert_eq!(more.len(), 3);
        taken.extend(more);
    }
    for day in 0..5 {
        let date = at("2026-06-01T00:00:00Z").date_naive() + Duration::days(day);
        let (slots, open, share) = in_window_on(&p, date, &taken);
        assert_eq!(slots.len(), 3, "{date}: {slots:?}");
        evenly_spread(&slots, open, share).expect("even");
    }
}

#[test]
fn a_slot_already_used_keeps_its_share_so_the_window_is_not_refilled() {
    let p = plan(9, 21, 3, chrono_tz::UTC);
    // Today's 11:00 story went out early (at 08:00) and was posted; its slot still counts.
    let taken = [at("2026-06-01T11:00:00Z"), at("2026-06-01T15:00:00Z"), at("2026-06-01T19:00:00Z")];
    let more = next_slots(&p, at("2026-06-01T08:30:00Z"), &taken, 3, &mut NoJitter);
    assert_eq!(more, vec![at("2026-06-02T11:00:00Z"), at("2026-06-02T15:00:00Z"), at("2026-06-02T19:00:00Z")]);
}

#[test]
fn a_window_already_over_full_after_a_change_gets_nothing_more() {
    // Posts/day went from 3 to 2 after today's three were queued: today stays as it is.
    let p = plan(9, 21, 2, chrono_tz::UTC);
    let taken = [at("2026-06-01T11:00:00Z"), at("2026-06-01T15:00:00Z"), at("2026-06-01T19:00:00Z")];
    let more = next_slots(&p, at("2026-06-01T08:00:00Z"), &taken, 2, &mut NoJitter);
    assert_eq!(more, vec![at("2026-06-02T12:00:00Z"), at("2026-06-02T18:00:00Z")]);
}

#[test]
fn a_gap_left_in_a_window_ahead_is_filled_first() {
    // The 15:00 story of tomorrow was removed with its media: the next run fills its share.
    let p = plan(9, 21, 3, chrono_tz::UTC);
    let taken = [at("2026-06-02T11:00:00Z"), at("2026-06-02T19:00:00Z")];
    let more = next_slots(&p, at("2026-06-01T22:00:00Z"), &taken, 2, &mut NoJitter);
    assert_eq!(more, vec![at("2026-06-02T15:00:00Z"), at("2026-06-03T11:00:00Z")]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn extending_in_any_steps_keeps_posts_per_day_in_every_window_evenly_spread(
        start in 0u8..24, length in 1u8..24, per_day in 1u8..=50, tz in zones(),
        seconds in 1_700_000_000i64..1_900_000_000, seed in any::<u64>(),
        // (days asked for, hours the clock moves on before asking)
        steps in vec((1u32..=7, 0i64..=40), 1..8),
    ) {
        let p = plan(start, (start + length) % 24, per_day, tz);
        let first = DateTime::from_timestamp(seconds, 0).expect("instant");
        let mut jitter = seeded(seed);
        let mut now = first;
        let mut taken: Vec<DateTime<Utc>> = Vec::new();
        for (days, wait) in steps {
            // A team extends the schedule before it runs out: the clock never passes the last slot.
            let last = taken.iter().max().copied().unwrap_or(now).max(now);
            now = (now + Duration::hours(wait)).min(last);
            let wanted = usize::from(per_day) * usize::try_from(days).expect("days");
            let more = next_slots(&p, now, &taken, wanted, &mut jitter);
            prop_assert_eq!(more.len(), wanted);
            for slot in &more {
                prop_assert!(*slot > now, "{} is not after {}", slot, now);
                prop_assert!(in_window(&p, *slot), "{} is outside {} in {}", slot, p.window, tz);
            }
            taken.extend(more);
        }
        let last = taken.iter().max().copied().expect("slots");
        let opened = first.with_timezone(&tz).date_naive();
        let last_day = last.with_timezone(&tz).date_naive();
        let mut date = opened.pred_opt().expect("date");
        while date <= last_day {
            let (slots, open, share) = in_window_on(&p, date, &taken);
            prop_assert!(slots.len() <= usize::from(per_day), "{} holds {} of {}", date, slots.len(), per_day);
            // Every window after the first day's, up to the one holding the last slot, is full.
            let (_, close) = window_on(&p, date);
            if date > opened && close <= last && close > open {
                prop_assert_eq!(slots.len(), usize::from(per_day), "window of {}", date);
            }
            if let Err(why) = evenly_spread(&slots, open, share) {
                prop_assert!(false, "window of {}: {}", date, why);
            }
            date = date.succ_opt().expect("date");
        }
    }
}
