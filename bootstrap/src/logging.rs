//! Structured logs with tracing, to stderr, as text or JSON (`LOG_FORMAT`). `RUST_LOG` overrides
//! the level.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Added to every default filter: the MP4 parser warns about every QuickTime file it reads
/// (their `hdlr` boxes differ from MP4's), which is no news to the person indexing them.
const QUIET: &str = "mp4parse=error";

/// Installs the global subscriber. `default_filter` applies when `RUST_LOG` is unset.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(format!("{default_filter},{QUIET}")));
    // Colours only for a person at a terminal, not in files, pipes or journald.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // A second init (in tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
