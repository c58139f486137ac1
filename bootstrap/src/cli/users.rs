//! `storyline users list | promote`.

use std::io::Write;

use clap::{Subcommand, ValueEnum};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use storyline_domain::user::{Actor, Member, Role, TelegramUserId};

use super::Outcome;
use super::workspace::{Access, ChatArg, resolve as workspace};
use crate::config::Config;
use crate::wiring::App;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Everyone the bot has seen in a chat, with their role.
    List {
        #[command(flatten)]
        chat: ChatArg,
        /// Print JSON (an array of objects) instead of a table, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Give a person a role in a chat's workspace (audited, with the CLI as its author).
    Promote {
        #[command(flatten)]
        chat: ChatArg,
        /// The person's Telegram user id (they need not have talked to the bot yet).
        telegram_user_id: i64,
        /// The role to give.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
}

/// The roles the CLI gives.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Changes settings, schedules, clears, sends the next story, rejects.
    Admin,
    /// Reads and presses Posted or Skip.
    Member,
}

/// A person promoted before they talked to the bot has no name yet, and was never seen.
fn not_seen_yet(member: &Member) -> bool {
    member.user.first_name.is_empty() && member.user.username.is_none()
}

pub(super) async fn run(
    command: UsersCommand,
    app: &App,
    config: &Config,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    match command {
        UsersCommand::List { chat, json } => {
            let workspace = workspace(app, config, &chat, Access::Read, err).await?;
            let members = app.stores.users.members(workspace.id).await?;
            if json {
                let rows: Vec<_> = members
                    .iter()
                    .map(|member| {
                        let seen = !not_seen_yet(member);
                        serde_json::json!({
                            "telegram_id": member.user.telegram_id.0,
                            "name": seen.then(|| member.user.display_name()),
                            "username": member.user.username,
                            "role": member.role.to_string(),
                            "last_seen": seen.then(|| member.last_seen.to_rfc3339()),
                        })
                    })
                    .collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
                return Ok(Outcome::Done);
            }
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED).set_header(["Telegram id", "Name", "Role", "Last seen (UTC)"]);
            for member in &members {
                let (name, seen) = if not_seen_yet(member) {
                    ("(not seen yet)".to_owned(), "—".to_owned())
                } else {
                    (member.user.display_name(), member.last_seen.format("%Y-%m-%d %H:%M").to_string())
                };
                table.add_row(vec![member.user.telegram_id.to_string(), name, member.role.to_string(), seen]);
            }
            writeln!(out, "{table}")?;
        }
        UsersCommand::Promote { chat, telegram_user_id, role } => {
            let workspace = workspace(app, config, &chat, Access::Write, err).await?;
            let role = match role {
                RoleArg::Admin => Role::Admin,
                RoleArg::Member => Role::Member,
            };
            let member = app
                .stores
                .users
                .set_role(workspace.id, TelegramUserId(telegram_user_id), role, &Actor::Cli, app.clock.now())
                .await?;
            writeln!(out, "{} is now {} in chat {}", member.user.telegram_id, member.role, workspace.chat_id)?;
        }
    }
    Ok(Outcome::Done)
}
