//! Media sources end to end (FEATURES M1–M4, issue 12's tests) on the real wiring
//! (`storyline::wiring::App`) and a real database: a workspace whose source is set through
//! `SourceService` to a bucket on the loopback S3 server (its secret sealed with the backend's
//! key) or to a folder on the fake Drive API, synced through the source registry as the bot and
//! `sync-media` do. Uploads, renames, deletes and re-uploads between syncs; a story published
//! through the Graph API from the bucket's presigned URL; an outage told once each way;
//! local → S3 → Drive keeping the history; and no source secret in a log line, the chat or the
//! database in clear.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, ensure};
use chrono::{Duration, TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use storyline::config::Config;
use storyline::wiring::App;
use storyline_application::accounts::AddAccount;
use storyline_application::library::{Quiet, SyncError, SyncService};
use storyline_domain::Workspace;
use storyline_domain::account::{DisplayName, InstagramUserId, PostMethod};
use storyline_domain::library::MediaId;
use storyline_domain::ports::{Clock, SourceError};
use storyline_domain::queue::Outcome;
use storyline_domain::settings::{SettingChange, Toggle};
use storyline_domain::source::{SourceConfig, SourceSwitch, SyncSummary};
use storyline_domain::user::{Actor, TelegramUserId};
use storyline_memory::{ChatCall, ManualClock, RecordingChat};
use storyline_tests::fake_drive::FakeDrive;
use storyline_tests::files::{jpeg, png};
use storyline_tests::s3_server::{S3Server, SECRET_ACCESS_KEY};
use storyline_tests::{Backend, Raw, TestResult};
use wiremock::matchers::{method, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

storyline_tests::on_backends!([sqlite, postgres][
    an_s3_library_follows_its_bucket,
    a_story_of_s3_reaches_the_graph_api_by_its_presigned_url,
    an_s3_outage_is_told_once_when_it_goes_and_once_when_it_is_back,
    switching_local_to_s3_to_drive_keeps_the_history,
    no_source_secret_is_logged_told_or_stored_in_clear,
]);

const BUCKET: &str = "stories";
const PREFIX: &str = "library";
const IG_ID: &str = "17841400000000077";
const IG_TOKEN: &str = "IGAAB-sources-e2e-instagram-token-0001";

/// A workspace on the real wiring, with a loopback S3 server, a fake Drive, a fake Graph API,
/// a local media folder and a recording chat.
struct Harness {
    app: App,
    clock: ManualClock,
    chat: RecordingChat,
    sync: SyncService,
    workspace: Workspace,
    s3: S3Server,
    drive: FakeDrive,
    graph: MockServer,
    media: tempfile::TempDir,
}

impl Harness {
    async fn start(backend: &Backend) -> anyhow::Result<Self> {
        storyline_tests::logs::capture();
        let s3 = S3Server::with_bucket(BUCKET).await?;
        let drive = FakeDrive::start().await?;
        let graph = MockServer::start().await;
        let media = tempfile::tempdir()?;
        let vars = HashMap::from([
            ("MEDIA_DIR", media.path().display().to_string()),
            ("ENCRYPTION_KEY", backend.encryption_key().to_owned()),
            ("DRIVE_API_URL", drive.api_url()),
            ("GOOGLE_TOKEN_URL", drive.token_url()),
            ("GRAPH_API_URL", graph.uri()),
            ("PUBLIC_BASE_URL", "http://127.0.0.1:9".to_owned()),
        ]);
        let config = Config::from_lookup(|name| vars.get(name).cloned())?;
        let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().context("a time")?);
        let app = App::wire(backend.stores().clone(), Arc::new(clock.clone()), &config)?;
        let chat = RecordingChat::new();
        let sync = app.sync.clone().telling(Arc::new(chat.clone()));
        let workspace = app.settings.workspace_for_chat(storyline_domain::ChatId(-100_313), "Team").await?;
        Ok(Self { app, clock, chat, sync, workspace, s3, drive, graph, media })
    }

    async fn set(&self, config: &SourceConfig, secret: Option<SecretString>) -> anyhow::Result<SourceSwitch> {
        Ok(self.app.media_sources.set(self.workspace.id, config, secret, &Actor::Cli).await?)
    }

    async fn set_s3(&self) -> anyhow::Result<SourceSwitch> {
        self.set(&self.s3.config(BUCKET, PREFIX), Some(S3Server::secret())).await
    }

    /// One sync of the workspace's current source, as the bot's loop and `sync-media` run it.
    async fn sync(&self) -> Result<SyncSummary, SyncError> {
        let source = self.app.sources.source(self.workspace.id).await.map_err(SyncError::Source)?;
        self.sync.sync(&self.workspace, source.as_ref(), &Quiet).await
    }

    fn put(&self, path: &str, body: &[u8]) -> anyhow::Result<()> {
        self.s3.put(BUCKET, &format!("{PREFIX}/{path}"), body)
    }

    /// The library by path: (id, active).
    async fn items(&self) -> anyhow::Result<HashMap<String, (MediaId, bool)>> {
        let items = self.app.stores.sync.synced_items(self.workspace.id).await?;
        Ok(items.into_iter().map(|i| (i.path, (i.id, i.active))).collect())
    }

    /// `item` goes out now and is posted: a history row.
    async fn post(&self, item: MediaId) -> anyhow::Result<()> {
        let (queue, ws) = (&self.app.stores.queue, self.workspace.id);
        queue.enqueue(ws, &[(self.clock.now(), item)]).await?;
        let claimed = queue.claim_next(ws, self.clock.now(), Duration::minutes(5)).await?.context("claimed")?;
        ensure!(claimed.entry.item.media == item, "the story of {item}");
        queue.mark_sent(ws, claimed.entry.item.id, 1, self.clock.now()).await?;
        let actor = Actor::User(TelegramUserId(10));
        queue.resolve(ws, claimed.entry.item.id, Outcome::Posted, &actor, self.clock.now()).await?;
        self.clock.advance(Duration::minutes(1));
        Ok(())
    }

    /// What the chat was sent, as text.
    fn said(&self) -> Vec<String> {
        self.chat
            .calls()
            .into_iter()
            .filter_map(|call| match call {
                ChatCall::Sent { screen, .. } => Some(screen.text.to_plain()),
                _ => None,
            })
            .collect()
    }
}

async fn an_s3_library_follows_its_bucket(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.put("memes/a.jpg", &jpeg(1080, 1920, "a"))?;
    h.put("memes/b.png", &png(1080, 1920, "b"))?;
    h.put("quotes/c.png", &png(1080, 1920, "c"))?;
    h.set_s3().await?;
    ensure!(h.s3.get_object_calls() == 0, "trying the source is a listing");

    // Upload: each new object read once; two categories, from the first segment under the prefix.
    let first = h.sync().await?;
    ensure!(first == SyncSummary { added: 3, ..SyncSummary::default() }, "{first:?}");
    ensure!(h.s3.get_object_calls() == 3, "each new object read once: {}", h.s3.get_object_calls());
    let library = h.app.stores.library.clone();
    let items = h.items().await?;
    let mut categories = BTreeSet::new();
    for (id, _) in items.values() {
        categories.insert(library.get(h.workspace.id, *id).await?.context("an item")?.category.as_str().to_owned());
    }
    ensure!(categories.into_iter().collect::<Vec<_>>() == ["memes", "quotes"]);

    // Unchanged: a listing, no object body.
    let again = h.sync().await?;
    ensure!(again == SyncSummary { unchanged: 3, ..SyncSummary::default() }, "{again:?}");
    ensure!(h.s3.get_object_calls() == 3, "an unchanged re-sync reads no object");

    // Rename (same bytes, new key): moved, same id, history and count kept, judged by the ETag.
    let (a, _) = items["memes/a.jpg"];
    let (b, _) = items["memes/b.png"];
    h.post(a).await?;
    h.s3.rename(BUCKET, &format!("{PREFIX}/memes/a.jpg"), &format!("{PREFIX}/quotes/a-renamed.jpg"))?;
    let moved = h.sync().await?;
    ensure!(moved == SyncSummary { moved: 1, unchanged: 2, ..SyncSummary::default() }, "{moved:?}");
    ensure!(h.s3.get_object_calls() == 3, "a move is recognised by its ETag, without a read");
    let item = library.get(h.workspace.id, a).await?.context("a")?;
    ensure!(item.path == "quotes/a-renamed.jpg" && item.category.as_str() == "quotes", "{item:?}");
    ensure!(item.active && item.times_posted == 1, "{item:?}");
    let history = h.app.stores.history.history(h.workspace.id, 10).await?;
    ensure!(history.len() == 1 && history[0].media == a, "the history stays with the item: {history:?}");

    // Delete a queued object: removed, its story dropped, never sent.
    h.app.stores.queue.enqueue(h.workspace.id, &[(h.clock.now() + Duration::hours(1), b)]).await?;
    ensure!(h.s3.delete(BUCKET, &format!("{PREFIX}/memes/b.png")));
    let removed = h.sync().await?;
    ensure!(
        removed == SyncSummary { removed: 1, unchanged: 2, dropped_from_queue: 1, ..SyncSummary::default() },
        "{removed:?}"
    );
    ensure!(!library.get(h.workspace.id, b).await?.context("b")?.active);
    ensure!(h.app.stores.queue.entries(h.workspace.id, 10).await?.is_empty(), "b's story left the queue");
    let later = h.clock.now() + Duration::days(1);
    ensure!(h.app.stores.queue.claim_due(later, Duration::minutes(5), 10).await?.is_empty(), "nothing to send");

    // Re-upload: the same item, active again.
    h.put("memes/b.png", &png(1080, 1920, "b"))?;
    let back = h.sync().await?;
    ensure!(back == SyncSummary { reactivated: 1, unchanged: 2, ..SyncSummary::default() }, "{back:?}");
    ensure!(h.items().await?["memes/b.png"] == (b, true));
    ensure!(h.s3.get_object_calls() == 3, "the same ETag back at its path is not read");
    let status = h.sync.status(h.workspace.id).await?;
    ensure!(status.last_summary == Some(back) && status.unreachable_since.is_none(), "{status:?}");
    Ok(())
}

/// The Graph API's container endpoint, fetching the `image_url` as Meta does before it answers;
/// what it got is kept.
#[derive(Clone, Default)]
struct FetchesLikeMeta(Arc<Mutex<Vec<Fetched>>>);

/// What one fetch got: the URL, the status and the body.
type Fetched = (String, u16, Vec<u8>);

impl FetchesLikeMeta {
    fn fetched(&self) -> Vec<Fetched> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

fn field(request: &Request, name: &str) -> Option<String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .or_else(|| request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()))
}

impl wiremock::Respond for FetchesLikeMeta {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Some(url) = field(request, "image_url") else {
            return ResponseTemplate::new(400).set_body_json(json!({"error": {"message": "image_url", "code": 100}}));
        };
        // A runtime of its own on a thread of its own: wiremock's responder is synchronous.
        let fetch = url.clone();
        let got = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let answer = reqwest::get(&fetch).await?;
                let status = answer.status().as_u16();
                anyhow::Ok((status, answer.bytes().await?.to_vec()))
            })
        })
        .join();
        let Ok(Ok((status, body))) = got else {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"message": "The media could not be fetched", "code": 9004}}));
        };
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push((url, status, body));
        ResponseTemplate::new(200).set_body_json(json!({"id": "c-s3"}))
    }
}

async fn a_story_of_s3_reaches_the_graph_api_by_its_presigned_url(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    let story = jpeg(1080, 1920, "from the bucket");
    h.put("memes/story.jpg", &story)?;
    h.set_s3().await?;
    ensure!(h.sync().await?.added == 1);
    let (item, _) = h.items().await?["memes/story.jpg"];

    Mock::given(method("GET"))
        .and(path_regex(format!(r"^/v[0-9.]+/{IG_ID}$")))
        .and(query_param("fields", "username"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": IG_ID, "username": "brand"})))
        .mount(&h.graph)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v[0-9.]+/\d+/content_publishing_limit$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [{"quota_usage": 1, "config": {"quota_total": 25}}]})),
        )
        .mount(&h.graph)
        .await;
    let meta = FetchesLikeMeta::default();
    Mock::given(method("POST"))
        .and(path_regex(r"^/v[0-9.]+/\d+/media$"))
        .respond_with(meta.clone())
        .mount(&h.graph)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v[0-9.]+/c-s3$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "c-s3", "status_code": "FINISHED"})))
        .mount(&h.graph)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/v[0-9.]+/\d+/media_publish$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "m-s3"})))
        .mount(&h.graph)
        .await;
    let add = AddAccount {
        display_name: DisplayName::new("Brand")?,
        instagram_id: InstagramUserId::new(IG_ID)?,
        username: None,
        token: SecretString::from(IG_TOKEN.to_owned()),
        expires_in_days: Some(60),
        login: None,
        make_active: true,
    };
    h.app.accounts.add(h.workspace.id, add, &Actor::Cli).await?;
    let ws = h.workspace.id;
    h.app.settings.change(ws, SettingChange::Set(Toggle::InstagramApi, true), &Actor::Cli).await?;
    h.app.settings.change(ws, SettingChange::Set(Toggle::DryRun, false), &Actor::Cli).await?;

    h.app.stores.queue.enqueue(ws, &[(h.clock.now(), item)]).await?;
    let stories = h.app.stories(Arc::new(h.chat.clone()));
    let before = h.s3.get_object_calls();
    let tick = stories.tick().await?;
    ensure!(tick.sent == 1, "{tick:?}");
    let fetched = meta.fetched();
    let [(url, status, body)] = fetched.as_slice() else { anyhow::bail!("Meta fetched {} time(s)", fetched.len()) };
    ensure!(
        url.starts_with(&format!("{}/{BUCKET}/{PREFIX}/memes/story.jpg?", h.s3.endpoint())),
        "the bucket's own URL: {url}"
    );
    ensure!(url.contains("X-Amz-Signature=") && url.contains("X-Amz-Expires=3600"), "presigned for an hour: {url}");
    ensure!(!url.contains(SECRET_ACCESS_KEY), "{url}");
    ensure!(*status == 200, "{status}");
    ensure!(*body == story, "Meta got the object's exact bytes ({} vs {} bytes)", body.len(), story.len());
    ensure!(h.s3.get_object_calls() == before + 1, "Meta's fetch was the only read of the object");
    let history = h.app.stores.history.history(ws, 10).await?;
    ensure!(history.len() == 1 && history[0].media == item, "{history:?}");
    ensure!(history[0].method == Some(PostMethod::Api) && history[0].outcome == Outcome::Posted, "{history:?}");
    Ok(())
}

async fn an_s3_outage_is_told_once_when_it_goes_and_once_when_it_is_back(backend: Backend) -> TestResult {
    let mut h = Harness::start(&backend).await?;
    h.put("memes/a.png", &png(1080, 1920, "a"))?;
    h.set_s3().await?;
    ensure!(h.sync().await?.added == 1);
    ensure!(h.said().is_empty());

    h.s3.stop().await;
    for _ in 0..2 {
        let error = h.sync().await.err().context("the bucket does not answer")?;
        ensure!(matches!(error, SyncError::Unreachable(SourceError::Unreachable(_))), "{error}");
    }
    let told = h.said();
    ensure!(told.len() == 1 && told[0].starts_with("⚠️ The media source cannot be reached"), "{told:?}");
    ensure!(h.sync.status(h.workspace.id).await?.unreachable_since.is_some());
    ensure!(h.items().await?.values().all(|(_, active)| *active), "an outage removes nothing");

    h.s3.resume().await;
    h.chat.clear_calls();
    for _ in 0..2 {
        let summary = h.sync().await?;
        ensure!(summary == SyncSummary { unchanged: 1, ..SyncSummary::default() }, "{summary:?}");
    }
    ensure!(h.said() == [storyline_application::library::sync::BACK_TEXT], "{:?}", h.said());
    ensure!(h.sync.status(h.workspace.id).await?.unreachable_since.is_none());
    Ok(())
}

async fn switching_local_to_s3_to_drive_keeps_the_history(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    let root = h.media.path().join("mine");
    std::fs::create_dir_all(root.join("memes"))?;
    std::fs::write(root.join("memes/l1.png"), png(1080, 1920, "l1"))?;
    std::fs::write(root.join("memes/l2.png"), png(1080, 1920, "l2"))?;
    h.set(&SourceConfig::Local { root: root.display().to_string() }, None).await?;
    ensure!(h.sync().await?.added == 2);
    let items = h.items().await?;
    let ((l1, _), (l2, _)) = (items["memes/l1.png"], items["memes/l2.png"]);
    h.post(l1).await?;
    // A story of the folder queued across the switch: dropped by the switch, never sent.
    h.app.stores.queue.enqueue(h.workspace.id, &[(h.clock.now() + Duration::hours(1), l2)]).await?;

    // Local → S3: the switch sets the folder's items aside at once (the history stays), the
    // bucket fills the library at the next sync.
    h.put("quotes/s1.png", &png(1080, 1920, "s1"))?;
    let switch = h.set_s3().await?;
    ensure!(switch == SourceSwitch { set_aside: 2, dropped_from_queue: 1 }, "{switch:?}");
    ensure!(h.app.stores.queue.entries(h.workspace.id, 10).await?.is_empty(), "l2's story left the queue");
    ensure!(h.items().await?.values().all(|(_, active)| !active), "set aside before any sync");
    let to_s3 = h.sync().await?;
    ensure!(to_s3 == SyncSummary { added: 1, ..SyncSummary::default() }, "{to_s3:?}");
    let items = h.items().await?;
    ensure!(items["quotes/s1.png"].1 && !items["memes/l1.png"].1 && !items["memes/l2.png"].1, "{items:?}");
    let history = h.app.stores.history.history(h.workspace.id, 10).await?;
    ensure!(history.len() == 1 && history[0].media == l1, "{history:?}");
    let kept = h.app.stores.library.get(h.workspace.id, l1).await?.context("l1 is kept")?;
    ensure!(kept.times_posted == 1 && !kept.active, "{kept:?}");
    let (s1, _) = items["quotes/s1.png"];
    h.post(s1).await?;

    // S3 → Drive.
    let folder = h.drive.folder(FakeDrive::ROOT, "clips");
    h.drive.file(&folder, "d1.png", "image/png", &png(1080, 1920, "d1"));
    let switch = h
        .set(&SourceConfig::Drive { folder_id: FakeDrive::ROOT.to_owned() }, Some(FakeDrive::service_account_key()))
        .await?;
    ensure!(switch == SourceSwitch { set_aside: 1, dropped_from_queue: 0 }, "{switch:?}");
    let to_drive = h.sync().await?;
    ensure!(to_drive == SyncSummary { added: 1, ..SyncSummary::default() }, "{to_drive:?}");
    let items = h.items().await?;
    let active: Vec<&str> = items.iter().filter(|(_, (_, active))| *active).map(|(p, _)| p.as_str()).collect();
    ensure!(active == ["clips/d1.png"], "{active:?}");
    let history = h.app.stores.history.history(h.workspace.id, 10).await?;
    let posted: BTreeSet<MediaId> = history.iter().map(|row| row.media).collect();
    ensure!(history.len() == 2 && posted == BTreeSet::from([l1, s1]), "{history:?}");
    for id in [l1, s1] {
        let item = h.app.stores.library.get(h.workspace.id, id).await?.context("kept")?;
        ensure!(item.times_posted == 1 && !item.active, "{item:?}");
    }
    // Every switch is a version of the setting.
    let versions = h.app.media_sources.show(h.workspace.id).await?.versions;
    let kinds: Vec<String> = versions.iter().map(|v| v.config.kind().as_str().to_owned()).collect();
    ensure!(kinds == ["drive", "s3", "local"], "{kinds:?}");
    ensure!(versions[0].secret_changed && versions[1].secret_changed && !versions[2].secret_changed);
    Ok(())
}

/// The 64-character base64 lines of the service account's private key.
fn private_key_lines() -> Vec<&'static str> {
    FakeDrive::private_key_pem().lines().filter(|line| line.len() == 64 && !line.starts_with('-')).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// Every stored text and byte column that could hold a source's settings or secret.
async fn stored(raw: &Raw) -> anyhow::Result<Vec<Vec<u8>>> {
    let texts = [
        "SELECT config FROM media_source_versions",
        "SELECT COALESCE(old_value, '') FROM audit_log",
        "SELECT COALESCE(new_value, '') FROM audit_log",
        "SELECT COALESCE(last_summary, '') FROM media_sync_status",
    ];
    let mut rows: Vec<Vec<u8>> = Vec::new();
    for sql in texts {
        let found: Vec<String> = match raw {
            Raw::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await?,
            Raw::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await?,
        };
        rows.extend(found.into_iter().map(String::into_bytes));
    }
    let sealed = "SELECT ciphertext FROM media_source_secrets";
    let found: Vec<Vec<u8>> = match raw {
        Raw::Sqlite(pool) => sqlx::query_scalar(sealed).fetch_all(pool).await?,
        Raw::Postgres(pool) => sqlx::query_scalar(sealed).fetch_all(pool).await?,
    };
    ensure!(found.len() == 1, "one sealed secret per workspace: {}", found.len());
    rows.extend(found);
    Ok(rows)
}

async fn no_source_secret_is_logged_told_or_stored_in_clear(backend: Backend) -> TestResult {
    let mut h = Harness::start(&backend).await?;
    let raw = backend.raw().await?.context("a database")?;
    h.put("memes/a.png", &png(1080, 1920, "a"))?;
    let mut errors = Vec::new();

    // S3: a wrong secret refused, the right one set, synced, an outage told, back.
    let wrong = SecretString::from("wrong-s3-secret-Do-Not-Log-Me".to_owned());
    let refused = h.app.media_sources.set(h.workspace.id, &h.s3.config(BUCKET, PREFIX), Some(wrong), &Actor::Cli).await;
    errors.push(refused.err().context("a wrong secret is refused")?.to_string());
    h.set_s3().await?;
    h.sync().await?;
    let s3_sealed = stored(&raw).await?;
    h.s3.stop().await;
    errors.push(h.sync().await.err().context("down")?.to_string());
    h.s3.resume().await;
    h.sync().await?;

    // Drive: a key refused by Google, the right one set, synced.
    let folder = h.drive.folder(FakeDrive::ROOT, "memes");
    h.drive.file(&folder, "d.png", "image/png", &png(1080, 1920, "d"));
    let drive = SourceConfig::Drive { folder_id: FakeDrive::ROOT.to_owned() };
    let refused = h.app.media_sources.set(h.workspace.id, &drive, Some(FakeDrive::wrong_key()), &Actor::Cli).await;
    errors.push(refused.err().context("a wrong key is refused")?.to_string());
    h.set(&drive, Some(FakeDrive::service_account_key())).await?;
    ensure!(h.sync().await?.added == 1);
    let drive_sealed = stored(&raw).await?;
    ensure!(!h.drive.issued_tokens().is_empty(), "the fake issued tokens");

    let key = FakeDrive::service_account_key();
    let mut secrets: Vec<String> = vec![
        SECRET_ACCESS_KEY.to_owned(),
        "wrong-s3-secret-Do-Not-Log-Me".to_owned(),
        key.expose_secret().to_owned(),
        IG_TOKEN.to_owned(),
    ];
    secrets.extend(private_key_lines().into_iter().map(str::to_owned));
    secrets.extend(h.drive.issued_tokens());
    ensure!(secrets.len() > 10, "the private key has lines: {}", secrets.len());
    let logs = storyline_tests::logs::logged();
    ensure!(logs.contains("media source set") && logs.contains("media sync"), "the logs are captured");
    let chat = format!("{:?}", h.chat.calls());
    ensure!(chat.contains("cannot be reached"), "the chat was told: {chat}");
    for secret in &secrets {
        ensure!(!logs.contains(secret.as_str()), "a secret is in the log: {secret}");
        ensure!(!chat.contains(secret.as_str()), "a secret is in the chat: {chat}");
        for error in &errors {
            ensure!(!error.contains(secret.as_str()), "a secret is in an error: {error}");
        }
        for row in s3_sealed.iter().chain(&drive_sealed) {
            ensure!(!contains(row, secret.as_bytes()), "a secret is stored in clear: {}", String::from_utf8_lossy(row));
        }
    }
    ensure!(!logs.contains("PRIVATE KEY") && !chat.contains("PRIVATE KEY"));
    for row in s3_sealed.iter().chain(&drive_sealed) {
        ensure!(!contains(row, b"PRIVATE KEY") && !contains(row, b"private_key"), "a key in clear");
    }
    // The audit trail says the secret changed, never what it is.
    let audit = String::from_utf8_lossy(&drive_sealed.concat()).into_owned();
    ensure!(audit.contains("(secret changed)"), "{audit}");
    Ok(())
}
