//! The bot's speed and memory, measured on the real binary (FEATURES S2; issue targets: toggle
//! p50 ≤ 2 ms, p99 ≤ 10 ms, ≥ 750 toggles/s in one chat, idle RSS ≤ 15 MB, start to first poll
//! ≤ 0.3 s with migrations).
//!
//! Run: `cargo bench -p storyline-tests --bench bot` (PostgreSQL from `TEST_DATABASE_URL`, by
//! default the local server). It builds `storyline` in release mode, runs `storyline run` against
//! a fake Bot API on loopback and a fresh PostgreSQL database, and prints a table.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use comfy_table::Table;
use storyline_tests::Backend;
use storyline_tests::app::{ADMIN, TEAM_CHAT};
use storyline_tests::bench::{Running, cpu_time, percentile, release_binary, rss_kib};
use storyline_tests::fake_telegram::{FakeTelegram, FakeUser};

const SEQUENTIAL: usize = 1_000;
const BURST: usize = 3_000;
const WAIT: Duration = Duration::from_secs(60);
const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| LOCAL_POSTGRES.to_owned());
    let binary = release_binary()?;
    let backend = Backend::postgres_on(&server).await?;
    let mut database_url = backend.database_url().context("no database URL")?.to_owned();
    if let Ok(extra) = std::env::var("BENCH_DATABASE_URL_SUFFIX") {
        database_url.push_str(&extra);
    }
    let telegram = FakeTelegram::start().await?;
    let admin = FakeUser::new(ADMIN, "Ada");

    let started = Instant::now();
    let child = Command::new(&binary)
        .arg("run")
        .env_clear()
        .env("DATABASE_URL", &database_url)
        .env("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN)
        .env("TELEGRAM_CHAT_ID", TEAM_CHAT.to_string())
        .env("TELEGRAM_API_URL", telegram.api_url())
        .env("ADMIN_TELEGRAM_USER_IDS", ADMIN.to_string())
        // One admin toggling thousands of times a second: the inbound limits would refuse it.
        .env("RATE_LIMIT_PERSON_PER_MINUTE", "0")
        .env("RATE_LIMIT_CHAT_PER_MINUTE", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let bot = Running(child);
    telegram.wait_until(WAIT, |telegram| telegram.get_updates_calls() >= 1).await?;
    let to_first_poll = started.elapsed();

    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = rss_kib(pid)?;

    telegram.push_text(TEAM_CHAT, &admin, "/settings");
    telegram.wait_for("sendMessage", 1, WAIT).await?;
    let menu_id = *telegram.sent_message_ids(TEAM_CHAT).last().context("no menu")?;
    let menu = telegram.message(TEAM_CHAT, menu_id).context("menu not stored")?;
    let toggle =
        menu["reply_markup"]["inline_keyboard"][0][0]["callback_data"].as_str().context("no toggle")?.to_owned();

    // One press at a time: press → answered and the menu edited.
    let mut latencies = Vec::with_capacity(SEQUENTIAL);
    for i in 0..SEQUENTIAL {
        let pressed = Instant::now();
        telegram.push_press(TEAM_CHAT, &admin, menu_id, &toggle);
        // Counted, not listed: listing clones every body so far and would time the fake, not the bot.
        telegram.wait_until(WAIT, |t| t.count("editMessageText") > i && t.count("answerCallbackQuery") > i).await?;
        latencies.push(pressed.elapsed());
    }
    latencies.sort();

    let sequential_cpu = cpu_time(pid)?;

    // A burst in one chat: how many toggles a second the bot gets through.
    let burst_started = Instant::now();
    for _ in 0..BURST {
        telegram.push_press(TEAM_CHAT, &admin, menu_id, &toggle);
    }
    // Done when every press is answered and every menu edited (the two go out concurrently).
    telegram
        .wait_until(WAIT, |t| {
            t.count("editMessageText") >= SEQUENTIAL + BURST && t.count("answerCallbackQuery") >= SEQUENTIAL + BURST
        })
        .await?;
    let burst = burst_started.elapsed();
    ensure!(telegram.count("answerCallbackQuery") == SEQUENTIAL + BURST, "every press answered");
    let loaded_rss = rss_kib(pid)?;
    let burst_cpu = cpu_time(pid)?.saturating_sub(sequential_cpu);
    drop(bot);

    let mut table = Table::new();
    table.set_header(["measure", "result", "target"]);
    table.add_row([
        "start → first poll (migrations included)".to_owned(),
        format!("{:.0} ms", to_first_poll.as_secs_f64() * 1e3),
        "≤ 300 ms".to_owned(),
    ]);
    table.add_row(["idle RSS".to_owned(), format!("{:.1} MB", idle_rss as f64 / 1024.0), "≤ 15 MB".to_owned()]);
    table.add_row([
        format!("toggle latency p50 ({SEQUENTIAL} sequential)"),
        format!("{:.2} ms", percentile(&latencies, 0.5).as_secs_f64() * 1e3),
        "≤ 2 ms".to_owned(),
    ]);
    table.add_row([
        "toggle latency p99".to_owned(),
        format!("{:.2} ms", percentile(&latencies, 0.99).as_secs_f64() * 1e3),
        "≤ 10 ms".to_owned(),
    ]);
    table.add_row([
        format!("toggles/s in one chat ({BURST} burst)"),
        format!("{:.0}", BURST as f64 / burst.as_secs_f64()),
        "≥ 750".to_owned(),
    ]);
    table.add_row([
        "bot CPU per toggle in the burst".to_owned(),
        format!("{:.2} ms", burst_cpu.as_secs_f64() * 1e3 / BURST as f64),
        "—".to_owned(),
    ]);
    table.add_row(["RSS after the load".to_owned(), format!("{:.1} MB", loaded_rss as f64 / 1024.0), "—".to_owned()]);
    println!("{table}");
    Ok(())
}
