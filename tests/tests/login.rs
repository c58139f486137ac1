//! End to end: connecting an Instagram account by logging in at Meta, from the button in
//! /settings to the stored account, through the real wiring, the fake Bot API, a fake Meta
//! (authorization dialogs that redirect like Meta's, code and token exchanges, `me`, Pages) on
//! loopback, and Storyline's own callback route. On SQLite and on PostgreSQL.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, ensure};
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use secrecy::ExposeSecret;
use serde_json::json;
use sha2::Digest;
use storyline::config::Config;
use storyline::wiring::App;
use storyline_application::bot::{Bot, BotConfig};
use storyline_crypto::Keyring;
use storyline_domain::account::LoginKind;
use storyline_domain::audit::{AuditAction, AuditEntry};
use storyline_domain::ports::AuditQuery;
use storyline_domain::user::{Actor, Role, TelegramUserId, User};
use storyline_domain::{ChatId, Workspace};
use storyline_memory::ManualClock;
use storyline_telegram::TelegramNotifier;
use storyline_tests::app::{ADMIN, TEAM_CHAT, fast_polling};
use storyline_tests::fake_drive::FakeDrive;
use storyline_tests::fake_telegram::{Failure, FakeTelegram, FakeUser, button_data, button_url};
use storyline_tests::files::png;
use storyline_tests::{Backend, TestResult};
use tokio::sync::watch;
use wiremock::matchers::{body_string_contains, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const WAIT: Duration = Duration::from_secs(15);
const IG_ID: &str = "17841400000000001";
const FB_IG_ID: &str = "17841400000000002";
const IG_APP_SECRET: &str = "instagram-app-secret-0001";
const FB_APP_SECRET: &str = "facebook-app-secret-0002";
const IG_CODE: &str = "AQ-instagram-code-0003";
const FB_CODE: &str = "AQ-facebook-code-0004";
const IG_SHORT: &str = "IGAA-short-lived-token-0005";
const IG_LONG: &str = "IGAA-long-lived-token-0006";
const FB_SHORT: &str = "EAAB-short-lived-token-0007";
const FB_LONG: &str = "EAAB-long-lived-token-0008";
const EVERY_SECRET: [&str; 8] = [IG_APP_SECRET, FB_APP_SECRET, IG_CODE, FB_CODE, IG_SHORT, IG_LONG, FB_SHORT, FB_LONG];

fn day0(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, hour, minute, 0).single().unwrap_or_default()
}

fn query(request: &Request, name: &str) -> Option<String> {
    request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Meta's authorization dialog: the person "logs in" and the browser is sent back to the
/// redirect URI with `answer` (a code, or an error) and the state. The PKCE challenges it was
/// given are kept, for the token endpoint to check.
#[derive(Clone)]
struct Dialog {
    answer: Arc<Mutex<String>>,
    challenges: Arc<Mutex<Vec<String>>>,
}

impl Dialog {
    fn new(answer: &str) -> Self {
        Self { answer: Arc::new(Mutex::new(answer.to_owned())), challenges: Arc::default() }
    }

    fn answer(&self, answer: &str) {
        *self.answer.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = answer.to_owned();
    }
}

impl Respond for Dialog {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let (Some(redirect), Some(state)) = (query(request, "redirect_uri"), query(request, "state")) else {
            return ResponseTemplate::new(400).set_body_string("redirect_uri and state are required");
        };
        if let Some(challenge) = query(request, "code_challenge") {
            self.challenges.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(challenge);
        }
        let answer = self.answer.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let mut back = url::Url::parse(&redirect)
            .unwrap_or_else(|_| url::Url::parse("http://invalid/").unwrap_or_else(|_| unreachable!()));
        back.query_pairs_mut()
            .extend_pairs(url::form_urlencoded::parse(answer.as_bytes()))
            .append_pair("state", &state);
        ResponseTemplate::new(302).insert_header("location", back.as_str())
    }
}

/// Facebook's code exchange: takes the code only with the verifier whose S256 the dialog saw.
struct FacebookCode(Dialog);

impl Respond for FacebookCode {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let verifier = query(request, "code_verifier").unwrap_or_default();
        let challenge =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
        let seen = self.0.challenges.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains(&challenge);
        if query(request, "code").as_deref() == Some(FB_CODE)
            && seen
            && query(request, "client_secret").as_deref() == Some(FB_APP_SECRET)
        {
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": FB_SHORT, "token_type": "bearer", "expires_in": 3600}))
        } else {
            ResponseTemplate::new(400).set_body_json(json!({"error": {"message": "Invalid verification code format.", "type": "OAuthException", "code": 100}}))
        }
    }
}

struct Harness {
    app: App,
    bot: Arc<Bot>,
    clock: ManualClock,
    workspace: Workspace,
    telegram: FakeTelegram,
    meta: MockServer,
    drive: FakeDrive,
    instagram_dialog: Dialog,
    facebook_dialog: Dialog,
    browser: reqwest::Client,
    stop: watch::Sender<bool>,
    polling: tokio::task::JoinHandle<()>,
    server: tokio::task::JoinHandle<()>,
    _media: tempfile::TempDir,
}

impl Harness {
    async fn start(backend: &Backend) -> anyhow::Result<Self> {
        storyline_tests::logs::capture();
        let telegram = FakeTelegram::start().await?;
        let meta = MockServer::start().await;
        let drive = FakeDrive::start().await?;
        let media = tempfile::tempdir()?;
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
            ("ENCRYPTION_KEY", Keyring::generate()),
            ("GRAPH_API_URL", meta.uri()),
            ("META_LOGIN_URL", meta.uri()),
            ("PUBLIC_BASE_URL", public),
            ("INSTAGRAM_APP_ID", "5151".to_owned()),
            ("INSTAGRAM_APP_SECRET", IG_APP_SECRET.to_owned()),
            ("FACEBOOK_APP_ID", "4242".to_owned()),
            ("FACEBOOK_APP_SECRET", FB_APP_SECRET.to_owned()),
            ("GOOGLE_CLIENT_ID", FakeDrive::CLIENT_ID.to_owned()),
            ("GOOGLE_CLIENT_SECRET", FakeDrive::CLIENT_SECRET.to_owned()),
            ("GOOGLE_AUTH_URL", drive.auth_url()),
            ("GOOGLE_TOKEN_URL", drive.token_url()),
            ("DRIVE_API_URL", drive.api_url()),
        ];
        let config = Config::from_lookup(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))?;
        let clock = ManualClock::at(day0(9, 0));
        let stores = storyline::wiring::open_stores(&config.database_url, config.keyring.as_ref()).await?;
        let app = App::wire(stores, Arc::new(clock.clone()), &config)?;
        let api = storyline_telegram::connect(&config.telegram()?.token, Some(&telegram.api_url()))?;
        let notifier = Arc::new(TelegramNotifier::new(api.clone()));
        let bot = Arc::new(app.bot(
            notifier.clone(),
            notifier.clone(),
            BotConfig::team(ChatId(TEAM_CHAT), HashSet::from([TelegramUserId(ADMIN)])),
        ));
        let workspace = app.settings.workspace_for_chat(ChatId(TEAM_CHAT), "Team").await?;
        let routes = storyline::login_http::router(bot.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, routes).await;
        });
        let (stop, listen) = watch::channel(false);
        let cursor = app.stores.cursor.clone();
        let polled = bot.clone();
        let polling = tokio::spawn(async move {
            storyline_telegram::poll(api, polled, cursor, FakeTelegram::BOT_ID, fast_polling(), listen, |_| {}).await;
        });
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
        let h = Self {
            app,
            bot,
            clock,
            workspace,
            telegram,
            meta,
            drive,
            instagram_dialog: Dialog::new(&format!("code={IG_CODE}")),
            facebook_dialog: Dialog::new(&format!("code={FB_CODE}")),
            browser,
            stop,
            polling,
            server,
            _media: media,
        };
        h.fake_meta().await;
        Ok(h)
    }

    async fn stop(self) -> TestResult {
        let _ = self.stop.send(true);
        tokio::time::timeout(WAIT, self.polling).await??;
        self.server.abort();
        drop(self.bot);
        Ok(())
    }

    /// Meta as Instagram Login and Facebook Login see it.
    async fn fake_meta(&self) {
        let mount = |mock: Mock| mock.mount_as_scoped(&self.meta);
        // Scoped mocks live as long as their guards: these live as long as the server.
        for guard in [
            mount(Mock::given(method("GET")).and(path("/oauth/authorize")).respond_with(self.instagram_dialog.clone()))
                .await,
            mount(
                Mock::given(method("GET"))
                    .and(path_regex(r"^/v[0-9.]+/dialog/oauth$"))
                    .respond_with(self.facebook_dialog.clone()),
            )
            .await,
        ] {
            std::mem::forget(guard);
        }
        Mock::given(method("POST"))
            .and(path("/oauth/access_token"))
            .and(body_string_contains(format!("code={IG_CODE}")))
            .and(body_string_contains(format!("client_secret={IG_APP_SECRET}")))
            .and(body_string_contains("grant_type=authorization_code"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "data": [{"access_token": IG_SHORT, "user_id": IG_ID, "permissions": "instagram_business_basic,instagram_business_content_publish"}]
            })))
            .mount(&self.meta)
            .await;
        Mock::given(method("POST"))
            .and(path("/oauth/access_token"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "error_type": "OAuthException", "code": 400, "error_message": "Invalid authorization code"
            })))
            .with_priority(10)
            .mount(&self.meta)
            .await;
        Mock::given(method("GET"))
            .and(path("/access_token"))
            .and(query_param("grant_type", "ig_exchange_token"))
            .and(query_param("access_token", IG_SHORT))
            .and(query_param("client_secret", IG_APP_SECRET))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": IG_LONG, "token_type": "bearer", "expires_in": 5_184_000
            })))
            .mount(&self.meta)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/v[0-9.]+/me$"))
            .and(query_param("access_token", IG_LONG))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "user_id": IG_ID, "username": "brand_main", "id": "9988776655"
            })))
            .mount(&self.meta)
            .await;
        for (id, username) in [(IG_ID, "brand_main"), (FB_IG_ID, "brand_page")] {
            Mock::given(method("GET"))
                .and(path_regex(format!(r"^/v[0-9.]+/{id}$")))
                .and(query_param("fields", "username"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": id, "username": username})))
                .mount(&self.meta)
                .await;
        }
        Mock::given(method("GET"))
            .and(path_regex(r"^/v[0-9.]+/oauth/access_token$"))
            .and(query_param("grant_type", "fb_exchange_token"))
            .and(query_param("fb_exchange_token", FB_SHORT))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": FB_LONG, "token_type": "bearer", "expires_in": 5_184_000
            })))
            .with_priority(1)
            .mount(&self.meta)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/v[0-9.]+/oauth/access_token$"))
            .respond_with(FacebookCode(self.facebook_dialog.clone()))
            .with_priority(5)
            .mount(&self.meta)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/v[0-9.]+/me/accounts$"))
            .and(query_param("access_token", FB_LONG))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
                {"id": "1001", "name": "Brand Page", "instagram_business_account": {"id": FB_IG_ID, "username": "brand_page"}},
                {"id": "1002", "name": "A Page without Instagram"}
            ]})))
            .mount(&self.meta)
            .await;
    }

    /// `person` opens /settings → the account line: the menu showing the picker (once it shows
    /// `shows`).
    async fn account_picker(&self, person: &FakeUser, shows: &str) -> anyhow::Result<i32> {
        let sent = self.telegram.count("sendMessage");
        self.telegram.push_text(TEAM_CHAT, person, "/settings");
        self.telegram.wait_for("sendMessage", sent + 1, WAIT).await?;
        let menu = self.telegram.last_message_id();
        // "📸 Instagram account · Add", or the active account's name.
        let data = button_data(&self.telegram.message(TEAM_CHAT, menu).context("menu")?, "📸")?;
        self.telegram.push_press(TEAM_CHAT, person, menu, &data);
        let picker = |t: &FakeTelegram| t.message(TEAM_CHAT, menu).is_some_and(|m| m.to_string().contains(shows));
        self.telegram.wait_until(WAIT, picker).await?;
        Ok(menu)
    }

    /// `person` opens /settings → Instagram account → Add account: the message with the links.
    async fn login_links(&self, person: &FakeUser) -> anyhow::Result<serde_json::Value> {
        let menu = self.account_picker(person, "Add account").await?;
        let add = button_data(&self.telegram.message(TEAM_CHAT, menu).context("picker")?, "Add account")?;
        let before = self.telegram.bot_messages(person.id).len();
        self.telegram.push_press(TEAM_CHAT, person, menu, &add);
        self.private_links(person, menu, before).await
    }

    /// The links sent to `person`'s private chat after `before` messages there; the group's
    /// `menu` says where they went and never shows one.
    async fn private_links(&self, person: &FakeUser, menu: i32, before: usize) -> anyhow::Result<serde_json::Value> {
        let pointed = |t: &FakeTelegram| {
            t.message(TEAM_CHAT, menu).is_some_and(|m| m.to_string().contains("the login link is in your private chat"))
        };
        self.telegram.wait_until(WAIT, pointed).await?;
        let group = self.telegram.message(TEAM_CHAT, menu).context("the menu")?;
        ensure!(!group.to_string().contains("\"url\""), "no link in the group: {group}");
        let sent = self.telegram.bot_messages(person.id);
        ensure!(sent.len() == before + 1, "one private message with the links: {sent:?}");
        sent.last().cloned().context("the links")
    }

    /// The browser opens `link` at Meta and follows Meta's redirect back to Storyline: the URL
    /// it was sent back to, and the page's status and text.
    async fn follow(&self, link: &str) -> anyhow::Result<(String, u16, String)> {
        let at_meta = self.browser.get(link).send().await?;
        ensure!(at_meta.status().as_u16() == 302, "Meta's dialog redirects: {}", at_meta.status());
        let back = at_meta.headers().get("location").context("a location")?.to_str()?.to_owned();
        let (status, page) = self.open(&back).await?;
        Ok((back, status, page))
    }

    async fn open(&self, url: &str) -> anyhow::Result<(u16, String)> {
        let page = self.browser.get(url).send().await?;
        let status = page.status().as_u16();
        ensure!(page.headers().get("referrer-policy").is_some_and(|v| v == "no-referrer"), "no referrer");
        ensure!(page.headers().get("cache-control").is_some_and(|v| v == "no-store"), "no cache");
        Ok((status, page.text().await?))
    }

    async fn code_exchanges(&self) -> usize {
        let requests = self.meta.received_requests().await.unwrap_or_default();
        requests
            .iter()
            .filter(|r| {
                r.url.path().ends_with("/oauth/access_token")
                    && (r.method.as_str() == "POST" || query(r, "code").is_some())
            })
            .count()
    }

    async fn accounts(&self, workspace: &Workspace) -> anyhow::Result<usize> {
        Ok(self.app.stores.accounts.accounts(workspace.id, true).await?.len())
    }

    fn team_heard(&self, needle: &str) -> bool {
        self.telegram.bot_messages(TEAM_CHAT).iter().any(|m| m.to_string().contains(needle))
    }

    fn no_secret_in_chat(&self) -> TestResult {
        for (method, call) in self.telegram.all_calls() {
            let text = call.to_string();
            for secret in EVERY_SECRET {
                ensure!(!text.contains(secret), "{method} carries a secret: {text}");
            }
        }
        Ok(())
    }
}

const REFUSED: &str = "This login link does not work";

pub async fn logging_in_with_instagram_connects_the_account_and_tells_the_chat(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    let ada = FakeUser::new(ADMIN, "Ada");
    let links = h.login_links(&ada).await?;
    ensure!(h.team_heard("Paste a token instead"), "the manual way is still there, in the group");
    let link = button_url(&links, "Log in with Instagram")?;
    let at = url::Url::parse(&link)?;
    ensure!(at.path() == "/oauth/authorize", "{link}");
    let pairs: Vec<(String, String)> = at.query_pairs().into_owned().collect();
    let has = |k: &str, v: &str| pairs.iter().any(|(a, b)| a == k && b == v);
    ensure!(has("client_id", "5151") && has("response_type", "code"), "{link}");
    ensure!(has("scope", "instagram_business_basic,instagram_business_content_publish"), "{link}");
    let public = h.bot_public_base();
    ensure!(has("redirect_uri", &format!("{public}/oauth/instagram/callback")), "{link}");
    ensure!(!link.contains(IG_APP_SECRET), "{link}");

    let (back, status, page) = h.follow(&link).await?;
    ensure!(status == 200, "{status}: {page}");
    ensure!(page.contains("Connected @brand_main — you can close this page."), "{page}");
    ensure!(!page.contains(IG_LONG) && !page.contains(IG_CODE), "{page}");
    let active = h.app.stores.accounts.active(h.workspace.id).await?.context("the only account is active")?;
    ensure!(active.instagram_id.as_str() == IG_ID && active.login == LoginKind::Instagram, "{active:?}");
    ensure!(active.username.map(|u| u.to_string()).as_deref() == Some("@brand_main"));
    let credential = h.app.stores.vault.credential(h.workspace.id, active.id).await?.context("a token")?;
    ensure!(credential.token.expose_secret() == IG_LONG, "the long-lived token is stored");
    ensure!(credential.expires_at == Some(day0(9, 0) + chrono::Duration::days(60)), "{:?}", credential.expires_at);
    h.telegram
        .wait_until(WAIT, |t| {
            t.bot_messages(TEAM_CHAT).iter().any(|m| m.to_string().contains("Ada connected the Instagram account"))
        })
        .await?;
    ensure!(h.team_heard("by logging in with Instagram") && h.team_heard("It is the active account now"));
    let query = AuditQuery { action: Some(AuditAction::Account), limit: 10 };
    let audit = h.app.stores.audit.entries(h.workspace.id, query).await?;
    let by_ada = |e: &&AuditEntry| {
        e.actor == Actor::User(TelegramUserId(ADMIN)) && e.subject == format!("account:{}", active.id)
    };
    ensure!(audit.iter().filter(by_ada).count() >= 1, "added in Ada's name, audited: {audit:?}");

    // The same redirect again (a reload, or someone who saw the URL): refused, nothing changes.
    let exchanges = h.code_exchanges().await;
    let (status, page) = h.open(&back).await?;
    ensure!(status == 400 && page.contains(REFUSED), "{status}: {page}");
    ensure!(h.code_exchanges().await == exchanges, "a reused state never reaches Meta");
    ensure!(h.accounts(&h.workspace).await? == 1);
    h.no_secret_in_chat()?;
    h.stop().await
}

impl Harness {
    fn bot_public_base(&self) -> String {
        self.app.login.as_ref().map(|l| l.public_base.clone()).unwrap_or_default()
    }
}

pub async fn an_expired_forged_or_missing_state_connects_nothing(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    let ada = FakeUser::new(ADMIN, "Ada");
    let other = h.app.settings.workspace_for_chat(ChatId(-100_888), "Other team").await?;
    let link = button_url(&h.login_links(&ada).await?, "Log in with Instagram")?;
    let at_meta = h.browser.get(&link).send().await?;
    let back = at_meta.headers().get("location").context("a location")?.to_str()?.to_owned();
    let back = url::Url::parse(&back)?;
    let state = back.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).context("a state")?;
    let with_state = |state: &str| {
        let mut url = back.clone();
        url.query_pairs_mut().clear().append_pair("code", IG_CODE).append_pair("state", state);
        url.to_string()
    };
    // A state made for this workspace, rewritten to name another: the signature does not hold.
    let (_, rest) = state.split_once('.').context("workspace.nonce.mac")?;
    let forged = format!("{}.{rest}", other.id);
    let callback = back.as_str().split('?').next().unwrap_or_default().to_owned();
    for (case, url) in [
        ("another workspace", with_state(&forged)),
        ("no signature", with_state(&state.rsplit_once('.').map(|(s, _)| s.to_owned()).unwrap_or_default())),
        ("garbage", with_state("<script>alert(1)</script>")),
        ("no state", format!("{callback}?code={IG_CODE}")),
        ("no code", with_state(&state).replace(&format!("code={IG_CODE}&"), "")),
        ("an unknown provider", with_state(&state).replace("/oauth/instagram/", "/oauth/google/")),
    ] {
        let (status, page) = h.open(&url).await?;
        ensure!(status == 400 && page.contains(REFUSED), "{case}: {status}: {page}");
        ensure!(!page.contains("<script>"), "{case}: {page}");
    }
    // A state made for Instagram Login, brought back to the Facebook callback.
    let other_link = button_url(&h.login_links(&ada).await?, "Log in with Instagram")?;
    let at_meta = h.browser.get(&other_link).send().await?;
    let location = at_meta.headers().get("location").context("a location")?.to_str()?.to_owned();
    let (status, page) = h.open(&location.replace("/oauth/instagram/", "/oauth/facebook/")).await?;
    ensure!(status == 400 && page.contains(REFUSED), "another provider: {status}: {page}");
    let (status, page) = h.open(&location).await?;
    ensure!(status == 400 && page.contains(REFUSED), "taken by the wrong provider's callback: {status}: {page}");
    // A link scanner's HEAD does nothing (only GET is answered).
    let scanned = h.browser.head(with_state(&state)).send().await?;
    ensure!(scanned.status().as_u16() == 405, "{}", scanned.status());
    // The real state, but eleven minutes later: expired (the attempts above took a state only
    // where they got past the signature: "no code" did).
    let fresh = button_url(&h.login_links(&ada).await?, "Log in with Instagram")?;
    let at_meta = h.browser.get(&fresh).send().await?;
    let late = at_meta.headers().get("location").context("a location")?.to_str()?.to_owned();
    h.clock.advance(chrono::Duration::minutes(11));
    let (status, page) = h.open(&late).await?;
    ensure!(status == 400 && page.contains(REFUSED), "expired: {status}: {page}");
    ensure!(h.code_exchanges().await == 0, "no refused callback reached Meta");
    ensure!(h.accounts(&h.workspace).await? == 0 && h.accounts(&other).await? == 0, "nothing connected anywhere");
    // Only GET, and not a huge URL.
    let posted = h.browser.post(with_state(&state)).send().await?;
    ensure!(posted.status().as_u16() == 405, "{}", posted.status());
    let huge = h.browser.get(format!("{}&pad={}", with_state(&state), "x".repeat(5000))).send().await?;
    ensure!(huge.status().as_u16() == 414, "{}", huge.status());
    h.stop().await
}

pub async fn a_person_demoted_between_the_press_and_the_callback_connects_nothing(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    let bob = FakeUser::new(77, "Bob");
    let stores = &h.app.stores;
    let user = User { telegram_id: TelegramUserId(77), username: None, first_name: "Bob".to_owned(), last_name: None };
    stores.users.record_contact(h.workspace.id, &user, day0(9, 0)).await?;
    stores.users.set_role(h.workspace.id, TelegramUserId(77), Role::Admin, &Actor::Cli, day0(9, 0)).await?;
    let link = button_url(&h.login_links(&bob).await?, "Log in with Instagram")?;
    stores.users.set_role(h.workspace.id, TelegramUserId(77), Role::Member, &Actor::Cli, day0(9, 1)).await?;
    let (_, status, page) = h.follow(&link).await?;
    ensure!(status == 400 && page.contains(REFUSED), "{status}: {page}");
    ensure!(h.code_exchanges().await == 0, "Meta is not asked for a person who may not add accounts");
    ensure!(h.accounts(&h.workspace).await? == 0);
    h.stop().await
}

pub async fn a_denied_consent_or_a_failed_code_exchange_connects_nothing(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    let ada = FakeUser::new(ADMIN, "Ada");
    h.instagram_dialog.answer("error=access_denied&error_reason=user_denied&error_description=Permissions+error");
    let link = button_url(&h.login_links(&ada).await?, "Log in with Instagram")?;
    let (_, status, page) = h.follow(&link).await?;
    ensure!(status == 400 && page.contains("You did not allow access"), "{status}: {page}");
    h.instagram_dialog.answer("code=AQ-a-code-meta-refuses");
    let link = button_url(&h.login_links(&ada).await?, "Log in with Instagram")?;
    let (_, status, page) = h.follow(&link).await?;
    ensure!(
        status == 400 && page.contains("Meta did not complete the login") && page.contains("ref "),
        "{status}: {page}"
    );
    ensure!(!page.contains("Invalid authorization code"), "Meta's words stay in the log: {page}");
    ensure!(h.accounts(&h.workspace).await? == 0);
    ensure!(!h.team_heard("connected the Instagram account"));
    h.stop().await
}

pub async fn logging_in_again_reconnects_the_account_and_keeps_it(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    let ada = FakeUser::new(ADMIN, "Ada");
    let (_, status, _) = h.follow(&button_url(&h.login_links(&ada).await?, "Log in with Instagram")?).await?;
    ensure!(status == 200);
    let first = h.app.stores.accounts.active(h.workspace.id).await?.context("connected")?;
    // The token dies; logging in again gives the account a new one and keeps its id.
    h.app.accounts.mark_dead(h.workspace.id, first.id).await?;
    h.clock.advance(chrono::Duration::days(1));
    let (_, status, page) = h.follow(&button_url(&h.login_links(&ada).await?, "Log in with Instagram")?).await?;
    ensure!(status == 200 && page.contains("Reconnected @brand_main"), "{status}: {page}");
    let accounts = h.app.stores.accounts.accounts(h.workspace.id, true).await?;
    ensure!(accounts.len() == 1 && accounts[0].id == first.id, "{accounts:?}");
    let credential = h.app.stores.vault.credential(h.workspace.id, first.id).await?.context("a token")?;
    ensure!(credential.issued_at == day0(9, 0) + chrono::Duration::days(1), "a new token: {:?}", credential.issued_at);
    let infos = h.app.stores.vault.token_infos(h.workspace.id).await?;
    ensure!(infos.iter().all(|i| i.notice.is_none()), "the dead mark is gone: {infos:?}");
    h.telegram
        .wait_until(WAIT, |t| t.bot_messages(TEAM_CHAT).iter().any(|m| m.to_string().contains("Ada reconnected")))
        .await?;
    h.stop().await
}

pub async fn facebook_login_with_pkce_connects_the_instagram_account_of_the_page(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    let ada = FakeUser::new(ADMIN, "Ada");
    let link = button_url(&h.login_links(&ada).await?, "Log in with Facebook")?;
    ensure!(link.contains("code_challenge_method=S256"), "{link}");
    let (_, status, page) = h.follow(&link).await?;
    ensure!(status == 200 && page.contains("Connected @brand_page"), "{status}: {page}");
    let active = h.app.stores.accounts.active(h.workspace.id).await?.context("connected")?;
    ensure!(active.instagram_id.as_str() == FB_IG_ID && active.login == LoginKind::Facebook, "{active:?}");
    let credential = h.app.stores.vault.credential(h.workspace.id, active.id).await?.context("a token")?;
    ensure!(credential.token.expose_secret() == FB_LONG);
    h.no_secret_in_chat()?;
    h.stop().await
}

pub async fn a_login_link_is_never_shown_to_the_group_even_when_the_person_cannot_be_reached(
    backend: Backend,
) -> TestResult {
    let h = Harness::start(&backend).await?;
    let ada = FakeUser::new(ADMIN, "Ada");
    let menu = h.account_picker(&ada, "Add account").await?;
    // Ada never pressed Start in a private chat with the bot: Telegram refuses the message.
    h.telegram.fail_next(
        "sendMessage",
        1,
        Failure::Forbidden("Forbidden: bot can't initiate conversation with a user".to_owned()),
    );
    let add = button_data(&h.telegram.message(TEAM_CHAT, menu).context("picker")?, "Add account")?;
    h.telegram.push_press(TEAM_CHAT, &ada, menu, &add);
    let told = |t: &FakeTelegram| {
        t.message(TEAM_CHAT, menu).is_some_and(|m| m.to_string().contains("I cannot write to you privately yet"))
    };
    h.telegram.wait_until(WAIT, told).await?;
    for message in h.telegram.bot_messages(TEAM_CHAT) {
        ensure!(!message.to_string().contains("\"url\""), "no login link in the group: {message}");
    }
    let menu_now = h.telegram.message(TEAM_CHAT, menu).context("the menu")?;
    ensure!(button_data(&menu_now, "Paste a token instead").is_ok(), "the manual way is offered: {menu_now}");
    h.stop().await
}

pub async fn a_login_reaching_two_pages_asks_which_and_only_its_person_picks(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v[0-9.]+/me/accounts$"))
        .and(query_param("access_token", FB_LONG))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "1001", "name": "Brand Page", "instagram_business_account": {"id": FB_IG_ID, "username": "brand_page"}},
            {"id": "1003", "name": "Promo Page", "instagram_business_account": {"id": IG_ID, "username": "brand_main"}}
        ]})))
        .with_priority(1)
        .mount(&h.meta)
        .await;
    let ada = FakeUser::new(ADMIN, "Ada");
    let (_, status, page) = h.follow(&button_url(&h.login_links(&ada).await?, "Log in with Facebook")?).await?;
    ensure!(status == 200 && page.contains("choose the one to connect in the Telegram chat"), "{status}: {page}");
    ensure!(h.accounts(&h.workspace).await? == 0, "nothing connected before the pick");
    let asked =
        |t: &FakeTelegram| t.bot_messages(TEAM_CHAT).iter().any(|m| m.to_string().contains("Which Instagram account?"));
    h.telegram.wait_until(WAIT, asked).await?;
    let picker = h
        .telegram
        .bot_messages(TEAM_CHAT)
        .into_iter()
        .rev()
        .find(|m| m.to_string().contains("Which Instagram account?"))
        .context("the picker")?;
    let picker_id = i32::try_from(picker["message_id"].as_i64().unwrap_or_default())?;
    let promo = button_data(&picker, "@brand_main")?;
    // Someone else (an admin too) may not pick Ada's login.
    h.telegram.set_administrators(TEAM_CHAT, &[FakeUser::new(88, "Cy")]);
    let answered = h.telegram.count("answerCallbackQuery");
    h.telegram.push_press(TEAM_CHAT, &FakeUser::new(88, "Cy"), picker_id, &promo);
    let answers = h.telegram.wait_for("answerCallbackQuery", answered + 1, WAIT).await?;
    let said = answers.last().map(|a| a["text"].to_string()).unwrap_or_default();
    ensure!(said.contains("only the person who logged in chooses"), "{said}");
    ensure!(h.accounts(&h.workspace).await? == 0);
    // Ada picks the second: connected with the login's token, the only one, so active.
    h.telegram.push_press(TEAM_CHAT, &ada, picker_id, &promo);
    let connected = |t: &FakeTelegram| {
        t.bot_messages(TEAM_CHAT)
            .iter()
            .any(|m| m.to_string().contains("Ada connected the Instagram account Promo Page (@brand_main)"))
    };
    h.telegram.wait_until(WAIT, connected).await?;
    let active = h.app.stores.accounts.active(h.workspace.id).await?.context("connected")?;
    ensure!(active.instagram_id.as_str() == IG_ID && active.login == LoginKind::Facebook, "{active:?}");
    let credential = h.app.stores.vault.credential(h.workspace.id, active.id).await?.context("a token")?;
    ensure!(credential.token.expose_secret() == FB_LONG);
    // The picker is used up: a second press connects nothing more.
    let brand = button_data(&picker, "@brand_page")?;
    let answered = h.telegram.count("answerCallbackQuery");
    h.telegram.push_press(TEAM_CHAT, &ada, picker_id, &brand);
    let answers = h.telegram.wait_for("answerCallbackQuery", answered + 1, WAIT).await?;
    let said = answers.last().map(|a| a["text"].to_string()).unwrap_or_default();
    ensure!(said.contains("only the person who logged in chooses"), "{said}");
    ensure!(h.accounts(&h.workspace).await? == 1);
    h.no_secret_in_chat()?;
    h.stop().await
}

pub async fn reconnect_on_a_dead_account_takes_only_that_account(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    let ada = FakeUser::new(ADMIN, "Ada");
    let (_, status, _) = h.follow(&button_url(&h.login_links(&ada).await?, "Log in with Instagram")?).await?;
    ensure!(status == 200);
    let account = h.app.stores.accounts.active(h.workspace.id).await?.context("connected")?;
    h.app.accounts.mark_dead(h.workspace.id, account.id).await?;
    // The picker offers Reconnect for the dead account; its login is Instagram Login only.
    let menu = h.account_picker(&ada, "Reconnect").await?;
    let reconnect = button_data(&h.telegram.message(TEAM_CHAT, menu).context("picker")?, "Reconnect")?;
    let before = h.telegram.bot_messages(ADMIN).len();
    h.telegram.push_press(TEAM_CHAT, &ada, menu, &reconnect);
    let screen = h.private_links(&ada, menu, before).await?;
    let group = h.telegram.message(TEAM_CHAT, menu).context("the menu")?;
    ensure!(!group.to_string().contains("Paste a token"), "a Reconnect is by login: {group}");
    ensure!(
        !screen.to_string().contains("Log in with Facebook") && screen.to_string().contains("Reconnect"),
        "{screen}"
    );
    // Logged in as another account (Meta's `me` answers another id): nothing changes.
    Mock::given(method("GET"))
        .and(path_regex(r"^/v[0-9.]+/me$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"user_id": "17841499999999999", "username": "someone_else"})),
        )
        .with_priority(1)
        .up_to_n_times(1)
        .mount(&h.meta)
        .await;
    let (_, status, page) = h.follow(&button_url(&screen, "Log in with Instagram")?).await?;
    ensure!(status == 400 && page.contains("This login is not for"), "{status}: {page}");
    let infos = h.app.stores.vault.token_infos(h.workspace.id).await?;
    ensure!(infos.iter().all(|i| i.notice.is_some()), "still dead: {infos:?}");
    ensure!(h.accounts(&h.workspace).await? == 1, "the other account is not added");
    // Again, as the right account: a new token, the same account.
    let (_, status, page) = h.follow(&button_url(&h.login_links(&ada).await?, "Log in with Instagram")?).await?;
    ensure!(status == 200 && page.contains("Reconnected"), "{status}: {page}");
    let infos = h.app.stores.vault.token_infos(h.workspace.id).await?;
    ensure!(infos.iter().all(|i| i.notice.is_none()), "alive again: {infos:?}");
    h.stop().await
}

pub async fn drive_by_logging_in_with_google_picks_a_folder_then_syncs_it(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    let stories = h.drive.folder(FakeDrive::ROOT, "Stories");
    let memes = h.drive.folder(&stories, "memes");
    h.drive.file(&memes, "monday.png", "image/png", &png(108, 192, "monday"));
    h.drive.file(&stories, "top.png", "image/png", &png(108, 192, "top"));
    h.drive.folder(FakeDrive::ROOT, "Holidays");
    h.drive.file(FakeDrive::ROOT, "loose.png", "image/png", &png(10, 10, "loose"));
    let ada = FakeUser::new(ADMIN, "Ada");
    // /settings → Change media source → Google Drive: the questions in the group, the login
    // link in Ada's private chat.
    let sent = h.telegram.count("sendMessage");
    h.telegram.push_text(TEAM_CHAT, &ada, "/settings");
    h.telegram.wait_for("sendMessage", sent + 1, WAIT).await?;
    let menu = h.telegram.last_message_id();
    let change = button_data(&h.telegram.message(TEAM_CHAT, menu).context("menu")?, "Change media source")?;
    h.telegram.push_press(TEAM_CHAT, &ada, menu, &change);
    let kinds = |t: &FakeTelegram| t.message(TEAM_CHAT, menu).is_some_and(|m| m.to_string().contains("Google Drive"));
    h.telegram.wait_until(WAIT, kinds).await?;
    let drive_kind = button_data(&h.telegram.message(TEAM_CHAT, menu).context("kinds")?, "Google Drive")?;
    let before = h.telegram.bot_messages(ADMIN).len();
    h.telegram.push_press(TEAM_CHAT, &ada, menu, &drive_kind);
    let pointed =
        |t: &FakeTelegram| t.bot_messages(TEAM_CHAT).iter().any(|m| m.to_string().contains("Or log in with Google"));
    h.telegram.wait_until(WAIT, pointed).await?;
    let private = h.telegram.bot_messages(ADMIN);
    ensure!(private.len() == before + 1, "{private:?}");
    let link = button_url(private.last().context("the link")?, "Log in with Google")?;
    ensure!(link.contains("code_challenge_method=S256") && link.contains("access_type=offline"), "{link}");
    for message in h.telegram.bot_messages(TEAM_CHAT) {
        ensure!(!message.to_string().contains("\"url\""), "no login link in the group: {message}");
    }
    // Google's consent, and back: the page says to choose in the chat; the chat gets the top
    // folders of My Drive (not the loose file).
    let (_, status, page) = h.follow(&link).await?;
    ensure!(status == 200 && page.contains("Choose the folder that holds the media"), "{status}: {page}");
    let asked =
        |t: &FakeTelegram| t.bot_messages(TEAM_CHAT).iter().any(|m| m.to_string().contains("Which Drive folder?"));
    h.telegram.wait_until(WAIT, asked).await?;
    let picker = h
        .telegram
        .bot_messages(TEAM_CHAT)
        .into_iter()
        .rev()
        .find(|m| m.to_string().contains("Which Drive folder?"))
        .context("the picker")?;
    ensure!(button_data(&picker, "Holidays").is_ok() && button_data(&picker, "loose").is_err(), "{picker}");
    let picker_id = i32::try_from(picker["message_id"].as_i64().unwrap_or_default())?;
    h.telegram.push_press(TEAM_CHAT, &ada, picker_id, &button_data(&picker, "Stories")?);
    let connected = |t: &FakeTelegram| {
        t.message(TEAM_CHAT, picker_id).is_some_and(|m| m.to_string().contains("connected the Drive folder"))
    };
    h.telegram.wait_until(WAIT, connected).await?;
    let view = h.app.media_sources.show(h.workspace.id).await?;
    ensure!(view.current.to_string().contains(&stories), "the source is the chosen folder: {}", view.current);
    // The sync reads the folder as Ada, with her refresh token.
    let answered = h.telegram.count("sendMessage");
    h.telegram.push_text(TEAM_CHAT, &ada, "/sync");
    h.telegram.wait_for("sendMessage", answered + 1, WAIT).await?;
    let synced = |t: &FakeTelegram| t.bot_messages(TEAM_CHAT).iter().any(|m| m.to_string().contains("Library synced"));
    h.telegram.wait_until(WAIT, synced).await?;
    let query = storyline_domain::ports::MediaQuery { category: None, limit: 100 };
    let items = h.app.stores.library.media(h.workspace.id, &query).await?;
    let mut paths: Vec<String> = items.iter().map(|i| i.path.clone()).collect();
    paths.sort();
    ensure!(paths == ["memes/monday.png", "top.png"], "{paths:?}");
    ensure!(h.drive.refresh_tokens().len() == 1, "one login, one refresh token");
    let secrets: Vec<String> = h
        .drive
        .refresh_tokens()
        .into_iter()
        .chain(h.drive.codes_given())
        .chain(h.drive.issued_tokens())
        .chain([FakeDrive::CLIENT_SECRET.to_owned()])
        .collect();
    ensure!(secrets.len() >= 4, "a code, a refresh token and access tokens were given: {}", secrets.len());
    for (method, call) in h.telegram.all_calls() {
        for secret in &secrets {
            ensure!(!call.to_string().contains(secret.as_str()), "{method} carries a Google secret");
        }
    }
    let logs = storyline_tests::logs::logged();
    ensure!(logs.contains("exchanging a Google login's code"), "the login's lines are captured");
    for secret in &secrets {
        ensure!(!logs.contains(secret.as_str()), "a log line holds a Google secret");
    }
    h.stop().await
}

/// A success, a refusal by Meta and a Facebook login, then every captured line (the tests of
/// one binary share the capture, so whatever the others logged by then is checked too).
pub async fn the_logs_of_every_login_hold_no_token_code_or_app_secret(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    let ada = FakeUser::new(ADMIN, "Ada");
    let (_, status, _) = h.follow(&button_url(&h.login_links(&ada).await?, "Log in with Instagram")?).await?;
    ensure!(status == 200);
    h.instagram_dialog.answer("code=AQ-a-code-meta-refuses");
    let (_, status, _) = h.follow(&button_url(&h.login_links(&ada).await?, "Log in with Instagram")?).await?;
    ensure!(status == 400);
    let (_, status, _) = h.follow(&button_url(&h.login_links(&ada).await?, "Log in with Facebook")?).await?;
    ensure!(status == 200);
    h.stop().await?;
    let logs = storyline_tests::logs::logged();
    ensure!(
        logs.contains("a login callback was refused") || logs.contains("Meta did not complete a login"),
        "the flows logged"
    );
    for secret in EVERY_SECRET.iter().chain(&["AQ-a-code-meta-refuses"]) {
        ensure!(!logs.contains(secret), "a log line holds {secret}");
    }
    Ok(())
}

storyline_tests::on_backends!([sqlite, postgres] [
    logging_in_with_instagram_connects_the_account_and_tells_the_chat,
    an_expired_forged_or_missing_state_connects_nothing,
    a_person_demoted_between_the_press_and_the_callback_connects_nothing,
    a_denied_consent_or_a_failed_code_exchange_connects_nothing,
    logging_in_again_reconnects_the_account_and_keeps_it,
    facebook_login_with_pkce_connects_the_instagram_account_of_the_page,
    a_login_reaching_two_pages_asks_which_and_only_its_person_picks,
    a_login_link_is_never_shown_to_the_group_even_when_the_person_cannot_be_reached,
    reconnect_on_a_dead_account_takes_only_that_account,
    drive_by_logging_in_with_google_picks_a_folder_then_syncs_it,
    the_logs_of_every_login_hold_no_token_code_or_app_secret,
]);
