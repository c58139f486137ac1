//! The real `storyline` binary extending a schedule and setting the category mix, on SQLite and
//! PostgreSQL (test names read `backend::behaviour`). The workspace and its media are made
//! through the stores, so these tests depend on nothing but the commands they run.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use anyhow::ensure;
use chrono::{NaiveDate, Utc};
use storyline_domain::library::CategoryMix;
use storyline_domain::settings::{Hour, PostingWindow, PostsPerDay, SettingsDefaults};
use storyline_domain::user::Actor;
use storyline_domain::{ChatId, Workspace};
use storyline_tests::suites::new_media;
use storyline_tests::{Backend, TestResult};

const CHAT: &str = "-100123";

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

/// The team's workspace at 3 a day from 09:00 to 21:00 UTC, with 20 memes and 20 merch.
async fn team(backend: &Backend) -> anyhow::Result<Workspace> {
    let stores = backend.stores();
    let defaults = SettingsDefaults {
        posts_per_day: PostsPerDay::new(3)?,
        window: PostingWindow::new(Hour::new(9)?, Hour::new(21)?)?,
        time_zone: chrono_tz::UTC,
        ..SettingsDefaults::default()
    };
    let workspace = stores.settings.ensure_workspace(ChatId(-100_123), "Team", &defaults, Utc::now()).await?;
    let media: Vec<_> = (0..40u64)
        .map(|n| new_media(&format!("{}/{n}.png", if n % 2 == 0 { "memes" } else { "merch" }), n + 1))
        .collect();
    stores.library.add(workspace.id, &media, Utc::now()).await?;
    Ok(workspace)
}

async fn five_one_day_schedules_keep_three_stories_in_every_window_and_the_mix(backend: Backend) -> TestResult {
    let workspace = team(&backend).await?;
    let stores = backend.stores();
    stores.library.set_mix(workspace.id, &CategoryMix::parse("memes=50 merch=50")?, &Actor::Cli, Utc::now()).await?;
    for run in 0..5 {
        let output = storyline(&backend, &["create-schedule", "--days", "1", "--chat", CHAT])?;
        ensure!(output.status.success(), "run {run}: {}", text(&output.stderr));
        ensure!(text(&output.stdout).contains("scheduled 3 stories"), "run {run}: {}", text(&output.stdout));
    }
    let queued = stores.queue.entries(workspace.id, 100).await?;
    ensure!(queued.len() == 15, "{queued:?}");
    let mut per_day: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for entry in &queued {
        *per_day.entry(entry.item.slot.date_naive()).or_default() += 1;
    }
    // Whatever the hour now, the first window may be partly over and the last one partly filled;
    // every window between holds exactly 3, and none more.
    let counts: Vec<usize> = per_day.values().copied().collect();
    ensure!(counts.iter().all(|n| *n <= 3), "at most 3 a day: {per_day:?}");
    ensure!(counts.len() >= 5 && counts[1..counts.len() - 1].iter().all(|n| *n == 3), "3 a day: {per_day:?}");
    let memes = queued.iter().filter(|e| e.category.as_str() == "memes").count();
    ensure!((7..=8).contains(&memes), "15 at 50/50 hold {memes} memes");
    Ok(())
}

async fn a_mix_naming_a_category_the_library_lacks_is_refused_and_changes_nothing(backend: Backend) -> TestResult {
    let workspace = team(&backend).await?;
    let output = storyline(&backend, &["category-mix", "set", "memes=70", "kittens=30", "--chat", CHAT])?;
    let said = text(&output.stderr);
    ensure!(output.status.code() == Some(2), "exit {:?}: {said}", output.status.code());
    ensure!(said.lines().count() == 1, "one line: {said}");
    ensure!(said.contains("kittens") && said.contains("memes, merch"), "{said}");
    ensure!(backend.stores().library.mix_history(workspace.id).await?.is_empty(), "no mix was set");

    let output = storyline(&backend, &["category-mix", "set", "memes=70", "merch=30", "--chat", CHAT])?;
    ensure!(output.status.success(), "{}", text(&output.stderr));
    ensure!(backend.stores().library.mix_history(workspace.id).await?.len() == 1);
    Ok(())
}

storyline_tests::on_backends!([sqlite, postgres] [
    five_one_day_schedules_keep_three_stories_in_every_window_and_the_mix,
    a_mix_naming_a_category_the_library_lacks_is_refused_and_changes_nothing,
]);
