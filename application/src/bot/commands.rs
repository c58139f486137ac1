//! Commands, parsed once into [`Command`], and the flag shortcuts (`/pause`, `/dryrun`).

use super::*;

impl Bot {
    /// A command: parsed once, checked against the table, then done. Refused or not
    /// understood, it changes nothing.
    pub(super) async fn command(
        &self,
        turn: &Turn,
        name: &str,
        args: &str,
        _message: MessageId,
    ) -> Result<(), BotError> {
        let parsed = Command::parse(name, args);
        let named = match &parsed {
            Ok(command) => Some(command.name()),
            Err(problem) => problem.name(),
        };
        let from = turn.from.as_ref().map(|m| m.user.telegram_id);
        if let Some(named) = named
            && let Err(refusal) = self.allowed(turn, Operation::Command(named)).await
        {
            // Said once per burst to one person (each refusal its own burst).
            if !self.first_refusal(turn.chat(), from, refusal) {
                return Ok(());
            }
            return self.say(turn, refusal).await.map(|_| ());
        }
        let command = match parsed {
            Ok(command) => command,
            Err(problem @ crate::command::CommandError::Unknown(_)) => {
                if !self.first_refusal(turn.chat(), from, "unknown command") {
                    return Ok(());
                }
                return self.say(turn, problem.to_string()).await.map(|_| ());
            }
            Err(problem) => return self.say(turn, problem.to_string()).await.map(|_| ()),
        };
        match command {
            Command::Start => self.say(turn, screens::start(&turn.workspace)).await.map(|_| ()),
            Command::Help => self.say(turn, screens::help()).await.map(|_| ()),
            Command::Settings => {
                let screen = self.settings_screen(turn).await?;
                self.say(turn, screen).await.map(|_| ())
            }
            Command::Status => {
                let screen = self.status_screen(turn).await?;
                self.say(turn, screen).await.map(|_| ())
            }
            Command::Pause => self.set_flag(turn, Toggle::Paused, Some(true)).await,
            Command::Resume => {
                // With stories overdue, posting stays paused until an admin chooses what to do
                // with them (C6); otherwise the loop would start sending them before the choice.
                if self.offer_overdue(turn).await? {
                    return Ok(());
                }
                self.set_flag(turn, Toggle::Paused, Some(false)).await
            }
            Command::DryRun(on) => self.set_flag(turn, Toggle::DryRun, on).await,
            Command::Cancel => self.cancel_prompt(turn).await,
            Command::Sync => self.sync_now(turn).await,
            Command::Admins => self.admins_command(turn).await,
            Command::Init => {
                let text = format!("This chat already has a workspace, {}; /settings changes it.", turn.workspace.name);
                self.say(turn, text).await.map(|_| ())
            }
            Command::Export => self.export_settings(turn).await,
            Command::Import => self.ask_for_settings_file(turn).await,
            Command::Queue
            | Command::Next
            | Command::Schedule { .. }
            | Command::Clear
            | Command::Stats
            | Command::History { .. }
            | Command::Locks => self.desk_command(turn, command).await,
        }
    }

    /// `/pause`, `/resume`, `/dryrun`: the same settings use case as the buttons (S5). The
    /// caller has asked the table.
    pub(super) async fn set_flag(&self, turn: &Turn, toggle: Toggle, on: Option<bool>) -> Result<(), BotError> {
        let change = on.map_or(SettingChange::Toggle(toggle), |on| SettingChange::Set(toggle, on));
        let applied = self.settings.change(turn.workspace.id, change, &turn.actor()).await?;
        let now_on = applied.after.flag(toggle);
        let text = match (toggle, now_on, applied.changes.is_empty()) {
            (Toggle::Paused, true, true) => "Posting is already paused. /resume restarts it.".to_owned(),
            (Toggle::Paused, true, false) => "⏸ Paused. Nothing will be posted until /resume.".to_owned(),
            (Toggle::Paused, false, true) => "Posting is not paused.".to_owned(),
            (Toggle::Paused, false, false) => "▶️ Posting resumed.".to_owned(),
            (_, true, true) => "Dry run is already on.".to_owned(),
            (_, true, false) => "🧪 Dry run is on: everything happens except the real publishing.".to_owned(),
            (_, false, unchanged) => {
                let already = if unchanged { "Dry run is already off" } else { "Dry run is off" };
                match self.api_problem(turn, &applied.after).await? {
                    None => format!("{already}: stories are published for real through the Instagram API."),
                    Some(problem) => {
                        format!("{already}, but {problem}, so stories still come to this chat for manual posting.")
                    }
                }
            }
        };
        let said = self.say(turn, text).await.map(|_| ());
        if applied.changes.is_empty() { said } else { after_save(said) }
    }

    /// Why stories would not be published through the Instagram API now (the toggle is off, no
    /// account is selected, or its token cannot be used), in words that follow "but".
    pub(super) async fn api_problem(&self, turn: &Turn, settings: &ChatSettings) -> Result<Option<String>, BotError> {
        if !settings.instagram_api {
            return Ok(Some("the Instagram API is off (/settings switches it on)".to_owned()));
        }
        Ok(match self.active_account(turn).await? {
            None => Some("no Instagram account is selected (/settings → 📸 Instagram account)".to_owned()),
            Some(view) if !view.status.usable() => {
                Some(format!("the token of {} is {}", view.account.label(), view.status.to_string().to_lowercase()))
            }
            Some(_) => None,
        })
    }
}
