//! The Bot API intake cursor in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::ports::{StoreError, UpdateCursor};

use super::MemoryStore;

#[async_trait]
impl UpdateCursor for MemoryStore {
    async fn last_update(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.state().last_update)
    }

    async fn advance(&self, update_id: i64) -> Result<(), StoreError> {
        let mut state = self.state();
        state.last_update = state.last_update.max(Some(update_id));
        Ok(())
    }

    async fn claim(&self, bot: i64, update_id: i64, at: DateTime<Utc>) -> Result<bool, StoreError> {
        Ok(!self.claim_many(bot, &[update_id], at).await?.is_empty())
    }

    async fn claim_many(&self, bot: i64, update_ids: &[i64], at: DateTime<Utc>) -> Result<Vec<i64>, StoreError> {
        let mut state = self.state();
        let mut taken = Vec::new();
        for &update_id in update_ids {
            if let std::collections::hash_map::Entry::Vacant(free) = state.handled.entry((bot, update_id)) {
                free.insert(at);
                taken.push(update_id);
            }
        }
        Ok(taken)
    }

    async fn forget_claims_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut state = self.state();
        let was = state.handled.len();
        state.handled.retain(|_, at| *at >= before);
        Ok(u64::try_from(was - state.handled.len()).unwrap_or(u64::MAX))
    }

    async fn webhook_secret(&self, bot: i64, candidate: &str, _at: DateTime<Utc>) -> Result<String, StoreError> {
        Ok(self.state().webhook_secrets.entry(bot).or_insert_with(|| candidate.to_owned()).clone())
    }
}
