//! End to end in webhook mode (`WEBHOOK_URL`): the real wiring against a fake Bot API that
//! delivers updates to the bot's `HTTP_ADDR` as Telegram would (through a TLS proxy), on SQLite
//! and on PostgreSQL. Test names read `backend::behaviour`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use storyline_domain::ChatId;
use storyline_domain::ports::AuditQuery;
use storyline_tests::app::{ADMIN, TEAM_CHAT, TestBot, config_with};
use storyline_tests::fake_telegram::{Failure, FakeTelegram, FakeUser, button_data};
use storyline_tests::files::healthz;
use storyline_tests::{Backend, TestResult};

const WAIT: Duration = Duration::from_secs(15);
const HOOK: &str = "https://bot.example.com/telegram/hook";

fn admin() -> FakeUser {
    FakeUser::new(ADMIN, "Ada").with_username("ada_admin")
}

fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// A bot in webhook mode on `addr`, and the fake delivering to it.
fn start(telegram: &FakeTelegram, backend: &Backend, addr: SocketAddr) -> anyhow::Result<TestBot> {
    let url = backend.database_url().context("an end-to-end test needs a database")?;
    let config =
        config_with(telegram, url, &[("WEBHOOK_URL", Some(HOOK.to_owned())), ("HTTP_ADDR", Some(addr.to_string()))])?;
    telegram.deliver_to(&format!("http://{addr}"));
    Ok(TestBot::start_with(config))
}

/// The webhook as the bot set it: its secret token.
async fn secret(telegram: &FakeTelegram) -> anyhow::Result<String> {
    telegram.wait_until(WAIT, |telegram| telegram.webhook().is_some()).await?;
    let (url, secret) = telegram.webhook().context("no webhook")?;
    ensure!(url == HOOK, "{url}");
    secret.context("the webhook has no secret token")
}

async fn audited(backend: &Backend, subject: &str) -> anyhow::Result<usize> {
    let stores = backend.reopen().await?;
    let workspace = stores.settings.workspace_by_chat(ChatId(TEAM_CHAT)).await?.context("no workspace")?;
    let log = stores.audit.entries(workspace.id, AuditQuery { action: None, limit: 1_000 }).await?;
    Ok(log.iter().filter(|entry| entry.subject == subject).count())
}

pub async fn updates_come_by_webhook_and_each_redelivery_is_handled_once(backend: Backend) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    // Every update reaches the bot twice, the second time after its first 200.
    telegram.redeliver_every(1);
    let addr = free_addr()?;
    let bot = start(&telegram, &backend, addr)?;
    let secret = secret(&telegram).await?;
    ensure!(secret.len() == 43, "a generated secret of 256 bits: {} characters", secret.len());

    telegram.push_text(TEAM_CHAT, &admin(), "/settings");
    telegram.wait_for("sendMessage", 1, WAIT).await?;
    let menu_id = *telegram.sent_message_ids(TEAM_CHAT).last().context("no menu")?;
    let menu = telegram.message(TEAM_CHAT, menu_id).context("menu gone")?;
    telegram.push_press(TEAM_CHAT, &admin(), menu_id, &button_data(&menu, "Dry run")?);
    telegram.wait_for("editMessageText", 1, WAIT).await?;
    telegram.push_text(TEAM_CHAT, &admin(), "/pause");
    telegram.wait_for("sendMessage", 2, WAIT).await?;
    // Every copy was answered 200 (the second ones as duplicates) and Telegram forgot them all.
    telegram
        .wait_until(WAIT, |telegram| telegram.webhook_attempts().len() >= 6 && telegram.pending_updates() == 0)
        .await?;
    let attempts = telegram.webhook_attempts();
    ensure!(attempts.len() == 6 && attempts.iter().all(|(_, status)| *status == 200), "{attempts:?}");
    let (status, health) = healthz(addr).await?;
    ensure!(health["webhook"]["accepted"] == 3 && health["webhook"]["duplicates"] == 3, "{status} {health}");
    ensure!(health["webhook"]["url"] == "https://bot.example.com/…", "the path is not shown: {health}");
    ensure!(!health.to_string().contains(&secret), "the secret is not shown: {health}");
    bot.stop().await?;

    ensure!(telegram.count("sendMessage") == 2, "the menu and /pause's answer, once each");
    ensure!(telegram.count("editMessageText") == 1, "one toggle, one edit");
    ensure!(telegram.count("answerCallbackQuery") == 1, "one press, one answer");
    ensure!(audited(&backend, "/pause").await? == 1, "/pause audited once");
    ensure!(telegram.get_updates_calls() == 0, "no polling in webhook mode");

    // A restart sets the webhook again with the secret kept in the database.
    let before = telegram.count("setWebhook");
    let bot = start(&telegram, &backend, addr)?;
    telegram.wait_for("setWebhook", before + 1, WAIT).await?;
    ensure!(self::secret(&telegram).await? == secret, "the stored secret is used again");
    telegram.push_text(TEAM_CHAT, &admin(), "/help");
    telegram.wait_for("sendMessage", 3, WAIT).await?;
    bot.stop().await
}

/// POSTs `body` to the webhook path on `addr` with `secret` as the token header.
async fn post(addr: SocketAddr, secret: Option<&str>, body: Vec<u8>) -> anyhow::Result<u16> {
    let mut request = reqwest::Client::new().post(format!("http://{addr}/telegram/hook")).body(body);
    if let Some(secret) = secret {
        request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    Ok(request.send().await?.status().as_u16())
}

fn update(update_id: i64, text: &str) -> Vec<u8> {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": 9_000 + update_id, "date": 1_700_000_000,
            "chat": { "id": TEAM_CHAT, "type": "supergroup", "title": "Team" },
            "from": { "id": ADMIN, "is_bot": false, "first_name": "Ada" },
            "text": text,
            "entities": [{ "type": "bot_command", "offset": 0, "length": text.len() }],
        },
    })
    .to_string()
    .into_bytes()
}

/// `/healthz` once the webhook check has seen the webhook registered with Telegram.
async fn registered(addr: SocketAddr) -> anyhow::Result<Value> {
    let mut last = Value::Null;
    for _ in 0..100 {
        let (_, health) = healthz(addr).await?;
        if health["webhook"]["registered"] == true {
            return Ok(health);
        }
        last = health;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the webhook never showed as registered: {last}")
}

pub async fn a_request_without_the_secret_or_not_an_update_is_refused_and_changes_nothing(
    backend: Backend,
) -> TestResult {
    let telegram = FakeTelegram::start().await?;
    let addr = free_addr()?;
    let bot = start(&telegram, &backend, addr)?;
    let secret = secret(&telegram).await?;

    ensure!(post(addr, None, update(1_001, "/pause")).await? == 401, "no secret");
    ensure!(post(addr, Some("wrong"), update(1_002, "/pause")).await? == 401, "a wrong secret");
    let longer = format!("{secret}x");
    ensure!(post(addr, Some(&longer), update(1_003, "/pause")).await? == 401, "the secret and more");
    ensure!(post(addr, Some(&secret), b"{not json".to_vec()).await? == 400, "not an update");
    ensure!(post(addr, Some(&secret), vec![b' '; 300 * 1024]).await? == 413, "over 256 KiB");
    let get = reqwest::Client::new().get(format!("http://{addr}/telegram/hook")).send().await?.status();
    ensure!(get.as_u16() == 405, "only POST: {get}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    ensure!(telegram.count("sendMessage") == 0, "nothing refused was handled: {:?}", telegram.calls("sendMessage"));
    ensure!(audited(&backend, "/pause").await? == 0, "nothing audited");

    // The same update with the secret goes through, once, however often it comes.
    ensure!(post(addr, Some(&secret), update(1_004, "/pause")).await? == 200);
    ensure!(post(addr, Some(&secret), update(1_004, "/pause")).await? == 200, "a re-delivery is answered 200");
    telegram.wait_for("sendMessage", 1, WAIT).await?;
    let health = registered(addr).await?;
    let webhook = &health["webhook"];
    ensure!(webhook["unauthorized"] == 3 && webhook["malformed"] == 1, "{health}");
    ensure!(webhook["accepted"] == 1 && webhook["duplicates"] == 1, "{health}");
    ensure!(health["loops"]["telegram_webhook"]["state"] == "ok", "{health}");
    bot.stop().await?;
    ensure!(telegram.count("sendMessage") == 1, "{:?}", telegram.calls("sendMessage"));
    ensure!(audited(&backend, "/pause").await? == 1);
    Ok(())
}

storyline_tests::on_backends!([sqlite, postgres] [
    updates_come_by_webhook_and_each_redelivery_is_handled_once,
    a_request_without_the_secret_or_not_an_update_is_refused_and_changes_nothing,
]);

/// Telegram refusing WEBHOOK_URL stops the start with its reason; long polling afterwards
/// removes a webhook an earlier run left, and works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_refused_webhook_stops_the_start_and_polling_later_removes_a_webhook() -> TestResult {
    let backend = Backend::sqlite().await?.context("sqlite is always there")?;
    let telegram = FakeTelegram::start().await?;
    let addr = free_addr()?;
    telegram.fail_next("setWebhook", 1, Failure::BadRequest("Bad Request: bad webhook: Failed to resolve host".into()));
    let refused = start(&telegram, &backend, addr)?.stop().await.err().map(|e| format!("{e:#}")).unwrap_or_default();
    ensure!(
        refused.contains("Telegram refused WEBHOOK_URL") && refused.contains("Failed to resolve host"),
        "{refused}"
    );
    ensure!(!refused.contains(FakeTelegram::TOKEN), "{refused}");

    let webhook = start(&telegram, &backend, addr)?;
    secret(&telegram).await?;
    webhook.stop().await?;
    ensure!(telegram.webhook().is_some(), "a stop leaves the webhook to the other replicas");

    let url = backend.database_url().context("url")?;
    let polling = TestBot::start_with(config_with(&telegram, url, &[])?);
    telegram.wait_for("deleteWebhook", 1, WAIT).await?;
    telegram.push_text(TEAM_CHAT, &admin(), "/help");
    telegram.wait_for("sendMessage", 1, WAIT).await?;
    ensure!(telegram.webhook().is_none());
    polling.stop().await
}
