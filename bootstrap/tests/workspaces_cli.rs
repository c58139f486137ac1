//! The real `storyline` binary listing the workspaces one bot serves and showing one, on SQLite
//! and PostgreSQL (test names read `backend::behaviour`). Two workspaces are made through the
//! stores — a busy team and a new one in dry run — so each must show its own rows only.

use std::process::{Command, Output};

use anyhow::{Context, ensure};
use chrono::{DateTime, Duration, DurationRound, TimeZone, Utc};
use serde_json::Value;
use storyline_domain::account::{DisplayName, InstagramUserId, LoginKind, NewAccount, NewToken, Username, parse_token};
use storyline_domain::ports::MediaQuery;
use storyline_domain::settings::{SettingChange, SettingsDefaults, Toggle};
use storyline_domain::user::{Actor, Role, TelegramUserId};
use storyline_domain::{ChatId, Workspace};
use storyline_tests::suites::new_media;
use storyline_tests::{Backend, TestResult};

const TEAM: &str = "-100123";
const NEWCOMER: &str = "-100456";
const TOKEN: &str = "IGQVJWorkspacesSecretTokenValue0123456789";

fn storyline(backend: &Backend, args: &[&str]) -> anyhow::Result<Output> {
    let dir = tempfile::tempdir()?;
    let url = backend.database_url().ok_or_else(|| anyhow::anyhow!("needs a database"))?;
    Ok(Command::new(env!("CARGO_BIN_EXE_storyline"))
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", url)
        .output()?)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn created(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, day, 10, 0, 0).single().unwrap_or_default()
}

/// The team: created on 5 January, Instagram API on, paused, 4 media items, 2 stories queued
/// (the next one in an hour), an active account and two people. The newcomer: created on
/// 9 January with the seed's defaults (dry run) and nothing else.
async fn two_workspaces(backend: &Backend) -> anyhow::Result<(Workspace, Workspace, DateTime<Utc>)> {
    let stores = backend.stores();
    let api = SettingsDefaults { dry_run: false, instagram_api: true, ..SettingsDefaults::default() };
    let team = stores.settings.ensure_workspace(ChatId(-100_123), "Team", &api, created(5)).await?;
    let newcomer = stores
        .settings
        .ensure_workspace(ChatId(-100_456), "Newcomer", &SettingsDefaults::default(), created(9))
        .await?;
    stores.settings.apply(team.id, SettingChange::Set(Toggle::Paused, true), &Actor::Cli, created(6)).await?;
    let media: Vec<_> = (0..4u64).map(|n| new_media(&format!("memes/{n}.png"), n + 1)).collect();
    stores.library.add(team.id, &media, Utc::now()).await?;
    let items = stores.library.media(team.id, &MediaQuery { category: None, limit: 10 }).await?;
    let next = (Utc::now() + Duration::hours(1)).duration_trunc(Duration::minutes(1))?;
    let plan: Vec<_> = items.iter().take(2).zip([next, next + Duration::hours(2)]).map(|(m, at)| (at, m.id)).collect();
    stores.queue.enqueue(team.id, &plan).await?;
    let account = NewAccount {
        display_name: DisplayName::new("Main")?,
        instagram_id: InstagramUserId::new("17841400000000001")?,
        username: Some(Username::new("main")?),
        login: LoginKind::Instagram,
    };
    let token =
        NewToken { token: parse_token(TOKEN)?, expires_at: Some(Utc::now() + Duration::days(60)), checked: true };
    stores.accounts.add(team.id, &account, &token, true, &Actor::Cli, Utc::now()).await?;
    for person in [7, 8] {
        stores.users.set_role(team.id, TelegramUserId(person), Role::Member, &Actor::Cli, Utc::now()).await?;
    }
    Ok((team, newcomer, next))
}

fn row(rows: &[Value], chat: i64) -> anyhow::Result<&Value> {
    rows.iter().find(|row| row["chat_id"] == chat).with_context(|| format!("no row for chat {chat}: {rows:?}"))
}

async fn the_list_shows_each_workspace_with_its_own_mode_media_queue_and_next_slot(backend: Backend) -> TestResult {
    let (_, _, next) = two_workspaces(&backend).await?;
    let output = storyline(&backend, &["workspaces", "list", "--json"])?;
    ensure!(output.status.success(), "{}", text(&output.stderr));
    let rows: Vec<Value> = serde_json::from_slice(&output.stdout)?;
    ensure!(rows.len() == 2, "{rows:?}");
    let team = row(&rows, -100_123)?;
    ensure!(team["name"] == "Team" && team["mode"] == "Instagram API" && team["paused"] == true, "{team}");
    ensure!(team["created"] == created(5).to_rfc3339(), "the first settings version's start: {team}");
    ensure!(team["media"] == 4 && team["available"] == 2 && team["queued"] == 2, "{team}");
    ensure!(team["next_slot"] == next.to_rfc3339(), "{team} (expected {next})");
    let newcomer = row(&rows, -100_456)?;
    ensure!(newcomer["mode"] == "dry run" && newcomer["paused"] == false, "{newcomer}");
    ensure!(newcomer["created"] == created(9).to_rfc3339(), "{newcomer}");
    ensure!(newcomer["media"] == 0 && newcomer["queued"] == 0 && newcomer["next_slot"].is_null(), "{newcomer}");

    let output = storyline(&backend, &["workspaces", "list"])?;
    ensure!(output.status.success(), "{}", text(&output.stderr));
    let shown = text(&output.stdout);
    let team_line = shown.lines().find(|l| l.contains("Team")).context("a Team row")?;
    ensure!(
        team_line.contains(TEAM) && team_line.contains("Instagram API") && team_line.contains("2026-01-05"),
        "{shown}"
    );
    let newcomer_line = shown.lines().find(|l| l.contains("Newcomer")).context("a Newcomer row")?;
    ensure!(newcomer_line.contains(NEWCOMER) && newcomer_line.contains("dry run"), "{shown}");
    ensure!(newcomer_line.contains('—'), "no next slot: {shown}");
    Ok(())
}

async fn show_gives_one_workspace_in_detail_without_secrets_and_needs_a_chat_among_two(backend: Backend) -> TestResult {
    two_workspaces(&backend).await?;
    let output = storyline(&backend, &["workspaces", "show", "--chat", TEAM])?;
    let shown = text(&output.stdout);
    ensure!(output.status.success(), "{}", text(&output.stderr));
    for expected in [
        "Team",
        "Instagram API",
        "yes, since 2026-01-06 10:00 UTC by cli",
        "4 items, 2 ready to schedule",
        "2 queued, 0 waiting for a press",
        "1 (1 enabled), active: Main (@main)",
        "(default)",
    ] {
        ensure!(shown.contains(expected), "{expected:?} in {shown}");
    }
    ensure!(!shown.contains("IGQVJ"), "no token: {shown}");
    let people = shown.lines().find(|l| l.contains("People")).context("a People row")?;
    ensure!(people.contains('2'), "{people}");

    let output = storyline(&backend, &["workspaces", "show", "--chat", NEWCOMER, "--json"])?;
    ensure!(output.status.success(), "{}", text(&output.stderr));
    let newcomer: Value = serde_json::from_slice(&output.stdout)?;
    ensure!(newcomer["name"] == "Newcomer" && newcomer["mode"] == "dry run", "{newcomer}");
    ensure!(newcomer["accounts"] == 0 && newcomer["people"] == 0 && newcomer["active_account"].is_null(), "{newcomer}");
    ensure!(newcomer["posts_per_day"] == 3 && newcomer["media"] == 0, "{newcomer}");

    let output = storyline(&backend, &["workspaces", "show"])?;
    let said = text(&output.stderr);
    ensure!(output.status.code() == Some(2), "{said}");
    ensure!(said.contains("there are 2 workspaces; choose one with --chat"), "{said}");
    let output = storyline(&backend, &["workspaces", "show", "--chat", "-999"])?;
    ensure!(output.status.code() == Some(2), "{}", text(&output.stderr));
    ensure!(backend.stores().settings.workspaces().await?.len() == 2, "reading created nothing");
    Ok(())
}

async fn with_no_workspace_the_list_says_how_to_make_one(backend: Backend) -> TestResult {
    let output = storyline(&backend, &["workspaces", "list"])?;
    ensure!(output.status.success(), "{}", text(&output.stderr));
    ensure!(text(&output.stdout).contains("no workspace yet"), "{}", text(&output.stdout));
    let output = storyline(&backend, &["workspaces", "list", "--json"])?;
    ensure!(text(&output.stdout).trim() == "[]", "{}", text(&output.stdout));
    ensure!(backend.stores().settings.workspaces().await?.is_empty());
    Ok(())
}

storyline_tests::on_backends!([sqlite, postgres] [
    the_list_shows_each_workspace_with_its_own_mode_media_queue_and_next_slot,
    show_gives_one_workspace_in_detail_without_secrets_and_needs_a_chat_among_two,
    with_no_workspace_the_list_says_how_to_make_one,
]);
