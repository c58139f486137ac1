//! A fake Telegram Bot API on loopback that speaks the real protocol closely enough for teloxide
//! (`Bot::set_api_url`): `POST /bot<token>/<Method>` (any case) with a JSON body, answered with
//! `{"ok":true,"result":…}` or `{"ok":false,"error_code":…,"description":…,"parameters":…}`.
//!
//! - getUpdates serves scripted updates like Telegram: an `offset` confirms (forgets) every
//!   earlier update; with nothing pending it long-polls up to `timeout` seconds, waking as soon
//!   as a test pushes an update.
//! - sendMessage / sendPhoto / sendVideo store the message; editMessageText and
//!   editMessageReplyMarkup change it (and fail with Telegram's "message is not modified" when
//!   nothing would change, "message to edit not found" when it is gone); deleteMessage removes
//!   it; answerCallbackQuery, getChatAdministrators, getMe answer.
//! - Every call but getUpdates is recorded with its body, in order. `fail_next` makes the next
//!   calls of a method fail (a failed getUpdates confirms nothing, as with Telegram).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// A person in the fake chat.
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

    fn json(&self) -> Value {
        let mut user = json!({ "id": self.id, "is_bot": false, "first_name": self.first_name });
        if let Some(username) = &self.username {
            user["username"] = json!(username);
        }
        if let Some(last) = &self.last_name {
            user["last_name"] = json!(last);
        }
        user
    }
}

/// How a call fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 500, `error_code` 500.
    ServerError,
    /// HTTP 429 with `parameters.retry_after`.
    RetryAfter(u32),
    /// HTTP 400 with this description.
    BadRequest(String),
}

#[derive(Default)]
struct Inner {
    updates: Vec<Value>,
    next_update: i64,
    next_message: i32,
    calls: Vec<(String, Value)>,
    counts: HashMap<String, usize>,
    messages: HashMap<(i64, i32), Value>,
    sent: Vec<(i64, i32)>,
    admins: HashMap<i64, Vec<FakeUser>>,
    failures: HashMap<String, (usize, Failure)>,
    get_updates_calls: usize,
    last_offset: Option<i64>,
}

struct Shared {
    inner: Mutex<Inner>,
    pushed: Notify,
    called: Notify,
}

/// The fake server; clones share it.
#[derive(Clone)]
pub struct FakeTelegram {
    shared: Arc<Shared>,
    url: String,
}

impl std::fmt::Debug for FakeTelegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeTelegram").field("url", &self.url).finish_non_exhaustive()
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn chat_json(chat_id: i64) -> Value {
    if chat_id < 0 {
        json!({ "id": chat_id, "type": "supergroup", "title": "The Team" })
    } else {
        json!({ "id": chat_id, "type": "private", "first_name": "Private" })
    }
}

fn bot_user() -> Value {
    json!({ "id": 999_999, "is_bot": true, "first_name": "Storyline", "username": "storyline_test_bot" })
}

fn ok(result: Value) -> Response {
    (StatusCode::OK, axum::Json(json!({ "ok": true, "result": result }))).into_response()
}

fn error(status: StatusCode, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({ "ok": false, "error_code": status.as_u16(), "description": description });
    if let Some(parameters) = parameters {
        body["parameters"] = parameters;
    }
    (status, axum::Json(body)).into_response()
}

impl FakeTelegram {
    /// The token tests give the bot.
    pub const TOKEN: &'static str = "123456:TEST-TOKEN";

    /// Starts serving on 127.0.0.1 on a free port.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/", listener.local_addr()?);
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner { next_update: 1, ..Inner::default() }),
            pushed: Notify::new(),
            called: Notify::new(),
        });
        let app = Router::new().route("/{token}/{method}", post(handle)).with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { shared, url })
    }

    /// The base URL for teloxide's `set_api_url` (`TELEGRAM_API_URL`).
    #[must_use]
    pub fn api_url(&self) -> String {
        self.url.clone()
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, make: impl FnOnce(&mut Inner, i64) -> Value) -> i64 {
        let id = {
            let mut inner = self.inner();
            let id = inner.next_update;
            inner.next_update += 1;
            let mut update = make(&mut inner, id);
            update["update_id"] = json!(id);
            inner.updates.push(update);
            id
        };
        self.shared.pushed.notify_waiters();
        id
    }

    fn message_json(inner: &mut Inner, chat_id: i64, from: Option<&FakeUser>) -> Value {
        inner.next_message += 1;
        let mut message = json!({ "message_id": inner.next_message, "date": now(), "chat": chat_json(chat_id) });
        if let Some(from) = from {
            message["from"] = from.json();
        }
        message
    }

    /// A text message from `from`; a leading `/word` is marked as a bot command. Returns the
    /// update id.
    pub fn push_text(&self, chat_id: i64, from: &FakeUser, text: &str) -> i64 {
        self.push(|inner, _| {
            let mut message = Self::message_json(inner, chat_id, Some(from));
            message["text"] = json!(text);
            if text.starts_with('/') {
                let length = text.split_whitespace().next().map_or(0, |w| w.encode_utf16().count());
                message["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": length }]);
            }
            json!({ "message": message })
        })
    }

    /// A photo without a caption: a message with no text.
    pub fn push_photo(&self, chat_id: i64, from: &FakeUser) -> i64 {
        self.push(|inner, _| {
            let mut message = Self::message_json(inner, chat_id, Some(from));
            message["photo"] = json!([{ "file_id": "photo", "file_unique_id": "photo-u", "width": 90, "height": 160 }]);
            json!({ "message": message })
        })
    }

    /// A channel post (no `from`).
    pub fn push_channel_post(&self, chat_id: i64, text: &str) -> i64 {
        self.push(|inner, _| {
            let mut message = Self::message_json(inner, chat_id, None);
            message["chat"] = json!({ "id": chat_id, "type": "channel", "title": "The Channel" });
            message["text"] = json!(text);
            if text.starts_with('/') {
                let length = text.split_whitespace().next().map_or(0, |w| w.encode_utf16().count());
                message["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": length }]);
            }
            json!({ "channel_post": message })
        })
    }

    /// A press on a button of message `message_id` carrying `data`. Returns the callback query
    /// id.
    pub fn push_press(&self, chat_id: i64, from: &FakeUser, message_id: i32, data: &str) -> String {
        let mut query_id = String::new();
        self.push(|inner, update_id| {
            query_id = format!("cq-{update_id}");
            let message = inner.messages.get(&(chat_id, message_id)).cloned().unwrap_or_else(
                || json!({ "message_id": message_id, "date": now(), "chat": chat_json(chat_id), "text": "" }),
            );
            json!({ "callback_query": {
                "id": query_id, "from": from.json(), "chat_instance": "fake", "data": data, "message": message,
            } })
        });
        query_id
    }

    /// An update as given (its `update_id` is replaced by the next one).
    pub fn push_raw(&self, update: Value) -> i64 {
        self.push(|_, _| update)
    }

    /// The request bodies of every call of `method`, in order.
    #[must_use]
    pub fn calls(&self, method: &str) -> Vec<Value> {
        self.inner().calls.iter().filter(|(m, _)| m == method).map(|(_, body)| body.clone()).collect()
    }

    /// How many times `method` was called (cheap: for load tests).
    #[must_use]
    pub fn count(&self, method: &str) -> usize {
        self.inner().counts.get(method).copied().unwrap_or_default()
    }

    /// Waits until `method` was called at least `count` times, without copying the calls.
    ///
    /// # Errors
    /// When `timeout` passes first.
    pub async fn wait_for_count(&self, method: &str, count: usize, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let called = self.shared.called.notified();
            if self.count(method) >= count {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, called).await.is_err() {
                anyhow::bail!("waited for {count} × {method}, saw {}", self.count(method));
            }
        }
    }

    /// Every call but getUpdates, in order.
    #[must_use]
    pub fn all_calls(&self) -> Vec<(String, Value)> {
        self.inner().calls.clone()
    }

    /// Waits until `method` was called at least `count` times; returns those calls.
    ///
    /// # Errors
    /// When `timeout` passes first, saying what was called.
    pub async fn wait_for(&self, method: &str, count: usize, timeout: Duration) -> anyhow::Result<Vec<Value>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let called = self.shared.called.notified();
            let calls = self.calls(method);
            if calls.len() >= count {
                return Ok(calls);
            }
            if tokio::time::timeout_at(deadline, called).await.is_err() {
                let seen: Vec<String> = self.all_calls().into_iter().map(|(m, body)| format!("{m} {body}")).collect();
                anyhow::bail!("waited for {count} × {method}, saw {}: {seen:#?}", calls.len());
            }
        }
    }

    /// A message the bot sent, as it stands after edits; `None` once deleted.
    #[must_use]
    pub fn message(&self, chat_id: i64, message_id: i32) -> Option<Value> {
        self.inner().messages.get(&(chat_id, message_id)).cloned()
    }

    /// The ids of the messages the bot sent to `chat_id`, in order.
    #[must_use]
    pub fn sent_message_ids(&self, chat_id: i64) -> Vec<i32> {
        self.inner().sent.iter().filter(|(chat, _)| *chat == chat_id).map(|(_, id)| *id).collect()
    }

    #[must_use]
    pub fn get_updates_calls(&self) -> usize {
        self.inner().get_updates_calls
    }

    #[must_use]
    pub fn last_offset(&self) -> Option<i64> {
        self.inner().last_offset
    }

    /// getChatAdministrators' answer for `chat_id`: the first is the creator.
    pub fn set_administrators(&self, chat_id: i64, admins: &[FakeUser]) {
        self.inner().admins.insert(chat_id, admins.to_vec());
    }

    /// The next `times` calls of `method` fail with `failure` (0 clears).
    pub fn fail_next(&self, method: &str, times: usize, failure: Failure) {
        self.inner().failures.insert(method.to_owned(), (times, failure));
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((token, method)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if token != format!("bot{}", FakeTelegram::TOKEN) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", None);
    }
    // Telegram takes method names in any case (teloxide sends `SendMessage`): record them as the
    // documentation spells them.
    let mut chars = method.chars();
    let method: String = chars.next().map(|c| c.to_ascii_lowercase()).into_iter().chain(chars).collect();
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body).unwrap_or(json!({ "unparsed": body.len() }))
    };
    let failure = {
        let mut inner = shared.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if method == "getUpdates" {
            inner.get_updates_calls += 1;
        }
        match inner.failures.get_mut(&method) {
            Some((times, failure)) if *times > 0 => {
                *times -= 1;
                Some(failure.clone())
            }
            _ => None,
        }
    };
    // Arrival counts too (a long poll may not answer for seconds).
    shared.called.notify_waiters();
    let response = match failure {
        Some(failure) => failed(failure),
        None => respond(&shared, &method, &body).await,
    };
    // Recorded once answered, so a test that sees the call also sees its effect.
    if method != "getUpdates" {
        let mut inner = shared.inner.lock().unwrap_or_else(PoisonError::into_inner);
        *inner.counts.entry(method.clone()).or_default() += 1;
        inner.calls.push((method, body));
    }
    shared.called.notify_waiters();
    response
}

fn failed(failure: Failure) -> Response {
    match failure {
        Failure::ServerError => error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", None),
        Failure::RetryAfter(seconds) => error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too Many Requests: retry after {seconds}"),
            Some(json!({ "retry_after": seconds })),
        ),
        Failure::BadRequest(description) => error(StatusCode::BAD_REQUEST, &description, None),
    }
}

async fn respond(shared: &Shared, method: &str, body: &Value) -> Response {
    match method {
        "getUpdates" => get_updates(shared, body).await,
        "getMe" => ok(json!({
            "id": 999_999, "is_bot": true, "first_name": "Storyline", "username": "storyline_test_bot",
            "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
            "can_connect_to_business": false, "has_main_web_app": false,
        })),
        "sendMessage" | "sendPhoto" | "sendVideo" => send(shared, method, body),
        "editMessageText" | "editMessageReplyMarkup" => edit(shared, method, body),
        "deleteMessage" => {
            let key = (body["chat_id"].as_i64().unwrap_or_default(), message_id(body));
            let removed = shared.inner.lock().unwrap_or_else(PoisonError::into_inner).messages.remove(&key);
            match removed {
                Some(_) => ok(json!(true)),
                None => error(StatusCode::BAD_REQUEST, "Bad Request: message to delete not found", None),
            }
        }
        "answerCallbackQuery" => ok(json!(true)),
        "getChatAdministrators" => administrators(shared, body),
        _ => error(StatusCode::NOT_FOUND, "Not Found: method not found", None),
    }
}

fn administrators(shared: &Shared, body: &Value) -> Response {
    let chat = body["chat_id"].as_i64().unwrap_or_default();
    let admins =
        shared.inner.lock().unwrap_or_else(PoisonError::into_inner).admins.get(&chat).cloned().unwrap_or_default();
    let members: Vec<Value> = admins
        .iter()
        .enumerate()
        .map(|(i, user)| {
            if i == 0 {
                json!({ "status": "creator", "user": user.json(), "is_anonymous": false })
            } else {
                json!({
                    "status": "administrator", "user": user.json(), "can_be_edited": false, "is_anonymous": false,
                    "can_manage_chat": true, "can_delete_messages": true, "can_manage_video_chats": true,
                    "can_restrict_members": true, "can_promote_members": false, "can_change_info": true,
                    "can_invite_users": true, "can_post_stories": false, "can_edit_stories": false,
                    "can_delete_stories": false, "can_pin_messages": true, "can_manage_topics": false,
                })
            }
        })
        .collect();
    ok(json!(members))
}

fn message_id(body: &Value) -> i32 {
    body["message_id"].as_i64().and_then(|id| i32::try_from(id).ok()).unwrap_or_default()
}

async fn get_updates(shared: &Shared, body: &Value) -> Response {
    let offset = body["offset"].as_i64();
    let limit = body["limit"].as_u64().and_then(|l| usize::try_from(l).ok()).unwrap_or(100);
    let timeout = Duration::from_secs(body["timeout"].as_u64().unwrap_or(0));
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let pushed = shared.pushed.notified();
        let pending: Vec<Value> = {
            let mut inner = shared.inner.lock().unwrap_or_else(PoisonError::into_inner);
            inner.last_offset = offset;
            if let Some(offset) = offset {
                inner.updates.retain(|u| u["update_id"].as_i64().is_some_and(|id| id >= offset));
            }
            inner.updates.iter().take(limit).cloned().collect()
        };
        if !pending.is_empty() || tokio::time::timeout_at(deadline, pushed).await.is_err() {
            return ok(json!(pending));
        }
    }
}

fn send(shared: &Shared, method: &str, body: &Value) -> Response {
    let Some(chat_id) = body["chat_id"].as_i64() else {
        return error(StatusCode::BAD_REQUEST, "Bad Request: chat_id is empty", None);
    };
    let mut inner = shared.inner.lock().unwrap_or_else(PoisonError::into_inner);
    inner.next_message += 1;
    let id = inner.next_message;
    let mut message = json!({ "message_id": id, "date": now(), "chat": chat_json(chat_id), "from": bot_user() });
    match method {
        "sendPhoto" => {
            message["photo"] = json!([{ "file_id": format!("photo-{id}"), "file_unique_id": format!("u-{id}"), "width": 1080, "height": 1920 }]);
        }
        "sendVideo" => {
            message["video"] = json!({ "file_id": format!("video-{id}"), "file_unique_id": format!("u-{id}"), "width": 1080, "height": 1920, "duration": 5 });
        }
        _ => message["text"] = body["text"].clone(),
    }
    if !body["caption"].is_null() {
        message["caption"] = body["caption"].clone();
    }
    if !body["reply_markup"].is_null() {
        message["reply_markup"] = body["reply_markup"].clone();
    }
    inner.messages.insert((chat_id, id), message.clone());
    inner.sent.push((chat_id, id));
    ok(message)
}

fn edit(shared: &Shared, method: &str, body: &Value) -> Response {
    let key = (body["chat_id"].as_i64().unwrap_or_default(), message_id(body));
    let mut inner = shared.inner.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(message) = inner.messages.get_mut(&key) else {
        return error(StatusCode::BAD_REQUEST, "Bad Request: message to edit not found", None);
    };
    let text = if method == "editMessageText" { body["text"].clone() } else { message["text"].clone() };
    if message["text"] == text && message["reply_markup"] == body["reply_markup"] {
        return error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
            None,
        );
    }
    message["text"] = text;
    message["reply_markup"] = body["reply_markup"].clone();
    message["edit_date"] = json!(now());
    ok(message.clone())
}

/// Waits until `check` holds, re-checking after each recorded call, up to `timeout`.
///
/// # Errors
/// When `timeout` passes first.
pub async fn eventually(telegram: &FakeTelegram, timeout: Duration, check: impl Fn() -> bool) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let called = telegram.shared.called.notified();
        if check() {
            return Ok(());
        }
        tokio::time::timeout_at(deadline, called).await.context("the condition never held")?;
    }
}
