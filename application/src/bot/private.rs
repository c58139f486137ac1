//! A private chat with the bot (FEATURES T1): `/start` there lists the workspaces the person
//! belongs to, with their role and whether each is posting. Nothing of anyone else's.

use storyline_domain::chat::Text;

use super::*;

/// The longest list `/start` shows in a private chat.
const LISTED: usize = 30;

impl Bot {
    /// `/start` in a private chat; whether it was one.
    pub(super) async fn private_start(&self, incoming: &Incoming) -> Result<bool, BotError> {
        let (Some(user), Event::Command { name, args, .. }) = (&incoming.from, &incoming.event) else {
            return Ok(false);
        };
        if incoming.chat.0 != user.telegram_id.0 || !matches!(Command::parse(name, args), Ok(Command::Start)) {
            return Ok(false);
        }
        let memberships = self.ports.users.memberships(user.telegram_id).await?;
        let mut text = Text::new().bold("Storyline").plain(" schedules teams' Instagram Stories.").line();
        if memberships.is_empty() {
            text = text.line().plain(if self.config.team_chat.is_some() {
                "You are not in this bot's team chat yet: it serves one team."
            } else {
                "You are in no workspace yet. Add me to your team's group and send /init there (for a channel, post /init in it and follow what I answer)."
            });
        } else {
            text = text.line().bold("Your workspaces");
            for (workspace, role) in memberships.iter().take(LISTED) {
                let settings = self.settings.current(workspace.id).await?;
                let state = match (&settings.pause, settings.dry_run) {
                    (Some(_), _) => "paused",
                    (None, true) => "dry run",
                    (None, false) => "posting",
                };
                text = text.line().plain(format!("• {} — {role}, {state}", workspace.name));
            }
            if memberships.len() > LISTED {
                text = text.line().plain(format!("and {} more", memberships.len() - LISTED));
            }
            text = text.line().line().plain("/settings in a workspace's chat changes it.");
        }
        self.ports.notifier.send(incoming.chat, &Screen::new(text)).await?;
        Ok(true)
    }
}
