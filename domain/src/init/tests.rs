use chrono::TimeZone;

use super::*;
use crate::settings::Hour;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).single().unwrap_or_default()
}

fn wizard() -> InitWizard {
    InitWizard::start(TelegramUserId(7), "  Brand\u{7} team ", &SettingsDefaults::default(), now())
}

fn window(start: u8, end: u8) -> Result<PostingWindow, Box<dyn std::error::Error>> {
    Ok(PostingWindow::new(Hour::new(start)?, Hour::new(end)?)?)
}

#[test]
fn the_wizard_suggests_the_chat_title_and_the_deployment_defaults() {
    let started = wizard();
    assert_eq!(started.step, InitStep::Name);
    assert_eq!(started.name, "Brand team", "trimmed, control characters removed");
    let defaults = SettingsDefaults::default();
    assert_eq!(
        (started.time_zone, started.posts_per_day, started.window),
        (defaults.time_zone, defaults.posts_per_day, defaults.window)
    );
    assert_eq!(started.expires_at, now() + WIZARD_LIFETIME);
    let untitled = InitWizard::start(TelegramUserId(7), "\u{0}", &defaults, now());
    assert_eq!(untitled.name, "Team");
}

#[test]
fn each_answer_moves_one_step_and_the_summary_founds_what_was_answered() -> Result<(), Box<dyn std::error::Error>> {
    let mut w = wizard();
    let later = now() + Duration::minutes(20);
    let answers = [
        InitAnswer::Name("Acme".into()),
        InitAnswer::TimeZone(Tz::Europe__Berlin),
        InitAnswer::PostsPerDay(PostsPerDay::new(5)?),
        InitAnswer::Window(window(9, 21)?),
        InitAnswer::Media(MediaChoice::S3),
        InitAnswer::Account(AccountChoice::Add),
    ];
    for (answer, step) in answers.into_iter().zip(InitStep::ALL.into_iter().skip(1)) {
        w.answer(answer, later)?;
        assert_eq!(w.step, step);
    }
    assert_eq!(w.expires_at, later + WIZARD_LIFETIME, "each answer restarts the lifetime");
    let owner = User { telegram_id: TelegramUserId(7), username: None, first_name: "Ann".into(), last_name: None };
    let founding = w.founding(owner.clone());
    assert_eq!(founding.name, "Acme");
    assert_eq!(founding.owner, owner);
    assert_eq!(founding.settings.time_zone, Tz::Europe__Berlin);
    assert_eq!(founding.settings.posts_per_day, PostsPerDay::new(5)?);
    assert_eq!(founding.settings.window, window(9, 21)?);
    assert_eq!((w.media, w.account), (MediaChoice::S3, AccountChoice::Add));
    Ok(())
}

#[test]
fn keep_takes_the_suggestion_and_back_returns_with_the_answers_kept() -> Result<(), InitError> {
    let mut w = wizard();
    w.answer(InitAnswer::Keep, now())?;
    assert_eq!((w.step, w.name.as_str()), (InitStep::TimeZone, "Brand team"));
    w.answer(InitAnswer::TimeZone(Tz::Asia__Tokyo), now())?;
    w.back(now());
    assert_eq!((w.step, w.time_zone), (InitStep::TimeZone, Tz::Asia__Tokyo));
    w.back(now());
    w.back(now());
    assert_eq!(w.step, InitStep::Name, "back stops at the first question");
    Ok(())
}

#[test]
fn a_wrong_answer_changes_nothing() {
    let mut w = wizard();
    let before = w.clone();
    assert_eq!(w.answer(InitAnswer::Name(String::new()), now()), Err(InitError::Name));
    assert_eq!(w.answer(InitAnswer::Name("x".repeat(MAX_NAME_CHARS + 1)), now()), Err(InitError::Name));
    assert_eq!(w.answer(InitAnswer::TimeZone(Tz::UTC), now()), Err(InitError::OtherStep));
    assert_eq!(w.answer(InitAnswer::Media(MediaChoice::Drive), now()), Err(InitError::OtherStep));
    assert_eq!(w, before);
    w.step = InitStep::Summary;
    assert_eq!(w.answer(InitAnswer::Keep, now()), Err(InitError::OtherStep), "the summary is confirmed, not kept");
    assert!(!w.expired(now() + WIZARD_LIFETIME - Duration::seconds(1)));
    assert!(w.expired(now() + WIZARD_LIFETIME));
}

#[test]
fn a_wizard_survives_being_stored_as_json() -> Result<(), serde_json::Error> {
    let mut w = wizard();
    w.message_id = Some(42);
    let text = serde_json::to_string(&w)?;
    assert_eq!(serde_json::from_str::<InitWizard>(&text)?, w);
    Ok(())
}

#[test]
fn progress_counts_the_six_questions() {
    assert_eq!(InitStep::Name.progress(), "1/6");
    assert_eq!(InitStep::Account.progress(), "6/6");
    assert_eq!(InitStep::Summary.next(), InitStep::Summary);
}
