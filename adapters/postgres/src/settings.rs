//! A settings change in one statement: optimistic, retried when another change won the race.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::audit::AuditAction;
use storyline_domain::ports::{AppliedChange, ApplySettingError, StoreError};
use storyline_domain::settings::{ChatSettings, SettingChange, StoredSettings};
use storyline_domain::user::Actor;
use storyline_sql::rows::{CurrentRow, SETTINGS_COLUMNS};
use storyline_sql::{KnownSettings, SettingsDialect, Store};

use crate::{PostgresDialect, PostgresStore, db};

/// How often one change is tried again after losing a race before giving up.
const MAX_ATTEMPTS: usize = 1_000;

#[async_trait]
impl SettingsDialect for PostgresDialect {
    async fn apply(
        store: &Store<Self>,
        workspace: WorkspaceId,
        change: SettingChange,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<AppliedChange, ApplySettingError> {
        // Optimistic: read, apply the domain rule, then write everything in one statement that
        // only takes effect if the version is still the one read. A racing change makes it
        // match nothing, and the change is applied again on top of the winner's: two toggles are
        // two flips. Two round trips and one commit, instead of a transaction's seven.
        // A burst of toggles in one workspace starts each from the settings the last one wrote,
        // without reading the row: the write checks the version (KnownSettings).
        let mut known = store.known_settings(workspace);
        for _ in 0..MAX_ATTEMPTS {
            let remembered = known.is_some();
            let current = match known.take() {
                Some(known) => known,
                None => {
                    let row = sqlx::query_as::<_, CurrentRow>(&format!(
                        "SELECT {SETTINGS_COLUMNS}, version, updated_at AS current_from \
                         FROM chat_settings WHERE workspace_id = $1"
                    ))
                    .bind(workspace.as_uuid())
                    .fetch_optional(store.pool())
                    .await
                    .map_err(db)?
                    .ok_or(StoreError::WorkspaceNotFound(workspace))?;
                    KnownSettings {
                        settings: ChatSettings::try_from(row.settings)?,
                        version: row.version,
                        current_from: row.current_from,
                    }
                }
            };
            let before = current.settings;
            let (after, changes) = match before.apply(change, actor, at) {
                // Nothing to change, or refused, against what this store wrote last: the row may
                // say otherwise; ask it.
                Ok((_, changes)) if remembered && changes.is_empty() => continue,
                Err(_) if remembered => continue,
                applied => applied?,
            };
            if changes.is_empty() {
                return Ok(AppliedChange { before, after, changes, version: current.version });
            }
            let version = current.version + 1;
            let valid_from = at.max(current.current_from);
            let stored = StoredSettings::from(&after);
            let (subjects, (olds, news)): (Vec<&str>, (Vec<&str>, Vec<&str>)) =
                changes.iter().map(|c| (c.key.as_str(), (c.old.as_str(), c.new.as_str()))).unzip();
            let written: i64 = PostgresStore::bind_settings(
                sqlx::query_scalar(&format!(
                    "WITH changed AS ( \
                         UPDATE chat_settings SET dry_run_mode = $3, enable_instagram_api = $4, is_paused = $5, \
                         paused_at = $6, paused_by = $7, posts_per_day = $8, posting_hours_start = $9, \
                         posting_hours_end = $10, posting_timezone = $11, version = $12, updated_at = $13 \
                         WHERE workspace_id = $1 AND version = $2 RETURNING workspace_id \
                     ), closed AS ( \
                         UPDATE chat_settings_history SET valid_to = $13 \
                         WHERE workspace_id IN (SELECT workspace_id FROM changed) AND version = $2 \
                     ), opened AS ( \
                         INSERT INTO chat_settings_history \
                         (workspace_id, version, {SETTINGS_COLUMNS}, valid_from, valid_to, changed_by) \
                         SELECT workspace_id, $12, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13, NULL, $14 FROM changed \
                     ), audited AS ( \
                         INSERT INTO audit_log (workspace_id, at, actor, action, subject, old_value, new_value) \
                         SELECT c.workspace_id, $15, $14, $16, f.subject, f.old_value, f.new_value \
                         FROM changed c CROSS JOIN unnest($17::text[], $18::text[], $19::text[]) \
                             AS f(subject, old_value, new_value) \
                     ) \
                     SELECT count(*) FROM changed"
                ))
                .bind(workspace.as_uuid())
                .bind(current.version),
                &stored,
            )
            .bind(version)
            .bind(valid_from)
            .bind(actor.to_string())
            .bind(at)
            .bind(AuditAction::Setting.as_str())
            .bind(subjects)
            .bind(olds)
            .bind(news)
            .fetch_one(store.pool())
            .await
            .map_err(db)?;
            if written == 1 {
                let known = KnownSettings { settings: after.clone(), version, current_from: valid_from };
                store.remember_settings(workspace, Some(known));
                return Ok(AppliedChange { before, after, changes, version });
            }
            // Changed since: start again from the row.
            store.remember_settings(workspace, None);
        }
        Err(StoreError::unknown(anyhow::anyhow!(
            "settings of workspace {workspace} changed {MAX_ATTEMPTS} times under this change"
        ))
        .into())
    }
}
