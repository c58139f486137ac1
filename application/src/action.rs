//! What a button does, and the one codec between an [`Action`] and a button's callback data.
//!
//! Callback data is untrusted input: anyone can send any bytes. The format is
//! `1:<workspace tag>:<code>` — a version, the first 8 hex digits of the workspace id the button
//! was made for, and a short code. It never exceeds 64 bytes (Telegram's limit). Decoding checks
//! the version, the workspace and the code, and fails closed.

use storyline_domain::WorkspaceId;
use storyline_domain::account::AccountId;
use storyline_domain::conversation::PromptKind;
use storyline_domain::login::{ChoiceId, MAX_CHOICES};
use storyline_domain::queue::QueueItemId;
use storyline_domain::schedule::MAX_DAYS;
use storyline_domain::settings::Toggle;
use storyline_domain::source::SourceKind;
use storyline_domain::user::{Role, TelegramUserId};

/// Telegram refuses callback data longer than this.
pub const MAX_CALLBACK_BYTES: usize = 64;
const VERSION: &str = "1";

/// Something a button asks the bot to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Toggle(Toggle),
    /// Ask for a new value.
    Change(PromptKind),
    /// Show (or refresh) the settings menu.
    Settings,
    Status,
    /// Remove the menu.
    Close,
    /// A button on a story in the chat (FEATURES C4).
    Story(StoryMove, QueueItemId),
    /// `/clear`: yes, empty the queue.
    ClearQueue,
    /// `/clear`: no, leave the queue as it is.
    KeepQueue,
    /// `/settings` → Queue: the next stories (FEATURES S1).
    Queue,
    /// `/settings` → Schedule: asks how many days to fill.
    Schedule,
    /// Fill the queue for this many days (1 to [`MAX_DAYS`]).
    ScheduleDays(u8),
    /// `/resume` with overdue items (FEATURES C6).
    Overdue(OverdueChoice),
    /// The account picker (FEATURES A2).
    Accounts,
    /// Make this account the active one.
    SelectAccount(AccountId),
    /// Start the add-account dialogue: the login links, where logging in is possible.
    AddAccount,
    /// Add an account by pasting its token instead of logging in.
    PasteToken,
    /// Give this account a new token by logging in (its token is dead).
    Reconnect(AccountId),
    /// A login reached several accounts: connect the one at this index of the picker, or
    /// (`None`) none of them.
    PickLogin(ChoiceId, Option<u8>),
    /// `/settings` → Change media source: the kind picker (FEATURES M1).
    MediaSource,
    /// Start the media source dialogue for this kind.
    PickSource(SourceKind),
    /// `/admins`: give a person the role admin or member (the owner only).
    SetRole(TelegramUserId, Role),
    /// `/settings import`: apply the settings file whose changes are shown (FEATURES T3).
    ApplyImport,
    /// `/settings import`: leave the settings as they are.
    CancelImport,
}

/// What a button on a story does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoryMove {
    Posted,
    Skip,
    /// Asks to confirm: a rejected media item is never scheduled again.
    Reject,
    ConfirmReject,
    /// Back from the confirmation to the story's buttons.
    KeepIt,
    /// The media needs interaction (link sticker, poll): always post it by hand (FEATURES C5).
    NeedsInteraction,
}

impl StoryMove {
    const CODES: [(Self, char); 6] = [
        (Self::Posted, 'p'),
        (Self::Skip, 's'),
        (Self::Reject, 'r'),
        (Self::ConfirmReject, 'R'),
        (Self::KeepIt, 'k'),
        (Self::NeedsInteraction, 'i'),
    ];
}

/// What to do with the stories that fell due while paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OverdueChoice {
    /// Move them to the next free slots.
    Reschedule,
    /// Drop them from the queue.
    Clear,
    /// Leave them due: the loop sends them, one per tick.
    SendNow,
}

impl Action {
    const TABLE: [(Self, &'static str); 25] = [
        (Self::MediaSource, "m.src"),
        (Self::PickSource(SourceKind::Local), "m.local"),
        (Self::PickSource(SourceKind::S3), "m.s3"),
        (Self::PickSource(SourceKind::Drive), "m.drive"),
        (Self::Accounts, "acct"),
        (Self::AddAccount, "a.add"),
        (Self::PasteToken, "a.paste"),
        (Self::Toggle(Toggle::DryRun), "t.dry"),
        (Self::Toggle(Toggle::InstagramApi), "t.api"),
        (Self::Toggle(Toggle::Paused), "t.pause"),
        (Self::Change(PromptKind::PostsPerDay), "c.ppd"),
        (Self::Change(PromptKind::PostingHours), "c.hours"),
        (Self::Change(PromptKind::TimeZone), "c.tz"),
        (Self::Settings, "settings"),
        (Self::Status, "status"),
        (Self::Close, "close"),
        (Self::ClearQueue, "q.clear"),
        (Self::KeepQueue, "q.keep"),
        (Self::Queue, "queue"),
        (Self::Schedule, "sched"),
        (Self::Overdue(OverdueChoice::Reschedule), "o.move"),
        (Self::Overdue(OverdueChoice::Clear), "o.clear"),
        (Self::Overdue(OverdueChoice::SendNow), "o.send"),
        (Self::ApplyImport, "imp.apply"),
        (Self::CancelImport, "imp.cancel"),
    ];

    /// Every action without a variable part (the others carry a story, an account or days).
    pub fn fixed() -> impl Iterator<Item = Self> {
        Self::TABLE.into_iter().map(|(action, _)| action)
    }

    fn code(self) -> String {
        if let Self::Story(step, item) = self {
            let letter = StoryMove::CODES.iter().find(|(s, _)| *s == step).map_or('?', |(_, c)| *c);
            return format!("s.{letter}.{}", item.compact());
        }
        if let Self::SelectAccount(account) = self {
            return format!("a.s.{}", account.compact());
        }
        if let Self::Reconnect(account) = self {
            return format!("a.r.{}", account.compact());
        }
        if let Self::PickLogin(choice, index) = self {
            return match index {
                Some(index) => format!("a.p.{}.{index}", choice.compact()),
                None => format!("a.p.{}.x", choice.compact()),
            };
        }
        if let Self::ScheduleDays(days) = self {
            return format!("sched.{days}");
        }
        if let Self::SetRole(user, role) = self {
            let letter = if role == Role::Admin { 'a' } else { 'm' };
            return format!("r.{letter}.{}", user.0);
        }
        Self::TABLE.iter().find(|(action, _)| *action == self).map_or_else(String::new, |(_, code)| (*code).to_owned())
    }

    fn from_code(code: &str) -> Option<Self> {
        if let Some(days) = code.strip_prefix("sched.") {
            // Digits only, no sign or leading zero: one spelling per action.
            if days.is_empty() || days.len() > 2 || days.starts_with('0') || !days.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let days = days.parse::<u8>().ok()?;
            return (1..=MAX_DAYS).contains(&u32::from(days)).then_some(Self::ScheduleDays(days));
        }
        if let Some(rest) = code.strip_prefix("r.") {
            let (letter, user) = rest.split_once('.')?;
            let role = match letter {
                "a" => Role::Admin,
                "m" => Role::Member,
                _ => return None,
            };
            // A positive whole number, one spelling: digits only, no leading zero.
            if user.is_empty() || user.len() > 15 || user.starts_with('0') || !user.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            return user.parse::<i64>().ok().map(|id| Self::SetRole(TelegramUserId(id), role));
        }
        if let Some(account) = code.strip_prefix("a.s.") {
            return compact_id(account).and_then(AccountId::parse).map(Self::SelectAccount);
        }
        if let Some(account) = code.strip_prefix("a.r.") {
            return compact_id(account).and_then(AccountId::parse).map(Self::Reconnect);
        }
        if let Some(rest) = code.strip_prefix("a.p.") {
            let (choice, index) = rest.split_once('.')?;
            let choice = compact_id(choice).and_then(ChoiceId::parse)?;
            let index = match index {
                "x" => None,
                digit if digit.len() == 1 && digit.bytes().all(|b| b.is_ascii_digit()) => {
                    let index = digit.parse::<u8>().ok()?;
                    (usize::from(index) < MAX_CHOICES).then_some(index)?;
                    Some(index)
                }
                _ => return None,
            };
            return Some(Self::PickLogin(choice, index));
        }
        if let Some(rest) = code.strip_prefix("s.") {
            let (letter, item) = rest.split_once('.')?;
            let mut letters = letter.chars();
            let (Some(letter), None) = (letters.next(), letters.next()) else { return None };
            let step = StoryMove::CODES.iter().find(|(_, c)| *c == letter).map(|(s, _)| *s)?;
            return QueueItemId::from_compact(item).map(|id| Self::Story(step, id));
        }
        Self::TABLE.iter().find(|(_, known)| *known == code).map(|(action, _)| *action)
    }

    /// The callback data for this action on a button of `workspace`.
    #[must_use]
    pub fn encode(self, workspace: WorkspaceId) -> String {
        format!("{VERSION}:{}:{}", tag(workspace), self.code())
    }

    /// The action behind `data`, if it is well formed and was made for `workspace`.
    ///
    /// # Errors
    /// [`ActionError`] saying why the data was refused.
    pub fn decode(data: &str, workspace: WorkspaceId) -> Result<Self, ActionError> {
        if data.len() > MAX_CALLBACK_BYTES {
            return Err(ActionError::Malformed);
        }
        let mut parts = data.split(':');
        let (Some(version), Some(owner), Some(code), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ActionError::Malformed);
        };
        if version != VERSION {
            return Err(ActionError::Stale);
        }
        if owner != tag(workspace) {
            return Err(ActionError::OtherWorkspace);
        }
        Self::from_code(code).ok_or(ActionError::Malformed)
    }
}

/// Why callback data was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("the button's data is not something this bot made")]
    Malformed,
    #[error("the button is from an older version of the bot")]
    Stale,
    #[error("the button belongs to another workspace")]
    OtherWorkspace,
}

/// `text` when it is 32 hex digits (the one spelling of an id in callback data).
fn compact_id(text: &str) -> Option<&str> {
    (text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())).then_some(text)
}

fn tag(workspace: WorkspaceId) -> String {
    workspace.as_uuid().simple().to_string()[..8].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_within_sixty_four_bytes() {
        let workspace = WorkspaceId::new();
        let stories = StoryMove::CODES.map(|(step, _)| step).map(|step| Action::Story(step, QueueItemId::new()));
        let account = Action::SelectAccount(AccountId::new());
        let login = [
            Action::Reconnect(AccountId::new()),
            Action::PickLogin(ChoiceId::new(), Some(0)),
            Action::PickLogin(ChoiceId::new(), Some(7)),
            Action::PickLogin(ChoiceId::new(), None),
        ];
        let days = (1..=30).map(Action::ScheduleDays);
        let roles = [
            Action::SetRole(TelegramUserId(1), Role::Admin),
            Action::SetRole(TelegramUserId(999_999_999_999_999), Role::Member),
        ];
        let days = days.chain(roles).chain(login);
        for action in Action::TABLE.map(|(action, _)| action).into_iter().chain(stories).chain([account]).chain(days) {
            let data = action.encode(workspace);
            assert!(data.len() <= MAX_CALLBACK_BYTES, "{data}");
            assert_eq!(Action::decode(&data, workspace), Ok(action));
        }
    }

    #[test]
    fn forged_stale_and_malformed_data_is_refused() {
        let workspace = WorkspaceId::new();
        let other = WorkspaceId::new();
        let data = Action::Toggle(Toggle::DryRun).encode(other);
        assert_eq!(Action::decode(&data, workspace), Err(ActionError::OtherWorkspace));
        let stale = data.replacen('1', "0", 1);
        assert_eq!(Action::decode(&stale, other), Err(ActionError::Stale));
        let tag = tag(workspace);
        let story_junk = [
            format!("1:{tag}:s.p.zz"),
            format!("1:{tag}:s.x.{}", "0".repeat(32)),
            format!("1:{tag}:s.pp.{}", "0".repeat(32)),
            format!("1:{tag}:s.p.{}", "g".repeat(32)),
            format!("1:{tag}:s.p.{}", QueueItemId::new().0),
            format!("1:{tag}:a.s.{}", "z".repeat(32)),
            format!("1:{tag}:a.s.{}", AccountId::new()),
            format!("1:{tag}:a.s.{}x", AccountId::new().compact()),
            format!("1:{tag}:a.r.{}", AccountId::new()),
            format!("1:{tag}:a.p.{}.8", ChoiceId::new().compact()),
            format!("1:{tag}:a.p.{}.01", ChoiceId::new().compact()),
            format!("1:{tag}:a.p.{}.-1", ChoiceId::new().compact()),
            format!("1:{tag}:a.p.{}", ChoiceId::new().compact()),
            format!("1:{tag}:a.p.{}.y", ChoiceId::new().compact()),
            format!("1:{tag}:sched.0"),
            format!("1:{tag}:sched.31"),
            format!("1:{tag}:sched.07"),
            format!("1:{tag}:sched.-1"),
            format!("1:{tag}:sched.+7"),
            format!("1:{tag}:sched."),
            format!("1:{tag}:sched.255"),
            format!("1:{tag}:sched.99999999999"),
            format!("1:{tag}:r.o.42"),
            format!("1:{tag}:r.a.042"),
            format!("1:{tag}:r.a.-42"),
            format!("1:{tag}:r.a."),
            format!("1:{tag}:r.m.4x2"),
            format!("1:{tag}:r.a.9999999999999999"),
        ];
        for junk in story_junk.iter().map(String::as_str) {
            assert_eq!(Action::decode(junk, workspace), Err(ActionError::Malformed), "{junk:?}");
        }
        for junk in ["", ":", "1::", "1:x:t.dry:extra", "🎉", "1:abcdefgh:drop table", &"9".repeat(65)] {
            assert!(Action::decode(junk, workspace).is_err(), "{junk:?}");
        }
    }
}
