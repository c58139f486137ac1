//! The `/init` wizard (FEATURES T1): how a new team sets up its workspace from its own chat,
//! one question at a time — a name, a time zone, posts per day, posting hours, where media comes
//! from, an Instagram account — then a summary to confirm. Pure: the bot parses each answer
//! with the same rules as the settings prompts and hands the typed value here; the store keeps
//! the wizard between messages (it survives a restart) and creates the workspace from
//! [`InitWizard::founding`] in one transaction when it is confirmed.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::ChatId;
use crate::settings::{PostingWindow, PostsPerDay, SettingsDefaults};
use crate::user::{TelegramUserId, User};

/// How long a wizard waits for its next answer before it is forgotten.
pub const WIZARD_LIFETIME: Duration = Duration::minutes(30);

/// The longest workspace name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// The time zones offered as buttons; any other IANA name can be typed.
pub const COMMON_ZONES: [Tz; 8] = [
    Tz::UTC,
    Tz::Europe__London,
    Tz::Europe__Berlin,
    Tz::Europe__Moscow,
    Tz::America__New_York,
    Tz::America__Los_Angeles,
    Tz::Asia__Dubai,
    Tz::Asia__Tokyo,
];

/// The question the wizard is asking, in the order it asks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitStep {
    Name,
    TimeZone,
    PostsPerDay,
    PostingHours,
    MediaSource,
    Account,
    Summary,
}

impl InitStep {
    /// Every step, in order.
    pub const ALL: [Self; 7] = [
        Self::Name,
        Self::TimeZone,
        Self::PostsPerDay,
        Self::PostingHours,
        Self::MediaSource,
        Self::Account,
        Self::Summary,
    ];

    /// The step after this one (the summary is the last).
    #[must_use]
    pub fn next(self) -> Self {
        let at = Self::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Self::ALL.get(at + 1).copied().unwrap_or(Self::Summary)
    }

    /// The step before this one (the name is the first).
    #[must_use]
    pub fn previous(self) -> Self {
        let at = Self::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Self::ALL[at.saturating_sub(1)]
    }

    /// "2/6": where this question stands among the six (the summary has none).
    #[must_use]
    pub fn progress(self) -> String {
        let at = Self::ALL.iter().position(|s| *s == self).unwrap_or(0);
        format!("{}/{}", at + 1, Self::ALL.len() - 1)
    }
}

/// Where the new workspace's media comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaChoice {
    /// The workspace's own folder on the server, inside `MEDIA_DIR` (nothing more to ask).
    Folder,
    /// An S3 bucket: its dialogue starts once the workspace exists.
    S3,
    /// A Google Drive folder: its dialogue starts once the workspace exists.
    Drive,
}

/// Whether to connect an Instagram account now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountChoice {
    /// The add-account dialogue starts once the workspace exists.
    Add,
    /// Later, from /settings (stories go to the chat meanwhile).
    Later,
}

/// Why an answer was not taken; the wizard stays where it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitError {
    #[error("A name must have 1 to {MAX_NAME_CHARS} characters.")]
    Name,
    #[error("That answer is for another question; answer the one above.")]
    OtherStep,
}

/// A wizard under way in one chat, with the answers so far. Started by one person; only their
/// answers and presses move it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitWizard {
    pub user: TelegramUserId,
    pub step: InitStep,
    pub name: String,
    pub time_zone: Tz,
    pub posts_per_day: PostsPerDay,
    pub window: PostingWindow,
    pub media: MediaChoice,
    pub account: AccountChoice,
    /// Whether dry run and the Instagram API start on (the deployment's defaults; not asked).
    pub dry_run: bool,
    pub instagram_api: bool,
    /// The message that asked the current question, so the next one can replace it.
    pub message_id: Option<i32>,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The channel this wizard sets up from a private chat (a channel post names no sender, so
    /// its admin answers privately); `None`: the chat the wizard runs in.
    #[serde(default)]
    pub channel: Option<ChatId>,
}

impl InitWizard {
    /// A wizard started by `user` at `now`, its suggestions taken from the deployment's
    /// defaults and `name` (the chat's title).
    #[must_use]
    pub fn start(user: TelegramUserId, name: &str, defaults: &SettingsDefaults, now: DateTime<Utc>) -> Self {
        Self {
            user,
            step: InitStep::Name,
            name: clean_name(name).unwrap_or_else(|_| "Team".to_owned()),
            time_zone: defaults.time_zone,
            posts_per_day: defaults.posts_per_day,
            window: defaults.window,
            media: MediaChoice::Folder,
            account: AccountChoice::Later,
            dry_run: defaults.dry_run,
            instagram_api: defaults.instagram_api,
            message_id: None,
            started_at: now,
            expires_at: now + WIZARD_LIFETIME,
            channel: None,
        }
    }

    /// The same wizard, setting up `channel` (it runs in a private chat with its admin).
    #[must_use]
    pub const fn for_channel(mut self, channel: ChatId) -> Self {
        self.channel = Some(channel);
        self
    }

    /// Whether the wizard has waited too long at `now`.
    #[must_use]
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// Takes `answer` for the current step and moves to the next; each answer restarts the
    /// wizard's lifetime.
    ///
    /// # Errors
    /// [`InitError`] when the answer does not fit the step; nothing changes then.
    pub fn answer(&mut self, answer: InitAnswer, now: DateTime<Utc>) -> Result<(), InitError> {
        match (self.step, answer) {
            (InitStep::Name, InitAnswer::Name(name)) => self.name = clean_name(&name)?,
            (InitStep::TimeZone, InitAnswer::TimeZone(zone)) => self.time_zone = zone,
            (InitStep::PostsPerDay, InitAnswer::PostsPerDay(posts)) => self.posts_per_day = posts,
            (InitStep::PostingHours, InitAnswer::Window(window)) => self.window = window,
            (InitStep::MediaSource, InitAnswer::Media(media)) => self.media = media,
            (InitStep::Account, InitAnswer::Account(account)) => self.account = account,
            // The suggestion shown (the current value) is kept.
            (step, InitAnswer::Keep) if step != InitStep::Summary => {}
            _ => return Err(InitError::OtherStep),
        }
        self.step = self.step.next();
        self.expires_at = now + WIZARD_LIFETIME;
        Ok(())
    }

    /// Goes back one question, keeping the answers.
    pub fn back(&mut self, now: DateTime<Utc>) {
        self.step = self.step.previous();
        self.expires_at = now + WIZARD_LIFETIME;
    }

    /// What the workspace will be made of, once the summary is confirmed by `owner`.
    #[must_use]
    pub fn founding(&self, owner: User) -> Founding {
        Founding {
            name: self.name.clone(),
            settings: SettingsDefaults {
                dry_run: self.dry_run,
                instagram_api: self.instagram_api,
                posts_per_day: self.posts_per_day,
                window: self.window,
                time_zone: self.time_zone,
            },
            owner,
            chat: self.channel,
        }
    }
}

/// One answer to the wizard, already typed (the bot parses the text as the settings prompts do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitAnswer {
    Name(String),
    TimeZone(Tz),
    PostsPerDay(PostsPerDay),
    Window(PostingWindow),
    Media(MediaChoice),
    Account(AccountChoice),
    /// Keep the value suggested for this step.
    Keep,
}

/// What a confirmed wizard creates: the workspace, its first settings, and its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Founding {
    pub name: String,
    pub settings: SettingsDefaults,
    pub owner: User,
    /// The chat the workspace serves when it is not the wizard's own (a channel set up from a
    /// private chat).
    pub chat: Option<ChatId>,
}

/// A name as a store keeps it: trimmed, control characters removed, 1 to [`MAX_NAME_CHARS`]
/// characters.
///
/// # Errors
/// [`InitError::Name`] when nothing is left or it is too long.
pub fn clean_name(name: &str) -> Result<String, InitError> {
    let cleaned: String = name.chars().filter(|c| !c.is_control()).collect::<String>().trim().to_owned();
    let count = cleaned.chars().count();
    if count == 0 || count > MAX_NAME_CHARS {
        return Err(InitError::Name);
    }
    Ok(cleaned)
}

#[cfg(test)]
mod tests;
