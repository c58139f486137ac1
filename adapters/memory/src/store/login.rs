//! Logins under way, in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::login::LoginAttempt;
use storyline_domain::ports::{LoginAttempts, StoreError};

use super::MemoryStore;

#[async_trait]
impl LoginAttempts for MemoryStore {
    async fn begin(
        &self,
        workspace: WorkspaceId,
        nonce: &str,
        attempt: &LoginAttempt,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        state.tenant(workspace)?;
        state.logins.retain(|_, kept| kept.expires_at >= now);
        state.logins.insert((workspace, nonce.to_owned()), attempt.clone());
        Ok(())
    }

    async fn take(&self, workspace: WorkspaceId, nonce: &str) -> Result<Option<LoginAttempt>, StoreError> {
        Ok(self.state().logins.remove(&(workspace, nonce.to_owned())))
    }
}
