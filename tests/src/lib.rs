//! Contract suites: one generic suite per store port, run by `tests/contracts.rs` against the
//! in-memory, SQLite and PostgreSQL stores so the three cannot drift apart. Isolation between
//! workspaces is part of every suite.
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` (or a `postgres://` `DATABASE_URL`), else from a
//! testcontainers container when a Docker daemon answers ([`container`]); each test gets a
//! database of its own, dropped afterwards. With none of them the PostgreSQL tests say they were
//! skipped — except under `CI=true`, where a missing database fails them.

pub mod app;
mod backend;
pub mod bench;
pub mod container;
pub mod due;
pub mod fake_drive;
pub mod fake_telegram;
pub mod files;
pub mod logs;
pub mod proxy;
pub mod s3_server;
pub mod snapshot;
pub mod suites;

pub use backend::{Backend, Raw, Stores};

/// What every contract test returns.
pub type TestResult = anyhow::Result<()>;

/// Runs each listed `async fn name(backend: Backend) -> TestResult` of the calling test file as a
/// test on every listed backend, as `backend::name`; a backend that is not available (PostgreSQL
/// without a server, outside CI) passes as skipped.
///
/// ```ignore
/// storyline_tests::on_backends!([sqlite, postgres] [a_story_is_sent, a_press_resolves_it]);
/// ```
#[macro_export]
macro_rules! on_backends {
    ([$($backend:ident),+ $(,)?] $tests:tt) => {
        $( $crate::on_backend!($backend $tests); )+
    };
}

/// One backend of [`on_backends!`].
#[macro_export]
macro_rules! on_backend {
    ($backend:ident [$($name:ident),+ $(,)?]) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> $crate::TestResult {
                    match $crate::Backend::$backend().await? {
                        Some(backend) => super::$name(backend).await,
                        None => Ok(()),
                    }
                }
            )+
        }
    };
}
