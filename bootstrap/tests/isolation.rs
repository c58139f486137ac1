//! The isolation proof (FEATURES T2): two workspaces in one database, set up alike — the same
//! name, the same media file names and contents, the same account display name, a queue for the
//! same days, the same settings — and everything driven from one of them: every command, every
//! button on the menus reached (prompts answered), the `/init` wizard in a third chat, the CLI
//! with `--chat`, the background loops. The other's rows, read through every store port
//! ([`Snapshot`]), are exactly as before. Forged presses naming the other workspace change
//! nothing; each workspace's stories go to its own chat; each scheduler reads its own settings.
//! On SQLite and PostgreSQL: test names read `backend::behaviour`.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, ensure};
use chrono::Utc;
use serde_json::Value;
use storyline_application::command::CommandName;
use storyline_domain::account::{DisplayName, InstagramUserId, LoginKind, NewAccount, NewToken, Username, parse_token};
use storyline_domain::audit::AuditAction;
use storyline_domain::library::CategoryMix;
use storyline_domain::ports::MediaQuery;
use storyline_domain::queue::QueueStatus;
use storyline_domain::settings::{Hour, PostingWindow, PostsPerDay, SettingChange, SettingsDefaults, Toggle};
use storyline_domain::user::{Actor, Role, TelegramUserId};
use storyline_domain::{ChatId, Workspace};
use storyline_tests::app::{TestBot, config_with};
use storyline_tests::fake_telegram::{FakeTelegram, FakeUser};
use storyline_tests::files::jpeg;
use storyline_tests::snapshot::Snapshot;
use storyline_tests::{Backend, TestResult};

/// Long enough for Telegram's limit of 20 messages a minute in a group, which the bot keeps to.
const WAIT: Duration = Duration::from_secs(120);
/// The workspace everything is driven from, the one that must stay as it was, and a chat
/// without a workspace for `/init`.
const A: i64 = -100_601;
const B: i64 = -100_602;
const C: i64 = -100_603;
/// More presses than the menus of one workspace offer: a crawl that goes on past it loops.
const MAX_PRESSES: usize = 400;
/// The buttons that only open another screen.
const NAVIGATION: [&str; 6] = ["acct", "queue", "sched", "status", "settings", "m.src"];
/// Files in each workspace's folder: the same names and contents in both.
const MEDIA_FILES: usize = 20;
/// What the bot sends or edits in a chat.
const SHOWN: [&str; 6] =
    ["sendMessage", "editMessageText", "editMessageCaption", "sendPhoto", "sendVideo", "sendDocument"];

/// A's owner.
fn ann() -> FakeUser {
    FakeUser::new(41, "Ann").with_username("ann")
}

/// B's owner.
fn bob() -> FakeUser {
    FakeUser::new(42, "Bob").with_username("bob")
}

fn known() -> [TelegramUserId; 2] {
    [TelegramUserId(ann().id), TelegramUserId(bob().id)]
}

/// Two workspaces alike, each with its own media folder under `media`.
struct Pair {
    a: Workspace,
    b: Workspace,
    media: tempfile::TempDir,
}

impl Pair {
    async fn snapshots(&self, backend: &Backend) -> anyhow::Result<(Snapshot, Snapshot)> {
        let stores = backend.reopen().await?;
        let now = Utc::now();
        Ok((
            Snapshot::of(&stores, self.a.id, now, &known()).await?,
            Snapshot::of(&stores, self.b.id, now, &known()).await?,
        ))
    }

    fn folder(&self, chat: i64) -> std::path::PathBuf {
        self.media.path().join(chat.to_string())
    }
}

/// The real binary on `backend`'s database, talking to `telegram`; its standard output, once it
/// succeeded.
fn cli(backend: &Backend, telegram: &FakeTelegram, media: &Path, args: &[&str]) -> anyhow::Result<String> {
    let url = backend.database_url().context("needs a database")?;
    let output = Command::new(env!("CARGO_BIN_EXE_storyline"))
        .args(args)
        .current_dir(media)
        .env_clear()
        .env("DATABASE_URL", url)
        .env("ENCRYPTION_KEY", backend.encryption_key())
        .env("MEDIA_DIR", media)
        .env("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN)
        .env("TELEGRAM_API_URL", telegram.api_url())
        .output()?;
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    ensure!(output.status.success(), "storyline {args:?}: {}{}", text(&output.stderr), text(&output.stdout));
    Ok(text(&output.stdout))
}

/// Sets up a workspace for `chat` owned by `owner`: paused (so no loop posts its stories on its
/// own), 3 stories a day from 09:00 to 21:00 UTC, its own folder of the same files, the
/// same mix, an account "Main" and three days queued.
async fn workspace(
    backend: &Backend,
    telegram: &FakeTelegram,
    media: &Path,
    chat: i64,
    owner: &FakeUser,
) -> anyhow::Result<Workspace> {
    let stores = backend.stores();
    let now = Utc::now();
    let defaults = SettingsDefaults {
        posts_per_day: PostsPerDay::new(3)?,
        window: PostingWindow::new(Hour::new(9)?, Hour::new(21)?)?,
        time_zone: chrono_tz::UTC,
        ..SettingsDefaults::default()
    };
    let workspace = stores.settings.ensure_workspace(ChatId(chat), "Team", &defaults, now).await?;
    stores.settings.apply(workspace.id, SettingChange::Set(Toggle::Paused, true), &Actor::Cli, now).await?;
    stores.users.set_role(workspace.id, TelegramUserId(owner.id), Role::Owner, &Actor::Cli, now).await?;
    let folder = media.join(chat.to_string());
    for n in 0..MEDIA_FILES {
        let category = if n % 5 < 3 { "memes" } else { "merch" };
        let file = folder.join(format!("{category}/{n}.jpg"));
        std::fs::create_dir_all(file.parent().context("a folder")?)?;
        std::fs::write(file, jpeg(1080, 1920, &n.to_string()))?;
    }
    let chat = chat.to_string();
    cli(backend, telegram, media, &["media-source", "set", "local", &folder.display().to_string(), "--chat", &chat])?;
    cli(backend, telegram, media, &["sync-media", "--chat", &chat])?;
    stores.library.set_mix(workspace.id, &CategoryMix::parse("memes=60 merch=40")?, &Actor::Cli, now).await?;
    let account = NewAccount {
        display_name: DisplayName::new("Main")?,
        instagram_id: InstagramUserId::new("17841400000000001")?,
        username: Some(Username::new("main")?),
        login: LoginKind::Instagram,
    };
    let token = NewToken {
        token: parse_token("IGQVJSameTokenInBothSecretTokenValue0123456789")?,
        expires_at: Some(now + chrono::Duration::days(50)),
        checked: true,
    };
    stores.accounts.add(workspace.id, &account, &token, true, &Actor::Cli, now).await?;
    cli(backend, telegram, media, &["create-schedule", "--days", "3", "--chat", &chat])?;
    // One story fell due while paused: `/resume` asks what becomes of it.
    let queued: HashSet<_> = stores.queue.entries(workspace.id, 100).await?.into_iter().map(|e| e.item.media).collect();
    let all = stores.library.media(workspace.id, &MediaQuery { category: None, limit: 100 }).await?;
    let spare = all.iter().find(|m| !queued.contains(&m.id)).context("a media item not queued")?;
    stores.queue.enqueue(workspace.id, &[(now - chrono::Duration::minutes(30), spare.id)]).await?;
    Ok(workspace)
}

async fn pair(backend: &Backend, telegram: &FakeTelegram) -> anyhow::Result<Pair> {
    let media = tempfile::tempdir()?;
    let a = workspace(backend, telegram, media.path(), A, &ann()).await?;
    let b = workspace(backend, telegram, media.path(), B, &bob()).await?;
    Ok(Pair { a, b, media })
}

/// The bot serving every chat with a workspace (no TELEGRAM_CHAT_ID), without rate limits, its
/// posting loop ticking every second.
fn start(telegram: &FakeTelegram, backend: &Backend, media: &Path) -> anyhow::Result<TestBot> {
    let url = backend.database_url().context("an end-to-end test needs a database")?;
    let config = config_with(
        telegram,
        url,
        &[
            ("TELEGRAM_CHAT_ID", None),
            ("ADMIN_TELEGRAM_USER_IDS", None),
            ("MEDIA_DIR", Some(media.display().to_string())),
            ("INIT_ALLOWED_USER_IDS", Some(ann().id.to_string())),
            ("ENCRYPTION_KEY", Some(backend.encryption_key().to_owned())),
            ("RATE_LIMIT_PERSON_PER_MINUTE", Some("0".to_owned())),
            ("RATE_LIMIT_CHAT_PER_MINUTE", Some("0".to_owned())),
            ("POSTING_INTERVAL_SECONDS", Some("1".to_owned())),
            ("SYNC_INTERVAL_MINUTES", Some("1440".to_owned())),
        ],
    )?;
    Ok(TestBot::start_with(config))
}

/// How many times the bot has shown something in `chat`.
fn shown_in(telegram: &FakeTelegram, chat: i64) -> usize {
    telegram
        .all_calls()
        .iter()
        .filter(|(method, body)| SHOWN.contains(&method.as_str()) && body["chat_id"] == chat)
        .count()
}

/// How many times the bot has shown something anywhere.
fn shown_anywhere(telegram: &FakeTelegram) -> usize {
    SHOWN.iter().map(|method| telegram.count(method)).sum()
}

/// Sends `text` to `chat` and waits for the bot to show something there.
async fn say(telegram: &FakeTelegram, chat: i64, from: &FakeUser, text: &str) -> anyhow::Result<()> {
    let before = shown_in(telegram, chat);
    telegram.push_text(chat, from, text);
    telegram.wait_until(WAIT, |t| shown_in(t, chat) > before).await.with_context(|| format!("no answer to {text:?}"))
}

/// Presses `data` on `message` in `chat` and returns the answer to the press.
async fn press(telegram: &FakeTelegram, chat: i64, from: &FakeUser, message: i32, data: &str) -> anyhow::Result<Value> {
    let id = telegram.push_press(chat, from, message, data);
    telegram
        .wait_until(WAIT, |t| t.calls("answerCallbackQuery").iter().any(|a| a["callback_query_id"] == id.as_str()))
        .await
        .with_context(|| format!("the press {data:?} was not answered"))?;
    telegram
        .calls("answerCallbackQuery")
        .into_iter()
        .find(|a| a["callback_query_id"] == id.as_str())
        .context("the answer went away")
}

/// Every `(message id, callback data)` of the bot's messages in `chat`; the buttons of the
/// `n`th message rotated by `n`, so that stories are resolved by each of their buttons in turn.
fn buttons(telegram: &FakeTelegram, chat: i64) -> Vec<(i32, String)> {
    let mut found = Vec::new();
    for (n, message) in telegram.bot_messages(chat).iter().enumerate() {
        let Some(id) = message["message_id"].as_i64().and_then(|id| i32::try_from(id).ok()) else { continue };
        let mut data: Vec<String> = message["reply_markup"]["inline_keyboard"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|button| button["callback_data"].as_str().map(ToOwned::to_owned))
            .collect();
        if !data.is_empty() {
            let turn = n % data.len();
            data.rotate_left(turn);
        }
        found.extend(data.into_iter().map(|data| (id, data)));
    }
    found
}

/// Waits until the bot has shown nothing new for half a second.
async fn settle(telegram: &FakeTelegram) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut last = telegram.all_calls().len();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = telegram.all_calls().len();
        if now == last {
            return Ok(());
        }
        ensure!(tokio::time::Instant::now() < deadline, "the bot did not settle");
        last = now;
    }
}

/// Presses every button the bot shows in `workspace`'s chat, and every button that appears
/// after, once each (by callback data), reopening the menus until a round finds nothing new: a
/// press that edits a menu into another screen leaves the rest of it for the next round. A
/// press that leaves `from` with a prompt is answered with `answer` (and the prompt cancelled
/// when the answer is refused). Returns the callback data pressed.
async fn press_every_button(
    telegram: &FakeTelegram,
    backend: &Backend,
    workspace: &Workspace,
    from: &FakeUser,
    answer: &str,
) -> anyhow::Result<HashSet<String>> {
    let (chat, person) = (workspace.chat_id.0, TelegramUserId(from.id));
    let stores = backend.reopen().await?;
    let (mut pressed, mut presses) = (HashSet::new(), HashSet::new());
    // A button that only opens a screen is pressed again on each new message that shows it.
    let key = |message: i32, data: &str| {
        let opens = NAVIGATION.iter().any(|code| data.ends_with(&format!(":{code}")));
        (opens.then_some(message), data.to_owned())
    };
    loop {
        let round = pressed.len();
        // A button never pressed before goes first, wherever it is: otherwise which screens the
        // crawl reaches depends on how many messages came before (the rotation above).
        while let Some((message, data)) = {
            let fresh: Vec<(i32, String)> = buttons(telegram, chat)
                .into_iter()
                .filter(|(message, data)| !presses.contains(&key(*message, data)))
                .collect();
            let never = fresh.iter().find(|(_, data)| !pressed.contains(data)).cloned();
            never.or_else(|| fresh.into_iter().next())
        } {
            ensure!(presses.len() < MAX_PRESSES, "more than {MAX_PRESSES} presses: {pressed:?}");
            presses.insert(key(message, &data));
            pressed.insert(data.clone());
            press(telegram, chat, from, message, &data).await?;
            settle(telegram).await?;
            if let Some(prompt) = stores.conversations.pending(workspace.id, person, Utc::now()).await? {
                let before = shown_anywhere(telegram);
                telegram.push_text(chat, from, answer);
                telegram
                    .wait_until(WAIT, |t| shown_anywhere(t) > before)
                    .await
                    .with_context(|| format!("no answer to {answer:?} for {prompt:?} after {data:?}"))?;
                if stores.conversations.pending(workspace.id, person, Utc::now()).await?.is_some() {
                    say(telegram, chat, from, "/cancel").await?;
                }
            }
        }
        if pressed.len() == round {
            return Ok(pressed);
        }
        for menu in ["/settings", "/queue", "/status", "/clear"] {
            say(telegram, chat, from, menu).await?;
        }
    }
}

/// The buttons a press of every button must have reached, by code (`…` for a story, an
/// account or a number of days). The crawl reaches more (the overdue choices, Keep, the
/// schedule's days) depending on which button of a screen it presses first.
const REACHED: [&str; 21] = [
    "t.dry", "t.api", "t.pause", "c.ppd", "c.hours", "c.tz", "acct", "a.s.…", "m.src", "m.local", "m.s3", "m.drive",
    "settings", "status", "close", "q.clear", "s.p.…", "s.s.…", "s.r.…", "s.R.…", "s.i.…",
];

fn reached_everything(pressed: &HashSet<String>) -> TestResult {
    let codes: HashSet<&str> = pressed.iter().filter_map(|data| data.splitn(3, ':').nth(2)).collect();
    let missing: Vec<&str> = REACHED
        .into_iter()
        .filter(|wanted| match wanted.strip_suffix('…') {
            Some(prefix) => !codes.iter().any(|code| code.starts_with(prefix)),
            None => !codes.contains(wanted),
        })
        .collect();
    ensure!(missing.is_empty(), "the crawl never pressed {missing:?}; it pressed {codes:?}");
    Ok(())
}

/// Fails with what differs when `after` is not `before`.
fn unchanged(what: &str, before: &Snapshot, after: &Snapshot) -> TestResult {
    let differences = before.differences(after);
    ensure!(differences.is_empty(), "{what} changed:\n{}", differences.join("\n"));
    Ok(())
}

pub async fn everything_driven_from_one_workspace_leaves_the_other_exactly_as_it_was(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let pair = pair(&backend, &telegram).await?;
    let (a_before, b_before) = pair.snapshots(&backend).await?;
    let indexed = (a_before.media.len(), b_before.media.len());
    // (The generated images may repeat one another's content: then one is indexed.)
    ensure!(indexed.0 == indexed.1 && indexed.0 > MEDIA_FILES / 2, "both indexed alike: {indexed:?}");
    let queued = (a_before.queue.len(), b_before.queue.len());
    ensure!(queued == (10, 10), "three days of three and one overdue: {queued:?}");
    ensure!(a_before.media.iter().map(|m| &m.path).eq(b_before.media.iter().map(|m| &m.path)), "the same names");
    let bot = start(&telegram, &backend, pair.media.path())?;
    let a = A.to_string();

    // Every command, as A's owner in A's chat (a new command is covered by itself); first the
    // overdue story's question.
    say(&telegram, A, &ann(), "/resume").await?;
    for name in CommandName::ALL {
        say(&telegram, A, &ann(), &format!("/{}", name.as_str())).await?;
        settle(&telegram).await?;
    }
    // Stories in A's chat for the story buttons, and a prompt answered with a good value.
    for text in ["/resume", "/schedule 2", "/next", "/next", "/next", "/next"] {
        say(&telegram, A, &ann(), text).await?;
    }
    let pressed = press_every_button(&telegram, &backend, &pair.a, &ann(), "5").await?;
    reached_everything(&pressed)?;

    // The /init wizard in a third chat.
    say(&telegram, C, &ann(), "/init").await?;
    for label in ["Keep", "Keep", "Keep", "Keep", "Its own folder", "Later", "Confirm"] {
        let (message, data) = telegram
            .bot_messages(C)
            .iter()
            .rev()
            .find_map(|m| {
                Some((
                    i32::try_from(m["message_id"].as_i64()?).ok()?,
                    storyline_tests::fake_telegram::button_data(m, label).ok()?,
                ))
            })
            .with_context(|| format!("no {label:?} in the wizard"))?;
        press(&telegram, C, &ann(), message, &data).await?;
        settle(&telegram).await?;
    }
    ensure!(backend.reopen().await?.settings.workspace_by_chat(ChatId(C)).await?.is_some(), "the wizard made C");

    // The command line, with --chat A.
    let folder = pair.folder(A).display().to_string();
    for args in [
        vec!["settings", "set", "--chat", &a, "posts_per_day", "4"],
        vec!["settings", "show", "--chat", &a],
        vec!["settings", "history", "--chat", &a],
        vec!["category-mix", "set", "--chat", &a, "memes=50", "merch=50"],
        vec!["category-mix", "history", "--chat", &a],
        vec!["create-schedule", "--days", "2", "--chat", &a],
        vec!["list-media", "--chat", &a],
        vec!["list-categories", "--chat", &a],
        vec!["list-queue", "--chat", &a],
        vec!["list-instagram-accounts", "--chat", &a],
        vec!["users", "list", "--chat", &a],
        vec!["users", "promote", "--chat", &a, &ann().id.to_string(), "--role", "admin"],
        vec!["users", "promote", "--chat", &a, &bob().id.to_string(), "--role", "admin"],
        vec!["media-source", "show", "--chat", &a],
        vec!["media-source", "set", "local", &folder, "--chat", &a],
        vec!["index-media", &folder, "--chat", &a],
        vec!["sync-media", "--chat", &a],
        vec!["process-queue", "--force", "--chat", &a],
        vec!["workspaces", "show", "--chat", &a],
        vec!["workspaces", "list"],
    ] {
        cli(&backend, &telegram, pair.media.path(), &args)?;
    }
    // Resolved by its media path, which B's library has too.
    let stores = backend.reopen().await?;
    let sent = stores.queue.entries(pair.a.id, 1000).await?;
    let sent = sent.iter().find(|e| e.item.status == QueueStatus::Sent).context("process-queue sent none of A's")?;
    cli(&backend, &telegram, pair.media.path(), &["resolve", &sent.path, "posted", "--chat", &a])?;
    cli(&backend, &telegram, pair.media.path(), &["process-queue", "--chat", &a])?;
    cli(&backend, &telegram, pair.media.path(), &["clear-queue", "--yes", "--chat", &a])?;

    // The background loops: a restart ticks each of them once more.
    let bot = bot.restart(&telegram).await?;
    settle(&telegram).await?;
    bot.stop().await?;

    let (a_after, b_after) = pair.snapshots(&backend).await?;
    unchanged("B", &b_before, &b_after)?;
    for (field, changed) in [
        ("settings", a_after.settings != a_before.settings),
        ("audit", a_after.audit.len() > a_before.audit.len()),
        ("members", a_after.members != a_before.members),
        ("mix", a_after.mix_history.len() > a_before.mix_history.len()),
        ("queue", a_after.queue != a_before.queue),
        ("history", a_after.history.len() > a_before.history.len()),
        ("locks", !a_after.locks.is_empty()),
        ("source", a_after.source_versions.len() > a_before.source_versions.len()),
    ] {
        ensure!(changed, "A's {field} did not change: the drive did not reach it");
    }
    ensure!(telegram.calls("sendPhoto").iter().all(|p| p["chat_id"] != B), "a story went to B's chat");
    ensure!(shown_in(&telegram, B) == 0, "the bot showed something in B's chat");
    Ok(())
}

/// Every `(message id, callback data)` of the menus and stories `owner` reaches in `chat`.
async fn menus_and_stories(telegram: &FakeTelegram, chat: i64, owner: &FakeUser) -> anyhow::Result<Vec<(i32, String)>> {
    for text in ["/resume", "/settings", "/queue", "/status", "/locks", "/history", "/clear", "/next", "/next"] {
        say(telegram, chat, owner, text).await?;
    }
    settle(telegram).await?;
    // The buttons behind buttons: the account picker and the schedule's days.
    for (menu, code) in [("/queue", ":sched"), ("/settings", ":acct")] {
        say(telegram, chat, owner, menu).await?;
        let (message, data) = buttons(telegram, chat)
            .into_iter()
            .rev()
            .find(|(_, d)| d.ends_with(code))
            .with_context(|| format!("no {code}"))?;
        press(telegram, chat, owner, message, &data).await?;
        settle(telegram).await?;
    }
    let found = buttons(telegram, chat);
    ensure!(found.len() >= 10, "too few buttons in {chat}: {found:?}");
    Ok(found)
}

/// `data` with its workspace tag (the second part) replaced by the one of `like`.
/// Only for buttons that carry an id (stories, accounts): the others, retagged, are simply
/// our own buttons.
fn retagged(data: &str, like: &str) -> Option<String> {
    let (mut parts, tag) = (data.splitn(3, ':').collect::<Vec<_>>(), like.split(':').nth(1)?);
    let carries_an_id = parts.get(2).is_some_and(|code| code.starts_with("s.") || code.starts_with("a.s."));
    (parts.len() == 3 && carries_an_id).then(|| {
        parts[1] = tag;
        parts.join(":")
    })
}

pub async fn forged_presses_naming_the_other_workspace_are_refused_and_change_nothing(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let pair = pair(&backend, &telegram).await?;
    let bot = start(&telegram, &backend, pair.media.path())?;
    let a_buttons = menus_and_stories(&telegram, A, &ann()).await?;
    let b_buttons = menus_and_stories(&telegram, B, &bob()).await?;
    let (a_before, b_before) = pair.snapshots(&backend).await?;

    for (chat, from, theirs, ours) in [(A, ann(), &b_buttons, &a_buttons), (B, bob(), &a_buttons, &b_buttons)] {
        let own_message = ours.first().map(|(id, _)| *id).context("no message of our own")?;
        for (their_message, data) in theirs {
            // As is, and with our own workspace's tag: the ids inside still name theirs.
            let forged = [Some(data.clone()), retagged(data, &ours[0].1)];
            for data in forged.iter().flatten() {
                for message in [own_message, *their_message] {
                    let answer = press(&telegram, chat, &from, message, data).await?;
                    let said = answer["text"].as_str().unwrap_or_default();
                    ensure!(
                        said == "This button is no longer valid. Open /settings again."
                            || said == "This story is no longer in the queue."
                            || said == "That account is not in this workspace any more; nothing changed.",
                        "{data:?} pressed in {chat} was answered {said:?}"
                    );
                }
            }
        }
    }
    settle(&telegram).await?;
    bot.stop().await?;
    let (a_after, b_after) = pair.snapshots(&backend).await?;
    for (what, before, after) in [("A", &a_before, &a_after), ("B", &b_before, &b_after)] {
        // Every press is audited (C8) and its presser seen, in the chat it was pressed in;
        // nothing else.
        let logged = after.audit.len() - before.audit.len();
        ensure!(after.audit[logged..] == before.audit[..], "{what}'s older audit entries changed");
        let not_presses: Vec<_> = after.audit[..logged].iter().filter(|e| e.action != AuditAction::Button).collect();
        ensure!(not_presses.is_empty(), "{what}: {not_presses:?}");
        let mut after = after.clone();
        after.audit.clone_from(&before.audit);
        for (member, was) in after.members.iter_mut().zip(&before.members) {
            member.last_seen = was.last_seen;
        }
        unchanged(what, before, &after)?;
    }
    Ok(())
}

pub async fn each_workspace_s_stories_go_to_its_own_chat_only(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let pair = pair(&backend, &telegram).await?;
    let stores = backend.stores();
    let now = Utc::now();
    for workspace in [&pair.a, &pair.b] {
        stores.queue.clear(workspace.id, None).await?;
        let media = stores.library.media(workspace.id, &MediaQuery { category: None, limit: 10 }).await?;
        let plan: Vec<_> = media.iter().take(2).map(|m| (now - chrono::Duration::minutes(1), m.id)).collect();
        stores.queue.enqueue(workspace.id, &plan).await?;
        stores.settings.apply(workspace.id, SettingChange::Set(Toggle::Paused, false), &Actor::Cli, now).await?;
    }
    let bot = start(&telegram, &backend, pair.media.path())?;
    telegram.wait_for("sendPhoto", 4, WAIT).await?;
    settle(&telegram).await?;
    bot.stop().await?;
    let photos = telegram.calls("sendPhoto");
    ensure!(photos.len() == 4, "four stories, each sent once: {photos:?}");
    let stores = backend.reopen().await?;
    for (workspace, chat) in [(&pair.a, A), (&pair.b, B)] {
        let to_chat = photos.iter().filter(|p| p["chat_id"] == chat).count();
        ensure!(to_chat == 2, "{to_chat} stories went to {chat}: {photos:?}");
        let ids: HashSet<i32> = telegram.sent_message_ids(chat).into_iter().collect();
        for entry in stores.queue.entries(workspace.id, 100).await? {
            let message = entry.item.message_id.context("a sent story has its message")?;
            ensure!(ids.contains(&message), "{chat}'s story {message} is not in its own chat");
            let shown = telegram.message(chat, message).context("the story's message")?;
            let tag = &workspace.id.as_uuid().simple().to_string()[..8];
            ensure!(buttons_of(&shown).iter().all(|d| d.contains(tag)), "{chat}'s buttons carry another tag: {shown}");
        }
    }
    Ok(())
}

fn buttons_of(message: &Value) -> Vec<String> {
    message["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|b| b["callback_data"].as_str().map(ToOwned::to_owned))
        .collect()
}

pub async fn each_scheduler_reads_its_own_settings(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let pair = pair(&backend, &telegram).await?;
    let stores = backend.stores();
    for (workspace, per_day) in [(&pair.a, 2), (&pair.b, 5)] {
        stores.queue.clear(workspace.id, None).await?;
        let change = SettingChange::PostsPerDay(PostsPerDay::new(per_day)?);
        stores.settings.apply(workspace.id, change, &Actor::Cli, Utc::now()).await?;
    }
    let bot = start(&telegram, &backend, pair.media.path())?;
    say(&telegram, A, &ann(), "/schedule 3").await?;
    say(&telegram, B, &bob(), "/schedule 3").await?;
    cli(&backend, &telegram, pair.media.path(), &["create-schedule", "--days", "1", "--chat", &A.to_string()])?;
    settle(&telegram).await?;
    bot.stop().await?;
    let stores = backend.reopen().await?;
    // A: three days from the bot and one from the command line; B: three days from the bot.
    for (workspace, per_day, days) in [(&pair.a, 2, 4), (&pair.b, 5, 3)] {
        let mut by_day: BTreeMap<_, usize> = BTreeMap::new();
        for entry in stores.queue.entries(workspace.id, 1000).await? {
            *by_day.entry(entry.item.slot.date_naive()).or_default() += 1;
        }
        let (chat, total) = (workspace.chat_id, by_day.values().sum::<usize>());
        ensure!(total == per_day * days, "{chat} queued {total}, not {days} days of {per_day}: {by_day:?}");
        ensure!(by_day.values().all(|n| *n <= per_day), "{chat} queues {per_day} a day: {by_day:?}");
    }
    Ok(())
}

storyline_tests::on_backends!([sqlite, postgres] [
    everything_driven_from_one_workspace_leaves_the_other_exactly_as_it_was,
    forged_presses_naming_the_other_workspace_are_refused_and_change_nothing,
    each_workspace_s_stories_go_to_its_own_chat_only,
    each_scheduler_reads_its_own_settings,
]);
