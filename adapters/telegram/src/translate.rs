//! Telegram updates in the bot's own words.

use storyline_application::bot::{Event, Incoming};
use storyline_domain::ChatId;
use storyline_domain::chat::{MessageId, PressId, SentFile};
use storyline_domain::user::{TelegramUserId, User};
use teloxide::types::{Message, Update, UpdateKind};

/// The update kinds the bot serves, for getUpdates and setWebhook alike.
pub(crate) fn allowed_updates() -> Vec<teloxide::types::AllowedUpdate> {
    use teloxide::types::AllowedUpdate;
    vec![AllowedUpdate::Message, AllowedUpdate::ChannelPost, AllowedUpdate::CallbackQuery, AllowedUpdate::MyChatMember]
}

fn user(from: &teloxide::types::User) -> User {
    User {
        telegram_id: TelegramUserId(i64::try_from(from.id.0).unwrap_or(i64::MAX)),
        username: from.username.clone(),
        first_name: from.first_name.clone(),
        last_name: from.last_name.clone(),
    }
}

fn message(message: &Message, from: Option<User>) -> Incoming {
    if let Some(document) = message.document() {
        // A file (a settings import); its caption is not a command.
        let file = SentFile {
            id: document.file.id.0.clone(),
            name: document.file_name.clone(),
            size: Some(u64::from(document.file.size)),
        };
        return Incoming {
            chat: ChatId(message.chat.id.0),
            chat_title: message.chat.title().map(ToOwned::to_owned),
            from,
            event: Event::Document {
                file,
                caption: message.caption().unwrap_or_default().to_owned(),
                message: MessageId(message.id.0),
            },
        };
    }
    // A message without text (a sticker, a photo) is an empty answer: prompts refuse it.
    let text = message.text().or_else(|| message.caption()).unwrap_or_default();
    Incoming {
        chat: ChatId(message.chat.id.0),
        chat_title: message.chat.title().map(ToOwned::to_owned),
        from,
        event: Event::from_message(text, MessageId(message.id.0)),
    }
}

/// The update as the bot sees it; `None` for what the bot does not handle (edits, other bots'
/// messages, service messages it has no use for).
pub(crate) fn incoming(update: &Update) -> Option<Incoming> {
    match &update.kind {
        UpdateKind::Message(m) => {
            // The group became a supergroup: its workspace moves to the new id.
            if let Some(new_chat) = m.migrate_to_chat_id() {
                tracing::info!(chat_id = m.chat.id.0, new_chat_id = new_chat.0, "the chat became a supergroup");
                return Some(Incoming {
                    chat: ChatId(m.chat.id.0),
                    chat_title: m.chat.title().map(ToOwned::to_owned),
                    from: m.from.as_ref().map(user),
                    event: Event::MovedTo(ChatId(new_chat.0)),
                });
            }
            let from = m.from.as_ref()?;
            if from.is_bot {
                return None;
            }
            Some(message(m, Some(user(from))))
        }
        // The bot itself added to or removed from a chat.
        UpdateKind::MyChatMember(change) => {
            let event = match (change.old_chat_member.kind.is_present(), change.new_chat_member.kind.is_present()) {
                (false, true) => Event::Joined,
                (true, false) => Event::Left,
                _ => return None,
            };
            Some(Incoming {
                chat: ChatId(change.chat.id.0),
                chat_title: change.chat.title().map(ToOwned::to_owned),
                from: Some(user(&change.from)),
                event,
            })
        }
        UpdateKind::ChannelPost(m) => Some(message(m, None)),
        UpdateKind::CallbackQuery(q) => {
            let shown = q.message.as_ref()?;
            Some(Incoming {
                chat: ChatId(shown.chat().id.0),
                chat_title: shown.chat().title().map(ToOwned::to_owned),
                from: Some(user(&q.from)),
                event: Event::Press {
                    id: PressId(q.id.0.clone()),
                    data: q.data.clone().unwrap_or_default(),
                    message: Some(MessageId(shown.id().0)),
                },
            })
        }
        _ => None,
    }
}
