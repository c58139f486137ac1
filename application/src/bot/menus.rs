//! The settings menu as the bot shows it, with the active account (cached briefly).

use super::*;

impl Bot {
    pub(super) async fn settings_screen(&self, turn: &Turn) -> Result<Screen, BotError> {
        let settings = self.settings.current(turn.workspace.id).await?;
        self.settings_screen_of(turn, &settings).await
    }

    pub(super) async fn settings_screen_of(&self, turn: &Turn, settings: &ChatSettings) -> Result<Screen, BotError> {
        let paused_by = async {
            match settings.pause.as_ref().map(|p| &p.by) {
                Some(Actor::User(id)) => Ok::<_, BotError>(
                    self.ports.users.member(turn.workspace.id, *id).await?.map(|m| m.user.display_name()),
                ),
                _ => Ok(None),
            }
        };
        let (paused_by, account) = concurrently::both(paused_by, self.active_account(turn)).await;
        let (paused_by, account) = (paused_by?, account?);
        let media = self.media_line(turn).await?;
        Ok(screens::settings(&turn.workspace, settings, paused_by.as_deref(), account.as_ref(), media.as_ref()))
    }

    /// The media source line of /settings: the source, how many items the library holds, the
    /// last sync; `None` without media sources. Read again after [`CONTACT_TTL`], or at once
    /// after a source change or a sync made in this bot.
    async fn media_line(&self, turn: &Turn) -> Result<Option<screens::MediaLine>, BotError> {
        let Some((sources, library)) = &self.media else { return Ok(None) };
        let workspace = turn.workspace.id;
        let now = self.ports.clock.now();
        let (source, items, synced_at) = match self.media_lines.get(&workspace, now) {
            Some(line) => line,
            None => {
                let (view, categories) =
                    concurrently::both(sources.show(workspace), library.categories(workspace, now)).await;
                let (view, categories) = (view?, categories?);
                let line =
                    (view.current.to_string(), categories.iter().map(|c| c.total).sum(), view.status.last_synced_at);
                self.media_lines.put(workspace, line.clone(), now);
                line
            }
        };
        Ok(Some(screens::MediaLine { source, items, synced: synced_at.map(|at| screens::ago(now, at)) }))
    }

    /// Forgets the cached media line after a source change or a sync made here.
    pub(super) fn media_changed(&self, workspace: WorkspaceId) {
        self.media_lines.forget(&workspace);
    }

    /// The workspace's active account with its token status.
    /// Read again after [`CONTACT_TTL`], or at once after a change made in this bot; a switch
    /// made from the command line shows within that time.
    pub(super) async fn active_account(&self, turn: &Turn) -> Result<Option<AccountView>, BotError> {
        let Some(accounts) = &self.accounts else { return Ok(None) };
        let now = self.ports.clock.now();
        let workspace = turn.workspace.id;
        if let Some(view) = self.active_accounts.get(&workspace, now) {
            return Ok(view);
        }
        let view = accounts.active(workspace).await?;
        self.active_accounts.put(workspace, view.clone(), now);
        Ok(view)
    }

    /// Forgets the cached active account after a change made here.
    pub(super) fn accounts_changed(&self, workspace: WorkspaceId) {
        self.active_accounts.forget(&workspace);
    }
}
