use chrono::TimeZone;

use super::*;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).single().unwrap_or_default() + TimeDelta::milliseconds(seconds * 1000)
}

fn rate(per_minute: u32) -> Rate {
    Rate::per_minute(per_minute).unwrap_or_else(|| panic!("{per_minute} is a rate"))
}

#[test]
fn zero_is_no_limit_and_a_bucket_holds_twenty_seconds_worth() {
    assert_eq!(Rate::per_minute(0), None);
    assert_eq!(rate(30).capacity(), 10);
    assert_eq!(rate(120).capacity(), 40);
    assert_eq!(rate(2).capacity(), 1, "at least one");
}

#[test]
fn a_full_bucket_allows_its_burst_then_refuses_with_the_time_to_the_next_token() {
    let mut bucket = TokenBucket::full(rate(30), at(0));
    for n in 0..10 {
        assert_eq!(bucket.try_take(at(0)), Ok(()), "take {n}");
    }
    // 30 a minute: one token every 2 s.
    assert_eq!(bucket.try_take(at(0)), Err(RetryAfter(TimeDelta::seconds(2))));
    let Err(wait) = bucket.try_take(at(0) + TimeDelta::milliseconds(500)) else { panic!("still empty") };
    assert_eq!(wait, RetryAfter(TimeDelta::milliseconds(1500)));
    assert_eq!(wait.seconds(), 2, "rounded up");
    assert_eq!(bucket.try_take(at(2)), Ok(()), "one token after 2 s");
    assert!(bucket.try_take(at(2)).is_err(), "and only one");
}

#[test]
fn a_refusal_takes_nothing_and_a_quiet_bucket_fills_up_to_its_capacity_only() {
    let mut bucket = TokenBucket::full(rate(60), at(0));
    for _ in 0..20 {
        assert!(bucket.try_take(at(0)).is_ok());
    }
    for _ in 0..100 {
        assert!(bucket.try_take(at(0)).is_err());
    }
    assert!(bucket.try_take(at(1)).is_ok(), "refusals did not dig a hole");
    assert!(!bucket.is_full(at(20)));
    assert!(bucket.is_full(at(21)), "20 tokens back 20 s after the last take");
    let taken = (0..100).filter(|_| bucket.try_take(at(3600)).is_ok()).count();
    assert_eq!(taken, 20, "an hour's quiet still allows only the capacity");
}

#[test]
fn a_token_given_back_is_there_again_and_a_clock_going_back_gains_nothing() {
    let mut bucket = TokenBucket::full(rate(3), at(10));
    assert!(bucket.try_take(at(10)).is_ok());
    bucket.give_back(at(10));
    assert!(bucket.try_take(at(10)).is_ok());
    assert!(bucket.try_take(at(0)).is_err(), "earlier than the last take: no refill");
    assert_eq!(bucket.try_take(at(10)).map_err(RetryAfter::seconds), Err(20));
    assert!(bucket.try_take(at(30)).is_ok());
}

#[test]
fn the_wait_is_told_in_whole_seconds_rounded_up() {
    assert_eq!(RetryAfter(TimeDelta::microseconds(1)).seconds(), 1);
    assert_eq!(RetryAfter(TimeDelta::seconds(5)).seconds(), 5);
    assert_eq!(RetryAfter(TimeDelta::milliseconds(5001)).seconds(), 6);
    assert_eq!(RetryAfter(TimeDelta::zero()).seconds(), 1);
}
