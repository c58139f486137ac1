//! Pending prompts in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::conversation::PendingPrompt;
use storyline_domain::ports::{Conversations, StoreError};
use storyline_domain::user::TelegramUserId;

use super::MemoryStore;

#[async_trait]
impl Conversations for MemoryStore {
    async fn put(&self, workspace: WorkspaceId, prompt: &PendingPrompt) -> Result<(), StoreError> {
        self.state().tenant(workspace)?.prompts.insert(prompt.user, prompt.clone());
        Ok(())
    }

    async fn pending(
        &self,
        workspace: WorkspaceId,
        user: TelegramUserId,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingPrompt>, StoreError> {
        let state = self.state();
        Ok(state.workspaces.get(&workspace).and_then(|t| t.prompts.get(&user)).filter(|p| !p.is_expired(now)).cloned())
    }

    async fn clear(&self, workspace: WorkspaceId, user: TelegramUserId) -> Result<bool, StoreError> {
        let mut state = self.state();
        Ok(state.workspaces.get_mut(&workspace).and_then(|t| t.prompts.remove(&user)).is_some())
    }

    async fn newest_anywhere(
        &self,
        user: TelegramUserId,
        now: DateTime<Utc>,
    ) -> Result<Option<(storyline_domain::Workspace, PendingPrompt)>, StoreError> {
        let state = self.state();
        Ok(state
            .workspaces
            .values()
            .filter_map(|t| {
                t.prompts.get(&user).filter(|p| !p.is_expired(now)).map(|p| (t.workspace.clone(), p.clone()))
            })
            .max_by_key(|(_, p)| p.created_at))
    }
}
