//! Who may do what (FEATURES S8): one table from every [`Operation`] — a command, a button, an
//! answer to a prompt, a command-line operation — to the [`Role`] it needs and the one sentence
//! that refuses it. Every path asks [`rule`]; nothing else decides.
//!
//! A person's role is the highest of: their role in the workspace (`storyline users promote`),
//! admin when listed in `ADMIN_TELEGRAM_USER_IDS` or an administrator of the chat. A channel post
//! has no user; only channel admins can post there, so it counts as an admin's
//! ([`CHANNEL_POST`]). Whoever runs the command line on the server is the [`OPERATOR`].

pub use storyline_domain::user::Role;

use storyline_domain::conversation::PromptKind;

use crate::action::{Action, StoryMove};
use crate::command::CommandName;

/// The role a channel post (a command with no user) acts with.
pub const CHANNEL_POST: Role = Role::Admin;
/// The role of whoever runs `storyline` on the server: they hold the database and the keys.
pub const OPERATOR: Role = Role::Owner;

/// Refuses a change of the settings.
pub const SETTINGS_REFUSED: &str = "Admins only: ask an admin of this chat to change settings.";
/// Refuses a change of the queue (filling, emptying, sending now, overdue stories).
pub const QUEUE_REFUSED: &str = "Admins only: ask an admin of this chat to change the queue.";
/// Refuses rejecting a story or marking it for posting by hand.
pub const STORY_REFUSED: &str =
    "Admins only: ask an admin of this chat to reject a story or mark it for posting by hand.";
/// Refuses choosing or adding an Instagram account.
pub const ACCOUNTS_REFUSED: &str = "Admins only: ask an admin of this chat to change the Instagram account.";
/// Refuses syncing the library with its media source.
pub const SYNC_REFUSED: &str = "Admins only: ask an admin of this chat to sync the library.";
/// Refuses changing the media source.
pub const SOURCE_REFUSED: &str = "Admins only: ask an admin of this chat to change the media source.";
/// Refuses exporting the settings (the file names the accounts and the media source).
pub const EXPORT_REFUSED: &str = "Admins only: ask an admin of this chat to export the settings.";
/// Refuses importing a settings file.
pub const IMPORT_REFUSED: &str = "Admins only: ask an admin of this chat to import settings.";
/// Refuses what only the owner may do.
pub const OWNER_REFUSED: &str = "Owners only: ask the owner of this workspace.";

/// Something a person asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// A command typed in the chat.
    Command(CommandName),
    /// A button pressed.
    Button(Action),
    /// An answer to a prompt the bot asked.
    Answer(PromptKind),
    /// A command of the `storyline` command line.
    Cli(CliOperation),
}

/// What the command line does, grouped as the table needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CliOperation {
    /// `run`, `console`: serve the chat.
    Serve,
    /// `migrate`, `backup`, `generate-key`, `rotate-keys`: the database and the keys.
    Maintain,
    /// `settings show`, `settings history`, `settings export`, `users list`, `list-media`,
    /// `list-categories`, `category-mix show`, `list-queue`, `list-instagram-accounts`,
    /// `media-source show`: reading.
    Read,
    /// `settings set`, `settings import`, `category-mix set`: the settings.
    ChangeSettings,
    /// `users promote`: who is an admin.
    ChangeRoles,
    /// `index-media`, `sync-media`, `create-schedule`, `clear-queue`, `process-queue`, `resolve`,
    /// `mark-needs-interaction`: the library and the queue.
    ChangeQueue,
    /// The Instagram accounts and their tokens.
    ChangeAccounts,
    /// `media-source set`: where the workspace's media comes from.
    ChangeSource,
}

/// What an operation needs, and what the chat is told when it is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub role: Role,
    pub refusal: &'static str,
}

impl Rule {
    const MEMBER: Self = Self { role: Role::Member, refusal: "" };
    const OWNER: Self = Self { role: Role::Owner, refusal: OWNER_REFUSED };

    const fn admin(refusal: &'static str) -> Self {
        Self { role: Role::Admin, refusal }
    }

    /// Whether someone with `role` may.
    #[must_use]
    pub fn allows(self, role: Role) -> bool {
        role >= self.role
    }
}

/// The table: what `operation` needs.
#[must_use]
pub const fn rule(operation: Operation) -> Rule {
    match operation {
        Operation::Command(command) => match command {
            CommandName::Start
            | CommandName::Help
            | CommandName::Settings
            | CommandName::Status
            | CommandName::Queue
            | CommandName::Stats
            | CommandName::History
            | CommandName::Locks
            | CommandName::Cancel
            // Who may create a workspace is `INIT_ALLOWED_USER_IDS`, asked where there is none.
            | CommandName::Init => Rule::MEMBER,
            CommandName::Next | CommandName::Schedule | CommandName::Clear => Rule::admin(QUEUE_REFUSED),
            CommandName::Pause | CommandName::Resume | CommandName::DryRun => Rule::admin(SETTINGS_REFUSED),
            CommandName::Sync => Rule::admin(SYNC_REFUSED),
            CommandName::Admins => Rule::OWNER,
            CommandName::Export => Rule::admin(EXPORT_REFUSED),
            CommandName::Import => Rule::admin(IMPORT_REFUSED),
        },
        Operation::Button(action) => match action {
            Action::Settings
            | Action::Status
            | Action::Close
            | Action::Queue
            | Action::Accounts
            | Action::KeepQueue
            | Action::Story(StoryMove::Posted | StoryMove::Skip | StoryMove::KeepIt, _) => Rule::MEMBER,
            Action::Toggle(_) | Action::Change(_) => Rule::admin(SETTINGS_REFUSED),
            Action::ClearQueue | Action::Schedule | Action::ScheduleDays(_) | Action::Overdue(_) => {
                Rule::admin(QUEUE_REFUSED)
            }
            Action::Story(StoryMove::Reject | StoryMove::ConfirmReject | StoryMove::NeedsInteraction, _) => {
                Rule::admin(STORY_REFUSED)
            }
            Action::SelectAccount(_)
            | Action::AddAccount
            | Action::PasteToken
            | Action::Reconnect(_)
            | Action::PickLogin(..) => Rule::admin(ACCOUNTS_REFUSED),
            Action::MediaSource | Action::PickSource(_) => Rule::admin(SOURCE_REFUSED),
            Action::SetRole(..) => Rule::OWNER,
            Action::ApplyImport | Action::CancelImport => Rule::admin(IMPORT_REFUSED),
        },
        Operation::Answer(kind) => match kind {
            PromptKind::PostsPerDay | PromptKind::PostingHours | PromptKind::TimeZone => Rule::admin(SETTINGS_REFUSED),
            PromptKind::InstagramAccount => Rule::admin(ACCOUNTS_REFUSED),
            PromptKind::SourceLocalPath
            | PromptKind::SourceS3Bucket
            | PromptKind::SourceS3Prefix
            | PromptKind::SourceS3Endpoint
            | PromptKind::SourceS3Region
            | PromptKind::SourceS3PathStyle
            | PromptKind::SourceS3AccessKeyId
            | PromptKind::SourceS3Secret
            | PromptKind::SourceDriveFolder
            | PromptKind::SourceDriveKey => Rule::admin(SOURCE_REFUSED),
            PromptKind::SettingsFile | PromptKind::SettingsImport => Rule::admin(IMPORT_REFUSED),
        },
        Operation::Cli(operation) => match operation {
            CliOperation::Read => Rule::MEMBER,
            CliOperation::ChangeSettings => Rule::admin(SETTINGS_REFUSED),
            CliOperation::ChangeQueue => Rule::admin(QUEUE_REFUSED),
            CliOperation::ChangeAccounts => Rule::admin(ACCOUNTS_REFUSED),
            CliOperation::ChangeSource => Rule::admin(SOURCE_REFUSED),
            CliOperation::Serve | CliOperation::Maintain | CliOperation::ChangeRoles => Rule::OWNER,
        },
    }
}

/// Checks `operation` for someone with `role`.
///
/// # Errors
/// The refusal to tell them.
pub fn check(role: Role, operation: Operation) -> Result<(), &'static str> {
    let rule = rule(operation);
    if rule.allows(role) { Ok(()) } else { Err(rule.refusal) }
}

/// The commands someone with `role` may use, in menu order: what Telegram's command menu shows
/// them.
#[must_use]
pub fn menu(role: Role) -> Vec<CommandName> {
    CommandName::ALL.into_iter().filter(|&command| rule(Operation::Command(command)).allows(role)).collect()
}

#[cfg(test)]
mod tests {
    use storyline_domain::account::AccountId;
    use storyline_domain::queue::QueueItemId;
    use storyline_domain::settings::Toggle;

    use super::*;
    use crate::action::OverdueChoice;

    /// Every command with the role it must need. The list must name each command once.
    const COMMANDS: [(CommandName, Role); 20] = [
        (CommandName::Start, Role::Member),
        (CommandName::Admins, Role::Owner),
        (CommandName::Init, Role::Member),
        (CommandName::Help, Role::Member),
        (CommandName::Settings, Role::Member),
        (CommandName::Status, Role::Member),
        (CommandName::Queue, Role::Member),
        (CommandName::Stats, Role::Member),
        (CommandName::History, Role::Member),
        (CommandName::Locks, Role::Member),
        (CommandName::Cancel, Role::Member),
        (CommandName::Next, Role::Admin),
        (CommandName::Schedule, Role::Admin),
        (CommandName::Clear, Role::Admin),
        (CommandName::Pause, Role::Admin),
        (CommandName::Resume, Role::Admin),
        (CommandName::DryRun, Role::Admin),
        (CommandName::Sync, Role::Admin),
        (CommandName::Export, Role::Admin),
        (CommandName::Import, Role::Admin),
    ];

    fn every_action() -> Vec<(Action, Role)> {
        let item = QueueItemId::new();
        vec![
            (Action::Toggle(Toggle::DryRun), Role::Admin),
            (Action::Toggle(Toggle::InstagramApi), Role::Admin),
            (Action::Toggle(Toggle::Paused), Role::Admin),
            (Action::Change(PromptKind::PostsPerDay), Role::Admin),
            (Action::Change(PromptKind::PostingHours), Role::Admin),
            (Action::Change(PromptKind::TimeZone), Role::Admin),
            (Action::Change(PromptKind::InstagramAccount), Role::Admin),
            (Action::Settings, Role::Member),
            (Action::Status, Role::Member),
            (Action::Close, Role::Member),
            (Action::Story(StoryMove::Posted, item), Role::Member),
            (Action::Story(StoryMove::Skip, item), Role::Member),
            (Action::Story(StoryMove::KeepIt, item), Role::Member),
            (Action::Story(StoryMove::Reject, item), Role::Admin),
            (Action::Story(StoryMove::ConfirmReject, item), Role::Admin),
            (Action::Story(StoryMove::NeedsInteraction, item), Role::Admin),
            (Action::ClearQueue, Role::Admin),
            (Action::KeepQueue, Role::Member),
            (Action::Queue, Role::Member),
            (Action::Schedule, Role::Admin),
            (Action::ScheduleDays(7), Role::Admin),
            (Action::Overdue(OverdueChoice::Reschedule), Role::Admin),
            (Action::Overdue(OverdueChoice::Clear), Role::Admin),
            (Action::Overdue(OverdueChoice::SendNow), Role::Admin),
            (Action::Accounts, Role::Member),
            (Action::SelectAccount(AccountId::new()), Role::Admin),
            (Action::AddAccount, Role::Admin),
            (Action::PasteToken, Role::Admin),
            (Action::Reconnect(AccountId::new()), Role::Admin),
            (Action::PickLogin(storyline_domain::login::ChoiceId::new(), None), Role::Admin),
            (Action::SetRole(storyline_domain::user::TelegramUserId(42), Role::Admin), Role::Owner),
            (Action::SetRole(storyline_domain::user::TelegramUserId(42), Role::Member), Role::Owner),
            (Action::MediaSource, Role::Admin),
            (Action::PickSource(storyline_domain::source::SourceKind::Local), Role::Admin),
            (Action::PickSource(storyline_domain::source::SourceKind::S3), Role::Admin),
            (Action::PickSource(storyline_domain::source::SourceKind::Drive), Role::Admin),
            (Action::ApplyImport, Role::Admin),
            (Action::CancelImport, Role::Admin),
        ]
    }

    /// Asserts the rule of `operation` needs `role`, refuses everyone below it with its one
    /// sentence, and allows everyone at or above it.
    fn assert_needs(operation: Operation, role: Role) {
        let rule = rule(operation);
        assert_eq!(rule.role, role, "{operation:?}");
        for someone in [Role::Member, Role::Admin, Role::Owner] {
            let checked = check(someone, operation);
            if someone >= role {
                assert_eq!(checked, Ok(()), "{operation:?} by {someone:?}");
            } else {
                assert_eq!(checked, Err(rule.refusal), "{operation:?} by {someone:?}");
                assert!(rule.refusal.ends_with('.') && rule.refusal.contains("only"), "{operation:?}");
            }
        }
    }

    #[test]
    fn every_command_has_its_role_in_the_table() {
        let mut named: Vec<_> = COMMANDS.iter().map(|(command, _)| *command).collect();
        named.dedup();
        assert_eq!(named.len(), CommandName::ALL.len());
        for command in CommandName::ALL {
            let expected = COMMANDS.iter().find(|(c, _)| *c == command).map(|(_, role)| *role);
            assert_eq!(expected.map(|role| assert_needs(Operation::Command(command), role)), Some(()), "{command:?}");
        }
    }

    #[test]
    fn every_button_has_its_role_in_the_table() {
        let actions = every_action();
        // Every fixed button of the codec is in the list above.
        for known in Action::fixed() {
            assert!(actions.iter().any(|(action, _)| *action == known), "{known:?} is missing from the test");
        }
        for (action, role) in actions {
            assert_needs(Operation::Button(action), role);
        }
    }

    #[test]
    fn answers_and_command_line_operations_have_their_roles() {
        for kind in [PromptKind::PostsPerDay, PromptKind::PostingHours, PromptKind::TimeZone] {
            assert_needs(Operation::Answer(kind), Role::Admin);
            assert_eq!(rule(Operation::Answer(kind)).refusal, rule(Operation::Button(Action::Change(kind))).refusal);
        }
        assert_needs(Operation::Answer(PromptKind::InstagramAccount), Role::Admin);
        assert_eq!(
            rule(Operation::Answer(PromptKind::InstagramAccount)).refusal,
            rule(Operation::Button(Action::AddAccount)).refusal
        );
        for kind in PromptKind::ALL.into_iter().filter(|k| k.is_source()) {
            assert_needs(Operation::Answer(kind), Role::Admin);
            assert_eq!(rule(Operation::Answer(kind)).refusal, SOURCE_REFUSED);
        }
        for kind in [PromptKind::SettingsFile, PromptKind::SettingsImport] {
            assert_needs(Operation::Answer(kind), Role::Admin);
            assert_eq!(rule(Operation::Answer(kind)).refusal, rule(Operation::Command(CommandName::Import)).refusal);
        }
        for (operation, role) in [
            (CliOperation::Read, Role::Member),
            (CliOperation::ChangeSettings, Role::Admin),
            (CliOperation::ChangeQueue, Role::Admin),
            (CliOperation::ChangeAccounts, Role::Admin),
            (CliOperation::ChangeSource, Role::Admin),
            (CliOperation::ChangeRoles, Role::Owner),
            (CliOperation::Maintain, Role::Owner),
            (CliOperation::Serve, Role::Owner),
        ] {
            assert_needs(Operation::Cli(operation), role);
            assert_eq!(check(OPERATOR, Operation::Cli(operation)), Ok(()));
        }
    }

    #[test]
    fn a_channel_post_acts_as_an_admin() {
        assert_eq!(check(CHANNEL_POST, Operation::Command(CommandName::Schedule)), Ok(()));
        assert_eq!(check(CHANNEL_POST, Operation::Command(CommandName::Pause)), Ok(()));
    }

    #[test]
    fn the_menu_shows_members_their_commands_and_admins_all() {
        let members = menu(Role::Member);
        let admins = menu(Role::Admin);
        assert_eq!(menu(Role::Owner), CommandName::ALL.to_vec());
        assert_eq!(admins, CommandName::ALL.into_iter().filter(|c| *c != CommandName::Admins).collect::<Vec<_>>());
        assert!(members.contains(&CommandName::Settings) && members.contains(&CommandName::Queue));
        for admin_only in [CommandName::Next, CommandName::Schedule, CommandName::Clear, CommandName::Pause] {
            assert!(!members.contains(&admin_only), "{admin_only:?}");
        }
        assert_eq!(members.len(), 10);
    }
}
