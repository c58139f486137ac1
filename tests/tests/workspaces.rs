//! Many workspaces in one bot, end to end (FEATURES T1): `storyline run` without
//! `TELEGRAM_CHAT_ID` against the fake Bot API, on SQLite and on PostgreSQL. A chat sets up its
//! workspace with `/init`; the wizard survives a restart; nothing exists before Confirm, and
//! another chat is untouched. Test names read `backend::behaviour`.

use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::Value;
use storyline_domain::ChatId;
use storyline_domain::user::{Role, TelegramUserId};
use storyline_tests::app::{TestBot, config_with};
use storyline_tests::fake_telegram::{FakeTelegram, FakeUser, button_data};
use storyline_tests::{Backend, TestResult};

const WAIT: Duration = Duration::from_secs(15);
const ACME: i64 = -100_501;
const OTHER: i64 = -100_502;

fn ann() -> FakeUser {
    FakeUser::new(31, "Ann").with_username("ann")
}

fn bob() -> FakeUser {
    FakeUser::new(32, "Bob")
}

/// A bot serving every chat with a workspace, media kept under `media`.
fn start(telegram: &FakeTelegram, backend: &Backend, media: &std::path::Path) -> anyhow::Result<TestBot> {
    let url = backend.database_url().context("an end-to-end test needs a database")?;
    let config = config_with(
        telegram,
        url,
        &[
            ("TELEGRAM_CHAT_ID", None),
            ("ADMIN_TELEGRAM_USER_IDS", None),
            ("MEDIA_DIR", Some(media.display().to_string())),
            ("INIT_ALLOWED_USER_IDS", Some(format!("{},{}", ann().id, bob().id))),
        ],
    )?;
    Ok(TestBot::start_with(config))
}

/// Sends `text` to `chat` as `from` and waits for the bot to send or edit something there.
async fn say(telegram: &FakeTelegram, chat: i64, from: &FakeUser, text: &str) -> anyhow::Result<Value> {
    let before = shown_count(telegram);
    telegram.push_text(chat, from, text);
    shown_after(telegram, chat, before).await
}

/// Presses the button labelled `label` on the newest message in `chat` that has one.
async fn press(telegram: &FakeTelegram, chat: i64, from: &FakeUser, label: &str) -> anyhow::Result<Value> {
    let messages = telegram.bot_messages(chat);
    let (id, data) = messages
        .iter()
        .rev()
        .find_map(|m| Some((m["message_id"].as_i64()?, button_data(m, label).ok()?)))
        .with_context(|| format!("no button {label:?} in chat {chat}: {messages:?}"))?;
    let before = shown_count(telegram);
    telegram.push_press(chat, from, i32::try_from(id)?, &data);
    shown_after(telegram, chat, before).await
}

/// How many messages the bot has sent or edited, in every chat.
fn shown_count(telegram: &FakeTelegram) -> usize {
    telegram.calls("sendMessage").len() + telegram.calls("editMessageText").len()
}

/// The newest text the bot sent or edited in `chat`, once there are more than `before` sends
/// and edits in all.
async fn shown_after(telegram: &FakeTelegram, chat: i64, before: usize) -> anyhow::Result<Value> {
    telegram.wait_until(WAIT, |t| shown_count(t) > before).await?;
    let calls = telegram.all_calls();
    let last = calls
        .iter()
        .rev()
        .find(|(method, body)| (method == "sendMessage" || method == "editMessageText") && body["chat_id"] == chat)
        .map(|(_, body)| body.clone())
        .context("nothing shown in the chat")?;
    Ok(last)
}

fn text(shown: &Value) -> &str {
    shown["text"].as_str().unwrap_or_default()
}

pub async fn a_team_sets_up_its_workspace_with_init_and_another_chat_is_untouched(backend: Backend) -> TestResult {
    let media = tempfile::tempdir()?;
    let telegram = FakeTelegram::start().await?;
    let bot = start(&telegram, &backend, media.path())?;

    let refused = say(&telegram, ACME, &ann(), "/settings").await?;
    ensure!(text(&refused).contains("/init sets one up"), "{refused}");
    let asked = say(&telegram, ACME, &ann(), "/init").await?;
    ensure!(text(&asked).contains("(1/6)"), "{asked}");
    say(&telegram, ACME, &ann(), "Acme Stories").await?;
    press(&telegram, ACME, &ann(), "Europe/Berlin").await?;
    let wrong = say(&telegram, ACME, &ann(), "0").await?;
    ensure!(text(&wrong).contains("from 1 to 50"), "{wrong}");
    say(&telegram, ACME, &ann(), "4").await?;
    say(&telegram, ACME, &ann(), "8-20").await?;
    press(&telegram, ACME, &ann(), "Its own folder").await?;
    let summary = press(&telegram, ACME, &ann(), "Later").await?;
    ensure!(text(&summary).contains("Posts per day: 4") && text(&summary).contains("Europe/Berlin"), "{summary}");
    ensure!(backend.reopen().await?.settings.workspace_by_chat(ChatId(ACME)).await?.is_none(), "not before Confirm");
    // Bob's press on Ann's wizard is refused.
    let before = telegram.calls("answerCallbackQuery").len();
    let summary_id = telegram.sent_message_ids(ACME).last().copied().context("no summary")?;
    telegram.push_press(ACME, &bob(), summary_id, &button_data(&summary, "Confirm")?);
    let answered = telegram.wait_for("answerCallbackQuery", before + 1, WAIT).await?;
    ensure!(answered.last().is_some_and(|a| a["text"].as_str().is_some_and(|t| t.contains("Only the person"))));
    let done = press(&telegram, ACME, &ann(), "Confirm").await?;
    ensure!(text(&done).contains("Acme Stories is set up"), "{done}");

    let stores = backend.reopen().await?;
    let workspace = stores.settings.workspace_by_chat(ChatId(ACME)).await?.context("no workspace after Confirm")?;
    let settings = stores.settings.settings(workspace.id).await?;
    ensure!(settings.posts_per_day.get() == 4 && settings.window.start().get() == 8, "{settings:?}");
    let owner = stores.users.member(workspace.id, TelegramUserId(ann().id)).await?.map(|m| m.role);
    ensure!(owner == Some(Role::Owner), "{owner:?}");
    ensure!(stores.users.member(workspace.id, TelegramUserId(bob().id)).await?.is_none_or(|m| m.role == Role::Member));
    ensure!(stores.settings.workspace_by_chat(ChatId(OTHER)).await?.is_none(), "another chat has none");

    // The chat is served now; the other chat still is not.
    let menu = say(&telegram, ACME, &bob(), "/settings").await?;
    ensure!(text(&menu).contains("Posts per day: <b>4</b>"), "{menu}");
    let own = media.path().join(workspace.id.to_string());
    ensure!(text(&menu).contains(&format!("local {}", own.display())), "its own media folder: {menu}");
    let other = say(&telegram, OTHER, &bob(), "/settings").await?;
    ensure!(text(&other).contains("/init sets one up"), "{other}");
    bot.stop().await
}

pub async fn the_wizard_survives_a_restart_and_a_cancel_creates_nothing(backend: Backend) -> TestResult {
    let media = tempfile::tempdir()?;
    let telegram = FakeTelegram::start().await?;
    let bot = start(&telegram, &backend, media.path())?;
    say(&telegram, ACME, &ann(), "/init").await?;
    say(&telegram, ACME, &ann(), "Night shift").await?;
    let bot = bot.restart(&telegram).await?;
    let next = press(&telegram, ACME, &ann(), "Keep").await?;
    ensure!(text(&next).contains("posts per day"), "the wizard went on where it was: {next}");
    let cancelled = say(&telegram, ACME, &ann(), "/cancel").await?;
    ensure!(text(&cancelled).contains("nothing was created"), "{cancelled}");
    let stores = backend.reopen().await?;
    ensure!(stores.settings.workspaces().await?.is_empty(), "no workspace behind anyone's back");
    ensure!(stores.wizards.pending(ChatId(ACME), chrono::Utc::now()).await?.is_none(), "the wizard is gone");
    bot.stop().await
}

fn member_update(update_id: i64, chat: i64, old: &str, new: &str) -> Value {
    let bot = serde_json::json!({ "id": 1, "is_bot": true, "first_name": "Storyline", "username": "storyline_bot" });
    serde_json::json!({
        "update_id": update_id,
        "my_chat_member": {
            "chat": { "id": chat, "type": "supergroup", "title": "Acme" },
            "from": ann().to_json(),
            "date": 1_764_000_000,
            "old_chat_member": if old == "kicked" {
                serde_json::json!({ "user": bot, "status": old, "until_date": 0 })
            } else {
                serde_json::json!({ "user": bot, "status": old })
            },
            // Telegram adds until_date to a removal (0: for ever).
            "new_chat_member": if new == "kicked" {
                serde_json::json!({ "user": bot, "status": new, "until_date": 0 })
            } else {
                serde_json::json!({ "user": bot, "status": new })
            },
        }
    })
}

pub async fn removed_it_pauses_added_back_it_resumes_and_a_new_supergroup_keeps_the_workspace(
    backend: Backend,
) -> TestResult {
    let media = tempfile::tempdir()?;
    let telegram = FakeTelegram::start().await?;
    let bot = start(&telegram, &backend, media.path())?;
    let before = shown_count(&telegram);
    telegram.push_raw(member_update(1_000, ACME, "left", "member"));
    let greeted = shown_after(&telegram, ACME, before).await?;
    ensure!(text(&greeted).contains("/init"), "{greeted}");
    say(&telegram, ACME, &ann(), "/init").await?;
    for label in ["Keep", "Keep", "Keep", "Keep", "Its own folder", "Later", "Confirm"] {
        press(&telegram, ACME, &ann(), label).await?;
    }
    let workspace = backend.reopen().await?.settings.workspace_by_chat(ChatId(ACME)).await?.context("no workspace")?;
    let paused = async |backend: &Backend| -> anyhow::Result<bool> {
        Ok(backend.reopen().await?.settings.settings(workspace.id).await?.is_paused())
    };

    telegram.push_raw(member_update(2_000, ACME, "member", "kicked"));
    let deadline = tokio::time::Instant::now() + WAIT;
    while !paused(&backend).await? {
        ensure!(tokio::time::Instant::now() < deadline, "removing the bot did not pause the workspace");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = shown_count(&telegram);
    telegram.push_raw(member_update(3_000, ACME, "kicked", "member"));
    let back = shown_after(&telegram, ACME, before).await?;
    ensure!(text(&back).contains("posting resumes where it was"), "{back}");
    ensure!(!paused(&backend).await?, "added back: it resumes");

    // The group becomes a supergroup: Telegram says so in the old chat.
    let supergroup = -100_777_888;
    telegram.push_raw(serde_json::json!({
        "update_id": 4_000,
        "message": {
            "message_id": 9_000, "date": 1_764_000_000,
            "chat": { "id": ACME, "type": "group", "title": "Acme" },
            "from": ann().to_json(),
            "migrate_to_chat_id": supergroup,
        }
    }));
    let menu = loop {
        let shown = say(&telegram, supergroup, &ann(), "/settings").await?;
        if text(&shown).contains("Settings") {
            break shown;
        }
        ensure!(tokio::time::Instant::now() < deadline + WAIT, "the workspace did not move: {shown}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    ensure!(text(&menu).contains(&workspace.name), "the same workspace: {menu}");
    let stores = backend.reopen().await?;
    ensure!(stores.settings.workspace_by_chat(ChatId(supergroup)).await?.map(|w| w.id) == Some(workspace.id));
    ensure!(stores.settings.workspace_by_chat(ChatId(ACME)).await?.is_none());
    bot.stop().await
}

/// Runs the `/init` wizard in `chat` as Ann to Confirm, with its own media folder and no account.
async fn found(telegram: &FakeTelegram, chat: i64, name: &str, zone: &str, posts: &str, hours: &str) -> TestResult {
    say(telegram, chat, &ann(), "/init").await?;
    say(telegram, chat, &ann(), name).await?;
    press(telegram, chat, &ann(), zone).await?;
    say(telegram, chat, &ann(), posts).await?;
    say(telegram, chat, &ann(), hours).await?;
    press(telegram, chat, &ann(), "Its own folder").await?;
    press(telegram, chat, &ann(), "Later").await?;
    let done = press(telegram, chat, &ann(), "Confirm").await?;
    ensure!(text(&done).contains("is set up"), "{done}");
    Ok(())
}

/// T3 in the chat: `/settings export` in one workspace, the file sent back as a reply to
/// `/settings import` in another, Apply: the second has the first's settings; a broken file
/// changes nothing.
pub async fn settings_exported_from_one_chat_import_into_another_by_file(backend: Backend) -> TestResult {
    let media = tempfile::tempdir()?;
    let telegram = FakeTelegram::start().await?;
    let bot = start(&telegram, &backend, media.path())?;
    found(&telegram, ACME, "Acme", "Europe/Berlin", "4", "8-20").await?;
    found(&telegram, OTHER, "Other", "UTC", "2", "10-12").await?;

    telegram.push_text(ACME, &ann(), "/settings export");
    let sent = telegram.wait_for("sendDocument", 1, WAIT).await?;
    let field = &sent[0]["document"];
    let document = field.as_str().and_then(|d| d.strip_prefix("attach://")).map_or(field, |part| &sent[0][part]);
    let exported = document["text"].as_str().context("the exported file's text")?.to_owned();

    let asked = say(&telegram, OTHER, &ann(), "/settings import").await?;
    ensure!(text(&asked).contains("Send the settings file"), "{asked}");
    let before = shown_count(&telegram);
    telegram.push_document(OTHER, &ann(), "broken.json", br#"{"version": 1, "settings": {"posts_per_day": 4}}"#);
    let refused = shown_after(&telegram, OTHER, before).await?;
    ensure!(
        text(&refused).contains("Not imported: settings") && text(&refused).contains("Nothing changed"),
        "{refused}"
    );
    let before = shown_count(&telegram);
    telegram.push_document(OTHER, &ann(), "storyline-settings.json", exported.as_bytes());
    let plan = shown_after(&telegram, OTHER, before).await?;
    ensure!(text(&plan).contains("Posts per day: 2 → 4") && text(&plan).contains("UTC → Europe/Berlin"), "{plan}");
    ensure!(telegram.downloads() == 2, "each file fetched once: {}", telegram.downloads());
    let stores = backend.reopen().await?;
    let acme = stores.settings.workspace_by_chat(ChatId(ACME)).await?.context("no Acme")?;
    let other = stores.settings.workspace_by_chat(ChatId(OTHER)).await?.context("no Other")?;
    ensure!(stores.settings.settings(other.id).await?.posts_per_day.get() == 2, "nothing before Apply");

    let applied = press(&telegram, OTHER, &ann(), "Apply").await?;
    ensure!(text(&applied).contains("Imported"), "{applied}");
    let stores = backend.reopen().await?;
    let (from, to) = (stores.settings.settings(acme.id).await?, stores.settings.settings(other.id).await?);
    ensure!(from == to, "identical settings: {from:?} against {to:?}");
    bot.stop().await
}

storyline_tests::on_backends!([sqlite, postgres] [
    settings_exported_from_one_chat_import_into_another_by_file,
    a_team_sets_up_its_workspace_with_init_and_another_chat_is_untouched,
    the_wizard_survives_a_restart_and_a_cancel_creates_nothing,
    removed_it_pauses_added_back_it_resumes_and_a_new_supergroup_keeps_the_workspace,
]);
