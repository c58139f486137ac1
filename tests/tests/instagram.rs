//! End to end: Instagram accounts and publishing through the real wiring (`storyline::wiring::App`)
//! against a wiremock Graph API, the fake Bot API and Storyline's own signed media URLs, with a
//! test clock. On SQLite and on PostgreSQL; test names read `backend::behaviour`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, ensure};
use chrono::{DateTime, TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use storyline::config::Config;
use storyline::media_http::{MediaFiles, router};
use storyline::wiring::App;
use storyline_application::accounts::AddAccount;
use storyline_application::bot::BotConfig;
use storyline_application::library::Quiet;
use storyline_application::posting::Stories;
use storyline_application::scheduling::SeededJitter;
use storyline_crypto::Keyring;
use storyline_domain::account::{AccountId, DisplayName, InstagramUserId, PostMethod, TokenNotice};
use storyline_domain::library::CategoryMix;
use storyline_domain::ports::{ChatNotifier, Clock};
use storyline_domain::queue::{Outcome, QueueStatus};
use storyline_domain::settings::{SettingChange, Toggle};
use storyline_domain::user::{Actor, TelegramUserId};
use storyline_domain::{ChatId, Workspace};
use storyline_media::LocalFolder;
use storyline_memory::ManualClock;
use storyline_telegram::TelegramNotifier;
use storyline_tests::app::{ADMIN, TEAM_CHAT, fast_polling};
use storyline_tests::fake_telegram::{Failure, FakeTelegram, FakeUser, button_data};
use storyline_tests::files::png;
use storyline_tests::{Backend, TestResult};
use tokio::sync::watch;
use wiremock::matchers::{method, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const WAIT: Duration = Duration::from_secs(15);
const IG_ID: &str = "17841400000000001";
const FB_ID: &str = "17841400000000002";
const IG_TOKEN: &str = "IGAAB-first-instagram-login-token-0001";
const IG_TOKEN_NEW: &str = "IGAAB-refreshed-instagram-login-token-0002";
const FB_TOKEN: &str = "EAAB-first-facebook-login-token-0003";
const FB_TOKEN_NEW: &str = "EAAB-exchanged-facebook-login-token-0004";
const APP_SECRET: &str = "facebook-app-secret-0005";
const EVERY_SECRET: [&str; 5] = [IG_TOKEN, IG_TOKEN_NEW, FB_TOKEN, FB_TOKEN_NEW, APP_SECRET];

fn day0(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, hour, minute, 0).single().unwrap_or_default()
}

/// Meta's error body.
fn meta_error(code: i64, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({
        "error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Atrace"}
    }))
}

fn form(request: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body).into_owned().collect()
}

fn field(request: &Request, name: &str) -> Option<String> {
    form(request)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .or_else(|| request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()))
}

struct Harness {
    app: App,
    clock: ManualClock,
    stories: Stories,
    workspace: Workspace,
    telegram: FakeTelegram,
    graph: MockServer,
    stop: watch::Sender<bool>,
    polling: tokio::task::JoinHandle<()>,
    media_server: tokio::task::JoinHandle<()>,
    _media: tempfile::TempDir,
}

impl Harness {
    async fn start(backend: &Backend) -> anyhow::Result<Self> {
        storyline_tests::logs::capture();
        let telegram = FakeTelegram::start().await?;
        let graph = MockServer::start().await;
        let media = tempfile::tempdir()?;
        std::fs::create_dir_all(media.path().join("memes"))?;
        for name in ["a", "b", "c"] {
            std::fs::write(media.path().join(format!("memes/{name}.png")), png(1080, 1920, name))?;
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let public = format!("http://{}", listener.local_addr()?);
        let url = backend.database_url().context("needs a database")?.to_owned();
        let vars = [
            ("DATABASE_URL", url),
            ("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN.to_owned()),
            ("TELEGRAM_CHAT_ID", TEAM_CHAT.to_string()),
            ("TELEGRAM_API_URL", telegram.api_url()),
            ("ADMIN_TELEGRAM_USER_IDS", ADMIN.to_string()),
            ("MEDIA_DIR", media.path().display().to_string()),
            ("POSTS_PER_DAY", "3".to_owned()),
            ("POSTING_HOURS_START", "10".to_owned()),
            ("POSTING_HOURS_END", "20".to_owned()),
            ("ENCRYPTION_KEY", Keyring::generate()),
            ("GRAPH_API_URL", graph.uri()),
            ("PUBLIC_BASE_URL", public),
            ("FACEBOOK_APP_ID", "4242".to_owned()),
            ("FACEBOOK_APP_SECRET", APP_SECRET.to_owned()),
        ];
        let config = Config::from_lookup(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))?;
        let clock = ManualClock::at(day0(8, 0));
        let stores = storyline::wiring::open_stores(&config.database_url, config.keyring.as_ref()).await?;
        let app = App::wire(stores, Arc::new(clock.clone()), &config)?;
        let files =
            MediaFiles::new(app.urls.clone(), app.stores.library.clone(), app.source.clone(), app.clock.clone());
        let media_server = tokio::spawn(async move {
            let _ = axum::serve(listener, router(files)).await;
        });
        let api = storyline_telegram::connect(&config.telegram()?.token, Some(&telegram.api_url()))?;
        let notifier = Arc::new(TelegramNotifier::new(api.clone()));
        let bot = app.bot(
            notifier.clone(),
            notifier.clone(),
            BotConfig::team(ChatId(TEAM_CHAT), HashSet::from([TelegramUserId(ADMIN)])),
        );
        // The loop shares the bot's story desk, as `storyline serve` wires it.
        let stories = bot.stories().context("the bot has a story desk")?.clone();
        let workspace = app.settings.workspace_for_chat(ChatId(TEAM_CHAT), "Team").await?;
        let (stop, listen) = watch::channel(false);
        let cursor = app.stores.cursor.clone();
        let polling = tokio::spawn(async move {
            storyline_telegram::poll(api, Arc::new(bot), cursor, FakeTelegram::BOT_ID, fast_polling(), listen, |_| {})
                .await
        });
        let h = Self { app, clock, stories, workspace, telegram, graph, stop, polling, media_server, _media: media };
        h.app.library.index(h.workspace.id, &LocalFolder::new(h._media.path()), &Quiet).await?;
        h.app.library.set_mix(h.workspace.id, &CategoryMix::parse("memes=100")?, &Actor::Cli).await?;
        Ok(h)
    }

    async fn stop(self) -> TestResult {
        let _ = self.stop.send(true);
        tokio::time::timeout(WAIT, self.polling).await??;
        self.media_server.abort();
        Ok(())
    }

    /// Meta knows the account `id` as `username`.
    async fn knows(&self, id: &str, username: &str) {
        Mock::given(method("GET"))
            .and(path_regex(format!(r"^/v[0-9.]+/{id}$")))
            .and(query_param("fields", "username"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": id, "username": username})))
            .mount(&self.graph)
            .await;
    }

    async fn add_account(&self, id: &str, token: &str, days: Option<i64>) -> anyhow::Result<AccountId> {
        let added = self
            .app
            .accounts
            .add(
                self.workspace.id,
                AddAccount {
                    display_name: DisplayName::new(&format!("Brand {id}"))?,
                    instagram_id: InstagramUserId::new(id)?,
                    username: None,
                    token: SecretString::from(token.to_owned()),
                    expires_in_days: days,
                    login: None,
                    make_active: true,
                },
                &Actor::Cli,
            )
            .await?;
        Ok(added.added.account.id)
    }

    async fn api_on(&self, dry_run: bool) -> TestResult {
        let ws = self.workspace.id;
        self.app.settings.change(ws, SettingChange::Set(Toggle::InstagramApi, true), &Actor::Cli).await?;
        self.app.settings.change(ws, SettingChange::Set(Toggle::DryRun, dry_run), &Actor::Cli).await?;
        Ok(())
    }

    /// The quota answers `used` of 25.
    async fn quota(&self, used: u32) {
        Mock::given(method("GET"))
            .and(path_regex(r"^/v[0-9.]+/\d+/content_publishing_limit$"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"data": [{"quota_usage": used, "config": {"quota_total": 25}}]})),
            )
            .mount(&self.graph)
            .await;
    }

    async fn container(&self, id: &str) {
        Mock::given(method("POST"))
            .and(path_regex(r"^/v[0-9.]+/\d+/media$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": id})))
            .mount(&self.graph)
            .await;
    }

    async fn status(&self, container: &str, code: &str, times: Option<u64>) {
        let mock = Mock::given(method("GET"))
            .and(path_regex(format!(r"^/v[0-9.]+/{container}$")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": container, "status_code": code})));
        match times {
            Some(n) => mock.up_to_n_times(n).with_priority(1).mount(&self.graph).await,
            None => mock.with_priority(5).mount(&self.graph).await,
        }
    }

    async fn publishes(&self, media_id: &str) {
        Mock::given(method("POST"))
            .and(path_regex(r"^/v[0-9.]+/\d+/media_publish$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": media_id})))
            .mount(&self.graph)
            .await;
    }

    async fn requests(&self, pattern: &str) -> Vec<Request> {
        let re = regex_lite(pattern);
        self.graph.received_requests().await.unwrap_or_default().into_iter().filter(|r| re(r)).collect()
    }

    /// Schedules a day and moves the clock to the first slot.
    async fn first_slot_due(&self) -> anyhow::Result<Vec<storyline_domain::queue::QueueEntry>> {
        self.app.scheduler.schedule(self.workspace.id, 1, &mut SeededJitter::new(5)).await?;
        let queue = self.stories.queue(self.workspace.id, 10).await?;
        ensure!(!queue.is_empty(), "nothing scheduled");
        self.clock.set(queue[0].item.slot + chrono::Duration::seconds(5));
        Ok(queue)
    }

    /// On the picker in `menu`: Add account, then (logging in comes first where this deployment
    /// has a Meta app: the link goes to the person privately) Paste a token instead, until the
    /// token prompt is sent.
    async fn paste_token_prompt(&self, person: &FakeUser, menu: i32) -> TestResult {
        let add = button_data(&self.telegram.message(TEAM_CHAT, menu).context("picker")?, "Add account")?;
        self.telegram.push_press(TEAM_CHAT, person, menu, &add);
        let offered = |t: &FakeTelegram| {
            t.message(TEAM_CHAT, menu).is_some_and(|m| m.to_string().contains("the login link is in your private chat"))
        };
        self.telegram.wait_until(WAIT, offered).await?;
        let paste = button_data(&self.telegram.message(TEAM_CHAT, menu).context("login")?, "Paste a token")?;
        self.telegram.push_press(TEAM_CHAT, person, menu, &paste);
        self.telegram
            .wait_until(WAIT, |t| {
                t.calls("sendMessage").iter().any(|m| m.to_string().contains("Everyone in this chat can read"))
            })
            .await
    }

    fn said(&self, needle: &str) -> usize {
        self.telegram
            .calls("sendMessage")
            .iter()
            .filter(|m| m["text"].as_str().is_some_and(|t| t.contains(needle)))
            .count()
    }
}

/// The container endpoint of a fake Graph API as strict as Meta's about stills: it fetches the
/// `image_url` (as Meta does, before it answers) and takes only a JPEG; what it fetched is kept.
#[derive(Clone, Default)]
struct FetchesLikeMeta(Arc<Mutex<Vec<Fetched>>>);

/// What one fetch got: the content type and the body.
type Fetched = (String, Vec<u8>);

impl FetchesLikeMeta {
    /// `(content type, body)` of every fetch.
    fn fetched(&self) -> Vec<Fetched> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl wiremock::Respond for FetchesLikeMeta {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Some(url) = field(request, "image_url") else { return meta_error(100, "image_url is required") };
        // wiremock answers on a thread of its own: a blocking fetch here holds up nothing else.
        let Ok((content_type, body)) = fetch_blocking(&url) else {
            return meta_error(9004, "The media could not be fetched from this uri");
        };
        let jpeg = content_type == "image/jpeg" && body.starts_with(&[0xFF, 0xD8, 0xFF]);
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((content_type, body));
        if jpeg {
            ResponseTemplate::new(200).set_body_json(json!({"id": "c-jpeg"}))
        } else {
            meta_error(9004, "Only photo or video can be accepted as media type.")
        }
    }
}

/// `GET url` over plain HTTP/1.1 with blocking I/O: the content type and the body.
fn fetch_blocking(url: &str) -> anyhow::Result<(String, Vec<u8>)> {
    use std::io::{Read, Write};

    let url = url::Url::parse(url)?;
    let host = url.host_str().context("a host")?;
    let mut stream = std::net::TcpStream::connect((host, url.port_or_known_default().context("a port")?))?;
    stream.set_read_timeout(Some(WAIT))?;
    let target = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    write!(stream, "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").context("a header end")?;
    let headers = String::from_utf8_lossy(&answer[..split]).to_lowercase();
    ensure!(headers.starts_with("http/1.1 200"), "{headers}");
    let content_type = headers
        .lines()
        .find_map(|line| line.strip_prefix("content-type:"))
        .map(|value| value.trim().to_owned())
        .unwrap_or_default();
    Ok((content_type, answer[split + 4..].to_vec()))
}

/// A matcher on "METHOD path-suffix" for the recorded requests.
fn regex_lite(pattern: &str) -> impl Fn(&Request) -> bool {
    let (verb, suffix) = pattern.split_once(' ').unwrap_or(("GET", pattern));
    let (verb, suffix) = (verb.to_owned(), suffix.to_owned());
    move |r: &Request| r.method.as_str() == verb && r.url.path().ends_with(&suffix)
}

pub async fn a_png_story_reaches_the_graph_api_as_a_jpeg_of_its_size(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    h.add_account(IG_ID, IG_TOKEN, Some(60)).await?;
    h.api_on(false).await?;
    h.quota(3).await;
    let meta = FetchesLikeMeta::default();
    Mock::given(method("POST"))
        .and(path_regex(r"^/v[0-9.]+/\d+/media$"))
        .respond_with(meta.clone())
        .mount(&h.graph)
        .await;
    h.status("c-jpeg", "FINISHED", None).await;
    h.publishes("m-jpeg").await;
    let queue = h.first_slot_due().await?;
    ensure!(queue[0].path.ends_with(".png"), "the library holds PNGs: {}", queue[0].path);

    let tick = h.stories.tick().await?;
    ensure!(tick.sent == 1, "{tick:?}");
    let fetched = meta.fetched();
    let [(content_type, body)] = fetched.as_slice() else { anyhow::bail!("Meta fetched once: {}", fetched.len()) };
    ensure!(content_type == "image/jpeg", "{content_type}");
    let picture = image::load_from_memory_with_format(body, image::ImageFormat::Jpeg)?;
    ensure!((picture.width(), picture.height()) == (1080, 1920), "{}×{}", picture.width(), picture.height());
    ensure!(h.requests("POST /media_publish").await.len() == 1, "published through the API");
    ensure!(h.telegram.count("sendPhoto") == 0, "not sent for manual posting");
    let history = h.stories.desk().history(h.workspace.id, 10).await?;
    ensure!(history.len() == 1 && history[0].method == Some(PostMethod::Api), "{history:?}");
    h.stop().await
}

pub async fn a_due_story_is_published_through_the_graph_api_and_recorded(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    h.add_account(IG_ID, IG_TOKEN, Some(60)).await?;
    h.api_on(false).await?;
    h.quota(3).await;
    h.container("c-1").await;
    h.status("c-1", "FINISHED", None).await;
    h.publishes("m-1").await;
    let queue = h.first_slot_due().await?;

    let tick = h.stories.tick().await?;
    ensure!(tick.sent == 1, "{tick:?}");
    ensure!(h.telegram.count("sendPhoto") == 0, "published by the API, not sent for manual posting");
    let made = h.requests("POST /media").await;
    ensure!(made.len() == 1, "one container: {}", made.len());
    ensure!(field(&made[0], "media_type").as_deref() == Some("STORIES"));
    ensure!(field(&made[0], "access_token").as_deref() == Some(IG_TOKEN), "the account's own token is used");
    let image_url = field(&made[0], "image_url").context("an image_url")?;
    // Meta could fetch the story from Storyline's signed URL: exactly that file.
    let fetched = reqwest::get(&image_url).await?;
    ensure!(fetched.status() == 200, "{}", fetched.status());
    ensure!(fetched.headers().get("content-type").is_some_and(|t| t == "image/jpeg"), "served as a JPEG");
    let bytes = fetched.bytes().await?;
    let on_disk = image::load_from_memory(&std::fs::read(h._media.path().join(&queue[0].path))?)?;
    let served = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)?;
    ensure!(
        (served.width(), served.height()) == (on_disk.width(), on_disk.height()),
        "the signed URL serves the story's picture"
    );
    let forged = image_url.replace("sig=", "sig=00");
    ensure!(reqwest::get(&forged).await?.status() == 403, "a forged signature is refused");
    ensure!(h.requests("POST /media_publish").await.len() == 1);

    let history = h.stories.desk().history(h.workspace.id, 10).await?;
    ensure!(history.len() == 1 && history[0].outcome == Outcome::Posted, "{history:?}");
    ensure!(history[0].method == Some(PostMethod::Api), "{history:?}");
    ensure!(history[0].instagram_media_id.as_deref() == Some("m-1"), "{history:?}");
    ensure!(h.said("Published to Instagram as") == 1, "the chat is told");
    ensure!(h.stories.tick().await?.sent == 0, "published once");
    h.telegram.push_text(TEAM_CHAT, &FakeUser::new(ADMIN, "Ada"), "/history");
    h.telegram
        .wait_until(WAIT, |t| t.calls("sendMessage").iter().any(|m| m.to_string().contains("by the API")))
        .await?;
    h.stop().await
}

pub async fn a_container_in_progress_is_polled_until_finished(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    h.add_account(IG_ID, IG_TOKEN, None).await?;
    h.api_on(false).await?;
    h.quota(0).await;
    h.container("c-2").await;
    h.status("c-2", "IN_PROGRESS", Some(2)).await;
    h.status("c-2", "FINISHED", None).await;
    h.publishes("m-2").await;
    h.first_slot_due().await?;
    ensure!(h.stories.tick().await?.sent == 1);
    ensure!(h.requests("GET /c-2").await.len() == 3, "polled three times");
    ensure!(h.requests("POST /media_publish").await.len() == 1);
    h.stop().await
}

pub async fn a_container_error_sends_the_story_by_hand_with_metas_message(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    h.add_account(IG_ID, IG_TOKEN, None).await?;
    h.api_on(false).await?;
    h.quota(0).await;
    h.container("c-3").await;
    h.status("c-3", "ERROR", None).await;
    h.first_slot_due().await?;
    ensure!(h.stories.tick().await?.sent == 1);
    ensure!(h.requests("POST /media_publish").await.is_empty(), "nothing published");
    ensure!(h.telegram.count("sendPhoto") == 1, "the story went the manual way");
    ensure!(h.said("Instagram could not process the media") == 1);
    h.stop().await
}

pub async fn an_expired_token_sends_stories_by_hand_with_one_warning(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    let account = h.add_account(IG_ID, IG_TOKEN, None).await?;
    h.api_on(false).await?;
    Mock::given(method("GET"))
        .and(path_regex(r"content_publishing_limit$"))
        .respond_with(meta_error(190, &format!("Error validating access token: {IG_TOKEN} has expired")))
        .mount(&h.graph)
        .await;
    let queue = h.first_slot_due().await?;
    ensure!(h.stories.tick().await?.sent == 1);
    h.clock.set(queue[1].item.slot + chrono::Duration::seconds(5));
    ensure!(h.stories.tick().await?.sent == 1);
    ensure!(h.telegram.count("sendPhoto") == 2, "both went the manual way");
    ensure!(h.said("Instagram API:") == 1, "warned once, not per story");
    let infos = h.app.stores.vault.token_infos(h.workspace.id).await?;
    let info = infos.iter().find(|i| i.account == account).context("token info")?;
    ensure!(info.notice == Some(TokenNotice::Dead), "{info:?}");
    for message in h.telegram.calls("sendMessage") {
        ensure!(!message.to_string().contains(IG_TOKEN), "Meta's echoed token never reaches the chat: {message}");
    }
    h.stop().await
}

pub async fn the_instagram_warning_is_told_once_across_next_and_the_loop(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    // The API is on but no account is selected: every story goes by hand, with one warning.
    h.api_on(false).await?;
    h.first_slot_due().await?;
    ensure!(h.stories.tick().await?.sent == 1);
    ensure!(h.said("Instagram API:") == 1, "the loop warns");
    h.telegram.push_text(TEAM_CHAT, &FakeUser::new(ADMIN, "Ada"), "/next");
    h.telegram.wait_until(WAIT, |t| t.count("sendPhoto") == 2).await?;
    ensure!(h.said("Instagram API:") == 1, "/next knows the chat was told: {:?}", h.telegram.calls("sendMessage"));
    h.stop().await
}

pub async fn the_instagram_warning_is_told_once_by_two_processes(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.api_on(false).await?;
    let queue = h.first_slot_due().await?;
    ensure!(h.stories.tick().await?.sent == 1);
    ensure!(h.said("Instagram API:") == 1, "the first process warns");
    // A second replica's story desk, on the same database, sends the next story.
    let token = secrecy::SecretString::from(FakeTelegram::TOKEN.to_owned());
    let api = storyline_telegram::connect(&token, Some(&h.telegram.api_url()))?;
    let other = h.app.stories(Arc::new(TelegramNotifier::new(api)));
    h.clock.set(queue[1].item.slot + chrono::Duration::seconds(5));
    ensure!(other.tick().await?.sent == 1);
    ensure!(h.telegram.count("sendPhoto") == 2, "both went the manual way");
    ensure!(h.said("Instagram API:") == 1, "the other process knows the chat was told");
    h.stop().await
}

/// The reference ("ref 7f3a2c") a chat message gives, and the captured log line it names.
fn referenced_line(message: &str) -> anyhow::Result<(String, String)> {
    let start = message.find("(ref ").context("a reference")? + "(ref ".len();
    let reference = message.get(start..start + 6).context("six digits")?.to_owned();
    let logs = storyline_tests::logs::logged();
    let line = logs.lines().find(|l| l.contains(&format!("reference={reference}"))).context("the log line")?;
    Ok((reference, line.to_owned()))
}

pub async fn adapter_error_text_reaches_neither_the_chat_nor_the_history_only_the_log(backend: Backend) -> TestResult {
    const META_WORDS: &str = "Kraken-4711 swallowed the upload";
    const TELEGRAM_WORDS: &str = "Forbidden: Kraken-4712 ate the bot";
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    h.add_account(IG_ID, IG_TOKEN, None).await?;
    h.api_on(false).await?;
    h.quota(0).await;
    Mock::given(method("POST"))
        .and(path_regex(r"/media$"))
        .respond_with(meta_error(100, META_WORDS))
        .mount(&h.graph)
        .await;
    h.telegram.fail_next("sendPhoto", 3, Failure::Forbidden(TELEGRAM_WORDS.to_owned()));
    h.first_slot_due().await?;
    ensure!(h.stories.tick().await?.retrying == 1);
    ensure!(h.stories.tick().await?.retrying == 1);
    ensure!(h.stories.tick().await?.gave_up == 1);

    let told: Vec<String> =
        h.telegram.calls("sendMessage").iter().filter_map(|m| m["text"].as_str().map(str::to_owned)).collect();
    for message in &told {
        ensure!(!message.contains("Kraken"), "an adapter's words reached the chat: {message}");
    }
    let warning = told.iter().find(|t| t.contains("Instagram refused the story")).context("the fallback warning")?;
    let (_, line) = referenced_line(warning)?;
    ensure!(line.contains("Kraken-4711"), "the log line under the warning's reference has Meta's words: {line}");
    let gave_up = told.iter().find(|t| t.contains("after 3 tries")).context("the give-up message")?;
    let (reference, line) = referenced_line(gave_up)?;
    ensure!(line.contains("Kraken-4712"), "the log line under the reference has Telegram's words: {line}");

    let history = h.stories.desk().history(h.workspace.id, 10).await?;
    let row = history.first().and_then(|r| r.error.clone()).context("a failed row")?;
    ensure!(row.starts_with("chat_unreachable: ") && !row.contains("Kraken"), "{row}");
    ensure!(row.contains(&format!("ref {reference}")), "the row names the same log line: {row}");
    h.stop().await
}

pub async fn a_rate_limit_sends_the_story_by_hand(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    h.add_account(IG_ID, IG_TOKEN, None).await?;
    h.api_on(false).await?;
    h.quota(0).await;
    Mock::given(method("POST"))
        .and(path_regex(r"/media$"))
        .respond_with(meta_error(4, "Application request limit reached"))
        .mount(&h.graph)
        .await;
    h.first_slot_due().await?;
    ensure!(h.stories.tick().await?.sent == 1);
    ensure!(h.telegram.count("sendPhoto") == 1);
    ensure!(h.said("rate limit") == 1, "{:?}", h.telegram.calls("sendMessage"));
    h.stop().await
}

pub async fn a_used_up_quota_sends_the_story_by_hand(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    h.add_account(IG_ID, IG_TOKEN, None).await?;
    h.api_on(false).await?;
    h.quota(25).await;
    h.first_slot_due().await?;
    ensure!(h.stories.tick().await?.sent == 1);
    ensure!(h.requests("POST /media").await.is_empty(), "no container when the quota is used up");
    ensure!(h.said("publishing quota is used up (25 of 25") == 1);
    h.stop().await
}

pub async fn a_retry_after_a_crash_never_publishes_twice(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    let account = h.add_account(IG_ID, IG_TOKEN, None).await?;
    h.api_on(false).await?;
    h.quota(0).await;
    h.container("c-4").await;
    h.status("c-4", "FINISHED", Some(1)).await;
    // The publish call goes through at Meta but the answer never arrives (a 500 here).
    Mock::given(method("POST"))
        .and(path_regex(r"/media_publish$"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&h.graph)
        .await;
    let queue = h.first_slot_due().await?;
    let tick = h.stories.tick().await?;
    ensure!(tick.retrying == 1, "{tick:?}");
    let item = h.app.stores.queue.entry(h.workspace.id, queue[0].item.id).await?.context("still queued")?;
    ensure!(item.item.container.as_deref().is_some_and(|c| c.ends_with(":c-4")), "the container is kept: {item:?}");
    // Meta now says that container is published (and the quota is rate limited): the retry
    // asks the container first, records it and publishes nothing; no copy goes to the chat.
    h.status("c-4", "PUBLISHED", None).await;
    Mock::given(method("GET"))
        .and(path_regex(r"content_publishing_limit$"))
        .respond_with(meta_error(4, "Application request limit reached"))
        .with_priority(1)
        .mount(&h.graph)
        .await;
    let tick = h.stories.tick().await?;
    ensure!(tick.sent == 1, "{tick:?}");
    ensure!(h.requests("POST /media").await.len() == 1, "no second container");
    ensure!(h.requests("POST /media_publish").await.len() == 1, "no second publish");
    let history = h.stories.desk().history(h.workspace.id, 10).await?;
    ensure!(history.len() == 1 && history[0].method == Some(PostMethod::Api), "{history:?}");
    ensure!(h.telegram.count("sendPhoto") == 0, "never also sent for manual posting");

    // A process that dies after making a container: the lease runs out, the next process
    // publishes that container once.
    h.container("c-5").await;
    h.status("c-5", "FINISHED", None).await;
    h.clock.set(queue[1].item.slot + chrono::Duration::seconds(5));
    let claimed = h.app.stores.queue.claim_due(h.clock.now(), storyline_application::posting::SEND_LEASE, 10).await?;
    ensure!(claimed.len() == 1, "{claimed:?}");
    let lease = h.clock.now() + storyline_application::posting::SEND_LEASE;
    let kept = format!("{}:c-5", account.compact());
    let attempt = claimed[0].entry.item.attempts;
    ensure!(h.app.stores.queue.set_container(h.workspace.id, claimed[0].entry.item.id, attempt, &kept, lease).await?);
    // … and dies here. Later:
    h.clock.advance(storyline_application::posting::SEND_LEASE + chrono::Duration::seconds(1));
    Mock::given(method("POST"))
        .and(path_regex(r"/media_publish$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "m-5"})))
        .with_priority(1)
        .mount(&h.graph)
        .await;
    ensure!(h.stories.tick().await?.sent == 1);
    ensure!(h.requests("POST /media").await.len() == 1, "the kept container is used, no new one");
    let published = h.requests("POST /media_publish").await;
    ensure!(published.len() == 2 && field(&published[1], "creation_id").as_deref() == Some("c-5"));
    h.stop().await
}

pub async fn a_publish_that_never_answers_fails_the_story_instead_of_sending_a_copy(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    h.add_account(IG_ID, IG_TOKEN, None).await?;
    h.api_on(false).await?;
    h.quota(0).await;
    h.container("c-8").await;
    h.status("c-8", "FINISHED", None).await;
    Mock::given(method("POST"))
        .and(path_regex(r"/media_publish$"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&h.graph)
        .await;
    h.first_slot_due().await?;
    ensure!(h.stories.tick().await?.retrying == 1);
    ensure!(h.stories.tick().await?.retrying == 1);
    ensure!(h.stories.tick().await?.gave_up == 1, "failed after three tries");
    ensure!(h.requests("POST /media").await.len() == 1, "one container for all three tries");
    ensure!(h.telegram.count("sendPhoto") == 0, "no copy for manual posting: it may be on Instagram");
    ensure!(h.said("Instagram may already show this story") == 1);
    let history = h.stories.desk().history(h.workspace.id, 10).await?;
    ensure!(history.len() == 1 && history[0].outcome == Outcome::Failed, "{history:?}");
    h.stop().await
}

pub async fn a_kept_container_is_not_published_once_the_api_is_turned_off(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    h.add_account(IG_ID, IG_TOKEN, None).await?;
    h.api_on(false).await?;
    h.quota(0).await;
    h.container("c-9").await;
    h.status("c-9", "FINISHED", None).await;
    Mock::given(method("POST"))
        .and(path_regex(r"/media_publish$"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&h.graph)
        .await;
    h.first_slot_due().await?;
    ensure!(h.stories.tick().await?.retrying == 1);
    // Between the tries the team turns the API off: the container is ready but not published,
    // so the story goes to the chat, and Instagram is not asked to publish it again.
    h.app.settings.change(h.workspace.id, SettingChange::Set(Toggle::InstagramApi, false), &Actor::Cli).await?;
    ensure!(h.stories.tick().await?.sent == 1);
    ensure!(h.requests("POST /media_publish").await.len() == 1, "only the first, unanswered try");
    ensure!(h.telegram.count("sendPhoto") == 1, "sent for manual posting");
    ensure!(h.said("the Instagram API was turned off before this story was published") == 1);
    h.stop().await
}

pub async fn dry_run_does_everything_but_publish_and_still_sends_by_hand(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    h.add_account(IG_ID, IG_TOKEN, None).await?;
    h.api_on(true).await?;
    h.quota(0).await;
    h.container("c-6").await;
    h.status("c-6", "FINISHED", None).await;
    h.publishes("m-6").await;
    h.first_slot_due().await?;
    ensure!(h.stories.tick().await?.sent == 1);
    ensure!(h.requests("POST /media").await.len() == 1, "the container is made");
    ensure!(h.requests("POST /media_publish").await.is_empty(), "but nothing is published");
    ensure!(h.said("Dry run: would have published") == 1);
    ensure!(h.telegram.count("sendPhoto") == 1, "and the story still comes for manual posting");
    let queue = h.stories.queue(h.workspace.id, 10).await?;
    ensure!(queue.iter().any(|e| e.item.status == QueueStatus::Sent), "it waits for a press: {queue:?}");
    h.stop().await
}

pub async fn the_picker_switches_accounts_and_refuses_a_disabled_one(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    h.knows(FB_ID, "brand_promo").await;
    let first = h.add_account(IG_ID, IG_TOKEN, Some(58)).await?;
    let second = h.add_account(FB_ID, FB_TOKEN, Some(2)).await?;
    h.app.accounts.switch(h.workspace.id, first, &Actor::Cli).await?;
    let admin = FakeUser::new(ADMIN, "Ada");
    h.telegram.push_text(TEAM_CHAT, &admin, "/settings");
    h.telegram.wait_for("sendMessage", 1, WAIT).await?;
    let menu_id = h.telegram.last_message_id();
    let menu = h.telegram.message(TEAM_CHAT, menu_id).context("menu")?;
    ensure!(menu["text"].as_str().is_some_and(|t| t.contains("@brand_main") && t.contains("Valid (5")), "{menu}");
    let press = |label: &str| -> anyhow::Result<()> {
        let shown = h.telegram.message(TEAM_CHAT, menu_id).context("menu")?;
        let data = button_data(&shown, label)?;
        h.telegram.push_press(TEAM_CHAT, &admin, menu_id, &data);
        Ok(())
    };
    press("@brand_main")?;
    let picker = |t: &FakeTelegram| {
        t.message(TEAM_CHAT, menu_id)
            .is_some_and(|m| m["text"].as_str().is_some_and(|x| x.contains("Instagram accounts")))
    };
    h.telegram.wait_until(WAIT, picker).await?;
    let shown = h.telegram.message(TEAM_CHAT, menu_id).context("picker")?;
    ensure!(
        shown["text"].as_str().is_some_and(|t| t.contains("Expires in 1 day") || t.contains("Expires in 2 days")),
        "{shown}"
    );
    let answered = h.telegram.count("answerCallbackQuery");
    press("@brand_promo")?;
    let answers = h.telegram.wait_for("answerCallbackQuery", answered + 1, WAIT).await?;
    ensure!(answers.last().and_then(|a| a["text"].as_str()).is_some_and(|t| t.contains("Switched to")), "{answers:?}");
    let active = h.app.stores.accounts.active(h.workspace.id).await?.context("active")?;
    ensure!(active.id == second, "switching took effect");

    // A disabled account is refused, even with a button made before it was disabled.
    h.telegram.push_text(TEAM_CHAT, &admin, "/settings");
    h.telegram.wait_for("sendMessage", 2, WAIT).await?;
    let menu2 = h.telegram.last_message_id();
    let data = button_data(&h.telegram.message(TEAM_CHAT, menu2).context("menu")?, "@brand_promo")?;
    h.telegram.push_press(TEAM_CHAT, &admin, menu2, &data);
    let opened = |t: &FakeTelegram| {
        t.message(TEAM_CHAT, menu2)
            .is_some_and(|m| m["text"].as_str().is_some_and(|x| x.contains("Instagram accounts")))
    };
    h.telegram.wait_until(WAIT, opened).await?;
    let picker_message = h.telegram.message(TEAM_CHAT, menu2).context("picker")?;
    let stale = button_data(&picker_message, "Brand 17841400000000001")?;
    h.app.accounts.set_enabled(h.workspace.id, first, false, &Actor::Cli).await?;
    let answered = h.telegram.count("answerCallbackQuery");
    h.telegram.push_press(TEAM_CHAT, &admin, menu2, &stale);
    let answers = h.telegram.wait_for("answerCallbackQuery", answered + 1, WAIT).await?;
    let refusal = answers.last().and_then(|a| a["text"].as_str()).unwrap_or_default().to_owned();
    ensure!(refusal.contains("disabled") && refusal.contains("nothing changed"), "{refusal}");
    ensure!(h.app.stores.accounts.active(h.workspace.id).await?.map(|a| a.id) == Some(second));
    h.stop().await
}

pub async fn the_bot_dialogue_adds_an_account_and_deletes_the_token_message(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    let admin = FakeUser::new(ADMIN, "Ada");
    // A token pasted without the dialogue is deleted at once, with a word on how to add one.
    h.telegram.push_text(
        TEAM_CHAT,
        &FakeUser::new(77, "Bob"),
        &format!("here: {}", "EAAB".to_owned() + &"7".repeat(60)),
    );
    h.telegram.wait_for("deleteMessage", 1, WAIT).await?;
    h.telegram
        .wait_until(WAIT, |t| {
            t.calls("sendMessage").iter().any(|m| m.to_string().contains("looked like an access token"))
        })
        .await?;
    h.telegram.push_text(TEAM_CHAT, &admin, "/settings");
    h.telegram.wait_for("sendMessage", 2, WAIT).await?;
    let menu_id = h.telegram.last_message_id();
    let data = button_data(&h.telegram.message(TEAM_CHAT, menu_id).context("menu")?, "Instagram account")?;
    h.telegram.push_press(TEAM_CHAT, &admin, menu_id, &data);
    let opened = |t: &FakeTelegram| {
        t.message(TEAM_CHAT, menu_id).is_some_and(|m| m["text"].as_str().is_some_and(|x| x.contains("No account yet")))
    };
    h.telegram.wait_until(WAIT, opened).await?;
    h.paste_token_prompt(&admin, menu_id).await?;
    // A malformed answer: deleted anyway, refused with what is allowed, nothing saved.
    let deleted = h.telegram.count("deleteMessage");
    h.telegram.push_text(TEAM_CHAT, &admin, &format!("Main Brand | not-a-number | {IG_TOKEN}"));
    h.telegram.wait_for("deleteMessage", deleted + 1, WAIT).await?;
    h.telegram
        .wait_until(WAIT, |t| t.calls("sendMessage").iter().any(|m| m.to_string().contains("Account id:")))
        .await?;
    ensure!(h.app.stores.accounts.accounts(h.workspace.id, true).await?.is_empty());
    // The right answer, from a private chat with the bot: deleted there, added, the only
    // account active; the team chat hears who added which account, without the token.
    h.telegram.push_text(ADMIN, &admin, &format!("Main Brand | {IG_ID} | {IG_TOKEN} | 60"));
    h.telegram.wait_for("deleteMessage", deleted + 2, WAIT).await?;
    let added = |t: &FakeTelegram| {
        t.bot_messages(ADMIN).iter().any(|m| m.to_string().contains("Added Main Brand (@brand_main)"))
            && t.bot_messages(TEAM_CHAT).iter().any(|m| m.to_string().contains("Ada added the Instagram account"))
    };
    h.telegram.wait_until(WAIT, added).await?;
    let deletions = h.telegram.calls("deleteMessage");
    ensure!(deletions.last().is_some_and(|d| d["chat_id"].as_i64() == Some(ADMIN)), "{deletions:?}");
    let active = h.app.stores.accounts.active(h.workspace.id).await?.context("the only account is active")?;
    ensure!(active.username.map(|u| u.to_string()).as_deref() == Some("@brand_main"));
    let credential = h.app.stores.vault.credential(h.workspace.id, active.id).await?.context("token")?;
    ensure!(credential.token.expose_secret() == IG_TOKEN);
    for message in h.telegram.bot_messages(TEAM_CHAT).into_iter().chain(h.telegram.bot_messages(ADMIN)) {
        ensure!(!message.to_string().contains(IG_TOKEN), "the token is not in the chat: {message}");
    }
    h.stop().await
}

pub async fn tokens_of_both_kinds_refresh_and_problems_are_announced_once(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    h.knows(FB_ID, "brand_promo").await;
    let ig = h.add_account(IG_ID, IG_TOKEN, Some(60)).await?;
    let fb = h.add_account(FB_ID, FB_TOKEN, Some(60)).await?;
    Mock::given(method("GET"))
        .and(path_regex(r"^/refresh_access_token$"))
        .and(query_param("grant_type", "ig_refresh_token"))
        .and(query_param("access_token", IG_TOKEN))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": IG_TOKEN_NEW, "token_type": "bearer", "expires_in": 5_184_000})),
        )
        .mount(&h.graph)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v[0-9.]+/oauth/access_token$"))
        .and(query_param("grant_type", "fb_exchange_token"))
        .and(query_param("client_id", "4242"))
        .and(query_param("client_secret", APP_SECRET))
        .and(query_param("fb_exchange_token", FB_TOKEN))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": FB_TOKEN_NEW, "token_type": "bearer", "expires_in": 5_184_000})),
        )
        .mount(&h.graph)
        .await;
    // A fresh token is left alone.
    let quiet = storyline_memory::RecordingChat::new();
    let report = h.app.accounts.refresh_tokens(&quiet).await?;
    ensure!(report.checked == 2 && report.refreshed == 0, "{report:?}");
    // 55 days later both are within the refresh window.
    h.clock.advance(chrono::Duration::days(55));
    let report = h.app.accounts.refresh_tokens(h.stories_notifier().as_ref()).await?;
    ensure!(report.refreshed == 2 && report.failed == 0, "{report:?}");
    let vault = &h.app.stores.vault;
    let new_ig = vault.credential(h.workspace.id, ig).await?.context("ig")?;
    let new_fb = vault.credential(h.workspace.id, fb).await?.context("fb")?;
    ensure!(new_ig.token.expose_secret() == IG_TOKEN_NEW && new_fb.token.expose_secret() == FB_TOKEN_NEW);
    ensure!(new_ig.expires_at == Some(h.clock.now() + chrono::Duration::days(60)), "{:?}", new_ig.expires_at);

    // 58 days on, the refresh fails: the chat hears about it once, however often the job runs —
    // and a notice that could not be sent (Telegram refused) is sent on the next run.
    h.clock.advance(chrono::Duration::days(58));
    h.telegram.fail_next("sendMessage", 2, storyline_tests::fake_telegram::Failure::Forbidden("Forbidden".into()));
    let unsent = h.app.accounts.refresh_tokens(h.stories_notifier().as_ref()).await?;
    ensure!(unsent.failed == 2 && unsent.announced == 0, "{unsent:?}");
    let sent = h.telegram.count("sendMessage");
    let mut announced = 0;
    for _ in 0..3 {
        announced += h.app.accounts.refresh_tokens(h.stories_notifier().as_ref()).await?.announced;
    }
    ensure!(announced == 2, "told once per account after all: {announced}");
    let told: Vec<Value> = h.telegram.calls("sendMessage").into_iter().skip(sent).collect();
    ensure!(told.len() == 2, "one message per account: {told:?}");
    ensure!(told.iter().all(|m| m.to_string().contains("Could not refresh")), "{told:?}");
    h.stop().await
}

pub async fn the_logs_of_add_publish_and_refresh_hold_no_token(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    // Added through the bot: the token travels through Telegram's update, the bot and the store.
    let admin = FakeUser::new(ADMIN, "Ada");
    h.telegram.push_text(TEAM_CHAT, &admin, "/settings");
    h.telegram.wait_for("sendMessage", 1, WAIT).await?;
    let menu_id = h.telegram.last_message_id();
    let data = button_data(&h.telegram.message(TEAM_CHAT, menu_id).context("menu")?, "Instagram account")?;
    h.telegram.push_press(TEAM_CHAT, &admin, menu_id, &data);
    let opened =
        |t: &FakeTelegram| t.message(TEAM_CHAT, menu_id).is_some_and(|m| m.to_string().contains("Add account"));
    h.telegram.wait_until(WAIT, opened).await?;
    h.paste_token_prompt(&admin, menu_id).await?;
    h.telegram.push_text(ADMIN, &admin, &format!("Main Brand | {IG_ID} | {IG_TOKEN} | 60"));
    h.telegram
        .wait_until(WAIT, |t| t.bot_messages(ADMIN).iter().any(|m| m.to_string().contains("Added Main Brand")))
        .await?;
    h.api_on(false).await?;
    h.quota(0).await;
    h.container("c-7").await;
    h.status("c-7", "FINISHED", None).await;
    h.publishes("m-7").await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/refresh_access_token$"))
        .respond_with(meta_error(190, &format!("Invalid OAuth access token - Cannot parse access token {IG_TOKEN}")))
        .mount(&h.graph)
        .await;
    h.first_slot_due().await?;
    ensure!(h.stories.tick().await?.sent == 1);
    h.clock.advance(chrono::Duration::days(55));
    let report = h.app.accounts.refresh_tokens(h.stories_notifier().as_ref()).await?;
    ensure!(report.failed == 1, "{report:?}");
    let logs = storyline_tests::logs::logged();
    ensure!(logs.contains("story published through the Graph API"), "the capture sees this test's logs");
    for secret in EVERY_SECRET {
        // Test tokens only: the line is shown so a leak can be found.
        let lines: Vec<&str> = logs.lines().collect();
        let at = lines.iter().position(|l| l.contains(secret));
        let context = at.map(|i| lines[i.saturating_sub(6)..=i].join("\n"));
        ensure!(at.is_none(), "a secret is in the logs: {context:?}");
    }
    h.stop().await
}

impl Harness {
    fn stories_notifier(&self) -> Arc<dyn ChatNotifier> {
        match storyline_telegram::connect(
            &SecretString::from(FakeTelegram::TOKEN.to_owned()),
            Some(&self.telegram.api_url()),
        ) {
            Ok(api) => Arc::new(TelegramNotifier::new(api)),
            Err(_) => Arc::new(storyline_memory::RecordingChat::new()),
        }
    }
}

pub async fn a_lost_key_sends_stories_by_hand_and_names_the_way_out(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.knows(IG_ID, "brand_main").await;
    let account = h.add_account(IG_ID, IG_TOKEN, Some(5)).await?;
    h.api_on(false).await?;
    h.quota(0).await;
    // The same data in a process whose ENCRYPTION_KEY was changed.
    let url = backend.database_url().context("needs a database")?.to_owned();
    let vars = [
        ("DATABASE_URL", url),
        ("MEDIA_DIR", h._media.path().display().to_string()),
        ("ENCRYPTION_KEY", Keyring::generate()),
        ("GRAPH_API_URL", h.graph.uri()),
    ];
    let config = Config::from_lookup(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))?;
    let stores = storyline::wiring::open_stores(&config.database_url, config.keyring.as_ref()).await?;
    let changed = App::wire(stores, Arc::new(h.clock.clone()), &config)?;
    let warning = changed.check_keys().await?.context("the start-up warns")?;
    for part in [
        "Brand 17841400000000001 (@brand_main)",
        "ENCRYPTION_KEYS=new,old",
        "set-instagram-token",
        "remove-instagram-account",
    ] {
        ensure!(warning.contains(part), "{part} missing: {warning}");
    }

    // Publishing needs the token: the story goes the manual way, and the chat hears why once.
    let notifier = h.stories_notifier();
    let stories = changed.stories(notifier.clone());
    let queue = h.first_slot_due().await?;
    ensure!(stories.tick().await?.sent == 1);
    h.clock.set(queue[1].item.slot + chrono::Duration::seconds(5));
    ensure!(stories.tick().await?.sent == 1);
    ensure!(h.telegram.count("sendPhoto") == 2, "both stories came for manual posting");
    ensure!(h.requests("POST /media").await.is_empty(), "nothing was published");
    ensure!(h.said("cannot be opened with this server's ENCRYPTION_KEY") == 1, "warned once");
    ensure!(h.said("remove-instagram-account") == 1, "naming the way out");

    // The refresh job needs it too: it says so once, with the way out.
    h.clock.advance(chrono::Duration::days(2));
    let report = changed.accounts.refresh_tokens(notifier.as_ref()).await?;
    ensure!(report.failed == 1 && report.announced == 1, "{report:?}");
    ensure!(changed.accounts.refresh_tokens(notifier.as_ref()).await?.announced == 0, "said once");
    ensure!(h.said("Could not refresh an Instagram token") == 1);

    // Forgetting the token is the way out that needs no key.
    changed.accounts.remove(h.workspace.id, account, &Actor::Cli).await?;
    ensure!(changed.check_keys().await?.is_none(), "nothing is locked any more");
    for message in h.telegram.calls("sendMessage") {
        ensure!(!message.to_string().contains(IG_TOKEN), "{message}");
    }
    h.stop().await
}

storyline_tests::on_backends!([sqlite, postgres] [
    a_png_story_reaches_the_graph_api_as_a_jpeg_of_its_size,
    a_due_story_is_published_through_the_graph_api_and_recorded,
    a_container_in_progress_is_polled_until_finished,
    a_container_error_sends_the_story_by_hand_with_metas_message,
    an_expired_token_sends_stories_by_hand_with_one_warning,
    the_instagram_warning_is_told_once_across_next_and_the_loop,
    the_instagram_warning_is_told_once_by_two_processes,
    adapter_error_text_reaches_neither_the_chat_nor_the_history_only_the_log,
    a_rate_limit_sends_the_story_by_hand,
    a_used_up_quota_sends_the_story_by_hand,
    a_retry_after_a_crash_never_publishes_twice,
    a_publish_that_never_answers_fails_the_story_instead_of_sending_a_copy,
    a_kept_container_is_not_published_once_the_api_is_turned_off,
    dry_run_does_everything_but_publish_and_still_sends_by_hand,
    the_picker_switches_accounts_and_refuses_a_disabled_one,
    the_bot_dialogue_adds_an_account_and_deletes_the_token_message,
    tokens_of_both_kinds_refresh_and_problems_are_announced_once,
    the_logs_of_add_publish_and_refresh_hold_no_token,
    a_lost_key_sends_stories_by_hand_and_names_the_way_out,
]);
