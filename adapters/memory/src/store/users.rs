//! People, their roles and memberships in memory.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::audit::{AuditAction, AuditEntry};
use storyline_domain::ports::{StoreError, Users};
use storyline_domain::text::{storable, storable_opt};
use storyline_domain::user::{Actor, Member, Role, TelegramUserId, User};

use super::{Membership, MemoryStore};

#[async_trait]
impl Users for MemoryStore {
    async fn record_contact(
        &self,
        workspace: WorkspaceId,
        user: &User,
        at: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        let mut state = self.state();
        state.tenant(workspace)?;
        let user = User {
            telegram_id: user.telegram_id,
            username: storable_opt(user.username.as_deref()).map(Cow::into_owned),
            first_name: storable(&user.first_name).into_owned(),
            last_name: storable_opt(user.last_name.as_deref()).map(Cow::into_owned),
        };
        state.users.insert(user.telegram_id, user.clone());
        let tenant = state.tenant(workspace)?;
        tenant.members.entry(user.telegram_id).and_modify(|m| m.last_seen = at).or_insert(Membership {
            role: Role::Member,
            first_seen: at,
            last_seen: at,
        });
        let tenant = &state.workspaces[&workspace];
        state.member(tenant, user.telegram_id).ok_or(StoreError::WorkspaceNotFound(workspace))
    }

    async fn member(&self, workspace: WorkspaceId, user: TelegramUserId) -> Result<Option<Member>, StoreError> {
        let state = self.state();
        Ok(state.workspaces.get(&workspace).and_then(|tenant| state.member(tenant, user)))
    }

    async fn set_role(
        &self,
        workspace: WorkspaceId,
        user: TelegramUserId,
        role: Role,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        let mut state = self.state();
        state.tenant(workspace)?;
        state.users.entry(user).or_insert_with(|| placeholder_user(user));
        let tenant = state.tenant(workspace)?;
        let old = tenant.members.get(&user).map(|m| m.role);
        tenant.members.entry(user).and_modify(|m| m.role = role).or_insert(Membership {
            role,
            first_seen: at,
            last_seen: at,
        });
        if old != Some(role) {
            tenant.audit.push(AuditEntry {
                at,
                actor: actor.clone(),
                action: AuditAction::Role,
                subject: format!("user:{user}"),
                old: old.map(|r| r.as_str().to_owned()),
                new: Some(role.as_str().to_owned()),
            });
        }
        let tenant = &state.workspaces[&workspace];
        state.member(tenant, user).ok_or(StoreError::WorkspaceNotFound(workspace))
    }

    async fn members(&self, workspace: WorkspaceId) -> Result<Vec<Member>, StoreError> {
        let state = self.state();
        let Some(tenant) = state.workspaces.get(&workspace) else {
            return Ok(Vec::new());
        };
        Ok(tenant.members.keys().filter_map(|id| state.member(tenant, *id)).collect())
    }

    async fn memberships(&self, user: TelegramUserId) -> Result<Vec<(storyline_domain::Workspace, Role)>, StoreError> {
        let state = self.state();
        let mut all: Vec<_> = state
            .workspaces
            .values()
            .filter_map(|t| t.members.get(&user).map(|m| (t.workspace.clone(), m.role)))
            .collect();
        all.sort_by(|a, b| (a.0.name.as_str(), a.0.chat_id).cmp(&(b.0.name.as_str(), b.0.chat_id)));
        Ok(all)
    }
}

fn placeholder_user(id: TelegramUserId) -> User {
    User { telegram_id: id, username: None, first_name: String::new(), last_name: None }
}
