//! `storyline settings show | set | history | export | import`.

use std::io::Write;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use storyline_application::SettingsError;
use storyline_application::settings::transfer::{ImportPlan, MAX_IMPORT_BYTES};
use storyline_domain::Workspace;
use storyline_domain::settings::export;
use storyline_domain::settings::{ChatSettings, FieldChange, SettingChange, SettingInputError, SettingKey};
use storyline_domain::user::{Actor, TelegramUserId};

use super::Outcome;
use super::workspace::{Access, ChatArg, resolve as workspace};
use crate::config::Config;
use crate::wiring::App;

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Show a chat's current settings (or those in force at --at).
    Show {
        #[command(flatten)]
        chat: ChatArg,
        /// Show the settings in force at this instant: RFC 3339 (2026-11-01T12:00:00Z) or a date
        /// (2026-11-01: as the day ended, in UTC).
        #[arg(long, value_parser = parse_instant, value_name = "WHEN")]
        at: Option<DateTime<Utc>>,
    },
    /// Change one setting; the change is audited with the CLI as its author.
    Set {
        #[command(flatten)]
        chat: ChatArg,
        /// One of dry_run_mode, enable_instagram_api, is_paused, posts_per_day,
        /// posting_hours_start, posting_hours_end, posting_timezone.
        key: String,
        /// true/false (on/off) for toggles, a whole number for posts and hours, an IANA name
        /// for the time zone.
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Every settings change, newest first (or, with --versions, every version).
    History {
        #[command(flatten)]
        chat: ChatArg,
        /// At most this many changes.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// List the versions of the settings (valid from / valid to) instead of the changes.
        #[arg(long)]
        versions: bool,
        /// Print JSON (an array of objects) instead of a table, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Write the chat's settings, category mix, Instagram account identities (no tokens) and media
    /// source (no secret) as a JSON file, version 1.
    Export {
        #[command(flatten)]
        chat: ChatArg,
        /// Write the file here (replacing it) instead of to stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
    /// Check a settings export and show what importing it into the chat would change; with
    /// --yes, apply its settings and category mix in one audited change. Accounts and the media
    /// source are never imported (the file has no tokens or secrets): they are listed.
    Import {
        #[command(flatten)]
        chat: ChatArg,
        /// The file `settings export` wrote.
        file: std::path::PathBuf,
        /// Apply the changes (without it nothing changes).
        #[arg(long)]
        yes: bool,
    },
}

pub(super) async fn run(
    command: SettingsCommand,
    app: &App,
    config: &Config,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    match command {
        SettingsCommand::Show { chat, at } => {
            let workspace = workspace(app, config, &chat, Access::Read, err).await?;
            let settings = match at {
                None => app.settings.current(workspace.id).await?,
                Some(at) => match app.settings.as_of(workspace.id, at).await? {
                    Some(version) => version.settings,
                    None => {
                        writeln!(
                            err,
                            "storyline: chat {} had no settings yet at {} (its workspace is younger)",
                            workspace.chat_id,
                            at.format("%Y-%m-%d %H:%M:%S UTC")
                        )?;
                        return Ok(Outcome::Refused);
                    }
                },
            };
            writeln!(out, "{}", heading(&workspace))?;
            writeln!(out, "{}", settings_table(&settings, &People::of(app, &workspace).await?))?;
            Ok(Outcome::Done)
        }
        SettingsCommand::Set { chat, key, value } => {
            // Typed input is checked before any workspace is looked up or created.
            let parsed = key.parse::<SettingKey>().and_then(|parsed| SettingChange::parse(parsed, &value));
            let outcome = match parsed {
                Err(refused) => Err(SettingsError::Input(refused)),
                Ok(_) => {
                    let workspace = workspace(app, config, &chat, Access::Write, err).await?;
                    app.settings
                        .change_from_input(workspace.id, &key, &value, &Actor::Cli)
                        .await
                        .map(|a| (workspace, a))
                }
            };
            match outcome {
                Ok((_, applied)) if applied.changes.is_empty() => {
                    writeln!(out, "{key} is already {}; nothing changed", value.trim())?;
                    Ok(Outcome::Done)
                }
                Ok((workspace, applied)) => {
                    for change in &applied.changes {
                        writeln!(out, "{}: {} → {}", change.key, change.old, change.new)?;
                    }
                    replan(app, &workspace, &applied.changes, out).await?;
                    Ok(Outcome::Done)
                }
                Err(SettingsError::Input(SettingInputError::UnknownKey(typed))) => {
                    let shown: String = typed.chars().take(40).collect();
                    let hint = suggest(&typed).map(|key| format!("did you mean {key}? ")).unwrap_or_default();
                    writeln!(
                        err,
                        "storyline: unknown setting {shown:?}: {hint}use one of {}; nothing changed",
                        SettingKey::allowed()
                    )?;
                    Ok(Outcome::Refused)
                }
                Err(refused @ (SettingsError::Input(_) | SettingsError::Invalid(_))) => {
                    writeln!(err, "storyline: {refused}; nothing changed")?;
                    Ok(Outcome::Refused)
                }
                Err(other) => Err(other.into()),
            }
        }
        SettingsCommand::History { chat, limit, versions, json } => {
            let workspace = workspace(app, config, &chat, Access::Read, err).await?;
            if json {
                let rows = if versions {
                    versions_json(app.settings.history(workspace.id).await?)
                } else {
                    changes_json(app.settings.changes(workspace.id, limit).await?)
                };
                writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
                return Ok(Outcome::Done);
            }
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
        SettingsCommand::Export { chat, output } => {
            let workspace = workspace(app, config, &chat, Access::Read, err).await?;
            let json = app.transfer.export(workspace.id).await?.to_json();
            match output {
                None => writeln!(out, "{json}")?,
                Some(path) => {
                    std::fs::write(&path, format!("{json}\n"))
                        .map_err(|e| anyhow::anyhow!("could not write {}: {e}", path.display()))?;
                    writeln!(out, "wrote the settings of chat {} to {}", workspace.chat_id, path.display())?;
                }
            }
            Ok(Outcome::Done)
        }
        SettingsCommand::Import { chat, file, yes } => import(app, config, &chat, &file, yes, out, err).await,
    }
}

/// `settings import FILE [--yes]`: the file is checked before any workspace is looked up; without
/// --yes only a workspace that exists is compared with it, and nothing changes.
async fn import(
    app: &App,
    config: &Config,
    chat: &ChatArg,
    file: &std::path::Path,
    yes: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let text = match read_import(file) {
        Ok(text) => text,
        Err(refused) => {
            writeln!(err, "storyline: {refused}; nothing changed")?;
            return Ok(Outcome::Refused);
        }
    };
    if let Err(refused) = export::parse(&text) {
        writeln!(err, "storyline: {refused}; nothing changed")?;
        return Ok(Outcome::Refused);
    }
    let access = if yes { Access::Write } else { Access::Read };
    let workspace = workspace(app, config, chat, access, err).await?;
    let result = if yes {
        app.transfer.import(workspace.id, &text, &Actor::Cli).await.map(|(plan, applied)| (plan, Some(applied)))
    } else {
        app.transfer.plan(workspace.id, &text).await.map(|plan| (plan, None))
    };
    let (plan, applied) = match result {
        Ok(done) => done,
        Err(refused) if refused.is_refusal() => {
            writeln!(err, "storyline: {refused}; nothing changed")?;
            return Ok(Outcome::Refused);
        }
        Err(failed) => return Err(failed.into()),
    };
    let ImportPlan { changes, not_imported, .. } = &plan;
    match &applied {
        None if changes.is_empty() => {
            writeln!(out, "the file matches the settings of chat {}; nothing to change", workspace.chat_id)?;
        }
        None => {
            writeln!(out, "importing into chat {} would change:", workspace.chat_id)?;
            for change in changes {
                writeln!(out, "  {change}")?;
            }
        }
        Some(applied) if applied.changes.is_empty() && !applied.mix_changed => {
            writeln!(out, "the file matches the settings of chat {}; nothing changed", workspace.chat_id)?;
        }
        Some(applied) => {
            writeln!(out, "imported into chat {}:", workspace.chat_id)?;
            for change in &applied.changes {
                writeln!(out, "  {}: {} → {}", change.key, change.old, change.new)?;
            }
            if applied.mix_changed
                && let Some(mix) = changes.iter().find(|c| matches!(c, export::ImportChange::Mix { .. }))
            {
                writeln!(out, "  {mix}")?;
            }
        }
    }
    for note in not_imported {
        writeln!(out, "{note}")?;
    }
    match &applied {
        Some(applied) => replan(app, &workspace, &applied.changes, out).await?,
        None if !changes.is_empty() => writeln!(out, "nothing changed: run again with --yes to apply")?,
        None => {}
    }
    Ok(Outcome::Done)
}

/// The import file's text, at most [`MAX_IMPORT_BYTES`]; else why not, in one line.
fn read_import(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let shown = path.display();
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_IMPORT_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("could not read {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_IMPORT_BYTES {
        return Err(format!("{shown} is over 1 MB; a settings export is a few KB"));
    }
    String::from_utf8(bytes).map_err(|_| format!("{shown} is not UTF-8 text, so not a settings export"))
}

/// After settings that shape the schedule changed: the upcoming stories moved to it.
async fn replan(app: &App, workspace: &Workspace, changes: &[FieldChange], out: &mut dyn Write) -> anyhow::Result<()> {
    if changes.iter().any(|c| c.key.shapes_the_schedule()) {
        let seed = u64::try_from(app.clock.now().timestamp_nanos_opt().unwrap_or(1)).unwrap_or(1);
        let mut jitter = storyline_application::scheduling::SeededJitter::new(seed);
        let moved = app.scheduler.replan(workspace.id, &mut jitter).await?;
        if moved > 0 {
            writeln!(out, "moved {moved} upcoming stories to the new schedule")?;
        }
    }
    Ok(())
}

/// The setting key closest to what was typed (`post_per_day` → posts_per_day), if one is close.
fn suggest(typed: &str) -> Option<&'static str> {
    let typed = typed.trim().to_ascii_lowercase();
    // Part of one key's name (`timezone`, `paused`): that key.
    let containing: Vec<&'static str> =
        SettingKey::ALL.iter().map(|key| key.as_str()).filter(|key| typed.len() >= 4 && key.contains(&typed)).collect();
    if let [only] = containing.as_slice() {
        return Some(only);
    }
    SettingKey::ALL
        .iter()
        .map(|key| (strsim::jaro_winkler(&typed, key.as_str()), key.as_str()))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, key)| key)
}

/// `--at`: an RFC 3339 instant, or a date, meaning the end of that day in UTC.
fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.succ_opt())
        .and_then(|next| next.and_hms_opt(0, 0, 0))
        .map(|midnight| midnight.and_utc() - chrono::Duration::microseconds(1))
        .ok_or_else(|| "use RFC 3339 (2026-11-01T12:00:00Z) or a date (2026-11-01)".to_owned())
}

fn changes_json(entries: Vec<storyline_domain::audit::AuditEntry>) -> Vec<serde_json::Value> {
    entries
        .into_iter()
        .map(|entry| {
            serde_json::json!({
                "at": entry.at.to_rfc3339(),
                "by": entry.actor.to_string(),
                "setting": entry.subject,
                "old": entry.old,
                "new": entry.new,
            })
        })
        .collect()
}

fn versions_json(versions: Vec<storyline_domain::settings::SettingsVersion>) -> Vec<serde_json::Value> {
    versions
        .into_iter()
        .map(|version| {
            let s = &version.settings;
            serde_json::json!({
                "version": version.version,
                "valid_from": version.valid_from.to_rfc3339(),
                "valid_to": version.valid_to.map(|t| t.to_rfc3339()),
                "by": version.changed_by.to_string(),
                "dry_run_mode": s.dry_run,
                "enable_instagram_api": s.instagram_api,
                "is_paused": s.is_paused(),
                "posts_per_day": s.posts_per_day.get(),
                "posting_hours_start": s.window.start().get(),
                "posting_hours_end": s.window.end().get(),
                "posting_timezone": s.time_zone.name(),
            })
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_setting_key_gets_the_closest_one_and_nonsense_gets_none() {
        assert_eq!(suggest("post_per_day"), Some("posts_per_day"));
        assert_eq!(suggest("DRY_RUN"), Some("dry_run_mode"));
        assert_eq!(suggest("timezone"), Some("posting_timezone"));
        assert_eq!(suggest("colour"), None);
    }

    #[test]
    fn at_takes_an_instant_or_a_date_meaning_the_end_of_that_day() {
        let at = parse_instant("2026-11-01T12:00:00+01:00");
        assert_eq!(at.map(|t| t.to_rfc3339()), Ok("2026-11-01T11:00:00+00:00".to_owned()));
        let day = parse_instant("2026-11-01").map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string());
        assert_eq!(day, Ok("2026-11-01 23:59:59.999999".to_owned()));
        assert!(parse_instant("yesterday").is_err_and(|e| e.contains("RFC 3339") && e.contains("a date")));
    }
}
