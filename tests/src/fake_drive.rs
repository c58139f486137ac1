//! A fake Google Drive API (v3) and OAuth token endpoint on loopback, for the Drive media source's
//! tests and end-to-end tests. Point the adapter at it with
//! `DriveEndpoints::with_overrides(Some(drive.api_url()), Some(drive.token_url()))` (in the
//! binary: `DRIVE_API_URL` and `GOOGLE_TOKEN_URL`) and give it [`FakeDrive::service_account_key`].
//!
//! What it checks, like Google:
//! - `POST /token` takes only the service-account grant
//!   (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`): the `assertion` must be an RS256
//!   JWT signed by the test key (`tests/fixtures/drive/test-key.pem`; checked with its public
//!   half), issued by [`FakeDrive::EMAIL`], for the audience [`FakeDrive::token_url`], with the
//!   Drive scope, an `iat` and an `exp` at most an hour later. Anything else is 400
//!   `invalid_grant`. A good grant gets a new random access token (an hour).
//! - Every Drive call needs `Authorization: Bearer` with a token it issued (else 401).
//! - `GET /drive/v3/files` (files.list) understands the queries the adapter sends:
//!   `'<id>' in parents`, `trashed = false`, `name = '<name>'` joined by `and`. It answers at
//!   most [`FakeDrive::set_page_size`] items (2 by default) per page with a `nextPageToken`, and only
//!   the fields asked for. Items on a shared drive are listed only with
//!   `supportsAllDrives=true&includeItemsFromAllDrives=true`. An unknown or unshared parent
//!   is 404.
//! - `GET /drive/v3/files/{id}` gives the metadata (`fields`), or with `alt=media` the bytes, sent
//!   in 64 KiB chunks (a shared-drive file needs `supportsAllDrives=true`). Folders have no bytes
//!   (403 `fileNotDownloadable`, as for Google Docs).
//!
//! Failures on purpose: [`FakeDrive::fail_next`] answers the next Drive calls with a 429 and
//! `Retry-After`, a 503, or a rate-limit 403 ([`FakeDrive::fail_next_grants`] the next grants); [`FakeDrive::forbid`] makes a folder 403;
//! [`FakeDrive::revoke_tokens`] makes every issued token invalid. Every Drive call is recorded
//! ([`FakeDrive::calls`]), and so is every token it issued and grant it took, so a test can check
//! none of them appears where it must not.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

const FOLDER: &str = "application/vnd.google-apps.folder";
const SCOPE: &str = "https://www.googleapis.com/auth/drive.readonly";
const TEST_KEY: &str = include_str!("../fixtures/drive/test-key.pem");
const TEST_PUBLIC_KEY: &str = include_str!("../fixtures/drive/test-key.pub.pem");
const WRONG_KEY: &str = include_str!("../fixtures/drive/wrong-key.pem");

/// A failure the fake answers a Drive call with, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 429 with `Retry-After: N` (seconds).
    TooManyRequests { retry_after_seconds: u64 },
    /// 503.
    Unavailable,
    /// 403 `userRateLimitExceeded` (Drive's other way of saying "slow down").
    RateLimited,
}

/// One file or folder.
#[derive(Debug, Clone)]
struct Item {
    id: String,
    name: String,
    mime_type: String,
    parent: String,
    body: Option<Vec<u8>>,
    trashed: bool,
    /// On a shared drive: listed and read only with `supportsAllDrives`.
    shared_drive: bool,
    modified: String,
}

#[derive(Debug, Default)]
struct State {
    items: Vec<Item>,
    page_size: usize,
    tokens: HashSet<String>,
    issued: Vec<String>,
    assertions: Vec<String>,
    refused_grants: usize,
    /// Refresh tokens a person's login may trade (`grant_type=refresh_token`).
    refresh_tokens: HashSet<String>,
    /// Codes the consent screen gave, each with its PKCE challenge and redirect URI (used once).
    codes: HashMap<String, (String, String)>,
    /// Every code the consent screen gave, used or not.
    codes_given: Vec<String>,
    failures: VecDeque<Failure>,
    grant_failures: VecDeque<Failure>,
    failed: Vec<Failure>,
    forbidden: HashSet<String>,
    calls: Vec<String>,
    next_id: u64,
}

struct Shared {
    state: Mutex<State>,
    token_url: String,
    public_key: DecodingKey,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("token_url", &self.token_url).finish_non_exhaustive()
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Debug)]
struct Server(tokio::task::JoinHandle<()>);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The fake Drive; see the module's documentation. Clones share one server, which stops when
/// the last clone is dropped.
#[derive(Debug, Clone)]
pub struct FakeDrive {
    shared: Arc<Shared>,
    url: String,
    _server: Arc<Server>,
}

impl FakeDrive {
    /// The service account the fixture key belongs to.
    pub const EMAIL: &'static str = "storyline-test@storyline-tests.iam.gserviceaccount.com";
    /// The OAuth client a person's login is for (`grant_type=refresh_token`).
    pub const CLIENT_ID: &'static str = "1234-storyline.apps.googleusercontent.com";
    pub const CLIENT_SECRET: &'static str = "GOCSPX-fake-client-secret";
    /// The folder every fake drive starts with (the library's root).
    pub const ROOT: &'static str = "1RootFolderOfTheLibrary";

    /// Binds 127.0.0.1 on a free port and serves from a spawned task: an empty folder
    /// [`FakeDrive::ROOT`]. Must run inside a tokio runtime.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = State { page_size: 2, ..State::default() };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            token_url: format!("{url}/token"),
            public_key: DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY.as_bytes())?,
        });
        shared.state().items.push(Item {
            id: Self::ROOT.to_owned(),
            name: "Storyline library".to_owned(),
            mime_type: FOLDER.to_owned(),
            parent: "root".to_owned(),
            body: None,
            trashed: false,
            shared_drive: false,
            modified: "2026-01-01T00:00:00.000Z".to_owned(),
        });
        let app = Router::new()
            .route("/token", post(token))
            .route("/o/oauth2/v2/auth", get(consent))
            .route("/drive/v3/files", get(list))
            .route("/drive/v3/files/{id}", get(file))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("fake Drive server stopped: {error}");
            }
        });
        Ok(Self { shared, url, _server: Arc::new(Server(server)) })
    }

    /// For `DRIVE_API_URL`: `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn api_url(&self) -> String {
        self.url.clone()
    }

    /// For `GOOGLE_AUTH_URL`: the consent screen, `http://127.0.0.1:PORT/o/oauth2/v2/auth`.
    #[must_use]
    pub fn auth_url(&self) -> String {
        self.shared.token_url.replace("/token", "/o/oauth2/v2/auth")
    }

    /// Every code the consent screen gave.
    #[must_use]
    pub fn codes_given(&self) -> Vec<String> {
        self.shared.state().codes_given.clone()
    }

    /// Every refresh token a login got from the consent screen or [`FakeDrive::accept_refresh_token`].
    #[must_use]
    pub fn refresh_tokens(&self) -> Vec<String> {
        self.shared.state().refresh_tokens.iter().cloned().collect()
    }

    /// For `GOOGLE_TOKEN_URL`: `http://127.0.0.1:PORT/token`.
    #[must_use]
    pub fn token_url(&self) -> String {
        self.shared.token_url.clone()
    }

    /// The service account's JSON key, as Google Cloud gives it (the fixture key).
    #[must_use]
    pub fn service_account_key() -> SecretString {
        key_file(TEST_KEY)
    }

    /// A key for the same account whose private key is not the one Google knows.
    #[must_use]
    pub fn wrong_key() -> SecretString {
        key_file(WRONG_KEY)
    }

    /// The private key inside [`FakeDrive::service_account_key`], for checking it leaks nowhere.
    #[must_use]
    pub fn private_key_pem() -> &'static str {
        TEST_KEY
    }

    fn add(&self, parent: &str, name: &str, mime_type: &str, body: Option<Vec<u8>>, shared_drive: bool) -> String {
        let mut state = self.shared.state();
        state.next_id += 1;
        let id = format!(
            "1Id{:04}{}",
            state.next_id,
            name.bytes().filter(u8::is_ascii_alphanumeric).map(char::from).collect::<String>()
        );
        let modified = format!("2026-03-{:02}T10:00:00.000Z", 1 + state.next_id % 28);
        state.items.push(Item {
            id: id.clone(),
            name: name.to_owned(),
            mime_type: mime_type.to_owned(),
            parent: parent.to_owned(),
            body,
            trashed: false,
            shared_drive,
            modified,
        });
        id
    }

    /// A folder in `parent`; its id.
    pub fn folder(&self, parent: &str, name: &str) -> String {
        self.add(parent, name, FOLDER, None, false)
    }

    /// A file in `parent`; its id.
    pub fn file(&self, parent: &str, name: &str, mime_type: &str, body: &[u8]) -> String {
        self.add(parent, name, mime_type, Some(body.to_vec()), false)
    }

    /// A file that lives on a shared drive (the folder `parent` is one, or is in one).
    pub fn shared_drive_file(&self, parent: &str, name: &str, mime_type: &str, body: &[u8]) -> String {
        self.add(parent, name, mime_type, Some(body.to_vec()), true)
    }

    /// A Google Doc (no bytes, no size, no `md5Checksum`).
    pub fn google_doc(&self, parent: &str, name: &str) -> String {
        self.add(parent, name, "application/vnd.google-apps.document", None, false)
    }

    /// Moves an item to the bin.
    pub fn trash(&self, id: &str) {
        self.shared.state().items.iter_mut().filter(|item| item.id == id).for_each(|item| item.trashed = true);
    }

    /// At most `size` items per page (2 at first).
    pub fn set_page_size(&self, size: usize) {
        self.shared.state().page_size = size.max(1);
    }

    /// Answers the next Drive calls with these failures, in order.
    pub fn fail_next(&self, failures: &[Failure]) {
        self.shared.state().failures.extend(failures);
    }

    /// Answers the next grants (token requests) with these failures, in order; they are
    /// recorded with [`FakeDrive::failed`] too.
    pub fn fail_next_grants(&self, failures: &[Failure]) {
        self.shared.state().grant_failures.extend(failures);
    }

    /// The failures answered so far.
    #[must_use]
    pub fn failed(&self) -> Vec<Failure> {
        self.shared.state().failed.clone()
    }

    /// Every call on `id` (a listing of it, its metadata or bytes) is 403 from now on.
    pub fn forbid(&self, id: &str) {
        self.shared.state().forbidden.insert(id.to_owned());
    }

    /// `token` may be traded for access tokens by a person's login (`grant_type=refresh_token`).
    pub fn accept_refresh_token(&self, token: &str) {
        self.shared.state().refresh_tokens.insert(token.to_owned());
    }

    /// Every refresh token stops working (the person revoked Storyline's access).
    pub fn revoke_refresh_tokens(&self) {
        self.shared.state().refresh_tokens.clear();
    }

    /// Every access token issued so far stops working.
    pub fn revoke_tokens(&self) {
        self.shared.state().tokens.clear();
    }

    /// Every access token issued, in order.
    #[must_use]
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.state().issued.clone()
    }

    /// Every grant (signed JWT) taken, good or not.
    #[must_use]
    pub fn assertions(&self) -> Vec<String> {
        self.shared.state().assertions.clone()
    }

    /// How many grants were refused.
    #[must_use]
    pub fn refused_grants(&self) -> usize {
        self.shared.state().refused_grants
    }

    /// Every Drive call, as `GET /drive/v3/files?…` (path and query), in arrival order.
    #[must_use]
    pub fn calls(&self) -> Vec<String> {
        self.shared.state().calls.clone()
    }
}

fn key_file(pem: &str) -> SecretString {
    let key = json!({
        "type": "service_account",
        "project_id": "storyline-tests",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": pem,
        "client_email": FakeDrive::EMAIL,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    SecretString::from(key.to_string())
}

#[derive(Deserialize)]
struct Grant {
    grant_type: Option<String>,
    assertion: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    code: Option<String>,
    code_verifier: Option<String>,
    redirect_uri: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    scope: String,
    iat: i64,
    exp: i64,
}

fn oauth_error(error: &str, description: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": error, "error_description": description}))).into_response()
}

async fn token(AxumState(shared): AxumState<Arc<Shared>>, axum::Form(grant): axum::Form<Grant>) -> Response {
    if grant.grant_type.as_deref() == Some("refresh_token") {
        return refresh(&shared, &grant);
    }
    if grant.grant_type.as_deref() == Some("authorization_code") {
        return exchange(&shared, &grant);
    }
    if grant.grant_type.as_deref() != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return oauth_error("unsupported_grant_type", "Invalid grant_type.");
    }
    let Some(assertion) = grant.assertion else {
        return oauth_error("invalid_request", "Missing required parameter: assertion");
    };
    {
        let mut state = shared.state();
        state.assertions.push(assertion.clone());
        if let Some(failure) = state.grant_failures.pop_front() {
            state.failed.push(failure);
            return failure_response(failure);
        }
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&shared.token_url]);
    validation.set_issuer(&[FakeDrive::EMAIL]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
    let checked = jsonwebtoken::decode::<Claims>(&assertion, &shared.public_key, &validation)
        .map_err(|error| format!("Invalid JWT: {error}"))
        .and_then(|data| {
            let claims = data.claims;
            if !claims.scope.split(' ').any(|scope| scope == SCOPE) {
                return Err(format!("the grant's scope is {:?}", claims.scope));
            }
            if claims.exp - claims.iat > 3600 || claims.exp <= claims.iat {
                return Err("Invalid JWT: the token lasts more than an hour".to_owned());
            }
            Ok(())
        });
    if let Err(description) = checked {
        shared.state().refused_grants += 1;
        return oauth_error("invalid_grant", &description);
    }
    issue(&shared)
}

/// Google's consent screen, consented at once: back to `redirect_uri` with a code (for the
/// PKCE challenge given) and the state. Only for [`FakeDrive::CLIENT_ID`], offline, Drive read-only.
async fn consent(AxumState(shared): AxumState<Arc<Shared>>, Query(query): Query<HashMap<String, String>>) -> Response {
    let get = |name: &str| query.get(name).cloned().unwrap_or_default();
    let fine = get("client_id") == FakeDrive::CLIENT_ID
        && get("response_type") == "code"
        && get("scope").split(' ').any(|scope| scope == SCOPE)
        && get("access_type") == "offline"
        && get("prompt") == "consent"
        && get("code_challenge_method") == "S256"
        && !get("code_challenge").is_empty();
    let Ok(mut back) = url::Url::parse(&get("redirect_uri")) else {
        return (StatusCode::BAD_REQUEST, "redirect_uri").into_response();
    };
    if fine {
        let code = format!("4/fake-code-{:032x}", rand_u128());
        let mut state = shared.state();
        state.codes.insert(code.clone(), (get("code_challenge"), get("redirect_uri")));
        state.codes_given.push(code.clone());
        drop(state);
        back.query_pairs_mut().append_pair("code", &code);
    } else {
        back.query_pairs_mut().append_pair("error", "invalid_request");
    }
    back.query_pairs_mut().append_pair("state", &get("state"));
    (StatusCode::FOUND, [(axum::http::header::LOCATION, back.to_string())]).into_response()
}

/// A code from [`consent`], once, with the verifier whose S256 is its challenge, the same
/// redirect URI and the client: an access token and a new refresh token.
fn exchange(shared: &Shared, grant: &Grant) -> Response {
    use base64::Engine as _;
    use sha2::Digest as _;
    let client = grant.client_id.as_deref() == Some(FakeDrive::CLIENT_ID)
        && grant.client_secret.as_deref() == Some(FakeDrive::CLIENT_SECRET);
    if !client {
        return oauth_error("invalid_client", "The OAuth client was not found.");
    }
    let Some((challenge, redirect)) = grant.code.as_ref().and_then(|code| shared.state().codes.remove(code)) else {
        return oauth_error("invalid_grant", "Malformed auth code.");
    };
    let verifier = grant.code_verifier.clone().unwrap_or_default();
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    if computed != challenge || grant.redirect_uri.as_deref() != Some(redirect.as_str()) {
        return oauth_error("invalid_grant", "Invalid code verifier or redirect URI.");
    }
    let refresh_token = format!("1//fake-refresh-{:032x}", rand_u128());
    let access_token = format!("ya29.fake-{:032x}", rand_u128());
    let mut state = shared.state();
    state.refresh_tokens.insert(refresh_token.clone());
    state.tokens.insert(access_token.clone());
    state.issued.push(access_token.clone());
    axum::Json(json!({
        "access_token": access_token, "refresh_token": refresh_token, "expires_in": 3599,
        "scope": SCOPE, "token_type": "Bearer"
    }))
    .into_response()
}

/// A new random access token (an hour).
fn issue(shared: &Shared) -> Response {
    let access_token = format!("ya29.fake-{:032x}", rand_u128());
    let mut state = shared.state();
    state.tokens.insert(access_token.clone());
    state.issued.push(access_token.clone());
    axum::Json(json!({"access_token": access_token, "expires_in": 3599, "token_type": "Bearer"})).into_response()
}

/// A person's login: the refresh token must be one [`FakeDrive::accept_refresh_token`] named,
/// for [`FakeDrive::CLIENT_ID`] with its secret.
fn refresh(shared: &Shared, grant: &Grant) -> Response {
    let client = grant.client_id.as_deref() == Some(FakeDrive::CLIENT_ID)
        && grant.client_secret.as_deref() == Some(FakeDrive::CLIENT_SECRET);
    if !client {
        return oauth_error("invalid_client", "The OAuth client was not found.");
    }
    let known = grant.refresh_token.as_ref().is_some_and(|token| shared.state().refresh_tokens.contains(token));
    if !known {
        shared.state().refused_grants += 1;
        return oauth_error("invalid_grant", "Token has been expired or revoked.");
    }
    issue(shared)
}

/// Random enough for tokens a test must not guess (no `rand` dependency here).
fn rand_u128() -> u128 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut value = 0_u128;
    for _ in 0..2 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(value);
        value = (value << 64) | u128::from(hasher.finish());
    }
    value
}

fn api_error(status: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({"error": {"code": status.as_u16(), "message": message, "errors": [{"domain": "global", "reason": reason, "message": message}]}});
    (status, axum::Json(body)).into_response()
}

/// Records the call, checks the token, answers an injected failure: the response to give
/// instead of the real one, if any.
fn gate(shared: &Shared, headers: &HeaderMap, call: String) -> Option<Response> {
    let mut state = shared.state();
    state.calls.push(call);
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if !token.is_some_and(|token| state.tokens.contains(token)) {
        return Some(api_error(
            StatusCode::UNAUTHORIZED,
            "authError",
            "Request had invalid authentication credentials.",
        ));
    }
    let failure = state.failures.pop_front()?;
    state.failed.push(failure);
    Some(failure_response(failure))
}

fn failure_response(failure: Failure) -> Response {
    match failure {
        Failure::TooManyRequests { retry_after_seconds } => {
            let mut response = api_error(StatusCode::TOO_MANY_REQUESTS, "rateLimitExceeded", "Rate Limit Exceeded");
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, retry_after_seconds.into());
            response
        }
        Failure::Unavailable => api_error(StatusCode::SERVICE_UNAVAILABLE, "backendError", "Backend Error"),
        Failure::RateLimited => api_error(StatusCode::FORBIDDEN, "userRateLimitExceeded", "User Rate Limit Exceeded"),
    }
}

fn call_line(path: &str, query: &HashMap<String, String>) -> String {
    let mut pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort();
    format!("GET {path}?{}", pairs.join("&"))
}

/// The clauses of a files.list query the adapter sends.
#[derive(Debug, Default)]
struct Filter {
    parent: Option<String>,
    not_trashed: bool,
    name: Option<String>,
}

/// A quoted string at the start of `text`: its value and the rest.
fn quoted(text: &str) -> Option<(String, &str)> {
    let mut chars = text.strip_prefix('\'')?.char_indices();
    let mut value = String::new();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => value.push(chars.next()?.1),
            '\'' => return Some((value, &text[at + 2..])),
            other => value.push(other),
        }
    }
    None
}

fn parse_query(q: &str) -> Result<Filter, String> {
    let mut filter = Filter::default();
    let mut rest = q.trim();
    loop {
        if let Some(after) = rest.strip_prefix("trashed = false") {
            filter.not_trashed = true;
            rest = after;
        } else if let Some(after) = rest.strip_prefix("name = ") {
            let (name, after) = quoted(after).ok_or("a name that is not a quoted string")?;
            filter.name = Some(name);
            rest = after;
        } else if rest.starts_with('\'') {
            let (id, after) = quoted(rest).ok_or("an unterminated string")?;
            rest = after.trim_start().strip_prefix("in parents").ok_or("a string that is not 'x' in parents")?;
            // `root` is My Drive's top: the library's root folder here.
            filter.parent = Some(if id == "root" { FakeDrive::ROOT.to_owned() } else { id });
        } else {
            return Err(format!("a clause the fake does not know: {rest:?}"));
        }
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(filter);
        }
        rest = rest.strip_prefix("and ").ok_or("clauses not joined by 'and'")?.trim_start();
    }
}

/// The fields asked for inside `files(…)`.
fn file_fields(fields: &str) -> Vec<String> {
    fields
        .split_once("files(")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(inside, _)| inside.split(',').map(|f| f.trim().to_owned()).collect())
        .unwrap_or_default()
}

fn shown(item: &Item, fields: &[String]) -> Value {
    let mut all = json!({
        "id": item.id,
        "name": item.name,
        "mimeType": item.mime_type,
        "modifiedTime": item.modified,
        "trashed": item.trashed,
    });
    if let Some(body) = &item.body
        && !item.mime_type.starts_with("application/vnd.google-apps.")
    {
        all["size"] = json!(body.len().to_string());
        all["md5Checksum"] = json!(md5_like(body));
    }
    let mut out = serde_json::Map::new();
    for field in fields {
        if let Some(value) = all.get(field) {
            out.insert(field.clone(), value.clone());
        }
    }
    Value::Object(out)
}

/// A stand-in for MD5 (32 hex digits that change with the content: FNV-1a, 128-bit, so no hash
/// crate is needed here); the adapter treats the checksum as opaque.
fn md5_like(body: &[u8]) -> String {
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for byte in body {
        hash ^= u128::from(*byte);
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
    }
    format!("{hash:032x}")
}

fn flag(query: &HashMap<String, String>, name: &str) -> bool {
    query.get(name).is_some_and(|value| value == "true")
}

async fn list(
    AxumState(shared): AxumState<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(response) = gate(&shared, &headers, call_line("/drive/v3/files", &query)) {
        return response;
    }
    let filter = match parse_query(query.get("q").map_or("", String::as_str)) {
        Ok(filter) => filter,
        Err(problem) => return api_error(StatusCode::BAD_REQUEST, "invalid", &format!("Invalid Value: {problem}")),
    };
    let all_drives = flag(&query, "supportsAllDrives") && flag(&query, "includeItemsFromAllDrives");
    let state = shared.state();
    if let Some(parent) = &filter.parent {
        if state.forbidden.contains(parent) {
            return api_error(
                StatusCode::FORBIDDEN,
                "insufficientFilePermissions",
                "The user does not have sufficient permissions for this file.",
            );
        }
        if !state.items.iter().any(|item| &item.id == parent && item.mime_type == FOLDER) {
            return api_error(StatusCode::NOT_FOUND, "notFound", &format!("File not found: {parent}."));
        }
    }
    let matching: Vec<&Item> = state
        .items
        .iter()
        .filter(|item| filter.parent.as_ref().is_none_or(|parent| &item.parent == parent))
        .filter(|item| !(filter.not_trashed && item.trashed))
        .filter(|item| filter.name.as_ref().is_none_or(|name| &item.name == name))
        .filter(|item| all_drives || !item.shared_drive)
        .collect();
    let asked: usize = query.get("pageSize").and_then(|size| size.parse().ok()).unwrap_or(100);
    let size = asked.clamp(1, 1000).min(state.page_size);
    let start = match query.get("pageToken") {
        None => 0,
        Some(token) => match token.strip_prefix("page-").and_then(|at| at.parse::<usize>().ok()) {
            Some(at) if at <= matching.len() => at,
            _ => return api_error(StatusCode::BAD_REQUEST, "invalid", "Invalid Value: pageToken"),
        },
    };
    let end = (start + size).min(matching.len());
    let fields = query.get("fields").map_or("", String::as_str);
    let wanted = file_fields(fields);
    let files: Vec<Value> = matching[start..end].iter().map(|item| shown(item, &wanted)).collect();
    let mut body = json!({"files": files});
    if end < matching.len() && fields.contains("nextPageToken") {
        body["nextPageToken"] = json!(format!("page-{end}"));
    }
    axum::Json(body).into_response()
}

async fn file(
    AxumState(shared): AxumState<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(response) = gate(&shared, &headers, call_line(&format!("/drive/v3/files/{id}"), &query)) {
        return response;
    }
    let state = shared.state();
    if state.forbidden.contains(&id) {
        return api_error(
            StatusCode::FORBIDDEN,
            "insufficientFilePermissions",
            "The user does not have sufficient permissions for this file.",
        );
    }
    let found = state
        .items
        .iter()
        .find(|item| item.id == id)
        .filter(|item| !item.shared_drive || flag(&query, "supportsAllDrives"));
    let Some(item) = found else {
        return api_error(StatusCode::NOT_FOUND, "notFound", &format!("File not found: {id}."));
    };
    if query.get("alt").map(String::as_str) != Some("media") {
        let fields: Vec<String> =
            query.get("fields").map_or("id,name,mimeType", String::as_str).split(',').map(str::to_owned).collect();
        return axum::Json(shown(item, &fields)).into_response();
    }
    let Some(body) = item.body.clone().filter(|_| !item.mime_type.starts_with("application/vnd.google-apps.")) else {
        return api_error(
            StatusCode::FORBIDDEN,
            "fileNotDownloadable",
            "Only files with binary content can be downloaded.",
        );
    };
    let length = body.len();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body.chunks(64 * 1024).map(|chunk| Ok(chunk.to_vec())).collect();
    let mut response = Response::new(Body::from_stream(futures::stream::iter(chunks)));
    let headers = response.headers_mut();
    headers.insert(axum::http::header::CONTENT_LENGTH, length.into());
    if let Ok(value) = item.mime_type.parse() {
        headers.insert(axum::http::header::CONTENT_TYPE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_like_drive_reads_them() {
        let filter = parse_query(r"'1Abc' in parents and trashed = false and name = 'it\'s'").expect("parses");
        assert_eq!(filter.parent.as_deref(), Some("1Abc"));
        assert!(filter.not_trashed);
        assert_eq!(filter.name.as_deref(), Some("it's"));
        assert!(parse_query("mimeType = 'x'").is_err());
        assert_eq!(file_fields("nextPageToken,files(id,name, size)"), ["id", "name", "size"]);
    }
}
