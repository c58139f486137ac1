//! Where the real `storyline` binary keeps its data and which workspace each command uses:
//! reading never writes, one rule picks the workspace, the data lives in one known place, is
//! whole in its file after a command, can be backed up, and a story sent from the command line
//! can be resolved there.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use storyline_domain::ChatId;
use storyline_domain::ports::{History, SettingsStore};
use storyline_sqlite::SqliteStore;
use storyline_tests::files::png;

const CHAT: &str = "-100123";

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_storyline"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("HOME", dir)
        .env("DATABASE_URL", format!("sqlite://{}", dir.join("storyline.db").display()));
    command
}

fn storyline(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().unwrap_or_else(|e| panic!("could not run storyline: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The posts per day a `settings show` table says.
fn posts_per_day(shown: &str) -> Option<u32> {
    let row = shown.lines().find(|l| l.contains("posts_per_day"))?;
    row.split(|c: char| !c.is_ascii_digit()).find(|part| !part.is_empty())?.parse().ok()
}

async fn open(file: &Path) -> anyhow::Result<SqliteStore> {
    SqliteStore::connect(&format!("sqlite://{}", file.display())).await
}

async fn workspace_count(dir: &Path) -> anyhow::Result<usize> {
    let store = open(&dir.join("storyline.db")).await?;
    let count = store.workspaces().await?.len();
    store.close().await;
    Ok(count)
}

#[tokio::test]
async fn reading_an_unknown_chat_refuses_names_the_known_ones_and_creates_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let set = storyline(dir.path(), &["settings", "set", "--chat", CHAT, "posts_per_day", "4"]);
    assert!(set.status.success(), "{}", text(&set.stderr));
    for args in [
        &["settings", "show", "--chat", "-999"][..],
        &["settings", "history", "--chat", "-999"],
        &["users", "list", "--chat", "-999"],
        &["list-queue", "--chat", "-999"],
        &["list-instagram-accounts", "--chat", "-999"],
    ] {
        let output = storyline(dir.path(), args);
        let said = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {said}");
        assert!(said.contains(r#"no workspace for chat -999 (known: -100123 "Chat -100123")"#), "{args:?}: {said}");
        assert_eq!(workspace_count(dir.path()).await?, 1, "{args:?} created a workspace");
    }
    Ok(())
}

#[tokio::test]
async fn a_bad_setting_creates_no_workspace_and_a_misspelt_key_gets_a_suggestion() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let output = storyline(dir.path(), &["settings", "set", "--chat", CHAT, "post_per_day", "4"]);
    let said = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("did you mean posts_per_day?") && said.contains("nothing changed"), "{said}");
    assert_eq!(workspace_count(dir.path()).await?, 0);
    let zone = storyline(dir.path(), &["settings", "set", "--chat", CHAT, "posting_timezone", "europe/berlin"]);
    assert_eq!(text(&zone.stdout).trim(), "posting_timezone: UTC → Europe/Berlin", "{}", text(&zone.stderr));
    Ok(())
}

#[tokio::test]
async fn without_a_chat_a_command_takes_telegram_chat_id_else_the_only_workspace_else_lists_them() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let none = storyline(dir.path(), &["list-queue"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(text(&none.stderr).contains("no workspace yet"), "{}", text(&none.stderr));
    assert_eq!(workspace_count(dir.path()).await?, 0);

    // A change with no chat and no workspace makes the console's own, which is then the only one.
    let first = storyline(dir.path(), &["settings", "set", "posts_per_day", "5"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let shown = text(&storyline(dir.path(), &["settings", "show"]).stdout);
    assert!(shown.contains("(chat 0,") && posts_per_day(&shown) == Some(5), "{shown}");

    assert!(storyline(dir.path(), &["settings", "set", "--chat", CHAT, "posts_per_day", "9"]).status.success());
    let several = storyline(dir.path(), &["settings", "show"]);
    let said = text(&several.stderr);
    assert_eq!(several.status.code(), Some(2), "{said}");
    assert!(said.contains("there are 2 workspaces; choose one with --chat or TELEGRAM_CHAT_ID"), "{said}");
    assert!(said.contains(r#"-100123 "Chat -100123", 0 "Console""#), "{said}");

    let configured = command(dir.path(), &["settings", "show"]).env("TELEGRAM_CHAT_ID", CHAT).output()?;
    let shown = text(&configured.stdout);
    assert!(shown.contains("(chat -100123,") && posts_per_day(&shown) == Some(9), "{shown}");
    let explicit = command(dir.path(), &["settings", "show", "--chat", "0"]).env("TELEGRAM_CHAT_ID", CHAT).output()?;
    assert!(text(&explicit.stdout).contains("(chat 0,"), "--chat wins: {}", text(&explicit.stdout));
    assert_eq!(workspace_count(dir.path()).await?, 2);
    Ok(())
}

#[tokio::test]
async fn someone_promoted_before_being_seen_has_no_last_seen_time() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    assert!(storyline(dir.path(), &["users", "promote", "--chat", CHAT, "4242", "--role", "admin"]).status.success());
    let listed = text(&storyline(dir.path(), &["users", "list", "--chat", CHAT]).stdout);
    let row = listed.lines().find(|l| l.contains("4242")).unwrap_or_default().to_owned();
    assert!(row.contains("(not seen yet)") && row.contains('—'), "{listed}");
    assert!(!row.chars().any(|c| c == ':'), "no time beside (not seen yet): {row}");
    let json: serde_json::Value =
        serde_json::from_slice(&storyline(dir.path(), &["users", "list", "--chat", CHAT, "--json"]).stdout)?;
    assert_eq!(json[0]["telegram_id"], 4242);
    assert_eq!(json[0]["role"], "admin");
    assert!(json[0]["last_seen"].is_null() && json[0]["name"].is_null(), "{json}");
    Ok(())
}

#[tokio::test]
async fn settings_history_prints_json_for_scripts() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    assert!(storyline(dir.path(), &["settings", "set", "--chat", CHAT, "posts_per_day", "7"]).status.success());
    let changes: serde_json::Value =
        serde_json::from_slice(&storyline(dir.path(), &["settings", "history", "--chat", CHAT, "--json"]).stdout)?;
    assert_eq!(changes[0]["setting"], "posts_per_day");
    assert_eq!((changes[0]["old"].as_str(), changes[0]["new"].as_str()), (Some("3"), Some("7")));
    assert_eq!(changes[0]["by"], "cli");
    let versions = storyline(dir.path(), &["settings", "history", "--chat", CHAT, "--versions", "--json"]);
    let versions: serde_json::Value = serde_json::from_slice(&versions.stdout)?;
    assert_eq!(versions.as_array().map(Vec::len), Some(2), "{versions}");
    assert_eq!(versions[1]["posts_per_day"], 7);
    assert!(versions[1]["valid_to"].is_null() && versions[0]["valid_to"].is_string(), "{versions}");
    Ok(())
}

/// The settings of chat `chat` as the database file alone has them (copied without its -wal and
/// -shm companions, as a careless backup would).
async fn settings_in_the_file_alone(dir: &Path, chat: i64) -> anyhow::Result<Option<(bool, u8)>> {
    let elsewhere = tempfile::tempdir()?;
    std::fs::copy(dir.join("storyline.db"), elsewhere.path().join("storyline.db"))?;
    let store = open(&elsewhere.path().join("storyline.db")).await?;
    let found = match store.workspace_by_chat(ChatId(chat)).await? {
        Some(workspace) => {
            let settings = store.settings(workspace.id).await?;
            Some((settings.dry_run, settings.posts_per_day.get()))
        }
        None => None,
    };
    store.close().await;
    Ok(found)
}

#[tokio::test]
async fn after_a_command_or_a_console_session_the_database_file_alone_holds_its_writes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    assert!(storyline(dir.path(), &["settings", "set", "--chat", CHAT, "posts_per_day", "7"]).status.success());
    assert_eq!(settings_in_the_file_alone(dir.path(), -100_123).await?, Some((true, 7)));

    let mut console = command(dir.path(), &["console", "--chat", CHAT])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    if let Some(mut input) = console.stdin.take() {
        std::io::Write::write_all(&mut input, b"/dryrun off\n/quit\n")?;
    }
    assert!(console.wait()?.success());
    assert_eq!(settings_in_the_file_alone(dir.path(), -100_123).await?, Some((false, 7)), "the console's change");
    Ok(())
}

#[tokio::test]
async fn backup_writes_a_copy_and_refuses_to_overwrite() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    assert!(storyline(dir.path(), &["settings", "set", "--chat", CHAT, "posts_per_day", "8"]).status.success());
    let backup = storyline(dir.path(), &["backup", "copy.db"]);
    assert!(backup.status.success(), "{}", text(&backup.stderr));
    assert!(text(&backup.stdout).contains("copy.db"), "{}", text(&backup.stdout));
    let store = open(&dir.path().join("copy.db")).await?;
    let workspace = store.workspace_by_chat(ChatId(-100_123)).await?.ok_or_else(|| anyhow::anyhow!("no workspace"))?;
    assert_eq!(store.settings(workspace.id).await?.posts_per_day.get(), 8);
    store.close().await;
    let again = storyline(dir.path(), &["backup", "copy.db"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("exists already"), "{}", text(&again.stderr));
    Ok(())
}

#[tokio::test]
async fn backup_on_postgres_says_to_use_pg_dump() -> anyhow::Result<()> {
    let Some(backend) = storyline_tests::Backend::postgres().await? else { return Ok(()) };
    let dir = tempfile::tempdir()?;
    let url = backend.database_url().ok_or_else(|| anyhow::anyhow!("no url"))?;
    let output = command(dir.path(), &["backup", "copy.db"]).env("DATABASE_URL", url).output()?;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert_eq!(text(&output.stderr).lines().count(), 1);
    assert!(text(&output.stderr).contains("pg_dump"), "{}", text(&output.stderr));
    assert!(!dir.path().join("copy.db").exists());
    Ok(())
}

#[tokio::test]
async fn unset_the_data_lives_in_the_per_user_folder_unless_the_working_directory_has_it() -> anyhow::Result<()> {
    let home = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    let default = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_storyline"))
            .args(args)
            .current_dir(work.path())
            .env_clear()
            .env("HOME", home.path())
            .output()
    };
    let migrated = default(&["migrate"])?;
    assert!(migrated.status.success(), "{}", text(&migrated.stderr));
    let file = home.path().join(".local/share/storyline/storyline.db");
    assert!(file.exists(), "{}", text(&migrated.stdout));
    assert!(!work.path().join("storyline.db").exists(), "nothing in the working directory");
    assert!(text(&migrated.stdout).contains(&file.display().to_string()), "{}", text(&migrated.stdout));

    // An installation from before keeps its ./storyline.db.
    std::fs::copy(&file, work.path().join("storyline.db"))?;
    let kept = default(&["migrate"])?;
    assert!(text(&kept.stdout).contains("in the working directory"), "{}", text(&kept.stdout));

    let console = Command::new(env!("CARGO_BIN_EXE_storyline"))
        .arg("console")
        .current_dir(work.path())
        .env_clear()
        .env("HOME", home.path())
        .stdin(Stdio::null())
        .output()?;
    let shown = text(&console.stdout);
    assert!(shown.contains(&format!("SQLite file {}", work.path().join("storyline.db").display())), "{shown}");
    Ok(())
}

#[tokio::test]
async fn a_story_sent_from_the_command_line_says_where_it_went_and_is_resolved_there() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("media/memes"))?;
    std::fs::write(dir.path().join("media/memes/a.png"), png(1080, 1920, "a"))?;
    std::fs::write(dir.path().join("media/memes/b.png"), png(1080, 1920, "b"))?;
    std::fs::write(dir.path().join("media/memes/c.png"), png(1080, 1920, "c"))?;
    assert!(storyline(dir.path(), &["index-media", "media", "--chat", CHAT]).status.success());
    assert!(storyline(dir.path(), &["create-schedule", "--days", "1", "--chat", CHAT]).status.success());
    let queue: serde_json::Value =
        serde_json::from_slice(&storyline(dir.path(), &["list-queue", "--chat", CHAT, "--json"]).stdout)?;
    assert_eq!(queue.as_array().map(Vec::len), Some(3), "{queue}");

    let sent = command(dir.path(), &["process-queue", "--force", "--chat", CHAT]).env("MEDIA_DIR", "media").output()?;
    let said = text(&sent.stdout);
    assert!(sent.status.success(), "{said}{}", text(&sent.stderr));
    assert!(!said.contains("type a button") && !said.contains("[1]"), "no buttons here: {said}");
    assert!(said.contains("shown only here (TELEGRAM_BOT_TOKEN is not set)"), "{said}");
    let item = said
        .split("storyline resolve ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or_else(|| anyhow::anyhow!("no resolve hint: {said}"))?
        .to_owned();
    let path = queue[0]["path"].as_str().unwrap_or_default().to_owned();
    assert!(queue[0]["item"].as_str().unwrap_or_default().replace('-', "").starts_with(&item), "{queue} {item}");

    // A story still waiting for its slot cannot be resolved.
    let pending = queue[1]["item"].as_str().unwrap_or_default().to_owned();
    let early = storyline(dir.path(), &["resolve", &pending, "posted", "--chat", CHAT]);
    assert_eq!(early.status.code(), Some(2), "{}", text(&early.stderr));
    assert!(text(&early.stderr).contains("not in the chat yet"), "{}", text(&early.stderr));

    let resolved = storyline(dir.path(), &["resolve", &item, "posted", "--chat", CHAT]);
    assert!(resolved.status.success(), "{}", text(&resolved.stderr));
    assert!(text(&resolved.stdout).contains("Marked as posted"), "{}", text(&resolved.stdout));
    let again =
        storyline(dir.path(), &["resolve", queue[0]["item"].as_str().unwrap_or_default(), "skip", "--chat", CHAT]);
    assert!(text(&again.stdout).contains("Already handled: posted"), "{}", text(&again.stdout));

    let store = open(&dir.path().join("storyline.db")).await?;
    let workspace = store.workspace_by_chat(ChatId(-100_123)).await?.ok_or_else(|| anyhow::anyhow!("no workspace"))?;
    let history = History::history(&store, workspace.id, 10).await?;
    store.close().await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].path, path);
    assert_eq!(history[0].by, storyline_domain::user::Actor::Cli, "the operator is its author");
    let left: serde_json::Value =
        serde_json::from_slice(&storyline(dir.path(), &["list-queue", "--chat", CHAT, "--json"]).stdout)?;
    assert_eq!(left.as_array().map(Vec::len), Some(2), "{left}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_story_sent_to_telegram_names_the_chat_and_resolving_it_updates_its_message() -> anyhow::Result<()> {
    use storyline_tests::fake_telegram::FakeTelegram;

    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("media/memes"))?;
    std::fs::write(dir.path().join("media/memes/a.png"), png(1080, 1920, "a"))?;
    assert!(storyline(dir.path(), &["index-media", "media", "--chat", CHAT]).status.success());
    assert!(storyline(dir.path(), &["create-schedule", "--days", "1", "--chat", CHAT]).status.success());
    let telegram = FakeTelegram::start().await?;
    let on_telegram = |args: &'static [&'static str]| {
        let mut command = command(dir.path(), args);
        command
            .env("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN)
            .env("TELEGRAM_CHAT_ID", CHAT)
            .env("TELEGRAM_API_URL", telegram.api_url());
        tokio::task::spawn_blocking(move || command.output())
    };
    let sent = on_telegram(&["process-queue", "--force"]).await??;
    let said = text(&sent.stdout);
    assert!(said.contains("it is in chat -100123 on Telegram"), "{said}{}", text(&sent.stderr));
    assert_eq!(telegram.count("sendPhoto"), 1);
    let item = said
        .split("storyline resolve ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or_else(|| anyhow::anyhow!("no resolve hint: {said}"))?
        .to_owned();
    let mut resolve = command(dir.path(), &["resolve", &item, "skip"]);
    resolve
        .env("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN)
        .env("TELEGRAM_CHAT_ID", CHAT)
        .env("TELEGRAM_API_URL", telegram.api_url());
    let resolved = tokio::task::spawn_blocking(move || resolve.output()).await??;
    assert!(text(&resolved.stdout).contains("Skipped"), "{}{}", text(&resolved.stdout), text(&resolved.stderr));
    let edits = telegram.calls("editMessageCaption");
    assert_eq!(edits.len(), 1, "the story's message shows what became of it");
    assert!(edits[0]["caption"].as_str().is_some_and(|c| c.contains("Skipped</b> by the operator")), "{}", edits[0]);
    Ok(())
}
