//! Telegram's command menu, from the application's one list of commands and its access table:
//! the commands every member may use for the default scope, and all of them for the chats'
//! administrators (the admin-only ones are refused to others anyway; a workspace's owner is
//! usually one of them, so the owner's `/admins` is shown there too).

use storyline_application::access::{self, Role};
use teloxide::payloads::SetMyCommandsSetters as _;
use teloxide::prelude::Requester;
use teloxide::types::{BotCommand, BotCommandScope};

use crate::TelegramBot;

/// The menu for someone with `role`.
#[must_use]
pub fn menu(role: Role) -> Vec<BotCommand> {
    access::menu(role).into_iter().map(|command| BotCommand::new(command.as_str(), command.description())).collect()
}

/// Registers the command menu (`setMyCommands`) for members and for chat administrators. A
/// failure is logged and the bot goes on: the menu is a convenience, typed commands work without
/// it.
pub async fn register(bot: &TelegramBot) {
    for (role, scope, label) in [
        (Role::Member, BotCommandScope::Default, "members"),
        (Role::Owner, BotCommandScope::AllChatAdministrators, "chat administrators"),
    ] {
        match bot.set_my_commands(menu(role)).scope(scope).await {
            Ok(_) => tracing::info!(scope = label, "registered the command menu"),
            Err(error) => {
                tracing::warn!(scope = label, error = %error, "could not register the command menu; commands still work");
            }
        }
    }
}
