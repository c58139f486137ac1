//! The decisions, one row per situation: what is known, and what must happen next.

use super::{
    AccountState, AfterRetry, Answer, Call, Container, Failure, Quota, Reason, Situation, Step, after_retry, next,
};
use crate::queue::MAX_SEND_ATTEMPTS;
use crate::reference::Reference;

fn r() -> Reference {
    Reference::new()
}

fn ready() -> AccountState {
    AccountState::Ready { account: "Brand (@brand)".to_owned(), chosen: true }
}

/// A new story with the API on, its account ready and quota left.
fn new_story() -> Situation {
    Situation { account: ready(), quota: Quota::Left, ..Situation::new(true, false, false, false) }
}

/// A story whose container an earlier try made.
fn kept() -> Situation {
    Situation { account: ready(), ..Situation::new(true, false, false, true) }
}

fn with(mut s: Situation, change: impl FnOnce(&mut Situation)) -> Situation {
    change(&mut s);
    s
}

fn codes(step: &Step) -> String {
    match step {
        Step::Fallback(reason) => format!("fallback {}", reason.key()),
        Step::Retry(reason) => format!("retry {}", reason.key()),
        other => format!("{other:?}"),
    }
}

#[test]
fn each_situation_decides_one_next_step() {
    let ref_ = r();
    let call = |call: Call, answer: Answer| Some(Failure::Call { call, answer, reference: ref_.clone() });
    let table: Vec<(&str, Situation, &str)> = vec![
        // Not the API's story.
        ("api off", Situation::new(false, false, false, false), "ByHand"),
        ("always by hand", Situation::new(true, false, true, false), "ByHand"),
        ("dry run with api off", Situation::new(false, true, false, false), "ByHand"),
        // A new story, step by step.
        ("nothing known", Situation::new(true, false, false, false), "FindAccount"),
        ("account ready", with(new_story(), |s| s.quota = Quota::NotAsked), "AskQuota"),
        ("quota left", new_story(), "MakeContainer"),
        ("container made", with(new_story(), |s| s.container = Container::Made), "AskStatus"),
        ("finished", with(new_story(), |s| s.container = Container::Finished), "Publish"),
        ("published", with(new_story(), |s| s.container = Container::Published), "Record"),
        (
            "finished in dry run",
            with(new_story(), |s| (s.dry_run, s.container) = (true, Container::Finished)),
            "DryRunDone",
        ),
        // A new story the API cannot take: by hand, with a reason.
        ("no account", with(new_story(), |s| s.account = AccountState::NoneSelected), "fallback no_account"),
        (
            "no token",
            with(new_story(), |s| s.account = AccountState::NoToken { account: "B".into() }),
            "fallback no_token:B",
        ),
        (
            "locked token",
            with(new_story(), |s| s.account = AccountState::TokenLocked { account: "B".into() }),
            "fallback token_locked:B",
        ),
        (
            "expired token",
            with(new_story(), |s| s.account = AccountState::TokenExpired { account: "B".into() }),
            "fallback token_expired:B",
        ),
        (
            "quota used up",
            with(new_story(), |s| s.quota = Quota::UsedUp { used: 25, total: 25 }),
            "fallback quota_used_up",
        ),
        ("media failed", with(new_story(), |s| s.container = Container::Failed(r())), "fallback media_not_processed"),
        (
            "media failed in dry run",
            with(new_story(), |s| (s.dry_run, s.container) = (true, Container::Failed(r()))),
            "fallback dry_run:media_not_processed",
        ),
        (
            "published unasked in dry run",
            with(new_story(), |s| (s.dry_run, s.container) = (true, Container::Published)),
            "fallback dry_run:published_unasked",
        ),
        ("no media url", with(new_story(), |s| s.failure = Some(Failure::MediaUrl(r()))), "fallback media_url"),
        (
            "token refused",
            with(new_story(), |s| s.failure = call(Call::Quota, Answer::TokenRefused)),
            "fallback token_refused:Brand (@brand)",
        ),
        (
            "rate limited",
            with(new_story(), |s| s.failure = call(Call::Container, Answer::RateLimited)),
            "fallback rate_limited",
        ),
        (
            "story refused",
            with(new_story(), |s| s.failure = call(Call::Container, Answer::Refused)),
            "fallback story_refused",
        ),
        (
            "publish refused",
            with(new_story(), |s| s.failure = call(Call::Publish, Answer::Refused)),
            "fallback story_refused",
        ),
        // A new story with a passing problem: the next tick.
        ("still processing", with(new_story(), |s| s.container = Container::InProgress), "retry still_processing"),
        ("new container expired", with(new_story(), |s| s.container = Container::Expired), "retry container_expired"),
        ("store failed", with(new_story(), |s| s.failure = Some(Failure::Store(r()))), "retry store_failed"),
        ("quota no answer", with(new_story(), |s| s.failure = call(Call::Quota, Answer::NoAnswer)), "retry no_answer"),
        (
            "publish no answer",
            with(new_story(), |s| s.failure = call(Call::Publish, Answer::NoAnswer)),
            "retry no_answer",
        ),
        // Asking a container's status never sends the story by hand: it may be published.
        (
            "status refused",
            with(new_story(), |s| s.failure = call(Call::Status, Answer::Refused)),
            "retry story_refused",
        ),
        (
            "status token refused",
            with(new_story(), |s| s.failure = call(Call::Status, Answer::TokenRefused)),
            "retry token_refused:Brand (@brand)",
        ),
        // Dry run never holds up the manual path.
        (
            "dry run still processing",
            with(new_story(), |s| (s.dry_run, s.container) = (true, Container::InProgress)),
            "fallback dry_run_unfinished:still_processing",
        ),
        (
            "dry run store failed",
            with(new_story(), |s| (s.dry_run, s.failure) = (true, Some(Failure::Store(r())))),
            "fallback dry_run_unfinished:store_failed",
        ),
        (
            "dry run status refused",
            with(new_story(), |s| (s.dry_run, s.failure) = (true, call(Call::Status, Answer::Refused))),
            "fallback story_refused",
        ),
        // A kept container: its status decides, before the toggles.
        ("kept, nothing known", Situation::new(false, false, true, true), "FindAccount"),
        ("kept, account ready", kept(), "AskStatus"),
        ("kept, account gone", with(kept(), |s| s.account = AccountState::Gone), "retry account_gone"),
        (
            "kept, no token",
            with(kept(), |s| s.account = AccountState::NoToken { account: "B".into() }),
            "retry no_token:B",
        ),
        (
            "kept, locked token",
            with(kept(), |s| s.account = AccountState::TokenLocked { account: "B".into() }),
            "retry token_locked:B",
        ),
        ("kept, published", with(kept(), |s| s.container = Container::Published), "Record"),
        (
            "kept, published with api off",
            with(kept(), |s| (s.api_on, s.container) = (false, Container::Published)),
            "Record",
        ),
        ("kept, finished", with(kept(), |s| s.container = Container::Finished), "Publish"),
        (
            "kept, finished, dry run on",
            with(kept(), |s| (s.dry_run, s.container) = (true, Container::Finished)),
            "fallback dry_run_turned_on",
        ),
        (
            "kept, finished, api off",
            with(kept(), |s| (s.api_on, s.container) = (false, Container::Finished)),
            "fallback api_turned_off",
        ),
        (
            "kept, finished, by hand",
            with(kept(), |s| (s.needs_interaction, s.container) = (true, Container::Finished)),
            "fallback marked_by_hand",
        ),
        (
            "kept, finished, switched",
            with(kept(), |s| {
                s.account = AccountState::Ready { account: "B".into(), chosen: false };
                s.container = Container::Finished;
            }),
            "fallback account_switched",
        ),
        ("kept, failed", with(kept(), |s| s.container = Container::Failed(r())), "fallback media_not_processed"),
        ("kept, expired", with(kept(), |s| s.container = Container::Expired), "fallback expired_unpublished"),
        ("kept, still processing", with(kept(), |s| s.container = Container::InProgress), "retry still_processing"),
        (
            "kept, status no answer",
            with(kept(), |s| s.failure = call(Call::Status, Answer::NoAnswer)),
            "retry no_answer",
        ),
        (
            "kept, status refused in dry run",
            with(kept(), |s| (s.dry_run, s.failure) = (true, call(Call::Status, Answer::Refused))),
            "retry story_refused",
        ),
        (
            "kept, store failed in dry run",
            with(kept(), |s| (s.dry_run, s.failure) = (true, Some(Failure::Store(r())))),
            "retry store_failed",
        ),
        (
            "kept, publish refused",
            with(kept(), |s| s.failure = call(Call::Publish, Answer::Refused)),
            "fallback story_refused",
        ),
        (
            "kept, publish no answer",
            with(kept(), |s| s.failure = call(Call::Publish, Answer::NoAnswer)),
            "retry no_answer",
        ),
    ];
    let mut wrong = Vec::new();
    for (name, situation, expected) in &table {
        let got = codes(&next(situation));
        if got != *expected {
            wrong.push(format!("{name}: expected {expected}, got {got}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn after(step: &AfterRetry) -> String {
    match step {
        AfterRetry::Retry(reason) => format!("retry {}", reason.key()),
        AfterRetry::GiveUp(reason) => format!("give up {}", reason.key()),
        AfterRetry::ByHand(reason) => format!("by hand {}", reason.key()),
    }
}

#[test]
fn the_last_try_gives_up_only_when_instagram_may_show_the_story() {
    let reason = || Reason::NoAnswer(r());
    for attempt in 1..MAX_SEND_ATTEMPTS {
        assert_eq!(after(&after_retry(reason(), attempt, true)), "retry no_answer", "try {attempt}");
        assert_eq!(after(&after_retry(reason(), attempt, false)), "retry no_answer", "try {attempt}");
    }
    assert_eq!(after(&after_retry(reason(), MAX_SEND_ATTEMPTS, true)), "give up no_answer");
    assert_eq!(after(&after_retry(reason(), MAX_SEND_ATTEMPTS, false)), "by hand no_answer");
}

#[test]
fn a_new_reference_for_the_same_cause_is_not_news() {
    assert_eq!(Reason::RateLimited(r()).key(), Reason::RateLimited(r()).key());
    assert_ne!(Reason::NoToken { account: "A".into() }.key(), Reason::NoToken { account: "B".into() }.key());
    let reference = r();
    assert_eq!(
        Reason::DryRunUnfinished(Box::new(Reason::StoreFailed(reference.clone()))).reference(),
        Some(&reference)
    );
    assert_eq!(Reason::NoAccount.reference(), None);
}
