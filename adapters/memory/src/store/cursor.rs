//! The Bot API intake cursor in memory.

use async_trait::async_trait;
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
}
