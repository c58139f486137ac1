//! Screens out to Telegram, and the chat's administrators in. Every message, edit, deletion and
//! story waits for its turn with the notifier's [`Pacer`] right before it goes (a story's file
//! is opened only then); answers to presses and reads are not paced.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use storyline_domain::ChatId;
use storyline_domain::chat::{MessageId, PressId, Screen, SentFile};
use storyline_domain::library::MediaKind;
use storyline_domain::ports::{Attachment, ByteStream, ChatAdmins, ChatFiles, ChatNotifier, FileError, NotifyError};
use storyline_domain::user::TelegramUserId;
use teloxide::net::Download;
use teloxide::payloads::{
    AnswerCallbackQuerySetters, EditMessageCaptionSetters, EditMessageTextSetters, SendDocumentSetters,
    SendMessageSetters, SendPhotoSetters, SendVideoSetters,
};
use teloxide::prelude::Requester;
use teloxide::types::{CallbackQueryId, FileId, InputFile, ParseMode};
use teloxide::{ApiError, RequestError};

use crate::TelegramBot;
use crate::pacer::Pacer;
use crate::render::{html, keyboard};

/// How long the chat's administrator list is trusted before asking Telegram again.
const ADMINS_TTL: Duration = Duration::from_secs(5 * 60);
/// How many times one call waits out Telegram's `retry_after` before giving up.
const RETRIES: usize = 3;

/// Each chat's administrators, and when Telegram said so.
type AdminCache = HashMap<ChatId, (Instant, Vec<TelegramUserId>)>;

/// [`ChatNotifier`] and [`ChatAdmins`] on the Bot API.
#[derive(Clone)]
pub struct TelegramNotifier {
    bot: TelegramBot,
    /// Shared by clones: the whole bot's one budget.
    pacer: Pacer,
    admins: Arc<Mutex<AdminCache>>,
}

impl std::fmt::Debug for TelegramNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The teloxide bot's own Debug shows the token: never print it.
        f.debug_struct("TelegramNotifier").finish_non_exhaustive()
    }
}

impl TelegramNotifier {
    /// A notifier pacing to Telegram's limits ([`crate::pacer::Limits::telegram`]).
    #[must_use]
    pub fn new(bot: TelegramBot) -> Self {
        Self::with_pacer(bot, Pacer::default())
    }

    /// A notifier taking its turns from `pacer` (shared with whatever else holds a clone).
    #[must_use]
    pub fn with_pacer(bot: TelegramBot, pacer: Pacer) -> Self {
        Self { bot, pacer, admins: Arc::new(Mutex::new(HashMap::new())) }
    }
}

/// A source's chunks as the reader teloxide streams a multipart part from.
fn reader(chunks: ByteStream) -> impl tokio::io::AsyncRead + Send + Unpin + 'static {
    tokio_util::io::StreamReader::new(chunks.map(|chunk| chunk.map(bytes::Bytes::from).map_err(std::io::Error::other)))
}

/// Runs `call` again after Telegram's `retry_after`, a few times at most.
async fn with_retry<T, F, Fut>(mut call: F) -> Result<T, RequestError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RequestError>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(RequestError::RetryAfter(wait)) if attempt < RETRIES => {
                attempt += 1;
                tracing::warn!(seconds = wait.seconds(), attempt, "Telegram asked to retry later; waiting");
                tokio::time::sleep(wait.duration()).await;
            }
            other => return other,
        }
    }
}

fn failed(error: RequestError) -> NotifyError {
    match error {
        RequestError::Api(
            ApiError::MessageToEditNotFound
            | ApiError::MessageToDeleteNotFound
            | ApiError::MessageIdInvalid
            | ApiError::MessageCantBeDeleted,
        ) => NotifyError::MessageGone,
        other => NotifyError::Unknown(anyhow::Error::new(other).context("Telegram Bot API")),
    }
}

/// An edit to what is already shown ("message is not modified") counts as done.
fn unchanged_is_fine<T>(edited: Result<T, RequestError>) -> Result<(), NotifyError> {
    match edited {
        Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
        Err(error) => Err(failed(error)),
    }
}

#[async_trait]
impl ChatNotifier for TelegramNotifier {
    async fn send(&self, chat: ChatId, screen: &Screen) -> Result<MessageId, NotifyError> {
        let text = html(screen);
        let markup = keyboard(screen);
        let sent = with_retry(|| {
            let mut request =
                self.bot.send_message(teloxide::types::ChatId(chat.0), text.clone()).parse_mode(ParseMode::Html);
            if let Some(markup) = &markup {
                request = request.reply_markup(markup.clone());
            }
            async move {
                self.pacer.message(chat.0).await;
                request.await
            }
        })
        .await
        .map_err(failed)?;
        Ok(MessageId(sent.id.0))
    }

    async fn send_document(
        &self,
        chat: ChatId,
        file_name: &str,
        bytes: Vec<u8>,
        caption: &str,
    ) -> Result<MessageId, NotifyError> {
        // A few kilobytes made here: a new message, paced like one.
        let sent = with_retry(|| {
            let file = InputFile::memory(bytes.clone()).file_name(file_name.to_owned());
            let request = self.bot.send_document(teloxide::types::ChatId(chat.0), file).caption(caption.to_owned());
            async move {
                self.pacer.message(chat.0).await;
                request.await
            }
        })
        .await
        .map_err(failed)?;
        Ok(MessageId(sent.id.0))
    }

    async fn send_media(&self, chat: ChatId, media: &Attachment, screen: &Screen) -> Result<MessageId, NotifyError> {
        let caption = html(screen);
        let markup = keyboard(screen);
        let to = teloxide::types::ChatId(chat.0);
        // Not through teloxide's `Throttle` adaptor: it retried a flood-limited request by
        // sending a shared copy of it, and teloxide reads a shared file whole into memory first
        // (a 100 MB video raised the RSS by 94 MB). Paced here, and a `retry_after` is waited
        // out below.
        let bot = &self.bot;
        let mut attempt = 0;
        loop {
            // Its turn first, then the file: nothing is opened (or buffered) while it waits.
            self.pacer.message(chat.0).await;
            // Streamed: the file goes out as the source gives it, never whole in memory.
            let file = InputFile::read(reader(media.body().await.map_err(NotifyError::Media)?))
                .file_name(media.file_name.clone());
            let sent = match media.kind {
                MediaKind::Image => {
                    let mut request = bot.send_photo(to, file).caption(caption.clone()).parse_mode(ParseMode::Html);
                    if let Some(markup) = &markup {
                        request = request.reply_markup(markup.clone());
                    }
                    request.await
                }
                MediaKind::Video => {
                    let mut request = bot.send_video(to, file).caption(caption.clone()).parse_mode(ParseMode::Html);
                    if let Some(markup) = &markup {
                        request = request.reply_markup(markup.clone());
                    }
                    request.await
                }
            };
            match sent {
                Err(RequestError::RetryAfter(wait)) if attempt < RETRIES => {
                    attempt += 1;
                    tracing::warn!(seconds = wait.seconds(), attempt, "Telegram asked to retry later; waiting");
                    tokio::time::sleep(wait.duration()).await;
                }
                other => return other.map(|sent| MessageId(sent.id.0)).map_err(failed),
            }
        }
    }

    async fn edit_caption(&self, chat: ChatId, message: MessageId, screen: &Screen) -> Result<(), NotifyError> {
        let caption = html(screen);
        let markup = keyboard(screen);
        let edited = with_retry(|| {
            let mut request = self
                .bot
                .edit_message_caption(teloxide::types::ChatId(chat.0), teloxide::types::MessageId(message.0))
                .caption(caption.clone())
                .parse_mode(ParseMode::Html);
            if let Some(markup) = &markup {
                request = request.reply_markup(markup.clone());
            }
            std::future::IntoFuture::into_future(request)
        })
        .await;
        unchanged_is_fine(edited)
    }

    async fn edit(&self, chat: ChatId, message: MessageId, screen: &Screen) -> Result<(), NotifyError> {
        let text = html(screen);
        let markup = keyboard(screen);
        let edited = with_retry(|| {
            let mut request = self
                .bot
                .edit_message_text(teloxide::types::ChatId(chat.0), teloxide::types::MessageId(message.0), text.clone())
                .parse_mode(ParseMode::Html);
            if let Some(markup) = &markup {
                request = request.reply_markup(markup.clone());
            }
            std::future::IntoFuture::into_future(request)
        })
        .await;
        unchanged_is_fine(edited)
    }

    async fn delete(&self, chat: ChatId, message: MessageId) -> Result<(), NotifyError> {
        with_retry(|| {
            let request =
                self.bot.delete_message(teloxide::types::ChatId(chat.0), teloxide::types::MessageId(message.0));
            std::future::IntoFuture::into_future(request)
        })
        .await
        .map(|_| ())
        .map_err(failed)
    }

    async fn answer(&self, press: &PressId, note: &str, alert: bool) -> Result<(), NotifyError> {
        with_retry(|| {
            let mut request = self.bot.answer_callback_query(CallbackQueryId(press.0.clone()));
            if !note.is_empty() {
                request = request.text(note.to_owned()).show_alert(alert);
            }
            async move { request.await }
        })
        .await
        .map(|_| ())
        .map_err(failed)
    }
}

#[async_trait]
impl ChatFiles for TelegramNotifier {
    async fn fetch(&self, file: &SentFile, limit: u64) -> Result<Vec<u8>, FileError> {
        let unknown = |error: anyhow::Error| FileError::Unknown(error.context("Telegram Bot API"));
        // Reads are not paced (only new messages are).
        let found = with_retry(|| self.bot.get_file(FileId(file.id.clone())).into_future())
            .await
            .map_err(|error| unknown(anyhow::Error::new(error)))?;
        if u64::from(found.meta.size) > limit {
            return Err(FileError::TooLarge { limit });
        }
        // teloxide takes the token out of a download error's URL.
        let mut chunks = self.bot.download_file_stream(&found.path);
        let mut bytes = Vec::new();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|error| unknown(anyhow::Error::new(error).context("downloading a file")))?;
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(FileError::TooLarge { limit });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

#[async_trait]
impl ChatAdmins for TelegramNotifier {
    async fn administrators(&self, chat: ChatId) -> Result<Vec<TelegramUserId>, NotifyError> {
        let cached = self.admins.lock().unwrap_or_else(PoisonError::into_inner).get(&chat).cloned();
        if let Some((at, admins)) = cached
            && at.elapsed() < ADMINS_TTL
        {
            return Ok(admins);
        }
        let members = with_retry(|| self.bot.get_chat_administrators(teloxide::types::ChatId(chat.0)).into_future())
            .await
            .map_err(failed)?;
        let admins: Vec<TelegramUserId> =
            members.iter().map(|m| TelegramUserId(i64::try_from(m.user.id.0).unwrap_or(i64::MAX))).collect();
        self.admins.lock().unwrap_or_else(PoisonError::into_inner).insert(chat, (Instant::now(), admins.clone()));
        Ok(admins)
    }
}
