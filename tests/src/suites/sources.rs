//! The `SourceStore` contract: each workspace's media source with every version, its secret
//! sealed at rest (kept, replaced or cleared), key rotation, and the sync status.

use std::sync::Arc;

use anyhow::{Context, ensure};
use chrono::Duration;
use secrecy::{ExposeSecret, SecretString};
use storyline_crypto::Keyring;
use storyline_domain::WorkspaceId;
use storyline_domain::audit::AuditAction;
use storyline_domain::library::Category;
use storyline_domain::ports::{
    AuditQuery, CipherError, ItemUpdate, StoreError, SyncChanges, SyncedItem, TokenCipher, VaultError,
};
use storyline_domain::queue::QueueStatus;
use storyline_domain::source::{OldItems, SourceConfig, SourceSwitch, SyncStatus, SyncSummary};
use storyline_domain::user::{Actor, TelegramUserId};

use super::{instant, new_media, two_workspaces};
use crate::{Backend, Raw, TestResult};

const ALICE: Actor = Actor::User(TelegramUserId(7));
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// Runs the same code on whichever pool the backend has.
macro_rules! on_raw {
    ($raw:expr, $pool:ident => $body:expr) => {
        match $raw {
            Raw::Sqlite($pool) => $body,
            Raw::Postgres($pool) => $body,
        }
    };
}

fn s3(bucket: &str) -> SourceConfig {
    SourceConfig::S3 {
        bucket: bucket.to_owned(),
        prefix: "stories".to_owned(),
        endpoint: Some("http://127.0.0.1:9000".to_owned()),
        region: "us-east-1".to_owned(),
        path_style: true,
        access_key_id: "AKIAEXAMPLE".to_owned(),
    }
}

fn local(root: &str) -> SourceConfig {
    SourceConfig::Local { root: root.to_owned() }
}

fn secret(text: &str) -> Option<SecretString> {
    Some(SecretString::from(text.to_owned()))
}

/// The secret the workspace's current source opens with, in clear (for comparing).
async fn current_secret(stores: &crate::Stores, workspace: WorkspaceId) -> anyhow::Result<Option<String>> {
    let current = stores.sources.current_source(workspace).await?.context("a source is set")?;
    Ok(current.1.map(|s| s.expose_secret().to_owned()))
}

/// Every stored row of the three source tables, as bytes, for looking for the secret in clear
/// (`None` in memory).
async fn raw_bytes(backend: &Backend) -> anyhow::Result<Option<Vec<Vec<u8>>>> {
    let Some(raw) = backend.raw().await? else {
        return Ok(None);
    };
    let rows = on_raw!(raw, pool => {
        let mut rows: Vec<Vec<u8>> =
            sqlx::query_scalar::<_, Vec<u8>>("SELECT ciphertext FROM media_source_secrets").fetch_all(&pool).await?;
        let configs: Vec<String> =
            sqlx::query_scalar("SELECT config FROM media_source_versions").fetch_all(&pool).await?;
        rows.extend(configs.into_iter().map(String::into_bytes));
        let audit: Vec<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT old_value, new_value FROM audit_log").fetch_all(&pool).await?;
        rows.extend(audit.into_iter().flat_map(|(o, n)| [o, n]).flatten().map(String::into_bytes));
        rows
    });
    Ok(Some(rows))
}

pub async fn a_workspace_with_no_source_set_has_none_and_never_synced(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, _) = two_workspaces(stores).await?;
    ensure!(stores.sources.current_source(a.id).await?.is_none(), "none set: the default folder");
    ensure!(stores.sources.source_versions(a.id).await?.is_empty());
    ensure!(stores.sources.sync_status(a.id).await? == SyncStatus::default(), "never synced");
    Ok(())
}

pub async fn versions_come_back_newest_first_and_every_change_is_audited(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, _) = two_workspaces(stores).await?;
    stores.sources.set_source(a.id, &local("/srv/media"), None, &Actor::Cli, OldItems::Keep, instant(1)).await?;
    stores.sources.set_source(a.id, &s3("photos"), secret(SECRET), &ALICE, OldItems::Keep, instant(2)).await?;
    stores.sources.set_source(a.id, &s3("photos-2"), None, &ALICE, OldItems::Keep, instant(3)).await?;

    let versions = stores.sources.source_versions(a.id).await?;
    let configs: Vec<&SourceConfig> = versions.iter().map(|v| &v.config).collect();
    ensure!(configs == [&s3("photos-2"), &s3("photos"), &local("/srv/media")], "newest first: {configs:?}");
    ensure!(versions.iter().map(|v| v.secret_changed).collect::<Vec<_>>() == [false, true, false]);
    ensure!(versions[0].valid_from == instant(3) && versions[0].valid_to.is_none(), "the current one is open");
    ensure!(versions[1].valid_from == instant(2) && versions[1].valid_to == Some(instant(3)));
    ensure!(versions[2].valid_to == Some(instant(2)) && versions[2].set_by == Actor::Cli);
    ensure!(versions[0].set_by == ALICE);
    let current = stores.sources.current_source(a.id).await?.context("set")?;
    ensure!(current.0 == s3("photos-2"));

    let audit = stores.audit.entries(a.id, AuditQuery { action: Some(AuditAction::Setting), limit: 10 }).await?;
    ensure!(audit.len() == 3, "one entry per change: {audit:?}");
    ensure!(audit.iter().all(|e| e.subject == "media_source"));
    ensure!(audit[1].new.as_deref() == Some("s3://photos/stories (secret changed)"), "{:?}", audit[1].new);
    ensure!(audit[1].old.as_deref() == Some("local /srv/media"), "{:?}", audit[1].old);
    ensure!(audit[0].new.as_deref() == Some("s3://photos-2/stories") && audit[2].old.is_none());
    ensure!(
        audit.iter().all(|e| !format!("{:?}{:?}", e.old, e.new).contains(SECRET)),
        "the audit never holds the secret"
    );
    Ok(())
}

pub async fn the_secret_is_kept_when_the_kind_stays_and_cleared_when_it_changes(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, _) = two_workspaces(stores).await?;
    stores.sources.set_source(a.id, &s3("photos"), secret(SECRET), &ALICE, OldItems::Keep, instant(1)).await?;
    ensure!(current_secret(stores, a.id).await?.as_deref() == Some(SECRET), "round trip");
    stores.sources.set_source(a.id, &s3("other"), None, &ALICE, OldItems::Keep, instant(2)).await?;
    ensure!(current_secret(stores, a.id).await?.as_deref() == Some(SECRET), "kept: same kind, none given");
    stores.sources.set_source(a.id, &s3("other"), secret("a new one"), &ALICE, OldItems::Keep, instant(3)).await?;
    ensure!(current_secret(stores, a.id).await?.as_deref() == Some("a new one"), "replaced");
    stores
        .sources
        .set_source(a.id, &SourceConfig::Drive { folder_id: "1AbC".into() }, None, &ALICE, OldItems::Keep, instant(4))
        .await?;
    ensure!(current_secret(stores, a.id).await?.is_none(), "cleared on a kind change");
    stores.sources.set_source(a.id, &s3("photos"), None, &ALICE, OldItems::Keep, instant(5)).await?;
    ensure!(current_secret(stores, a.id).await?.is_none(), "not brought back");
    ensure!(backend.reopen().await?.sources.current_source(a.id).await?.is_some_and(|c| c.0 == s3("photos")));
    Ok(())
}

pub async fn the_secret_is_never_stored_in_clear(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    stores.sources.set_source(a.id, &s3("photos"), secret(SECRET), &ALICE, OldItems::Keep, instant(1)).await?;
    stores.sources.set_source(b.id, &s3("photos"), secret(SECRET), &ALICE, OldItems::Keep, instant(1)).await?;
    let Some(rows) = raw_bytes(backend).await? else {
        return Ok(());
    };
    let needle = SECRET.as_bytes();
    ensure!(rows.len() >= 4, "the secrets, the versions and the audit were read: {}", rows.len());
    ensure!(
        rows.iter().all(|row| !row.windows(needle.len()).any(|w| w == needle)),
        "no stored byte holds the secret in clear"
    );
    // A ciphertext copied to another workspace's row does not open there.
    let raw = backend.raw().await?.context("sql")?;
    on_raw!(raw, pool => {
        sqlx::query(
            "UPDATE media_source_secrets SET ciphertext = (SELECT ciphertext FROM media_source_secrets WHERE workspace_id = $1) \
             WHERE workspace_id = $2",
        )
        .bind(a.id.as_uuid())
        .bind(b.id.as_uuid())
        .execute(&pool)
        .await?;
    });
    let moved = stores.sources.current_source(b.id).await;
    ensure!(matches!(moved, Err(VaultError::Undecryptable(_))), "bound to its workspace: {moved:?}");
    ensure!(current_secret(stores, a.id).await?.as_deref() == Some(SECRET));
    Ok(())
}

pub async fn without_a_key_a_secret_is_refused_and_nothing_changes(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, _) = two_workspaces(stores).await?;
    stores.sources.set_source(a.id, &s3("photos"), secret(SECRET), &ALICE, OldItems::Keep, instant(1)).await?;
    let keyless = backend.stores_without_cipher().await?;
    let refused =
        keyless.sources.set_source(a.id, &s3("other"), secret("new"), &ALICE, OldItems::Keep, instant(2)).await;
    ensure!(matches!(refused, Err(VaultError::NoKey)), "{refused:?}");
    ensure!(stores.sources.source_versions(a.id).await?.len() == 1, "no version written");
    ensure!(current_secret(stores, a.id).await?.as_deref() == Some(SECRET), "the old secret stays");
    let audit = stores.audit.entries(a.id, AuditQuery { action: None, limit: 10 }).await?;
    ensure!(audit.len() == 1, "no audit entry: {audit:?}");
    let unreadable = keyless.sources.current_source(a.id).await;
    ensure!(matches!(unreadable, Err(VaultError::NoKey)), "a sealed secret needs the key: {unreadable:?}");
    // A local folder has no secret: no key is needed.
    keyless.sources.set_source(a.id, &local("/srv/media"), None, &ALICE, OldItems::Keep, instant(3)).await?;
    ensure!(keyless.sources.current_source(a.id).await?.is_some_and(|c| c.0 == local("/srv/media") && c.1.is_none()));
    Ok(())
}

pub async fn a_workspace_cannot_see_or_change_another_workspaces_source(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    stores.sources.set_source(a.id, &s3("theirs"), secret(SECRET), &ALICE, OldItems::Keep, instant(1)).await?;
    let done = SyncStatus { last_synced_at: Some(instant(2)), last_summary: None, unreachable_since: None };
    stores.sources.record_sync(a.id, &done).await?;
    ensure!(stores.sources.current_source(b.id).await?.is_none());
    ensure!(stores.sources.source_versions(b.id).await?.is_empty());
    ensure!(stores.sources.sync_status(b.id).await? == SyncStatus::default());
    stores.sources.set_source(b.id, &s3("mine"), None, &ALICE, OldItems::Keep, instant(3)).await?;
    ensure!(current_secret(stores, b.id).await?.is_none(), "b's source has no secret of a's");
    ensure!(current_secret(stores, a.id).await?.as_deref() == Some(SECRET));
    ensure!(stores.sources.source_versions(a.id).await?.len() == 1);
    let missing = stores.sources.record_sync(WorkspaceId::new(), &done).await;
    ensure!(matches!(missing, Err(StoreError::WorkspaceNotFound(_))), "{missing:?}");
    let missing =
        stores.sources.set_source(WorkspaceId::new(), &s3("x"), None, &ALICE, OldItems::Keep, instant(4)).await;
    ensure!(matches!(missing, Err(VaultError::Store(StoreError::WorkspaceNotFound(_)))), "{missing:?}");
    Ok(())
}

pub async fn the_sync_status_is_replaced_and_survives_a_restart(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, _) = two_workspaces(stores).await?;
    let summary = SyncSummary {
        added: 3,
        moved: 1,
        removed: 2,
        reactivated: 1,
        refused: vec![("memes/a.gif".into(), "GIF is not a story format".into())],
        unchanged: 40,
        warnings: vec![("memes/wide.jpg".into(), "landscape".into())],
        dropped_from_queue: 1,
    };
    let first = SyncStatus { last_synced_at: Some(instant(5)), last_summary: Some(summary), unreachable_since: None };
    stores.sources.record_sync(a.id, &first).await?;
    ensure!(stores.sources.sync_status(a.id).await? == first);
    let down = SyncStatus { unreachable_since: Some(instant(9)), ..first.clone() };
    stores.sources.record_sync(a.id, &down).await?;
    ensure!(backend.reopen().await?.sources.sync_status(a.id).await? == down, "replaced, and kept");
    Ok(())
}

pub async fn reseal_source_secrets_moves_every_secret_to_the_newest_key(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    stores.sources.set_source(a.id, &s3("a"), secret("secret of a"), &ALICE, OldItems::Keep, instant(1)).await?;
    stores.sources.set_source(b.id, &s3("b"), secret("secret of b"), &ALICE, OldItems::Keep, instant(1)).await?;

    let old = backend.encryption_key().to_owned();
    let new = Keyring::generate();
    let rotating: Arc<dyn TokenCipher> = Arc::new(Keyring::parse(&format!("{new},{old}"))?);
    let during = backend.stores_with_cipher(rotating).await?;
    ensure!(current_secret(&during, a.id).await?.as_deref() == Some("secret of a"), "the old key opens meanwhile");
    ensure!(during.sources.reseal_source_secrets().await? == 2, "both re-sealed");
    ensure!(during.sources.reseal_source_secrets().await? == 0, "nothing left");

    let new_only = backend.stores_with_cipher(Arc::new(Keyring::parse(&new)?)).await?;
    ensure!(current_secret(&new_only, a.id).await?.as_deref() == Some("secret of a"));
    ensure!(current_secret(&new_only, b.id).await?.as_deref() == Some("secret of b"));
    let old_only = stores.sources.current_source(a.id).await;
    ensure!(
        matches!(old_only, Err(VaultError::Undecryptable(CipherError::UnknownKey(_)))),
        "the old key alone no longer opens it: {old_only:?}"
    );
    ensure!(new_only.sources.source_versions(a.id).await?.len() == 1, "re-sealing is no new version");
    Ok(())
}

pub async fn another_source_sets_the_old_items_aside_in_the_same_transaction(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    let media = [new_media("memes/sent.jpg", 1), new_media("memes/queued.jpg", 2), new_media("merch/idle.jpg", 3)];
    stores.library.add(a.id, &media, instant(0)).await?;
    stores.library.add(b.id, &[new_media("memes/queued.jpg", 2)], instant(0)).await?;
    let ids = |items: Vec<SyncedItem>| -> Vec<_> { items.into_iter().map(|i| i.id).collect() };
    let a_items = ids(stores.sync.synced_items(a.id).await?);
    let b_items = ids(stores.sync.synced_items(b.id).await?);
    // a: one story gone to the chat (waiting for a press), one queued; b: one queued.
    let [queued, sent, idle] = a_items.as_slice() else { anyhow::bail!("three items in a: {a_items:?}") };
    stores.queue.enqueue(a.id, &[(instant(10), *sent), (instant(20), *queued)]).await?;
    let claimed = stores.queue.claim_next(a.id, instant(10), Duration::minutes(5)).await?.context("claimed")?;
    ensure!(claimed.entry.item.media == *sent);
    ensure!(stores.queue.mark_sent(a.id, claimed.entry.item.id, 100, instant(10)).await?);
    stores.queue.enqueue(b.id, &[(instant(20), b_items[0])]).await?;
    let synced = SyncStatus { last_synced_at: Some(instant(5)), last_summary: None, unreachable_since: None };
    stores.sources.record_sync(a.id, &synced).await?;
    stores.sources.record_sync(b.id, &synced).await?;

    // Kept (the caller found it is the same source): nothing is set aside.
    stores.sources.set_source(a.id, &local("/srv/media"), None, &ALICE, OldItems::Keep, instant(30)).await?;
    ensure!(stores.sync.synced_items(a.id).await?.iter().all(|i| i.active), "kept: all active");
    ensure!(stores.queue.entries(a.id, 10).await?.len() == 2, "kept: the queue as it was");

    let switch =
        stores.sources.set_source(a.id, &s3("photos"), secret(SECRET), &ALICE, OldItems::SetAside, instant(40)).await?;
    ensure!(switch == SourceSwitch { set_aside: 3, dropped_from_queue: 1 }, "{switch:?}");
    let after = stores.sync.synced_items(a.id).await?;
    ensure!(after.len() == 3 && after.iter().all(|i| !i.active), "set aside, not deleted: {after:?}");
    let left = stores.queue.entries(a.id, 10).await?;
    ensure!(
        left.len() == 1 && left[0].item.media == *sent && left[0].item.status == QueueStatus::Sent,
        "only the story not yet sent is dropped: {left:?}"
    );
    ensure!(stores.library.get(a.id, *idle).await?.is_some_and(|m| !m.active), "the item is still there");
    ensure!(stores.sources.sync_status(a.id).await? == SyncStatus::default(), "a new source was never synced");
    ensure!(backend.reopen().await?.sync.synced_items(a.id).await?.iter().all(|i| !i.active), "committed");

    // b is exactly as it was.
    ensure!(stores.sync.synced_items(b.id).await?.iter().all(|i| i.active), "b's items stay active");
    ensure!(stores.queue.entries(b.id, 10).await?.len() == 1, "b's queue stays");
    ensure!(stores.sources.sync_status(b.id).await? == synced, "b's sync status stays");

    // A refused change (no key for the secret) sets nothing aside.
    stores.sync.apply_sync(a.id, &reactivate(&after)?, instant(50)).await?;
    let keyless = backend.stores_without_cipher().await?;
    let refused =
        keyless.sources.set_source(a.id, &s3("other"), secret("new"), &ALICE, OldItems::SetAside, instant(60)).await;
    ensure!(matches!(refused, Err(VaultError::NoKey)), "{refused:?}");
    ensure!(stores.sync.synced_items(a.id).await?.iter().all(|i| i.active), "nothing set aside on a refusal");
    Ok(())
}

/// The changes a sync makes when every item is back at its path.
fn reactivate(items: &[SyncedItem]) -> anyhow::Result<SyncChanges> {
    let updated = items
        .iter()
        .map(|item| {
            Ok(ItemUpdate {
                id: item.id,
                path: item.path.clone(),
                category: Category::new(item.path.split('/').next().unwrap_or_default())?,
                active: true,
                checksum: item.checksum.clone(),
                modified: item.modified,
                content: None,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(SyncChanges { updated, ..Default::default() })
}
