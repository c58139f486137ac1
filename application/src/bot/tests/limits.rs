//! The limits on commands and presses (FEATURES T4), with the manual clock: a burst over the
//! limit is answered once, then ignored, and nothing of it is handled; after the refill it is
//! handled again; one person's burst leaves another alone, the chat's limit does not.

use super::*;
use crate::bot::limits::{Limiter, MAX_TRACKED, Verdict};

const CAROL: TelegramUserId = TelegramUserId(3);
const DAVE: TelegramUserId = TelegramUserId(4);

/// The usual world with `limits` (person, chat a minute; 0 is off).
fn limited(person: u32, chat: u32) -> World {
    let mut world = world();
    world.bot = world.bot.with_rate_limits(RateLimits::per_minute(person, chat));
    world
}

fn sent_texts(world: &World) -> Vec<String> {
    world
        .chat
        .calls()
        .into_iter()
        .filter_map(|call| match call {
            ChatCall::Sent { screen, .. } => Some(screen.text.to_plain()),
            _ => None,
        })
        .collect()
}

async fn audit_rows(world: &World) -> usize {
    let workspace = world.workspace().await;
    world.store.entries(workspace.id, AuditQuery { action: None, limit: 1000 }).await.map_or(0, |rows| rows.len())
}

#[tokio::test]
async fn a_burst_of_presses_over_a_persons_limit_is_answered_once_then_ignored_until_the_refill() {
    // 30 a minute: 10 at once, then one every 2 s.
    let mut world = limited(30, 0);
    world.say(ALICE, "/settings").await;
    let (menu, screen) = world.last_sent();
    let toggle = button_data(&screen, "Dry run");
    for _ in 0..9 {
        world.press(ALICE, menu, &toggle).await;
    }
    assert!(!world.settings().await.dry_run, "nine flips from on: off");
    let (audited, answered) = (audit_rows(&world).await, world.answers().len());
    world.chat.clear_calls();

    for _ in 0..5 {
        world.press(ALICE, menu, &toggle).await;
    }
    assert_eq!(world.answers(), vec!["Slow down: try again in 2 s."], "the first excess only: {answered}");
    assert!(world.chat.calls().len() == 1, "nothing else said or edited: {:?}", world.chat.calls());
    assert!(!world.settings().await.dry_run, "no press of the burst was handled");
    assert_eq!(audit_rows(&world).await, audited, "nor logged");

    world.clock.advance(Duration::seconds(2));
    world.chat.clear_calls();
    world.press(ALICE, menu, &toggle).await;
    assert!(world.settings().await.dry_run, "after the refill a press is handled again");
    assert_eq!(world.answers(), vec!["Dry run ON"]);
    world.press(ALICE, menu, &toggle).await;
    assert_eq!(
        world.answers(),
        vec!["Dry run ON".to_owned(), slow_down(storyline_domain::rate_limit::RetryAfter(Duration::seconds(2)))],
        "a new excess is told again"
    );
}

#[tokio::test]
async fn commands_over_the_limit_get_one_message_then_silence_and_are_not_logged() {
    let mut world = limited(30, 0);
    for _ in 0..10 {
        world.say(BOB, "/help").await;
    }
    let audited = audit_rows(&world).await;
    world.chat.clear_calls();
    for _ in 0..4 {
        world.say(BOB, "/help").await;
    }
    assert_eq!(sent_texts(&world), vec!["Slow down: try again in 2 s."]);
    assert_eq!(audit_rows(&world).await, audited, "refused commands are not handled, so not logged");
    // Plain messages are not counted: they are mostly not for the bot.
    world.say(BOB, "just chatting").await;
    assert_eq!(sent_texts(&world).len(), 1);

    world.clock.advance(Duration::seconds(20));
    world.chat.clear_calls();
    for _ in 0..10 {
        world.say(BOB, "/help").await;
    }
    assert_eq!(sent_texts(&world).len(), 10, "a full bucket again after 20 s quiet");
    assert!(sent_texts(&world).iter().all(|text| text.contains("Storyline")), "{:?}", sent_texts(&world));
}

#[tokio::test]
async fn one_persons_burst_leaves_another_alone_but_the_chats_limit_holds_everyone() {
    // A person: 10 at once; the chat: 20 at once.
    let mut world = limited(30, 60);
    for _ in 0..12 {
        world.say(ALICE, "/help").await;
    }
    assert_eq!(sent_texts(&world).iter().filter(|t| t.starts_with("Slow down")).count(), 1, "Alice is limited");
    world.chat.clear_calls();
    for _ in 0..10 {
        world.say(BOB, "/help").await;
    }
    assert!(sent_texts(&world).iter().all(|text| text.contains("Storyline")), "Bob is not: {:?}", sent_texts(&world));
    assert_eq!(sent_texts(&world).len(), 10);

    // Alice's refused commands took nothing from the chat: 20 were handled, and now it is full.
    world.chat.clear_calls();
    world.say(CAROL, "/help").await;
    world.say(CAROL, "/help").await;
    world.say(DAVE, "/help").await;
    assert_eq!(sent_texts(&world), vec!["Slow down: try again in 1 s."], "the chat's limit, told once");

    // With the chat refilled, Carol has her whole burst.
    world.clock.advance(Duration::seconds(20));
    world.chat.clear_calls();
    for _ in 0..10 {
        world.say(CAROL, "/help").await;
    }
    assert!(sent_texts(&world).iter().all(|text| text.contains("Storyline")), "{:?}", sent_texts(&world));
}

#[tokio::test]
async fn the_defaults_let_a_person_toggle_by_hand_and_zero_turns_a_limit_off() {
    let mut world = world();
    world.bot = world.bot.with_rate_limits(RateLimits::default());
    world.say(ALICE, "/settings").await;
    let (menu, screen) = world.last_sent();
    let toggle = button_data(&screen, "Dry run");
    world.clock.advance(Duration::seconds(2));
    // Ten quick presses, then one every two seconds for a minute.
    for n in 0..40 {
        if n >= 10 {
            world.clock.advance(Duration::seconds(2));
        }
        world.press(ALICE, menu, &toggle).await;
    }
    assert!(world.answers().iter().all(|a| !a.starts_with("Slow down")), "{:?}", world.answers());
    assert!(world.settings().await.dry_run, "forty flips from on: on");

    let mut off = limited(0, 0);
    for _ in 0..100 {
        off.say(ALICE, "/help").await;
    }
    assert_eq!(sent_texts(&off).len(), 100, "no limit at all");
    assert!(off.bot.limiter.is_none());
}

#[test]
fn a_press_the_chat_refuses_costs_the_person_nothing() {
    // A person: one every 20 s, one at once; the chat: one every 10 s, two at once.
    let limiter = Limiter::new(RateLimits::per_minute(3, 6));
    let start = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).single().unwrap_or_default();
    assert_eq!(limiter.check(TEAM, Some(ALICE), start), Verdict::Go);
    assert_eq!(limiter.check(TEAM, Some(BOB), start), Verdict::Go);
    let Verdict::Tell(wait) = limiter.check(TEAM, Some(CAROL), start) else { panic!("the chat is empty") };
    assert_eq!(wait.seconds(), 10);
    assert_eq!(limiter.check(TEAM, Some(DAVE), start), Verdict::Quiet, "the chat's burst, told once");
    let later = start + Duration::seconds(10);
    assert_eq!(limiter.check(TEAM, Some(CAROL), later), Verdict::Go, "Carol's token was given back");
    assert_eq!(limiter.check(ChatId(-1), Some(ALICE), later), Verdict::Go, "another chat: other buckets");
}

#[test]
fn buckets_full_again_are_forgotten_and_past_the_bound_newcomers_go_untracked() {
    let limiter = Limiter::new(RateLimits::per_minute(30, 0));
    let start = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).single().unwrap_or_default();
    for person in 0..100 {
        assert_eq!(limiter.check(TEAM, Some(TelegramUserId(person)), start), Verdict::Go);
    }
    assert_eq!(limiter.tracked(), 100);
    // One token each, back after 2 s; the sweep comes a minute after the last.
    let later = start + Duration::minutes(1);
    assert_eq!(limiter.check(TEAM, Some(ALICE), later), Verdict::Go);
    assert_eq!(limiter.tracked(), 1, "only Alice's bucket, just taken from");

    let full = Limiter::new(RateLimits::per_minute(30, 0));
    let max = i64::try_from(MAX_TRACKED).unwrap_or(i64::MAX);
    for person in 0..max {
        full.check(TEAM, Some(TelegramUserId(person)), start);
    }
    for _ in 0..20 {
        assert_eq!(full.check(TEAM, Some(TelegramUserId(-1)), start), Verdict::Go, "not tracked: let through");
    }
    assert_eq!(full.tracked(), MAX_TRACKED);
    for _ in 0..10 {
        full.check(TEAM, Some(TelegramUserId(0)), start);
    }
    assert!(
        matches!(full.check(TEAM, Some(TelegramUserId(0)), start), Verdict::Tell(_) | Verdict::Quiet),
        "a tracked person still is limited"
    );
}
