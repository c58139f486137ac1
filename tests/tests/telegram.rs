//! End to end: the real wiring (`storyline::serve::telegram`) against a fake Telegram Bot API on
//! loopback, on SQLite and on PostgreSQL. Test names read `backend::behaviour`.

use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::Value;
use storyline_application::bot::RateLimits;
use storyline_domain::ChatId;
use storyline_domain::ports::AuditQuery;
use storyline_domain::settings::ChatSettings;
use storyline_tests::app::{ADMIN, TEAM_CHAT, TestBot};
use storyline_tests::fake_telegram::{Failure, FakeTelegram, FakeUser};
use storyline_tests::{Backend, TestResult};

const WAIT: Duration = Duration::from_secs(15);

fn admin() -> FakeUser {
    FakeUser::new(ADMIN, "Ada").with_username("ada_admin")
}

fn member() -> FakeUser {
    FakeUser::new(20, "Mo")
}

use storyline_tests::fake_telegram::button_data as button;

fn labels(message: &Value) -> String {
    message["reply_markup"]["inline_keyboard"].to_string()
}

/// Sends /settings as `from` and returns the menu's message id and body.
async fn open_settings(telegram: &FakeTelegram, from: &FakeUser) -> anyhow::Result<(i32, Value)> {
    let before = telegram.calls("sendMessage").len();
    telegram.push_text(TEAM_CHAT, from, "/settings");
    let sent = telegram.wait_for("sendMessage", before + 1, WAIT).await?;
    let id = last_message_id(telegram, before + 1).await?;
    let menu = telegram.message(TEAM_CHAT, id).context("the menu was not stored")?;
    ensure!(sent.last().and_then(|m| m["text"].as_str()).is_some_and(|t| t.contains("Settings")), "{sent:?}");
    Ok((id, menu))
}

/// The id of the `nth` message the bot sent (1-based), read from the fake's store.
async fn last_message_id(telegram: &FakeTelegram, nth: usize) -> anyhow::Result<i32> {
    let _ = nth;
    telegram.sent_message_ids(TEAM_CHAT).last().copied().context("no message sent")
}

async fn settings(backend: &Backend) -> anyhow::Result<ChatSettings> {
    let stores = backend.reopen().await?;
    let workspace = stores.settings.workspace_by_chat(ChatId(TEAM_CHAT)).await?.context("no workspace")?;
    Ok(stores.settings.settings(workspace.id).await?)
}

fn url(backend: &Backend) -> anyhow::Result<String> {
    backend.database_url().map(ToOwned::to_owned).context("an end-to-end test needs a database")
}

pub async fn a_toggle_edits_the_menu_in_place_and_the_database_agrees(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    let (menu_id, menu) = open_settings(&telegram, &admin()).await?;
    ensure!(labels(&menu).contains("Dry run: ON"), "{menu}");
    let shown = menu["text"].as_str().unwrap_or_default();
    ensure!(shown.contains("Media: ") && shown.contains("0 items, never synced"), "the media line: {menu}");

    let press = telegram.push_press(TEAM_CHAT, &admin(), menu_id, &button(&menu, "Dry run")?);
    let answers = telegram.wait_for("answerCallbackQuery", 1, WAIT).await?;
    ensure!(answers[0]["callback_query_id"] == press.as_str(), "{answers:?}");
    ensure!(answers[0]["text"] == "Dry run off", "{answers:?}");
    telegram.wait_for("editMessageText", 1, WAIT).await?;
    let edited = telegram.message(TEAM_CHAT, menu_id).context("menu gone")?;
    ensure!(labels(&edited).contains("Dry run: off"), "{edited}");
    ensure!(!settings(&backend).await?.dry_run, "the database agrees");
    bot.stop().await
}

pub async fn change_posts_per_day_refuses_bad_answers_and_takes_a_good_one(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    let (menu_id, menu) = open_settings(&telegram, &admin()).await?;
    telegram.push_press(TEAM_CHAT, &admin(), menu_id, &button(&menu, "Posts/day")?);
    telegram.wait_for("sendMessage", 2, WAIT).await?;

    telegram.push_text(TEAM_CHAT, &admin(), "0");
    telegram.push_text(TEAM_CHAT, &admin(), "abc");
    telegram.push_photo(TEAM_CHAT, &admin());
    let replies = telegram.wait_for("sendMessage", 5, WAIT).await?;
    for reply in &replies[2..5] {
        ensure!(reply["text"].as_str().is_some_and(|t| t.contains("from 1 to 50")), "{reply}");
    }
    ensure!(settings(&backend).await?.posts_per_day.get() == 3);

    telegram.push_text(TEAM_CHAT, &admin(), "7");
    let replies = telegram.wait_for("sendMessage", 6, WAIT).await?;
    ensure!(replies[5]["text"].as_str().is_some_and(|t| t.contains("3 → 7")), "{}", replies[5]);
    ensure!(settings(&backend).await?.posts_per_day.get() == 7);
    telegram.wait_for("editMessageText", 1, WAIT).await?;
    let menu = telegram.message(TEAM_CHAT, menu_id).context("menu gone")?;
    ensure!(labels(&menu).contains("Posts/day: 7"), "the menu is refreshed: {menu}");
    bot.stop().await
}

pub async fn a_member_is_told_admins_only_and_a_chat_administrator_is_not(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    let (menu_id, menu) = open_settings(&telegram, &member()).await?;
    let toggle = button(&menu, "Instagram API")?;
    telegram.push_press(TEAM_CHAT, &member(), menu_id, &toggle);
    let answers = telegram.wait_for("answerCallbackQuery", 1, WAIT).await?;
    ensure!(answers[0]["text"].as_str().is_some_and(|t| t.starts_with("Admins only")), "{answers:?}");
    ensure!(answers[0]["show_alert"] == true);
    ensure!(telegram.calls("getChatAdministrators").len() == 1, "the chat's administrators were asked");
    ensure!(telegram.calls("editMessageText").is_empty(), "nothing was edited");
    ensure!(!settings(&backend).await?.instagram_api, "nothing changed");

    telegram.set_administrators(TEAM_CHAT, &[FakeUser::new(30, "Chief"), FakeUser::new(31, "Deputy")]);
    let bot = bot.restart(&telegram).await?; // a fresh process: no cached administrator list
    telegram.push_press(TEAM_CHAT, &FakeUser::new(31, "Deputy"), menu_id, &toggle);
    telegram.wait_for("editMessageText", 1, WAIT).await?;
    ensure!(settings(&backend).await?.instagram_api, "a Telegram administrator may change settings");
    bot.stop().await
}

pub async fn forged_and_malformed_presses_never_change_anything(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    let (menu_id, menu) = open_settings(&telegram, &admin()).await?;
    let genuine = button(&menu, "Dry run")?;
    let forged = [
        genuine.replacen(&genuine[2..10], "00000000", 1),
        genuine.replace("t.dry", "t.drop"),
        "0:abcdefgh:t.dry".to_owned(),
        String::new(),
        "💣".repeat(16),
        "x".repeat(64),
    ];
    for data in &forged {
        telegram.push_press(TEAM_CHAT, &admin(), menu_id, data);
    }
    let answers = telegram.wait_for("answerCallbackQuery", forged.len(), WAIT).await?;
    ensure!(answers.iter().all(|a| a["text"].as_str().is_some_and(|t| t.contains("no longer valid"))), "{answers:?}");
    ensure!(telegram.calls("editMessageText").is_empty());
    ensure!(settings(&backend).await?.dry_run, "nothing changed");
    bot.stop().await
}

pub async fn a_change_prompt_survives_a_restart(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    let (menu_id, menu) = open_settings(&telegram, &admin()).await?;
    telegram.push_press(TEAM_CHAT, &admin(), menu_id, &button(&menu, "Posts/day")?);
    telegram.wait_for("sendMessage", 2, WAIT).await?;
    let bot = bot.restart(&telegram).await?;
    telegram.push_text(TEAM_CHAT, &admin(), "12");
    let replies = telegram.wait_for("sendMessage", 3, WAIT).await?;
    ensure!(replies[2]["text"].as_str().is_some_and(|t| t.contains("3 → 12")), "{}", replies[2]);
    ensure!(settings(&backend).await?.posts_per_day.get() == 12);
    bot.stop().await
}

pub async fn settings_persist_across_a_restart(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    telegram.push_text(TEAM_CHAT, &admin(), "/pause");
    telegram.wait_for("sendMessage", 1, WAIT).await?;
    let bot = bot.restart(&telegram).await?;
    let (_, menu) = open_settings(&telegram, &admin()).await?;
    ensure!(menu["text"].as_str().is_some_and(|t| t.contains("Paused</b> since")), "{menu}");
    ensure!(labels(&menu).contains("Paused — press to resume"), "{menu}");
    bot.stop().await
}

pub async fn no_update_is_handled_twice_after_a_restart(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    // Once the bot's first long poll is waiting, every later poll fails: the poll that would
    // confirm /pause to Telegram never gets through, so Telegram still holds it at the restart.
    telegram.wait_until(WAIT, |telegram| telegram.get_updates_calls() >= 1).await?;
    telegram.fail_next("getUpdates", 1_000, Failure::ServerError);
    telegram.push_text(TEAM_CHAT, &admin(), "/pause");
    telegram.wait_for("sendMessage", 1, WAIT).await?;
    let bot = bot.restart(&telegram).await?;
    telegram.clear_failures("getUpdates");
    telegram.push_text(TEAM_CHAT, &admin(), "/help");
    let sent = telegram.wait_for("sendMessage", 2, WAIT).await?;
    ensure!(sent[1]["text"].as_str().is_some_and(|t| t.contains("/settings")), "/pause was handled again: {sent:?}");
    let stores = backend.reopen().await?;
    let workspace = stores.settings.workspace_by_chat(ChatId(TEAM_CHAT)).await?.context("no workspace")?;
    let log = stores.audit.entries(workspace.id, AuditQuery { action: None, limit: 100 }).await?;
    ensure!(log.iter().filter(|e| e.subject == "/pause").count() == 1, "{log:?}");
    bot.stop().await?;
    ensure!(telegram.calls("sendMessage").len() == 2, "{:?}", telegram.calls("sendMessage"));
    Ok(())
}

pub async fn user_supplied_strings_are_escaped(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    let hostile = FakeUser::new(ADMIN, "<b>Eve</b>").with_username("e_v*e[1](x)<i>&amp;");
    telegram.push_text(TEAM_CHAT, &hostile, "/pause");
    telegram.wait_for("sendMessage", 1, WAIT).await?;
    let (_, menu) = open_settings(&telegram, &hostile).await?;
    let calls = telegram.calls("sendMessage");
    let body = &calls[1];
    ensure!(body["parse_mode"] == "HTML", "{body}");
    let text = body["text"].as_str().unwrap_or_default();
    ensure!(text.contains("@e_v*e[1](x)&lt;i&gt;&amp;amp;"), "escaped for HTML: {text}");
    ensure!(!text.contains("<i>&amp;"), "{text}");
    ensure!(menu["text"].as_str().is_some(), "{menu}");
    bot.stop().await
}

pub async fn a_channel_post_counts_as_an_admins_command(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    telegram.push_channel_post(TEAM_CHAT, "/dryrun off");
    let sent = telegram.wait_for("sendMessage", 1, WAIT).await?;
    ensure!(sent[0]["text"].as_str().is_some_and(|t| t.contains("Dry run is off")), "{sent:?}");
    ensure!(!settings(&backend).await?.dry_run);
    bot.stop().await
}

pub async fn telegram_asking_to_retry_later_is_honoured(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    let (menu_id, menu) = open_settings(&telegram, &admin()).await?;
    telegram.fail_next("answerCallbackQuery", 1, Failure::RetryAfter(1));
    let pressed = std::time::Instant::now();
    telegram.push_press(TEAM_CHAT, &admin(), menu_id, &button(&menu, "Dry run")?);
    let answers = telegram.wait_for("answerCallbackQuery", 2, WAIT).await?;
    ensure!(pressed.elapsed() >= Duration::from_secs(1), "the retry waited retry_after");
    ensure!(answers[1]["text"] == "Dry run off", "{answers:?}");
    ensure!(telegram.calls("sendMessage").len() == 1, "no failure message: {:?}", telegram.calls("sendMessage"));
    bot.stop().await
}

pub async fn an_edit_that_changes_nothing_counts_as_success(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    let (menu_id, menu) = open_settings(&telegram, &admin()).await?;
    // The menu's own workspace tag with the "show settings" action: the same menu again.
    let refresh = button(&menu, "Status")?.replace(":status", ":settings");
    telegram.push_press(TEAM_CHAT, &admin(), menu_id, &refresh);
    telegram.wait_for("answerCallbackQuery", 1, WAIT).await?;
    telegram.wait_for("editMessageText", 1, WAIT).await?;
    telegram.push_text(TEAM_CHAT, &admin(), "/help");
    let sent = telegram.wait_for("sendMessage", 2, WAIT).await?;
    ensure!(
        sent[1]["text"].as_str().is_some_and(|t| t.contains("/settings")),
        "no failure message in between: {sent:?}"
    );
    bot.stop().await
}

pub async fn other_chats_get_a_polite_refusal(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    telegram.push_text(-1, &admin(), "/settings");
    let sent = telegram.wait_for("sendMessage", 1, WAIT).await?;
    ensure!(
        sent[0]["chat_id"] == -1 && sent[0]["text"].as_str().is_some_and(|t| t.contains("serves one team chat")),
        "{sent:?}"
    );
    bot.stop().await
}

/// Two real images in the team's library, as `index-media` would add them.
async fn index_two_images(backend: &Backend) -> anyhow::Result<tempfile::TempDir> {
    use storyline_application::library::{LibraryService, Quiet};
    let folder = tempfile::tempdir()?;
    std::fs::create_dir_all(folder.path().join("memes"))?;
    for name in ["a", "b"] {
        std::fs::write(
            folder.path().join("memes").join(format!("{name}.png")),
            storyline_tests::files::png(1080, 1920, name),
        )?;
    }
    let stores = backend.reopen().await?;
    let workspace = stores.settings.workspace_by_chat(ChatId(TEAM_CHAT)).await?.context("no workspace")?;
    let clock = std::sync::Arc::new(storyline::wiring::SystemClock);
    LibraryService::new(stores.library.clone(), clock)
        .index(workspace.id, &storyline_media::LocalFolder::new(folder.path()), &Quiet)
        .await?;
    Ok(folder)
}

async fn pending(backend: &Backend) -> anyhow::Result<u64> {
    let stores = backend.reopen().await?;
    let workspace = stores.settings.workspace_by_chat(ChatId(TEAM_CHAT)).await?.context("no workspace")?;
    Ok(stores.queue.counts(workspace.id, chrono::Utc::now()).await?.pending)
}

/// Presses `label` on message `id` as `from`; returns the press's answer once the message is
/// edited (or, with no edit expected, once the press is answered).
async fn press(
    telegram: &FakeTelegram,
    from: &FakeUser,
    id: i32,
    label: &str,
    edits: bool,
) -> anyhow::Result<(String, Value)> {
    let message = telegram.message(TEAM_CHAT, id).context("the message is gone")?;
    let (answered, edited) = (telegram.count("answerCallbackQuery"), telegram.count("editMessageText"));
    telegram.push_press(TEAM_CHAT, from, id, &button(&message, label)?);
    let answers = telegram.wait_for("answerCallbackQuery", answered + 1, WAIT).await?;
    if edits {
        telegram.wait_for("editMessageText", edited + 1, WAIT).await?;
    }
    let note = answers.last().and_then(|a| a["text"].as_str()).unwrap_or_default().to_owned();
    Ok((note, telegram.message(TEAM_CHAT, id).context("the message is gone")?))
}

pub async fn settings_quick_actions_show_the_queue_and_schedule_days_for_admins(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    let (menu_id, menu) = open_settings(&telegram, &admin()).await?;
    for quick in ["Queue", "Schedule", "Status", "Close"] {
        ensure!(labels(&menu).contains(quick), "{quick} missing: {menu}");
    }
    let _media = index_two_images(&backend).await?;

    // Schedule is for admins: a member is told so and nothing is queued.
    let (note, _) = press(&telegram, &member(), menu_id, "Schedule", false).await?;
    ensure!(note.starts_with("Admins only"), "{note}");
    ensure!(pending(&backend).await? == 0);

    // Queue shows the queue in place, with the way back.
    let (_, shown) = press(&telegram, &admin(), menu_id, "Queue", true).await?;
    ensure!(shown["text"].as_str().is_some_and(|t| t.contains("The queue is empty")), "{shown}");
    let (_, back) = press(&telegram, &admin(), menu_id, "Settings", true).await?;
    ensure!(back["text"].as_str().is_some_and(|t| t.contains("Settings")), "{back}");

    // Schedule asks how many days, then fills the queue.
    let (_, asked) = press(&telegram, &admin(), menu_id, "Schedule", true).await?;
    ensure!(asked["text"].as_str().is_some_and(|t| t.contains("how many days")), "{asked}");
    for days in ["1", "3", "7", "14", "30"] {
        ensure!(
            asked["reply_markup"]["inline_keyboard"][0]
                .as_array()
                .is_some_and(|row| row.iter().any(|b| b["text"] == days)),
            "no {days} days: {asked}"
        );
    }
    let (_, done) = press(&telegram, &admin(), menu_id, "3", true).await?;
    ensure!(done["text"].as_str().is_some_and(|t| t.contains("Scheduled 2 stories")), "{done}");
    ensure!(pending(&backend).await? == 2, "the queue holds both images");
    let (_, back) = press(&telegram, &admin(), menu_id, "Settings", true).await?;
    let (_, queue) = press(&telegram, &admin(), menu_id, "Queue", true).await?;
    ensure!(queue["text"].as_str().is_some_and(|t| t.contains("Queue — 2 pending")), "{queue} after {back}");

    // /clear, then Cancel: nothing is cleared, and it says so.
    let before = telegram.count("sendMessage");
    telegram.push_text(TEAM_CHAT, &admin(), "/clear");
    telegram.wait_for("sendMessage", before + 1, WAIT).await?;
    let confirm = telegram.sent_message_ids(TEAM_CHAT).last().copied().context("no confirmation")?;
    let (note, kept) = press(&telegram, &admin(), confirm, "Cancel", true).await?;
    ensure!(note == "Nothing cleared", "{note}");
    ensure!(kept["text"].as_str().is_some_and(|t| t.contains("Nothing was cleared")), "{kept}");
    ensure!(pending(&backend).await? == 2, "the queue is as it was");
    bot.stop().await
}

/// At start the bot registers its command menu: the members' commands for everyone, and every
/// command for the chats' administrators, from the same list the bot parses.
pub async fn the_command_menu_is_registered_for_members_and_for_administrators(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    telegram
        .wait_until(WAIT, |t| t.commands("default").is_some() && t.commands("all_chat_administrators").is_some())
        .await?;
    let members = telegram.commands("default").context("no menu for members")?;
    let admins = telegram.commands("all_chat_administrators").context("no menu for administrators")?;
    for everyone in ["settings", "status", "queue", "stats", "history", "locks", "help"] {
        ensure!(members.iter().any(|c| c == everyone), "{everyone} missing for members: {members:?}");
        ensure!(admins.iter().any(|c| c == everyone), "{everyone} missing for admins: {admins:?}");
    }
    for admin_only in ["schedule", "clear", "next", "pause", "resume", "dryrun", "export"] {
        ensure!(!members.iter().any(|c| c == admin_only), "{admin_only} shown to members: {members:?}");
        ensure!(admins.iter().any(|c| c == admin_only), "{admin_only} missing for admins: {admins:?}");
    }
    let typed: Vec<String> =
        storyline_application::command::CommandName::ALL.iter().map(|c| c.as_str().to_owned()).collect();
    ensure!(admins == typed, "the menu is the bot's own command list: {admins:?}");
    bot.stop().await
}

/// `/settings export`: the settings as a JSON document in the chat, which reads back as an import.
pub async fn settings_export_sends_the_settings_as_a_json_file(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    telegram.push_text(TEAM_CHAT, &member(), "/settings export");
    telegram.wait_for("sendMessage", 1, WAIT).await?;
    telegram.push_text(TEAM_CHAT, &admin(), "/settings export");
    let sent = telegram.wait_for("sendDocument", 1, WAIT).await?;
    ensure!(telegram.count("sendDocument") == 1, "the member got no file");
    // teloxide names the upload `attach://<part>` and sends the file as that part.
    let field = &sent[0]["document"];
    let document = field.as_str().and_then(|d| d.strip_prefix("attach://")).map_or(field, |part| &sent[0][part]);
    ensure!(document["file_name"] == format!("storyline-settings-{TEAM_CHAT}.json"), "{document}");
    let text = document["text"].as_str().context("the file's text")?;
    let import = storyline_domain::settings::export::parse(text)?;
    ensure!(import.settings.dry_run == settings(&backend).await?.dry_run, "{text}");
    ensure!(sent[0]["caption"].as_str().is_some_and(|c| c.contains("no tokens, no secrets")), "{sent:?}");
    let stored = telegram.message(TEAM_CHAT, telegram.last_message_id()).context("the document was not stored")?;
    ensure!(stored["document"]["file_size"] == document["size"], "{stored}");
    bot.stop().await
}

/// Telegram refusing setMyCommands is logged; the bot serves the chat all the same.
pub async fn a_failing_command_menu_does_not_stop_the_bot(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    telegram.fail_next("setMyCommands", 2, Failure::ServerError);
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    telegram.wait_for("setMyCommands", 2, WAIT).await?;
    let (_, menu) = open_settings(&telegram, &admin()).await?;
    ensure!(labels(&menu).contains("Dry run"), "{menu}");
    ensure!(telegram.commands("default").is_none(), "the failed calls registered nothing");
    bot.stop().await
}

pub async fn a_busy_chat_does_not_hold_up_another_chat(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    // Eight replies in the team chat: Telegram's per-chat limit lets out about one a second.
    let commands = ["/help", "/start", "/help", "/start", "/help", "/start", "/help", "/start"];
    for command in commands {
        telegram.push_text(TEAM_CHAT, &admin(), command);
    }
    telegram.push_text(-1, &member(), "/settings");
    let in_team = |t: &FakeTelegram| t.calls("sendMessage").iter().filter(|m| m["chat_id"] == TEAM_CHAT).count();
    telegram.wait_until(WAIT, |t| t.calls("sendMessage").iter().any(|m| m["chat_id"] == -1)).await?;
    let team_before = in_team(&telegram);
    ensure!(team_before < commands.len(), "the other chat waited for the busy one: {team_before} team replies first");

    telegram.wait_until(Duration::from_secs(30), |t| in_team(t) == commands.len()).await?;
    let replies: Vec<String> = telegram
        .calls("sendMessage")
        .iter()
        .filter(|m| m["chat_id"] == TEAM_CHAT)
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    let help = replies[0].clone();
    for (i, reply) in replies.iter().enumerate() {
        ensure!((*reply == help) == (i % 2 == 0), "the team chat's replies came in order: {replies:#?}");
    }
    bot.stop().await
}

pub async fn a_crash_during_a_burst_loses_at_most_the_update_in_flight(backend: Backend) -> TestResult {
    const PRESSES: usize = 30;
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    let (menu_id, menu) = open_settings(&telegram, &admin()).await?;
    let toggle = button(&menu, "Dry run")?;
    bot.stop().await?;
    // One batch of presses, each slow to answer; the bot is killed a few presses in.
    let ids: Vec<String> = (0..PRESSES).map(|_| telegram.push_press(TEAM_CHAT, &admin(), menu_id, &toggle)).collect();
    telegram.delay("answerCallbackQuery", Duration::from_millis(100));
    // 30 presses at once from one person: over the inbound limit, which is not what this tests.
    let unlimited = || -> anyhow::Result<storyline::config::Config> {
        let mut config = storyline_tests::app::config(&telegram, &url(&backend)?)?;
        config.rate_limits = RateLimits::OFF;
        Ok(config)
    };
    let bot = TestBot::start_with(unlimited()?);
    telegram.wait_for("answerCallbackQuery", 5, WAIT).await?;
    bot.kill();
    telegram.delay("answerCallbackQuery", Duration::ZERO);

    let bot = TestBot::start_with(unlimited()?);
    telegram.wait_until(WAIT, |t| t.count("answerCallbackQuery") >= PRESSES - 1).await?;
    // Give a press handled twice the time to show.
    telegram.push_text(TEAM_CHAT, &admin(), "/help");
    let sent = telegram.calls("sendMessage").len();
    telegram.wait_for("sendMessage", sent + 1, WAIT).await?;
    bot.stop().await?;
    let answers = telegram.calls("answerCallbackQuery");
    let answered: Vec<&str> = answers.iter().filter_map(|a| a["callback_query_id"].as_str()).collect();
    let distinct: std::collections::HashSet<&str> = answered.iter().copied().collect();
    ensure!(answered.len() == distinct.len(), "a press was handled twice: {answered:?}");
    ensure!(distinct.len() >= PRESSES - 1, "lost more than the press in flight: {} of {PRESSES}", distinct.len());
    ensure!(ids.iter().filter(|id| !distinct.contains(id.as_str())).count() <= 1);
    let stores = backend.reopen().await?;
    let workspace = stores.settings.workspace_by_chat(ChatId(TEAM_CHAT)).await?.context("no workspace")?;
    let log = stores.audit.entries(workspace.id, AuditQuery { action: None, limit: 1_000 }).await?;
    let presses = log.iter().filter(|e| e.action == storyline_domain::audit::AuditAction::Button).count();
    ensure!((PRESSES - 1..=PRESSES).contains(&presses), "each press audited once: {presses}");
    Ok(())
}

/// T4 with the configured defaults: one person's burst of presses past their limit (10 at once)
/// gets one "slow down" answer, the rest none, and none of it is handled; another person is not
/// held up.
pub async fn a_burst_of_presses_past_the_limit_is_answered_once_and_not_handled(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    let (menu_id, menu) = open_settings(&telegram, &admin()).await?;
    let toggle = button(&menu, "Dry run")?;
    // /settings took one of the ten; nine presses are handled, the tenth is told, five are not.
    for _ in 0..15 {
        telegram.push_press(TEAM_CHAT, &admin(), menu_id, &toggle);
    }
    let answers = telegram.wait_for("answerCallbackQuery", 10, WAIT).await?;
    let sent = telegram.calls("sendMessage").len();
    telegram.push_text(TEAM_CHAT, &member(), "/help");
    telegram.wait_for("sendMessage", sent + 1, WAIT).await?;
    let answers_now = telegram.calls("answerCallbackQuery");
    ensure!(answers_now.len() == 10, "the rest of the burst is not answered: {answers_now:?}");
    let slow: Vec<&Value> =
        answers.iter().filter(|a| a["text"].as_str().is_some_and(|t| t.starts_with("Slow down"))).collect();
    ensure!(slow.len() == 1, "one slow-down answer: {answers:?}");
    ensure!(slow[0]["text"] == "Slow down: try again in 2 s.", "{}", slow[0]);
    ensure!(!settings(&backend).await?.dry_run, "nine flips from on, none of the refused ones");
    bot.stop().await
}

pub async fn a_nul_in_a_press_a_command_or_a_name_is_stored_and_audited(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    let nul = FakeUser::new(ADMIN, "A\0da").with_username("a\0da");
    let (menu_id, _) = open_settings(&telegram, &nul).await?;
    telegram.push_press(TEAM_CHAT, &nul, menu_id, "1:\0x");
    let answers = telegram.wait_for("answerCallbackQuery", 1, WAIT).await?;
    ensure!(answers[0]["text"].as_str().is_some_and(|t| t.contains("no longer valid")), "{answers:?}");
    telegram.push_text(TEAM_CHAT, &nul, "/help\0");
    telegram.push_text(TEAM_CHAT, &nul, "/dryrun o\0n");
    let sent = telegram.wait_for("sendMessage", 3, WAIT).await?;
    ensure!(sent[1]["text"].as_str().is_some_and(|t| t.contains("/settings")), "/help understood: {}", sent[1]);
    ensure!(sent[2]["text"].as_str().is_some_and(|t| t.contains("/dryrun on")), "{}", sent[2]);
    ensure!(
        !sent
            .iter()
            .any(|m| m["text"].as_str().is_some_and(|t| t.starts_with(storyline_application::bot::GENERIC_FAILURE))),
        "{sent:?}"
    );
    bot.stop().await?;

    let stores = backend.reopen().await?;
    let workspace = stores.settings.workspace_by_chat(ChatId(TEAM_CHAT)).await?.context("no workspace")?;
    let log = stores.audit.entries(workspace.id, AuditQuery { action: None, limit: 100 }).await?;
    let subjects: Vec<&str> = log.iter().map(|e| e.subject.as_str()).collect();
    ensure!(subjects.contains(&"refused: 1:\u{FFFD}x"), "the press is audited: {subjects:?}");
    ensure!(subjects.contains(&"/dryrun o\u{FFFD}n"), "{subjects:?}");
    let member = stores.users.member(workspace.id, storyline_domain::user::TelegramUserId(ADMIN)).await?;
    ensure!(member.is_some_and(|m| m.user.first_name == "A\u{FFFD}da"), "the name is stored");
    Ok(())
}

pub async fn a_saved_toggle_is_never_reported_as_unchanged(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &url(&backend)?)?;
    let (menu_id, menu) = open_settings(&telegram, &admin()).await?;
    telegram.fail_next("answerCallbackQuery", 1, Failure::ServerError);
    telegram.push_press(TEAM_CHAT, &admin(), menu_id, &button(&menu, "Dry run")?);
    // The same chat is handled in order: /help's reply comes once the press is done with.
    telegram.push_text(TEAM_CHAT, &admin(), "/help");
    telegram.wait_for("sendMessage", 2, Duration::from_secs(30)).await?;
    ensure!(!settings(&backend).await?.dry_run, "the change was saved");
    let edited = telegram.message(TEAM_CHAT, menu_id).context("menu gone")?;
    ensure!(labels(&edited).contains("Dry run: off"), "the menu shows the change: {edited}");
    let said: Vec<String> =
        telegram.all_calls().iter().filter_map(|(_, body)| body["text"].as_str().map(ToOwned::to_owned)).collect();
    ensure!(!said.iter().any(|t| t.contains("nothing was changed")), "told the change did not happen: {said:#?}");
    bot.stop().await
}

storyline_tests::on_backends!([sqlite, postgres] [
            a_toggle_edits_the_menu_in_place_and_the_database_agrees,
            change_posts_per_day_refuses_bad_answers_and_takes_a_good_one,
            a_member_is_told_admins_only_and_a_chat_administrator_is_not,
            forged_and_malformed_presses_never_change_anything,
            a_change_prompt_survives_a_restart,
            settings_persist_across_a_restart,
            no_update_is_handled_twice_after_a_restart,
            user_supplied_strings_are_escaped,
            other_chats_get_a_polite_refusal,
            a_channel_post_counts_as_an_admins_command,
            telegram_asking_to_retry_later_is_honoured,
            an_edit_that_changes_nothing_counts_as_success,
            settings_quick_actions_show_the_queue_and_schedule_days_for_admins,
            a_busy_chat_does_not_hold_up_another_chat,
            a_crash_during_a_burst_loses_at_most_the_update_in_flight,
            a_nul_in_a_press_a_command_or_a_name_is_stored_and_audited,
            a_saved_toggle_is_never_reported_as_unchanged,
            the_command_menu_is_registered_for_members_and_for_administrators,
            a_failing_command_menu_does_not_stop_the_bot,
            a_burst_of_presses_past_the_limit_is_answered_once_and_not_handled,
            settings_export_sends_the_settings_as_a_json_file,
]);

/// The database stops answering for a while: the bot says so — at once once it knows — keeps
/// polling, and recovers by itself within a moment of the database's return.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_bot_rides_out_a_database_outage() -> TestResult {
    use sqlx::ConnectOptions;
    use sqlx::postgres::PgConnectOptions;
    use storyline_application::bot::DATABASE_DOWN;
    use storyline_tests::proxy::Proxy;

    let Some(backend) = Backend::postgres().await? else {
        return Ok(());
    };
    let direct: PgConnectOptions = url(&backend)?.parse()?;
    let target = tokio::net::lookup_host((direct.get_host(), direct.get_port())).await?.next().context("no address")?;
    let proxy = Proxy::start(target).await?;
    let through_proxy = direct.clone().host("127.0.0.1").port(proxy.port()).to_url_lossy().to_string();

    let telegram = FakeTelegram::start().await?;
    let bot = TestBot::start(&telegram, &through_proxy)?;
    let (menu_id, menu) = open_settings(&telegram, &admin()).await?;

    proxy.cut();
    telegram.push_text(TEAM_CHAT, &admin(), "/settings");
    // The first update finds out, after the pool's timeout (the posting loop may also say it is
    // restarting).
    let told = |t: &FakeTelegram| t.calls("sendMessage").iter().skip(1).any(|m| m["text"] == DATABASE_DOWN);
    telegram.wait_until(Duration::from_secs(30), told).await?;
    // Known down: the next presses are answered at once, not one pool timeout (5 s) each.
    let pressed = std::time::Instant::now();
    let toggle = button(&menu, "Dry run")?;
    for _ in 0..5 {
        telegram.push_press(TEAM_CHAT, &admin(), menu_id, &toggle);
    }
    let down = |t: &FakeTelegram| t.calls("answerCallbackQuery").iter().filter(|a| a["text"] == DATABASE_DOWN).count();
    telegram.wait_until(WAIT, |t| down(t) >= 5).await?;
    ensure!(pressed.elapsed() < Duration::from_secs(5), "the presses waited for the database: {:?}", pressed.elapsed());
    let polls = telegram.get_updates_calls();
    telegram.wait_until(WAIT, |telegram| telegram.get_updates_calls() > polls).await?;

    proxy.restore();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, menu) = open_settings(&telegram, &admin()).await?;
    ensure!(labels(&menu).contains("Dry run: ON"), "recovered within three seconds, nothing changed: {menu}");
    bot.stop().await
}
