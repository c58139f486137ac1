//! What each workspace's chat was told once.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::ports::{Notices, StoreError};
use uuid::Uuid;

use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::{Dialect, Store, db};

#[async_trait]
impl<D: Dialect> Notices for Store<D>
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
    /// An upsert that changes the row only when the key differs: one row written means news.
    async fn tell_once(
        &self,
        workspace: WorkspaceId,
        topic: &str,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.workspace_exists(workspace).await?;
        let written = sqlx::query(
            "INSERT INTO workspace_notices (workspace_id, topic, notice_key, told_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (workspace_id, topic) DO UPDATE SET notice_key = excluded.notice_key, told_at = excluded.told_at \
             WHERE workspace_notices.notice_key <> excluded.notice_key",
        )
        .bind(workspace.as_uuid())
        .bind(topic)
        .bind(key)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(db::<D>)?;
        Ok(D::rows_affected(&written) == 1)
    }

    async fn forget_notice(&self, workspace: WorkspaceId, topic: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM workspace_notices WHERE workspace_id = $1 AND topic = $2")
            .bind(workspace.as_uuid())
            .bind(topic)
            .execute(&self.pool)
            .await
            .map_err(db::<D>)?;
        Ok(())
    }
}
