//! The first connection at start, tried once and eagerly, so that an unreachable server is one
//! clear cause at once ("connection refused at db:5432") instead of the pool's "pool timed out"
//! after its acquire timeout.

use std::io::ErrorKind;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

/// How long the first connection may take before the server counts as not answering.
pub const FIRST_CONNECTION: Duration = Duration::from_secs(5);

/// Why the server could not be used, in a person's words. Never holds a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("connection refused at {0} (is PostgreSQL running there?)")]
    Refused(String),
    #[error("no answer from {at} within {secs} s")]
    NoAnswer { at: String, secs: u64 },
    #[error("cannot find the host {0}")]
    UnknownHost(String),
    #[error("authentication failed for user {user:?} at {at}")]
    Authentication { user: String, at: String },
    #[error("no database {name:?} at {at}")]
    NoDatabase { name: String, at: String },
    #[error("could not connect to {at}: {why}")]
    Other { at: String, why: String },
}

/// Opens one connection with `options` and closes it again.
///
/// # Errors
/// [`ConnectError`] saying what went wrong where.
pub async fn check(options: &PgConnectOptions, within: Duration) -> Result<(), ConnectError> {
    let at = match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    let connection = match tokio::time::timeout(within, options.connect()).await {
        Err(_) => return Err(ConnectError::NoAnswer { at, secs: within.as_secs() }),
        Ok(Err(error)) => return Err(classify(&error, options, at)),
        Ok(Ok(connection)) => connection,
    };
    // The connection worked; how it closes does not matter.
    let _ = connection.close().await;
    Ok(())
}

fn classify(error: &sqlx::Error, options: &PgConnectOptions, at: String) -> ConnectError {
    tracing::debug!(error = %error, at = %at, "the first PostgreSQL connection failed");
    match error {
        sqlx::Error::Io(io) if io.kind() == ErrorKind::ConnectionRefused => ConnectError::Refused(at),
        sqlx::Error::Io(io) if io.kind() == ErrorKind::TimedOut => {
            ConnectError::NoAnswer { at, secs: FIRST_CONNECTION.as_secs() }
        }
        sqlx::Error::Io(io) if io.to_string().contains("lookup address") => {
            ConnectError::UnknownHost(options.get_host().to_owned())
        }
        sqlx::Error::Database(database) => match database.code().as_deref() {
            Some("28P01" | "28000") => ConnectError::Authentication { user: options.get_username().to_owned(), at },
            Some("3D000") => ConnectError::NoDatabase {
                name: options.get_database().unwrap_or(options.get_username()).to_owned(),
                at,
            },
            _ => ConnectError::Other { at, why: database.message().to_owned() },
        },
        other => ConnectError::Other { at, why: other.to_string() },
    }
}
