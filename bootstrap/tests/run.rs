//! `storyline run` (the real binary) against a fake Bot API: the checks it makes before serving.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use storyline_tests::fake_telegram::FakeTelegram;

/// Runs `storyline run` with `vars` on a SQLite file in `dir`; kills it after `limit`.
async fn run(dir: &std::path::Path, vars: &[(&str, String)], limit: Duration) -> anyhow::Result<Output> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_storyline"));
    command
        .arg("run")
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", format!("sqlite://{}", dir.join("storyline.db").display()))
        .env("TELEGRAM_CHAT_ID", "-100123")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in vars {
        command.env(name, value);
    }
    let child = command.spawn()?;
    let pid = child.id();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output());
    match tokio::time::timeout(limit, waiting).await {
        Ok(output) => Ok(output??),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            anyhow::bail!("storyline run did not stop within {limit:?}")
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_stops_with_one_line_when_telegram_refuses_the_token() -> anyhow::Result<()> {
    let telegram = FakeTelegram::start().await?;
    let dir = tempfile::tempdir()?;
    let token = "999999:WRONG-SECRET-abcdef";
    let vars = [("TELEGRAM_BOT_TOKEN", token.to_owned()), ("TELEGRAM_API_URL", telegram.api_url())];
    let output = run(dir.path(), &vars, Duration::from_secs(30)).await?;
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "a failure, not a usage error: {stderr}");
    let said: Vec<&str> = stderr.lines().filter(|l| l.starts_with("storyline:")).collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(said[0].contains("Telegram refused TELEGRAM_BOT_TOKEN"), "{stderr}");
    assert!(!stderr.contains("WRONG-SECRET") && !stdout.contains("WRONG-SECRET"), "the token is never shown: {stderr}");
    assert_eq!(telegram.get_updates_calls(), 0, "it stopped before polling");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_stops_with_one_line_when_http_addr_is_taken() -> anyhow::Result<()> {
    let telegram = FakeTelegram::start().await?;
    let dir = tempfile::tempdir()?;
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = taken.local_addr()?;
    let vars = [
        ("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN.to_owned()),
        ("TELEGRAM_API_URL", telegram.api_url()),
        ("HTTP_ADDR", addr.to_string()),
    ];
    let output = run(dir.path(), &vars, Duration::from_secs(30)).await?;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let said: Vec<&str> = stderr.lines().filter(|l| l.starts_with("storyline:")).collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(said[0].contains(&format!("HTTP_ADDR {addr}")) && said[0].contains("in use"), "{stderr}");
    assert_eq!(telegram.get_updates_calls(), 0, "it stopped before polling");
    drop(taken);
    Ok(())
}
