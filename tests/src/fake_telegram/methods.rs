//! The HTTP side: routing, request bodies, the Bot API answer envelope, and the methods that
//! are not about messages.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::messages::{self, Edit};
use super::state::bot_user;
use super::{Failure, FakeTelegram, Shared, commands, multipart, webhook};

/// Every method the fake answers, as the Bot API documentation spells it.
const METHODS: &[&str] = &[
    "getUpdates",
    "getMe",
    "sendMessage",
    "sendPhoto",
    "sendVideo",
    "sendDocument",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "getChatAdministrators",
    "getWebhookInfo",
    "setWebhook",
    "deleteWebhook",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
];

/// Uploads (sendVideo) may be large; axum's default limit is 2 MB. Telegram's cloud API takes
/// 50 MB uploads, a self-hosted Bot API server 2,000 MB: the fake takes Instagram's largest
/// story video (100 MiB) with its form around it.
const BODY_LIMIT: usize = 110 * 1024 * 1024;

/// The longest long poll honoured, so no arithmetic overflows on absurd timeouts.
const MAX_POLL: Duration = Duration::from_secs(3600);

/// A method name as documented (`SendMessage`, `sendmessage` → `sendMessage`); unknown names
/// get a lower-case first letter.
pub(super) fn canonical(method: &str) -> String {
    if let Some(known) = METHODS.iter().find(|known| known.eq_ignore_ascii_case(method)) {
        return (*known).to_owned();
    }
    let mut chars = method.chars();
    chars.next().map(|first| first.to_ascii_lowercase()).into_iter().chain(chars).collect()
}

/// An `ok:false` answer.
#[derive(Debug)]
pub(super) struct Refusal {
    status: StatusCode,
    description: String,
    parameters: Option<Value>,
}

impl Refusal {
    fn new(status: StatusCode, description: &str) -> Self {
        Self { status, description: description.to_owned(), parameters: None }
    }

    pub(super) fn bad_request(description: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, description)
    }

    pub(super) fn conflict(description: &str) -> Self {
        Self::new(StatusCode::CONFLICT, description)
    }
}

impl From<&Failure> for Refusal {
    fn from(failure: &Failure) -> Self {
        match failure {
            Failure::ServerError => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
            Failure::RetryAfter(seconds) => Self {
                parameters: Some(json!({ "retry_after": seconds })),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, &format!("Too Many Requests: retry after {seconds}"))
            },
            Failure::BadRequest(description) => Self::bad_request(description),
            Failure::Forbidden(description) => Self::new(StatusCode::FORBIDDEN, description),
            Failure::MigrateToChat(chat_id) => Self {
                parameters: Some(json!({ "migrate_to_chat_id": chat_id })),
                ..Self::bad_request("Bad Request: group chat was upgraded to a supergroup chat")
            },
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut body = json!({ "ok": false, "error_code": self.status.as_u16(), "description": self.description });
        if let Some(parameters) = self.parameters {
            body["parameters"] = parameters;
        }
        (self.status, axum::Json(body)).into_response()
    }
}

/// What a method answers: its `result`, or a refusal.
pub(super) type Answer = Result<Value, Refusal>;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{token}/{method}", post(handle))
        .route("/file/{token}/{*path}", axum::routing::get(download))
        .fallback(|| async { Refusal::new(StatusCode::NOT_FOUND, "Not Found") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(Path((token, method))) = path else {
        return Refusal::new(StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    if token.strip_prefix("bot") != Some(FakeTelegram::TOKEN) {
        return Refusal::new(StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    let method = canonical(&method);
    let (params, malformed) = match parse_body(&headers, &body) {
        Ok(params) => (params, None),
        Err(refusal) => (json!({ "malformed_body_bytes": body.len() }), Some(refusal)),
    };
    let held = shared.update(|state| state.holds.get_mut(&method).map(|held| *held += 1).is_some());
    if held {
        return std::future::pending().await;
    }
    let delay = shared.read().delays.get(&method).copied();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let failure = shared.update(|state| {
        if method == "getUpdates" {
            // Counted on arrival: a long poll may not answer for seconds.
            state.get_updates_calls += 1;
            state.last_offset = int(&params, "offset");
            state.record(&method, &params);
        }
        let failure = state.failures.get_mut(&method).and_then(VecDeque::pop_front);
        if let Some(failure) = &failure {
            state.failed.push((method.clone(), params.clone(), failure.clone()));
            return Some(failure.clone());
        }
        let over = match &mut state.limits {
            Some(limits) if malformed.is_none() => limits.admit(&method, &params, Instant::now()).err(),
            _ => None,
        };
        // Telegram's retry_after is in whole seconds, at least one.
        over.map(|wait| {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            Failure::RetryAfter(u32::try_from(seconds.max(1)).unwrap_or(u32::MAX))
        })
    });
    let answer = match (failure, malformed) {
        (Some(failure), _) => Err(Refusal::from(&failure)),
        (None, Some(refusal)) => Err(refusal),
        (None, None) => dispatch(&shared, &method, &params).await,
    };
    if method != "getUpdates" {
        // Recorded once answered, so a test that sees the call also sees its effect.
        shared.update(|state| state.record(&method, &params));
    }
    match answer {
        Ok(result) => axum::Json(json!({ "ok": true, "result": result })).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// A file of a pushed document, by its `file_path`.
async fn download(State(shared): State<Arc<Shared>>, Path((token, path)): Path<(String, String)>) -> Response {
    if token.strip_prefix("bot") != Some(FakeTelegram::TOKEN) {
        return Refusal::new(StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    let found = shared.update(|state| {
        let found = state.files.values().find(|(stored, _)| *stored == path).map(|(_, bytes)| bytes.clone());
        state.downloads += usize::from(found.is_some());
        found
    });
    match found {
        Some(bytes) => bytes.into_response(),
        None => Refusal::new(StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}

/// getFile: the `file_path` of a pushed document.
fn get_file(shared: &Shared, params: &Value) -> Answer {
    let id = params["file_id"].as_str().unwrap_or_default();
    let state = shared.read();
    let (path, bytes) = state.files.get(id).ok_or_else(|| Refusal::bad_request("Bad Request: invalid file_id"))?;
    Ok(json!({
        "file_id": id, "file_unique_id": format!("u-{id}"), "file_size": bytes.len(), "file_path": path,
    }))
}

/// The parameters: a JSON object, multipart text fields, or `{}` for an empty body.
fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, Refusal> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    if content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
        return multipart::parse(content_type, body)
            .map(Value::Object)
            .ok_or_else(|| Refusal::bad_request("Bad Request: can't parse multipart/form-data body"));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    match serde_json::from_slice(body) {
        Ok(params @ Value::Object(_)) => Ok(params),
        _ => Err(Refusal::bad_request("Bad Request: can't parse JSON object from the request body")),
    }
}

/// An integer parameter, given as a number or a string of digits.
pub(super) fn int(params: &Value, key: &str) -> Option<i64> {
    match &params[key] {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn chat_id(params: &Value) -> Result<i64, Refusal> {
    match (&params["chat_id"], int(params, "chat_id")) {
        (_, Some(id)) => Ok(id),
        (Value::Null, None) => Err(Refusal::bad_request("Bad Request: chat_id is empty")),
        (_, None) => Err(Refusal::bad_request("Bad Request: chat not found")),
    }
}

pub(super) fn message_id(params: &Value) -> Result<i32, Refusal> {
    int(params, "message_id")
        .and_then(|id| i32::try_from(id).ok())
        .ok_or_else(|| Refusal::bad_request("Bad Request: message identifier is not specified"))
}

async fn dispatch(shared: &Shared, method: &str, params: &Value) -> Answer {
    match method {
        "getUpdates" => match webhook::refuses_get_updates(shared) {
            Some(refusal) => Err(refusal),
            None => get_updates(shared, params).await,
        },
        "getMe" => Ok(get_me()),
        "getFile" => get_file(shared, params),
        "sendMessage" | "sendPhoto" | "sendVideo" | "sendDocument" => messages::send(shared, method, params),
        "editMessageText" => messages::edit(shared, params, Edit::Text),
        "editMessageCaption" => messages::edit(shared, params, Edit::Caption),
        "editMessageReplyMarkup" => messages::edit(shared, params, Edit::Markup),
        "deleteMessage" => messages::delete(shared, params),
        "answerCallbackQuery" => answer_callback_query(shared, params),
        "getChatAdministrators" => administrators(shared, params),
        "getWebhookInfo" => webhook::info(shared),
        "setWebhook" => webhook::set(shared, params),
        "deleteWebhook" => webhook::delete(shared, params),
        "setMyCommands" => commands::set(shared, params),
        "getMyCommands" => commands::get(shared, params),
        "deleteMyCommands" => commands::delete(shared, params),
        _ => Err(Refusal::new(StatusCode::NOT_FOUND, "Not Found: method not found")),
    }
}

/// Confirms what `offset` confirms, then answers the pending updates, waiting up to `timeout`
/// seconds for one to be pushed when there are none.
async fn get_updates(shared: &Shared, params: &Value) -> Answer {
    let offset = int(params, "offset");
    let limit = int(params, "limit").filter(|limit| *limit > 0).map_or(100, |limit| limit.min(100));
    let limit = usize::try_from(limit).unwrap_or(100);
    let timeout = int(params, "timeout").and_then(|secs| u64::try_from(secs).ok()).unwrap_or_default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout).min(MAX_POLL);
    loop {
        // Registered before looking, so a push in between is not missed.
        let pushed = shared.pushed.notified();
        let batch: Vec<Value> = shared.update(|state| {
            if let Some(offset) = offset {
                state.confirm(offset);
            }
            state.pending.iter().take(limit).cloned().collect()
        });
        if !batch.is_empty() || tokio::time::timeout_at(deadline, pushed).await.is_err() {
            return Ok(json!(batch));
        }
    }
}

fn get_me() -> Value {
    let mut me = bot_user();
    for (field, value) in [
        ("can_join_groups", true),
        ("can_read_all_group_messages", false),
        ("supports_inline_queries", false),
        ("can_connect_to_business", false),
        ("has_main_web_app", false),
    ] {
        me[field] = json!(value);
    }
    me
}

fn answer_callback_query(shared: &Shared, params: &Value) -> Answer {
    let known = params["callback_query_id"].as_str().is_some_and(|id| shared.read().callback_ids.contains(id));
    if known {
        Ok(json!(true))
    } else {
        Err(Refusal::bad_request("Bad Request: query is too old and response timeout expired or query id is invalid"))
    }
}

/// The chat's administrators as `ChatMember`s: the first is the creator.
fn administrators(shared: &Shared, params: &Value) -> Answer {
    let chat_id = chat_id(params)?;
    let admins = shared.read().admins.get(&chat_id).cloned().unwrap_or_default();
    let members = admins.iter().enumerate().map(|(i, user)| {
        if i == 0 {
            json!({ "status": "creator", "user": user.to_json(), "is_anonymous": false })
        } else {
            json!({
                "status": "administrator", "user": user.to_json(), "is_anonymous": false, "can_be_edited": false,
                "can_manage_chat": true, "can_change_info": true, "can_delete_messages": true,
                "can_manage_video_chats": true, "can_invite_users": true, "can_restrict_members": true,
                "can_promote_members": false, "can_pin_messages": true, "can_post_stories": false,
                "can_edit_stories": false, "can_delete_stories": false, "can_manage_topics": false,
            })
        }
    });
    Ok(Value::Array(members.collect()))
}
