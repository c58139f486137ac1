//! Logins under way, in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::login::{ChoiceId, LoginAttempt, LoginChoice};
use storyline_domain::ports::{LoginAttempts, StoreError};
use storyline_domain::user::TelegramUserId;

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

    async fn offer(&self, workspace: WorkspaceId, choice: &LoginChoice, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut state = self.state();
        state.tenant(workspace)?;
        state.login_choices.retain(|_, kept| kept.expires_at >= now);
        state.login_choices.insert((workspace, choice.id), choice.clone());
        Ok(())
    }

    async fn pick(
        &self,
        workspace: WorkspaceId,
        choice: ChoiceId,
        user: TelegramUserId,
        now: DateTime<Utc>,
    ) -> Result<Option<LoginChoice>, StoreError> {
        let mut state = self.state();
        let key = (workspace, choice);
        if !state.login_choices.get(&key).is_some_and(|c| c.user == user && c.expires_at >= now) {
            return Ok(None);
        }
        Ok(state.login_choices.remove(&key))
    }
}
