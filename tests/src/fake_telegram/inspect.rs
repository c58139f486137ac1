//! What the bot did, as tests ask it: the call log, stored messages, getUpdates bookkeeping.

use std::time::Duration;

use serde_json::Value;

use super::{Failure, FakeTelegram, methods, state};

impl FakeTelegram {
    /// The request bodies of every call of `method` (any case), in order, failed ones included.
    #[must_use]
    pub fn calls(&self, method: &str) -> Vec<Value> {
        let method = methods::canonical(method);
        self.shared.read().calls.iter().filter(|call| call.0 == method).map(|call| call.1.clone()).collect()
    }

    /// How many calls of `method` were recorded (cheaper than `calls(..).len()`).
    #[must_use]
    pub fn count(&self, method: &str) -> usize {
        self.shared.read().counts.get(&methods::canonical(method)).copied().unwrap_or_default()
    }

    /// Every call but getUpdates, in order: method and body.
    #[must_use]
    pub fn all_calls(&self) -> Vec<(String, Value)> {
        self.shared.read().calls.iter().filter(|call| call.0 != "getUpdates").cloned().collect()
    }

    /// The calls answered with a [`Failure`] from [`Self::fail_next`], in order.
    #[must_use]
    pub fn failed_calls(&self) -> Vec<(String, Value, Failure)> {
        self.shared.read().failed.clone()
    }

    /// Waits until at least `count` calls of `method` were recorded; returns all of them.
    ///
    /// # Errors
    /// When `timeout` passes first; the error lists every call seen.
    pub async fn wait_for(&self, method: &str, count: usize, timeout: Duration) -> anyhow::Result<Vec<Value>> {
        let reached = self.wait_until(timeout, |telegram| telegram.count(method) >= count).await;
        if reached.is_err() {
            let seen: Vec<String> = self.all_calls().iter().map(|(m, body)| format!("{m} {body}")).collect();
            anyhow::bail!("waited {timeout:?} for {count} × {method}, saw {}: {seen:#?}", self.count(method));
        }
        Ok(self.calls(method))
    }

    /// Waits until `condition` holds, checking it again after every change (a request arrived
    /// or was answered, an update was pushed).
    ///
    /// # Errors
    /// When `timeout` passes first.
    pub async fn wait_until(&self, timeout: Duration, condition: impl Fn(&Self) -> bool) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.shared.changed.notified();
            if condition(self) {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                anyhow::bail!("the condition did not hold within {timeout:?}");
            }
        }
    }

    /// A stored message as it stands after edits (the `Message` JSON, plus `parse_mode` when
    /// the bot gave one); `None` once deleted. Scripted messages are stored too.
    #[must_use]
    pub fn message(&self, chat_id: i64, message_id: i32) -> Option<Value> {
        self.shared.read().messages.get(&(chat_id, message_id)).map(state::Stored::inspect)
    }

    /// The messages the bot sent to `chat_id` that still exist, oldest first, as by
    /// [`Self::message`].
    #[must_use]
    pub fn bot_messages(&self, chat_id: i64) -> Vec<Value> {
        let state = self.shared.read();
        let mut ids: Vec<i32> = state
            .messages
            .iter()
            .filter(|((chat, _), stored)| *chat == chat_id && stored.by_bot)
            .map(|((_, id), _)| *id)
            .collect();
        ids.sort_unstable();
        ids.iter().filter_map(|id| state.messages.get(&(chat_id, *id))).map(state::Stored::inspect).collect()
    }

    /// The ids of the messages the bot sent to `chat_id` that still exist, oldest first.
    #[must_use]
    pub fn sent_message_ids(&self, chat_id: i64) -> Vec<i32> {
        self.bot_messages(chat_id)
            .iter()
            .filter_map(|m| m["message_id"].as_i64())
            .filter_map(|id| i32::try_from(id).ok())
            .collect()
    }

    /// How many getUpdates requests arrived.
    #[must_use]
    pub fn get_updates_calls(&self) -> usize {
        self.shared.read().get_updates_calls
    }

    /// The `offset` of the last getUpdates request (`None` if it had none, or none came yet).
    #[must_use]
    pub fn last_offset(&self) -> Option<i64> {
        self.shared.read().last_offset
    }

    /// How many pushed updates were not confirmed yet.
    #[must_use]
    pub fn pending_updates(&self) -> usize {
        self.shared.read().pending.len()
    }
}
