//! Contract suites: one generic suite per store port, run by `tests/contracts.rs` against the
//! in-memory, SQLite and PostgreSQL stores so the three cannot drift apart. Isolation between
//! workspaces is part of every suite.
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` (or a `postgres://` `DATABASE_URL`); each test gets
//! a database of its own, dropped afterwards. With neither set the PostgreSQL tests say they were
//! skipped — except under `CI=true`, where a missing database fails them.

pub mod app;
mod backend;
pub mod fake_telegram;
pub mod files;
pub mod proxy;
pub mod suites;

pub use backend::{Backend, Raw, Stores};

/// What every contract test returns.
pub type TestResult = anyhow::Result<()>;
