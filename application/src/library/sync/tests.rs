use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use secrecy::SecretString;
use storyline_domain::library::{MediaContent, StillFormat};
use storyline_domain::ports::{SettingsStore, SourceEntry, SourceFile, VaultError};
use storyline_domain::settings::SettingsDefaults;
use storyline_domain::source::{SourceConfig, SourceVersion};
use storyline_domain::user::Actor;
use storyline_memory::{ChatCall, ManualClock, MemoryStore, RecordingChat};

use super::*;
use crate::library::Quiet;

/// The sync status in memory; the rest of the port is not what these tests are about.
#[derive(Default)]
struct Statuses(Mutex<HashMap<WorkspaceId, SyncStatus>>);

#[async_trait]
impl SourceStore for Statuses {
    async fn current_source(
        &self,
        _workspace: WorkspaceId,
    ) -> Result<Option<(SourceConfig, Option<SecretString>)>, VaultError> {
        Ok(None)
    }

    async fn set_source(
        &self,
        _workspace: WorkspaceId,
        _config: &SourceConfig,
        _secret: Option<SecretString>,
        _actor: &Actor,
        _old_items: storyline_domain::source::OldItems,
        _at: DateTime<Utc>,
    ) -> Result<storyline_domain::source::SourceSwitch, VaultError> {
        Err(VaultError::NoKey)
    }

    async fn source_versions(&self, _workspace: WorkspaceId) -> Result<Vec<SourceVersion>, StoreError> {
        Ok(Vec::new())
    }

    async fn sync_status(&self, workspace: WorkspaceId) -> Result<SyncStatus, StoreError> {
        Ok(self.0.lock().unwrap_or_else(PoisonError::into_inner).get(&workspace).cloned().unwrap_or_default())
    }

    async fn record_sync(&self, workspace: WorkspaceId, status: &SyncStatus) -> Result<(), StoreError> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(workspace, status.clone());
        Ok(())
    }

    async fn reseal_source_secrets(&self) -> Result<u64, VaultError> {
        Ok(0)
    }
}

/// A source in memory: path → content number (its hash), with bodies read counted.
#[derive(Default)]
struct Bucket {
    files: Mutex<BTreeMap<String, u8>>,
    broken: Mutex<HashSet<String>>,
    down: AtomicBool,
    reads: AtomicU64,
}

impl Bucket {
    fn put(&self, path: &str, content: u8) {
        self.files.lock().unwrap_or_else(PoisonError::into_inner).insert(path.to_owned(), content);
    }

    fn reads(&self) -> u64 {
        self.reads.swap(0, Ordering::SeqCst)
    }
}

#[async_trait]
impl MediaSource for Bucket {
    async fn list(&self) -> Result<Vec<SourceEntry>, SourceError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(SourceError::NoSuchRoot("the bucket team-media does not exist".to_owned()));
        }
        let files = self.files.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(files
            .iter()
            .map(|(path, content)| SourceEntry {
                path: path.clone(),
                size_bytes: 100,
                checksum: Some(format!("etag-{content}")),
                modified: None,
            })
            .collect())
    }

    async fn describe(&self, path: &str) -> Result<SourceFile, SourceError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.broken.lock().unwrap_or_else(PoisonError::into_inner).contains(path) {
            return Err(SourceError::Unreachable(anyhow::anyhow!("connection reset")));
        }
        let content = *self
            .files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(path)
            .ok_or_else(|| SourceError::NotFound(path.to_owned()))?;
        Ok(SourceFile {
            path: path.to_owned(),
            extension: "png".to_owned(),
            size_bytes: 100,
            sha256: format!("{content:02x}").repeat(32),
            content: MediaContent::Still { format: StillFormat::Png, width: 1080, height: 1920 },
        })
    }

    async fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        Err(SourceError::NotFound(path.to_owned()))
    }

    fn locate(&self, path: &str) -> String {
        format!("s3://team-media/{path}")
    }
}

struct World {
    store: MemoryStore,
    chat: RecordingChat,
    service: SyncService,
    workspace: Workspace,
}

async fn world() -> World {
    let store = MemoryStore::new();
    let clock = Arc::new(ManualClock::at(Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().expect("a time")));
    let workspace = store
        .ensure_workspace(ChatId(-100), "Team", &SettingsDefaults::default(), clock.now())
        .await
        .expect("a workspace");
    let chat = RecordingChat::new();
    let service =
        SyncService::new(Arc::new(store.clone()), Arc::new(Statuses::default()), clock).telling(Arc::new(chat.clone()));
    World { store, chat, service, workspace }
}

fn said(chat: &RecordingChat) -> Vec<String> {
    chat.calls()
        .into_iter()
        .filter_map(|call| match call {
            ChatCall::Sent { screen, .. } => Some(screen.text.to_plain()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_resync_with_nothing_changed_reads_no_body() {
    let world = world().await;
    let bucket = Bucket::default();
    bucket.put("memes/a.png", 1);
    bucket.put("merch/b.png", 2);
    let first = world.service.sync(&world.workspace, &bucket, &Quiet).await.expect("synced");
    assert_eq!((first.added, bucket.reads()), (2, 2));
    let again = world.service.sync(&world.workspace, &bucket, &Quiet).await.expect("synced");
    assert_eq!(again, SyncSummary { unchanged: 2, ..SyncSummary::default() });
    assert_eq!(bucket.reads(), 0, "an unchanged source costs a listing");
    // A rename keeps the checksum: a move, and still no body read.
    bucket.files.lock().unwrap_or_else(PoisonError::into_inner).remove("memes/a.png");
    bucket.put("memes/renamed.png", 1);
    let moved = world.service.sync(&world.workspace, &bucket, &Quiet).await.expect("synced");
    assert_eq!((moved.moved, moved.unchanged, bucket.reads()), (1, 1, 0));
    let status = world.service.status(world.workspace.id).await.expect("status");
    assert_eq!(status.last_summary, Some(moved));
    assert!(status.last_synced_at.is_some() && status.unreachable_since.is_none());
    let items = world.store.synced_items(world.workspace.id).await.expect("items");
    assert_eq!(items.iter().map(|i| i.path.as_str()).collect::<Vec<_>>(), ["memes/renamed.png", "merch/b.png"]);
}

#[tokio::test]
async fn an_unreadable_file_is_refused_and_the_rest_is_synced() {
    let world = world().await;
    let bucket = Bucket::default();
    bucket.put("memes/a.png", 1);
    bucket.put("memes/b.png", 2);
    bucket.broken.lock().unwrap_or_else(PoisonError::into_inner).insert("memes/a.png".to_owned());
    let summary = world.service.sync(&world.workspace, &bucket, &Quiet).await.expect("synced");
    assert_eq!(summary.added, 1);
    assert_eq!(
        summary.refused,
        [(
            "memes/a.png".to_owned(),
            "it could not be read from the media source (the media source is not answering)".to_owned()
        )]
    );
}

#[tokio::test]
async fn a_source_that_goes_away_is_told_once_and_its_return_once() {
    let world = world().await;
    let bucket = Bucket::default();
    bucket.put("memes/a.png", 1);
    world.service.sync(&world.workspace, &bucket, &Quiet).await.expect("synced");
    bucket.down.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        let error = world.service.sync(&world.workspace, &bucket, &Quiet).await.expect_err("down");
        assert!(matches!(error, SyncError::Unreachable(_)), "{error}");
    }
    assert_eq!(
        said(&world.chat),
        [
            "⚠️ The media source cannot be reached: the bucket team-media does not exist. The library stays as it is, and queued stories of it may fail; I will say here when it answers again."
        ]
    );
    let status = world.service.status(world.workspace.id).await.expect("status");
    assert!(status.unreachable_since.is_some() && status.last_summary.is_some(), "{status:?}");
    let items = world.store.synced_items(world.workspace.id).await.expect("items");
    assert!(items.iter().all(|i| i.active), "an outage removes nothing");
    bucket.down.store(false, Ordering::SeqCst);
    world.chat.clear_calls();
    world.service.sync(&world.workspace, &bucket, &Quiet).await.expect("back");
    world.service.sync(&world.workspace, &bucket, &Quiet).await.expect("still back");
    assert_eq!(said(&world.chat), [BACK_TEXT]);
    assert!(world.service.status(world.workspace.id).await.expect("status").unreachable_since.is_none());
}

#[tokio::test]
async fn one_sync_at_a_time_per_workspace() {
    let world = world().await;
    let turn = world.service.turn(world.workspace.id).expect("the first turn");
    let bucket = Bucket::default();
    let busy = world.service.sync(&world.workspace, &bucket, &Quiet).await;
    assert!(matches!(busy, Err(SyncError::Busy)));
    drop(turn);
    assert!(world.service.sync(&world.workspace, &bucket, &Quiet).await.is_ok());
}
