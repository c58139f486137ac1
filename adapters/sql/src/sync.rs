//! The library's side of a sync (FEATURES M3): every item with what the source last said of it,
//! and one sync run's changes applied in one transaction.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use storyline_domain::WorkspaceId;
use storyline_domain::library::{ContentHash, MediaId};
use storyline_domain::ports::{LibrarySync, StoreError, SyncApplied, SyncChanges, SyncedItem};
use uuid::Uuid;

use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::{Dialect, Store, db};

/// Where a moved item waits while the paths of one run change hands: no real path starts with
/// `/`, and the id keeps each one apart.
const MOVING: &str = "/moving/";

#[derive(Debug, FromRow)]
struct SyncedRow {
    id: Uuid,
    path: String,
    active: bool,
    content_hash: String,
    size_bytes: i64,
    source_checksum: Option<String>,
    source_modified: Option<DateTime<Utc>>,
}

impl TryFrom<SyncedRow> for SyncedItem {
    type Error = StoreError;

    fn try_from(row: SyncedRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: MediaId(row.id),
            hash: ContentHash::from_hex(&row.content_hash).ok_or_else(|| {
                StoreError::unknown(anyhow::anyhow!("unreadable content hash {:?}", row.content_hash))
            })?,
            size_bytes: u64::try_from(row.size_bytes).map_err(StoreError::unknown)?,
            active: row.active,
            checksum: row.source_checksum,
            modified: row.source_modified,
            path: row.path,
        })
    }
}

fn size(bytes: u64) -> Result<i64, StoreError> {
    i64::try_from(bytes).map_err(StoreError::unknown)
}

fn pixels(value: Option<u32>) -> Result<Option<i32>, StoreError> {
    value.map(i32::try_from).transpose().map_err(StoreError::unknown)
}

fn missing(media: MediaId) -> StoreError {
    StoreError::unknown(anyhow::anyhow!("media item {media} is not in this workspace"))
}

#[async_trait]
impl<D: Dialect> LibrarySync for Store<D>
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
    async fn synced_items(&self, workspace: WorkspaceId) -> Result<Vec<SyncedItem>, StoreError> {
        sqlx::query_as::<_, SyncedRow>(
            "SELECT id, path, active, content_hash, size_bytes, source_checksum, source_modified \
             FROM media_items WHERE workspace_id = $1 ORDER BY path",
        )
        .bind(workspace.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(db::<D>)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }

    async fn apply_sync(
        &self,
        workspace: WorkspaceId,
        changes: &SyncChanges,
        at: DateTime<Utc>,
    ) -> Result<SyncApplied, StoreError> {
        let mut tx = self.write().await?;
        let mut applied = SyncApplied::default();
        // Moves first step aside, so that paths may change hands within one run (a → b, b → a).
        for update in &changes.updated {
            sqlx::query(&format!(
                "UPDATE media_items SET path = '{MOVING}' || $1 WHERE workspace_id = $2 AND id = $3 AND path <> $4"
            ))
            .bind(update.id.0.to_string())
            .bind(workspace.as_uuid())
            .bind(update.id.0)
            .bind(&update.path)
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
        }
        for update in &changes.updated {
            let done = sqlx::query(
                "UPDATE media_items SET path = $1, category = $2, active = $3, source_checksum = $4, \
                 source_modified = $5 WHERE workspace_id = $6 AND id = $7",
            )
            .bind(&update.path)
            .bind(update.category.as_str())
            .bind(update.active)
            .bind(update.checksum.clone())
            .bind(update.modified)
            .bind(workspace.as_uuid())
            .bind(update.id.0)
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
            if D::rows_affected(&done) == 0 {
                return Err(missing(update.id));
            }
            if let Some(content) = &update.content {
                sqlx::query(
                    "UPDATE media_items SET kind = $1, content_hash = $2, size_bytes = $3, width = $4, height = $5 \
                     WHERE workspace_id = $6 AND id = $7",
                )
                .bind(content.kind.as_str())
                .bind(content.hash.as_str())
                .bind(size(content.size_bytes)?)
                .bind(pixels(content.width)?)
                .bind(pixels(content.height)?)
                .bind(workspace.as_uuid())
                .bind(update.id.0)
                .execute(&mut *tx)
                .await
                .map_err(db::<D>)?;
            }
        }
        for media in &changes.removed {
            let done = sqlx::query("UPDATE media_items SET active = FALSE WHERE workspace_id = $1 AND id = $2")
                .bind(workspace.as_uuid())
                .bind(media.0)
                .execute(&mut *tx)
                .await
                .map_err(db::<D>)?;
            if D::rows_affected(&done) == 0 {
                return Err(missing(*media));
            }
            // Only what has not gone to the chat yet: a story being sent or waiting for a press
            // is left to finish.
            let dropped =
                sqlx::query("DELETE FROM queue_items WHERE workspace_id = $1 AND media_id = $2 AND status = 'pending'")
                    .bind(workspace.as_uuid())
                    .bind(media.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db::<D>)?;
            applied.dropped_from_queue += D::rows_affected(&dropped);
        }
        for new in &changes.added {
            let media = &new.media;
            sqlx::query(
                "INSERT INTO media_items (id, workspace_id, path, category, kind, content_hash, size_bytes, \
                 width, height, active, times_posted, last_posted_at, added_at, source_checksum, source_modified) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE, 0, NULL, $10, $11, $12)",
            )
            .bind(MediaId::new().0)
            .bind(workspace.as_uuid())
            .bind(&media.path)
            .bind(media.category.as_str())
            .bind(media.kind.as_str())
            .bind(media.hash.as_str())
            .bind(size(media.size_bytes)?)
            .bind(pixels(media.width)?)
            .bind(pixels(media.height)?)
            .bind(at)
            .bind(new.checksum.clone())
            .bind(new.modified)
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
        }
        tx.commit().await.map_err(db::<D>)?;
        Ok(applied)
    }
}
