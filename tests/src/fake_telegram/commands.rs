//! The command menu: `setMyCommands`, `getMyCommands` and `deleteMyCommands`, kept per scope and
//! checked as Telegram checks them.

use serde_json::{Value, json};

use super::methods::{Answer, Refusal};
use super::{FakeTelegram, Shared};

/// The scope a request names, as a key: its `type`, plus its chat and user when it has them.
/// No scope is the default scope.
fn scope_key(params: &Value) -> String {
    let scope = &params["scope"];
    let kind = scope["type"].as_str().unwrap_or("default");
    match (scope.get("chat_id"), scope.get("user_id")) {
        (Some(chat), Some(user)) => format!("{kind}:{chat}:{user}"),
        (Some(chat), None) => format!("{kind}:{chat}"),
        _ => kind.to_owned(),
    }
}

/// Telegram's rules: at most 100 commands, each 1–32 characters of lower-case letters, digits
/// and underscores, with a description of 1–256 characters.
fn valid(commands: &[Value]) -> bool {
    commands.len() <= 100
        && commands.iter().all(|command| {
            let name = command["command"].as_str().unwrap_or_default();
            let description = command["description"].as_str().unwrap_or_default();
            (1..=32).contains(&name.len())
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && (1..=256).contains(&description.chars().count())
        })
}

pub(super) fn set(shared: &Shared, params: &Value) -> Answer {
    let Some(commands) = params["commands"].as_array() else {
        return Err(Refusal::bad_request("Bad Request: can't parse commands JSON object"));
    };
    if !valid(commands) {
        return Err(Refusal::bad_request("Bad Request: BOT_COMMAND_INVALID"));
    }
    let key = scope_key(params);
    shared.update(|state| state.commands.insert(key, Value::Array(commands.clone())));
    Ok(json!(true))
}

pub(super) fn get(shared: &Shared, params: &Value) -> Answer {
    Ok(shared.read().commands.get(&scope_key(params)).cloned().unwrap_or_else(|| json!([])))
}

pub(super) fn delete(shared: &Shared, params: &Value) -> Answer {
    let key = scope_key(params);
    shared.update(|state| state.commands.remove(&key));
    Ok(json!(true))
}

impl FakeTelegram {
    /// The command names registered for a scope `type` (`default`, `all_chat_administrators`
    /// …), in order; `None` when none were set.
    #[must_use]
    pub fn commands(&self, scope: &str) -> Option<Vec<String>> {
        let state = self.shared.read();
        let commands = state.commands.get(scope)?.as_array()?;
        Some(commands.iter().filter_map(|c| c["command"].as_str().map(str::to_owned)).collect())
    }
}
