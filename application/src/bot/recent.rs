//! What the bot read a moment ago, reused for a short while (people's memberships, a
//! workspace's active account), so a burst of presses does not read it each time.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};

/// Values by key, each fresh for `ttl` after it was put.
pub(super) struct Recent<K, V> {
    ttl: TimeDelta,
    entries: Mutex<HashMap<K, (DateTime<Utc>, V)>>,
}

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    pub(super) fn new(ttl: TimeDelta) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()) }
    }

    /// The value put for `key` less than `ttl` before `now`.
    pub(super) fn get(&self, key: &K, now: DateTime<Utc>) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(key).filter(|(at, _)| now - *at < self.ttl).map(|(_, value)| value.clone())
    }

    /// Keeps `value` for `key` from `now`, dropping what has gone stale.
    pub(super) fn put(&self, key: K, value: V, now: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|_, (at, _)| now - *at < self.ttl);
        entries.insert(key, (now, value));
    }

    /// Drops `key` (it changed here).
    pub(super) fn forget(&self, key: &K) {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }

    /// Drops every value.
    pub(super) fn clear(&self) {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_value_is_fresh_for_its_time_then_gone() {
        let start = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).single().unwrap_or_default();
        let recent = Recent::new(TimeDelta::seconds(10));
        recent.put("a", 1, start);
        assert_eq!(recent.get(&"a", start + TimeDelta::seconds(9)), Some(1));
        assert_eq!(recent.get(&"a", start + TimeDelta::seconds(10)), None);
        recent.put("b", 2, start);
        recent.forget(&"b");
        assert_eq!(recent.get(&"b", start), None);
        recent.put("c", 3, start);
        recent.clear();
        assert_eq!(recent.get(&"c", start), None);
    }
}
