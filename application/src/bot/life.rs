//! A chat's life cycle (FEATURES T1): the bot added to a chat greets it (with a pointer to
//! `/init` where there is no workspace yet); removed, or the chat closed, it pauses the
//! workspace (nothing is deleted, and the loops skip a paused workspace); added back, it resumes
//! where it was — posting restarts only if it was the removal that paused it. A group that
//! becomes a supergroup keeps its workspace, history and queue under the new chat id.

use storyline_domain::settings::Pause;

use super::*;

/// Said when the bot is added to a chat without a workspace (many-workspace mode).
pub const GREETING: &str = "Hello! I schedule this team's Instagram Stories and send each one here to post, or \
                            post it myself. An admin can set me up with /init (about a minute).";

impl Bot {
    pub(super) async fn life_cycle(&self, incoming: &Incoming) -> Result<(), BotError> {
        let chat = incoming.chat;
        let served = self.config.team_chat.is_none_or(|team| team == chat);
        let cached = self.workspaces.lock().unwrap_or_else(PoisonError::into_inner).get(&chat).cloned();
        let workspace = match cached {
            Some(workspace) => Some(workspace),
            None => self.settings.existing_workspace(chat).await?,
        };
        match (&incoming.event, workspace) {
            (Event::MovedTo(to), Some(workspace)) => {
                let Some(moved) = self.settings.move_workspace(workspace.id, *to).await? else {
                    tracing::warn!(chat_id = %chat, new_chat_id = %to, "the chat became a supergroup whose id has a workspace already; nothing moved");
                    return Ok(());
                };
                {
                    let mut cached = self.workspaces.lock().unwrap_or_else(PoisonError::into_inner);
                    cached.remove(&chat);
                    cached.insert(*to, moved);
                }
                if self.config.team_chat.is_some() {
                    tracing::warn!(chat_id = %chat, new_chat_id = %to, "the team chat became a supergroup: its workspace moved; set TELEGRAM_CHAT_ID to the new id");
                }
                Ok(())
            }
            (Event::Left, Some(workspace)) => {
                let settings = self.settings.current(workspace.id).await?;
                if settings.pause.is_none() {
                    self.settings
                        .change(workspace.id, SettingChange::Set(Toggle::Paused, true), &Actor::System)
                        .await?;
                }
                tracing::info!(workspace_id = %workspace.id, chat_id = %chat, "the bot left the chat: its workspace is paused, nothing deleted");
                Ok(())
            }
            (Event::Joined, Some(workspace)) if served => {
                let settings = self.settings.current(workspace.id).await?;
                let paused_by_removal = matches!(settings.pause, Some(Pause { by: Actor::System, .. }));
                let text = if paused_by_removal {
                    self.settings
                        .change(workspace.id, SettingChange::Set(Toggle::Paused, false), &Actor::System)
                        .await?;
                    format!("I'm back in {}: posting resumes where it was. /settings shows everything.", workspace.name)
                } else {
                    format!("I'm back in {}. /settings shows where things stand.", workspace.name)
                };
                tracing::info!(workspace_id = %workspace.id, chat_id = %chat, resumed = paused_by_removal, "the bot was added back to the chat");
                self.ports.notifier.send(chat, &Screen::new(text)).await?;
                Ok(())
            }
            (Event::Joined, None) if self.config.team_chat.is_none() && self.wizards.is_some() => {
                self.ports.notifier.send(chat, &Screen::new(GREETING)).await?;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
