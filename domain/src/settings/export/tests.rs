use chrono::TimeZone;

use super::*;
use crate::settings::{SettingKey, SettingValueError, SettingsDefaults};
use crate::user::TelegramUserId;

fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).single().unwrap_or_default()
}

fn settings() -> ChatSettings {
    ChatSettings::from_defaults(&SettingsDefaults::default())
}

/// A valid document, as JSON, for the refusals to break one field of.
fn document() -> serde_json::Value {
    serde_json::json!({
        "version": 1,
        "settings": {
            "dry_run_mode": false,
            "enable_instagram_api": true,
            "is_paused": true,
            "posts_per_day": 7,
            "posting_hours_start": 9,
            "posting_hours_end": 17,
            "posting_timezone": "Europe/Berlin"
        },
        "category_mix": { "memes": 70, "merch": 30 },
        "accounts": [{ "display_name": "Main", "instagram_account_id": "17841", "username": "brand" }],
        "media_source": { "kind": "s3", "bucket": "media", "region": "eu-west-1", "access_key_id": "AKIA" }
    })
}

/// Breaks one field of [`document`].
type Breaks = Box<dyn Fn(&mut serde_json::Value)>;

fn refused(document: &serde_json::Value) -> String {
    match parse(&document.to_string()) {
        Ok(import) => panic!("accepted {import:?}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn an_export_reads_back_as_the_same_settings() -> Result<(), Box<dyn std::error::Error>> {
    let mut current = settings();
    current.posts_per_day = PostsPerDay::new(12)?;
    current.window = PostingWindow::new(Hour::new(22)?, Hour::new(3)?)?;
    current.time_zone = Tz::America__New_York;
    current.pause = Some(Pause { at: noon(), by: Actor::User(TelegramUserId(5)) });
    let mix = CategoryMix::parse("memes=60 merch=40")?;
    let source = SourceConfig::Drive { folder_id: "1AbC".to_owned() };
    let json = SettingsExport::of(&current, Some(&mix), &[], Some(&source)).to_json();
    let import = parse(&json)?;
    assert_eq!(import.category_mix.as_ref(), Some(&mix));
    assert_eq!(import.media_source, Some(source));
    let (after, changes) = settings().imported(&import.settings, &Actor::Cli, noon());
    assert_eq!(after.value_of(SettingKey::PostsPerDay), "12");
    assert_eq!(after.window, current.window);
    assert_eq!(after.time_zone, current.time_zone);
    assert_eq!(after.pause, Some(Pause { at: noon(), by: Actor::Cli }), "a new pause is the importer's");
    assert_eq!(changes.len(), 5, "all but dry_run_mode: {changes:?}");
    assert!(diff(&current, Some(&mix), &import).is_empty(), "importing its own export changes nothing");
    Ok(())
}

#[test]
fn an_export_holds_no_token_field_and_no_secret_field() {
    let json = SettingsExport::of(&settings(), None, &[], None).to_json();
    for word in ["token", "secret", "password"] {
        assert!(!json.contains(word), "{json}");
    }
    assert!(json.contains("\"version\": 1"), "{json}");
}

#[test]
fn every_malformed_or_unknown_file_is_refused_naming_the_field() {
    for (text, expected) in [
        ("{", "the file is not JSON"),
        ("", "the file is not JSON"),
        ("[1, 2]", "must be a JSON object"),
        ("{}", "version: missing"),
    ] {
        let error = parse(text).map(|_| ()).expect_err(text).to_string();
        assert!(error.contains(expected), "{text:?}: {error}");
    }
    let cases: Vec<(&str, Breaks)> = vec![
        ("version: 2 is not a version", Box::new(|d| d["version"] = 2.into())),
        ("version: \"1\" is not a version", Box::new(|d| d["version"] = "1".into())),
        ("colour", Box::new(|d| d["colour"] = "red".into())),
        ("settings", Box::new(|d| d["settings"]["post_per_day"] = 3.into())),
        ("accounts[0]", Box::new(|d| d["accounts"][0]["access_token"] = "EAAB".into())),
        ("media_source", Box::new(|d| d["media_source"]["secret_access_key"] = "x".into())),
        (
            "settings: missing field `posting_timezone`",
            Box::new(|d| {
                d["settings"].as_object_mut().map(|o| o.remove("posting_timezone"));
            }),
        ),
        ("settings.posts_per_day", Box::new(|d| d["settings"]["posts_per_day"] = "seven".into())),
        ("settings.dry_run_mode", Box::new(|d| d["settings"]["dry_run_mode"] = "on".into())),
        ("settings.posts_per_day: posts per day must be a whole number from 1 to 50, not 0", {
            Box::new(|d| d["settings"]["posts_per_day"] = 0.into())
        }),
        ("settings.posts_per_day: posts per day must be a whole number from 1 to 50, not 51", {
            Box::new(|d| d["settings"]["posts_per_day"] = 51.into())
        }),
        ("settings.posting_hours_start: an hour must be a whole number from 0 to 23, not 24", {
            Box::new(|d| d["settings"]["posting_hours_start"] = 24.into())
        }),
        ("settings.posting_hours_end: an hour must be a whole number from 0 to 23, not -1", {
            Box::new(|d| d["settings"]["posting_hours_end"] = (-1).into())
        }),
        ("settings.posting_hours_end: the posting window must start and end at different hours", {
            Box::new(|d| d["settings"]["posting_hours_end"] = 9.into())
        }),
        ("settings.posting_timezone: unknown time zone \"Mars/Olympus\"", {
            Box::new(|d| d["settings"]["posting_timezone"] = "Mars/Olympus".into())
        }),
        ("category_mix.memes: 300 is not a whole percentage", Box::new(|d| d["category_mix"]["memes"] = 300.into())),
        ("category_mix: the percentages add up to 90", Box::new(|d| d["category_mix"]["memes"] = 60.into())),
        ("category_mix.Bad Name", Box::new(|d| d["category_mix"]["Bad Name"] = 0.into())),
        ("accounts[0].instagram_account_id", Box::new(|d| d["accounts"][0]["instagram_account_id"] = "@x".into())),
        ("accounts[0].username", Box::new(|d| d["accounts"][0]["username"] = "no spaces allowed".into())),
        ("media_source", Box::new(|d| d["media_source"]["kind"] = "ftp".into())),
    ];
    for (expected, break_it) in cases {
        let mut broken = document();
        break_it(&mut broken);
        let error = refused(&broken);
        assert!(error.contains(expected), "expected {expected:?} in {error:?}");
    }
}

#[test]
fn a_valid_document_passes() -> Result<(), ImportError> {
    let import = parse(&document().to_string())?;
    assert_eq!(import.settings.posts_per_day.get(), 7);
    assert_eq!(import.accounts.len(), 1);
    Ok(())
}

#[test]
fn echoed_values_are_cut_short() {
    let mut broken = document();
    broken["settings"]["posting_timezone"] = "x".repeat(10_000).into();
    assert!(refused(&broken).len() < 400);
    let mut broken = document();
    broken["version"] = "9".repeat(5_000).into();
    assert!(refused(&broken).len() < 200);
    assert!(parse(&"{".repeat(10_000)).map(|_| ()).expect_err("deep").to_string().len() < 200);
}

#[test]
fn the_diff_lists_each_changed_setting_and_the_mix() -> Result<(), Box<dyn std::error::Error>> {
    let import = parse(&document().to_string())?;
    let lines: Vec<String> = diff(&settings(), None, &import).iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        vec![
            "dry_run_mode: true → false",
            "enable_instagram_api: false → true",
            "is_paused: false → true",
            "posts_per_day: 3 → 7",
            "posting_hours_start: 14 → 9",
            "posting_hours_end: 2 → 17",
            "posting_timezone: UTC → Europe/Berlin",
            "category_mix: (none) → memes=70 merch=30",
        ]
    );
    let other = CategoryMix::parse("memes=50 merch=50")?;
    let changes = diff(&settings(), Some(&other), &import);
    assert_eq!(
        changes.last().map(ToString::to_string).as_deref(),
        Some("category_mix: memes=50 merch=50 → memes=70 merch=30")
    );
    Ok(())
}

#[test]
fn a_file_without_a_mix_keeps_the_current_one() -> Result<(), Box<dyn std::error::Error>> {
    let mut document = document();
    document["category_mix"] = serde_json::Value::Null;
    let import = parse(&document.to_string())?;
    let mix = CategoryMix::parse("memes=100")?;
    assert!(!diff(&settings(), Some(&mix), &import).iter().any(|c| matches!(c, ImportChange::Mix { .. })));
    Ok(())
}

#[test]
fn a_pause_in_force_keeps_who_and_when() -> Result<(), SettingValueError> {
    let mut current = settings();
    let pause = Pause { at: noon(), by: Actor::User(TelegramUserId(9)) };
    current.pause = Some(pause.clone());
    let values = ImportedSettings {
        dry_run: current.dry_run,
        instagram_api: current.instagram_api,
        paused: true,
        posts_per_day: current.posts_per_day,
        window: current.window,
        time_zone: current.time_zone,
    };
    let (after, changes) = current.imported(&values, &Actor::Cli, noon() + chrono::Duration::hours(1));
    assert_eq!(after.pause, Some(pause));
    assert!(changes.is_empty());
    Ok(())
}

#[test]
fn accounts_and_the_media_source_are_reported_not_imported() -> Result<(), ImportError> {
    let notes = not_imported(&parse(&document().to_string())?);
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("\"Main\" (17841 @brand): not imported") && notes[0].contains("add-instagram-account"));
    assert!(notes[1].contains("media source s3://media: not imported") && notes[1].contains("media-source set"));
    Ok(())
}
