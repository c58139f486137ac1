//! The chat's commands, parsed once: `/name args` (as [`crate::bot::Event::Command`] carries
//! it) becomes a typed [`Command`] with its arguments checked, or a [`CommandError`] whose text
//! says what is allowed. [`CommandName::ALL`] is the one list of commands: the bot matches on
//! it, [`crate::access`] says who may use each, and Telegram's command menu is built from it.

use storyline_domain::schedule::MAX_DAYS;

/// `/schedule` without a number fills this many days.
pub const DEFAULT_SCHEDULE_DAYS: u32 = 7;
/// `/history` without a number shows this many stories.
pub const DEFAULT_HISTORY: u32 = 10;
/// `/history` shows at most this many stories.
pub const MAX_HISTORY: u32 = 50;

/// A command as people type it, without its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandName {
    Start,
    Help,
    Settings,
    Export,
    Import,
    Status,
    Queue,
    Stats,
    History,
    Locks,
    Cancel,
    Next,
    Schedule,
    Clear,
    Pause,
    Resume,
    DryRun,
    Sync,
    Init,
    Admins,
}

impl CommandName {
    /// Every command, in the order the command menu shows them.
    pub const ALL: [Self; 20] = [
        Self::Settings,
        Self::Export,
        Self::Import,
        Self::Status,
        Self::Queue,
        Self::Stats,
        Self::History,
        Self::Locks,
        Self::Help,
        Self::Start,
        Self::Cancel,
        Self::Next,
        Self::Schedule,
        Self::Clear,
        Self::Pause,
        Self::Resume,
        Self::DryRun,
        Self::Sync,
        Self::Init,
        Self::Admins,
    ];

    /// The word after the slash.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Help => "help",
            Self::Settings => "settings",
            Self::Export => "export",
            Self::Import => "import",
            Self::Status => "status",
            Self::Queue => "queue",
            Self::Stats => "stats",
            Self::History => "history",
            Self::Locks => "locks",
            Self::Cancel => "cancel",
            Self::Next => "next",
            Self::Schedule => "schedule",
            Self::Clear => "clear",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::DryRun => "dryrun",
            Self::Sync => "sync",
            Self::Init => "init",
            Self::Admins => "admins",
        }
    }

    /// What the command does, for the command menu (Telegram allows 1 to 256 characters).
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            Self::Start => "Say hello and what this bot does",
            Self::Help => "Every command",
            Self::Settings => "The settings menu",
            Self::Export => "The settings as a JSON file (also /settings export)",
            Self::Import => "Apply a settings file: shows what changes first (also /settings import)",
            Self::Status => "What the bot is doing",
            Self::Queue => "The next stories",
            Self::Stats => "Counts of queued and handled stories",
            Self::History => "The last stories handled (/history N, up to 50)",
            Self::Locks => "Media resting before it may be posted again",
            Self::Cancel => "Cancel the question I asked you",
            Self::Next => "Send the next story now",
            Self::Schedule => "Fill the queue (/schedule N days, 1 to 30, default 7)",
            Self::Clear => "Empty the queue",
            Self::Pause => "Stop posting",
            Self::Resume => "Restart posting",
            Self::DryRun => "Switch dry run (/dryrun on, /dryrun off)",
            Self::Sync => "Sync the library with its media source now",
            Self::Init => "Set up a workspace for this chat",
            Self::Admins => "Who is an admin here; the owner promotes and demotes",
        }
    }

    /// The command spelled `name` (lower case, without the slash or a `@botname`).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|command| command.as_str() == name)
    }

    /// How to use the command's arguments, said when they were wrong.
    #[must_use]
    pub fn usage(self) -> String {
        match self {
            Self::Schedule => format!(
                "Use /schedule N with N a number of days from 1 to {MAX_DAYS} (default {DEFAULT_SCHEDULE_DAYS})."
            ),
            Self::History => {
                format!("Use /history N with N from 1 to {MAX_HISTORY} (default {DEFAULT_HISTORY}).")
            }
            Self::DryRun => "Use /dryrun to switch it, or /dryrun on, /dryrun off.".to_owned(),
            other => format!("Use /{} on its own.", other.as_str()),
        }
    }
}

/// A command with its arguments checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    Start,
    Help,
    Settings,
    /// The workspace's settings as a JSON file (`/export`, `/settings export`).
    Export,
    /// Asks for a settings file to apply (`/import`, `/settings import`).
    Import,
    Status,
    Queue,
    Stats,
    /// The last `limit` stories handled (1 to [`MAX_HISTORY`]).
    History {
        limit: u32,
    },
    Locks,
    Cancel,
    Next,
    /// Fill the queue for `days` days (1 to [`MAX_DAYS`]).
    Schedule {
        days: u32,
    },
    Clear,
    Pause,
    Resume,
    /// Set dry run on or off; `None` switches it.
    DryRun(Option<bool>),
    /// Sync the library with its media source now.
    Sync,
    /// Set up this chat's workspace (a chat without one).
    Init,
    /// Who is an admin; the owner promotes and demotes.
    Admins,
}

/// Why a command was not understood; its text says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No such command (the name as typed, at most 32 characters, control characters shown as
    /// U+FFFD).
    #[error("I don't know /{0}. /help lists what I understand.")]
    Unknown(String),
    /// A known command with arguments it does not take.
    #[error("{}", .0.usage())]
    Arguments(CommandName),
}

impl Command {
    /// Reads `/name args`. Commands that take no arguments ignore what follows them.
    ///
    /// # Errors
    /// [`CommandError`] for an unknown command or arguments out of range.
    pub fn parse(name: &str, args: &str) -> Result<Self, CommandError> {
        let Some(name) = CommandName::from_name(name) else {
            let shown = name.chars().take(32).map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect();
            return Err(CommandError::Unknown(shown));
        };
        let args = args.trim();
        let wrong = || CommandError::Arguments(name);
        Ok(match name {
            CommandName::Start => Self::Start,
            CommandName::Help => Self::Help,
            CommandName::Settings if args.eq_ignore_ascii_case("export") => Self::Export,
            CommandName::Settings if args.eq_ignore_ascii_case("import") => Self::Import,
            CommandName::Settings => Self::Settings,
            CommandName::Export => Self::Export,
            CommandName::Import => Self::Import,
            CommandName::Status => Self::Status,
            CommandName::Queue => Self::Queue,
            CommandName::Stats => Self::Stats,
            CommandName::History => {
                Self::History { limit: count(args, DEFAULT_HISTORY, MAX_HISTORY).ok_or_else(wrong)? }
            }
            CommandName::Locks => Self::Locks,
            CommandName::Cancel => Self::Cancel,
            CommandName::Next => Self::Next,
            CommandName::Schedule => {
                Self::Schedule { days: count(args, DEFAULT_SCHEDULE_DAYS, MAX_DAYS).ok_or_else(wrong)? }
            }
            CommandName::Clear => Self::Clear,
            CommandName::Pause => Self::Pause,
            CommandName::Resume => Self::Resume,
            CommandName::DryRun => Self::DryRun(match args.to_ascii_lowercase().as_str() {
                "" => None,
                "on" | "true" => Some(true),
                "off" | "false" => Some(false),
                _ => return Err(wrong()),
            }),
            CommandName::Sync => Self::Sync,
            CommandName::Init => Self::Init,
            CommandName::Admins => Self::Admins,
        })
    }

    /// The command without its arguments.
    #[must_use]
    pub const fn name(self) -> CommandName {
        match self {
            Self::Start => CommandName::Start,
            Self::Help => CommandName::Help,
            Self::Settings => CommandName::Settings,
            Self::Export => CommandName::Export,
            Self::Import => CommandName::Import,
            Self::Status => CommandName::Status,
            Self::Queue => CommandName::Queue,
            Self::Stats => CommandName::Stats,
            Self::History { .. } => CommandName::History,
            Self::Locks => CommandName::Locks,
            Self::Cancel => CommandName::Cancel,
            Self::Next => CommandName::Next,
            Self::Schedule { .. } => CommandName::Schedule,
            Self::Clear => CommandName::Clear,
            Self::Pause => CommandName::Pause,
            Self::Resume => CommandName::Resume,
            Self::DryRun(_) => CommandName::DryRun,
            Self::Sync => CommandName::Sync,
            Self::Init => CommandName::Init,
            Self::Admins => CommandName::Admins,
        }
    }
}

impl CommandError {
    /// The command the error is about, when it is a known one.
    #[must_use]
    pub const fn name(&self) -> Option<CommandName> {
        match self {
            Self::Unknown(_) => None,
            Self::Arguments(name) => Some(*name),
        }
    }
}

/// A bounded whole number typed after a command, or the default when nothing was typed.
fn count(args: &str, default: u32, max: u32) -> Option<u32> {
    if args.is_empty() {
        return Some(default);
    }
    args.parse::<u32>().ok().filter(|n| (1..=max).contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_name_reads_back_and_fits_the_menu() {
        for name in CommandName::ALL {
            assert_eq!(CommandName::from_name(name.as_str()), Some(name));
            let word = name.as_str();
            assert!(!word.is_empty() && word.len() <= 32 && word.bytes().all(|b| b.is_ascii_lowercase()), "{word}");
            assert!((1..=256).contains(&name.description().chars().count()), "{word}");
        }
        let mut words: Vec<_> = CommandName::ALL.iter().map(|n| n.as_str()).collect();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), CommandName::ALL.len());
    }

    #[test]
    fn a_command_without_arguments_parses_to_itself() -> Result<(), CommandError> {
        for name in CommandName::ALL {
            assert_eq!(Command::parse(name.as_str(), "")?.name(), name);
        }
        assert_eq!(Command::parse("status", "now")?, Command::Status);
        Ok(())
    }

    #[test]
    fn counts_after_a_command_are_bounded_and_the_refusal_says_the_range() -> Result<(), CommandError> {
        assert_eq!(Command::parse("schedule", "")?, Command::Schedule { days: 7 });
        assert_eq!(Command::parse("schedule", " 3 ")?, Command::Schedule { days: 3 });
        assert_eq!(Command::parse("schedule", "30")?, Command::Schedule { days: 30 });
        assert_eq!(Command::parse("history", "")?, Command::History { limit: 10 });
        assert_eq!(Command::parse("history", "50")?, Command::History { limit: 50 });
        for bad in ["0", "31", "99", "-1", "abc", "99999999999", "3 days"] {
            let refused = Command::parse("schedule", bad);
            assert_eq!(refused, Err(CommandError::Arguments(CommandName::Schedule)), "{bad}");
            let said = refused.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(said.contains("from 1 to 30"), "{said}");
        }
        assert_eq!(Command::parse("history", "51"), Err(CommandError::Arguments(CommandName::History)));
        Ok(())
    }

    #[test]
    fn dry_run_takes_on_off_or_nothing() -> Result<(), CommandError> {
        assert_eq!(Command::parse("dryrun", "")?, Command::DryRun(None));
        assert_eq!(Command::parse("dryrun", "ON")?, Command::DryRun(Some(true)));
        assert_eq!(Command::parse("dryrun", "false")?, Command::DryRun(Some(false)));
        assert_eq!(Command::parse("dryrun", "maybe"), Err(CommandError::Arguments(CommandName::DryRun)));
        Ok(())
    }

    #[test]
    fn an_unknown_command_is_named_short_and_points_to_help() {
        let long = "x".repeat(100);
        let said = Command::parse(&long, "").err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(said, format!("I don't know /{}. /help lists what I understand.", "x".repeat(32)));
        let control = Command::parse("a\u{7}b", "").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(control.starts_with("I don't know /a\u{FFFD}b."), "{control}");
    }
}
