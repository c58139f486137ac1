//! What Storyline's SQLite and PostgreSQL stores share: one [`Store`] generic over a
//! [`Dialect`], with the row decoding and every statement both dialects agree on.
//!
//! - [`Store`]: the pools and the token cipher; connecting and migrating go through the dialect.
//! - [`rows`]: rows as the databases return them, and their conversion to domain values.
//! - The port implementations, one file per port: [`settings`], [`audit`], [`users`],
//!   [`conversations`], [`library`] (media and the category mix), [`queue`] (the queue, the
//!   posting history and the locks), [`accounts`] (Instagram accounts and the token vault) and
//!   [`cursor`]. A method whose SQL differs asks the dialect: [`SettingsDialect`],
//!   [`UsersDialect`], [`QueueDialect`].
//! - SQL texts use `$1`-style parameters, which SQLite reads too.
//!
//! Why this shape: the two stores differ in a handful of statements (the one-statement settings
//! update and contact upsert on PostgreSQL, `FOR UPDATE SKIP LOCKED` claims, `UNNEST` batches,
//! `BEGIN IMMEDIATE` on SQLite, relaxed commits), and agree on everything else. Generic code
//! over sqlx's `Database` keeps the agreed statements in one place and compiles them for each
//! backend; a dialect trait per port names exactly what differs, so a new statement is written
//! once unless a backend needs its own. The price is the `where` clause sqlx needs on each generic
//! impl ([`Value`] keeps it short). A shared module included into both crates by path would have
//! avoided the bounds, but would compile the same code twice and hide it from tools that follow
//! crates. This crate is no store by itself: it knows no backend, and nothing here runs without
//! the dialect a backend crate gives it.

mod bounds;
mod dialect;
mod store;

pub mod accounts;
pub mod audit;
pub mod conversations;
pub mod cursor;
pub mod library;
pub mod queue;
pub mod rows;
pub mod settings;
pub mod users;

pub use bounds::Value;
pub use dialect::{BackupDialect, Dialect, QueueDialect, SettingsDialect, UsersDialect};
pub use store::{Pools, Store, db};
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
{
}

/// Compiles only when `T` is every store port (see [`EveryPort`]).
pub const fn is_every_port<T: EveryPort>() {}
