//! A workspace's library kept in step with a local media folder (FEATURES M3), end to end on the
//! real wiring and a real database: files added, renamed, deleted, put back, one unreadable, an
//! unchanged folder synced again without a body read, and the folder gone and back.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, ensure};
use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use storyline::config::Config;
use storyline::wiring::App;
use storyline_application::library::{Quiet, SyncError, SyncService};
use storyline_domain::library::MediaId;
use storyline_domain::ports::{Clock, MediaSource, SourceEntry, SourceError, SourceFile};
use storyline_domain::queue::Outcome;
use storyline_domain::source::SyncSummary;
use storyline_domain::user::{Actor, TelegramUserId};
use storyline_domain::{ChatId, Workspace};
use storyline_media::LocalFolder;
use storyline_memory::{ChatCall, ManualClock, RecordingChat};
use storyline_tests::Backend;
use storyline_tests::files::png;

storyline_tests::on_backends!([sqlite, postgres][a_library_follows_its_folder]);

/// The local folder, with every body read counted and chosen files failing to read.
struct Counting {
    inner: LocalFolder,
    reads: AtomicU64,
    broken: Mutex<HashSet<String>>,
}

impl Counting {
    fn reads(&self) -> u64 {
        self.reads.swap(0, Ordering::SeqCst)
    }
}

#[async_trait]
impl MediaSource for Counting {
    async fn list(&self) -> Result<Vec<SourceEntry>, SourceError> {
        self.inner.list().await
    }

    async fn describe(&self, path: &str) -> Result<SourceFile, SourceError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.broken.lock().unwrap_or_else(PoisonError::into_inner).contains(path) {
            return Err(SourceError::Unknown(anyhow::anyhow!("input/output error")));
        }
        self.inner.describe(path).await
    }

    async fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.read(path).await
    }

    fn locate(&self, path: &str) -> String {
        self.inner.locate(path)
    }
}

fn write(root: &Path, path: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().context("a folder")?)?;
    std::fs::write(file, bytes)?;
    Ok(())
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

async fn ids(app: &App, workspace: &Workspace) -> anyhow::Result<HashMap<String, (MediaId, bool)>> {
    Ok(app.stores.sync.synced_items(workspace.id).await?.into_iter().map(|i| (i.path, (i.id, i.active))).collect())
}

async fn a_library_follows_its_folder(backend: Backend) -> storyline_tests::TestResult {
    let folder = tempfile::tempdir()?;
    let root = folder.path().join("media");
    write(&root, "memes/a.png", &png(1080, 1920, "a"))?;
    write(&root, "memes/b.png", &png(1080, 1920, "b"))?;
    write(&root, "merch/c.png", &png(1080, 1920, "c"))?;
    let vars = HashMap::from([("MEDIA_DIR", root.display().to_string())]);
    let config = Config::from_lookup(|name| vars.get(name).cloned())?;
    let clock = Arc::new(ManualClock::at(Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().context("a time")?));
    let app = App::wire(backend.stores().clone(), clock.clone(), &config)?;
    let chat = RecordingChat::new();
    let sync: SyncService = app.sync.clone().telling(Arc::new(chat.clone()));
    let workspace = app.settings.workspace_for_chat(ChatId(-100_555), "Team").await?;
    let source =
        Counting { inner: LocalFolder::new(&root), reads: AtomicU64::new(0), broken: Mutex::new(HashSet::new()) };

    // The first sync reads each file once; an unchanged folder then costs a listing alone.
    let first = sync.sync(&workspace, &source, &Quiet).await?;
    ensure!(first == SyncSummary { added: 3, ..SyncSummary::default() }, "{first:?}");
    ensure!(source.reads() == 3);
    let again = sync.sync(&workspace, &source, &Quiet).await?;
    ensure!(again == SyncSummary { unchanged: 3, ..SyncSummary::default() }, "{again:?}");
    ensure!(source.reads() == 0, "a re-sync of an unchanged folder reads no body");

    // a is posted, then renamed into another category: moved, with its history and count.
    let before = ids(&app, &workspace).await?;
    let (a, _) = before["memes/a.png"];
    let (b, _) = before["memes/b.png"];
    let queue = &app.stores.queue;
    queue.enqueue(workspace.id, &[(clock.now(), a)]).await?;
    let claimed = queue.claim_next(workspace.id, clock.now(), Duration::minutes(5)).await?.context("a claimed")?;
    queue.mark_sent(workspace.id, claimed.entry.item.id, 1, clock.now()).await?;
    let actor = Actor::User(TelegramUserId(10));
    queue.resolve(workspace.id, claimed.entry.item.id, Outcome::Posted, &actor, clock.now()).await?;
    clock.advance(Duration::minutes(1));
    std::fs::rename(root.join("memes/a.png"), root.join("merch/a-renamed.png"))?;
    let moved = sync.sync(&workspace, &source, &Quiet).await?;
    ensure!(moved == SyncSummary { moved: 1, unchanged: 2, ..SyncSummary::default() }, "{moved:?}");
    ensure!(source.reads() == 1, "the new path is read once to recognise its content");
    let item = app.stores.library.get(workspace.id, a).await?.context("a")?;
    ensure!(item.path == "merch/a-renamed.png" && item.category.as_str() == "merch" && item.times_posted == 1);
    let history = app.stores.history.history(workspace.id, 10).await?;
    ensure!(history.len() == 1 && history[0].media == a, "the history stays with the item: {history:?}");

    // b is queued, then deleted: deactivated, and its story dropped, never sent.
    clock.advance(Duration::hours(1));
    queue.enqueue(workspace.id, &[(clock.now() + Duration::hours(1), b)]).await?;
    std::fs::remove_file(root.join("memes/b.png"))?;
    let removed = sync.sync(&workspace, &source, &Quiet).await?;
    ensure!(removed.removed == 1 && removed.dropped_from_queue == 1 && removed.unchanged == 2, "{removed:?}");
    ensure!(!app.stores.library.get(workspace.id, b).await?.context("b")?.active);
    ensure!(queue.entries(workspace.id, 10).await?.is_empty(), "b's story left the queue");
    ensure!(queue.claim_due(clock.now() + Duration::days(1), Duration::minutes(5), 10).await?.is_empty());

    // b comes back: the same item, active again.
    write(&root, "memes/b.png", &png(1080, 1920, "b"))?;
    let back = sync.sync(&workspace, &source, &Quiet).await?;
    ensure!(back == SyncSummary { reactivated: 1, unchanged: 2, ..SyncSummary::default() }, "{back:?}");
    ensure!(ids(&app, &workspace).await?["memes/b.png"] == (b, true));

    // One file cannot be read: refused, and the rest is synced.
    write(&root, "memes/d.png", &png(1080, 1920, "d"))?;
    write(&root, "memes/e.png", &png(1080, 1920, "e"))?;
    source.broken.lock().unwrap_or_else(PoisonError::into_inner).insert("memes/d.png".to_owned());
    let partly = sync.sync(&workspace, &source, &Quiet).await?;
    ensure!(partly.added == 1 && partly.unchanged == 3, "{partly:?}");
    ensure!(partly.refused.len() == 1 && partly.refused[0].0 == "memes/d.png", "{partly:?}");
    ensure!(ids(&app, &workspace).await?.contains_key("memes/e.png"));
    source.broken.lock().unwrap_or_else(PoisonError::into_inner).clear();
    source.reads();

    // The folder goes away: told once, nothing removed; it comes back: told once.
    let away = folder.path().join("elsewhere");
    std::fs::rename(&root, &away)?;
    for _ in 0..3 {
        let error = sync.sync(&workspace, &source, &Quiet).await.err().context("the folder is gone")?;
        ensure!(matches!(error, SyncError::Unreachable(SourceError::NoSuchRoot(_))), "{error}");
    }
    let told = said(&chat);
    ensure!(
        told.len() == 1 && told[0].starts_with("⚠️ The media source cannot be reached: there is no folder"),
        "{told:?}"
    );
    ensure!(sync.status(workspace.id).await?.unreachable_since.is_some());
    ensure!(
        ids(&app, &workspace).await?.values().filter(|(_, active)| *active).count() == 4,
        "an outage removes nothing"
    );
    std::fs::rename(&away, &root)?;
    chat.clear_calls();
    let returned = sync.sync(&workspace, &source, &Quiet).await?;
    ensure!(returned.added == 1 && returned.unchanged == 4, "d is read now: {returned:?}");
    sync.sync(&workspace, &source, &Quiet).await?;
    ensure!(said(&chat) == [storyline_application::library::sync::BACK_TEXT], "{:?}", said(&chat));
    ensure!(sync.status(workspace.id).await?.unreachable_since.is_none());
    Ok(())
}
