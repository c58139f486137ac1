//! What each workspace's chat was told once, in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::ports::{Notices, StoreError};

use super::MemoryStore;

#[async_trait]
impl Notices for MemoryStore {
    async fn tell_once(
        &self,
        workspace: WorkspaceId,
        topic: &str,
        key: &str,
        _at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        state.tenant(workspace)?;
        let told = state.notices.insert((workspace, topic.to_owned()), key.to_owned());
        Ok(told.as_deref() != Some(key))
    }

    async fn forget_notice(&self, workspace: WorkspaceId, topic: &str) -> Result<(), StoreError> {
        self.state().notices.remove(&(workspace, topic.to_owned()));
        Ok(())
    }
}
