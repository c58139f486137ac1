//! Memory while a story's media goes to the chat (issue target: sending a 100 MB video raises
//! the process's RSS by no more than 16 MB over sending a small one).
//!
//! Run: `cargo bench -p storyline-tests --bench media`. It builds `storyline` in release mode and
//! runs `storyline process-queue --force` twice against a fake Bot API on loopback, each with a
//! SQLite database and a library of one video: a small one (1 MB), then one of 100,000,000 bytes.
//! The peak resident memory of each run (`VmHWM`, read until the process ends) is compared.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use comfy_table::Table;
use storyline_tests::app::TEAM_CHAT;
use storyline_tests::bench::{release_binary, status_kib};
use storyline_tests::fake_telegram::FakeTelegram;
use storyline_tests::files::mp4_of_size;

const SMALL: u64 = 1_000_000;
const LARGE: u64 = 100_000_000;
const TARGET_MB: f64 = 16.0;

/// What one send cost: the peak RSS in KiB, how long it took, and the size Telegram received.
struct Sent {
    peak_kib: u64,
    took: Duration,
    received: u64,
}

fn storyline(binary: &Path, dir: &Path, telegram: &FakeTelegram) -> Command {
    let mut command = Command::new(binary);
    command
        .current_dir(dir)
        .env_clear()
        .env("HOME", dir)
        .env("DATABASE_URL", format!("sqlite://{}", dir.join("storyline.db").display()))
        .env("MEDIA_DIR", dir.join("media"))
        .env("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN)
        .env("TELEGRAM_API_URL", telegram.api_url())
        .env("TELEGRAM_CHAT_ID", TEAM_CHAT.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null());
    command
}

async fn send_one(binary: &Path, telegram: &FakeTelegram, size: u64) -> anyhow::Result<Sent> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("media/clips"))?;
    std::fs::write(dir.path().join("media/clips/story.mp4"), mp4_of_size(1080, 1920, 10, size))?;
    for args in [&["index-media"][..], &["create-schedule", "--days", "1"]] {
        let done = storyline(binary, dir.path(), telegram).args(args).stderr(Stdio::piped()).output()?;
        ensure!(done.status.success(), "storyline {args:?}: {}", String::from_utf8_lossy(&done.stderr));
    }
    let videos_before = telegram.count("sendVideo");
    let started = Instant::now();
    let mut child = storyline(binary, dir.path(), telegram).args(["process-queue", "--force"]).spawn()?;
    let mut peak_kib = 0;
    // VmHWM only grows; its last reading before the process ends is its peak.
    while child.try_wait()?.is_none() {
        if let Ok(kib) = status_kib(child.id(), "VmHWM") {
            peak_kib = kib;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let took = started.elapsed();
    ensure!(child.wait()?.success(), "process-queue failed");
    ensure!(telegram.count("sendVideo") == videos_before + 1, "the video was not sent");
    let call = telegram.calls("sendVideo").pop().context("no sendVideo")?;
    // teloxide names the file part at random and points `video` at it ("attach://…").
    let received = call
        .as_object()
        .and_then(|fields| {
            fields.values().find_map(|field| field["file_name"].is_string().then(|| field["size"].as_u64()))
        })
        .flatten()
        .with_context(|| format!("no uploaded file in sendVideo: {call}"))?;
    Ok(Sent { peak_kib, took, received })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let binary = release_binary()?;
    let telegram = FakeTelegram::start().await?;
    let small = send_one(&binary, &telegram, SMALL).await?;
    let large = send_one(&binary, &telegram, LARGE).await?;
    let raised_mb = (large.peak_kib.saturating_sub(small.peak_kib)) as f64 / 1024.0;

    let mut table = Table::new();
    table.set_header(["measure", "result", "target"]);
    for (name, sent) in [("1 MB video", &small), ("100 MB video", &large)] {
        table.add_row([
            format!("{name}: peak RSS of process-queue"),
            format!("{:.1} MB", sent.peak_kib as f64 / 1024.0),
            "—".to_owned(),
        ]);
        table.add_row([
            format!("{name}: sent in"),
            format!("{:.0} ms ({} bytes received)", sent.took.as_secs_f64() * 1e3, sent.received),
            "—".to_owned(),
        ]);
    }
    table.add_row([
        "RSS raised by the 100 MB video".to_owned(),
        format!("{raised_mb:.1} MB"),
        format!("≤ {TARGET_MB} MB"),
    ]);
    println!("{table}");
    ensure!(large.received >= LARGE, "the large video arrived short: {} bytes", large.received);
    ensure!(raised_mb <= TARGET_MB, "the 100 MB video raised RSS by {raised_mb:.1} MB, over {TARGET_MB} MB");
    Ok(())
}
