//! The fake's memory: pending updates, stored messages, the call log, configuration.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::{Failure, FakeTelegram, FakeUser};

/// A message the fake knows: sent by the bot or scripted.
pub(super) struct Stored {
    /// The Bot API `Message`, as answered to the bot.
    pub(super) json: Value,
    /// The `parse_mode` the bot sent it (or last edited it) with.
    pub(super) parse_mode: Option<Value>,
    /// Sent by the bot (only those can be edited).
    pub(super) by_bot: bool,
}

impl Stored {
    /// What tests see: the message plus its `parse_mode`.
    pub(super) fn inspect(&self) -> Value {
        let mut json = self.json.clone();
        if let Some(parse_mode) = &self.parse_mode {
            json["parse_mode"] = parse_mode.clone();
        }
        json
    }
}

pub(super) struct State {
    /// Pushed updates not confirmed yet, in push order.
    pub(super) pending: VecDeque<Value>,
    pub(super) next_update_id: i64,
    pub(super) last_message_id: i32,
    pub(super) messages: HashMap<(i64, i32), Stored>,
    /// People seen in pushes or set as admins: they name their private chats.
    pub(super) users: HashMap<i64, FakeUser>,
    /// Chats that got a channel post: messages there are channel posts.
    pub(super) channels: HashSet<i64>,
    /// Callback query ids that may be answered.
    pub(super) callback_ids: HashSet<String>,
    pub(super) admins: HashMap<i64, Vec<FakeUser>>,
    /// The command menu by scope (see `commands.rs`).
    pub(super) commands: HashMap<String, Value>,
    pub(super) failures: HashMap<String, VecDeque<Failure>>,
    /// How long every call of a method waits before it is answered.
    pub(super) delays: HashMap<String, std::time::Duration>,
    /// Methods whose calls are never answered nor recorded, and how many calls each has held:
    /// a Telegram that never got them, before a process that made them is killed.
    pub(super) holds: HashMap<String, usize>,
    /// Every call (getUpdates too): canonical method name and body.
    pub(super) calls: Vec<(String, Value)>,
    pub(super) counts: HashMap<String, usize>,
    pub(super) failed: Vec<(String, Value, Failure)>,
    pub(super) get_updates_calls: usize,
    pub(super) last_offset: Option<i64>,
    /// Telegram's flood limits, when enforced.
    pub(super) limits: Option<super::limits::Limits>,
    /// Files people sent ([`super::FakeTelegram::push_document`]), by `file_id`: their
    /// `file_path` and bytes, served by getFile and `/file/bot<token>/<file_path>`.
    pub(super) files: HashMap<String, (String, Vec<u8>)>,
    /// How many file downloads were served.
    pub(super) downloads: usize,
    /// The webhook, once set, and its deliveries.
    pub(super) delivery: super::webhook::Delivery,
}

impl Default for State {
    fn default() -> Self {
        Self {
            pending: VecDeque::new(),
            next_update_id: 1,
            last_message_id: 0,
            messages: HashMap::new(),
            users: HashMap::new(),
            channels: HashSet::new(),
            callback_ids: HashSet::new(),
            admins: HashMap::new(),
            commands: HashMap::new(),
            failures: HashMap::new(),
            delays: HashMap::new(),
            holds: HashMap::new(),
            calls: Vec::new(),
            counts: HashMap::new(),
            failed: Vec::new(),
            get_updates_calls: 0,
            last_offset: None,
            limits: None,
            files: HashMap::new(),
            downloads: 0,
            delivery: super::webhook::Delivery::default(),
        }
    }
}

/// Now, in unix seconds (never 0: a 0 date marks an inaccessible message).
pub(super) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| i64::try_from(d.as_secs()).unwrap_or(1))
}

/// The bot as a `User`.
pub(super) fn bot_user() -> Value {
    json!({ "id": FakeTelegram::BOT_ID, "is_bot": true, "first_name": "Storyline", "username": FakeTelegram::BOT_USERNAME })
}

/// The length of `text`'s first word in UTF-16 code units, as Telegram counts entity lengths.
fn first_word_utf16(text: &str) -> usize {
    text.split_whitespace().next().map_or(0, |word| word.encode_utf16().count())
}

impl State {
    pub(super) fn next_update_id(&mut self) -> i64 {
        let id = self.next_update_id;
        self.next_update_id += 1;
        id
    }

    pub(super) fn next_message_id(&mut self) -> i32 {
        self.last_message_id += 1;
        self.last_message_id
    }

    /// The `Chat` object: a channel once posted in; negative ids a supergroup; positive ones a
    /// private chat named after the user when known.
    pub(super) fn chat_json(&self, chat_id: i64) -> Value {
        if self.channels.contains(&chat_id) {
            json!({ "id": chat_id, "type": "channel", "title": format!("Channel {chat_id}") })
        } else if chat_id < 0 {
            json!({ "id": chat_id, "type": "supergroup", "title": format!("Group {chat_id}") })
        } else {
            let mut chat = json!({ "id": chat_id, "type": "private", "first_name": "User" });
            if let Some(user) = self.users.get(&chat_id) {
                chat["first_name"] = json!(user.first_name);
                if let Some(username) = &user.username {
                    chat["username"] = json!(username);
                }
                if let Some(last_name) = &user.last_name {
                    chat["last_name"] = json!(last_name);
                }
            }
            chat
        }
    }

    /// A new message's common fields: id, date, chat and sender (a channel's messages have
    /// `sender_chat` instead of `from`).
    pub(super) fn new_message(&mut self, chat_id: i64, from: Option<Value>) -> (i32, Value) {
        let id = self.next_message_id();
        let chat = self.chat_json(chat_id);
        let mut message = json!({ "message_id": id, "date": now(), "chat": chat });
        if self.channels.contains(&chat_id) {
            message["sender_chat"] = message["chat"].clone();
        } else if let Some(from) = from {
            message["from"] = from;
        }
        (id, message)
    }

    /// A scripted text message, stored; a leading `/command` gets a `bot_command` entity.
    pub(super) fn incoming(&mut self, chat_id: i64, from: Option<&FakeUser>, text: &str) -> Value {
        if let Some(from) = from {
            self.users.insert(from.id, from.clone());
        }
        let (id, mut message) = self.new_message(chat_id, from.map(FakeUser::to_json));
        message["text"] = json!(text);
        if text.starts_with('/') {
            message["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": first_word_utf16(text) }]);
        }
        self.messages.insert((chat_id, id), Stored { json: message.clone(), parse_mode: None, by_bot: false });
        message
    }

    /// Forgets the updates an `offset` confirms: those before it, or, when negative, all but
    /// the last `-offset`.
    pub(super) fn confirm(&mut self, offset: i64) {
        if offset >= 0 {
            self.pending.retain(|update| update["update_id"].as_i64().is_some_and(|id| id >= offset));
        } else {
            let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
            let drop = self.pending.len().saturating_sub(keep);
            self.pending.drain(..drop);
        }
    }

    pub(super) fn record(&mut self, method: &str, body: &Value) {
        *self.counts.entry(method.to_owned()).or_default() += 1;
        self.calls.push((method.to_owned(), body.clone()));
    }
}
