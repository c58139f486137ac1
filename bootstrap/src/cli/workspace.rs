//! Which workspace a command works on — one rule for every command: an explicit `--chat`, else
//! `TELEGRAM_CHAT_ID`, else the only workspace there is, else a refusal that lists them.
//!
//! Reading never writes: a command that only reads refuses a chat without a workspace. A command
//! that changes something may create the workspace of a chat it was given (`--chat` or
//! `TELEGRAM_CHAT_ID`), as the bot does for its chat on start; with no chat given and no
//! workspace at all, it creates the console's own (chat 0), which `storyline console` then uses.

use std::io::Write;

use clap::Args;
use storyline_domain::{ChatId, Workspace};

use super::Refusal;
use crate::config::Config;
use crate::wiring::{App, CONSOLE_CHAT};

/// Which workspace a command works on.
#[derive(Debug, Clone, Default, Args)]
pub struct ChatArg {
    /// The workspace's Telegram chat id (groups are negative, e.g. -100123). Default:
    /// TELEGRAM_CHAT_ID, else the only workspace there is.
    #[arg(long, allow_negative_numbers = true, value_name = "CHAT_ID")]
    pub chat: Option<i64>,
}

/// What the command does with the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only reads: never creates a workspace.
    Read,
    /// Changes something: may create the workspace of the chat it was given.
    Write,
}

/// The most workspaces a refusal names.
const NAMED: usize = 10;

/// The workspace `chat` (or the configuration) points at, by the rule above. A note goes to `err`
/// when a workspace is created.
///
/// # Errors
/// [`Refusal`] naming the chat and the workspaces there are; a store error when the store fails.
pub async fn resolve(
    app: &App,
    config: &Config,
    chat: &ChatArg,
    access: Access,
    err: &mut dyn Write,
) -> anyhow::Result<Workspace> {
    let given = chat.chat.map(ChatId).or(config.telegram_chat);
    if let Some(chat) = given {
        if let Some(workspace) = app.settings.existing_workspace(chat).await? {
            return Ok(workspace);
        }
        if access == Access::Read {
            let known = known(&app.settings.workspaces().await?);
            return Err(Refusal(format!("no workspace for chat {chat} ({known}); nothing was created")).into());
        }
        return create(app, chat, err).await;
    }
    let all = app.settings.workspaces().await?;
    match (all.as_slice(), access) {
        ([only], _) => Ok(only.clone()),
        ([], Access::Write) => create(app, CONSOLE_CHAT, err).await,
        ([], Access::Read) => Err(Refusal(
            "no workspace yet: `storyline console`, `storyline run` or a command that changes something (such as \
             `index-media`) creates one"
                .to_owned(),
        )
        .into()),
        (_, _) => Err(Refusal(format!(
            "there are {} workspaces; choose one with --chat or TELEGRAM_CHAT_ID ({})",
            all.len(),
            known(&all)
        ))
        .into()),
    }
}

async fn create(app: &App, chat: ChatId, err: &mut dyn Write) -> anyhow::Result<Workspace> {
    let name = if chat == CONSOLE_CHAT { "Console".to_owned() } else { format!("Chat {chat}") };
    let workspace = app.settings.workspace_for_chat(chat, &name).await?;
    writeln!(err, "note: chat {chat} had no workspace; created one from the defaults")?;
    Ok(workspace)
}

/// `known: -100123 "Team", 0 "Console"` (at most [`NAMED`]), or that there are none.
fn known(all: &[Workspace]) -> String {
    if all.is_empty() {
        return "there are no workspaces yet".to_owned();
    }
    let mut named: Vec<String> = all.iter().take(NAMED).map(|w| format!("{} {:?}", w.chat_id, w.name)).collect();
    if all.len() > NAMED {
        named.push(format!("and {} more", all.len() - NAMED));
    }
    format!("known: {}", named.join(", "))
}

#[cfg(test)]
mod tests {
    use storyline_domain::WorkspaceId;

    use super::*;

    fn workspace(chat: i64, name: &str) -> Workspace {
        Workspace { id: WorkspaceId::new(), chat_id: ChatId(chat), name: name.to_owned() }
    }

    #[test]
    fn the_known_workspaces_are_named_with_their_chat_and_cut_after_ten() {
        assert_eq!(known(&[]), "there are no workspaces yet");
        assert_eq!(known(&[workspace(-100, "Team"), workspace(0, "Console")]), r#"known: -100 "Team", 0 "Console""#);
        let many: Vec<Workspace> = (0..12).map(|i| workspace(i, "W")).collect();
        assert!(known(&many).ends_with(r#"9 "W", and 2 more"#), "{}", known(&many));
    }
}
