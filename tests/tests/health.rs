//! `/healthz` of the real wiring (`storyline::serve::telegram`): the database and both loops —
//! Telegram polling and posting — must be alive for a 200.

use std::time::Duration;

use anyhow::Context;
use storyline::config::Config;
use storyline::serve;
use storyline_tests::app::{ADMIN, TEAM_CHAT, fast_polling};
use storyline_tests::fake_telegram::FakeTelegram;
use storyline_tests::files::healthz;
use storyline_tests::{Backend, TestResult};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_the_database_and_both_loops_of_a_running_bot() -> TestResult {
    let backend = Backend::sqlite().await?.context("sqlite is always there")?;
    let telegram = FakeTelegram::start().await?;
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let vars = [
        ("DATABASE_URL", backend.database_url().context("url")?.to_owned()),
        ("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN.to_owned()),
        ("TELEGRAM_CHAT_ID", TEAM_CHAT.to_string()),
        ("TELEGRAM_API_URL", telegram.api_url()),
        ("ADMIN_TELEGRAM_USER_IDS", ADMIN.to_string()),
        ("HTTP_ADDR", addr.to_string()),
        ("POSTING_INTERVAL_SECONDS", "1".to_owned()),
    ];
    let config = Config::from_lookup(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))?;
    let (stop, listen) = tokio::sync::watch::channel(false);
    let settings = storyline_telegram::PollSettings { long_poll: Duration::from_secs(1), ..fast_polling() };
    let running = tokio::spawn(async move { serve::telegram(&config, settings, listen).await });

    let mut last = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok((status, body)) = healthz(addr).await {
            if status == 200 {
                last = Some(body);
                break;
            }
            last = Some(body);
        }
    }
    let body = last.context("/healthz never answered")?;
    anyhow::ensure!(body["status"] == "ok", "{body}");
    anyhow::ensure!(body["database"] == "ok", "{body}");
    anyhow::ensure!(body["loops"]["posting"]["state"] == "ok", "{body}");
    anyhow::ensure!(body["loops"]["telegram_polling"]["state"] == "ok", "{body}");
    anyhow::ensure!(body["loops"]["token_refresh"]["state"] == "ok", "the daily refresh job ran at start: {body}");
    anyhow::ensure!(body["loops"]["media_sync"]["state"] == "ok", "the sync loop started: {body}");
    anyhow::ensure!(body["loops"]["media_sync"]["interval_seconds"] == 900.0, "every 15 minutes: {body}");

    // Telegram stops answering getUpdates: polling goes stale and /healthz says 503.
    telegram.fail_next("getUpdates", 1_000, storyline_tests::fake_telegram::Failure::Forbidden("Forbidden".into()));
    let mut unhealthy = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (status, body) = healthz(addr).await?;
        if status == 503 {
            unhealthy = Some(body);
            break;
        }
    }
    let body = unhealthy.context("/healthz stayed 200 while polling failed")?;
    let polling = &body["loops"]["telegram_polling"];
    anyhow::ensure!(polling["state"] == "failing", "{body}");
    anyhow::ensure!(polling["failures_in_a_row"].as_u64().is_some_and(|n| n > 0), "{body}");
    anyhow::ensure!(polling["last_error"].as_str().is_some_and(|e| e.contains("Forbidden")), "{body}");
    telegram.clear_failures("getUpdates");
    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(15), running).await???;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_shows_polling_failures_from_the_start_without_the_token() -> TestResult {
    let backend = Backend::sqlite().await?.context("sqlite is always there")?;
    let telegram = FakeTelegram::start().await?;
    telegram.fail_next(
        "getUpdates",
        1_000,
        storyline_tests::fake_telegram::Failure::Forbidden("Forbidden: go away".into()),
    );
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let vars = [
        ("DATABASE_URL", backend.database_url().context("url")?.to_owned()),
        ("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN.to_owned()),
        ("TELEGRAM_CHAT_ID", TEAM_CHAT.to_string()),
        ("TELEGRAM_API_URL", telegram.api_url()),
        ("HTTP_ADDR", addr.to_string()),
    ];
    let config = Config::from_lookup(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))?;
    let (stop, listen) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(async move { serve::telegram(&config, fast_polling(), listen).await });
    telegram.wait_until(Duration::from_secs(15), |t| t.get_updates_calls() >= 3).await?;
    let (status, body) = healthz(addr).await?;
    anyhow::ensure!(status == 503, "{body}");
    let polling = &body["loops"]["telegram_polling"];
    anyhow::ensure!(polling["state"] == "failing", "not \"starting\": {body}");
    anyhow::ensure!(polling["failures_in_a_row"].as_u64().is_some_and(|n| n >= 2), "{body}");
    anyhow::ensure!(polling["last_error"].as_str().is_some_and(|e| e.contains("go away")), "{body}");
    anyhow::ensure!(!body.to_string().contains("TEST-TOKEN"), "no secret in /healthz: {body}");
    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(15), running).await???;
    Ok(())
}
