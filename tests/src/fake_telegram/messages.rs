//! sendMessage, sendPhoto, sendVideo, sendDocument, the edits and deleteMessage, with Telegram's errors.

use serde_json::{Value, json};

use super::Shared;
use super::methods::{Answer, Refusal, chat_id, message_id};
use super::state::{Stored, bot_user, now};

const NOT_MODIFIED: &str = "Bad Request: message is not modified: specified new message content and reply markup are \
                            exactly the same as a current content and reply markup of the message";

/// What an edit changes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Edit {
    /// editMessageText: the text, and the keyboard (none given removes it).
    Text,
    /// editMessageCaption: the caption of a photo or video, and the keyboard.
    Caption,
    /// editMessageReplyMarkup: the keyboard only.
    Markup,
}

/// The `reply_markup` a `Message` carries: inline keyboards only (reply keyboards and the like
/// are not echoed by Telegram), and none when empty.
fn inline_markup(params: &Value) -> Option<Value> {
    let markup = &params["reply_markup"];
    markup["inline_keyboard"]
        .as_array()
        .is_some_and(|rows| rows.iter().any(|row| row.as_array().is_some_and(|r| !r.is_empty())))
        .then(|| markup.clone())
}

/// A non-empty text parameter.
fn text<'a>(params: &'a Value, key: &str) -> Option<&'a str> {
    params[key].as_str().filter(|text| !text.trim().is_empty())
}

/// A file the bot sent: an id it gave is echoed, an upload or URL gets a new one.
fn file_id(params: &Value, key: &str, message_id: i32) -> String {
    match params[key].as_str() {
        Some(id) if !id.is_empty() && !id.starts_with("attach://") && !id.contains("://") => id.to_owned(),
        _ => format!("{key}-{message_id}"),
    }
}

fn set_or_remove(message: &mut Value, key: &str, value: Option<Value>) {
    if let Value::Object(fields) = message {
        match value {
            Some(value) => fields.insert(key.to_owned(), value),
            None => fields.remove(key),
        };
    }
}

/// A non-empty array parameter (`entities`, `caption_entities`).
fn entities(params: &Value, key: &str) -> Option<Value> {
    params[key].as_array().filter(|list| !list.is_empty()).map(|_| params[key].clone())
}

fn parse_mode(params: &Value) -> Option<Value> {
    params.get("parse_mode").filter(|mode| !mode.is_null()).cloned()
}

/// Stores the message and answers it as Telegram would.
pub(super) fn send(shared: &Shared, method: &str, params: &Value) -> Answer {
    let chat_id = chat_id(params)?;
    let text = match method {
        "sendMessage" => {
            Some(text(params, "text").ok_or_else(|| Refusal::bad_request("Bad Request: message text is empty"))?)
        }
        _ => None,
    };
    Ok(shared.update(|state| {
        let (id, mut message) = state.new_message(chat_id, Some(bot_user()));
        match (method, text) {
            ("sendPhoto", _) => {
                let file = file_id(params, "photo", id);
                message["photo"] = json!([
                    { "file_id": format!("{file}-s"), "file_unique_id": format!("u-{id}-s"), "file_size": 1_024, "width": 90, "height": 160 },
                    { "file_id": file, "file_unique_id": format!("u-{id}"), "file_size": 65_536, "width": 720, "height": 1280 },
                ]);
            }
            ("sendVideo", _) => {
                message["video"] = json!({
                    "file_id": file_id(params, "video", id), "file_unique_id": format!("u-{id}"), "file_size": 1_048_576,
                    "width": 720, "height": 1280, "duration": 5, "mime_type": "video/mp4",
                });
            }
            ("sendDocument", _) => {
                // teloxide names the upload `attach://<part>` and sends it as that part.
                let upload = match params["document"].as_str().and_then(|d| d.strip_prefix("attach://")) {
                    Some(part) => &params[part],
                    None => &params["document"],
                };
                let name = upload["file_name"].as_str().unwrap_or("document");
                let size = upload["size"].as_u64().unwrap_or(0);
                message["document"] = json!({
                    "file_id": file_id(params, "document", id), "file_unique_id": format!("u-{id}"),
                    "file_name": name, "file_size": size,
                });
            }
            (_, text) => {
                message["text"] = json!(text);
                set_or_remove(&mut message, "entities", entities(params, "entities"));
            }
        }
        if message.get("text").is_none() {
            set_or_remove(&mut message, "caption", text_value(params, "caption"));
            set_or_remove(&mut message, "caption_entities", entities(params, "caption_entities"));
        }
        set_or_remove(&mut message, "reply_markup", inline_markup(params));
        let stored = Stored { json: message.clone(), parse_mode: parse_mode(params), by_bot: true };
        state.messages.insert((chat_id, id), stored);
        message
    }))
}

fn text_value(params: &Value, key: &str) -> Option<Value> {
    text(params, key).map(|text| json!(text))
}

/// editMessageText / editMessageCaption / editMessageReplyMarkup on a stored message.
pub(super) fn edit(shared: &Shared, params: &Value, edit: Edit) -> Answer {
    if params.get("inline_message_id").is_some_and(|id| !id.is_null()) {
        return Ok(json!(true));
    }
    let key = (chat_id(params)?, message_id(params)?);
    let markup = inline_markup(params);
    shared.update(|state| {
        let stored = state
            .messages
            .get_mut(&key)
            .ok_or_else(|| Refusal::bad_request("Bad Request: message to edit not found"))?;
        if !stored.by_bot {
            return Err(Refusal::bad_request("Bad Request: message can't be edited"));
        }
        let same_markup = stored.json.get("reply_markup") == markup.as_ref();
        match edit {
            Edit::Text => {
                let text =
                    text(params, "text").ok_or_else(|| Refusal::bad_request("Bad Request: message text is empty"))?;
                if stored.json.get("text").is_none() {
                    return Err(Refusal::bad_request("Bad Request: there is no text in the message to edit"));
                }
                if stored.json["text"] == text && same_markup {
                    return Err(Refusal::bad_request(NOT_MODIFIED));
                }
                stored.json["text"] = json!(text);
                set_or_remove(&mut stored.json, "entities", entities(params, "entities"));
                stored.parse_mode = parse_mode(params);
            }
            Edit::Caption => {
                if stored.json.get("text").is_some() {
                    return Err(Refusal::bad_request("Bad Request: there is no caption in the message to edit"));
                }
                let caption = text_value(params, "caption");
                if stored.json.get("caption") == caption.as_ref() && same_markup {
                    return Err(Refusal::bad_request(NOT_MODIFIED));
                }
                set_or_remove(&mut stored.json, "caption", caption);
                set_or_remove(&mut stored.json, "caption_entities", entities(params, "caption_entities"));
                stored.parse_mode = parse_mode(params);
            }
            Edit::Markup if same_markup => return Err(Refusal::bad_request(NOT_MODIFIED)),
            Edit::Markup => {}
        }
        set_or_remove(&mut stored.json, "reply_markup", markup);
        stored.json["edit_date"] = json!(now());
        Ok(stored.json.clone())
    })
}

pub(super) fn delete(shared: &Shared, params: &Value) -> Answer {
    let key = (chat_id(params)?, message_id(params)?);
    match shared.update(|state| state.messages.remove(&key)) {
        Some(_) => Ok(json!(true)),
        None => Err(Refusal::bad_request("Bad Request: message to delete not found")),
    }
}
