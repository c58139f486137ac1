//! A fake Telegram Bot API server on loopback, for end-to-end tests and benchmarks. It speaks the
//! real protocol closely enough that an unmodified teloxide `Bot` works against it once pointed
//! there with `Bot::new(FakeTelegram::TOKEN).set_api_url(telegram.api_url().parse()?)`.
//!
//! Protocol: `POST {api_url}bot{TOKEN}/{Method}` with a JSON or `multipart/form-data` body
//! (teloxide spells method names in PascalCase, `SendMessage`; like Telegram, the fake takes any
//! case and records the documented camelCase, `sendMessage`). Answers are
//! `{"ok":true,"result":…}` or `{"ok":false,"error_code":N,"description":…,"parameters":{…}}`.
//! A wrong token gets 401 `Unauthorized`, an unknown method 404 `Not Found: method not found`, a
//! body that is neither a JSON object nor parseable multipart 400; nothing panics.
//!
//! What it implements:
//! - **getUpdates** like Telegram: `offset` forgets every update with a smaller `update_id` for
//!   good (a negative one keeps only the last `-offset`), `limit` (default 100) caps the batch,
//!   and with nothing pending it long-polls up to `timeout` seconds, answering as soon as a test
//!   pushes an update. Updates are scripted with [`FakeTelegram::push_text`],
//!   [`FakeTelegram::push_channel_post`], [`FakeTelegram::push_press`] and
//!   [`FakeTelegram::push_raw`].
//! - **sendMessage / sendPhoto / sendVideo / sendDocument** store the message (ids count up from 1, shared by
//!   every chat and by the scripted messages) and answer a full `Message`. The text is kept as
//!   sent (HTML is not rendered); [`FakeTelegram::message`] also shows the `parse_mode` used. Only
//!   an inline keyboard comes back as `reply_markup`, as with Telegram. An uploaded file is
//!   recorded by name and size, and a small `.json` or `.txt` one (up to 64 KiB) with its `text`.
//! - **editMessageText / editMessageCaption / editMessageReplyMarkup** change a stored message, with Telegram's errors:
//!   "message to edit not found", "message can't be edited" (not the bot's), "there is no text in
//!   the message to edit" and "message is not modified" (same text and keyboard; an edit without
//!   `reply_markup` removes the keyboard, as with Telegram). **deleteMessage** removes a message
//!   ("message to delete not found" when it is gone).
//! - **getFile** and the download `GET {api_url}file/bot{TOKEN}/{file_path}` serve the files of
//!   [`FakeTelegram::push_document`] ("Bad Request: invalid file_id" for another id).
//! - **answerCallbackQuery** (the id must come from a pushed press), **getMe**,
//!   **getChatAdministrators** (see [`FakeTelegram::set_administrators`]; `[]` for other chats),
//!   **setMyCommands**, **getMyCommands**, **deleteMyCommands**.
//! - **setWebhook / deleteWebhook / getWebhookInfo** and webhook delivery (see `webhook.rs`):
//!   once a webhook is set, pushed updates are POSTed to the server of
//!   [`FakeTelegram::deliver_to`] with the secret token, sent again until answered 2xx (and
//!   twice on purpose with [`FakeTelegram::redeliver_every`]); getUpdates gets Telegram's 409.
//!
//! Recording: every request but getUpdates is recorded with its body, in arrival order, once
//! answered (so a test that sees a call also sees its effect). Multipart bodies become a JSON
//! object of their text fields (numbers and JSON-looking fields parsed, like `chat_id` and
//! `reply_markup`), and uploaded files `{"file_name":…,"size":…}`. Calls failed on purpose with
//! [`FakeTelegram::fail_next`] are recorded like the rest (they did arrive) and also listed by
//! [`FakeTelegram::failed_calls`]. [`FakeTelegram::delay`] makes every call of a method slow.
//!
//! Flood limits: off by default; [`FakeTelegram::enforce_limits`] turns on Telegram's (30
//! requests a second for the bot, 1 new message a second per chat, 20 a minute per group; edits
//! and deletions count against the 30 only), answering one over with 429 and `retry_after`, and
//! [`FakeTelegram::too_many_requests`] counts those answers.

mod commands;
mod inspect;
mod limits;
mod messages;
mod methods;
mod multipart;
mod state;
mod webhook;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use state::State;

/// A person in the fake chats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeUser {
    pub id: i64,
    pub first_name: String,
    pub username: Option<String>,
    pub last_name: Option<String>,
}

impl FakeUser {
    #[must_use]
    pub fn new(id: i64, first_name: &str) -> Self {
        Self { id, first_name: first_name.to_owned(), username: None, last_name: None }
    }

    #[must_use]
    pub fn with_username(mut self, username: &str) -> Self {
        self.username = Some(username.to_owned());
        self
    }

    #[must_use]
    pub fn with_last_name(mut self, last_name: &str) -> Self {
        self.last_name = Some(last_name.to_owned());
        self
    }

    /// The Bot API `User` object.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut user = json!({ "id": self.id, "is_bot": false, "first_name": self.first_name });
        if let Some(username) = &self.username {
            user["username"] = json!(username);
        }
        if let Some(last_name) = &self.last_name {
            user["last_name"] = json!(last_name);
        }
        user
    }
}

/// How [`FakeTelegram::fail_next`] makes a call fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 500, `error_code` 500, "Internal Server Error". Note that teloxide sleeps 10 s
    /// after any 5xx answer before it reports the error.
    ServerError,
    /// HTTP 429 with `parameters.retry_after` (seconds).
    RetryAfter(u32),
    /// HTTP 400 with this description (e.g. "Bad Request: chat not found").
    BadRequest(String),
    /// HTTP 403 with this description (e.g. "Forbidden: bot was blocked by the user").
    Forbidden(String),
    /// HTTP 400 "Bad Request: group chat was upgraded to a supergroup chat" with
    /// `parameters.migrate_to_chat_id`.
    MigrateToChat(i64),
}

/// What the server tasks share with the handles.
struct Shared {
    state: Mutex<State>,
    /// Woken when an update is pushed (long polls).
    pushed: Notify,
    /// Woken after any change: a request arrived or was answered, an update pushed.
    changed: Notify,
}

impl Shared {
    fn read(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the state, then wakes whoever waits for a change.
    fn update<R>(&self, change: impl FnOnce(&mut State) -> R) -> R {
        let result = change(&mut self.read());
        self.changed.notify_waiters();
        result
    }
}

/// Stops the server (and the webhook delivery) when the last handle goes.
struct Server(Vec<JoinHandle<()>>);

impl Drop for Server {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// The fake Bot API. Clones share one server, which serves until the last clone is dropped.
#[derive(Clone)]
pub struct FakeTelegram {
    shared: Arc<Shared>,
    url: String,
    _server: Arc<Server>,
}

impl std::fmt::Debug for FakeTelegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeTelegram").field("url", &self.url).finish_non_exhaustive()
    }
}

impl FakeTelegram {
    /// The token the bot under test must use; others get 401 Unauthorized.
    pub const TOKEN: &'static str = "123456:TEST-TOKEN";
    /// The bot's own user id (the token's number, as with Telegram).
    pub const BOT_ID: i64 = 123_456;
    /// The bot's username, as getMe tells.
    pub const BOT_USERNAME: &'static str = "storyline_test_bot";

    /// Binds 127.0.0.1 on a free port and serves from a spawned task. Must run inside a tokio
    /// runtime.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start() -> anyhow::Result<Self> {
        Self::serve("127.0.0.1:0", None).await
    }

    /// Binds `addr` and serves from a spawned task, delivering webhooks over TLS to servers
    /// whose certificate chains to one of the public roots or to `trusted` (PEM: a local CA,
    /// for a TLS proxy of one's own). Must run inside a tokio runtime.
    ///
    /// # Errors
    /// When `addr` cannot be bound or `trusted` is not a PEM certificate.
    pub async fn serve(addr: &str, trusted: Option<&[u8]>) -> anyhow::Result<Self> {
        let mut client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30));
        if let Some(pem) = trusted {
            client = client.add_root_certificate(reqwest::Certificate::from_pem(pem)?);
        }
        let client = client.build()?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}/", listener.local_addr()?);
        let shared =
            Arc::new(Shared { state: Mutex::new(State::default()), pushed: Notify::new(), changed: Notify::new() });
        let app = methods::router(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("fake Telegram server stopped: {error}");
            }
        });
        let delivery = tokio::spawn(webhook::deliver(shared.clone(), client));
        Ok(Self { shared, url, _server: Arc::new(Server(vec![server, delivery])) })
    }

    /// The base URL for teloxide's `set_api_url`, like `http://127.0.0.1:PORT/`.
    #[must_use]
    pub fn api_url(&self) -> String {
        self.url.clone()
    }

    fn push(&self, make: impl FnOnce(&mut State, i64) -> Value) -> i64 {
        let id = self.shared.update(|state| {
            let id = state.next_update_id();
            let mut update = make(state, id);
            update["update_id"] = json!(id);
            state.pending.push_back(update);
            id
        });
        self.shared.pushed.notify_waiters();
        id
    }

    /// A text message from `from`; a leading `/command` gets a `bot_command` entity. Returns
    /// the update id (the message id is [`Self::last_message_id`]).
    pub fn push_text(&self, chat_id: i64, from: &FakeUser, text: &str) -> i64 {
        self.push(|state, _| json!({ "message": state.incoming(chat_id, Some(from), text) }))
    }

    /// A message from `from` carrying a photo and no text (as when someone answers a prompt with
    /// a picture). Returns the update id.
    pub fn push_photo(&self, chat_id: i64, from: &FakeUser) -> i64 {
        self.push(|state, _| {
            let mut message = state.incoming(chat_id, Some(from), "");
            if let Some(fields) = message.as_object_mut() {
                fields.remove("text");
                fields.insert(
                    "photo".to_owned(),
                    json!([{ "file_id": "photo-1", "file_unique_id": "p1", "width": 90, "height": 160 }]),
                );
            }
            json!({ "message": message })
        })
    }

    /// A file `file_name` with `bytes` sent by `from` as a document (no text). getFile and the
    /// file download serve it. Returns the update id.
    pub fn push_document(&self, chat_id: i64, from: &FakeUser, file_name: &str, bytes: &[u8]) -> i64 {
        self.push(|state, update_id| {
            let file_id = format!("document-{update_id}");
            let path = format!("documents/file_{update_id}.json");
            state.files.insert(file_id.clone(), (path, bytes.to_vec()));
            let mut message = state.incoming(chat_id, Some(from), "");
            if let Some(fields) = message.as_object_mut() {
                fields.remove("text");
                fields.insert(
                    "document".to_owned(),
                    json!({
                        "file_id": file_id, "file_unique_id": format!("u{update_id}"), "file_name": file_name,
                        "mime_type": "application/json", "file_size": bytes.len(),
                    }),
                );
            }
            json!({ "message": message })
        })
    }

    /// How many file downloads (`/file/bot<token>/…`) were served.
    #[must_use]
    pub fn downloads(&self) -> usize {
        self.shared.read().downloads
    }

    /// A post in channel `chat_id` (no `from`); the chat is a channel from then on.
    pub fn push_channel_post(&self, chat_id: i64, text: &str) -> i64 {
        self.push(|state, _| {
            state.channels.insert(chat_id);
            json!({ "channel_post": state.incoming(chat_id, None, text) })
        })
    }

    /// A press by `from` on the button carrying `data` under message `message_id`, which the
    /// bot sent to `chat_id`: the update carries that message as it stands. A message that is
    /// not stored (never sent, or deleted) comes as Telegram's inaccessible message (`date`
    /// 0). Returns the callback query id.
    pub fn push_press(&self, chat_id: i64, from: &FakeUser, message_id: i32, data: &str) -> String {
        let mut query_id = String::new();
        self.push(|state, update_id| {
            query_id = format!("{update_id}0{}", from.id.unsigned_abs());
            state.callback_ids.insert(query_id.clone());
            state.users.insert(from.id, from.clone());
            let message = state.messages.get(&(chat_id, message_id)).map_or_else(
                || json!({ "message_id": message_id, "date": 0, "chat": state.chat_json(chat_id) }),
                |stored| stored.json.clone(),
            );
            json!({ "callback_query": {
                "id": query_id, "from": from.to_json(), "message": message,
                "chat_instance": chat_id.to_string(), "data": data,
            } })
        });
        query_id
    }

    /// Numbers the next pushed updates from `first` on (Telegram's ids go on across restarts:
    /// a stand-in started again must not reuse the ids the bot has already recorded).
    pub fn number_updates_from(&self, first: i64) {
        self.shared.update(|state| state.next_update_id = state.next_update_id.max(first));
    }

    /// Any update, verbatim: the caller sets its `update_id` (later pushes number after it). A
    /// `callback_query.id` in it may then be answered.
    pub fn push_raw(&self, update: Value) {
        self.shared.update(|state| {
            if let Some(id) = update["update_id"].as_i64() {
                state.next_update_id = state.next_update_id.max(id.saturating_add(1));
            }
            if let Some(id) = update["callback_query"]["id"].as_str() {
                state.callback_ids.insert(id.to_owned());
            }
            state.pending.push_back(update);
        });
        self.shared.pushed.notify_waiters();
    }

    /// The id of the last message stored, scripted or sent by the bot.
    #[must_use]
    pub fn last_message_id(&self) -> i32 {
        self.shared.read().last_message_id
    }

    /// getChatAdministrators' answer for `chat_id`: the first is the "creator", the rest
    /// "administrator"s.
    pub fn set_administrators(&self, chat_id: i64, admins: &[FakeUser]) {
        self.shared.update(|state| {
            for admin in admins {
                state.users.insert(admin.id, admin.clone());
            }
            state.admins.insert(chat_id, admins.to_vec());
        });
    }

    /// The next `times` calls of `method` (any case) fail with `failure`, before any other
    /// handling. Adds to failures queued earlier, which come first.
    pub fn fail_next(&self, method: &str, times: usize, failure: Failure) {
        let method = methods::canonical(method);
        self.shared.update(|state| {
            state.failures.entry(method).or_default().extend(std::iter::repeat_n(failure, times));
        });
    }

    /// Every later call of `method` (any case) waits `delay` before it is handled, as a slow
    /// or rate-limited Telegram would; `Duration::ZERO` ends that.
    pub fn delay(&self, method: &str, delay: std::time::Duration) {
        let method = methods::canonical(method);
        self.shared.update(|state| {
            if delay.is_zero() {
                state.delays.remove(&method);
            } else {
                state.delays.insert(method, delay);
            }
        });
    }

    /// Every later call of `method` (any case) is held: never answered and never recorded, as
    /// if Telegram had not got it, until [`FakeTelegram::release`]. For a process killed in the
    /// middle of a call.
    pub fn hold(&self, method: &str) {
        let method = methods::canonical(method);
        self.shared.update(|state| {
            state.holds.entry(method).or_default();
        });
    }

    /// How many calls of `method` are held (since [`FakeTelegram::hold`]).
    #[must_use]
    pub fn held(&self, method: &str) -> usize {
        self.shared.read().holds.get(&methods::canonical(method)).copied().unwrap_or_default()
    }

    /// Later calls of `method` are handled again; those held stay unanswered.
    pub fn release(&self, method: &str) {
        let method = methods::canonical(method);
        self.shared.update(|state| state.holds.remove(&method));
    }

    /// Forgets the failures queued for `method`.
    pub fn clear_failures(&self, method: &str) {
        let method = methods::canonical(method);
        self.shared.update(|state| state.failures.remove(&method));
    }
}

/// The callback data of the first inline button whose label contains `label`, in a message as
/// [`FakeTelegram::message`] shows it.
///
/// # Errors
/// When no such button is there.
pub fn button_data(message: &Value, label: &str) -> anyhow::Result<String> {
    message["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().into_iter().flatten())
        .find(|b| b["text"].as_str().is_some_and(|t| t.contains(label)))
        .and_then(|b| b["callback_data"].as_str())
        .map(ToOwned::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no button {label:?} in {message}"))
}

/// The link of the first inline URL button whose label contains `label`, in a message as
/// [`FakeTelegram::message`] shows it.
///
/// # Errors
/// When no such button is there.
pub fn button_url(message: &Value, label: &str) -> anyhow::Result<String> {
    message["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().into_iter().flatten())
        .find(|b| b["text"].as_str().is_some_and(|t| t.contains(label)))
        .and_then(|b| b["url"].as_str())
        .map(ToOwned::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no link button {label:?} in {message}"))
}
