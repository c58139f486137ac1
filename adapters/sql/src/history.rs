//! What was posted, newest first.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::ports::{History, StoreError};
use storyline_domain::queue::HistoryEntry;
use uuid::Uuid;

use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::rows::HistoryRow;
use crate::{Dialect, Store, db};

#[async_trait]
impl<D: Dialect> History for Store<D>
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
    async fn history(&self, workspace: WorkspaceId, limit: u32) -> Result<Vec<HistoryEntry>, StoreError> {
        sqlx::query_as::<_, HistoryRow>(
            "SELECT media_id, path, queue_item_id, outcome, at, actor, error, method, instagram_media_id \
             FROM posting_history \
             WHERE workspace_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(workspace.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db::<D>)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }
}
