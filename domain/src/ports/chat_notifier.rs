use async_trait::async_trait;

use crate::ChatId;
use crate::chat::{Attachment, MessageId, PressId, Screen};
use crate::user::TelegramUserId;

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
