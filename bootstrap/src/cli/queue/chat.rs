//! Where the queue commands send stories: Telegram when it is configured, else this terminal
//! (without buttons), remembering what was sent so the command can say how to resolve it.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use storyline_domain::ChatId;
use storyline_domain::chat::{ButtonTarget, MessageId, PressId, Screen};
use storyline_domain::ports::{Attachment, ChatNotifier, NotifyError};

use crate::config::Config;

/// A story the command sent: where, and which item.
#[derive(Debug, Clone)]
pub(super) struct SentStory {
    pub(super) chat: ChatId,
    /// The callback data of its buttons, which name its queue item.
    pub(super) buttons: Vec<String>,
}

/// Passes every call on to the chat and remembers the stories sent, so the command can say where
/// each went and how to resolve it.
pub(super) struct Recording {
    inner: Arc<dyn ChatNotifier>,
    sent: Mutex<Vec<SentStory>>,
}

impl Recording {
    pub(super) fn new(inner: Arc<dyn ChatNotifier>) -> Self {
        Self { inner, sent: Mutex::new(Vec::new()) }
    }

    /// The stories sent so far, in order; forgets them.
    pub(super) fn take(&self) -> Vec<SentStory> {
        std::mem::take(&mut *self.sent.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[async_trait]
impl ChatNotifier for Recording {
    async fn send(&self, chat: ChatId, screen: &Screen) -> Result<MessageId, NotifyError> {
        self.inner.send(chat, screen).await
    }

    async fn send_media(&self, chat: ChatId, media: &Attachment, screen: &Screen) -> Result<MessageId, NotifyError> {
        let message = self.inner.send_media(chat, media, screen).await?;
        let buttons = screen
            .buttons()
            .filter_map(|b| match &b.target {
                ButtonTarget::Press(data) => Some(data.clone()),
                ButtonTarget::Link(_) => None,
            })
            .collect();
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).push(SentStory { chat, buttons });
        Ok(message)
    }

    async fn send_document(
        &self,
        chat: ChatId,
        file_name: &str,
        bytes: Vec<u8>,
        caption: &str,
    ) -> Result<MessageId, NotifyError> {
        self.inner.send_document(chat, file_name, bytes, caption).await
    }

    async fn edit_caption(&self, chat: ChatId, message: MessageId, screen: &Screen) -> Result<(), NotifyError> {
        self.inner.edit_caption(chat, message, screen).await
    }

    async fn edit(&self, chat: ChatId, message: MessageId, screen: &Screen) -> Result<(), NotifyError> {
        self.inner.edit(chat, message, screen).await
    }

    async fn delete(&self, chat: ChatId, message: MessageId) -> Result<(), NotifyError> {
        self.inner.delete(chat, message).await
    }

    async fn answer(&self, press: &PressId, note: &str, alert: bool) -> Result<(), NotifyError> {
        self.inner.answer(press, note, alert).await
    }
}

/// Without Telegram, a story is shown here: the file and its caption, no buttons (nothing here
/// could press them; `storyline resolve` does what they do). Its message id is 0, which no
/// Telegram message has.
struct Terminal;

#[async_trait]
impl ChatNotifier for Terminal {
    async fn send(&self, _chat: ChatId, screen: &Screen) -> Result<MessageId, NotifyError> {
        let mut out = std::io::stdout();
        writeln!(out, "{}", screen.text.to_plain()).map_err(terminal)?;
        Ok(MessageId(0))
    }

    async fn send_media(&self, chat: ChatId, media: &Attachment, screen: &Screen) -> Result<MessageId, NotifyError> {
        writeln!(std::io::stdout(), "── {} {} ──", media.kind, media.location).map_err(terminal)?;
        self.send(chat, screen).await
    }

    async fn send_document(
        &self,
        _chat: ChatId,
        file_name: &str,
        bytes: Vec<u8>,
        caption: &str,
    ) -> Result<MessageId, NotifyError> {
        let mut out = std::io::stdout();
        writeln!(out, "── file {file_name}: {caption} ──").map_err(terminal)?;
        writeln!(out, "{}", String::from_utf8_lossy(&bytes)).map_err(terminal)?;
        Ok(MessageId(0))
    }

    async fn edit_caption(&self, _chat: ChatId, _message: MessageId, _screen: &Screen) -> Result<(), NotifyError> {
        Err(NotifyError::MessageGone)
    }

    async fn edit(&self, _chat: ChatId, _message: MessageId, _screen: &Screen) -> Result<(), NotifyError> {
        Err(NotifyError::MessageGone)
    }

    async fn delete(&self, _chat: ChatId, _message: MessageId) -> Result<(), NotifyError> {
        Err(NotifyError::MessageGone)
    }

    async fn answer(&self, _press: &PressId, _note: &str, _alert: bool) -> Result<(), NotifyError> {
        Ok(())
    }
}

fn terminal(error: std::io::Error) -> NotifyError {
    NotifyError::Unknown(anyhow::Error::new(error).context("the terminal"))
}

/// The chat stories go to: Telegram when it is configured, else this terminal.
pub(super) fn chat(config: &Config) -> anyhow::Result<(Arc<dyn ChatNotifier>, bool)> {
    Ok(match config.telegram() {
        Ok(telegram) => (
            Arc::new(storyline_telegram::TelegramNotifier::new(storyline_telegram::connect(
                &telegram.token,
                telegram.api_url.as_deref(),
            )?)),
            true,
        ),
        Err(_) => (Arc::new(Terminal), false),
    })
}
