//! `storyline workspaces list | show`: every workspace one bot serves, at a glance, and one in
//! detail (issue 13). Read only: nothing is created, and no secret is shown (a media source
//! shows its folder or bucket, never its key).
//!
//! Each workspace is read through the same ports as the other commands, one workspace after
//! another: `list` asks the store six questions per workspace (settings, settings history, media
//! source and sync status, categories, queue counts, the first queued stories). That is
//! instant for the tens of workspaces one bot serves; thousands would want one overview query.

use std::io::Write;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::json;
use storyline_domain::Workspace;
use storyline_domain::queue::QueueStatus;
use storyline_domain::settings::ChatSettings;

use super::Outcome;
use super::library::table;
use super::workspace::{Access, ChatArg, resolve as workspace};
use crate::config::Config;
use crate::wiring::App;

#[derive(Debug, Subcommand)]
pub enum WorkspacesCommand {
    /// Every workspace: name, chat id, mode, created, paused, media, queued, next slot.
    List {
        /// Print JSON (an array of objects) instead of a table, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// One workspace in detail: settings, media source, library, queue, accounts, people.
    Show {
        #[command(flatten)]
        chat: ChatArg,
        /// Print JSON (one object) instead of text, for scripts.
        #[arg(long)]
        json: bool,
    },
}

/// How a workspace's stories go out, by its toggles: dry run wins over the Instagram API, and
/// with neither they come to the chat for posting by hand.
fn mode(settings: &ChatSettings) -> &'static str {
    match (settings.dry_run, settings.instagram_api) {
        (true, _) => "dry run",
        (false, true) => "Instagram API",
        (false, false) => "by hand",
    }
}

/// What `list` shows of one workspace.
struct Summary {
    workspace: Workspace,
    settings: ChatSettings,
    /// When its first settings version began (the workspaces table keeps no creation time).
    created: Option<DateTime<Utc>>,
    /// The media source, as `media-source show` names it (no secret).
    source: String,
    /// Items in the library, and those of them ready to be scheduled.
    media: u64,
    available: u64,
    /// Stories waiting for their slot, and those in the chat waiting for a press.
    queued: u64,
    awaiting_press: u64,
    /// The next slot of a story still to be sent.
    next_slot: Option<DateTime<Utc>>,
}

impl Summary {
    async fn of(app: &App, workspace: Workspace) -> anyhow::Result<Self> {
        let id = workspace.id;
        let settings = app.settings.current(id).await?;
        let created = app.settings.history(id).await?.first().map(|version| version.valid_from);
        let view = app.media_sources.show(id).await?;
        let source = if view.is_default { format!("{} (default)", view.current) } else { view.current.to_string() };
        let categories = app.library.categories(id).await?;
        let counts = app.desk().counts(id).await?;
        // As /status: stories already in the chat are not "next".
        let next_slot = app
            .desk()
            .entries(id, 50)
            .await?
            .into_iter()
            .find(|entry| entry.item.status == QueueStatus::Pending)
            .map(|entry| entry.item.slot);
        Ok(Self {
            workspace,
            settings,
            created,
            source,
            media: categories.iter().map(|c| c.total).sum(),
            available: categories.iter().map(|c| c.available).sum(),
            queued: counts.pending,
            awaiting_press: counts.awaiting_press,
            next_slot,
        })
    }

    /// The next slot in the workspace's time zone, or a dash.
    fn next_slot_text(&self) -> String {
        self.next_slot.map_or_else(
            || "—".to_owned(),
            |slot| slot.with_timezone(&self.settings.time_zone).format("%Y-%m-%d %H:%M %Z").to_string(),
        )
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "name": self.workspace.name,
            "chat_id": self.workspace.chat_id.0,
            "id": self.workspace.id.to_string(),
            "mode": mode(&self.settings),
            "created": self.created.map(|at| at.to_rfc3339()),
            "paused": self.settings.is_paused(),
            "media": self.media,
            "available": self.available,
            "queued": self.queued,
            "awaiting_press": self.awaiting_press,
            "next_slot": self.next_slot.map(|at| at.to_rfc3339()),
            "source": self.source,
        })
    }
}

fn created_text(created: Option<DateTime<Utc>>) -> String {
    created.map_or_else(|| "—".to_owned(), |at| at.format("%Y-%m-%d %H:%M").to_string())
}

pub(super) async fn run(
    command: WorkspacesCommand,
    app: &App,
    config: &Config,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    match command {
        WorkspacesCommand::List { json } => list(app, json, out).await,
        WorkspacesCommand::Show { chat, json } => {
            let chosen = workspace(app, config, &chat, Access::Read, err).await?;
            show(app, chosen, json, out).await
        }
    }
}

/// `workspaces list`.
async fn list(app: &App, json: bool, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let mut summaries = Vec::new();
    for workspace in app.settings.workspaces().await? {
        summaries.push(Summary::of(app, workspace).await?);
    }
    if json {
        let rows: Vec<_> = summaries.iter().map(Summary::json).collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(Outcome::Done);
    }
    if summaries.is_empty() {
        writeln!(out, "no workspace yet: `storyline run` or `storyline console` creates one")?;
        return Ok(Outcome::Done);
    }
    let mut shown = table(&["Name", "Chat id", "Mode", "Created (UTC)", "Paused", "Media", "Queued", "Next slot"]);
    for summary in &summaries {
        shown.add_row(vec![
            summary.workspace.name.clone(),
            summary.workspace.chat_id.to_string(),
            mode(&summary.settings).to_owned(),
            created_text(summary.created),
            if summary.settings.is_paused() { "yes" } else { "no" }.to_owned(),
            summary.media.to_string(),
            summary.queued.to_string(),
            summary.next_slot_text(),
        ]);
    }
    writeln!(out, "{shown}")?;
    Ok(Outcome::Done)
}

/// `workspaces show`: the summary with the settings, the accounts and the people.
async fn show(app: &App, workspace: Workspace, json: bool, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let id = workspace.id;
    let summary = Summary::of(app, workspace).await?;
    let accounts = app.accounts.overview(id).await?;
    let enabled = accounts.iter().filter(|view| view.account.enabled).count();
    let active = accounts.iter().find(|view| view.active);
    let people = app.stores.users.members(id).await?.len();
    let settings = &summary.settings;
    if json {
        let mut row = summary.json();
        if let Some(object) = row.as_object_mut() {
            object.insert("posts_per_day".to_owned(), json!(settings.posts_per_day.get()));
            object.insert("posting_hours".to_owned(), json!(settings.window.to_string()));
            object.insert("time_zone".to_owned(), json!(settings.time_zone.name()));
            object.insert("accounts".to_owned(), json!(accounts.len()));
            object.insert("accounts_enabled".to_owned(), json!(enabled));
            object.insert("active_account".to_owned(), json!(active.map(|view| view.account.label())));
            object.insert("people".to_owned(), json!(people));
        }
        writeln!(out, "{}", serde_json::to_string_pretty(&row)?)?;
        return Ok(Outcome::Done);
    }
    let paused = match &settings.pause {
        Some(pause) => format!("yes, since {} by {}", pause.at.format("%Y-%m-%d %H:%M UTC"), pause.by),
        None => "no".to_owned(),
    };
    let active = match active {
        Some(view) => format!("{} (token {})", view.account.label(), view.status.to_string().to_lowercase()),
        None => "none".to_owned(),
    };
    let mut shown = comfy_table::Table::new();
    shown.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    for (what, value) in [
        ("Name", summary.workspace.name.clone()),
        ("Chat id", summary.workspace.chat_id.to_string()),
        ("Workspace id", summary.workspace.id.to_string()),
        ("Created (UTC)", created_text(summary.created)),
        ("Mode", mode(settings).to_owned()),
        ("Paused", paused),
        (
            "Schedule",
            format!("{} posts a day, {} ({})", settings.posts_per_day, settings.window, settings.time_zone.name()),
        ),
        ("Media source", summary.source.clone()),
        ("Library", format!("{} items, {} ready to schedule", summary.media, summary.available)),
        ("Queue", format!("{} queued, {} waiting for a press", summary.queued, summary.awaiting_press)),
        ("Next slot", summary.next_slot_text()),
        ("Instagram accounts", format!("{} ({enabled} enabled), active: {active}", accounts.len())),
        ("People", people.to_string()),
    ] {
        shown.add_row(vec![what.to_owned(), value]);
    }
    writeln!(out, "{shown}")?;
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use storyline_domain::settings::SettingsDefaults;

    use super::*;

    fn settings(dry_run: bool, instagram_api: bool) -> ChatSettings {
        let defaults = SettingsDefaults { dry_run, instagram_api, ..SettingsDefaults::default() };
        ChatSettings::from_defaults(&defaults)
    }

    #[test]
    fn the_mode_is_dry_run_first_then_the_api_then_by_hand() {
        assert_eq!(mode(&settings(true, true)), "dry run");
        assert_eq!(mode(&settings(true, false)), "dry run");
        assert_eq!(mode(&settings(false, true)), "Instagram API");
        assert_eq!(mode(&settings(false, false)), "by hand");
    }
}
