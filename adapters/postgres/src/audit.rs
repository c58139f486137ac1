use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use storyline_domain::WorkspaceId;
use storyline_domain::audit::{AuditAction, AuditEntry};
use storyline_domain::ports::{Audit, AuditQuery, StoreError};
use storyline_domain::text::{storable, storable_opt};

use crate::rows::parse_actor;
use crate::{PostgresStore, db};

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
impl Audit for PostgresStore {
    /// Commands and presses: written on the relaxed pool (see [`PostgresStore`]).
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
        .map_err(db)?;
        Ok(())
    }

    async fn entries(&self, workspace: WorkspaceId, query: AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query_as::<_, EntryRow>(
            "SELECT at, actor, action, subject, old_value, new_value FROM audit_log \
             WHERE workspace_id = $1 AND ($2::text IS NULL OR action = $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(workspace.as_uuid())
        .bind(query.action.map(AuditAction::as_str))
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
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
