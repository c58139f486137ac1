//! The `LibrarySync` contract: the library's side of a media sync (FEATURES M3).

use std::collections::HashMap;

use anyhow::{Context, ensure};
use chrono::Duration;
use storyline_domain::WorkspaceId;
use storyline_domain::library::{Category, ContentHash, MediaId, MediaItem, MediaKind};
use storyline_domain::ports::{ItemContent, ItemUpdate, MediaQuery, SyncChanges, SyncedItem, SyncedNew};
use storyline_domain::queue::{Outcome, QueueStatus};
use storyline_domain::user::{Actor, TelegramUserId};

use super::{instant, new_media, two_workspaces};
use crate::{Backend, Stores, TestResult};

const LEASE: Duration = Duration::minutes(5);
const ALICE: Actor = Actor::User(TelegramUserId(7));

fn synced_new(path: &str, content: u64, checksum: Option<&str>) -> SyncedNew {
    SyncedNew { media: new_media(path, content), checksum: checksum.map(str::to_owned), modified: Some(instant(-60)) }
}

fn moved(item: &SyncedItem, path: &str) -> anyhow::Result<ItemUpdate> {
    let folder = path.split('/').next().unwrap_or_default();
    Ok(ItemUpdate {
        id: item.id,
        path: path.to_owned(),
        category: Category::new(folder)?,
        active: true,
        checksum: item.checksum.clone(),
        modified: item.modified,
        content: None,
    })
}

async fn by_path(stores: &Stores, workspace: WorkspaceId) -> anyhow::Result<HashMap<String, SyncedItem>> {
    Ok(stores.sync.synced_items(workspace).await?.into_iter().map(|i| (i.path.clone(), i)).collect())
}

async fn media(stores: &Stores, workspace: WorkspaceId, id: MediaId) -> anyhow::Result<MediaItem> {
    stores.library.get(workspace, id).await?.context("the media item")
}

/// Queues `media` at `slot`, sends it and presses Posted: times posted 1, a history row, a lock.
async fn posted(stores: &Stores, workspace: WorkspaceId, id: MediaId, minutes: i64) -> TestResult {
    let slot = instant(minutes);
    ensure!(stores.queue.enqueue(workspace, &[(slot, id)]).await? == 1, "queued");
    let claimed = stores.queue.claim_next(workspace, slot, LEASE).await?.context("claimed")?;
    ensure!(stores.queue.mark_sent(workspace, claimed.entry.item.id, 100, slot).await?);
    stores.queue.resolve(workspace, claimed.entry.item.id, Outcome::Posted, &ALICE, slot).await?;
    Ok(())
}

pub async fn synced_items_are_every_item_with_what_the_source_said(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    stores.library.add(workspace.id, &[new_media("memes/indexed.jpg", 1)], instant(0)).await?;
    let changes = SyncChanges {
        added: vec![synced_new("memes/s3.jpg", 2, Some("\"etag-2\"")), synced_new("merch/local.jpg", 3, None)],
        ..SyncChanges::default()
    };
    let applied = stores.sync.apply_sync(workspace.id, &changes, instant(5)).await?;
    ensure!(applied.dropped_from_queue == 0);
    let items = stores.sync.synced_items(workspace.id).await?;
    let paths: Vec<&str> = items.iter().map(|i| i.path.as_str()).collect();
    ensure!(paths == ["memes/indexed.jpg", "memes/s3.jpg", "merch/local.jpg"], "by path: {paths:?}");
    let [indexed, s3, local] = items.as_slice() else { anyhow::bail!("three items") };
    ensure!(indexed.checksum.is_none() && indexed.modified.is_none(), "indexed before any sync: {indexed:?}");
    ensure!(s3.checksum.as_deref() == Some("\"etag-2\"") && s3.modified == Some(instant(-60)), "{s3:?}");
    ensure!(s3.hash == new_media("memes/s3.jpg", 2).hash && s3.size_bytes == 1002 && s3.active);
    ensure!(local.checksum.is_none() && local.modified == Some(instant(-60)), "{local:?}");
    let added = media(stores, workspace.id, s3.id).await?;
    ensure!(added.added_at == instant(5) && added.category.as_str() == "memes" && added.kind == MediaKind::Image);
    ensure!(added.width == Some(1080) && added.times_posted == 0);
    Ok(())
}

pub async fn a_move_keeps_the_id_history_times_posted_and_lock(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let changes = SyncChanges {
        added: vec![synced_new("memes/a.jpg", 1, None), synced_new("memes/b.jpg", 2, None)],
        ..SyncChanges::default()
    };
    stores.sync.apply_sync(workspace.id, &changes, instant(0)).await?;
    let before = by_path(stores, workspace.id).await?;
    let (a, b) = (&before["memes/a.jpg"], &before["memes/b.jpg"]);
    posted(stores, workspace.id, a.id, 10).await?;
    // a moves to another category, and b takes a's old path in the same run.
    let changes = SyncChanges {
        updated: vec![moved(a, "merch/a-renamed.jpg")?, moved(b, "memes/a.jpg")?],
        ..SyncChanges::default()
    };
    stores.sync.apply_sync(workspace.id, &changes, instant(20)).await?;
    let after = media(stores, workspace.id, a.id).await?;
    ensure!(after.path == "merch/a-renamed.jpg" && after.category.as_str() == "merch", "{after:?}");
    ensure!(after.times_posted == 1 && after.last_posted_at == Some(instant(10)) && after.active);
    ensure!(media(stores, workspace.id, b.id).await?.path == "memes/a.jpg");
    let history = stores.history.history(workspace.id, 10).await?;
    ensure!(history.len() == 1 && history[0].media == a.id, "the history stays with the id: {history:?}");
    let locks = stores.locks.locks(workspace.id, instant(21)).await?;
    ensure!(locks.len() == 1 && locks[0].media == a.id && locks[0].path == "merch/a-renamed.jpg", "{locks:?}");
    // Two items swap their paths within one run.
    let now = by_path(stores, workspace.id).await?;
    let (a, b) = (&now["merch/a-renamed.jpg"], &now["memes/a.jpg"]);
    let swap = SyncChanges {
        updated: vec![moved(a, "memes/a.jpg")?, moved(b, "merch/a-renamed.jpg")?],
        ..SyncChanges::default()
    };
    stores.sync.apply_sync(workspace.id, &swap, instant(30)).await?;
    ensure!(media(stores, workspace.id, a.id).await?.path == "memes/a.jpg");
    ensure!(media(stores, workspace.id, b.id).await?.path == "merch/a-renamed.jpg");
    Ok(())
}

pub async fn a_removed_item_is_deactivated_its_pending_story_dropped_and_it_can_come_back(
    backend: &Backend,
) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let changes = SyncChanges {
        added: vec![synced_new("memes/queued.jpg", 1, None), synced_new("memes/sent.jpg", 2, None)],
        ..SyncChanges::default()
    };
    stores.sync.apply_sync(workspace.id, &changes, instant(0)).await?;
    let items = by_path(stores, workspace.id).await?;
    let (queued, sent) = (&items["memes/queued.jpg"], &items["memes/sent.jpg"]);
    // sent first: it goes to the chat and waits for a press; queued stays pending.
    stores.queue.enqueue(workspace.id, &[(instant(10), sent.id), (instant(20), queued.id)]).await?;
    let claimed = stores.queue.claim_next(workspace.id, instant(10), LEASE).await?.context("claimed")?;
    ensure!(claimed.entry.item.media == sent.id);
    stores.queue.mark_sent(workspace.id, claimed.entry.item.id, 100, instant(10)).await?;
    let gone = SyncChanges { removed: vec![queued.id, sent.id], ..SyncChanges::default() };
    let applied = stores.sync.apply_sync(workspace.id, &gone, instant(15)).await?;
    ensure!(applied.dropped_from_queue == 1, "only the story not yet sent is dropped: {applied:?}");
    let left = stores.queue.entries(workspace.id, 10).await?;
    ensure!(left.len() == 1 && left[0].item.media == sent.id && left[0].item.status == QueueStatus::Sent, "{left:?}");
    ensure!(
        !media(stores, workspace.id, queued.id).await?.active && !media(stores, workspace.id, sent.id).await?.active
    );
    let synced = by_path(stores, workspace.id).await?;
    ensure!(synced.len() == 2 && synced.values().all(|i| !i.active), "still known, inactive: {synced:?}");
    ensure!(stores.queue.candidates(workspace.id, instant(30), 10).await?.is_empty(), "inactive is never scheduled");
    // It comes back.
    let back = SyncChanges { updated: vec![moved(queued, "memes/queued.jpg")?], ..SyncChanges::default() };
    stores.sync.apply_sync(workspace.id, &back, instant(40)).await?;
    ensure!(media(stores, workspace.id, queued.id).await?.active);
    Ok(())
}

pub async fn new_content_at_the_same_path_keeps_the_id(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let changes = SyncChanges { added: vec![synced_new("memes/a.jpg", 1, Some("v1"))], ..SyncChanges::default() };
    stores.sync.apply_sync(workspace.id, &changes, instant(0)).await?;
    let item = by_path(stores, workspace.id).await?["memes/a.jpg"].clone();
    let hash = ContentHash::from_hex(&"cd".repeat(32)).context("hash")?;
    let update = ItemUpdate {
        checksum: Some("v2".to_owned()),
        modified: Some(instant(1)),
        content: Some(ItemContent {
            kind: MediaKind::Video,
            hash: hash.clone(),
            size_bytes: 77,
            width: None,
            height: None,
        }),
        ..moved(&item, "memes/a.jpg")?
    };
    stores
        .sync
        .apply_sync(workspace.id, &SyncChanges { updated: vec![update], ..SyncChanges::default() }, instant(2))
        .await?;
    let now = by_path(stores, workspace.id).await?["memes/a.jpg"].clone();
    ensure!(now.id == item.id && now.hash == hash && now.size_bytes == 77, "{now:?}");
    ensure!(now.checksum.as_deref() == Some("v2") && now.modified == Some(instant(1)));
    let stored = media(stores, workspace.id, item.id).await?;
    ensure!(stored.kind == MediaKind::Video && stored.width.is_none());
    Ok(())
}

pub async fn a_sync_is_all_or_nothing(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let changes = SyncChanges { added: vec![synced_new("memes/a.jpg", 1, None)], ..SyncChanges::default() };
    stores.sync.apply_sync(workspace.id, &changes, instant(0)).await?;
    let a = by_path(stores, workspace.id).await?["memes/a.jpg"].clone();
    let stranger = SyncedItem { id: MediaId::new(), ..a.clone() };
    let failing = [
        // An update of an item that is not there, after a good addition and removal.
        SyncChanges {
            added: vec![synced_new("memes/new.jpg", 5, None)],
            updated: vec![moved(&stranger, "memes/x.jpg")?],
            removed: vec![a.id],
        },
        // A second file with content already in the library, after a good move.
        SyncChanges {
            added: vec![synced_new("memes/new.jpg", 5, None), synced_new("memes/copy.jpg", 1, None)],
            updated: vec![moved(&a, "merch/a.jpg")?],
            removed: Vec::new(),
        },
        // The removal of an unknown item.
        SyncChanges {
            added: vec![synced_new("memes/new.jpg", 5, None)],
            removed: vec![MediaId::new()],
            ..SyncChanges::default()
        },
    ];
    for changes in &failing {
        let outcome = stores.sync.apply_sync(workspace.id, changes, instant(5)).await;
        ensure!(outcome.is_err(), "refused: {changes:?}");
        let items = stores.sync.synced_items(workspace.id).await?;
        ensure!(items == [a.clone()], "nothing changed: {items:?}");
    }
    Ok(())
}

pub async fn a_workspace_cannot_see_or_change_another_workspaces_items(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (team_a, team_b) = two_workspaces(stores).await?;
    let changes = SyncChanges { added: vec![synced_new("memes/a.jpg", 1, None)], ..SyncChanges::default() };
    stores.sync.apply_sync(team_a.id, &changes, instant(0)).await?;
    let a = by_path(stores, team_a.id).await?["memes/a.jpg"].clone();
    ensure!(stores.sync.synced_items(team_b.id).await?.is_empty(), "B sees none of A's items");
    let removal = SyncChanges { removed: vec![a.id], ..SyncChanges::default() };
    ensure!(stores.sync.apply_sync(team_b.id, &removal, instant(1)).await.is_err(), "B cannot remove A's item");
    let update = SyncChanges { updated: vec![moved(&a, "memes/taken.jpg")?], ..SyncChanges::default() };
    ensure!(stores.sync.apply_sync(team_b.id, &update, instant(1)).await.is_err(), "B cannot move A's item");
    ensure!(stores.sync.synced_items(team_a.id).await? == [a.clone()], "A's item is untouched");
    // The same file in both workspaces is two items.
    stores.sync.apply_sync(team_b.id, &changes, instant(2)).await?;
    let b = by_path(stores, team_b.id).await?["memes/a.jpg"].clone();
    ensure!(b.id != a.id);
    let all = stores.library.media(team_a.id, &MediaQuery { category: None, limit: 10 }).await?;
    ensure!(all.len() == 1 && all[0].id == a.id);
    Ok(())
}
