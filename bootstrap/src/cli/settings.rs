//! `storyline settings show | set | history`.

use std::io::Write;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use storyline_application::SettingsError;
use storyline_domain::settings::{ChatSettings, SettingKey};
use storyline_domain::user::{Actor, TelegramUserId};
use storyline_domain::{ChatId, Workspace};

use super::Outcome;
use crate::wiring::App;

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Show a chat's current settings (or those in force at --at).
    #[command(allow_negative_numbers = true)]
    Show {
        /// The Telegram chat id (groups are negative, e.g. -100123).
        #[arg(long)]
        chat: i64,
        /// Show the settings in force at this instant (RFC 3339, e.g. 2026-11-01T12:00:00Z).
        #[arg(long)]
        at: Option<DateTime<Utc>>,
    },
    /// Change one setting; the change is audited with the CLI as its author.
    #[command(allow_negative_numbers = true)]
    Set {
        /// The Telegram chat id (groups are negative, e.g. -100123).
        #[arg(long)]
        chat: i64,
        /// One of dry_run_mode, enable_instagram_api, is_paused, posts_per_day,
        /// posting_hours_start, posting_hours_end, posting_timezone.
        key: String,
        /// true/false (on/off) for toggles, a whole number for posts and hours, an IANA name
        /// for the time zone.
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Every settings change, newest first (or, with --versions, every version).
    #[command(allow_negative_numbers = true)]
    History {
        /// The Telegram chat id (groups are negative, e.g. -100123).
        #[arg(long)]
        chat: i64,
        /// At most this many changes.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// List the versions of the settings (valid from / valid to) instead of the changes.
        #[arg(long)]
        versions: bool,
    },
}

pub(super) async fn run(
    command: SettingsCommand,
    app: &App,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    match command {
        SettingsCommand::Show { chat, at } => {
            let workspace = workspace(app, chat).await?;
            let settings = match at {
                None => app.settings.current(workspace.id).await?,
                Some(at) => match app.settings.as_of(workspace.id, at).await? {
                    Some(version) => version.settings,
                    None => {
                        writeln!(err, "chat {chat} had no settings yet at {at}")?;
                        return Ok(Outcome::Refused);
                    }
                },
            };
            writeln!(out, "{}", heading(&workspace))?;
            writeln!(out, "{}", settings_table(&settings, &People::of(app, &workspace).await?))?;
            Ok(Outcome::Done)
        }
        SettingsCommand::Set { chat, key, value } => {
            let workspace = workspace(app, chat).await?;
            match app.settings.change_from_input(workspace.id, &key, &value, &Actor::Cli).await {
                Ok(applied) if applied.changes.is_empty() => {
                    writeln!(out, "{key} is already {}; nothing changed", value.trim())?;
                    Ok(Outcome::Done)
                }
                Ok(applied) => {
                    for change in &applied.changes {
                        writeln!(out, "{}: {} → {}", change.key, change.old, change.new)?;
                    }
                    if applied.changes.iter().any(|c| c.key.shapes_the_schedule()) {
                        let seed = u64::try_from(app.clock.now().timestamp_nanos_opt().unwrap_or(1)).unwrap_or(1);
                        let mut jitter = storyline_application::scheduling::SeededJitter::new(seed);
                        let moved = app.scheduler.replan(workspace.id, &mut jitter).await?;
                        if moved > 0 {
                            writeln!(out, "moved {moved} upcoming stories to the new schedule")?;
                        }
                    }
                    Ok(Outcome::Done)
                }
                Err(refused @ (SettingsError::Input(_) | SettingsError::Invalid(_))) => {
                    writeln!(err, "storyline: {refused}; nothing changed")?;
                    Ok(Outcome::Refused)
                }
                Err(other) => Err(other.into()),
            }
        }
        SettingsCommand::History { chat, limit, versions } => {
            let workspace = workspace(app, chat).await?;
            writeln!(out, "{}", heading(&workspace))?;
            let people = People::of(app, &workspace).await?;
            let table = if versions {
                versions_table(app.settings.history(workspace.id).await?, &people)
            } else {
                changes_table(app.settings.changes(workspace.id, limit).await?, &people)
            };
            writeln!(out, "{table}")?;
            Ok(Outcome::Done)
        }
    }
}

/// The chat's workspace, created from the defaults on first use, as the bot does.
async fn workspace(app: &App, chat: i64) -> Result<Workspace, SettingsError> {
    app.settings.workspace_for_chat(ChatId(chat), &format!("Chat {chat}")).await
}

fn heading(workspace: &Workspace) -> String {
    format!("Workspace {:?} (chat {}, id {})", workspace.name, workspace.chat_id, workspace.id)
}

fn new_table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(header.iter().copied());
    table
}

/// The workspace's people by Telegram id, so a history names who changed what.
struct People(std::collections::HashMap<TelegramUserId, String>);

impl People {
    async fn of(app: &App, workspace: &Workspace) -> anyhow::Result<Self> {
        let members = app.stores.users.members(workspace.id).await?;
        Ok(Self(members.into_iter().map(|m| (m.user.telegram_id, m.user.display_name())).collect()))
    }

    /// "@alice (user 1)", or the actor as stored when the person is not known here.
    fn name(&self, actor: &Actor) -> String {
        match actor {
            Actor::User(id) => match self.0.get(id) {
                Some(name) if !name.is_empty() => format!("{name} (user {id})"),
                _ => actor.to_string(),
            },
            other => other.to_string(),
        }
    }
}

fn settings_table(settings: &ChatSettings, people: &People) -> Table {
    let mut table = new_table(&["Setting", "Value"]);
    for key in SettingKey::ALL {
        let mut value = settings.value_of(key);
        if let (SettingKey::IsPaused, Some(pause)) = (key, &settings.pause) {
            value = format!("{value} (since {} by {})", pause.at.format("%Y-%m-%d %H:%M UTC"), people.name(&pause.by));
        }
        table.add_row(vec![key.as_str().to_owned(), value]);
    }
    table
}

fn changes_table(entries: Vec<storyline_domain::audit::AuditEntry>, people: &People) -> Table {
    let mut table = new_table(&["When (UTC)", "Who", "Setting", "Old", "New"]);
    for entry in entries {
        table.add_row(vec![
            entry.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            people.name(&entry.actor),
            entry.subject,
            entry.old.unwrap_or_default(),
            entry.new.unwrap_or_default(),
        ]);
    }
    table
}

fn versions_table(versions: Vec<storyline_domain::settings::SettingsVersion>, people: &People) -> Table {
    let mut table = new_table(&[
        "Version",
        "Valid from (UTC)",
        "Valid to (UTC)",
        "By",
        "Dry run",
        "Instagram API",
        "Paused",
        "Posts/day",
        "Hours",
        "Time zone",
    ]);
    let time = |at: DateTime<Utc>| at.format("%Y-%m-%d %H:%M:%S").to_string();
    for version in versions {
        let s = &version.settings;
        table.add_row(vec![
            version.version.to_string(),
            time(version.valid_from),
            version.valid_to.map_or_else(|| "current".to_owned(), time),
            people.name(&version.changed_by),
            s.dry_run.to_string(),
            s.instagram_api.to_string(),
            s.is_paused().to_string(),
            s.posts_per_day.to_string(),
            s.window.to_string(),
            s.time_zone.name().to_owned(),
        ]);
    }
    table
}
