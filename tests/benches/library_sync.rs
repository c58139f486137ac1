//! A sync of a 10,000-file library (issue 12 targets: the first sync of 10,000 small images ≤ 30 s,
//! a re-sync with nothing changed ≤ 2 s with no body read, peak RSS ≤ 60 MB during either).
//!
//! Run: `cargo bench -p storyline-tests --bench library_sync` (release). It makes 10,000 small
//! PNGs (in 20 category folders) twice: in a temporary local folder, and as objects in a bucket
//! of the loopback S3 server, which runs in a child process (this same program, started with
//! `BENCH_S3_SERVER=1`) so that its objects are not counted in the syncing process's memory.
//! Each source is synced twice into a fresh SQLite database — and into PostgreSQL when
//! `TEST_DATABASE_URL` is set — through the real `SyncService`, store and source, with the
//! source wrapped to count the bodies it reads. The peak resident memory of each sync is this
//! process's `VmHWM`, reset before it (`/proc/self/clear_refs`). `FILES=…` syncs another number
//! of files.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use comfy_table::Table;
use storyline::wiring::SystemClock;
use storyline_application::library::{Quiet, SyncService};
use storyline_domain::ChatId;
use storyline_domain::ports::{Clock, MediaSource, SourceEntry, SourceError, SourceFile};
use storyline_domain::settings::SettingsDefaults;
use storyline_domain::source::SyncSummary;
use storyline_media::LocalFolder;
use storyline_s3::S3Source;
use storyline_tests::Backend;
use storyline_tests::bench::status_kib;
use storyline_tests::files::png;
use storyline_tests::s3_server::S3Server;

const FIRST_TARGET: Duration = Duration::from_secs(30);
const RESYNC_TARGET: Duration = Duration::from_secs(2);
const RSS_TARGET_MB: f64 = 60.0;
const BUCKET: &str = "library";
const PREFIX: &str = "stories";

/// A source that counts the bodies read.
struct Counting {
    inner: Arc<dyn MediaSource>,
    reads: AtomicU64,
}

#[async_trait]
impl MediaSource for Counting {
    async fn list(&self) -> Result<Vec<SourceEntry>, SourceError> {
        self.inner.list().await
    }

    async fn describe(&self, path: &str) -> Result<SourceFile, SourceError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.describe(path).await
    }

    async fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.read(path).await
    }

    fn locate(&self, path: &str) -> String {
        self.inner.locate(path)
    }
}

/// The `i`th file: its path below the root, and its bytes.
fn file(i: u64) -> (String, Vec<u8>) {
    (format!("category-{:02}/image-{i:05}.png", i % 20), png(32, 32, &format!("image {i}")))
}

/// The child's part: an S3 server holding the files, its endpoint on stdout, until stdin closes.
async fn serve_s3(files: u64) -> anyhow::Result<()> {
    let server = S3Server::with_bucket(BUCKET).await?;
    for i in 0..files {
        let (path, bytes) = file(i);
        server.put(BUCKET, &format!("{PREFIX}/{path}"), bytes)?;
    }
    println!("{}", server.endpoint());
    // Until the parent is done (it closes our stdin, or dies).
    tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await??;
    Ok(())
}

/// One sync: how long, how many bodies read, the peak RSS in MB, and the summary.
struct Run {
    took: Duration,
    reads: u64,
    peak_mb: f64,
    summary: SyncSummary,
}

fn peak_mb() -> anyhow::Result<f64> {
    Ok(status_kib(std::process::id(), "VmHWM")? as f64 / 1024.0)
}

async fn run(service: &SyncService, workspace: &storyline_domain::Workspace, source: &Counting) -> anyhow::Result<Run> {
    // Resets VmHWM to the RSS now, so the peak is this sync's.
    std::fs::write("/proc/self/clear_refs", "5")?;
    source.reads.store(0, Ordering::Relaxed);
    let started = Instant::now();
    let summary = service.sync(workspace, source, &Quiet).await?;
    Ok(Run { took: started.elapsed(), reads: source.reads.load(Ordering::Relaxed), peak_mb: peak_mb()?, summary })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let files: u64 = std::env::var("FILES").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    if std::env::var_os("BENCH_S3_SERVER").is_some() {
        return serve_s3(files).await;
    }
    let folder = tempfile::tempdir()?;
    let root = folder.path().join("media");
    let made = Instant::now();
    for i in 0..files {
        let (path, bytes) = file(i);
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap_or(&root))?;
        std::fs::write(path, bytes)?;
    }
    println!("wrote {files} PNGs in {:.1} s", made.elapsed().as_secs_f64());
    let made = Instant::now();
    let mut server = Command::new(std::env::current_exe()?)
        .env("BENCH_S3_SERVER", "1")
        .env("FILES", files.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut endpoint = String::new();
    BufReader::new(server.stdout.take().context("the server's stdout")?).read_line(&mut endpoint)?;
    let endpoint = endpoint.trim().to_owned();
    anyhow::ensure!(endpoint.starts_with("http://"), "the S3 server did not start");
    println!("filled a bucket with {files} objects (in another process) in {:.1} s", made.elapsed().as_secs_f64());
    let s3 = S3Source::new(&S3Server::config_at(&endpoint, BUCKET, PREFIX), S3Server::secret())?;
    let sources: [(&str, Arc<dyn MediaSource>); 2] =
        [("local", Arc::new(LocalFolder::new(&root))), ("s3", Arc::new(s3))];

    let mut table = Table::new();
    table.set_header(["backend", "source", "sync", "time", "bodies read", "peak RSS", "summary", "targets"]);
    let mut missed = Vec::new();
    for (name, backend) in [("sqlite", Backend::sqlite().await?), ("postgres", Backend::postgres().await?)] {
        let Some(backend) = backend else { continue };
        let stores = backend.stores();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let service = SyncService::new(stores.sync.clone(), stores.sources.clone(), clock.clone());
        for (chat, (kind, inner)) in (1..).zip(&sources) {
            let workspace = stores
                .settings
                .ensure_workspace(ChatId(-chat), kind, &SettingsDefaults::default(), clock.now())
                .await?;
            let source = Counting { inner: inner.clone(), reads: AtomicU64::new(0) };
            let first = run(&service, &workspace, &source).await?;
            let again = run(&service, &workspace, &source).await?;
            for (label, result, target) in [("first", &first, FIRST_TARGET), ("re-sync", &again, RESYNC_TARGET)] {
                let summary = &result.summary;
                let ok_time = result.took <= target;
                let ok_rss = result.peak_mb <= RSS_TARGET_MB;
                let ok_reads = if label == "first" { summary.added == files } else { result.reads == 0 };
                if !(ok_time && ok_rss && ok_reads) {
                    missed.push(format!("{name} {kind} {label}"));
                }
                table.add_row([
                    name.to_owned(),
                    (*kind).to_owned(),
                    label.to_owned(),
                    format!("{:.2} s", result.took.as_secs_f64()),
                    result.reads.to_string(),
                    format!("{:.1} MB", result.peak_mb),
                    format!(
                        "{} added, {} unchanged, {} refused",
                        summary.added,
                        summary.unchanged,
                        summary.refused.len()
                    ),
                    format!(
                        "≤ {} s{}, ≤ {RSS_TARGET_MB} MB{}",
                        target.as_secs(),
                        if ok_time { " ✓" } else { " ✗" },
                        if ok_rss { " ✓" } else { " ✗" }
                    ),
                ]);
            }
        }
    }
    drop(server.stdin.take());
    server.wait()?;
    println!("{table}");
    if cfg!(debug_assertions) {
        println!("(a debug build: the targets are judged on `cargo bench`, which builds in release)");
    } else if !missed.is_empty() {
        anyhow::bail!("missed a target: {}", missed.join(", "));
    }
    Ok(())
}
