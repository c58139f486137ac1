//! What arrives from a chat, in the bot's own words (no transport types).

use storyline_domain::ChatId;
use storyline_domain::chat::{MessageId, PressId, SentFile};
use storyline_domain::user::User;

/// One thing that happened in a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub chat: ChatId,
    /// The chat's title, for naming a new workspace.
    pub chat_title: Option<String>,
    /// Who did it; `None` for a channel post (only channel admins can post there).
    pub from: Option<User>,
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `/name args` (a `@botname` suffix already removed or not: the bot strips it).
    Command { name: String, args: String, message: MessageId },
    /// Any other message; `text` is empty for a message without text (a sticker, a photo).
    Text { text: String, message: MessageId },
    /// A file sent as a document, with its caption (empty without one; never a command). Only a
    /// settings import the person started fetches the file; otherwise the caption is read as a
    /// message without text would be (a prompt refuses it, a token in it is deleted).
    Document { file: SentFile, caption: String, message: MessageId },
    /// A button press with its untrusted callback data, on the message that carried the button.
    Press { id: PressId, data: String, message: Option<MessageId> },
    /// The bot was added to the chat, or made a member of it again (FEATURES T1).
    Joined,
    /// The bot was removed from the chat, or the chat was closed.
    Left,
    /// The group became a supergroup, with this new chat id.
    MovedTo(ChatId),
}

impl Event {
    /// Whether this is the chat's life cycle rather than something a person said or pressed.
    #[must_use]
    pub const fn is_life_cycle(&self) -> bool {
        matches!(self, Self::Joined | Self::Left | Self::MovedTo(_))
    }
}

impl Event {
    /// A document as the plain message its caption is, where no import can want the file.
    #[must_use]
    pub fn caption_as_text(self) -> Self {
        match self {
            Self::Document { caption, message, .. } => Self::Text { text: caption, message },
            other => other,
        }
    }

    /// Splits a message into a command or plain text.
    #[must_use]
    pub fn from_message(text: &str, message: MessageId) -> Self {
        let trimmed = text.trim();
        if let Some(rest) = trimmed.strip_prefix('/') {
            // A control character (a NUL from a hostile client) ends the command's name too.
            let (word, args) = rest.split_once(|c: char| c.is_whitespace() || c.is_control()).unwrap_or((rest, ""));
            let name = word.split('@').next().unwrap_or_default().to_ascii_lowercase();
            // A name with a `/` in it is a path typed as an answer (`/srv/media/clips`), not a
            // command: no command has one.
            if !name.is_empty() && !word.contains('/') {
                return Self::Command { name, args: args.trim().to_owned(), message };
            }
        }
        Self::Text { text: text.to_owned(), message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_lose_their_bot_name_and_keep_their_arguments() {
        let event = Event::from_message("/DryRun@storyline_bot  off ", MessageId(1));
        assert_eq!(event, Event::Command { name: "dryrun".into(), args: "off".into(), message: MessageId(1) });
        assert!(matches!(Event::from_message("7", MessageId(2)), Event::Text { .. }));
        assert!(matches!(Event::from_message("/", MessageId(3)), Event::Text { .. }));
        let nul = Event::from_message("/help\u{0}", MessageId(4));
        assert_eq!(nul, Event::Command { name: "help".into(), args: String::new(), message: MessageId(4) });
        let path = Event::from_message("/srv/media/clips", MessageId(5));
        assert_eq!(path, Event::Text { text: "/srv/media/clips".into(), message: MessageId(5) });
    }
}
