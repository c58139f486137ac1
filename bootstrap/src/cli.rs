//! The `storyline` command line (FEATURES O1): one binary, a subcommand per task, `--help` on
//! each. A failure is one line on stderr and exit code 1; refused input is one line saying what
//! is allowed and exit code 2; a closed stdout (`… | head -1`) ends quietly with exit code 0, as
//! `rg` does.

mod access;
mod accounts;
mod failure;
mod library;
mod queue;
mod replicas;
mod settings;
mod sources;
mod users;
pub(crate) mod workspace;
mod workspaces;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use storyline_telegram::PollSettings;

pub use self::failure::{Refusal, is_broken_pipe, one_line};
pub use self::workspace::ChatArg;
use crate::config::Config;
use crate::wiring::App;
use crate::{logging, serve};

/// Storyline: a self-hosted Instagram Story scheduler, run through a Telegram bot.
///
/// Configuration comes from the environment or a `.env` file in the working directory; see the
/// README for every variable. A command's workspace is its --chat, else TELEGRAM_CHAT_ID, else
/// the only workspace there is.
#[derive(Debug, Parser)]
#[command(name = "storyline", version, propagate_version = false)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the team chat on Telegram (needs TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID); stops on
    /// Ctrl-C or SIGTERM.
    Run,
    /// The same bot in this terminal: type commands, press buttons by number. No token needed.
    Console {
        #[command(flatten)]
        chat: ChatArg,
    },
    /// Apply every pending database migration, then exit.
    Migrate,
    /// Write a consistent copy of the SQLite database to a new FILE (on PostgreSQL, use pg_dump).
    Backup {
        /// The new file to write (it must not exist yet).
        file: std::path::PathBuf,
    },
    /// Show, change and audit a workspace's runtime settings.
    #[command(subcommand)]
    Settings(settings::SettingsCommand),
    /// List a workspace's people and promote them.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Add a folder's images (JPEG, PNG) and videos (MP4, MOV) to the library; the first folder
    /// below it is the category. Default: MEDIA_DIR.
    IndexMedia {
        /// The folder to index (default: MEDIA_DIR, which is where the bot reads stories from).
        path: Option<std::path::PathBuf>,
        #[command(flatten)]
        chat: ChatArg,
    },
    /// Bring the library in step with the workspace's media source now: new files indexed,
    /// moved ones recognised, gone ones deactivated (their queued stories dropped), and a summary.
    SyncMedia {
        #[command(flatten)]
        chat: ChatArg,
    },
    /// The library's media items.
    ListMedia {
        /// Only this category (a first-level folder of the library).
        #[arg(long)]
        category: Option<String>,
        /// At most this many items.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Print JSON (an array of media items) instead of a table, for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        chat: ChatArg,
    },
    /// The library's categories with their counts and share of the mix.
    ListCategories {
        /// Print JSON (an array of categories) instead of a table, for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        chat: ChatArg,
    },
    /// Set the share of each category in the schedule, or see every version.
    #[command(subcommand)]
    CategoryMix(library::MixCommand),
    /// Fill the queue for N more days (after the last slot queued; 1 to 30).
    CreateSchedule {
        /// How many days of posting windows to fill, from 1 to 30.
        #[arg(long, default_value_t = 7)]
        days: u32,
        #[command(flatten)]
        chat: ChatArg,
    },
    /// The queued stories, by slot, with the item id `resolve` takes.
    ListQueue {
        /// At most this many stories.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON (an array of objects) instead of a table, for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        chat: ChatArg,
    },
    /// Remove every pending story from the queue (stories already in the chat stay).
    ClearQueue {
        /// Confirm: without it nothing is removed.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        chat: ChatArg,
    },
    /// Run one tick of the posting loop now; with --force, send the workspace's next story even
    /// if it is not due.
    ProcessQueue {
        /// Send the next pending story of one workspace (--chat) now, due or not, paused or not;
        /// without it, every workspace's due stories go.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        chat: ChatArg,
    },
    /// Resolve a story that is waiting for a press, as the Posted / Skip / Reject buttons do
    /// (recorded with the command line as its author).
    Resolve {
        /// The story's item id (as `list-queue` and `process-queue --force` show it, or a unique
        /// beginning of it), or its media path.
        item: String,
        /// What became of it.
        #[arg(value_enum)]
        outcome: queue::ResolveArg,
        #[command(flatten)]
        chat: ChatArg,
    },
    /// Add an Instagram account with its access token (needs ENCRYPTION_KEY). The only account
    /// becomes active by itself.
    AddInstagramAccount(accounts::AddArgs),
    /// The workspace's Instagram accounts with their token status.
    ListInstagramAccounts {
        /// Print JSON (an array of objects) instead of a table, for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        chat: ChatArg,
    },
    /// Make an account the active one (takes effect for the next post).
    SwitchInstagramAccount(accounts::AccountArg),
    /// Disable an account (kept with its history; cannot be selected).
    DeactivateInstagramAccount(accounts::AccountArg),
    /// Enable a disabled account again.
    ReactivateInstagramAccount(accounts::AccountArg),
    /// Forget an account's token and disable the account (audited; its history is kept). The
    /// way out when its token no longer opens with ENCRYPTION_KEY; needs no key.
    RemoveInstagramAccount(accounts::AccountArg),
    /// Replace an account's access token.
    SetInstagramToken(accounts::TokenArgs),
    /// Run the token refresh job now (it runs daily while `storyline run` is up).
    RefreshInstagramTokens,
    /// Re-seal every stored token with the newest key of ENCRYPTION_KEYS (newest first).
    RotateKeys,
    /// Print a new random key for ENCRYPTION_KEY.
    GenerateKey,
    /// Mark a media item as needing interaction (link stickers, polls): it always goes to the
    /// chat for manual posting. --clear removes the mark.
    MarkNeedsInteraction(accounts::InteractionArgs),
    /// Show or change where the workspace's media comes from: a local folder, an S3 bucket or a
    /// Google Drive folder.
    #[command(subcommand)]
    MediaSource(sources::SourceCommand),
    /// Every workspace this bot serves, or one in detail (read only).
    #[command(subcommand)]
    Workspaces(workspaces::WorkspacesCommand),
    /// The `storyline run` processes alive on this database, from their heartbeats, and the
    /// singleton jobs (token refresh, media sync) each runs.
    Replicas {
        /// Print JSON (an array of objects) instead of a table, for scripts.
        #[arg(long)]
        json: bool,
    },
}

/// What a command tells the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// The input was refused; nothing changed.
    Refused,
}

/// Parses the arguments, reads the configuration, opens the store and runs the command.
pub async fn main() -> ExitCode {
    // A missing .env is normal; a malformed one is not (said after parsing, so --help works).
    let dotenv = dotenvy::dotenv().err().filter(|error| !error.not_found());
    let config = Config::from_env();
    let location = match &config {
        Ok(config) => config.database_location(),
        Err(error) => format!("unknown: {error}"),
    };
    let matches = Cli::command().after_help(format!("Data: {location}")).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    if let Some(error) = dotenv {
        eprintln!("storyline: could not read .env: {error}");
        return ExitCode::from(2);
    }
    let config = match config.and_then(|config| {
        if matches!(cli.command, Command::Run) {
            config.check_for_run()?;
        }
        Ok(config)
    }) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("storyline: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    let filter = if matches!(cli.command, Command::Run) {
        "warn,storyline=info,storyline_telegram=info,storyline_application=info"
    } else {
        "warn"
    };
    let logging_asked = std::env::var_os("RUST_LOG").is_some_and(|v| !v.is_empty());
    logging::init(config.log_format, filter);
    // Not locked: the lock would be held across the whole run, and log lines written from other
    // threads would wait for it forever.
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    match run(cli.command, &config, &mut stdout, &mut stderr).await {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Refused) => ExitCode::from(2),
        // The reader went away (`| head -1`): nothing more to say to anyone.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            let line = one_line(&error);
            if logging_asked {
                tracing::error!(error = %line, "command failed");
            }
            let _ = writeln!(stderr, "storyline: {line}");
            if error.downcast_ref::<Refusal>().is_some() { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}

/// Runs one command, writing its output to `out` and refusals to `err`.
///
/// # Errors
/// When the store cannot be reached or fails; [`Refusal`] for input that was refused.
pub async fn run(
    command: Command,
    config: &Config,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    // The same table as the chat's: the command line runs as the operator (the owner).
    if let Err(refusal) = access::check(&command) {
        writeln!(err, "storyline: {refusal}")?;
        return Ok(Outcome::Refused);
    }
    match command {
        Command::Run => match config.telegram() {
            Err(missing) => {
                writeln!(err, "storyline: configuration error: {missing}")?;
                Ok(Outcome::Refused)
            }
            Ok(_) => {
                serve::telegram(config, PollSettings::default(), serve::shutdown_signal()).await?;
                Ok(Outcome::Done)
            }
        },
        Command::GenerateKey => accounts::generate(out),
        command => {
            let app = App::open(config).await?;
            let result = with_store(command, &app, config, out, err).await;
            // SQLite checkpoints its write-ahead log as the last connection closes.
            app.stores.close().await;
            result
        }
    }
}

/// The commands that work on the store.
async fn with_store(
    command: Command,
    app: &App,
    config: &Config,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    match command {
        Command::Run | Command::GenerateKey => Ok(Outcome::Done),
        Command::Console { chat } => {
            let chosen = workspace::resolve(app, config, &chat, workspace::Access::Write, err).await?;
            let input = tokio::io::BufReader::new(tokio::io::stdin());
            serve::console(app, config, chosen.chat_id, input, Box::new(std::io::stdout())).await?;
            Ok(Outcome::Done)
        }
        Command::Migrate => {
            writeln!(out, "migrations applied; data: {}", config.database_location())?;
            Ok(Outcome::Done)
        }
        Command::Backup { file } => match app.stores.backup(&file).await {
            Ok(()) => {
                writeln!(out, "backup written to {}; data: {}", file.display(), config.database_location())?;
                Ok(Outcome::Done)
            }
            Err(crate::wiring::BackupError::Failed(error)) => Err(error),
            Err(refused) => Err(Refusal(refused.to_string()).into()),
        },
        Command::Settings(command) => settings::run(command, app, config, out, err).await,
        Command::Users(command) => users::run(command, app, config, out, err).await,
        Command::IndexMedia { path, chat } => library::index(app, config, path, &chat, out).await,
        Command::SyncMedia { chat } => library::sync_media(app, config, &chat, out, err).await,
        Command::ListMedia { category, limit, json, chat } => {
            library::list_media(app, config, category, limit, json, &chat, out, err).await
        }
        Command::ListCategories { json, chat } => library::list_categories(app, config, json, &chat, out).await,
        Command::CategoryMix(command) => library::mix(app, config, command, out, err).await,
        Command::CreateSchedule { days, chat } => library::create_schedule(app, config, days, &chat, out, err).await,
        Command::ListQueue { limit, json, chat } => queue::list(app, config, limit, json, &chat, out, err).await,
        Command::ClearQueue { yes, chat } => library::clear_queue(app, config, yes, &chat, out, err).await,
        Command::ProcessQueue { force, chat } => queue::process(app, config, force, &chat, out, err).await,
        Command::Resolve { item, outcome, chat } => queue::resolve(app, config, &item, outcome, &chat, out, err).await,
        Command::AddInstagramAccount(args) => accounts::add(app, config, args, out, err).await,
        Command::ListInstagramAccounts { json, chat } => accounts::list(app, config, json, &chat, out).await,
        Command::SwitchInstagramAccount(args) => {
            accounts::change(app, config, &args, accounts::Change::Switch, out, err).await
        }
        Command::DeactivateInstagramAccount(args) => {
            accounts::change(app, config, &args, accounts::Change::Deactivate, out, err).await
        }
        Command::ReactivateInstagramAccount(args) => {
            accounts::change(app, config, &args, accounts::Change::Reactivate, out, err).await
        }
        Command::RemoveInstagramAccount(args) => {
            accounts::change(app, config, &args, accounts::Change::Remove, out, err).await
        }
        Command::SetInstagramToken(args) => accounts::set_token(app, config, args, out, err).await,
        Command::RefreshInstagramTokens => accounts::refresh(app, config, out).await,
        Command::RotateKeys => accounts::rotate(app, config, out, err).await,
        Command::MarkNeedsInteraction(args) => accounts::mark(app, config, args, out, err).await,
        Command::MediaSource(command) => sources::run(command, app, config, out, err).await,
        Command::Workspaces(command) => workspaces::run(command, app, config, out, err).await,
        Command::Replicas { json } => replicas::list(app, json, out).await,
    }
}
