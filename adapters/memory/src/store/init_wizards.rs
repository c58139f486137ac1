//! `/init` wizards under way and the founding of a workspace, in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::ChatId;
use storyline_domain::audit::{AuditAction, AuditEntry};
use storyline_domain::init::{Founding, InitWizard};
use storyline_domain::ports::{Founded, InitWizards, StoreError};
use storyline_domain::text::storable;
use storyline_domain::user::{Actor, Role};

use super::{Membership, MemoryStore};

#[async_trait]
impl InitWizards for MemoryStore {
    async fn put(&self, chat: ChatId, wizard: &InitWizard) -> Result<(), StoreError> {
        self.state().wizards.insert(chat, wizard.clone());
        Ok(())
    }

    async fn pending(&self, chat: ChatId, now: DateTime<Utc>) -> Result<Option<InitWizard>, StoreError> {
        Ok(self.state().wizards.get(&chat).filter(|w| w.expires_at > now).cloned())
    }

    async fn clear(&self, chat: ChatId) -> Result<bool, StoreError> {
        Ok(self.state().wizards.remove(&chat).is_some())
    }

    async fn found(&self, chat: ChatId, founding: &Founding, at: DateTime<Utc>) -> Result<Founded, StoreError> {
        let mut state = self.state();
        state.wizards.remove(&chat);
        let serves = founding.chat.unwrap_or(chat);
        if let Some(id) = state.by_chat.get(&serves).copied() {
            return Ok(Founded::AlreadyThere(state.tenant(id)?.workspace.clone()));
        }
        let owner = &founding.owner;
        let actor = Actor::User(owner.telegram_id);
        let workspace = state.create_workspace(serves, &founding.name, &founding.settings, at, actor.clone());
        let user = storyline_domain::user::User {
            telegram_id: owner.telegram_id,
            username: owner.username.as_deref().map(|u| storable(u).into_owned()),
            first_name: storable(&owner.first_name).into_owned(),
            last_name: owner.last_name.as_deref().map(|n| storable(n).into_owned()),
        };
        state.users.insert(owner.telegram_id, user);
        let tenant = state.tenant(workspace.id)?;
        tenant.members.insert(owner.telegram_id, Membership { role: Role::Owner, first_seen: at, last_seen: at });
        let entry = |action, subject: String, new: &str| AuditEntry {
            at,
            actor: actor.clone(),
            action,
            subject,
            old: None,
            new: Some(new.to_owned()),
        };
        tenant.audit.push(entry(AuditAction::Workspace, "created".to_owned(), &workspace.name));
        tenant.audit.push(entry(AuditAction::Role, format!("user:{}", owner.telegram_id), Role::Owner.as_str()));
        Ok(Founded::Created(workspace))
    }
}
