//! `/settings import`: the file sent as a document, its changes shown, applied on Apply only,
//! by the person who asked; every refusal names what is wrong and changes nothing.

use serde_json::json;
use storyline_domain::chat::SentFile;

use super::*;
use crate::access::IMPORT_REFUSED;
use crate::bot::import::IMPORT_GONE;

fn importing() -> World {
    let World { bot, store, chat, clock, next } = super::export::exporting();
    World { bot: bot.with_files(Arc::new(chat.clone())), store, chat, clock, next }
}

/// A settings file with posts/day 7 and hours 10 to 18, the rest as the defaults.
fn file(posts_per_day: i64) -> String {
    json!({
        "version": 1,
        "settings": {
            "dry_run_mode": true, "enable_instagram_api": false, "is_paused": false,
            "posts_per_day": posts_per_day, "posting_hours_start": 10, "posting_hours_end": 18,
            "posting_timezone": "Europe/Berlin",
        },
        "accounts": [{ "display_name": "Brand", "instagram_account_id": "17841400000000001" }],
    })
    .to_string()
}

impl World {
    /// `from` sends `bytes` as a document with id `id`.
    async fn send_file(&mut self, from: TelegramUserId, id: &str, bytes: &[u8]) {
        self.chat.put_file(id, bytes.to_vec());
        self.next += 1;
        let file = SentFile { id: id.to_owned(), name: Some("settings.json".into()), size: Some(bytes.len() as u64) };
        let incoming = Incoming {
            chat: TEAM,
            chat_title: Some("The Team".to_owned()),
            from: Some(user(from, name_of(from))),
            event: Event::Document { file, caption: String::new(), message: MessageId(self.next) },
        };
        self.bot.handle(incoming).await;
    }

    async fn import_audits(&self) -> usize {
        let query = AuditQuery { action: Some(AuditAction::Setting), limit: 100 };
        let workspace = self.workspace().await;
        self.store.entries(workspace.id, query).await.map(|e| e.len()).unwrap_or_default()
    }
}

#[tokio::test]
async fn a_file_shows_its_changes_and_apply_imports_them_in_place() {
    let mut world = importing();
    world.say(ALICE, "/settings import").await;
    assert!(world.last_sent().1.text.to_plain().contains("Send the settings file"), "{:?}", world.last_sent());
    let before = world.settings().await;
    world.send_file(ALICE, "f1", file(7).as_bytes()).await;
    let (shown, screen) = world.last_sent();
    let text = screen.text.to_plain();
    assert!(text.contains("Posts per day: 3 → 7"), "{text}");
    assert!(text.contains("Posting hours start: 14 → 10") && text.contains("Posting hours end: 2 → 18"), "{text}");
    assert!(text.contains("Time zone: UTC → Europe/Berlin"), "{text}");
    assert!(text.contains("account \"Brand\"") && text.contains("not imported"), "{text}");
    assert_eq!(world.settings().await, before, "nothing changes before Apply");

    world.press(ALICE, shown, &button_data(&screen, "Apply")).await;
    let after = world.settings().await;
    assert_eq!(
        (after.posts_per_day.get(), after.window.start().get(), after.window.end().get()),
        (7, 10, 18),
        "{after:?}"
    );
    assert_eq!(after.time_zone.name(), "Europe/Berlin");
    assert_eq!(world.answers().last().map(String::as_str), Some("Imported"));
    let edited = world.chat.message(TEAM, shown).unwrap_or_default();
    assert!(edited.text.to_plain().starts_with("✅ Imported:"), "{edited:?}");
    assert!(edited.rows.is_empty(), "Apply and Cancel are gone");
    assert_eq!(world.import_audits().await, 4, "one audit entry per setting changed");

    // The same button again: the import is over, nothing more happens.
    world.press(ALICE, shown, &button_data(&screen, "Apply")).await;
    assert_eq!(world.answers().last().map(String::as_str), Some(IMPORT_GONE));
    assert_eq!(world.import_audits().await, 4);
}

#[tokio::test]
async fn cancel_by_button_or_by_word_changes_nothing() {
    let mut world = importing();
    world.say(ALICE, "/import").await;
    let before = world.settings().await;
    world.send_file(ALICE, "f1", file(7).as_bytes()).await;
    let (shown, screen) = world.last_sent();
    world.press(ALICE, shown, &button_data(&screen, "Cancel")).await;
    let edited = world.chat.message(TEAM, shown).unwrap_or_default();
    assert_eq!(edited.text.to_plain(), "Import cancelled; nothing changed.");
    world.press(ALICE, shown, &button_data(&screen, "Apply")).await;
    assert_eq!(world.answers().last().map(String::as_str), Some(IMPORT_GONE));

    world.say(ALICE, "/settings import").await;
    world.send_file(ALICE, "f2", file(9).as_bytes()).await;
    let (shown, screen) = world.last_sent();
    world.say(ALICE, "cancel").await;
    assert_eq!(
        world.chat.message(TEAM, shown).map(|s| s.text.to_plain()).as_deref(),
        Some("Import cancelled; nothing changed.")
    );
    world.press(ALICE, shown, &button_data(&screen, "Apply")).await;
    assert_eq!(world.answers().last().map(String::as_str), Some(IMPORT_GONE));
    assert_eq!(world.settings().await, before);
    assert_eq!(world.import_audits().await, 0);
}

#[tokio::test]
async fn a_bad_file_is_refused_naming_the_field_and_a_corrected_one_is_taken() {
    let mut world = importing();
    world.say(ALICE, "/settings import").await;
    let before = world.settings().await;
    let mut unknown_key: serde_json::Value = serde_json::from_str(&file(7)).unwrap_or_default();
    unknown_key["settings"]["colour"] = json!("red");
    let unknown_key = unknown_key.to_string();
    let out_of_range = file(99);
    let cases: [(&[u8], &str); 5] = [
        (b"{ not json", "Not imported:"),
        (br#"{"version": 9, "settings": {}}"#, "version"),
        (out_of_range.as_bytes(), "posts_per_day"),
        (unknown_key.as_bytes(), "colour"),
        (&[0xff, 0xfe, 0x00], "not text"),
    ];
    for (bytes, named) in cases {
        world.send_file(ALICE, "bad", bytes).await;
        let said = world.last_sent().1.text.to_plain();
        assert!(said.contains(named) && said.contains("Nothing changed"), "{named}: {said}");
        assert!(world.last_sent().1.rows.is_empty(), "no Apply for a refused file");
    }
    assert_eq!(world.settings().await, before);
    // The prompt is still there: the corrected file is taken.
    world.send_file(ALICE, "good", file(5).as_bytes()).await;
    assert!(world.last_sent().1.text.to_plain().contains("Posts per day: 3 → 5"), "{:?}", world.last_sent());
}

#[tokio::test]
async fn a_file_over_the_limit_is_not_fetched() {
    let mut world = importing();
    world.say(ALICE, "/settings import").await;
    world.next += 1;
    let file = SentFile { id: "huge".into(), name: Some("big.json".into()), size: Some(5 * 1024 * 1024) };
    let incoming = Incoming {
        chat: TEAM,
        chat_title: None,
        from: Some(user(ALICE, "Alice")),
        event: Event::Document { file, caption: String::new(), message: MessageId(world.next) },
    };
    world.bot.handle(incoming).await;
    assert!(world.last_sent().1.text.to_plain().contains("over 1 MB"), "{:?}", world.last_sent());
    assert_eq!(world.chat.fetches(), 0);
}

#[tokio::test]
async fn files_nobody_asked_for_are_not_fetched_and_others_cannot_apply() {
    let mut world = importing();
    world.say(ALICE, "/settings").await;
    world.chat.clear_calls();
    // A file shared in the chat, with no import under way: not for the bot.
    world.send_file(ALICE, "holiday", b"{}").await;
    world.send_file(BOB, "holiday", b"{}").await;
    assert_eq!(world.chat.fetches(), 0);
    assert!(world.chat.calls().is_empty(), "{:?}", world.chat.calls());

    // A member may not start one.
    world.say(BOB, "/settings import").await;
    assert_eq!(world.last_sent().1.text.to_plain(), IMPORT_REFUSED);
    world.send_file(BOB, "f0", file(7).as_bytes()).await;
    assert_eq!(world.chat.fetches(), 0);

    // Alice's import: Bob's file does not answer it, and Bob cannot press Apply.
    world.say(ALICE, "/settings import").await;
    world.send_file(BOB, "f1", file(8).as_bytes()).await;
    assert_eq!(world.chat.fetches(), 0);
    world.send_file(ALICE, "f2", file(7).as_bytes()).await;
    let (shown, screen) = world.last_sent();
    world.press(BOB, shown, &button_data(&screen, "Apply")).await;
    assert_eq!(world.answers().last().map(String::as_str), Some(crate::access::IMPORT_REFUSED));
    let (workspace, now) = (world.workspace().await.id, world.clock.now());
    world.store.set_role(workspace, BOB, Role::Admin, &Actor::Cli, now).await.unwrap_or_else(|e| panic!("{e}"));
    world.clock.advance(Duration::seconds(11));
    world.press(BOB, shown, &button_data(&screen, "Apply")).await;
    assert_eq!(world.answers().last().map(String::as_str), Some(IMPORT_GONE), "an admin, but not his import");
    assert_eq!(world.settings().await.posts_per_day.get(), 3);
    // Text while the changes wait: a hint, nothing else.
    world.say(ALICE, "what now?").await;
    assert!(world.last_sent().1.text.to_plain().contains("Press Apply or Cancel"), "{:?}", world.last_sent());
    // Forged: Apply under another message.
    world.press(ALICE, MessageId(1), &button_data(&screen, "Apply")).await;
    assert_eq!(world.answers().last().map(String::as_str), Some(IMPORT_GONE));
    world.press(ALICE, shown, &button_data(&screen, "Apply")).await;
    assert_eq!(world.settings().await.posts_per_day.get(), 7);
}

#[tokio::test]
async fn an_import_expires_and_without_files_the_chat_is_pointed_to_the_command_line() {
    let mut world = importing();
    world.say(ALICE, "/settings import").await;
    world.send_file(ALICE, "f1", file(7).as_bytes()).await;
    let (shown, screen) = world.last_sent();
    world.clock.advance(Duration::minutes(11));
    world.press(ALICE, shown, &button_data(&screen, "Apply")).await;
    assert_eq!(world.answers().last().map(String::as_str), Some(IMPORT_GONE));
    assert_eq!(world.settings().await.posts_per_day.get(), 3);

    let mut plain = super::export::exporting();
    plain.say(ALICE, "/settings import").await;
    assert!(plain.last_sent().1.text.to_plain().contains("storyline settings import FILE"), "{:?}", plain.last_sent());
}

#[tokio::test]
async fn a_file_that_is_not_an_import_is_read_as_its_caption_so_a_token_in_it_is_deleted() {
    let mut world = importing();
    world.say(ALICE, "/settings").await;
    world.chat.clear_calls();
    world.next += 1;
    let token = format!("EAAB{}", "x".repeat(60));
    let file = SentFile { id: "cap".into(), name: Some("notes.txt".into()), size: Some(10) };
    let message = MessageId(world.next);
    let incoming = Incoming {
        chat: TEAM,
        chat_title: None,
        from: Some(user(BOB, "Bob")),
        event: Event::Document { file, caption: format!("here it is {token}"), message },
    };
    world.bot.handle(incoming).await;
    assert!(world.chat.delete_attempts().contains(&(TEAM, message)), "{:?}", world.chat.calls());
    assert!(world.last_sent().1.text.to_plain().contains("looked like an access token"), "{:?}", world.last_sent());
    assert_eq!(world.chat.fetches(), 0, "the file itself is not fetched");
}
