use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use storyline_domain::ChatId;
use storyline_domain::chat::{MessageId, PressId, Screen, SentFile};
use storyline_domain::ports::{Attachment, ChatAdmins, ChatFiles, ChatNotifier, FileError, NotifyError};
use storyline_domain::user::TelegramUserId;

/// One thing the bot did in a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatCall {
    Sent { chat: ChatId, message: MessageId, screen: Screen },
    SentMedia { chat: ChatId, message: MessageId, location: String, screen: Screen },
    SentDocument { chat: ChatId, message: MessageId, file_name: String, bytes: Vec<u8>, caption: String },
    Edited { chat: ChatId, message: MessageId, screen: Screen },
    Deleted { chat: ChatId, message: MessageId },
    Answered { press: PressId, note: String, alert: bool },
}

/// A chat in memory: records what the bot shows and keeps each message's current screen.
/// Clones share the same record.
#[derive(Debug, Clone, Default)]
pub struct RecordingChat(Arc<Mutex<Recording>>);

#[derive(Debug, Default)]
struct Recording {
    calls: Vec<ChatCall>,
    messages: HashMap<(ChatId, MessageId), Screen>,
    next_message: i32,
    admins: HashMap<ChatId, Vec<TelegramUserId>>,
    /// Every delete asked for, including of messages this chat did not send (people's).
    delete_attempts: Vec<(ChatId, MessageId)>,
    /// Files people sent, by id ([`RecordingChat::put_file`]).
    files: HashMap<String, Vec<u8>>,
    /// How many times a file was fetched.
    fetches: usize,
}

impl RecordingChat {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn recording(&self) -> MutexGuard<'_, Recording> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Everything the bot did, in order.
    #[must_use]
    pub fn calls(&self) -> Vec<ChatCall> {
        self.recording().calls.clone()
    }

    /// Forgets the calls so far (the messages stay).
    /// Every message the bot asked to delete, people's messages included (a person's message
    /// was never sent by this chat, so its delete answers `MessageGone` and is not a call).
    #[must_use]
    pub fn delete_attempts(&self) -> Vec<(ChatId, MessageId)> {
        self.recording().delete_attempts.clone()
    }

    pub fn clear_calls(&self) {
        self.recording().calls.clear();
    }

    /// A message's current screen; `None` once deleted.
    #[must_use]
    pub fn message(&self, chat: ChatId, message: MessageId) -> Option<Screen> {
        self.recording().messages.get(&(chat, message)).cloned()
    }

    /// The chat's platform administrators.
    pub fn set_admins(&self, chat: ChatId, admins: Vec<TelegramUserId>) {
        self.recording().admins.insert(chat, admins);
    }

    /// A file someone sent, fetchable by `id` as [`ChatFiles`] does.
    pub fn put_file(&self, id: &str, bytes: Vec<u8>) {
        self.recording().files.insert(id.to_owned(), bytes);
    }

    /// How many times a file was fetched.
    #[must_use]
    pub fn fetches(&self) -> usize {
        self.recording().fetches
    }
}

#[async_trait]
impl ChatFiles for RecordingChat {
    async fn fetch(&self, file: &SentFile, limit: u64) -> Result<Vec<u8>, FileError> {
        let mut recording = self.recording();
        recording.fetches += 1;
        let Some(bytes) = recording.files.get(&file.id) else {
            return Err(FileError::Unknown(anyhow::anyhow!("no file {}", file.id)));
        };
        if bytes.len() as u64 > limit {
            return Err(FileError::TooLarge { limit });
        }
        Ok(bytes.clone())
    }
}

#[async_trait]
impl ChatNotifier for RecordingChat {
    async fn send(&self, chat: ChatId, screen: &Screen) -> Result<MessageId, NotifyError> {
        let mut recording = self.recording();
        recording.next_message += 1;
        let message = MessageId(recording.next_message);
        recording.messages.insert((chat, message), screen.clone());
        recording.calls.push(ChatCall::Sent { chat, message, screen: screen.clone() });
        Ok(message)
    }

    async fn send_media(&self, chat: ChatId, media: &Attachment, screen: &Screen) -> Result<MessageId, NotifyError> {
        let mut recording = self.recording();
        recording.next_message += 1;
        let message = MessageId(recording.next_message);
        recording.messages.insert((chat, message), screen.clone());
        let location = media.location.clone();
        recording.calls.push(ChatCall::SentMedia { chat, message, location, screen: screen.clone() });
        Ok(message)
    }

    async fn send_document(
        &self,
        chat: ChatId,
        file_name: &str,
        bytes: Vec<u8>,
        caption: &str,
    ) -> Result<MessageId, NotifyError> {
        let mut recording = self.recording();
        recording.next_message += 1;
        let message = MessageId(recording.next_message);
        let (file_name, caption) = (file_name.to_owned(), caption.to_owned());
        recording.calls.push(ChatCall::SentDocument { chat, message, file_name, bytes, caption });
        Ok(message)
    }

    async fn edit_caption(&self, chat: ChatId, message: MessageId, screen: &Screen) -> Result<(), NotifyError> {
        self.edit(chat, message, screen).await
    }

    async fn edit(&self, chat: ChatId, message: MessageId, screen: &Screen) -> Result<(), NotifyError> {
        let mut recording = self.recording();
        let shown = recording.messages.get_mut(&(chat, message)).ok_or(NotifyError::MessageGone)?;
        *shown = screen.clone();
        recording.calls.push(ChatCall::Edited { chat, message, screen: screen.clone() });
        Ok(())
    }

    async fn delete(&self, chat: ChatId, message: MessageId) -> Result<(), NotifyError> {
        let mut recording = self.recording();
        recording.delete_attempts.push((chat, message));
        recording.messages.remove(&(chat, message)).ok_or(NotifyError::MessageGone)?;
        recording.calls.push(ChatCall::Deleted { chat, message });
        Ok(())
    }

    async fn answer(&self, press: &PressId, note: &str, alert: bool) -> Result<(), NotifyError> {
        self.recording().calls.push(ChatCall::Answered { press: press.clone(), note: note.to_owned(), alert });
        Ok(())
    }
}

#[async_trait]
impl ChatAdmins for RecordingChat {
    async fn administrators(&self, chat: ChatId) -> Result<Vec<TelegramUserId>, NotifyError> {
        Ok(self.recording().admins.get(&chat).cloned().unwrap_or_default())
    }
}
