//! Outbound messages within Telegram's limits for the whole bot (FEATURES T4): `storyline run`
//! serving many workspaces (no `TELEGRAM_CHAT_ID`) against the fake Bot API enforcing Telegram's
//! flood limits, on SQLite and on PostgreSQL. A story falls due in every workspace at once; each
//! is sent exactly once, and Telegram never has to answer 429. Test names read
//! `backend::behaviour`.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use storyline_tests::app::{TestBot, config_with};
use storyline_tests::due::{awaiting_press, sent_once_each, stories_due};
use storyline_tests::fake_telegram::FakeTelegram;
use storyline_tests::{Backend, TestResult};

/// Workspaces with a story due at once. At Telegram's 30 messages a second (the pacer keeps a
/// margin: 30 in every 1.1 s) they take about 37 s to send.
const WORKSPACES: usize = 1_000;
/// Waits until `stories` photos were sent (30 a second at best; the slack covers ticks, the
/// store and a busy machine); returns how long that took from `since`.
async fn all_sent(telegram: &FakeTelegram, stories: usize, since: Instant) -> anyhow::Result<Duration> {
    let wait = Duration::from_secs(u64::try_from(stories / 20)? + 60);
    telegram.wait_until(wait, |t| t.count("sendPhoto") >= stories).await.with_context(|| {
        format!(
            "{} of {stories} stories sent, {} answered 429",
            telegram.count("sendPhoto"),
            telegram.too_many_requests()
        )
    })?;
    Ok(since.elapsed())
}

/// No 429, each of the first `stories` chats got exactly one photo, and no faster than
/// Telegram's 30 a second allow.
fn sent_once_each_within_the_limits(telegram: &FakeTelegram, stories: usize, took: Duration) -> TestResult {
    sent_once_each(telegram, stories)?;
    let least = Duration::from_secs_f64(stories as f64 / 30.0) - Duration::from_secs(1);
    ensure!(took >= least, "{stories} stories in {took:?}: faster than Telegram allows");
    Ok(())
}

pub async fn a_story_due_in_every_workspace_at_once_is_sent_once_each_without_a_429(backend: Backend) -> TestResult {
    let media = tempfile::tempdir()?;
    let filling = Instant::now();
    stories_due(&backend, media.path(), WORKSPACES).await?;
    eprintln!("{WORKSPACES} workspaces filled in {:?}", filling.elapsed());
    let telegram = FakeTelegram::start().await?;
    telegram.enforce_limits();
    let url = backend.database_url().context("an end-to-end test needs a database")?;
    let config = config_with(
        &telegram,
        url,
        &[
            ("TELEGRAM_CHAT_ID", None),
            ("MEDIA_DIR", Some(media.path().display().to_string())),
            ("POSTING_INTERVAL_SECONDS", Some("1".to_owned())),
        ],
    )?;
    let sending = Instant::now();
    let bot = TestBot::start_with(config);
    let took = all_sent(&telegram, WORKSPACES, sending).await?;
    eprintln!("{WORKSPACES} stories sent in {took:?}");
    // A few more ticks: nothing is sent again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    bot.stop().await?;
    sent_once_each_within_the_limits(&telegram, WORKSPACES, took)?;
    // Every story is marked sent and waits for its press.
    let awaiting = awaiting_press(&backend).await?;
    ensure!(awaiting == u64::try_from(WORKSPACES)?, "{awaiting} stories wait for a press");
    Ok(())
}

storyline_tests::on_backends!(
    [sqlite, postgres][a_story_due_in_every_workspace_at_once_is_sent_once_each_without_a_429]
);

/// Three replicas (webhook mode, one PostgreSQL) with a story due in each of 300 workspaces at
/// once: each story is sent once, by one of them, and together they keep to the bot's limits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_three_replicas_send_each_due_story_once_within_the_bots_limits() -> TestResult {
    const STORIES: usize = 300;
    let Some(backend) = Backend::postgres().await? else { return Ok(()) };
    let media = tempfile::tempdir()?;
    stories_due(&backend, media.path(), STORIES).await?;
    let telegram = FakeTelegram::start().await?;
    telegram.enforce_limits();
    let url = backend.database_url().context("an end-to-end test needs a database")?;
    let mut bots = Vec::new();
    let mut targets = Vec::new();
    let sending = Instant::now();
    for _ in 0..3 {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        targets.push(format!("http://{addr}"));
        let config = config_with(
            &telegram,
            url,
            &[
                ("TELEGRAM_CHAT_ID", None),
                ("MEDIA_DIR", Some(media.path().display().to_string())),
                ("POSTING_INTERVAL_SECONDS", Some("1".to_owned())),
                ("WEBHOOK_URL", Some("https://bot.example.com/telegram".to_owned())),
                ("HTTP_ADDR", Some(addr.to_string())),
                ("ENCRYPTION_KEY", Some(backend.encryption_key().to_owned())),
            ],
        )?;
        bots.push(TestBot::start_with(config));
    }
    telegram.deliver_round_robin(&targets);
    let took = all_sent(&telegram, STORIES, sending).await?;
    eprintln!("{STORIES} stories sent by 3 replicas in {took:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    for bot in bots {
        bot.stop().await?;
    }
    sent_once_each_within_the_limits(&telegram, STORIES, took)
}
