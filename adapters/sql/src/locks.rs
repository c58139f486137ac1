//! The repost and reject locks in force.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::ports::{Locks, StoreError};
use storyline_domain::queue::Lock;
use uuid::Uuid;

use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::rows::LockRow;
use crate::{Dialect, Store, db};

#[async_trait]
impl<D: Dialect> Locks for Store<D>
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
    async fn locks(&self, workspace: WorkspaceId, now: DateTime<Utc>) -> Result<Vec<Lock>, StoreError> {
        sqlx::query_as::<_, LockRow>(
            "SELECT l.media_id, m.path, l.reason, l.locked_until FROM media_locks l \
             JOIN media_items m ON m.workspace_id = l.workspace_id AND m.id = l.media_id \
             WHERE l.workspace_id = $1 AND (l.locked_until IS NULL OR l.locked_until > $2) \
             ORDER BY l.locked_until NULLS LAST, m.path",
        )
        .bind(workspace.as_uuid())
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(db::<D>)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }
}
