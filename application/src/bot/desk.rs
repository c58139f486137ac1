//! The queue commands and the buttons on stories (FEATURES C4, C6, C7).

use storyline_domain::chat::{Button, MessageId, PressId, Screen, Text};
use storyline_domain::ports::SendFailure;
use storyline_domain::queue::{Outcome, QueueStatus};
use storyline_domain::schedule::MAX_DAYS;

use super::{Bot, BotError, Turn};
use crate::action::{Action, OverdueChoice};
use crate::command::Command;
use crate::posting::{Stories, StoryMessage};
use crate::scheduling::{ScheduleError, SeededJitter};

const NO_DESK: &str = "The queue is not available here.";
const QUEUE_SHOWN: u32 = 10;
/// The days Settings → Schedule offers.
const SCHEDULE_CHOICES: [u8; 5] = [1, 3, 7, 14, 30];

fn local_time(at: chrono::DateTime<chrono::Utc>, zone: chrono_tz::Tz) -> String {
    at.with_timezone(&zone).format("%a %d %b %H:%M").to_string()
}

fn press_button(label: &str, action: Action, turn: &Turn) -> Button {
    super::screens::button(label, action, &turn.workspace)
}

/// How fast overdue stories go out, one per tick of the posting loop: "one every 5 seconds",
/// "one a minute", "one every 2 minutes", "one an hour".
fn one_per(interval: std::time::Duration) -> String {
    let seconds = interval.as_secs().max(1);
    let (count, unit) = if seconds.is_multiple_of(3600) {
        (seconds / 3600, "hour")
    } else if seconds.is_multiple_of(60) {
        (seconds / 60, "minute")
    } else {
        (seconds, "second")
    };
    match (count, unit) {
        (1, "hour") => "one an hour".to_owned(),
        (1, unit) => format!("one a {unit}"),
        (count, unit) => format!("one every {count} {unit}s"),
    }
}

impl Bot {
    fn desk(&self) -> Option<&Stories> {
        self.stories.as_ref()
    }

    fn jitter(&self) -> SeededJitter {
        let now = self.ports.clock.now();
        SeededJitter::new(u64::try_from(now.timestamp_nanos_opt().unwrap_or_default()).unwrap_or(1))
    }

    /// `/queue`, `/next`, `/schedule [N]`, `/clear`, `/stats`, `/history [N]`, `/locks`: parsed,
    /// and checked against the table, by the caller.
    pub(super) async fn desk_command(&self, turn: &Turn, command: Command) -> Result<(), BotError> {
        let Some(desk) = self.desk() else {
            return self.say(turn, NO_DESK).await.map(|_| ());
        };
        let workspace = turn.workspace.id;
        let zone = self.settings.current(workspace).await?.time_zone;
        let local = |at: chrono::DateTime<chrono::Utc>| at.with_timezone(&zone).format("%a %d %b %H:%M").to_string();
        let screen: Screen = match command {
            Command::Queue => self.queue_screen(turn, desk).await?,
            Command::Next => match desk.send_next(workspace).await? {
                // Sent, or given up for good (the chat was told so).
                Some((_, Ok(()) | Err(SendFailure::GaveUp))) => return Ok(()),
                Some((entry, Err(_))) => Screen::new(
                    Text::new()
                        .plain("Could not send ")
                        .code(entry.path)
                        .plain(" now; the posting loop tries again on its next rounds."),
                ),
                None => Screen::new("The queue is empty. /schedule fills it from the library."),
            },
            Command::Schedule { days } => self.schedule_screen(turn, desk, days).await?,
            Command::Clear => {
                let counts = desk.desk().counts(workspace).await?;
                if counts.pending == 0 {
                    Screen::new("The queue is already empty.")
                } else {
                    Screen::new(format!(
                        "Remove all {} pending stories from the queue? Stories already in the chat stay.",
                        counts.pending
                    ))
                    .row(vec![
                        press_button("🧹 Yes, clear", Action::ClearQueue, turn),
                        press_button("Cancel", Action::KeepQueue, turn),
                    ])
                }
            }
            Command::Stats => {
                let c = desk.desk().counts(workspace).await?;
                Screen::new(
                    Text::new()
                        .bold("📈 Stats")
                        .line()
                        .plain(format!(
                            "Queued: {} ({} due) · waiting for a button: {}",
                            c.pending, c.due, c.awaiting_press
                        ))
                        .line()
                        .plain(format!(
                            "Posted: {} · skipped: {} · rejected: {} · failed: {}",
                            c.posted, c.skipped, c.rejected, c.failed
                        )),
                )
            }
            Command::History { limit } => {
                let rows = desk.desk().history(workspace, limit).await?;
                if rows.is_empty() {
                    Screen::new("No story has been handled yet.")
                } else {
                    let mut text = Text::new().bold("🕘 History");
                    for row in &rows {
                        let mark = match row.outcome {
                            Outcome::Posted => "✅",
                            Outcome::Skipped => "⏭",
                            Outcome::Rejected => "🚫",
                            Outcome::Failed => "⚠️",
                        };
                        text = text.line().plain(format!("{mark} {} ", local(row.at))).code(row.path.clone());
                        if row.method == Some(storyline_domain::account::PostMethod::Api) {
                            text = text.plain(" · by the API");
                        }
                    }
                    Screen::new(text)
                }
            }
            Command::Locks => {
                let locks = desk.desk().locks(workspace).await?;
                if locks.is_empty() {
                    Screen::new("No media is locked.")
                } else {
                    let mut text = Text::new().bold(format!("🔒 {} locked", locks.len()));
                    for lock in locks.iter().take(20) {
                        let until =
                            lock.until.map_or_else(|| "for good".to_owned(), |at| format!("until {}", local(at)));
                        text =
                            text.line().code(lock.path.clone()).plain(format!(" — {} {until}", lock.reason.as_str()));
                    }
                    Screen::new(text)
                }
            }
            // Not the desk's: [`Bot::command`] answers them itself.
            Command::Start
            | Command::Help
            | Command::Settings
            | Command::Export
            | Command::Import
            | Command::Status
            | Command::Cancel
            | Command::Pause
            | Command::Resume
            | Command::DryRun(_)
            | Command::Sync
            | Command::Init
            | Command::Admins => return Ok(()),
        };
        self.say(turn, screen).await.map(|_| ())
    }

    /// `/queue` and Settings → Queue: the next stories.
    async fn queue_screen(&self, turn: &Turn, desk: &Stories) -> Result<Screen, BotError> {
        let workspace = turn.workspace.id;
        let zone = self.settings.current(workspace).await?.time_zone;
        let entries = desk.desk().entries(workspace, QUEUE_SHOWN).await?;
        let counts = desk.desk().counts(workspace).await?;
        if entries.is_empty() {
            return Ok(Screen::new("The queue is empty. /schedule fills it from the library."));
        }
        let mut text = Text::new().bold(format!("🗓 Queue — {} pending", counts.pending));
        for entry in &entries {
            let state = match entry.item.status {
                QueueStatus::Sent => " (in the chat, waiting for a button)",
                QueueStatus::Sending => " (sending)",
                _ => "",
            };
            text = text
                .line()
                .plain(format!("{} · {} · ", local_time(entry.item.slot, zone), entry.category))
                .code(entry.path.clone())
                .plain(state);
        }
        Ok(Screen::new(text))
    }

    /// `/schedule N` and Settings → Schedule → N days: fills the queue and says what it did.
    async fn schedule_screen(&self, turn: &Turn, desk: &Stories, days: u32) -> Result<Screen, BotError> {
        let workspace = turn.workspace.id;
        let zone = self.settings.current(workspace).await?.time_zone;
        let mut jitter = self.jitter();
        Ok(match desk.scheduler().schedule(workspace, days, &mut jitter).await {
            Ok(report) if report.queued == 0 => Screen::new(
                "Nothing was scheduled: the library has no media that is active, unqueued and unlocked. Index media with storyline index-media.",
            ),
            Ok(report) => {
                let mut text = Text::new().bold(format!("🗓 Scheduled {} stories", report.queued));
                if let (Some(first), Some(last)) = (report.first, report.last) {
                    text = text.line().plain(format!("from {} to {}", local_time(first, zone), local_time(last, zone)));
                }
                if report.unfilled > 0 {
                    text = text
                        .line()
                        .plain(format!("{} slots stayed empty: the library ran out of media.", report.unfilled));
                }
                Screen::new(text)
            }
            Err(ScheduleError::Days) => Screen::new(format!("Days must be from 1 to {MAX_DAYS}.")),
            Err(other) => return Err(other.into()),
        })
    }

    /// Settings → Schedule: how many days to fill.
    fn schedule_question(turn: &Turn) -> Screen {
        Screen::new(
            Text::new().bold("🗓 Fill the queue for how many days?").line().plain(format!(
                "(Or type /schedule N, N from 1 to {MAX_DAYS}.) Running it again extends the schedule."
            )),
        )
        .row(
            SCHEDULE_CHOICES
                .iter()
                .map(|&days| press_button(&days.to_string(), Action::ScheduleDays(days), turn))
                .collect(),
        )
        .row(vec![press_button("🔙 Back to settings", Action::Settings, turn)])
    }

    /// After pressing a quick action of /settings: its screen, with the way back.
    fn with_way_back(screen: Screen, turn: &Turn) -> Screen {
        screen.row(vec![
            press_button("⚙️ Settings", Action::Settings, turn),
            press_button("✖ Close", Action::Close, turn),
        ])
    }

    /// After a change of posts/day, posting hours or time zone, the upcoming stories follow the
    /// new settings from the next tick (C4). Returns how many moved.
    pub(super) async fn replan_after(
        &self,
        turn: &Turn,
        changes: &[storyline_domain::settings::FieldChange],
    ) -> Result<u64, BotError> {
        let Some(desk) = self.desk() else { return Ok(0) };
        if !changes.iter().any(|c| c.key.shapes_the_schedule()) {
            return Ok(0);
        }
        Ok(desk.scheduler().replan(turn.workspace.id, &mut self.jitter()).await?)
    }

    /// `/status`: the settings part, and with the desk the queue's counts and next slot (C7).
    pub(super) async fn status_screen(&self, turn: &Turn) -> Result<Screen, BotError> {
        let settings = self.settings.current(turn.workspace.id).await?;
        let account = self.active_account(turn).await?;
        let mut screen = super::screens::status(&turn.workspace, &settings, self.ports.clock.now(), account.as_ref());
        let Some(desk) = self.desk() else { return Ok(screen) };
        let counts = desk.desk().counts(turn.workspace.id).await?;
        // The next slot still to come: items already in the chat are not "next".
        let next = desk
            .desk()
            .entries(turn.workspace.id, 50)
            .await?
            .into_iter()
            .find(|e| e.item.status == QueueStatus::Pending);
        let mut text = std::mem::take(&mut screen.text)
            .line()
            .plain(format!(
                "Queue: {} pending ({} due), {} waiting for a button",
                counts.pending, counts.due, counts.awaiting_press
            ))
            .line()
            .plain(format!(
                "Handled: {} posted, {} skipped, {} rejected, {} failed",
                counts.posted, counts.skipped, counts.rejected, counts.failed
            ))
            .line()
            .plain("Next slot: ");
        text = match next {
            Some(entry) => {
                text.bold(entry.item.slot.with_timezone(&settings.time_zone).format("%a %d %b %H:%M %Z").to_string())
            }
            None => text.italic("none — /schedule fills the queue"),
        };
        screen.text = text;
        Ok(screen)
    }

    /// `/resume` while paused with stories overdue: asks what to do with them before resuming
    /// (C6). Returns whether it asked.
    pub(super) async fn offer_overdue(&self, turn: &Turn) -> Result<bool, BotError> {
        let Some(desk) = self.desk() else { return Ok(false) };
        if !self.settings.current(turn.workspace.id).await?.is_paused() {
            return Ok(false);
        }
        let counts = desk.desk().counts(turn.workspace.id).await?;
        if counts.due == 0 {
            return Ok(false);
        }
        let screen = Screen::new(format!(
            "{} stories fell due while posting was paused. Posting resumes once you choose what happens to them:",
            counts.due
        ))
        .row(vec![
            press_button("🗓 Reschedule", Action::Overdue(OverdueChoice::Reschedule), turn),
            press_button("🧹 Clear overdue", Action::Overdue(OverdueChoice::Clear), turn),
        ])
        .row(vec![press_button(
            &format!("📤 Send now ({})", one_per(self.posting_interval)),
            Action::Overdue(OverdueChoice::SendNow),
            turn,
        )]);
        self.say(turn, screen).await?;
        Ok(true)
    }

    /// Buttons on stories, the /clear confirmation and the overdue choices.
    pub(super) async fn desk_press(
        &self,
        turn: &Turn,
        press: &PressId,
        action: Action,
        message: Option<MessageId>,
    ) -> Result<(), BotError> {
        let Some(desk) = self.desk() else {
            self.ports.notifier.answer(press, NO_DESK, false).await?;
            return Ok(());
        };
        let workspace = turn.workspace.id;
        match action {
            Action::Story(step, item) => {
                let by = turn.from.as_ref().map_or_else(|| "the channel".to_owned(), |m| m.user.display_name());
                let on = StoryMessage { chat: turn.chat(), workspace, message };
                let note = desk.press(on, step, item, &turn.actor(), &by).await?;
                self.ports.notifier.answer(press, &note, false).await?;
                Ok(())
            }
            Action::KeepQueue => {
                self.ports.notifier.answer(press, "Nothing cleared", false).await?;
                self.show(turn, message, &Screen::new("Nothing was cleared; the queue is as it was.")).await
            }
            Action::Queue => {
                self.ports.notifier.answer(press, "", false).await?;
                let screen = Self::with_way_back(self.queue_screen(turn, desk).await?, turn);
                self.show(turn, message, &screen).await
            }
            Action::Schedule => {
                self.ports.notifier.answer(press, "", false).await?;
                self.show(turn, message, &Self::schedule_question(turn)).await
            }
            Action::ScheduleDays(days) => {
                self.ports.notifier.answer(press, &format!("Scheduling {days} days…"), false).await?;
                let screen = Self::with_way_back(self.schedule_screen(turn, desk, u32::from(days)).await?, turn);
                self.show(turn, message, &screen).await
            }
            Action::ClearQueue => {
                let cleared = desk.desk().clear(workspace).await?;
                self.ports.notifier.answer(press, &format!("Cleared {cleared}"), false).await?;
                self.show(turn, message, &Screen::new(format!("🧹 Cleared {cleared} pending stories."))).await
            }
            Action::Overdue(choice) => {
                let text = match choice {
                    OverdueChoice::Reschedule => {
                        let moved = desk.scheduler().reschedule_overdue(workspace, &mut self.jitter()).await?;
                        format!("🗓 Moved {moved} overdue stories to new slots.")
                    }
                    OverdueChoice::Clear => {
                        let cleared = desk.desk().clear_overdue(workspace).await?;
                        format!("🧹 Removed {cleared} overdue stories from the queue.")
                    }
                    OverdueChoice::SendNow => {
                        format!("📤 The overdue stories go out {}.", one_per(self.posting_interval))
                    }
                };
                self.ports.notifier.answer(press, "", false).await?;
                self.show(turn, message, &Screen::new(text)).await?;
                // The choice is made: posting resumes.
                self.set_flag(turn, storyline_domain::settings::Toggle::Paused, Some(false)).await
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
