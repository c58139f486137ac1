//! The command line asks the same table as the chat ([`storyline_application::access`]): each
//! subcommand is one [`CliOperation`], done as the [`access::OPERATOR`] — whoever runs
//! `storyline` on the server holds the database and the keys, so they are the owner.

use storyline_application::access::{self, CliOperation, Operation};

use super::Command;
use super::library::MixCommand;
use super::settings::SettingsCommand;
use super::sources::SourceCommand;
use super::users::UsersCommand;
use super::workspaces::WorkspacesCommand;

/// What `command` does, as the table knows it.
pub(super) const fn operation(command: &Command) -> CliOperation {
    match command {
        Command::Run | Command::Console { .. } => CliOperation::Serve,
        Command::Migrate | Command::Backup { .. } | Command::RotateKeys | Command::GenerateKey => {
            CliOperation::Maintain
        }
        Command::Settings(
            SettingsCommand::Show { .. } | SettingsCommand::History { .. } | SettingsCommand::Export { .. },
        )
        | Command::Users(UsersCommand::List { .. })
        | Command::CategoryMix(MixCommand::History { .. })
        | Command::ListMedia { .. }
        | Command::ListCategories { .. }
        | Command::ListQueue { .. }
        | Command::ListInstagramAccounts { .. }
        | Command::MediaSource(SourceCommand::Show { .. })
        | Command::Workspaces(WorkspacesCommand::List { .. } | WorkspacesCommand::Show { .. })
        | Command::Replicas { .. } => CliOperation::Read,
        Command::Settings(SettingsCommand::Set { .. } | SettingsCommand::Import { .. })
        | Command::CategoryMix(MixCommand::Set { .. }) => CliOperation::ChangeSettings,
        Command::Users(UsersCommand::Promote { .. }) => CliOperation::ChangeRoles,
        Command::IndexMedia { .. }
        | Command::SyncMedia { .. }
        | Command::CreateSchedule { .. }
        | Command::ClearQueue { .. }
        | Command::ProcessQueue { .. }
        | Command::Resolve { .. }
        | Command::MarkNeedsInteraction(_) => CliOperation::ChangeQueue,
        Command::AddInstagramAccount(_)
        | Command::SwitchInstagramAccount(_)
        | Command::DeactivateInstagramAccount(_)
        | Command::ReactivateInstagramAccount(_)
        | Command::RemoveInstagramAccount(_)
        | Command::SetInstagramToken(_)
        | Command::RefreshInstagramTokens => CliOperation::ChangeAccounts,
        Command::MediaSource(SourceCommand::Set(_)) => CliOperation::ChangeSource,
    }
}

/// Whether the operator may run `command`.
///
/// # Errors
/// The table's refusal.
pub(super) fn check(command: &Command) -> Result<(), &'static str> {
    access::check(access::OPERATOR, Operation::Cli(operation(command)))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    fn parsed(args: &[&str]) -> Command {
        match Cli::try_parse_from(std::iter::once("storyline").chain(args.iter().copied())) {
            Ok(cli) => cli.command,
            Err(error) => panic!("{args:?}: {error}"),
        }
    }

    #[test]
    fn every_command_line_operation_is_in_the_table_and_the_operator_may_do_it() {
        for (args, expected) in [
            (&["run"][..], CliOperation::Serve),
            (&["migrate"], CliOperation::Maintain),
            (&["rotate-keys"], CliOperation::Maintain),
            (&["settings", "show"], CliOperation::Read),
            (&["list-queue"], CliOperation::Read),
            (&["settings", "set", "posts_per_day", "3"], CliOperation::ChangeSettings),
            (&["settings", "export", "--output", "settings.json"], CliOperation::Read),
            (&["settings", "import", "settings.json", "--yes"], CliOperation::ChangeSettings),
            (&["users", "promote", "7", "--role", "admin"], CliOperation::ChangeRoles),
            (&["create-schedule"], CliOperation::ChangeQueue),
            (&["clear-queue", "--yes"], CliOperation::ChangeQueue),
            (&["sync-media"], CliOperation::ChangeQueue),
            (&["refresh-instagram-tokens"], CliOperation::ChangeAccounts),
            (&["media-source", "show"], CliOperation::Read),
            (&["workspaces", "list"], CliOperation::Read),
            (&["workspaces", "show", "--chat", "-100"], CliOperation::Read),
            (&["media-source", "set", "local", "/srv/media"], CliOperation::ChangeSource),
        ] {
            let command = parsed(args);
            assert_eq!(operation(&command), expected, "{args:?}");
            assert_eq!(check(&command), Ok(()), "{args:?}");
        }
    }
}
