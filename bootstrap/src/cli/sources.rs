//! `storyline media-source show | set` (FEATURES M1): where a workspace's media comes from.
//! A secret (the S3 secret access key, a service-account key) is read from standard input or a
//! file, never from the command line, and never printed.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use secrecy::SecretString;
use storyline_application::sources::{SetSourceError, SourceView, switch_note};
use storyline_domain::source::{SourceConfig, SourceVersion};
use storyline_domain::user::Actor;

use super::Outcome;
use super::workspace::{Access, ChatArg, resolve as workspace};
use crate::config::Config;
use crate::wiring::App;

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// The workspace's media source, the state of its last sync, and every version of the
    /// setting (a secret shows as changed or unchanged, never its value).
    Show {
        #[command(flatten)]
        chat: ChatArg,
    },
    /// Change the workspace's media source. The new source is tried first (one listing);
    /// when it cannot be read nothing is saved.
    #[command(subcommand)]
    Set(SetCommand),
}

#[derive(Debug, Subcommand)]
pub enum SetCommand {
    /// A folder on this machine.
    Local {
        /// The folder (its first-level folders are the categories).
        path: PathBuf,
        #[command(flatten)]
        chat: ChatArg,
    },
    /// An S3 bucket (AWS, or any S3-compatible server with --endpoint). The secret access key
    /// is read from standard input (`--secret-access-key -`).
    S3(S3Args),
    /// A Google Drive folder, read with a service account (share the folder with it).
    Drive {
        /// The folder's id (the last part of its URL).
        #[arg(long)]
        folder_id: String,
        /// The service account's JSON key file.
        #[arg(long, value_name = "FILE")]
        service_account_key: PathBuf,
        #[command(flatten)]
        chat: ChatArg,
    },
}

#[derive(Debug, Args)]
pub struct S3Args {
    /// The bucket's name.
    #[arg(long)]
    bucket: String,
    /// Only keys below this prefix (no leading /).
    #[arg(long, default_value = "")]
    prefix: String,
    /// The S3-compatible server's URL (MinIO, R2, Backblaze …); AWS itself without it.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// The bucket's region (what the server signs with; `auto` for R2).
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Path-style addressing (endpoint/bucket/key), which most S3-compatible servers want.
    #[arg(long)]
    path_style: bool,
    /// The access key's id (not secret; the key itself comes on standard input).
    #[arg(long)]
    access_key_id: String,
    /// Must be `-`: the secret access key is read from standard input, so it stays out of the
    /// shell history and the process list.
    #[arg(long, value_name = "-")]
    secret_access_key: String,
    #[command(flatten)]
    chat: ChatArg,
}

fn refuse(err: &mut dyn Write, problem: impl std::fmt::Display) -> anyhow::Result<Outcome> {
    writeln!(err, "storyline: {problem}")?;
    Ok(Outcome::Refused)
}

pub(super) async fn run(
    command: SourceCommand,
    app: &App,
    config: &Config,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    match command {
        SourceCommand::Show { chat } => {
            let workspace = workspace(app, config, &chat, Access::Read, err).await?;
            let view = app.media_sources.show(workspace.id).await?;
            show(&view, out)?;
            Ok(Outcome::Done)
        }
        SourceCommand::Set(set) => {
            let (config_set, secret, chat) = match read(set) {
                Ok(read) => read,
                Err(problem) => return refuse(err, problem),
            };
            let workspace = workspace(app, config, &chat, Access::Write, err).await?;
            match app.media_sources.set(workspace.id, &config_set, secret, &Actor::Cli).await {
                Ok(switch) => {
                    writeln!(out, "media source of chat {} is now {config_set}", workspace.chat_id)?;
                    writeln!(out, "{}", switch_note(&switch, "`storyline sync-media` for now"))?;
                    Ok(Outcome::Done)
                }
                Err(error @ (SetSourceError::Invalid(_) | SetSourceError::NoKey | SetSourceError::Tried { .. })) => {
                    refuse(err, error)
                }
                Err(other) => Err(other.into()),
            }
        }
    }
}

/// The settings and secret a `set` names, or what is wrong with them (one line).
fn read(set: SetCommand) -> Result<(SourceConfig, Option<SecretString>, ChatArg), String> {
    match set {
        SetCommand::Local { path, chat } => {
            let root = std::fs::canonicalize(&path)
                .ok()
                .filter(|p| p.is_dir())
                .ok_or_else(|| format!("there is no folder {}", path.display()))?;
            Ok((SourceConfig::Local { root: root.display().to_string() }, None, chat))
        }
        SetCommand::S3(args) => {
            if args.secret_access_key != "-" {
                return Err("--secret-access-key must be `-`: give the secret on standard input".to_owned());
            }
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("could not read standard input: {e}"))?;
            let secret = line.trim();
            if secret.is_empty() {
                return Err("give the secret access key on standard input".to_owned());
            }
            let secret = SecretString::from(secret.to_owned());
            let config = SourceConfig::S3 {
                bucket: args.bucket.trim().to_owned(),
                prefix: args.prefix.trim().trim_matches('/').to_owned(),
                endpoint: args.endpoint.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()),
                region: args.region.trim().to_owned(),
                path_style: args.path_style,
                access_key_id: args.access_key_id.trim().to_owned(),
            };
            Ok((config, Some(secret), args.chat))
        }
        SetCommand::Drive { folder_id, service_account_key, chat } => {
            let key = std::fs::read_to_string(&service_account_key)
                .map_err(|_| format!("cannot read the key file {}", service_account_key.display()))?;
            if key.trim().is_empty() {
                return Err(format!("the key file {} is empty", service_account_key.display()));
            }
            let config = SourceConfig::Drive { folder_id: folder_id.trim().to_owned() };
            Ok((config, Some(SecretString::from(key)), chat))
        }
    }
}

fn secret_word(version: &SourceVersion) -> &'static str {
    if !version.config.kind().has_secret() {
        "none"
    } else if version.secret_changed {
        "changed"
    } else {
        "unchanged"
    }
}

fn show(view: &SourceView, out: &mut dyn Write) -> anyhow::Result<()> {
    let default = if view.is_default { " (the default: none set)" } else { "" };
    writeln!(out, "media source: {}{default}", view.current)?;
    if let SourceConfig::S3 { endpoint, region, path_style, access_key_id, .. } = &view.current {
        let endpoint = endpoint.as_deref().unwrap_or("AWS");
        writeln!(
            out,
            "  endpoint {endpoint}, region {region}, path style {path_style}, access key id {access_key_id}"
        )?;
    }
    let status = &view.status;
    match status.last_synced_at {
        Some(at) => writeln!(out, "last synced: {}", at.format("%Y-%m-%d %H:%M:%S UTC"))?,
        None => writeln!(out, "last synced: never")?,
    }
    if let Some(since) = status.unreachable_since {
        writeln!(out, "not answering since {}", since.format("%Y-%m-%d %H:%M:%S UTC"))?;
    }
    if view.versions.is_empty() {
        return Ok(());
    }
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["valid from", "valid to", "source", "secret", "set by"]);
    for version in &view.versions {
        table.add_row([
            version.valid_from.format("%Y-%m-%d %H:%M:%S").to_string(),
            version.valid_to.map_or_else(|| "current".to_owned(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
            version.config.to_string(),
            secret_word(version).to_owned(),
            version.set_by.to_string(),
        ]);
    }
    writeln!(out, "{table}")?;
    Ok(())
}
