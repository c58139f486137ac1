//! The `storyline` command line (FEATURES O1): one binary, a subcommand per task, `--help` on
//! each. Input errors exit with 2 and say what is allowed; failures exit with 1.

mod settings;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::wiring::App;
use crate::{logging, wiring};

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
    /// Apply every pending database migration, then exit.
    Migrate,
    /// Show, change and audit a workspace's runtime settings.
    #[command(subcommand)]
    Settings(settings::SettingsCommand),
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
    logging::init(config.log_format, "warn");
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
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
        Command::Migrate => {
            let stores = wiring::open_stores(&config.database_url).await?;
            writeln!(out, "migrations applied ({})", stores.backend)?;
            Ok(Outcome::Done)
        }
        Command::Settings(command) => {
            let app = App::open(config).await?;
            settings::run(command, &app, out, err).await
        }
    }
}
