//! The names the `where` clause of a generic statement needs: sqlx's executor and argument
//! traits, and the value types the statements bind and read.
//!
//! Every generic `impl` of this crate carries the same clause (Rust does not pass such bounds on
//! from a trait to its users, so it cannot be written once): keep the copies identical, and add a
//! value type to all of them when a statement first binds or reads it.

pub use sqlx::{ColumnIndex, Encode, Executor, IntoArguments, Type};

use crate::Dialect;

/// A connection of the dialect's database.
pub type Connection<D> = <<D as Dialect>::Db as sqlx::Database>::Connection;
/// The arguments of a statement on the dialect's database.
pub type Arguments<'q, D> = <<D as Dialect>::Db as sqlx::Database>::Arguments<'q>;
/// A row of the dialect's database.
pub type Row<D> = <<D as Dialect>::Db as sqlx::Database>::Row;

/// A value both bound to statements and read from rows of the database `DB`.
pub trait Value<DB: sqlx::Database>:
    for<'q> sqlx::Encode<'q, DB> + for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + Sync
{
}

impl<DB, T> Value<DB> for T
where
    DB: sqlx::Database,
    T: for<'q> sqlx::Encode<'q, DB> + for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + Sync,
{
}
