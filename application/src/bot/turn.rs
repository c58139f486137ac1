//! Who is behind an update: the workspace of the chat, the person (recorded on first contact,
//! C8), the audit line, and the role the access table is asked with.

use super::*;

impl Bot {
    /// C8: records the person (first contact, names, last seen) and returns their membership.
    pub(super) async fn contact(
        &self,
        workspace: WorkspaceId,
        user: &User,
        now: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        let key = (workspace, user.telegram_id);
        if let Some(member) = self.contacts.get(&key, now)
            && member.user == *user
        {
            return Ok(member);
        }
        let member = self.ports.users.record_contact(workspace, user, now).await?;
        self.contacts.put(key, member.clone(), now);
        Ok(member)
    }

    /// The workspace of the update's chat: in single-team mode the team's (created on first
    /// use), else the one `/init` created, if any. Only found workspaces are remembered.
    pub(super) async fn workspace(&self, incoming: &Incoming) -> Result<Option<Workspace>, BotError> {
        let cached = self.workspaces.lock().unwrap_or_else(PoisonError::into_inner).get(&incoming.chat).cloned();
        if let Some(workspace) = cached {
            return Ok(Some(workspace));
        }
        let workspace = if self.config.team_chat.is_some() {
            let name = incoming.chat_title.clone().unwrap_or_else(|| format!("Chat {}", incoming.chat));
            self.settings.workspace_for_chat(incoming.chat, &name).await?
        } else {
            let Some(workspace) = self.settings.existing_workspace(incoming.chat).await? else { return Ok(None) };
            workspace
        };
        self.workspaces.lock().unwrap_or_else(PoisonError::into_inner).insert(incoming.chat, workspace.clone());
        Ok(Some(workspace))
    }

    /// C8: every command and button press is logged.
    pub(super) async fn log(
        &self,
        workspace: WorkspaceId,
        actor: &Actor,
        action: AuditAction,
        subject: &str,
    ) -> Result<(), BotError> {
        let entry = AuditEntry {
            at: self.ports.clock.now(),
            actor: actor.clone(),
            action,
            subject: subject.chars().take(64).collect(),
            old: None,
            new: None,
        };
        self.ports.audit.record(workspace, &entry).await?;
        Ok(())
    }

    /// S8: the person's role: their role in the workspace, admin when a configured admin id
    /// or one of the chat's administrators. A channel post (no user) is a channel admin's.
    pub(super) async fn role(&self, turn: &Turn) -> Role {
        let Some(member) = &turn.from else {
            return access::CHANNEL_POST;
        };
        let id = member.user.telegram_id;
        if member.role.is_admin() {
            return member.role;
        }
        if self.config.admin_ids.contains(&id) {
            return Role::Admin;
        }
        match self.ports.admins.administrators(turn.workspace.chat_id).await {
            Ok(admins) if admins.contains(&id) => Role::Admin,
            Ok(_) => Role::Member,
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "could not ask the chat for its administrators; refusing");
                Role::Member
            }
        }
    }

    /// Asks the one table ([`access::rule`]) whether this turn's person may do `operation`.
    /// The role is looked up only when the operation needs more than a member.
    ///
    /// # Errors
    /// The refusal to tell them.
    pub(super) async fn allowed(&self, turn: &Turn, operation: Operation) -> Result<(), &'static str> {
        if access::rule(operation).allows(Role::Member) {
            return Ok(());
        }
        access::check(self.role(turn).await, operation)
    }
}
