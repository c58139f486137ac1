//! The `storyline` command line (FEATURES O1): one binary, a subcommand per task, `--help` on
//! each. Input errors exit with 2 and say what is allowed; failures exit with 1.

mod accounts;
mod library;
mod settings;
mod users;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use storyline_domain::ChatId;
use storyline_telegram::PollSettings;

use crate::config::Config;
use crate::wiring::App;
use crate::{logging, serve, wiring};

/// Storyline: a self-hosted Instagram Story scheduler, run through a Telegram bot.
///
/// Configuration comes from the environment or a `.env` file in the working directory; see the
/// README for every variable.
#[derive(Debug, Parser)]
#[command(name = "storyline", version, propagate_version = true)]
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
    #[command(allow_negative_numbers = true)]
    Console {
        /// Act in this chat's workspace (default: a console workspace of its own).
        #[arg(long)]
        chat: Option<i64>,
    },
    /// Apply every pending database migration, then exit.
    Migrate,
    /// Show, change and audit a workspace's runtime settings.
    #[command(subcommand)]
    Settings(settings::SettingsCommand),
    /// List a workspace's people and promote them.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Add a folder's images (JPEG, PNG) and videos (MP4, MOV) to the library; the first folder
    /// below it is the category. Default: MEDIA_DIR.
    IndexMedia {
        path: Option<std::path::PathBuf>,
        #[command(flatten)]
        chat: library::ChatArg,
    },
    /// The library's media items.
    ListMedia {
        #[arg(long)]
        category: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Print JSON (an array of media items) instead of a table, for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        chat: library::ChatArg,
    },
    /// The library's categories with their counts and share of the mix.
    ListCategories {
        /// Print JSON (an array of categories) instead of a table, for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        chat: library::ChatArg,
    },
    /// Set the share of each category in the schedule, or see every version.
    #[command(subcommand)]
    CategoryMix(library::MixCommand),
    /// Fill the queue for N more days (after the last slot queued; 1 to 30).
    CreateSchedule {
        #[arg(long, default_value_t = 7)]
        days: u32,
        #[command(flatten)]
        chat: library::ChatArg,
    },
    /// The queued stories, by slot.
    ListQueue {
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        chat: library::ChatArg,
    },
    /// Remove every pending story from the queue (stories already in the chat stay).
    ClearQueue {
        /// Confirm.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        chat: library::ChatArg,
    },
    /// Run one tick of the posting loop now; with --force, send the workspace's next story even
    /// if it is not due.
    ProcessQueue {
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        chat: library::ChatArg,
    },
    /// Add an Instagram account with its access token (needs ENCRYPTION_KEY). The only account
    /// becomes active by itself.
    AddInstagramAccount(accounts::AddArgs),
    /// The workspace's Instagram accounts with their token status.
    ListInstagramAccounts {
        #[command(flatten)]
        chat: library::ChatArg,
    },
    /// Make an account the active one (takes effect for the next post).
    SwitchInstagramAccount(accounts::AccountArg),
    /// Disable an account (kept with its history; cannot be selected).
    DeactivateInstagramAccount(accounts::AccountArg),
    /// Enable a disabled account again.
    ReactivateInstagramAccount(accounts::AccountArg),
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
    let cli = Cli::parse();
    // A missing .env is normal; a malformed one is not.
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        eprintln!("storyline: could not read .env: {error}");
        return ExitCode::from(2);
    }
    let config = match Config::from_env() {
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
    logging::init(config.log_format, filter);
    // Not locked: the lock would be held across the whole run, and log lines written from other
    // threads would wait for it forever.
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    match run(cli.command, &config, &mut stdout, &mut stderr).await {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Refused) => ExitCode::from(2),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "command failed");
            let _ = writeln!(stderr, "storyline: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command, writing its output to `out` and refusals to `err`.
///
/// # Errors
/// When the store cannot be reached or fails.
pub async fn run(
    command: Command,
    config: &Config,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
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
        Command::Console { chat } => {
            let input = tokio::io::BufReader::new(tokio::io::stdin());
            serve::console(config, chat.map_or(serve::CONSOLE_CHAT, ChatId), input, Box::new(std::io::stdout()))
                .await?;
            Ok(Outcome::Done)
        }
        Command::Migrate => {
            let stores = wiring::open_stores(&config.database_url, config.keyring.as_ref()).await?;
            writeln!(out, "migrations applied ({})", stores.backend)?;
            Ok(Outcome::Done)
        }
        Command::Settings(command) => {
            let app = App::open(config).await?;
            settings::run(command, &app, out, err).await
        }
        Command::Users(command) => {
            let app = App::open(config).await?;
            users::run(command, &app, out, err).await
        }
        Command::IndexMedia { path, chat } => library::index(&App::open(config).await?, config, path, &chat, out).await,
        Command::ListMedia { category, limit, json, chat } => {
            library::list_media(&App::open(config).await?, config, category, limit, json, &chat, out, err).await
        }
        Command::ListCategories { json, chat } => {
            library::list_categories(&App::open(config).await?, config, json, &chat, out).await
        }
        Command::CategoryMix(command) => library::mix(&App::open(config).await?, config, command, out, err).await,
        Command::CreateSchedule { days, chat } => {
            library::create_schedule(&App::open(config).await?, config, days, &chat, out, err).await
        }
        Command::ListQueue { limit, chat } => {
            library::list_queue(&App::open(config).await?, config, limit, &chat, out).await
        }
        Command::ClearQueue { yes, chat } => {
            library::clear_queue(&App::open(config).await?, config, yes, &chat, out, err).await
        }
        Command::ProcessQueue { force, chat } => {
            library::process_queue(&App::open(config).await?, config, force, &chat, out).await
        }
        Command::AddInstagramAccount(args) => accounts::add(&App::open(config).await?, config, args, out, err).await,
        Command::ListInstagramAccounts { chat } => accounts::list(&App::open(config).await?, config, &chat, out).await,
        Command::SwitchInstagramAccount(args) => {
            accounts::change(&App::open(config).await?, config, &args, accounts::Change::Switch, out, err).await
        }
        Command::DeactivateInstagramAccount(args) => {
            accounts::change(&App::open(config).await?, config, &args, accounts::Change::Deactivate, out, err).await
        }
        Command::ReactivateInstagramAccount(args) => {
            accounts::change(&App::open(config).await?, config, &args, accounts::Change::Reactivate, out, err).await
        }
        Command::SetInstagramToken(args) => {
            accounts::set_token(&App::open(config).await?, config, args, out, err).await
        }
        Command::RefreshInstagramTokens => accounts::refresh(&App::open(config).await?, config, out).await,
        Command::RotateKeys => accounts::rotate(&App::open(config).await?, config, out, err).await,
        Command::GenerateKey => accounts::generate(out),
        Command::MarkNeedsInteraction(args) => accounts::mark(&App::open(config).await?, config, args, out, err).await,
    }
}
