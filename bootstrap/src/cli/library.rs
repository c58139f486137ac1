//! The media library, the category mix and the queue on the command line (FEATURES C1–C4):
//! `index-media`, `list-media`, `list-categories`, `category-mix`, `create-schedule`,
//! `clear-queue` (`list-queue`, `process-queue` and `resolve` are in [`super::queue`]).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};
use storyline_application::library::{Progress, SetMixError, SyncError};
use storyline_application::scheduling::{ScheduleError, SeededJitter};
use storyline_domain::Workspace;
use storyline_domain::library::{Category, CategoryMix};
use storyline_domain::ports::ChatNotifier;
use storyline_domain::schedule::MAX_DAYS;
use storyline_domain::user::Actor;
use storyline_media::LocalFolder;

mod output;

use super::Outcome;
use super::workspace::Access;
pub use super::workspace::ChatArg;
use crate::config::Config;
use crate::wiring::App;

#[derive(Debug, Subcommand)]
pub enum MixCommand {
    /// Make a new mix current, e.g. `category-mix set memes=70 merch=30`: categories the library
    /// has, adding up to 100.
    Set {
        /// category=percent pairs, e.g. memes=70 merch=30.
        #[arg(required = true)]
        shares: Vec<String>,
        #[command(flatten)]
        chat: ChatArg,
    },
    /// Every version of the mix, newest first.
    History {
        /// Print JSON (an array, newest first) instead of a table, for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        chat: ChatArg,
    },
}

/// The workspace a command that changes something works on, by the one rule
/// ([`super::workspace`]); it may be created, with a note on stderr.
pub(super) async fn workspace(app: &App, config: &Config, chat: &ChatArg) -> anyhow::Result<Workspace> {
    super::workspace::resolve(app, config, chat, Access::Write, &mut std::io::stderr()).await
}

/// The workspace a command that only reads works on, by the one rule; never created.
pub(super) async fn existing_workspace(app: &App, config: &Config, chat: &ChatArg) -> anyhow::Result<Workspace> {
    super::workspace::resolve(app, config, chat, Access::Read, &mut std::io::stderr()).await
}

/// An indicatif bar for indexing (hidden when stderr is not a terminal).
struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }

    fn advance(&self, path: &str) {
        self.0.set_message(path.to_owned());
        self.0.inc(1);
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

pub(super) fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(header.to_vec());
    table
}

/// `index-media [PATH]`.
pub(super) async fn index(
    app: &App,
    config: &Config,
    path: Option<PathBuf>,
    chat: &ChatArg,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let workspace = workspace(app, config, chat).await?;
    let root = path.unwrap_or_else(|| config.media_dir.clone());
    let source = LocalFolder::new(&root);
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = app.library.index(workspace.id, &source, &Bar(bar)).await?;
    output::index_report(&report, out)?;
    if std::fs::canonicalize(&root).ok() != std::fs::canonicalize(&config.media_dir).ok() {
        writeln!(
            out,
            "note: stories are read from MEDIA_DIR ({}); set MEDIA_DIR={} when running the bot",
            config.media_dir.display(),
            root.display()
        )?;
    }
    Ok(Outcome::Done)
}

/// `sync-media`: one sync of the workspace's library with its media source, a bar while files
/// are read, then the summary as a table and a line per refused file.
pub(super) async fn sync_media(
    app: &App,
    config: &Config,
    chat: &ChatArg,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let workspace = workspace(app, config, chat).await?;
    let source = app.sources.source(workspace.id).await?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("reading {bar:30} {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let service = app.sync.clone().telling(notifier(config)?);
    let summary = match service.sync(&workspace, source.as_ref(), &Bar(bar)).await {
        Ok(summary) => summary,
        Err(error @ (SyncError::Unreachable(_) | SyncError::Busy)) => {
            writeln!(err, "storyline: {error}; nothing changed")?;
            return Ok(Outcome::Refused);
        }
        Err(other) => return Err(other.into()),
    };
    output::sync_summary(&summary, out)?;
    Ok(Outcome::Done)
}

/// `list-media [--json]`: the first `limit` items by path, and how many more there are.
#[allow(clippy::too_many_arguments)] // one per command-line argument, plus the two streams
pub(super) async fn list_media(
    app: &App,
    config: &Config,
    category: Option<String>,
    limit: u32,
    json: bool,
    chat: &ChatArg,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let category = match category.as_deref().map(Category::new).transpose() {
        Ok(category) => category,
        Err(problem) => {
            writeln!(err, "storyline: {problem}")?;
            return Ok(Outcome::Refused);
        }
    };
    let workspace = existing_workspace(app, config, chat).await?;
    let total: u64 = app
        .library
        .categories(workspace.id)
        .await?
        .iter()
        .filter(|stats| category.as_ref().is_none_or(|wanted| *wanted == stats.category))
        .map(|stats| stats.total)
        .sum();
    let items = app.library.media(workspace.id, category, limit).await?;
    let more = total.saturating_sub(items.len() as u64);
    if json {
        writeln!(out, "{}", output::media_json(&items))?;
        if more > 0 {
            writeln!(err, "… and {more} more; use --limit {total} to list them all")?;
        }
        return Ok(Outcome::Done);
    }
    let mut shown = table(&["Path", "Category", "Kind", "Size", "Pixels", "Posted", "Last posted"]);
    for item in items {
        shown.add_row(vec![
            item.path.clone(),
            item.category.to_string(),
            item.kind.to_string(),
            output::size(item.size_bytes),
            item.width.zip(item.height).map_or_else(|| "?".to_owned(), |(w, h)| format!("{w}×{h}")),
            item.times_posted.to_string(),
            item.last_posted_at.map_or_else(|| "never".to_owned(), |at| at.format("%Y-%m-%d").to_string()),
        ]);
    }
    writeln!(out, "{shown}")?;
    if more > 0 {
        writeln!(out, "… and {more} more; use --limit {total} to list them all")?;
    }
    Ok(Outcome::Done)
}

/// `list-categories [--json]`.
pub(super) async fn list_categories(
    app: &App,
    config: &Config,
    json: bool,
    chat: &ChatArg,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let workspace = existing_workspace(app, config, chat).await?;
    let mix = app.library.mix_history(workspace.id).await?.into_iter().find(|v| v.valid_to.is_none()).map(|v| v.mix);
    let categories = app.library.categories(workspace.id).await?;
    if json {
        writeln!(out, "{}", output::categories_json(&categories, mix.as_ref()))?;
        return Ok(Outcome::Done);
    }
    let mut shown = table(&["Category", "Media", "Available now", "Posted at least once", "Mix"]);
    for stats in categories {
        let share = mix.as_ref().map_or_else(|| "—".to_owned(), |mix| format!("{}%", mix.percent(&stats.category)));
        shown.add_row(vec![
            stats.category.to_string(),
            stats.total.to_string(),
            stats.available.to_string(),
            stats.posted.to_string(),
            share,
        ]);
    }
    writeln!(out, "{shown}")?;
    Ok(Outcome::Done)
}

/// `category-mix set | history`.
pub(super) async fn mix(
    app: &App,
    config: &Config,
    command: MixCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    match command {
        MixCommand::Set { shares, chat } => {
            let mix = match CategoryMix::parse(&shares.join(" ")) {
                Ok(mix) => mix,
                Err(problem) => {
                    writeln!(err, "storyline: {problem}")?;
                    return Ok(Outcome::Refused);
                }
            };
            let workspace = workspace(app, config, &chat).await?;
            match app.library.set_mix(workspace.id, &mix, &Actor::Cli).await {
                Ok(()) => writeln!(out, "category mix is now {mix}")?,
                Err(refused @ SetMixError::UnknownCategories { .. }) => {
                    writeln!(err, "storyline: {refused}; nothing changed")?;
                    return Ok(Outcome::Refused);
                }
                Err(other) => return Err(other.into()),
            }
        }
        MixCommand::History { json, chat } => {
            let workspace = existing_workspace(app, config, &chat).await?;
            let versions = app.library.mix_history(workspace.id).await?;
            if json {
                writeln!(out, "{}", output::mix_history_json(&versions))?;
                return Ok(Outcome::Done);
            }
            let mut shown = table(&["Mix", "From (UTC)", "Until (UTC)", "Set by"]);
            for version in versions {
                shown.add_row(vec![
                    version.mix.to_string(),
                    version.valid_from.format("%Y-%m-%d %H:%M:%S").to_string(),
                    version
                        .valid_to
                        .map_or_else(|| "current".to_owned(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
                    version.set_by.to_string(),
                ]);
            }
            writeln!(out, "{shown}")?;
        }
    }
    Ok(Outcome::Done)
}

/// `create-schedule --days N`.
pub(super) async fn create_schedule(
    app: &App,
    config: &Config,
    days: u32,
    chat: &ChatArg,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let workspace = existing_workspace(app, config, chat).await?;
    let seed = u64::try_from(app.clock.now().timestamp_nanos_opt().unwrap_or(1)).unwrap_or(1);
    match app.scheduler.schedule(workspace.id, days, &mut SeededJitter::new(seed)).await {
        Ok(report) => {
            let zone = app.settings.current(workspace.id).await?.time_zone;
            let local = |at: chrono::DateTime<chrono::Utc>| at.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z");
            write!(out, "scheduled {} stories", report.queued)?;
            if let (Some(first), Some(last)) = (report.first, report.last) {
                write!(out, " from {} to {}", local(first), local(last))?;
            }
            writeln!(out)?;
            if report.unfilled > 0 {
                writeln!(out, "{} slots stayed empty: the library ran out of media", report.unfilled)?;
            }
            Ok(Outcome::Done)
        }
        Err(ScheduleError::Days) => {
            writeln!(err, "storyline: --days must be a whole number from 1 to {MAX_DAYS}")?;
            Ok(Outcome::Refused)
        }
        Err(other) => Err(other.into()),
    }
}

/// `clear-queue --yes`.
pub(super) async fn clear_queue(
    app: &App,
    config: &Config,
    yes: bool,
    chat: &ChatArg,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    if !yes {
        writeln!(err, "storyline: this removes every pending story from the queue; add --yes to confirm")?;
        return Ok(Outcome::Refused);
    }
    let workspace = existing_workspace(app, config, chat).await?;
    let cleared = app.desk().clear(workspace.id).await?;
    writeln!(out, "cleared {cleared} pending stories")?;
    Ok(Outcome::Done)
}

/// Where a command tells the chat: Telegram when it is configured, else printed here.
pub(super) fn notifier(config: &Config) -> anyhow::Result<Arc<dyn ChatNotifier>> {
    Ok(match config.telegram() {
        Ok(telegram) => Arc::new(storyline_telegram::TelegramNotifier::new(storyline_telegram::connect(
            &telegram.token,
            telegram.api_url.as_deref(),
        )?)),
        Err(_) => {
            Arc::new(storyline_console::ConsoleChat::new(Box::new(std::io::stdout()), crate::wiring::CONSOLE_USER))
        }
    })
}
