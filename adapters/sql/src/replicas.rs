//! The deployment's replicas, from their heartbeats.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::ports::{Replica, Replicas, StoreError};
use uuid::Uuid;

use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::{Dialect, Store, db};

/// A `replicas` row: id, host, pid, mode, started, seen, leads.
type ReplicaRow = (String, String, i64, String, DateTime<Utc>, DateTime<Utc>, String);

#[async_trait]
impl<D: Dialect> Replicas for Store<D>
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
    /// On the relaxed pool: a heartbeat lost to a database crash is made good by the next.
    async fn beat(&self, replica: &Replica) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO replicas (id, host, pid, mode, started_at, seen_at, leads) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at, leads = excluded.leads, mode = excluded.mode",
        )
        .bind(replica.id.as_str())
        .bind(replica.host.as_str())
        .bind(i64::from(replica.pid))
        .bind(replica.mode.as_str())
        .bind(replica.started_at)
        .bind(replica.seen_at)
        .bind(replica.leads.join(","))
        .execute(&self.relaxed)
        .await
        .map_err(db::<D>)?;
        Ok(())
    }

    async fn live(&self, since: DateTime<Utc>) -> Result<Vec<Replica>, StoreError> {
        let rows: Vec<ReplicaRow> = sqlx::query_as(
            "SELECT id, host, pid, mode, started_at, seen_at, leads FROM replicas WHERE seen_at >= $1 \
             ORDER BY started_at, id",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(db::<D>)?;
        Ok(rows
            .into_iter()
            .map(|(id, host, pid, mode, started_at, seen_at, leads)| Replica {
                id,
                host,
                pid: u32::try_from(pid).unwrap_or_default(),
                mode,
                started_at,
                seen_at,
                leads: leads.split(',').filter(|job| !job.is_empty()).map(ToOwned::to_owned).collect(),
            })
            .collect())
    }

    async fn leave(&self, id: &str, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let deleted = sqlx::query("DELETE FROM replicas WHERE id = $1 OR seen_at < $2")
            .bind(id)
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(db::<D>)?;
        Ok(D::rows_affected(&deleted))
    }
}
