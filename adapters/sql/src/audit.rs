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
        sqlx::query(
            "INSERT INTO audit_log (workspace_id, at, actor, action, subject, old_value, new_value) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(workspace.as_uuid())
        .bind(entry.at)
        .bind(entry.actor.to_string())
        .bind(entry.action.as_str())
        .bind(storable(&entry.subject))
        .bind(storable_opt(entry.old.as_deref()))
        .bind(storable_opt(entry.new.as_deref()))
        .execute(&self.relaxed)
        .await
        .map_err(db::<D>)?;
        Ok(())
    }

    /// One statement for the whole batch (all or none), on the relaxed pool like
    /// [`Self::record`].
    async fn record_many(&self, entries: &[(WorkspaceId, AuditEntry)]) -> Result<(), StoreError> {
        match entries {
            [] => return Ok(()),
            // A lone entry: the prepared statement of `record`, not a text parsed anew.
            [(workspace, entry)] => return self.record(*workspace, entry).await,
            _ => {}
        }
        let rows: Vec<String> = (0..entries.len())
            .map(|n| {
                let first = n * 7 + 1;
                let places: Vec<String> = (first..first + 7).map(|p| format!("${p}")).collect();
                format!("({})", places.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO audit_log (workspace_id, at, actor, action, subject, old_value, new_value) VALUES {}",
            rows.join(", ")
        );
        // One text per batch size: kept out of the connection's statement cache (see the cursor's
        // claims).
        let mut statement = sqlx::query(&sql).persistent(false);
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
    /// Writes `entry` in `tx`: an audit row that commits, or not, with the change it records.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn audit_in(
        tx: &mut sqlx::Transaction<'static, D::Db>,
        workspace: WorkspaceId,
        entry: &AuditEntry,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (workspace_id, at, actor, action, subject, old_value, new_value) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(workspace.as_uuid())
        .bind(entry.at)
        .bind(entry.actor.to_string())
        .bind(entry.action.as_str())
        .bind(storable(&entry.subject))
        .bind(storable_opt(entry.old.as_deref()))
        .bind(storable_opt(entry.new.as_deref()))
        .execute(&mut **tx)
        .await
        .map_err(db::<D>)?;
        Ok(())
    }
}
