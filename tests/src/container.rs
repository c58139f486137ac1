//! PostgreSQL for the tests through testcontainers, when no server is given by URL.
//!
//! With neither `TEST_DATABASE_URL` nor a `postgres://` `DATABASE_URL`, and a Docker daemon that
//! answers, one PostgreSQL container serves every test binary (each test still gets a database
//! of its own on it). It is labelled `io.storyline.tests` and kept running for the next run,
//! so a second `cargo test` does not wait for PostgreSQL to start again; remove it with
//! `docker rm -f $(docker ps -aq --filter label=io.storyline.tests)`. The image is `TESTCONTAINERS_POSTGRES_IMAGE`, by default the
//! official `postgres` image; anything that behaves like it works (port 5432, user `postgres`,
//! `POSTGRES_HOST_AUTH_METHOD=trust`). `.ci/postgres-image` builds one from Debian's packages
//! for machines that reach no container registry.

use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::Connection;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::SyncRunner;
use testcontainers::{Container, GenericImage, ImageExt, ReuseDirective};

/// The image used when `TESTCONTAINERS_POSTGRES_IMAGE` is unset.
pub const DEFAULT_IMAGE: &str = "postgres:16";

/// A started container and the URL of its server.
struct Started {
    /// A reused container outlives the process; `.ci/run` removes it by its label at the end.
    _container: Container<GenericImage>,
    url: String,
}

/// The URL of the process's PostgreSQL container, started on first use; `None` when Docker does
/// not answer or the container cannot be started (said once on stderr).
#[must_use]
pub fn postgres_url() -> Option<String> {
    static STARTED: OnceLock<Option<Started>> = OnceLock::new();
    STARTED
        .get_or_init(|| {
            // The blocking runner has a runtime of its own, which may not start inside a test's.
            match std::thread::spawn(start).join() {
                Ok(Ok(started)) => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "PostgreSQL for the tests: a testcontainers container at {}",
                        started.url
                    );
                    Some(started)
                }
                Ok(Err(error)) => {
                    let _ = writeln!(std::io::stderr(), "no PostgreSQL container for the tests: {error:#}");
                    None
                }
                Err(_) => None,
            }
        })
        .as_ref()
        .map(|started| started.url.clone())
}

/// `name:tag` split at the last colon that is not part of a registry's port.
fn image_name(image: &str) -> (String, String) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_owned(), tag.to_owned()),
        _ => (image.to_owned(), "latest".to_owned()),
    }
}

fn start() -> anyhow::Result<Started> {
    let image = std::env::var("TESTCONTAINERS_POSTGRES_IMAGE").unwrap_or_else(|_| DEFAULT_IMAGE.to_owned());
    let (name, tag) = image_name(&image);
    let container = GenericImage::new(name, tag)
        .with_exposed_port(5432.tcp())
        .with_wait_for(WaitFor::message_on_stderr("database system is ready to accept connections"))
        .with_env_var("POSTGRES_HOST_AUTH_METHOD", "trust")
        .with_label("io.storyline.tests", image.as_str())
        .with_reuse(ReuseDirective::Always)
        .start()?;
    let port = container.get_host_port_ipv4(5432.tcp())?;
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    // The official image says it is ready once during its initialisation too (on a socket only):
    // wait until the server really answers over TCP.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match runtime.block_on(sqlx::PgConnection::connect(&url)) {
            Ok(connection) => {
                let _ = runtime.block_on(connection.close());
                break;
            }
            Err(error) if Instant::now() > deadline => {
                anyhow::bail!("the container's PostgreSQL did not answer within 60 s: {error}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    Ok(Started { _container: container, url })
}

#[cfg(test)]
mod tests {
    use super::image_name;

    #[test]
    fn an_image_is_split_into_name_and_tag() {
        assert_eq!(image_name("postgres:16"), ("postgres".to_owned(), "16".to_owned()));
        assert_eq!(image_name("postgres"), ("postgres".to_owned(), "latest".to_owned()));
        assert_eq!(
            image_name("localhost:5000/storyline/postgres"),
            ("localhost:5000/storyline/postgres".to_owned(), "latest".to_owned())
        );
        assert_eq!(image_name("storyline-ci/postgres:15"), ("storyline-ci/postgres".to_owned(), "15".to_owned()));
    }
}
