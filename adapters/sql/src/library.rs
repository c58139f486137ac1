//! Media items, categories and the category mix with its versions.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Transaction;
use storyline_domain::WorkspaceId;
use storyline_domain::library::{CategoryMix, CategoryStats, MediaId, MediaItem, MixVersion, NewMedia};
use storyline_domain::ports::{AddReport, MediaLibrary, MediaQuery, StoreError};
use storyline_domain::user::Actor;
use uuid::Uuid;

use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::rows::{CategoryRow, MEDIA_COLUMNS, MediaRow, MixRow};
use crate::{Dialect, Store, db};

#[async_trait]
impl<D: Dialect> MediaLibrary for Store<D>
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
    async fn add(
        &self,
        workspace: WorkspaceId,
        items: &[NewMedia],
        at: DateTime<Utc>,
    ) -> Result<AddReport, StoreError> {
        let mut tx = self.write().await?;
        let mut report = AddReport::default();
        for new in items {
            // A racing add of the same content waits here for the other transaction, then does
            // nothing.
            let added = sqlx::query(
                "INSERT INTO media_items (id, workspace_id, path, category, kind, content_hash, size_bytes, \
                 width, height, active, times_posted, last_posted_at, added_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE, 0, NULL, $10) ON CONFLICT DO NOTHING",
            )
            .bind(MediaId::new().0)
            .bind(workspace.as_uuid())
            .bind(&new.path)
            .bind(new.category.as_str())
            .bind(new.kind.as_str())
            .bind(new.hash.as_str())
            .bind(i64::try_from(new.size_bytes).map_err(StoreError::unknown)?)
            .bind(new.width.map(i32::try_from).transpose().map_err(StoreError::unknown)?)
            .bind(new.height.map(i32::try_from).transpose().map_err(StoreError::unknown)?)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
            if D::rows_affected(&added) > 0 {
                report.added += 1;
                continue;
            }
            // The same content first: that is what the report is about.
            let existing: Option<String> = sqlx::query_scalar(
                "SELECT path FROM media_items WHERE workspace_id = $1 AND (content_hash = $2 OR path = $3) \
                 ORDER BY content_hash = $2 DESC LIMIT 1",
            )
            .bind(workspace.as_uuid())
            .bind(new.hash.as_str())
            .bind(&new.path)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db::<D>)?;
            report.duplicates.push((new.path.clone(), existing.unwrap_or_else(|| new.path.clone())));
        }
        tx.commit().await.map_err(db::<D>)?;
        Ok(report)
    }

    async fn media(&self, workspace: WorkspaceId, query: &MediaQuery) -> Result<Vec<MediaItem>, StoreError> {
        sqlx::query_as::<_, MediaRow>(&format!(
            "SELECT {MEDIA_COLUMNS} FROM media_items WHERE workspace_id = $1 AND ($2 IS NULL OR category = $2) \
             ORDER BY path LIMIT $3"
        ))
        .bind(workspace.as_uuid())
        .bind(query.category.as_ref().map(|c| c.as_str().to_owned()))
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db::<D>)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }

    async fn get(&self, workspace: WorkspaceId, media: MediaId) -> Result<Option<MediaItem>, StoreError> {
        sqlx::query_as::<_, MediaRow>(&format!(
            "SELECT {MEDIA_COLUMNS} FROM media_items WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_uuid())
        .bind(media.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db::<D>)?
        .map(TryInto::try_into)
        .transpose()
    }

    async fn set_needs_interaction(
        &self,
        workspace: WorkspaceId,
        media: MediaId,
        on: bool,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE media_items SET needs_interaction = $1 WHERE workspace_id = $2 AND id = $3")
            .bind(on)
            .bind(workspace.as_uuid())
            .bind(media.0)
            .execute(&self.pool)
            .await
            .map_err(db::<D>)?;
        Ok(D::rows_affected(&done) > 0)
    }

    async fn categories(&self, workspace: WorkspaceId, now: DateTime<Utc>) -> Result<Vec<CategoryStats>, StoreError> {
        // Outer joins rather than NOT EXISTS per row: one pass over a large library.
        sqlx::query_as::<_, CategoryRow>(
            "SELECT m.category, COUNT(*) AS total, \
             COUNT(*) FILTER (WHERE m.active AND q.media_id IS NULL AND l.media_id IS NULL) AS available, \
             COUNT(*) FILTER (WHERE m.times_posted > 0) AS posted \
             FROM media_items m \
             LEFT JOIN queue_items q ON q.workspace_id = m.workspace_id AND q.media_id = m.id \
               AND q.status IN ('pending', 'sending', 'sent') \
             LEFT JOIN media_locks l ON l.workspace_id = m.workspace_id AND l.media_id = m.id \
               AND (l.locked_until IS NULL OR l.locked_until > $2) \
             WHERE m.workspace_id = $1 GROUP BY m.category ORDER BY m.category",
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

    async fn set_mix(
        &self,
        workspace: WorkspaceId,
        mix: &CategoryMix,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        Self::lock_mix(&mut tx, workspace).await?;
        Self::write_mix(&mut tx, workspace, mix, actor, at).await?;
        tx.commit().await.map_err(db::<D>)?;
        Ok(())
    }

    async fn mix_history(&self, workspace: WorkspaceId) -> Result<Vec<MixVersion>, StoreError> {
        sqlx::query_as::<_, MixRow>(
            "SELECT mix, valid_from, valid_to, set_by FROM category_mix_versions WHERE workspace_id = $1 \
             ORDER BY version DESC",
        )
        .bind(workspace.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(db::<D>)?
        .into_iter()
        .map(TryInto::try_into)
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
    /// Takes the workspace's row until commit, so changes of its mix take turns.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn lock_mix(tx: &mut Transaction<'static, D::Db>, workspace: WorkspaceId) -> Result<(), StoreError> {
        sqlx::query(&format!("SELECT 1 FROM workspaces WHERE id = $1{}", D::FOR_NO_KEY_UPDATE))
            .bind(workspace.as_uuid())
            .execute(&mut **tx)
            .await
            .map_err(db::<D>)?;
        Ok(())
    }

    /// The current mix, if any, inside `tx`.
    ///
    /// # Errors
    /// When the database fails or the stored mix is corrupt.
    pub async fn current_mix(
        tx: &mut Transaction<'static, D::Db>,
        workspace: WorkspaceId,
    ) -> Result<Option<CategoryMix>, StoreError> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT mix FROM category_mix_versions WHERE workspace_id = $1 AND valid_to IS NULL")
                .bind(workspace.as_uuid())
                .fetch_optional(&mut **tx)
                .await
                .map_err(db::<D>)?;
        text.map(|text| CategoryMix::parse(&text).map_err(StoreError::unknown)).transpose()
    }

    /// Makes `mix` the current mix from `at` (call [`Self::lock_mix`] first).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn write_mix(
        tx: &mut Transaction<'static, D::Db>,
        workspace: WorkspaceId,
        mix: &CategoryMix,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let current: Option<(i64, DateTime<Utc>)> = sqlx::query_as(
            "SELECT version, valid_from FROM category_mix_versions WHERE workspace_id = $1 \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(workspace.as_uuid())
        .fetch_optional(&mut **tx)
        .await
        .map_err(db::<D>)?;
        let (version, valid_from) = match current {
            Some((version, current_from)) => (version + 1, at.max(current_from)),
            None => (1, at),
        };
        sqlx::query("UPDATE category_mix_versions SET valid_to = $1 WHERE workspace_id = $2 AND valid_to IS NULL")
            .bind(valid_from)
            .bind(workspace.as_uuid())
            .execute(&mut **tx)
            .await
            .map_err(db::<D>)?;
        sqlx::query(
            "INSERT INTO category_mix_versions (workspace_id, version, mix, valid_from, valid_to, set_by) \
             VALUES ($1, $2, $3, $4, NULL, $5)",
        )
        .bind(workspace.as_uuid())
        .bind(version)
        .bind(mix.to_string())
        .bind(valid_from)
        .bind(actor.to_string())
        .execute(&mut **tx)
        .await
        .map_err(db::<D>)?;
        Ok(())
    }
}
