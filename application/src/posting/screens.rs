//! What the chat shows of a story: the story with its buttons, the reject confirmation, the
//! caption once handled, the notes after publishing, and why a story goes by hand or failed —
//! in the product's words, with a reference to the log line where there is one, never an
//! adapter's error text.

use storyline_domain::WorkspaceId;
use storyline_domain::chat::{Button, ButtonTarget, Screen, Text};
use storyline_domain::publishing::Reason;
use storyline_domain::queue::{MAX_SEND_ATTEMPTS, Outcome, QueueEntry, QueueItemId};

use super::INSTAGRAM_URL;
use crate::action::{Action, StoryMove};

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

/// What the chat is told after a dry run did everything but publish.
#[must_use]
pub(super) fn dry_run_screen(entry: &QueueEntry, account: &str) -> Screen {
    Screen::new(
        Text::new()
            .bold("🧪 Dry run: would have published this story to ")
            .bold(account.to_owned())
            .plain(" through the Instagram API")
            .line()
            .code(entry.path.clone())
            .line()
            .plain("Everything but the publishing call worked. It comes next for manual posting."),
    )
}

/// The warning, said once per reason, that stories go the manual way.
#[must_use]
pub(super) fn fallback_screen(reason: &Reason) -> Screen {
    Screen::new(
        Text::new()
            .bold("⚠️ Instagram API: ")
            .plain(reason_text(reason))
            .line()
            .plain("Stories come to this chat for manual posting until that is fixed. (Said once.)"),
    )
}

const MAYBE_ON_INSTAGRAM: &str = "Instagram may already show this story: check before posting it by hand.";

/// The message after the last try failed.
#[must_use]
pub(super) fn gave_up_screen(entry: &QueueEntry, reason: &Reason, maybe_on_instagram: bool) -> Screen {
    let text = Text::new()
        .bold(format!("⚠️ Could not send a story after {MAX_SEND_ATTEMPTS} tries; it is marked failed."))
        .line()
        .code(entry.path.clone())
        .line()
        .plain(capitalized(&reason_text(reason)))
        .plain(".");
    Screen::new(if maybe_on_instagram { text.plain(" ").plain(MAYBE_ON_INSTAGRAM) } else { text })
}

/// What a failed history row keeps: the reason's code and its short text.
#[must_use]
pub(super) fn history_text(reason: &Reason, maybe_on_instagram: bool) -> String {
    let text = format!("{}: {}", reason.code(), reason_text(reason));
    if maybe_on_instagram { format!("{text}. {MAYBE_ON_INSTAGRAM}") } else { text }
}

/// Why, in the product's words, with "(ref 7f3a2c)" when a log line has the details.
#[must_use]
pub(super) fn reason_text(reason: &Reason) -> String {
    let text = match reason {
        Reason::NoAccount => "no Instagram account is selected (/settings → Instagram account)".to_owned(),
        Reason::AccountGone => "the account that made the container is gone".to_owned(),
        Reason::NoToken { account } => format!("{account} has no token"),
        Reason::TokenLocked { account } => crate::accounts::locked_token(account),
        Reason::TokenExpired { account } => format!("the token of {account} has expired"),
        Reason::TokenRefused { account, .. } => format!("Instagram refused the token of {account}"),
        Reason::RateLimited(_) => "Instagram's rate limit is reached".to_owned(),
        Reason::QuotaUsedUp { used, total } => {
            format!("the publishing quota is used up ({used} of {total} in 24 hours)")
        }
        Reason::StoryRefused(_) => "Instagram refused the story".to_owned(),
        Reason::MediaUrl(_) => {
            "PUBLIC_BASE_URL is not set, so Instagram cannot fetch media from this server".to_owned()
        }
        Reason::MediaNotProcessed(_) => "Instagram could not process the media".to_owned(),
        Reason::StillProcessing => "Instagram is still processing the media".to_owned(),
        Reason::ContainerExpired => "the media container expired".to_owned(),
        Reason::ExpiredUnpublished => "the media container expired before it was published".to_owned(),
        Reason::DryRunTurnedOn => "dry run was turned on before this story was published".to_owned(),
        Reason::ApiTurnedOff => "the Instagram API was turned off before this story was published".to_owned(),
        Reason::MarkedByHand => "this media was marked to always go by hand".to_owned(),
        Reason::AccountSwitched => "the account was switched before this story was published".to_owned(),
        Reason::PublishedUnasked => "Instagram reported a new container as published".to_owned(),
        Reason::NoAnswer(_) => "Instagram did not answer in time".to_owned(),
        Reason::StoreFailed(_) => "Storyline could not reach its database".to_owned(),
        Reason::MediaUnreadable(_) => "the story's file could not be read".to_owned(),
        Reason::ChatUnreachable(_) => "the chat did not take the story".to_owned(),
        // The inner reason carries the reference.
        Reason::DryRun(inner) => return format!("dry run: {}", reason_text(inner)),
        Reason::DryRunUnfinished(inner) => {
            return format!("dry run, the API check did not finish: {}", reason_text(inner));
        }
    };
    match reason.reference() {
        Some(reference) => format!("{text} (ref {reference})"),
        None => text,
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}
