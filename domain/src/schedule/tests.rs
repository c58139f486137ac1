use chrono::{Timelike, Utc};
use proptest::prelude::*;

use super::*;
use crate::library::{Category, CategoryMix, MediaId};
use crate::settings::{Hour, PostingWindow, PostsPerDay};

fn plan(start: u8, end: u8, per_day: u8, tz: Tz) -> Plan {
    let window = PostingWindow::new(Hour::new(start).expect("hour"), Hour::new(end).expect("hour")).expect("window");
    Plan { window, posts_per_day: PostsPerDay::new(per_day).expect("posts"), time_zone: tz }
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("instant")
}

fn category(name: &str) -> Category {
    Category::new(name).expect("name")
}

fn candidates(per_category: &[(&str, usize)]) -> Vec<Candidate> {
    per_category
        .iter()
        .flat_map(|(name, count)| {
            (0..*count).map(|_| Candidate { media: MediaId::new(), category: category(name), last_posted_at: None })
        })
        .collect()
}

/// Whether the local hour of `slot` is inside the window.
fn in_window(plan: &Plan, slot: DateTime<Utc>) -> bool {
    let hour = u8::try_from(slot.with_timezone(&plan.time_zone).hour()).expect("hour");
    plan.window.contains(Hour::new(hour).expect("hour"))
}

#[test]
fn slots_are_spread_evenly_over_the_window_in_the_workspace_time_zone() {
    let p = plan(10, 20, 5, chrono_tz::Europe::Berlin);
    let slots = next_slots(&p, at("2026-06-01T00:00:00Z"), &[], 5, &mut NoJitter);
    // 10:00–20:00 Berlin summer time is 08:00–18:00 UTC; 5 slots, one every two hours, centred.
    let expected: Vec<_> =
        ["09:00", "11:00", "13:00", "15:00", "17:00"].iter().map(|t| at(&format!("2026-06-01T{t}:00Z"))).collect();
    assert_eq!(slots, expected);
}

#[test]
fn a_window_may_wrap_midnight() {
    let p = plan(22, 2, 2, chrono_tz::UTC);
    let slots = next_slots(&p, at("2026-06-01T12:00:00Z"), &[], 2, &mut NoJitter);
    assert_eq!(slots, vec![at("2026-06-01T23:00:00Z"), at("2026-06-02T01:00:00Z")]);
}

#[test]
fn a_second_run_extends_the_schedule_instead_of_doubling_it() {
    let p = plan(9, 21, 3, chrono_tz::UTC);
    let now = at("2026-06-01T00:00:00Z");
    let first = next_slots(&p, now, &[], 6, &mut NoJitter);
    let second = next_slots(&p, now, &first, 6, &mut NoJitter);
    assert_eq!(first.len(), 6);
    assert_eq!(second.len(), 6);
    assert!(second[0] > first[5]);
    assert_eq!(second[0], at("2026-06-03T11:00:00Z"));
}

#[test]
fn the_day_clocks_go_forward_keeps_its_slots_inside_the_window() {
    // Europe/Berlin jumps from 02:00 to 03:00 on 2026-03-29; a 01–05 window is then 3 hours long.
    let p = plan(1, 5, 3, chrono_tz::Europe::Berlin);
    let slots = next_slots(&p, at("2026-03-28T12:00:00Z"), &[], 3, &mut NoJitter);
    assert_eq!(slots.len(), 3);
    for slot in &slots {
        assert!(in_window(&p, *slot), "{slot} is outside 01–05 Berlin");
    }
    // The window is 00:00Z–03:00Z that night (01:00 CET to 05:00 CEST): one slot an hour.
    assert_eq!(slots, vec![at("2026-03-29T00:30:00Z"), at("2026-03-29T01:30:00Z"), at("2026-03-29T02:30:00Z")]);
}

#[test]
fn the_mix_is_followed_and_an_empty_category_falls_back_to_any() {
    let slots: Vec<_> = (0..10).map(|i| at("2026-06-01T00:00:00Z") + Duration::hours(i)).collect();
    let mix = CategoryMix::parse("memes=70 merch=30").expect("mix");
    let pool = candidates(&[("memes", 20), ("merch", 20)]);
    let memes: Vec<_> = pool.iter().filter(|c| c.category == category("memes")).map(|c| c.media).collect();
    let plan = assign(&slots, Some(&mix), &CategoryCounts::new(), pool.clone(), &mut NoJitter);
    assert_eq!(plan.len(), 10);
    assert_eq!(plan.iter().filter(|(_, m)| memes.contains(m)).count(), 7);

    // Only 2 merch items: the third merch slot takes a meme instead.
    let scarce = candidates(&[("memes", 20), ("merch", 2)]);
    let plan = assign(&slots, Some(&mix), &CategoryCounts::new(), scarce, &mut NoJitter);
    assert_eq!(plan.len(), 10);
    let unique: std::collections::HashSet<_> = plan.iter().map(|(_, m)| *m).collect();
    assert_eq!(unique.len(), 10, "no media twice");
}

#[test]
fn never_posted_media_comes_first_then_the_least_recently_posted() {
    let slots: Vec<_> = (0..3).map(|i| at("2026-06-01T00:00:00Z") + Duration::hours(i)).collect();
    let old =
        Candidate { media: MediaId::new(), category: category("a"), last_posted_at: Some(at("2026-01-01T00:00:00Z")) };
    let recent =
        Candidate { media: MediaId::new(), category: category("a"), last_posted_at: Some(at("2026-05-01T00:00:00Z")) };
    let never = Candidate { media: MediaId::new(), category: category("a"), last_posted_at: None };
    let plan =
        assign(&slots, None, &CategoryCounts::new(), vec![recent.clone(), old.clone(), never.clone()], &mut NoJitter);
    let order: Vec<_> = plan.iter().map(|(_, m)| *m).collect();
    assert_eq!(order, vec![never.media, old.media, recent.media]);
}

#[test]
fn running_out_of_media_leaves_the_remaining_slots_empty() {
    let slots: Vec<_> = (0..5).map(|i| at("2026-06-01T00:00:00Z") + Duration::hours(i)).collect();
    let none = CategoryCounts::new();
    assert_eq!(assign(&slots, None, &none, candidates(&[("a", 2)]), &mut NoJitter).len(), 2);
    assert!(assign(&slots, None, &none, Vec::new(), &mut NoJitter).is_empty());
}

fn zones() -> impl Strategy<Value = Tz> {
    prop_oneof![
        Just(chrono_tz::UTC),
        Just(chrono_tz::Europe::Berlin),
        Just(chrono_tz::America::New_York),
        Just(chrono_tz::Australia::Lord_Howe),
        Just(chrono_tz::Asia::Kolkata),
        Just(chrono_tz::America::Sao_Paulo),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn slots_are_never_in_the_past_never_outside_the_window_and_as_many_as_asked(
        start in 0u8..24, length in 1u8..24, per_day in 1u8..=50, days in 1u32..=30,
        tz in zones(), seconds in 1_700_000_000i64..1_900_000_000, seed in any::<u64>(),
    ) {
        let p = plan(start, (start + length) % 24, per_day, tz);
        let now = DateTime::from_timestamp(seconds, 0).expect("instant");
        let mut state = seed;
        let mut jitter = |max: Duration| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let span = max.num_seconds().max(0);
            let offset = i64::try_from(state >> 33).unwrap_or(0) % (2 * span + 1) - span;
            Duration::seconds(offset)
        };
        let wanted = usize::from(per_day) * usize::try_from(days).expect("days");
        let slots = next_slots(&p, now, &[], wanted, &mut jitter);
        prop_assert_eq!(slots.len(), wanted);
        for pair in slots.windows(2) {
            prop_assert!(pair[0] <= pair[1]);
        }
        for slot in &slots {
            prop_assert!(*slot > now, "{} is not after {}", slot, now);
            prop_assert!(in_window(&p, *slot), "{} is outside {} in {}", slot, p.window, tz);
        }
        // The right count per day: every whole window in the range holds exactly posts/day.
        let first_day = now.with_timezone(&tz).date_naive().succ_opt().expect("date");
        for day in 0..days.saturating_sub(2) {
            let date = first_day + Duration::days(i64::from(day));
            let (open, close) = window_on(&p, date);
            let inside = slots.iter().filter(|s| **s >= open && **s < close).count();
            prop_assert_eq!(inside, usize::from(per_day), "window of {}", date);
        }
    }

    #[test]
    fn the_mix_is_followed_within_rounding(a in 1u8..100, slots_count in 1usize..300) {
        let mix = CategoryMix::parse(&format!("a={a} b={}", 100 - a)).expect("mix");
        let slots: Vec<_> = (0..slots_count).map(|i| DateTime::<Utc>::UNIX_EPOCH + Duration::minutes(i64::try_from(i).expect("i"))).collect();
        let pool = candidates(&[("a", 400), ("b", 400)]);
        let in_a: std::collections::HashSet<_> = pool.iter().filter(|c| c.category == category("a")).map(|c| c.media).collect();
        let plan = assign(&slots, Some(&mix), &CategoryCounts::new(), pool, &mut NoJitter);
        prop_assert_eq!(plan.len(), slots_count);
        let got = plan.iter().filter(|(_, m)| in_a.contains(m)).count();
        let expected = f64::from(a) * slots_count as f64 / 100.0;
        prop_assert!((got as f64 - expected).abs() <= 1.0, "{} of {} for {}%", got, slots_count, a);
    }
}

mod extending;
mod mixing;
