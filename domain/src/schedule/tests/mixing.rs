//! The category mix held across runs, with ties that do not always go the same way.

use std::collections::HashSet;

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

fn minutes(count: usize) -> Vec<DateTime<Utc>> {
    (0..count).map(|i| DateTime::<Utc>::UNIX_EPOCH + Duration::minutes(i64::try_from(i).expect("i"))).collect()
}

fn count_in(plan: &[(DateTime<Utc>, MediaId)], pool: &[Candidate], name: &str) -> u64 {
    let in_category: HashSet<MediaId> = pool.iter().filter(|c| c.category == category(name)).map(|c| c.media).collect();
    plan.iter().filter(|(_, m)| in_category.contains(m)).count() as u64
}

#[test]
fn five_runs_of_three_at_fifty_fifty_stay_within_one_of_half() {
    // The report: each run counted afresh and ties went one way, so 5 runs gave 10 and 5.
    let mix = CategoryMix::parse("memes=50 merch=50").expect("mix");
    let mut so_far = CategoryCounts::new();
    for _ in 0..5 {
        let pool = candidates(&[("memes", 20), ("merch", 20)]);
        let plan = assign(&minutes(3), Some(&mix), &so_far, pool.clone(), &mut NoJitter);
        *so_far.entry(category("memes")).or_default() += count_in(&plan, &pool, "memes");
        *so_far.entry(category("merch")).or_default() += count_in(&plan, &pool, "merch");
    }
    let memes = so_far[&category("memes")];
    assert!((7..=8).contains(&memes), "{so_far:?}");
}

#[test]
fn what_was_posted_and_queued_already_counts() {
    // 6 memes queued or posted, no merch: the next 4 slots go to merch.
    let mix = CategoryMix::parse("memes=50 merch=50").expect("mix");
    let so_far = CategoryCounts::from([(category("memes"), 6)]);
    let pool = candidates(&[("memes", 20), ("merch", 20)]);
    let plan = assign(&minutes(4), Some(&mix), &so_far, pool.clone(), &mut NoJitter);
    assert_eq!(count_in(&plan, &pool, "merch"), 4);
}

#[test]
fn ties_do_not_always_go_to_the_same_category() {
    let mix = CategoryMix::parse("memes=50 merch=50").expect("mix");
    let mut winners = HashSet::new();
    for seed in 0..32u64 {
        let pool = candidates(&[("memes", 2), ("merch", 2)]);
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut jitter = |max: Duration| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let span = max.num_seconds().max(0);
            Duration::seconds(i64::try_from(state >> 1).unwrap_or(0) % (2 * span + 1) - span)
        };
        let plan = assign(&minutes(1), Some(&mix), &CategoryCounts::new(), pool.clone(), &mut jitter);
        winners.insert(count_in(&plan, &pool, "memes"));
    }
    assert_eq!(winners.len(), 2, "the first slot of a 50/50 mix went the same way 32 times");
}

#[test]
fn a_category_that_ran_out_gives_way_to_the_next_one_behind() {
    // 40/40/20 with no `b` left: the slots go to a and c as 40:20, not to whatever is first.
    let mix = CategoryMix::parse("a=40 b=40 c=20").expect("mix");
    let pool = candidates(&[("a", 50), ("c", 50), ("z", 50)]);
    let plan = assign(&minutes(30), Some(&mix), &CategoryCounts::new(), pool.clone(), &mut NoJitter);
    assert_eq!(plan.len(), 30);
    assert_eq!(count_in(&plan, &pool, "z"), 0, "a category outside the mix only when the mix's are empty");
    let a = count_in(&plan, &pool, "a");
    assert!((19..=21).contains(&a), "a got {a} of 30");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_mix_holds_across_runs_of_any_size(a in 1u8..100, runs in vec(1usize..40, 1..10), seed in any::<u64>()) {
        let mix = CategoryMix::parse(&format!("a={a} b={}", 100 - a)).expect("mix");
        let mut so_far = CategoryCounts::new();
        let mut state = seed;
        let mut jitter = |max: Duration| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let span = max.num_seconds().max(0);
            Duration::seconds(i64::try_from(state >> 33).unwrap_or(0) % (2 * span + 1) - span)
        };
        for size in &runs {
            let pool = candidates(&[("a", 40), ("b", 40)]);
            let plan = assign(&minutes(*size), Some(&mix), &so_far, pool.clone(), &mut jitter);
            prop_assert_eq!(plan.len(), *size);
            *so_far.entry(category("a")).or_default() += count_in(&plan, &pool, "a");
            *so_far.entry(category("b")).or_default() += count_in(&plan, &pool, "b");
        }
        let total: usize = runs.iter().sum();
        let got = so_far.get(&category("a")).copied().unwrap_or(0);
        let expected = f64::from(a) * total as f64 / 100.0;
        prop_assert!((got as f64 - expected).abs() <= 1.0, "{} of {} for {}%", got, total, a);
    }
}
