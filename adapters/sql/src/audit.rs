//! The audit trail and the interaction log; commands and presses go on the relaxed pool.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use storyline_domain::WorkspaceId;
use storyline_domain::audit::{AuditAction, AuditEntry};
use storyline_domain::ports::{Audit, AuditQuery, StoreError};
use storyline_domain::text::{storable, storable_opt};
use uuid::Uuid;

use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::rows::parse_actor;
use crate::{Dialect, Store, db};

#[derive(Debug, FromRow)]
struct EntryRow {
    at: DateTime<Utc>,
    actor: String,
    action: String,
    subject: String,
    old_value: Option<String>,
    new_value: Option<String>,
}

#[async_trait]
impl<D: Dialect> Audit for Store<D>
where
    D::Db: sqlx::database::HasStatementCache,
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    for<'q> Arguments<'q, D>: IntoArguments<'q, D::Db>,
    for<'a> &'a str: ColumnIndex<Row<D>> + Encode<'a, D::Db> + Type<D::Db>,
    usize: ColumnIndex<Row<D>>,
    Uuid: Value<D::Db>,
    i64: Value<D::Db>,
    i32: Value<D::Db>,
    bool: Value<D::Db>,
    String: Value<D::Db>,
    DateTime<Utc>: Value<D::Db>,
    Vec<u8>: Value<D::Db>,
    for<'a> Option<&'a str>: Encode<'a, D::Db>,
    Option<String>: Value<D::Db>,
    Option<i32>: Value<D::Db>,
    Option<Uuid>: Value<D::Db>,
    Option<DateTime<Utc>>: Value<D::Db>,
    for<'a> Cow<'a, str>: Encode<'a, D::Db> + Type<D::Db>,
    for<'a> Option<Cow<'a, str>>: Encode<'a, D::Db>,
{
    /// Commands and presses: written on the relaxed pool (see [`Store`]).
    async fn record(&self, workspace: WorkspaceId, entry: &AuditEntry) -> Result<(), StoreError> {
        self.record_many(&[(workspace, entry.clone())]).await
    }

    /// One statement for the whole batch (all or none), on the relaxed pool like
    /// [`Self::record`].
    async fn record_many(&self, entries: &[(WorkspaceId, AuditEntry)]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let sql = insert_sql(entries.len());
        // A lone entry (every update of a quiet bot) is the connection's prepared statement; a
        // batch is one text per size, kept out of the statement cache (see the cursor's claims).
        let statement = Self::insert_entries(&sql, entries).persistent(entries.len() == 1);
        statement.execute(&self.relaxed).await.map_err(db::<D>)?;
        Ok(())
    }

    async fn entries(&self, workspace: WorkspaceId, query: AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query_as::<_, EntryRow>(
            "SELECT at, actor, action, subject, old_value, new_value FROM audit_log \
             WHERE workspace_id = $1 AND ($2 IS NULL OR action = $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(workspace.as_uuid())
        .bind(query.action.map(AuditAction::as_str))
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db::<D>)?;
        rows.into_iter()
            .map(|row| {
                Ok(AuditEntry {
                    at: row.at,
                    actor: parse_actor(&row.actor)?,
                    action: AuditAction::parse(&row.action)
                        .ok_or_else(|| StoreError::unknown(anyhow::anyhow!("unknown audit action {:?}", row.action)))?,
                    subject: row.subject,
                    old: row.old_value,
                    new: row.new_value,
                })
            })
            .collect()
    }
}

impl<D: Dialect> Store<D>
where
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    for<'q> Arguments<'q, D>: IntoArguments<'q, D::Db>,
    for<'a> &'a str: ColumnIndex<Row<D>> + Encode<'a, D::Db> + Type<D::Db>,
    usize: ColumnIndex<Row<D>>,
    Uuid: Value<D::Db>,
    i64: Value<D::Db>,
    i32: Value<D::Db>,
    bool: Value<D::Db>,
    String: Value<D::Db>,
    DateTime<Utc>: Value<D::Db>,
    Vec<u8>: Value<D::Db>,
    for<'a> Option<&'a str>: Encode<'a, D::Db>,
    Option<String>: Value<D::Db>,
    Option<i32>: Value<D::Db>,
    Option<Uuid>: Value<D::Db>,
    Option<DateTime<Utc>>: Value<D::Db>,
    for<'a> Cow<'a, str>: Encode<'a, D::Db> + Type<D::Db>,
    for<'a> Option<Cow<'a, str>>: Encode<'a, D::Db>,
{
    /// The statement `sql` ([`insert_sql`] of as many rows) with `entries` bound, in order.
    fn insert_entries<'q>(
        sql: &'q str,
        entries: &'q [(WorkspaceId, AuditEntry)],
    ) -> sqlx::query::Query<'q, D::Db, Arguments<'q, D>> {
        let mut statement = sqlx::query(sql);
        for (workspace, entry) in entries {
            statement = statement
                .bind(workspace.as_uuid())
                .bind(entry.at)
                .bind(entry.actor.to_string())
                .bind(entry.action.as_str())
                .bind(storable(&entry.subject))
                .bind(storable_opt(entry.old.as_deref()))
                .bind(storable_opt(entry.new.as_deref()));
        }
        statement
    }

    /// Writes `entry` in `tx`: an audit row that commits, or not, with the change it records.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn audit_in(
        tx: &mut sqlx::Transaction<'static, D::Db>,
        workspace: WorkspaceId,
        entry: &AuditEntry,
    ) -> Result<(), StoreError> {
        let entries = [(workspace, entry.clone())];
        Self::insert_entries(&insert_sql(1), &entries).execute(&mut **tx).await.map_err(db::<D>)?;
        Ok(())
    }
}

/// The INSERT of `rows` audit rows, seven placeholders each, in a syntax both dialects read.
fn insert_sql(rows: usize) -> String {
    let rows: Vec<String> = (0..rows)
        .map(|n| {
            let places: Vec<String> = (n * 7 + 1..=n * 7 + 7).map(|p| format!("${p}")).collect();
            format!("({})", places.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO audit_log (workspace_id, at, actor, action, subject, old_value, new_value) VALUES {}",
        rows.join(", ")
    )
}
