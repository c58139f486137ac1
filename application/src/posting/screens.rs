//! What the chat shows of a story: the story with its buttons, the reject confirmation, the
//! caption once handled, and the note after publishing.

use storyline_domain::WorkspaceId;
use storyline_domain::chat::{Button, ButtonTarget, Screen, Text};
use storyline_domain::queue::{Outcome, QueueEntry, QueueItemId};

use super::INSTAGRAM_URL;
use crate::bot::action::{Action, StoryMove};

/// The caption of a story waiting for a press, with its buttons.
#[must_use]
pub fn story_screen(workspace: WorkspaceId, entry: &QueueEntry, due: &str) -> Screen {
    let item = entry.item.id;
    let press = |label: &str, step: StoryMove| Button {
        label: label.to_owned(),
        target: ButtonTarget::Press(Action::Story(step, item).encode(workspace)),
    };
    Screen::new(caption(entry, due))
        .row(vec![
            press("✅ Posted", StoryMove::Posted),
            press("⏭ Skip", StoryMove::Skip),
            press("🚫 Reject", StoryMove::Reject),
        ])
        .row(if entry.needs_interaction {
            vec![open_instagram()]
        } else {
            vec![open_instagram(), press("🔗 Always by hand", StoryMove::NeedsInteraction)]
        })
}

fn open_instagram() -> Button {
    Button { label: "📲 Open Instagram".to_owned(), target: ButtonTarget::Link(INSTAGRAM_URL.to_owned()) }
}

fn caption(entry: &QueueEntry, due: &str) -> Text {
    Text::new()
        .bold("📸 Story due ")
        .bold(due.to_owned())
        .plain(" · ")
        .plain(entry.category.to_string())
        .line()
        .code(entry.path.clone())
}

/// What the chat is told after Storyline published a story.
#[must_use]
pub fn published_screen(entry: &QueueEntry, account: &str, media_id: Option<&str>) -> Screen {
    let text =
        Text::new().bold("✅ Published to Instagram as ").bold(account.to_owned()).line().code(entry.path.clone());
    Screen::new(match media_id {
        Some(id) => text.line().plain("Instagram media id ").code(id.to_owned()),
        None => text.line().plain("(an earlier try had already published it)"),
    })
}

/// The caption once a story is handled: what happened, by whom; no buttons.
#[must_use]
pub fn resolved_screen(path: &str, outcome: Outcome, by: &str) -> Screen {
    let what = match outcome {
        Outcome::Posted => "✅ Posted",
        Outcome::Skipped => "⏭ Skipped",
        Outcome::Rejected => "🚫 Rejected",
        Outcome::Failed => "⚠️ Failed",
    };
    let text = Text::new().bold(what).plain(" by ").plain(by.to_owned()).line().code(path.to_owned());
    Screen::new(if outcome == Outcome::Rejected {
        text.line().plain("It will never be scheduled again.")
    } else {
        text
    })
}

/// The confirmation asked before a Reject.
#[must_use]
pub fn confirm_reject_screen(workspace: WorkspaceId, entry_path: &str, item: QueueItemId) -> Screen {
    let press = |label: &str, step: StoryMove| Button {
        label: label.to_owned(),
        target: ButtonTarget::Press(Action::Story(step, item).encode(workspace)),
    };
    Screen::new(
        Text::new()
            .bold("Reject this story for good?")
            .line()
            .code(entry_path.to_owned())
            .line()
            .plain("It will never be scheduled again."),
    )
    .row(vec![press("🚫 Yes, reject", StoryMove::ConfirmReject), press("↩️ Keep it", StoryMove::KeepIt)])
}

/// When a story is due, as the chat reads it: "Tue 14:30" in the chat's time zone.
#[must_use]
pub(super) fn due_text(zone: chrono_tz::Tz, slot: chrono::DateTime<chrono::Utc>) -> String {
    slot.with_timezone(&zone).format("%a %H:%M").to_string()
}
