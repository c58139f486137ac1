//! Many workspaces in one bot, measured on the real binary (issue 13 targets: toggles spread over
//! 1,000 workspaces ≥ 2,000 updates/s handled by one process with p99 press → edit ≤ 20 ms; idle
//! RSS with 10,000 workspaces in the database ≤ 30 MB).
//!
//! Run: `cargo bench -p storyline-tests --bench workspaces` (PostgreSQL from `TEST_DATABASE_URL`,
//! by default the local server). It fills a fresh database with 10,000 workspaces, runs
//! `storyline run` without `TELEGRAM_CHAT_ID` (every workspace's chat served) against a fake Bot
//! API on loopback, opens a menu in 1,000 of the chats, then presses toggles: one at a time round
//! the chats for the latency, then a burst across them for the throughput. The posting tick with
//! 10,000 workspaces is in the `scheduler` benchmark.
//!
//! `BENCH_WEBHOOK=1` runs the bot in webhook mode (issue 14: press → edit p50 ≤ 2 ms, ≥ 3,000
//! updates/s across 1,000 chats), the fake Bot API delivering every update by HTTP with up to
//! 40 requests at once, as Telegram does; `BENCH_REPLICAS=3` (webhook mode) runs three
//! processes on the one database, delivered to round-robin.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use chrono::Utc;
use comfy_table::Table;
use storyline_domain::ChatId;
use storyline_domain::settings::SettingsDefaults;
use storyline_tests::Backend;
use storyline_tests::bench::{Running, cpu_time, cpu_time_of, percentile, release_binary, rss_kib};
use storyline_tests::fake_telegram::{FakeTelegram, FakeUser};

const WORKSPACES: usize = 10_000;
const CHATS: usize = 1_000;
const SEQUENTIAL: usize = 2_000;
const BURST_ROUNDS: usize = 10;
const WAIT: Duration = Duration::from_secs(120);
const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const ADMIN: i64 = 10;

fn chat(n: usize) -> i64 {
    -1_000_000_000 - i64::try_from(n).unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| LOCAL_POSTGRES.to_owned());
    let binary = release_binary()?;
    let backend = Backend::postgres_on(&server).await?;
    let database_url = backend.database_url().context("no database URL")?.to_owned();

    eprintln!("filling: {WORKSPACES} workspaces…");
    let stores = backend.stores();
    let defaults = SettingsDefaults::default();
    for n in 0..WORKSPACES {
        stores.settings.ensure_workspace(ChatId(chat(n)), &format!("Team {n}"), &defaults, Utc::now()).await?;
    }

    let media = tempfile::tempdir()?;
    let telegram = FakeTelegram::start().await?;
    let webhook = std::env::var("BENCH_WEBHOOK").is_ok_and(|v| v == "1");
    let replicas: usize = std::env::var("BENCH_REPLICAS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    ensure!(replicas == 1 || webhook, "several replicas take updates by webhook only (BENCH_WEBHOOK=1)");
    let mut bots = Vec::new();
    let mut pids = Vec::new();
    let mut targets = Vec::new();
    for _ in 0..replicas {
        let mut command = Command::new(&binary);
        command
            .arg("run")
            .env_clear()
            .env("DATABASE_URL", &database_url)
            .env("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN)
            .env("TELEGRAM_API_URL", telegram.api_url())
            .env("ADMIN_TELEGRAM_USER_IDS", ADMIN.to_string())
            .env("MEDIA_DIR", media.path())
            // One admin pressing in a thousand chats at once: the inbound limits would refuse it.
            .env("RATE_LIMIT_PERSON_PER_MINUTE", "0")
            .env("RATE_LIMIT_CHAT_PER_MINUTE", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        if webhook {
            let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
            command.env("WEBHOOK_URL", "https://bench.example.com/telegram").env("HTTP_ADDR", addr.to_string());
            targets.push(format!("http://{addr}"));
        }
        let child = command.spawn()?;
        pids.push(child.id());
        bots.push(Running(child));
    }
    let pid = pids[0];
    if webhook {
        telegram.deliver_round_robin(&targets);
        telegram.wait_until(WAIT, |telegram| telegram.count("setWebhook") >= replicas).await?;
    } else {
        telegram.wait_until(WAIT, |telegram| telegram.get_updates_calls() >= 1).await?;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_rss = rss_kib(pid)?;
    let cpu = |pids: &[u32]| -> anyhow::Result<Duration> { pids.iter().map(|pid| cpu_time(*pid)).sum() };

    // A menu in each of the first CHATS chats.
    let admin = FakeUser::new(ADMIN, "Ada");
    for n in 0..CHATS {
        telegram.push_text(chat(n), &admin, "/settings");
    }
    telegram.wait_for("sendMessage", CHATS, WAIT).await?;
    let mut menus = Vec::with_capacity(CHATS);
    for n in 0..CHATS {
        let id = *telegram.sent_message_ids(chat(n)).last().context("no menu")?;
        let menu = telegram.message(chat(n), id).context("menu not stored")?;
        let toggle =
            menu["reply_markup"]["inline_keyboard"][0][0]["callback_data"].as_str().context("no toggle")?.to_owned();
        menus.push((chat(n), id, toggle));
    }

    // One press at a time, each in the next chat round the thousand.
    eprintln!("pressing: {SEQUENTIAL} one at a time…");
    let mut latencies = Vec::with_capacity(SEQUENTIAL);
    for i in 0..SEQUENTIAL {
        let (chat, menu, toggle) = &menus[i % CHATS];
        let pressed = Instant::now();
        telegram.push_press(*chat, &admin, *menu, toggle);
        telegram.wait_until(WAIT, |t| t.count("editMessageText") > i && t.count("answerCallbackQuery") > i).await?;
        latencies.push(pressed.elapsed());
    }
    latencies.sort();
    let before_burst = (cpu(&pids)?, cpu_time(std::process::id())?, cpu_time_of("postgres")?);

    // A burst spread over the thousand chats: how many updates a second one process handles.
    let presses = CHATS * BURST_ROUNDS;
    eprintln!("burst: {presses} presses at once…");
    let burst_started = Instant::now();
    for _ in 0..BURST_ROUNDS {
        for (chat, menu, toggle) in &menus {
            telegram.push_press(*chat, &admin, *menu, toggle);
        }
    }
    let total = SEQUENTIAL + presses;
    telegram
        .wait_until(WAIT, |t| t.count("editMessageText") >= total && t.count("answerCallbackQuery") >= total)
        .await
        .with_context(|| {
            let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
            for (_, status) in telegram.webhook_attempts() {
                *statuses.entry(status).or_default() += 1;
            }
            format!(
                "of {total} presses: {} edits, {} answers; {} updates pending; webhook answers by status {statuses:?}",
                telegram.count("editMessageText"),
                telegram.count("answerCallbackQuery"),
                telegram.pending_updates(),
            )
        })?;
    let burst = burst_started.elapsed();
    ensure!(telegram.count("answerCallbackQuery") == total, "every press answered once");
    let burst_cpu = cpu(&pids)?.saturating_sub(before_burst.0);
    // The fake Bot API runs in this process; the database in its own.
    let fake_cpu = cpu_time(std::process::id())?.saturating_sub(before_burst.1);
    let database_cpu = cpu_time_of("postgres")?.saturating_sub(before_burst.2);
    let loaded_rss = rss_kib(pid)?;
    drop(bots);
    let mode = if webhook { format!("webhook, {replicas} replica(s)") } else { "long polling".to_owned() };
    println!("mode: {mode}");

    let mut table = Table::new();
    table.set_header(["measure", "result", "target"]);
    table.add_row([
        format!("idle RSS, {WORKSPACES} workspaces in the database"),
        format!("{:.1} MB", idle_rss as f64 / 1024.0),
        "≤ 30 MB".to_owned(),
    ]);
    table.add_row([
        format!("press → edit p50 ({SEQUENTIAL} one at a time over {CHATS} chats)"),
        format!("{:.2} ms", percentile(&latencies, 0.5).as_secs_f64() * 1e3),
        "—".to_owned(),
    ]);
    table.add_row([
        "press → edit p99".to_owned(),
        format!("{:.2} ms", percentile(&latencies, 0.99).as_secs_f64() * 1e3),
        "≤ 20 ms".to_owned(),
    ]);
    table.add_row([
        format!("updates/s, {presses} presses over {CHATS} chats at once"),
        format!("{:.0}", presses as f64 / burst.as_secs_f64()),
        "≥ 2,000".to_owned(),
    ]);
    table.add_row([
        "bot CPU per press in the burst (all replicas)".to_owned(),
        format!("{:.2} ms", burst_cpu.as_secs_f64() * 1e3 / presses as f64),
        "—".to_owned(),
    ]);
    table.add_row([
        "fake Bot API CPU per press in the burst".to_owned(),
        format!("{:.2} ms", fake_cpu.as_secs_f64() * 1e3 / presses as f64),
        "—".to_owned(),
    ]);
    table.add_row([
        "PostgreSQL CPU per press in the burst".to_owned(),
        format!("{:.2} ms", database_cpu.as_secs_f64() * 1e3 / presses as f64),
        "—".to_owned(),
    ]);
    table.add_row(["RSS after the load".to_owned(), format!("{:.1} MB", loaded_rss as f64 / 1024.0), "—".to_owned()]);
    println!("{table}");
    Ok(())
}
