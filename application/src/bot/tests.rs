//! The whole conversation on the in-memory stores and a recording chat: no network.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use storyline_domain::audit::AuditAction;
use storyline_domain::chat::{ButtonTarget, MessageId, PressId, Screen};
use storyline_domain::ports::{AuditQuery, MockSettingsStore, SettingsStore, StoreError, Users as _};
use storyline_domain::settings::{ChatSettings, SettingsDefaults};
use storyline_domain::user::{Role, User};
use storyline_memory::{ChatCall, ManualClock, MemoryStore, RecordingChat};

use super::*;

const TEAM: ChatId = ChatId(-100_200);
const ALICE: TelegramUserId = TelegramUserId(1);
const BOB: TelegramUserId = TelegramUserId(2);

struct World {
    bot: Bot,
    store: MemoryStore,
    chat: RecordingChat,
    clock: ManualClock,
    next: i32,
}

fn user(id: TelegramUserId, name: &str) -> User {
    User { telegram_id: id, username: Some(name.to_lowercase()), first_name: name.to_owned(), last_name: None }
}

fn name_of(id: TelegramUserId) -> &'static str {
    match id {
        ALICE => "Alice",
        BOB => "Bob",
        _ => "Carol",
    }
}

fn world_with(settings_store: Arc<dyn SettingsStore>, store: MemoryStore) -> World {
    let chat = RecordingChat::new();
    let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).single().unwrap_or_default());
    let settings = SettingsService::new(
        settings_store,
        Arc::new(store.clone()),
        Arc::new(clock.clone()),
        SettingsDefaults::default(),
    );
    let ports = BotPorts {
        users: Arc::new(store.clone()),
        audit: Arc::new(store.clone()),
        conversations: Arc::new(store.clone()),
        notifier: Arc::new(chat.clone()),
        admins: Arc::new(chat.clone()),
        clock: Arc::new(clock.clone()),
    };
    let config = BotConfig::team(TEAM, HashSet::from([ALICE]));
    World { bot: Bot::new(settings, ports, config), store, chat, clock, next: 100 }
}

fn world() -> World {
    let store = MemoryStore::new();
    world_with(Arc::new(store.clone()), store)
}

impl World {
    async fn say(&mut self, from: TelegramUserId, text: &str) {
        self.next += 1;
        let incoming = Incoming {
            chat: TEAM,
            chat_title: Some("The Team".to_owned()),
            from: Some(user(from, name_of(from))),
            event: Event::from_message(text, MessageId(self.next)),
        };
        self.bot.handle(incoming).await;
    }

    async fn press(&mut self, from: TelegramUserId, message: MessageId, data: &str) -> PressId {
        self.next += 1;
        let id = PressId(format!("press-{}", self.next));
        let incoming = Incoming {
            chat: TEAM,
            chat_title: None,
            from: Some(user(from, name_of(from))),
            event: Event::Press { id: id.clone(), data: data.to_owned(), message: Some(message) },
        };
        self.bot.handle(incoming).await;
        id
    }

    /// The last message the bot sent, with its id.
    fn last_sent(&self) -> (MessageId, Screen) {
        self.chat
            .calls()
            .into_iter()
            .rev()
            .find_map(|call| match call {
                ChatCall::Sent { message, screen, .. } => Some((message, screen)),
                _ => None,
            })
            .unwrap_or_else(|| panic!("the bot sent nothing: {:?}", self.chat.calls()))
    }

    fn answers(&self) -> Vec<String> {
        self.chat
            .calls()
            .into_iter()
            .filter_map(|call| match call {
                ChatCall::Answered { note, .. } => Some(note),
                _ => None,
            })
            .collect()
    }

    async fn settings(&self) -> ChatSettings {
        let workspace =
            self.store.workspace_by_chat(TEAM).await.ok().flatten().unwrap_or_else(|| panic!("no workspace"));
        self.store.settings(workspace.id).await.unwrap_or_else(|e| panic!("{e}"))
    }

    async fn workspace(&self) -> Workspace {
        self.store.workspace_by_chat(TEAM).await.ok().flatten().unwrap_or_else(|| panic!("no workspace"))
    }
}

fn button_data(screen: &Screen, label_part: &str) -> String {
    screen
        .buttons()
        .find_map(|b| match &b.target {
            ButtonTarget::Press(data) if b.label.contains(label_part) => Some(data.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no button {label_part:?} in {screen:?}"))
}

fn labels(screen: &Screen) -> Vec<String> {
    screen.buttons().map(|b| b.label.clone()).collect()
}

#[tokio::test]
async fn settings_shows_every_setting_and_a_toggle_flips_it_in_place() {
    let mut world = world();
    world.say(ALICE, "/settings").await;
    let (menu, screen) = world.last_sent();
    let text = screen.text.to_plain();
    for expected in [
        "Dry run: ON",
        "Instagram API: off",
        "Posting: Active",
        "Posts per day: 3",
        "14:00–02:00 (UTC)",
        "Instagram account: none selected",
        "Media source: Not set up",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
    let labels = labels(&screen);
    for expected in [
        "Dry run: ON",
        "Instagram API: off",
        "Active",
        "Posts/day: 3",
        "Hours:",
        "Zone: UTC",
        "Instagram account",
        "Status",
        "Close",
    ] {
        assert!(labels.iter().any(|l| l.contains(expected)), "{expected:?} missing from {labels:?}");
    }

    world.chat.clear_calls();
    world.press(ALICE, menu, &button_data(&screen, "Dry run")).await;
    assert_eq!(world.answers(), vec!["Dry run off"]);
    let edited = world.chat.message(TEAM, menu).unwrap_or_default();
    assert!(labels_contain(&edited, "Dry run: off"), "{edited:?}");
    assert!(!world.settings().await.dry_run, "the database agrees");

    world.press(ALICE, menu, &button_data(&edited, "Dry run")).await;
    assert!(world.settings().await.dry_run, "a second press flips it back");
}

fn labels_contain(screen: &Screen, part: &str) -> bool {
    screen.buttons().any(|b| b.label.contains(part))
}

#[tokio::test]
async fn a_member_pressing_a_toggle_is_told_admins_only_and_nothing_changes() {
    let mut world = world();
    world.say(BOB, "/settings").await;
    let (menu, screen) = world.last_sent();
    world.press(BOB, menu, &button_data(&screen, "Instagram API")).await;
    assert_eq!(world.answers(), vec![crate::access::SETTINGS_REFUSED]);
    assert!(!world.settings().await.instagram_api);
    assert_eq!(world.chat.message(TEAM, menu), Some(screen), "the menu is untouched");
}

#[tokio::test]
async fn chat_administrators_and_promoted_members_are_admins() {
    let mut world = world();
    world.say(BOB, "/settings").await;
    let (menu, screen) = world.last_sent();
    world.chat.set_admins(TEAM, vec![BOB]);
    world.press(BOB, menu, &button_data(&screen, "Instagram API")).await;
    assert!(world.settings().await.instagram_api, "a Telegram chat admin may change settings");

    let carol = TelegramUserId(3);
    let workspace = world.workspace().await;
    world
        .store
        .set_role(workspace.id, carol, Role::Admin, &Actor::Cli, world.clock.now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    world.press(carol, menu, &button_data(&screen, "Instagram API")).await;
    assert!(!world.settings().await.instagram_api, "a promoted member may change settings");
}

#[tokio::test]
async fn forged_stale_and_malformed_presses_change_nothing() {
    let mut world = world();
    world.say(ALICE, "/settings").await;
    let (menu, screen) = world.last_sent();
    let genuine = button_data(&screen, "Dry run");
    let other_workspace = Action::Toggle(Toggle::DryRun).encode(storyline_domain::WorkspaceId::new());
    for forged in [
        other_workspace.as_str(),
        "",
        "1:zzzzzzzz:t.dry",
        "0:abc:t.dry",
        &genuine.replace("t.dry", "t.nuke"),
        &"x".repeat(500),
        "🎉🎉",
    ] {
        world.chat.clear_calls();
        world.press(ALICE, menu, forged).await;
        assert_eq!(world.answers().len(), 1, "{forged:?} is answered once");
        assert!(world.answers()[0].contains("no longer valid"), "{forged:?}: {:?}", world.answers());
    }
    assert_eq!(world.settings().await, ChatSettings::from_defaults(&SettingsDefaults::default()));
}

#[tokio::test]
async fn change_posts_per_day_refuses_bad_answers_then_takes_a_good_one() {
    let mut world = world();
    world.say(ALICE, "/settings").await;
    let (menu, screen) = world.last_sent();
    world.press(ALICE, menu, &button_data(&screen, "Posts/day")).await;
    assert!(world.last_sent().1.text.to_plain().contains("from 1 to 50"));
    for bad in ["0", "abc", "", "51", "99999999999", "🎉"] {
        world.say(ALICE, bad).await;
        let said = world.last_sent().1.text.to_plain();
        assert!(said.contains("from 1 to 50") && said.contains("Nothing changed"), "{bad:?}: {said}");
    }
    assert_eq!(world.settings().await.posts_per_day.get(), 3);

    world.say(BOB, "9").await;
    assert_eq!(world.settings().await.posts_per_day.get(), 3, "only the person asked can answer");

    world.say(ALICE, "7").await;
    assert_eq!(world.settings().await.posts_per_day.get(), 7);
    assert!(world.last_sent().1.text.to_plain().contains("Posts per day: 3 → 7"));
    assert!(
        labels_contain(&world.chat.message(TEAM, menu).unwrap_or_default(), "Posts/day: 7"),
        "the menu is refreshed"
    );

    let sent_before = world.chat.calls().len();
    world.say(ALICE, "8").await;
    assert_eq!(world.chat.calls().len(), sent_before, "the prompt is used up: ordinary messages are not for the bot");
    assert_eq!(world.settings().await.posts_per_day.get(), 7);
}

#[tokio::test]
async fn change_posting_hours_and_time_zone() {
    let mut world = world();
    world.say(ALICE, "/settings").await;
    let (menu, screen) = world.last_sent();
    world.press(ALICE, menu, &button_data(&screen, "Hours")).await;
    world.say(ALICE, "5-5").await;
    assert!(world.last_sent().1.text.to_plain().contains("different hours"));
    world.say(ALICE, "22-3").await;
    let settings = world.settings().await;
    assert_eq!((settings.window.start().get(), settings.window.end().get()), (22, 3));

    world.press(ALICE, menu, &button_data(&screen, "Zone")).await;
    world.say(ALICE, "Mars/Olympus").await;
    assert!(world.last_sent().1.text.to_plain().contains("IANA"));
    world.say(ALICE, "Europe/Berlin").await;
    assert_eq!(world.settings().await.time_zone, chrono_tz::Europe::Berlin);
}

#[tokio::test]
async fn a_prompt_expires_after_ten_minutes_and_cancel_aborts_one() {
    let mut world = world();
    world.say(ALICE, "/settings").await;
    let (menu, screen) = world.last_sent();
    world.press(ALICE, menu, &button_data(&screen, "Posts/day")).await;
    world.clock.advance(Duration::minutes(11));
    world.say(ALICE, "7").await;
    assert_eq!(world.settings().await.posts_per_day.get(), 3, "expired");

    world.press(ALICE, menu, &button_data(&screen, "Posts/day")).await;
    world.say(ALICE, "Cancel").await;
    assert!(world.last_sent().1.text.to_plain().contains("Cancelled"));
    world.say(ALICE, "7").await;
    assert_eq!(world.settings().await.posts_per_day.get(), 3, "cancelled");
}

#[tokio::test]
async fn a_role_changed_by_another_process_counts_once_the_bot_hears_of_it() {
    let mut world = world();
    world.say(BOB, "/pause").await;
    assert!(!world.settings().await.is_paused(), "a member may not pause");
    // Another replica (or the command line) promotes Bob: this bot still has his old role.
    let workspace = world.workspace().await.id;
    world
        .store
        .set_role(workspace, BOB, Role::Admin, &Actor::Cli, world.clock.now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    world.say(BOB, "/pause").await;
    assert!(!world.settings().await.is_paused(), "the role read a moment ago is reused");
    // The change feed tells it: the next command counts with the new role.
    world.bot.forget_changed(&storyline_domain::ports::Changed::Member { workspace, user: BOB });
    world.say(BOB, "/pause").await;
    assert!(world.settings().await.is_paused(), "the promotion counts at once");
    world.say(BOB, "/resume").await;
    world
        .store
        .set_role(workspace, BOB, Role::Member, &Actor::Cli, world.clock.now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    world.bot.forget_changed(&storyline_domain::ports::Changed::Everything);
    world.say(BOB, "/pause").await;
    assert!(!world.settings().await.is_paused(), "a gap in the feed forgets every role");
}

#[tokio::test]
async fn pause_resume_and_dryrun_go_through_the_settings_use_case() {
    let mut world = world();
    world.say(ALICE, "/pause").await;
    let settings = world.settings().await;
    let pause = settings.pause.unwrap_or_else(|| panic!("not paused"));
    assert_eq!(pause.by, Actor::User(ALICE));
    assert_eq!(pause.at, world.clock.now());
    world.say(ALICE, "/pause").await;
    assert!(world.last_sent().1.text.to_plain().contains("already paused"));
    world.say(ALICE, "/resume").await;
    assert!(!world.settings().await.is_paused());
    world.say(ALICE, "/dryrun off").await;
    assert!(!world.settings().await.dry_run);
    world.say(ALICE, "/dryrun@storyline_bot on").await;
    assert!(world.settings().await.dry_run);
    world.say(ALICE, "/dryrun sideways").await;
    assert!(world.last_sent().1.text.to_plain().contains("/dryrun on"));
    world.say(BOB, "/pause").await;
    assert_eq!(world.last_sent().1.text.to_plain(), crate::access::SETTINGS_REFUSED);
    assert!(!world.settings().await.is_paused());

    let workspace = world.workspace().await;
    let changes =
        world.store.entries(workspace.id, AuditQuery { action: Some(AuditAction::Setting), limit: 100 }).await;
    let subjects: Vec<String> = changes.unwrap_or_default().into_iter().map(|e| e.subject).collect();
    assert_eq!(subjects, vec!["dry_run_mode", "dry_run_mode", "is_paused", "is_paused"]);
}

#[tokio::test]
async fn every_command_and_press_is_logged_and_users_are_recorded() {
    let mut world = world();
    world.say(BOB, "/help").await;
    world.say(BOB, "/status").await;
    let (menu, _) = world.last_sent();
    world.press(BOB, menu, "garbage").await;
    let workspace = world.workspace().await;
    let log = world.store.entries(workspace.id, AuditQuery { action: None, limit: 100 }).await.unwrap_or_default();
    let subjects: Vec<(AuditAction, String)> = log.into_iter().map(|e| (e.action, e.subject)).collect();
    assert_eq!(
        subjects,
        vec![
            (AuditAction::Button, "refused: garbage".to_owned()),
            (AuditAction::Command, "/status".to_owned()),
            (AuditAction::Command, "/help".to_owned()),
        ]
    );
    let bob = world.store.member(workspace.id, BOB).await.ok().flatten().unwrap_or_else(|| panic!("Bob not recorded"));
    assert_eq!((bob.user.first_name.as_str(), bob.role), ("Bob", Role::Member));
    assert_eq!(workspace.name, "The Team", "named after the chat");
}

#[tokio::test]
async fn other_chats_get_a_polite_refusal_and_no_workspace() {
    let world = world();
    let incoming = Incoming {
        chat: ChatId(555),
        chat_title: None,
        from: Some(user(BOB, "Bob")),
        event: Event::from_message("/settings", MessageId(1)),
    };
    world.bot.handle(incoming).await;
    assert!(world.last_sent().1.text.to_plain().contains("serves one team chat"));
    assert!(world.store.workspace_by_chat(ChatId(555)).await.ok().flatten().is_none());
}

#[tokio::test]
async fn a_channel_post_counts_as_an_admins() {
    let world = world();
    let incoming =
        Incoming { chat: TEAM, chat_title: None, from: None, event: Event::from_message("/pause", MessageId(1)) };
    world.bot.handle(incoming).await;
    let settings = world.settings().await;
    assert_eq!(settings.pause.map(|p| p.by), Some(Actor::Channel));
}

#[tokio::test]
async fn a_store_failure_is_answered_with_a_short_message_not_a_panic() {
    let mut failing = MockSettingsStore::new();
    failing.expect_workspace_by_chat().returning(|_| Ok(None));
    failing
        .expect_ensure_workspace()
        .returning(|_, _, _, _| Err(StoreError::unknown(anyhow::anyhow!("connection refused"))));
    let mut world = world_with(Arc::new(failing), MemoryStore::new());
    world.say(ALICE, "/settings").await;
    // The short sentence and a reference to the log line; never the store's words.
    let said = world.last_sent().1.text.to_plain();
    assert!(said.starts_with(GENERIC_FAILURE) && said.contains("(ref "), "{said}");
    assert!(!said.contains("connection refused"), "{said}");
    let press = world.press(ALICE, MessageId(1), "1:abc:t.dry").await;
    assert!(
        world.chat.calls().iter().any(|call| matches!(call, ChatCall::Answered { press: p, note, alert: true }
            if *p == press && note.starts_with(GENERIC_FAILURE) && note.contains("(ref "))),
        "{:?}",
        world.chat.calls()
    );
}

#[tokio::test]
async fn a_role_given_from_the_command_line_applies_within_ten_seconds() {
    let mut world = world();
    world.say(BOB, "/settings").await;
    let (menu, screen) = world.last_sent();
    let workspace = world.workspace().await;
    world
        .store
        .set_role(workspace.id, BOB, Role::Admin, &Actor::Cli, world.clock.now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    world.clock.advance(Duration::seconds(11));
    world.press(BOB, menu, &button_data(&screen, "Instagram API")).await;
    assert!(world.settings().await.instagram_api, "the promotion is seen once the recorded contact is older than 10 s");
}

#[tokio::test]
async fn dry_run_off_says_stories_stay_manual_while_the_instagram_api_is_off() {
    let mut world = world();
    world.say(ALICE, "/dryrun off").await;
    let said = world.last_sent().1.text.to_plain();
    assert!(!said.contains("published for real"), "{said}");
    assert!(said.contains("Instagram API is off") && said.contains("manual posting"), "{said}");
    assert!(!world.settings().await.dry_run);
}

#[tokio::test]
async fn switching_the_instagram_api_on_with_no_account_warns() {
    let mut world = world();
    world.say(ALICE, "/settings").await;
    let (menu, screen) = world.last_sent();
    world.chat.clear_calls();
    world.press(ALICE, menu, &button_data(&screen, "Instagram API")).await;
    assert!(world.settings().await.instagram_api, "the toggle still flips");
    let calls = world.chat.calls();
    let warned = calls.iter().find_map(|call| match call {
        ChatCall::Answered { note, alert, .. } => Some((note.clone(), *alert)),
        _ => None,
    });
    let (note, alert) = warned.unwrap_or_else(|| panic!("the press was not answered: {calls:?}"));
    assert!(note.starts_with("Instagram API ON, but no Instagram account is selected"), "{note}");
    assert!(alert, "a warning is shown as an alert");
    assert!(note.chars().count() <= 200, "Telegram shows 200 characters: {note}");

    // And /dryrun off now names what is missing instead of promising real publishing.
    world.say(ALICE, "/dryrun off").await;
    let said = world.last_sent().1.text.to_plain();
    assert!(said.contains("no Instagram account is selected") && !said.contains("published for real"), "{said}");

    world.chat.clear_calls();
    let edited = world.chat.message(TEAM, menu).unwrap_or_default();
    world.press(ALICE, menu, &button_data(&edited, "Instagram API")).await;
    assert_eq!(world.answers(), vec!["Instagram API off"], "switching it off needs no warning");
}

#[tokio::test]
async fn the_settings_menu_has_the_quick_actions_queue_schedule_status_and_close() {
    let mut world = world();
    world.say(ALICE, "/settings").await;
    let (_, screen) = world.last_sent();
    let last_row: Vec<String> =
        screen.rows.last().map(|row| row.iter().map(|b| b.label.clone()).collect()).unwrap_or_default();
    assert_eq!(last_row, vec!["🗓 Queue", "📅 Schedule", "📊 Status", "✖ Close"]);
}

#[tokio::test]
async fn while_the_database_is_down_updates_are_answered_at_once_until_a_probe_finds_it_back() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let down = Arc::new(AtomicBool::new(true));
    let asked = Arc::new(AtomicUsize::new(0));
    let mut flaky = MockSettingsStore::new();
    let (d, a) = (down.clone(), asked.clone());
    let answer = move |d: &AtomicBool, a: &AtomicUsize| {
        a.fetch_add(1, Ordering::SeqCst);
        if d.load(Ordering::SeqCst) {
            Err(StoreError::unreachable("PostgreSQL", std::io::Error::other("connection refused")))
        } else {
            Err(StoreError::unknown(anyhow::anyhow!("no such table")))
        }
    };
    flaky.expect_workspace_by_chat().returning(move |_| answer(&d, &a).map(|()| None));
    let (d, a) = (down.clone(), asked.clone());
    flaky.expect_ensure_workspace().returning(move |_, _, _, _| answer(&d, &a).and_then(|()| unreachable!()));
    let mut world = world_with(Arc::new(flaky), MemoryStore::new());

    let first = world.press(ALICE, MessageId(1), "1:abc:t.dry").await;
    assert!(world.chat.calls().contains(&ChatCall::Answered {
        press: first,
        note: DATABASE_DOWN.to_owned(),
        alert: true
    }));
    assert!(world.bot.database_is_down());
    let asked_once = asked.load(Ordering::SeqCst);
    let second = world.press(ALICE, MessageId(1), "1:abc:t.dry").await;
    assert!(world.chat.calls().contains(&ChatCall::Answered {
        press: second,
        note: DATABASE_DOWN.to_owned(),
        alert: true
    }));
    assert_eq!(asked.load(Ordering::SeqCst), asked_once, "known down: the store is not asked again");

    world.bot.probe_database().await;
    assert!(world.bot.database_is_down(), "still down");
    down.store(false, Ordering::SeqCst);
    world.bot.probe_database().await;
    assert!(!world.bot.database_is_down(), "a probe that gets an answer ends the outage");
    world.press(ALICE, MessageId(1), "1:abc:t.dry").await;
    assert!(asked.load(Ordering::SeqCst) > asked_once + 2, "updates reach the store again");
}

#[tokio::test]
async fn a_refusal_is_said_once_per_burst_to_one_person() {
    let mut world = world();
    for _ in 0..5 {
        world.say(BOB, "/frobnicate").await;
    }
    world.say(ALICE, "/frobnicate").await;
    let refusals = |world: &World| {
        world
            .chat
            .calls()
            .iter()
            .filter(|c| matches!(c, ChatCall::Sent { screen, .. } if screen.text.to_plain().contains("I don't know")))
            .count()
    };
    assert_eq!(refusals(&world), 2, "once for Bob, once for Alice");
    world.clock.advance(Duration::seconds(31));
    world.say(BOB, "/frobnicate").await;
    assert_eq!(refusals(&world), 3, "a new burst is answered again");
}

mod export;
mod import;
mod init;
mod limits;
mod refusals;
mod sources;

/// A source of one PNG for `/sync`, in memory.
struct OnePng;

#[async_trait::async_trait]
impl storyline_domain::ports::MediaSource for OnePng {
    async fn list(&self) -> Result<Vec<storyline_domain::ports::SourceEntry>, storyline_domain::ports::SourceError> {
        Ok(vec![storyline_domain::ports::SourceEntry {
            path: "memes/a.png".to_owned(),
            size_bytes: 100,
            checksum: Some("etag".to_owned()),
            modified: None,
        }])
    }

    async fn describe(
        &self,
        path: &str,
    ) -> Result<storyline_domain::ports::SourceFile, storyline_domain::ports::SourceError> {
        Ok(storyline_domain::ports::SourceFile {
            path: path.to_owned(),
            extension: "png".to_owned(),
            size_bytes: 100,
            sha256: "ab".repeat(32),
            content: storyline_domain::library::MediaContent::Still {
                format: storyline_domain::library::StillFormat::Png,
                width: 1080,
                height: 1920,
            },
        })
    }

    async fn read(&self, path: &str) -> Result<Vec<u8>, storyline_domain::ports::SourceError> {
        Err(storyline_domain::ports::SourceError::NotFound(path.to_owned()))
    }

    fn locate(&self, path: &str) -> String {
        path.to_owned()
    }
}

#[tokio::test]
async fn sync_is_for_admins_and_answers_with_the_summary() {
    let mut world = world();
    let mut sources = storyline_domain::ports::MockWorkspaceSources::new();
    sources.expect_source().returning(|_| Ok(Arc::new(OnePng)));
    let mut status = storyline_domain::ports::MockSourceStore::new();
    status.expect_sync_status().returning(|_| Ok(storyline_domain::source::SyncStatus::default()));
    status.expect_record_sync().returning(|_, _| Ok(()));
    let sync = SyncService::new(Arc::new(world.store.clone()), Arc::new(status), Arc::new(world.clock.clone()));
    world.bot = world.bot.with_sync(sync, Arc::new(sources));
    world.say(BOB, "/sync").await;
    assert_eq!(world.last_sent().1.text.to_plain(), crate::access::SYNC_REFUSED);
    world.say(ALICE, "/sync").await;
    assert_eq!(
        world.last_sent().1.text.to_plain(),
        "🔄 Library synced: 1 added, 0 moved, 0 removed, 0 reactivated, 0 refused, 0 unchanged."
    );
    world.say(ALICE, "/sync").await;
    assert_eq!(
        world.last_sent().1.text.to_plain(),
        "🔄 Library synced: 0 added, 0 moved, 0 removed, 0 reactivated, 0 refused, 1 unchanged."
    );
}
