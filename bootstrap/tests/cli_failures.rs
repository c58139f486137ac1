//! How the real `storyline` binary fails: one line, the right exit code, a quiet end on a closed
//! pipe, the real cause when PostgreSQL cannot be used, and help as good as cargo's.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use clap::CommandFactory;

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

fn run(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|e| panic!("could not run storyline: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A port on loopback that nothing listens on.
fn closed_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

#[test]
fn a_failure_is_one_line_with_each_cause_once_and_exit_code_1() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("no/such/folder/storyline.db");
    let output =
        run(command(dir.path(), &["list-queue"]).env("DATABASE_URL", format!("sqlite://{}", missing.display())));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let said = text(&output.stderr);
    assert_eq!(said.lines().count(), 1, "one line, no log line:\n{said}");
    assert!(said.starts_with("storyline: could not open the database"), "{said}");
    assert_eq!(said.matches("unable to open database file").count(), 1, "each cause once: {said}");
    // Asked for, the log has it too.
    let logged = run(command(dir.path(), &["list-queue"])
        .env("DATABASE_URL", format!("sqlite://{}", missing.display()))
        .env("RUST_LOG", "error"));
    assert!(text(&logged.stderr).contains("command failed"), "{}", text(&logged.stderr));
    Ok(())
}

#[test]
fn refused_input_exits_2_and_a_usage_error_too() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let unknown_chat = run(&mut command(dir.path(), &["settings", "show", "--chat", "-5"]));
    assert_eq!(unknown_chat.status.code(), Some(2), "{}", text(&unknown_chat.stderr));
    assert_eq!(text(&unknown_chat.stderr).lines().count(), 1, "{}", text(&unknown_chat.stderr));
    let usage = run(&mut command(dir.path(), &["list-queue", "--limit", "many"]));
    assert_eq!(usage.status.code(), Some(2), "{}", text(&usage.stderr));
    Ok(())
}

#[test]
fn webhook_mode_without_http_addr_stops_run_only() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let hook = "https://bot.example.com/telegram";
    let started = run(command(dir.path(), &["run"])
        .env("WEBHOOK_URL", hook)
        .env("TELEGRAM_BOT_TOKEN", "123456:TEST-TOKEN")
        .env("TELEGRAM_API_URL", format!("http://127.0.0.1:{}/", closed_port()?)));
    assert_eq!(started.status.code(), Some(2), "{}", text(&started.stderr));
    let said = text(&started.stderr);
    assert!(said.starts_with("storyline: configuration error: HTTP_ADDR is not set, but WEBHOOK_URL is"), "{said}");
    assert!(!dir.path().join("storyline.db").exists(), "nothing was opened or created");
    // The replicas' environment file sets WEBHOOK_URL; each replica's HTTP_ADDR is its own. The
    // other commands run with it as it is.
    let migrated = run(command(dir.path(), &["migrate"]).env("WEBHOOK_URL", hook));
    assert_eq!(migrated.status.code(), Some(0), "{}", text(&migrated.stderr));
    Ok(())
}

#[test]
fn a_closed_stdout_ends_quietly_with_exit_code_0() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    assert!(run(&mut command(dir.path(), &["settings", "set", "--chat", "-5", "posts_per_day", "4"])).status.success());
    for args in [&["settings", "history", "--chat", "-5"][..], &["settings", "show", "--chat", "-5"]] {
        let mut child = command(dir.path(), args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        // The reader goes away before the first line is written, as `| head -0` would.
        drop(child.stdout.take());
        let mut said = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            stderr.read_to_string(&mut said)?;
        }
        let status = child.wait()?;
        assert_eq!(status.code(), Some(0), "{args:?}: {said}");
        assert!(said.is_empty(), "{args:?} says nothing: {said}");
    }
    Ok(())
}

#[test]
fn a_refused_postgres_connection_is_one_line_naming_database_url_and_the_address_within_a_second() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let port = closed_port()?;
    let started = Instant::now();
    let output =
        run(command(dir.path(), &["list-queue"]).env("DATABASE_URL", format!("postgres://ada:pw@127.0.0.1:{port}/x")));
    let took = started.elapsed();
    let said = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("DATABASE_URL"), "{said}");
    assert!(said.contains(&format!("connection refused at 127.0.0.1:{port}")), "{said}");
    assert!(!said.contains("pool timed out") && !said.contains(":pw@"), "{said}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    Ok(())
}

#[test]
fn a_postgres_server_that_never_answers_is_named_as_such() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // Bound and never accepted: the connection opens, the server says nothing.
    let silent = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = silent.local_addr()?.port();
    let output =
        run(command(dir.path(), &["list-queue"]).env("DATABASE_URL", format!("postgres://ada@127.0.0.1:{port}/x")));
    let said = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains(&format!("no answer from 127.0.0.1:{port} within 5 s")), "{said}");
    drop(silent);
    Ok(())
}

#[test]
fn a_missing_postgres_database_and_a_refused_login_are_named() -> anyhow::Result<()> {
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
        anyhow::ensure!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but TEST_DATABASE_URL is not set");
        eprintln!("skipped: no TEST_DATABASE_URL");
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let base = server.rsplit_once('/').map_or(server.as_str(), |(base, _)| base);
    let url = format!("{base}/storyline_no_such_database");
    let output = run(command(dir.path(), &["list-queue"]).env("DATABASE_URL", url));
    let said = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains(r#"no database "storyline_no_such_database""#), "{said}");
    // A role the server does not know is refused at login, even where the server trusts every
    // role it has.
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let stranger = format!("{scheme}://storyline_no_such_role:pw@{host}/postgres");
    let output = run(command(dir.path(), &["list-queue"]).env("DATABASE_URL", stranger));
    let said = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains(r#"authentication failed for user "storyline_no_such_role""#), "{said}");
    assert!(!said.contains(":pw@"), "{said}");
    Ok(())
}

#[test]
fn every_argument_has_a_description_and_only_the_top_has_a_version() {
    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        if path != "storyline" && command.get_arguments().any(|a| a.get_id() == "version") {
            missing.push(format!("{path} has --version"));
        }
        for arg in command.get_arguments() {
            if arg.get_help().is_none()
                && arg.get_long_help().is_none()
                && !["help", "version"].contains(&arg.get_id().as_str())
            {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut command = storyline::cli::Cli::command();
    command.build();
    let mut missing = Vec::new();
    walk(&command, "storyline", &mut missing);
    assert!(missing.is_empty(), "without a description: {missing:#?}");
}

#[test]
fn help_wraps_to_the_terminal_and_says_where_the_data_lives() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let help = run(command(dir.path(), &["--help"]).env("COLUMNS", "60"));
    let shown = text(&help.stdout);
    assert!(help.status.success());
    assert!(shown.lines().all(|line| line.chars().count() <= 60), "wrapped to 60 columns:\n{shown}");
    assert!(shown.contains("Data: SQLite file"), "{shown}");
    assert!(shown.replace('\n', " ").contains("storyline.db (from DATABASE_URL)"), "{shown}");
    let sub = run(command(dir.path(), &["settings", "show", "--help"]).env("COLUMNS", "60"));
    let shown = text(&sub.stdout);
    assert!(shown.lines().all(|line| line.chars().count() <= 60), "{shown}");
    assert!(shown.contains("RFC 3339") && shown.contains("a date"), "{shown}");
    assert!(!shown.contains("--version"), "{shown}");
    Ok(())
}
