//! The real `storyline` binary, on a SQLite file in a temporary folder.

use std::path::Path;
use std::process::{Command, Output};

use storyline_domain::ChatId;
use storyline_domain::ports::{Audit, AuditQuery, SettingsStore};
use storyline_domain::settings::ChatSettings;
use storyline_sqlite::SqliteStore;
use storyline_tests::files::{jpeg, png};

const CHAT: &str = "-100123";

fn storyline(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_storyline"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", format!("sqlite://{}", dir.join("storyline.db").display()))
        .output()
        .unwrap_or_else(|e| panic!("could not run storyline: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Everything a settings change could touch: the settings, their history, the audit trail.
async fn snapshot(dir: &Path) -> anyhow::Result<(ChatSettings, usize, usize)> {
    let store = SqliteStore::connect(&format!("sqlite://{}", dir.join("storyline.db").display())).await?;
    let workspace =
        store.workspace_by_chat(ChatId(-100_123)).await?.ok_or_else(|| anyhow::anyhow!("no workspace for the chat"))?;
    let settings = store.settings(workspace.id).await?;
    let versions = store.history(workspace.id).await?.len();
    let audit = store.entries(workspace.id, AuditQuery { action: None, limit: 1000 }).await?.len();
    store.close().await;
    Ok((settings, versions, audit))
}

#[tokio::test]
async fn settings_show_reads_a_workspace_a_change_created_from_the_defaults_for_a_negative_chat_id()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // Reading never writes: an unknown chat is refused, and nothing is created.
    let refused = storyline(dir.path(), &["settings", "show", "--chat", CHAT]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("no workspace for chat -100123"), "{}", text(&refused.stderr));
    assert!(snapshot(dir.path()).await.is_err(), "no workspace was created");
    let created = storyline(dir.path(), &["settings", "set", "--chat", CHAT, "dry_run_mode", "true"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let output = storyline(dir.path(), &["settings", "show", "--chat", CHAT]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let shown = text(&output.stdout);
    assert!(shown.contains("chat -100123"), "{shown}");
    assert!(shown.contains("posts_per_day") && shown.contains("posting_timezone"), "{shown}");
    let (settings, versions, audit) = snapshot(dir.path()).await?;
    assert_eq!(settings.posts_per_day.get(), 3);
    assert_eq!((versions, audit), (1, 0));
    Ok(())
}

#[tokio::test]
async fn invalid_input_says_what_is_allowed_exits_non_zero_and_changes_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    assert!(storyline(dir.path(), &["settings", "set", "--chat", CHAT, "posting_hours_end", "2"]).status.success());
    let before = snapshot(dir.path()).await?;
    for (key, value, allowed) in [
        ("posts_per_day", "0", "from 1 to 50"),
        ("posts_per_day", "51", "from 1 to 50"),
        ("posts_per_day", "abc", "from 1 to 50"),
        ("posts_per_day", "99999999999", "from 1 to 50"),
        ("posts_per_day", "true", "from 1 to 50"),
        ("posts_per_day", "-3", "from 1 to 50"),
        ("posting_hours_start", "24", "from 0 to 23"),
        ("posting_hours_start", "2", "different hours"),
        ("colour", "blue", "use one of dry_run_mode, enable_instagram_api"),
        ("posting_timezone", "Mars/Olympus", "IANA name"),
        ("dry_run_mode", "7", "true or false"),
        ("is_paused", "maybe", "true or false"),
    ] {
        let output = storyline(dir.path(), &["settings", "set", "--chat", CHAT, key, value]);
        let said = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{key}={value}: {said}");
        assert!(said.contains(allowed), "{key}={value}: {said}");
        assert!(said.contains("nothing changed"), "{key}={value}: {said}");
        assert_eq!(snapshot(dir.path()).await?, before, "{key}={value} changed something");
    }
    Ok(())
}

#[tokio::test]
async fn a_change_is_printed_audited_and_versioned() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let output = storyline(dir.path(), &["settings", "set", "--chat", CHAT, "posts_per_day", "7"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim(), "posts_per_day: 3 → 7");
    let output = storyline(dir.path(), &["settings", "set", "--chat", CHAT, "dry_run_mode", "off"]);
    assert!(output.status.success());
    let (settings, versions, audit) = snapshot(dir.path()).await?;
    assert_eq!((settings.posts_per_day.get(), settings.dry_run), (7, false));
    assert_eq!((versions, audit), (3, 2));

    let history = text(&storyline(dir.path(), &["settings", "history", "--chat", CHAT]).stdout);
    let dry_run = history.find("dry_run_mode").unwrap_or(usize::MAX);
    let posts = history.find("posts_per_day").unwrap_or(usize::MAX);
    assert!(dry_run < posts && posts < usize::MAX, "newest first:\n{history}");
    assert!(history.contains("cli"), "{history}");
    let versions = text(&storyline(dir.path(), &["settings", "history", "--chat", CHAT, "--versions"]).stdout);
    assert!(versions.contains("current") && versions.contains("system"), "{versions}");
    Ok(())
}

#[tokio::test]
async fn setting_what_already_is_says_so_and_writes_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let output = storyline(dir.path(), &["settings", "set", "--chat", CHAT, "dry_run_mode", "true"]);
    assert!(output.status.success());
    assert!(text(&output.stdout).contains("nothing changed"));
    assert_eq!(snapshot(dir.path()).await?.1, 1);
    Ok(())
}

#[tokio::test]
async fn a_bad_environment_value_is_one_line_naming_the_variable() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let output = Command::new(env!("CARGO_BIN_EXE_storyline"))
        .args(["migrate"])
        .current_dir(dir.path())
        .env_clear()
        .env("POSTS_PER_DAY", "51")
        .output()?;
    assert_eq!(output.status.code(), Some(2));
    let said = text(&output.stderr);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("POSTS_PER_DAY must be a whole number from 1 to 50"), "{said}");
    assert!(!dir.path().join("storyline.db").exists(), "nothing was created");
    Ok(())
}

#[tokio::test]
async fn migrate_creates_the_embedded_database_in_the_per_user_data_folder() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let output = Command::new(env!("CARGO_BIN_EXE_storyline"))
        .arg("migrate")
        .current_dir(dir.path())
        .env_clear()
        .env("HOME", dir.path())
        .output()?;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(dir.path().join(".local/share/storyline/storyline.db").exists());
    assert!(!dir.path().join("storyline.db").exists());
    Ok(())
}

#[tokio::test]
async fn run_without_a_token_says_so_and_without_a_chat_serves_many_without_showing_the_token() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let output =
        Command::new(env!("CARGO_BIN_EXE_storyline")).arg("run").current_dir(dir.path()).env_clear().output()?;
    assert_eq!(output.status.code(), Some(2));
    let said = text(&output.stderr);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("TELEGRAM_BOT_TOKEN is not set"), "{said}");
    // No chat id is many-workspace mode, not a refusal: with Telegram unreachable (nothing
    // listens on port 9) it keeps trying, says what it serves, and stops on SIGTERM.
    let child = Command::new(env!("CARGO_BIN_EXE_storyline"))
        .arg("run")
        .current_dir(dir.path())
        .env_clear()
        // Its default database under this test's own home, not the machine's.
        .env("HOME", dir.path())
        .env("TELEGRAM_BOT_TOKEN", "1:secret-token-value")
        .env("TELEGRAM_API_URL", "http://127.0.0.1:9")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let output = child.wait_with_output()?;
    let said = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(said.contains("serving every chat with a workspace"), "{said}");
    assert!(!said.contains("TELEGRAM_CHAT_ID is not set"), "{said}");
    assert!(!said.contains("secret-token-value"), "the token never shows in the log: {said}");
    Ok(())
}

#[tokio::test]
async fn run_polls_telegram_and_stops_cleanly_on_sigterm() -> anyhow::Result<()> {
    use storyline_tests::fake_telegram::FakeTelegram;

    let dir = tempfile::tempdir()?;
    let telegram = FakeTelegram::start().await?;
    let child = Command::new(env!("CARGO_BIN_EXE_storyline"))
        .arg("run")
        .current_dir(dir.path())
        .env_clear()
        .env("HOME", dir.path())
        .env("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN)
        .env("TELEGRAM_CHAT_ID", "-100123")
        .env("TELEGRAM_API_URL", telegram.api_url())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let pid = child.id().to_string();
    // Whatever happens below, the bot does not outlive the test: SIGKILL after 30 s.
    let watchdog = std::thread::spawn({
        let pid = pid.clone();
        move || {
            std::thread::sleep(std::time::Duration::from_secs(30));
            let _ = Command::new("kill").arg("-KILL").arg(&pid).status();
        }
    });
    let polled =
        telegram.wait_until(std::time::Duration::from_secs(20), |telegram| telegram.get_updates_calls() >= 1).await;
    let killed = Command::new("kill").arg("-TERM").arg(&pid).status()?;
    assert!(killed.success());
    let stopped = tokio::task::spawn_blocking(move || child.wait_with_output()).await??;
    drop(watchdog);
    polled?;
    assert!(stopped.status.success(), "exit {:?}: {}", stopped.status, text(&stopped.stderr));
    let logs = text(&stopped.stderr);
    assert!(logs.contains("shutting down") && logs.contains("polling stopped"), "{logs}");
    assert!(logs.contains(".local/share/storyline/storyline.db"), "run says where the data is: {logs}");
    assert!(!logs.contains(FakeTelegram::TOKEN), "the token never appears in the logs: {logs}");
    Ok(())
}

#[tokio::test]
async fn users_are_promoted_audited_and_listed() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let output = storyline(dir.path(), &["users", "promote", "--chat", CHAT, "4242", "--role", "admin"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("4242 is now admin"));
    let listed = text(&storyline(dir.path(), &["users", "list", "--chat", CHAT]).stdout);
    assert!(listed.contains("4242") && listed.contains("admin") && listed.contains("(not seen yet)"), "{listed}");
    let refused = storyline(dir.path(), &["users", "promote", "--chat", CHAT, "4242", "--role", "emperor"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("possible values: admin, member"), "{}", text(&refused.stderr));
    let (_, _, audit) = snapshot(dir.path()).await?;
    assert_eq!(audit, 1, "the promotion is audited");
    Ok(())
}

#[test]
fn the_library_is_indexed_mixed_scheduled_listed_and_cleared_from_the_command_line() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let media = dir.path().join("media");
    std::fs::create_dir_all(media.join("memes"))?;
    std::fs::create_dir_all(media.join("merch"))?;
    std::fs::write(media.join("memes/a.png"), png(1080, 1920, "a"))?;
    std::fs::write(media.join("memes/b.jpg"), jpeg(1080, 1920, "b"))?;
    std::fs::write(media.join("memes/again.png"), png(1080, 1920, "a"))?;
    std::fs::write(media.join("merch/mug.png"), png(300, 300, "mug"))?;
    std::fs::write(media.join("merch/anim.gif"), b"GIF89a")?;

    let indexed = storyline(dir.path(), &["index-media", "media", "--chat", CHAT]);
    assert!(indexed.status.success(), "{}", text(&indexed.stderr));
    let said = text(&indexed.stdout);
    assert!(said.contains("5 files: 3 added, 1 duplicate, 1 refused; 2 warnings"), "{said}");
    assert!(said.contains("refused  merch/anim.gif"), "{said}");
    assert!(said.contains("same     memes/again.png is the same as memes/a.png, already in the library"), "{said}");
    assert!(said.contains("warning  merch/mug.png: 300×300 is far from 9:16"), "{said}");

    let categories = text(&storyline(dir.path(), &["list-categories", "--chat", CHAT]).stdout);
    assert!(categories.contains("memes") && categories.contains("merch"), "{categories}");
    let listed = text(&storyline(dir.path(), &["list-media", "--chat", CHAT, "--category", "memes"]).stdout);
    assert!(listed.contains("memes/a.png") && listed.contains("memes/b.jpg") && !listed.contains("mug"), "{listed}");

    for (bad, says) in [
        (vec!["memes=70", "merch=20"], "add up to 90"),
        (vec!["memes=abc"], "not a whole percentage"),
        (vec!["memes"], "is not category=percent"),
        (vec!["memes=50", "memes=50"], "named twice"),
        (vec!["Memes And=100"], "not category=percent"),
    ] {
        let mut args = vec!["category-mix", "set", "--chat", CHAT];
        args.extend(bad.iter().copied());
        let refused = storyline(dir.path(), &args);
        assert_eq!(refused.status.code(), Some(2), "{bad:?}");
        assert!(text(&refused.stderr).contains(says), "{bad:?}: {}", text(&refused.stderr));
    }
    let history = text(&storyline(dir.path(), &["category-mix", "history", "--chat", CHAT]).stdout);
    assert!(!history.contains('='), "refused mixes change nothing: {history}");
    let set = storyline(dir.path(), &["category-mix", "set", "memes=70", "merch=30", "--chat", CHAT]);
    assert!(text(&set.stdout).contains("category mix is now memes=70 merch=30"), "{}", text(&set.stderr));
    let history = text(&storyline(dir.path(), &["category-mix", "history", "--chat", CHAT]).stdout);
    assert!(history.contains("memes=70 merch=30") && history.contains("cli"), "{history}");

    for days in ["0", "31", "abc"] {
        let refused = storyline(dir.path(), &["create-schedule", "--days", days, "--chat", CHAT]);
        assert_eq!(refused.status.code(), Some(2), "--days {days}");
    }
    let scheduled = storyline(dir.path(), &["create-schedule", "--days", "1", "--chat", CHAT]);
    assert!(text(&scheduled.stdout).contains("scheduled 3 stories"), "{}", text(&scheduled.stdout));
    let queue = text(&storyline(dir.path(), &["list-queue", "--chat", CHAT]).stdout);
    assert_eq!(queue.matches("pending").count(), 3, "{queue}");

    // Narrower posting hours: the upcoming stories move into them.
    let narrowed = storyline(dir.path(), &["settings", "set", "--chat", CHAT, "posting_hours_end", "15"]);
    assert!(text(&narrowed.stdout).contains("moved 3 upcoming stories"), "{}", text(&narrowed.stdout));
    let queue = text(&storyline(dir.path(), &["list-queue", "--chat", CHAT]).stdout);
    assert_eq!(queue.matches(" 14:").count(), 3, "every slot is inside 14–15 now: {queue}");

    let refused = storyline(dir.path(), &["clear-queue", "--chat", CHAT]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("--yes"));
    let cleared = storyline(dir.path(), &["clear-queue", "--yes", "--chat", CHAT]);
    assert!(text(&cleared.stdout).contains("cleared 3 pending stories"), "{}", text(&cleared.stdout));
    Ok(())
}
