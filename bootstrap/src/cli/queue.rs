//! The queue on the command line (FEATURES C4, C6): `list-queue`, `process-queue` and
//! `resolve`, which does what a story's Posted / Skip / Reject buttons do.

mod chat;

use std::io::Write;
use std::sync::Arc;

use clap::ValueEnum;
use serde_json::json;
use storyline_application::action::StoryMove;
use storyline_application::bot::Action;
use storyline_application::posting::StoryMessage;
use storyline_domain::Workspace;
use storyline_domain::audit::{AuditAction, AuditEntry};
use storyline_domain::chat::MessageId;
use storyline_domain::ports::SendFailure;
use storyline_domain::queue::{QueueEntry, QueueItemId, QueueStatus};
use storyline_domain::user::Actor;

use self::chat::{Recording, chat};
use super::workspace::{Access, ChatArg, resolve as workspace};
use super::{Outcome, Refusal};
use crate::config::Config;
use crate::wiring::App;

/// What `resolve` records, as the story's buttons do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResolveArg {
    /// It is on Instagram (posted by hand).
    Posted,
    /// Not this time; the media may come again after a while.
    Skip,
    /// Never schedule this media again.
    Reject,
}

/// How a story's item id is shown: the first 8 hex digits, enough to tell a queue's stories apart.
fn short(id: QueueItemId) -> String {
    id.compact().chars().take(8).collect()
}

/// `list-queue`.
pub(super) async fn list(
    app: &App,
    config: &Config,
    limit: u32,
    json: bool,
    chat: &ChatArg,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let workspace = workspace(app, config, chat, Access::Read, err).await?;
    let zone = app.settings.current(workspace.id).await?.time_zone;
    let entries = app.desk().entries(workspace.id, limit).await?;
    if json {
        let rows: Vec<_> = entries
            .iter()
            .map(|entry| {
                json!({
                    "item": entry.item.id.to_string(),
                    "slot": entry.item.slot.to_rfc3339(),
                    "category": entry.category.to_string(),
                    "path": entry.path,
                    "kind": entry.kind.to_string(),
                    "state": entry.item.status.to_string(),
                    "attempts": entry.item.attempts,
                    "needs_interaction": entry.needs_interaction,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(Outcome::Done);
    }
    let mut shown = super::library::table(&["Item", "Slot", "Category", "Path", "State", "Attempts"]);
    for entry in &entries {
        shown.add_row(vec![
            short(entry.item.id),
            entry.item.slot.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z").to_string(),
            entry.category.to_string(),
            entry.path.clone(),
            entry.item.status.to_string(),
            entry.item.attempts.to_string(),
        ]);
    }
    writeln!(out, "{shown}")?;
    Ok(Outcome::Done)
}

/// `process-queue [--force]`: one tick of the posting loop now (or the workspace's next story),
/// then where each story went and how to resolve it.
pub(super) async fn process(
    app: &App,
    config: &Config,
    force: bool,
    chat_arg: &ChatArg,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let (inner, on_telegram) = chat(config)?;
    let recording = Arc::new(Recording::new(inner));
    let stories = app.stories(recording.clone());
    if force {
        let workspace = workspace(app, config, chat_arg, Access::Read, err).await?;
        match stories.send_next(workspace.id).await? {
            Some((entry, Ok(()))) => writeln!(out, "sent {} (item {})", entry.path, short(entry.item.id))?,
            Some((entry, Err(SendFailure::GaveUp))) => {
                writeln!(out, "could not send {}; it failed for the last time and is marked failed", entry.path)?;
            }
            Some((entry, Err(_))) => {
                writeln!(out, "could not send {}; the posting loop will try again (see the log)", entry.path)?;
            }
            None => writeln!(out, "the queue is empty")?,
        }
    } else {
        let report = stories.tick().await?;
        writeln!(
            out,
            "sent {}, will retry {}, gave up on {} (paused workspaces and stories not yet due are left alone)",
            report.sent, report.retrying, report.gave_up
        )?;
    }
    let sent = recording.take();
    for story in sent {
        let Some(workspace) = app.settings.existing_workspace(story.chat).await? else { continue };
        let item = story.buttons.iter().find_map(|data| match Action::decode(data, workspace.id) {
            Ok(Action::Story(_, item)) => Some(item),
            _ => None,
        });
        let Some(item) = item else {
            // Published through the API: nothing waits for a press.
            continue;
        };
        if on_telegram {
            writeln!(out, "it is in chat {} on Telegram, waiting for Posted, Skip or Reject;", story.chat)?;
            writeln!(out, "press one there, or run: storyline resolve {} posted   (or skip, reject)", short(item))?;
        } else {
            writeln!(out, "it is shown only here (TELEGRAM_BOT_TOKEN is not set); post it by hand, then run:")?;
            writeln!(out, "  storyline resolve {} posted   (or skip, reject)", short(item))?;
        }
    }
    Ok(Outcome::Done)
}

/// The queued story `reference` names: its item id (full, or a unique beginning of at least 4
/// hex digits) or its media path.
async fn find(app: &App, workspace: &Workspace, reference: &str) -> anyhow::Result<Option<QueueEntry>> {
    let reference = reference.trim();
    let compact = reference.replace('-', "").to_ascii_lowercase();
    let entries = app.desk().entries(workspace.id, u32::MAX).await?;
    let by_path: Vec<&QueueEntry> = entries.iter().filter(|e| e.path == reference).collect();
    if let [only] = by_path.as_slice() {
        return Ok(Some((*only).clone()));
    }
    if compact.len() < 4 || !compact.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let matching: Vec<&QueueEntry> = entries.iter().filter(|e| e.item.id.compact().starts_with(&compact)).collect();
    match matching.as_slice() {
        [only] => Ok(Some((*only).clone())),
        [] => Ok(None),
        several => Err(Refusal(format!(
            "{reference:?} is the beginning of {} items; give more of the id (see `storyline list-queue`)",
            several.len()
        ))
        .into()),
    }
}

/// `resolve ITEM posted|skip|reject`: the same use case as a press on the story's button, with
/// the command line as its author; the story's message in the chat is updated as after a press.
pub(super) async fn resolve(
    app: &App,
    config: &Config,
    reference: &str,
    outcome: ResolveArg,
    chat_arg: &ChatArg,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let workspace = workspace(app, config, chat_arg, Access::Read, err).await?;
    let shown: String = reference.chars().take(64).collect();
    let (item, message) = match find(app, &workspace, reference).await? {
        Some(entry) if entry.item.status == QueueStatus::Pending => {
            return Err(Refusal(format!(
                "{} is not in the chat yet (it waits for its slot); `storyline process-queue --force` sends the next \
                 story now",
                entry.path
            ))
            .into());
        }
        Some(entry) => (entry.item.id, entry.item.message_id.filter(|id| *id > 0).map(MessageId)),
        // A full id no longer queued: the press use case says whether it was handled already.
        None => match QueueItemId::from_compact(&reference.trim().replace('-', "").to_ascii_lowercase()) {
            Some(item) => (item, None),
            None => {
                return Err(Refusal(format!(
                    "no story {shown:?} in the queue of chat {}; `storyline list-queue` shows the items",
                    workspace.chat_id
                ))
                .into());
            }
        },
    };
    let step = match outcome {
        ResolveArg::Posted => StoryMove::Posted,
        ResolveArg::Skip => StoryMove::Skip,
        ResolveArg::Reject => StoryMove::ConfirmReject,
    };
    // Logged before it is carried out, as the bot logs every command and press (C8): a failed
    // log changes nothing.
    let entry = AuditEntry {
        at: app.clock.now(),
        actor: Actor::Cli,
        action: AuditAction::Command,
        subject: format!(
            "resolve {} {}",
            short(item),
            outcome.to_possible_value().map_or_else(String::new, |v| v.get_name().to_owned())
        ),
        old: None,
        new: None,
    };
    app.stores.audit.record(workspace.id, &entry).await?;
    let (notifier, on_telegram) = chat(config)?;
    let message = message.filter(|_| on_telegram);
    let stories = app.stories(notifier);
    let on = StoryMessage { chat: workspace.chat_id, workspace: workspace.id, message };
    let note = match stories.press(on, step, item, &Actor::Cli, "the operator (command line)").await {
        Ok(note) => note,
        Err(storyline_application::posting::PressError::Notify(error)) => {
            // The story is resolved; only its message in the chat could not be updated.
            writeln!(err, "note: the story's message in the chat was not updated: {}", super::one_line(&error.into()))?;
            "Resolved".to_owned()
        }
        Err(other) => return Err(other.into()),
    };
    writeln!(out, "{note} (item {})", short(item))?;
    Ok(Outcome::Done)
}
