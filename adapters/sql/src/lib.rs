//! What Storyline's SQLite and PostgreSQL stores share: one [`Store`] generic over a
//! [`Dialect`], with the row decoding and every statement both dialects agree on.
//!
//! - [`Store`]: the pools and the token cipher; connecting, migrating, closing and what a
//!   write transaction begins with go through the dialect.
//! - [`rows`]: rows as the databases return them, and their conversion to domain values.
//! - The port implementations, one file per port: [`settings`], [`audit`], [`users`],
//!   [`conversations`], [`library`] (media and the category mix), [`queue`], [`history`],
//!   [`locks`], [`accounts`] (Instagram accounts and the active one), [`vault`] (their tokens),
//!   [`cursor`], [`init_wizards`] (`/init` wizards and the founding of a workspace), [`sources`] (each workspace's media source, its sealed secret, its syncs) and
//!   [`sync`] (the library's side of a media sync). Where the SQL differs they ask the port's
//!   dialect trait: [`SettingsDialect`],
//!   [`UsersDialect`], [`QueueDialect`]; [`BackupDialect`] is for a database that can copy itself.
//! - SQL texts use `$1`-style parameters, which SQLite reads too; a row lock is
//!   [`Dialect::FOR_UPDATE`], which is empty where the write transaction already excludes others.
//!
//! Why this shape: the two stores differ in a handful of statements (the one-statement settings
//! update and contact upsert on PostgreSQL, `FOR UPDATE SKIP LOCKED` claims, `UNNEST` batches,
//! the candidate walk; `BEGIN IMMEDIATE` and row-by-row batches on SQLite; relaxed commits) and
//! agree on everything else, `rows.rs` above all. Code generic over sqlx's `Database` keeps the
//! agreed statements in one place and compiles them for each backend, with sqlx's own types and
//! checks; a small dialect trait per port names exactly what differs, so a new `Queue` method is
//! written once in [`queue`] unless a backend needs its own SQL. The price is the `where` clause
//! sqlx needs on each generic `impl` (its executor and argument traits, and one line per value
//! type; [`Value`] keeps those short), repeated per `impl` because Rust does not carry such
//! bounds from a trait to its users. The other ways were worse: `sqlx::Any` binds no UUIDs or
//! time stamps; one shared source file included into both crates by path would need no bounds,
//! but compiles the same code twice and hides it from the tools that follow crates; a macro
//! would hide it from `rustfmt` and the reader. This crate is no store by itself: it names no
//! backend, and nothing here runs without the [`Dialect`] a backend crate gives it
//! ([`is_every_port`] checks there that the result is every store port).

mod bounds;
mod dialect;
mod store;

pub mod accounts;
pub mod audit;
pub mod audit_batch;
pub mod conversations;
pub mod cursor;
pub mod history;
pub mod init_wizards;
pub mod library;
pub mod locks;
pub mod login;
pub mod notices;
pub mod queue;
pub mod replicas;
pub mod rows;
pub mod settings;
pub mod sources;
pub mod sync;
pub mod users;
pub mod vault;

pub use bounds::Value;
pub use dialect::{BackupDialect, Dialect, QueueDialect, SettingsDialect, UsersDialect};
pub use store::{KnownSettings, Pools, Store, db};
use storyline_domain::ports;

/// Every store port: what a dialect's [`Store`] is. A backend crate proves it of its store with
/// [`is_every_port`], so a dialect that misses a bound fails to build where it is defined.
pub trait EveryPort:
    ports::SettingsStore
    + ports::Audit
    + ports::Users
    + ports::Conversations
    + ports::MediaLibrary
    + ports::Queue
    + ports::History
    + ports::Locks
    + ports::AccountStore
    + ports::TokenVault
    + ports::UpdateCursor
    + ports::LibrarySync
    + ports::SourceStore
    + ports::InitWizards
    + ports::LoginAttempts
{
}

impl<T> EveryPort for T where
    T: ports::SettingsStore
        + ports::Audit
        + ports::Users
        + ports::Conversations
        + ports::MediaLibrary
        + ports::Queue
        + ports::History
        + ports::Locks
        + ports::AccountStore
        + ports::TokenVault
        + ports::UpdateCursor
        + ports::LibrarySync
        + ports::SourceStore
        + ports::InitWizards
        + ports::LoginAttempts
{
}

/// Compiles only when `T` is every store port (see [`EveryPort`]).
pub const fn is_every_port<T: EveryPort>() {}
