use async_trait::async_trait;

use crate::ChatId;
use crate::chat::{MessageId, PressId, Screen, SentFile};
use crate::user::TelegramUserId;

/// A photo or video to send with a screen as its caption. It carries where the bytes come
/// from, never the whole file: a 100 MB video goes out chunk by chunk as the source gives it
/// (FEATURES M4, issue 12: sending must not hold the file in memory).
pub struct Attachment {
    pub kind: crate::library::MediaKind,
    pub file_name: String,
    /// Where the file is, for people (a local path, a bucket key).
    pub location: String,
    /// The size when the source said it.
    pub size_bytes: Option<u64>,
    /// The file as opened for the first try (so that a file that cannot be read is known before
    /// anything is sent); later tries open it again.
    first: std::sync::Mutex<Option<super::ByteStream>>,
    source: std::sync::Arc<dyn super::MediaSource>,
    path: String,
}

impl Attachment {
    /// The file at `path` of `source`, already opened once as `opened`.
    #[must_use]
    pub fn new(
        kind: crate::library::MediaKind,
        source: std::sync::Arc<dyn super::MediaSource>,
        path: &str,
        opened: super::OpenedFile,
    ) -> Self {
        Self {
            kind,
            file_name: path.rsplit('/').next().unwrap_or(path).to_owned(),
            location: source.locate(path),
            size_bytes: opened.size_bytes,
            first: std::sync::Mutex::new(Some(opened.chunks)),
            source,
            path: path.to_owned(),
        }
    }

    /// The bytes for one try: the stream opened first, then the file opened again for each
    /// later try (a retry after Telegram's `retry_after`).
    ///
    /// # Errors
    /// [`super::SourceError`] when the file cannot be opened again.
    pub async fn body(&self) -> Result<super::ByteStream, super::SourceError> {
        let first = self.first.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        match first {
            Some(chunks) => Ok(chunks),
            None => Ok(self.source.open(&self.path).await?.chunks),
        }
    }
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("kind", &self.kind)
            .field("location", &self.location)
            .field("size_bytes", &self.size_bytes)
            .finish_non_exhaustive()
    }
}

/// Why a chat could not be told something.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The message to edit or delete is gone (deleted, or too old).
    #[error("the message no longer exists")]
    MessageGone,
    /// The file of a photo or video could not be read (again) from its source.
    #[error("the story's file could not be read")]
    Media(#[source] super::SourceError),
    #[error("the chat could not be reached")]
    Unknown(#[source] anyhow::Error),
}

/// Shows screens in a chat (Telegram, the terminal).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ChatNotifier: Send + Sync {
    /// Sends a new message.
    ///
    /// # Errors
    /// [`NotifyError::Unknown`] when the chat cannot be reached.
    async fn send(&self, chat: ChatId, screen: &Screen) -> Result<MessageId, NotifyError>;

    /// Sends a photo or video with the screen's text as its caption and the screen's buttons.
    ///
    /// # Errors
    /// [`NotifyError::Unknown`] when the chat cannot be reached.
    async fn send_media(&self, chat: ChatId, media: &Attachment, screen: &Screen) -> Result<MessageId, NotifyError>;

    /// Sends a small file made here (a settings export: a few kilobytes, held in memory) with
    /// `caption` as its plain-text caption.
    ///
    /// # Errors
    /// [`NotifyError::Unknown`] when the chat cannot be reached.
    async fn send_document(
        &self,
        chat: ChatId,
        file_name: &str,
        bytes: Vec<u8>,
        caption: &str,
    ) -> Result<MessageId, NotifyError>;

    /// Replaces the caption and buttons of a message sent with [`Self::send_media`]. Editing to
    /// what is already shown succeeds.
    ///
    /// # Errors
    /// [`NotifyError::MessageGone`], or [`NotifyError::Unknown`].
    async fn edit_caption(&self, chat: ChatId, message: MessageId, screen: &Screen) -> Result<(), NotifyError>;

    /// Replaces a message's text and buttons. Editing to what is already shown succeeds.
    ///
    /// # Errors
    /// [`NotifyError::MessageGone`], or [`NotifyError::Unknown`].
    async fn edit(&self, chat: ChatId, message: MessageId, screen: &Screen) -> Result<(), NotifyError>;

    /// Deletes a message.
    ///
    /// # Errors
    /// [`NotifyError::MessageGone`], or [`NotifyError::Unknown`].
    async fn delete(&self, chat: ChatId, message: MessageId) -> Result<(), NotifyError>;

    /// Answers a button press with a short note (shown as a toast, or as an alert when `alert`).
    ///
    /// # Errors
    /// [`NotifyError::Unknown`] when the chat cannot be reached.
    async fn answer(&self, press: &PressId, note: &str, alert: bool) -> Result<(), NotifyError>;
}

/// Why a file a person sent could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file is larger than the caller's limit (nothing past the limit was read).
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the file could not be fetched")]
    Unknown(#[source] anyhow::Error),
}

/// Files people send to a chat, fetched on demand (Telegram's `getFile` and file download).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ChatFiles: Send + Sync {
    /// The bytes of `file`, at most `limit` of them.
    ///
    /// # Errors
    /// [`FileError::TooLarge`] past `limit`; [`FileError::Unknown`] when it cannot be fetched.
    async fn fetch(&self, file: &SentFile, limit: u64) -> Result<Vec<u8>, FileError>;
}

/// Who administers a chat on the chat platform itself (Telegram's chat administrators).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ChatAdmins: Send + Sync {
    /// The chat's administrators; adapters may cache the answer for a few minutes.
    ///
    /// # Errors
    /// [`NotifyError::Unknown`] when the chat cannot be reached.
    async fn administrators(&self, chat: ChatId) -> Result<Vec<TelegramUserId>, NotifyError>;
}
