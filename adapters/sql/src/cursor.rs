//! The Bot API intake cursor; advanced on the relaxed pool (see [`Store`]).

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::ports::{StoreError, UpdateCursor};
use uuid::Uuid;

use crate::bounds::{Arguments, ColumnIndex, Connection, Encode, Executor, IntoArguments, Row, Type, Value};
use crate::{Dialect, Store, db};

#[async_trait]
impl<D: Dialect> UpdateCursor for Store<D>
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
    async fn last_update(&self) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar("SELECT last_update_id FROM bot_cursor WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db::<D>)
    }

    async fn advance(&self, update_id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO bot_cursor (id, last_update_id) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET last_update_id = excluded.last_update_id \
             WHERE excluded.last_update_id > bot_cursor.last_update_id",
        )
        .bind(update_id)
        .execute(&self.relaxed)
        .await
        .map_err(db::<D>)?;
        Ok(())
    }

    /// On the relaxed pool, like the rest of the per-update bookkeeping: a killed bot loses
    /// nothing committed; only a crash of the database server itself could forget the last claims.
    async fn claim(&self, bot: i64, update_id: i64, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO handled_updates (bot_id, update_id, handled_at) VALUES ($1, $2, $3) \
             ON CONFLICT (bot_id, update_id) DO NOTHING",
        )
        .bind(bot)
        .bind(update_id)
        .bind(at)
        .execute(&self.relaxed)
        .await
        .map_err(db::<D>)?;
        Ok(D::rows_affected(&inserted) == 1)
    }

    /// One statement for the whole batch, on the relaxed pool like [`Self::claim`].
    async fn claim_many(&self, bot: i64, update_ids: &[i64], at: DateTime<Utc>) -> Result<Vec<i64>, StoreError> {
        match update_ids {
            [] => return Ok(Vec::new()),
            // A lone update (the usual case, and every update of a busy single chat): the
            // prepared statement of `claim`, not a text parsed anew.
            [update_id] => {
                let taken = self.claim(bot, *update_id, at).await?;
                return Ok(if taken { vec![*update_id] } else { Vec::new() });
            }
            _ => {}
        }
        // `$1` the bot, `$2` the instant, `$3`… the updates: a placeholder syntax both dialects read.
        let rows: Vec<String> = (0..update_ids.len()).map(|n| format!("($1, ${}, $2)", n + 3)).collect();
        let sql = format!(
            "INSERT INTO handled_updates (bot_id, update_id, handled_at) VALUES {} \
             ON CONFLICT (bot_id, update_id) DO NOTHING RETURNING update_id",
            rows.join(", ")
        );
        // One text per batch size: kept out of the connection's statement cache, so a burst of
        // sizes does not push the bot's everyday statements out of it.
        let mut statement = sqlx::query_scalar::<_, i64>(&sql).persistent(false).bind(bot).bind(at);
        for &update_id in update_ids {
            statement = statement.bind(update_id);
        }
        statement.fetch_all(&self.relaxed).await.map_err(db::<D>)
    }

    async fn forget_claims_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let deleted = sqlx::query("DELETE FROM handled_updates WHERE handled_at < $1")
            .bind(before)
            .execute(&self.relaxed)
            .await
            .map_err(db::<D>)?;
        Ok(D::rows_affected(&deleted))
    }

    /// Insert-if-absent, then read: two processes starting at once agree on the first one stored.
    async fn webhook_secret(&self, bot: i64, candidate: &str, at: DateTime<Utc>) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO webhook_secrets (bot_id, secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (bot_id) DO NOTHING",
        )
        .bind(bot)
        .bind(candidate)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(db::<D>)?;
        sqlx::query_scalar("SELECT secret FROM webhook_secrets WHERE bot_id = $1")
            .bind(bot)
            .fetch_one(&self.pool)
            .await
            .map_err(db::<D>)
    }
}
