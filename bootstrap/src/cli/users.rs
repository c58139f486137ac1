//! `storyline users list | promote`.

use std::io::Write;

use clap::{Subcommand, ValueEnum};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use storyline_domain::ChatId;
use storyline_domain::user::{Actor, Role, TelegramUserId};

use super::Outcome;
use crate::wiring::App;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Everyone the bot has seen in a chat, with their role.
    #[command(allow_negative_numbers = true)]
    List {
        /// The Telegram chat id (groups are negative, e.g. -100123).
        #[arg(long)]
        chat: i64,
    },
    /// Give a person a role in a chat's workspace (audited, with the CLI as its author).
    #[command(allow_negative_numbers = true)]
    Promote {
        /// The Telegram chat id (groups are negative, e.g. -100123).
        #[arg(long)]
        chat: i64,
        /// The person's Telegram user id (they need not have talked to the bot yet).
        telegram_user_id: i64,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
}

/// The roles the CLI gives.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    Member,
}

pub(super) async fn run(
    command: UsersCommand,
    app: &App,
    out: &mut dyn Write,
    _err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let chat = match command {
        UsersCommand::List { chat } | UsersCommand::Promote { chat, .. } => chat,
    };
    let workspace = app.settings.workspace_for_chat(ChatId(chat), &format!("Chat {chat}")).await?;
    match command {
        UsersCommand::List { .. } => {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED).set_header(["Telegram id", "Name", "Role", "Last seen (UTC)"]);
            for member in app.stores.users.members(workspace.id).await? {
                let name = if member.user.first_name.is_empty() && member.user.username.is_none() {
                    "(not seen yet)".to_owned()
                } else {
                    member.user.display_name()
                };
                table.add_row(vec![
                    member.user.telegram_id.to_string(),
                    name,
                    member.role.to_string(),
                    member.last_seen.format("%Y-%m-%d %H:%M").to_string(),
                ]);
            }
            writeln!(out, "{table}")?;
        }
        UsersCommand::Promote { telegram_user_id, role, .. } => {
            let role = match role {
                RoleArg::Admin => Role::Admin,
                RoleArg::Member => Role::Member,
            };
            let member = app
                .stores
                .users
                .set_role(workspace.id, TelegramUserId(telegram_user_id), role, &Actor::Cli, app.clock.now())
                .await?;
            writeln!(out, "{} is now {} in chat {chat}", member.user.telegram_id, member.role)?;
        }
    }
    Ok(Outcome::Done)
}
