//! Typed configuration. Read once at start-up from the environment (and `.env`); nothing else in
//! Storyline reads the environment. The settings defaults only seed new workspaces (FEATURES S4):
//! after that the database is the source of truth.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;
use storyline_application::bot::RateLimits;
use storyline_crypto::Keyring;
use storyline_domain::ChatId;
use storyline_domain::settings::{Hour, PostingWindow, PostsPerDay, SettingsDefaults, parse_time_zone};
use storyline_domain::user::TelegramUserId;

mod webhook;
pub use webhook::{WebhookConfig, shown_url};

/// The SQLite file in the working directory: where the data lived by default before 0.2, and
/// where it still lives when that file exists or no per-user data folder is known.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://storyline.db";
/// The database file's name, in the per-user data folder or the working directory.
pub const DATABASE_FILE: &str = "storyline.db";

/// Where `DATABASE_URL` came from, so that Storyline can say where its data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseOrigin {
    /// `DATABASE_URL` was set.
    Variable,
    /// Unset: `storyline.db` in the per-user data folder (created on first use).
    DataDir(std::path::PathBuf),
    /// Unset: `storyline.db` in the working directory (it was there already, or no per-user
    /// data folder is known).
    WorkingDirectory,
}

/// Everything Storyline reads from its environment.
#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub database_origin: DatabaseOrigin,
    pub defaults: SettingsDefaults,
    pub log_format: LogFormat,
    /// `TELEGRAM_BOT_TOKEN`: needed by `storyline run` only.
    pub telegram_token: Option<SecretString>,
    /// `TELEGRAM_CHAT_ID`: the team chat, needed by `storyline run` only.
    pub telegram_chat: Option<ChatId>,
    /// `TELEGRAM_API_URL`: a self-hosted Bot API server instead of Telegram's.
    pub telegram_api_url: Option<String>,
    /// `ADMIN_TELEGRAM_USER_IDS`: people who are admins in every workspace.
    pub admin_ids: HashSet<TelegramUserId>,
    /// `INIT_ALLOWED_USER_IDS`: who may create a workspace with `/init` (without
    /// `TELEGRAM_CHAT_ID`); `None`: anyone.
    pub init_allowed: Option<HashSet<TelegramUserId>>,
    /// `MEDIA_DIR`: the local media library the posting loop reads (default `media`).
    pub media_dir: std::path::PathBuf,
    /// `HTTP_ADDR`: where `/healthz` is served while running; off when unset.
    pub http_addr: Option<std::net::SocketAddr>,
    /// `POSTING_INTERVAL_SECONDS`: how often the posting loop looks for due stories (default 60).
    pub posting_interval: std::time::Duration,
    /// `SEND_LEASE_SECONDS`: how long a claimed story stays with the process sending it before
    /// another may take it over (default 300).
    pub send_lease: std::time::Duration,
    /// `ENCRYPTION_KEYS` (newest first) or `ENCRYPTION_KEY`: seals Instagram tokens at rest.
    pub keyring: Option<Arc<Keyring>>,
    /// `GRAPH_API_URL`: a stand-in for both Graph API hosts (tests, proxies).
    pub graph_api_url: Option<String>,
    /// `FACEBOOK_APP_ID` and `FACEBOOK_APP_SECRET`: refresh Facebook Login tokens, and connect
    /// accounts by Facebook Login.
    pub facebook_app: Option<(String, SecretString)>,
    /// `INSTAGRAM_APP_ID` and `INSTAGRAM_APP_SECRET`: connect accounts by Instagram Login.
    pub instagram_app: Option<(String, SecretString)>,
    /// `META_LOGIN_URL`: a stand-in for www.instagram.com and www.facebook.com, where the login
    /// dialogs are (tests, proxies).
    pub meta_login_url: Option<String>,
    /// `GOOGLE_CLIENT_ID` and `GOOGLE_CLIENT_SECRET`: "Log in with Google" for Drive sources.
    pub google_client: Option<(String, SecretString)>,
    /// `GOOGLE_AUTH_URL`: a stand-in for Google's consent screen (tests, proxies).
    pub google_auth_url: Option<String>,
    /// `PUBLIC_BASE_URL`: where Meta fetches media from this server (signed, expiring URLs).
    pub public_base_url: Option<String>,
    /// `TOKEN_REFRESH_INTERVAL_HOURS`: how often the token refresh job runs (default 24).
    pub token_refresh_interval: std::time::Duration,
    /// `DRIVE_API_URL`: a stand-in for www.googleapis.com, where Drive media sources are read
    /// (tests, proxies).
    pub drive_api_url: Option<String>,
    /// `GOOGLE_TOKEN_URL`: a stand-in for Google's OAuth token endpoint, where a Drive service
    /// account trades its signed grant for an access token (tests, proxies).
    pub google_token_url: Option<String>,
    /// `SYNC_INTERVAL_MINUTES`: how often each workspace's library is synced with its media
    /// source (default 15).
    pub sync_interval: std::time::Duration,
    /// `RATE_LIMIT_PERSON_PER_MINUTE` and `RATE_LIMIT_CHAT_PER_MINUTE`: how many commands and
    /// button presses one person in a chat, and one chat, may send a minute (default 30 and 120;
    /// 0 turns a limit off).
    pub rate_limits: RateLimits,
    /// `WEBHOOK_URL` and `WEBHOOK_SECRET`: webhook mode; `None`: long polling.
    pub webhook: Option<WebhookConfig>,
}

/// What `storyline run` needs to reach Telegram.
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    pub token: SecretString,
    /// The one team chat (single-team mode); `None`: every chat that runs `/init`.
    pub chat: Option<ChatId>,
    pub api_url: Option<String>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The database URL may carry a password: show only its scheme and host part.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database", &redact_url(&self.database_url))
            .field("database_origin", &self.database_origin)
            .field("defaults", &self.defaults)
            .field("log_format", &self.log_format)
            .field("telegram_token", &self.telegram_token.as_ref().map(|_| "[REDACTED]"))
            .field("telegram_chat", &self.telegram_chat)
            .field("telegram_api_url", &self.telegram_api_url)
            .field("admin_ids", &self.admin_ids)
            .field("init_allowed", &self.init_allowed)
            .field("media_dir", &self.media_dir)
            .field("http_addr", &self.http_addr)
            .field("posting_interval", &self.posting_interval)
            .field("send_lease", &self.send_lease)
            .field("keyring", &self.keyring)
            .field("graph_api_url", &self.graph_api_url)
            .field("facebook_app", &self.facebook_app.as_ref().map(|(id, _)| (id, "[REDACTED]")))
            .field("instagram_app", &self.instagram_app.as_ref().map(|(id, _)| (id, "[REDACTED]")))
            .field("meta_login_url", &self.meta_login_url)
            .field("google_client", &self.google_client.as_ref().map(|(id, _)| (id, "[REDACTED]")))
            .field("google_auth_url", &self.google_auth_url)
            .field("public_base_url", &self.public_base_url)
            .field("token_refresh_interval", &self.token_refresh_interval)
            .field("drive_api_url", &self.drive_api_url)
            .field("google_token_url", &self.google_token_url)
            .field("sync_interval", &self.sync_interval)
            .field("webhook", &self.webhook)
            .finish()
    }
}

/// A database URL fit to show: `postgres://user:secret@host/db?password=x` →
/// `postgres://user:***@host/db?password=***`. A URL that does not parse is not shown at all.
#[must_use]
pub fn redact_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return "(a database URL that does not parse)".to_owned();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let secret = key.to_ascii_lowercase().contains("password");
                (key.into_owned(), if secret { "***".to_owned() } else { value.into_owned() })
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// A variable with a value Storyline cannot use. The message names it and says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable} {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl Config {
    /// What `run` needs beyond what every command reads (`HTTP_ADDR` in webhook mode).
    ///
    /// # Errors
    /// The variable missing, and what to set it to.
    pub fn check_for_run(&self) -> Result<(), ConfigError> {
        webhook::needs_http_addr(self.webhook.as_ref(), self.http_addr.is_some())
    }

    /// Reads the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable with an unusable value.
    pub fn from_env() -> Result<Self, ConfigError> {
        let config = Self::from_lookup(|name| std::env::var(name).ok())?;
        let data_dir = directories::ProjectDirs::from("", "", "storyline").map(|d| d.data_dir().to_path_buf());
        Ok(config.with_default_location(std::path::Path::new(DATABASE_FILE).exists(), data_dir))
    }

    /// With `DATABASE_URL` unset: `storyline.db` in the working directory when it is there
    /// (existing installations keep their data), else in the per-user `data_dir`.
    #[must_use]
    pub fn with_default_location(mut self, in_working_directory: bool, data_dir: Option<std::path::PathBuf>) -> Self {
        if self.database_origin != DatabaseOrigin::WorkingDirectory || in_working_directory {
            return self;
        }
        if let Some(dir) = data_dir {
            self.database_url = format!("sqlite://{}", dir.join(DATABASE_FILE).display());
            self.database_origin = DatabaseOrigin::DataDir(dir);
        }
        self
    }

    /// Where the data lives, for people: the SQLite file's full path or the PostgreSQL URL
    /// without its password, and why there.
    #[must_use]
    pub fn database_location(&self) -> String {
        let place = match self.database_url.strip_prefix("sqlite:") {
            Some(rest) => {
                let file = rest.trim_start_matches("//").split('?').next().unwrap_or_default();
                let path = std::path::Path::new(file);
                let full = if path.is_relative() {
                    std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path))
                } else {
                    path.to_path_buf()
                };
                format!("SQLite file {}", full.display())
            }
            None => format!("PostgreSQL {}", redact_url(&self.database_url)),
        };
        let why = match &self.database_origin {
            DatabaseOrigin::Variable => "from DATABASE_URL",
            DatabaseOrigin::DataDir(_) => "the default; set DATABASE_URL for another",
            DatabaseOrigin::WorkingDirectory => "in the working directory; set DATABASE_URL for another",
        };
        format!("{place} ({why})")
    }

    /// Reads variables through `lookup` (the environment, or a map in tests). Unset and empty
    /// variables take their defaults.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable with an unusable value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let fallback = SettingsDefaults::default();

        let (database_url, database_origin) = match get("DATABASE_URL") {
            Some(url) => (url, DatabaseOrigin::Variable),
            None => (DEFAULT_DATABASE_URL.to_owned(), DatabaseOrigin::WorkingDirectory),
        };
        if !["sqlite:", "postgres://", "postgresql://"].iter().any(|p| database_url.starts_with(p)) {
            return Err(ConfigError {
                variable: "DATABASE_URL",
                problem:
                    "must start with sqlite: or postgres:// (unset, it is storyline.db in the per-user data folder)"
                        .to_owned(),
            });
        }
        let dry_run = flag("DRY_RUN_MODE", get("DRY_RUN_MODE"), fallback.dry_run)?;
        let instagram_api = flag("ENABLE_INSTAGRAM_API", get("ENABLE_INSTAGRAM_API"), fallback.instagram_api)?;
        let posts_per_day = match get("POSTS_PER_DAY") {
            None => fallback.posts_per_day,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .and_then(|n| PostsPerDay::try_from_i64(n).ok())
                .ok_or_else(|| invalid("POSTS_PER_DAY", "a whole number from 1 to 50", &text))?,
        };
        let start = hour("POSTING_HOURS_START", get("POSTING_HOURS_START"), fallback.window.start())?;
        let end = hour("POSTING_HOURS_END", get("POSTING_HOURS_END"), fallback.window.end())?;
        let window = PostingWindow::new(start, end).map_err(|_| ConfigError {
            variable: "POSTING_HOURS_END",
            problem: format!("must differ from POSTING_HOURS_START (both are {})", start.get()),
        })?;
        let time_zone = match get("POSTING_TIMEZONE") {
            None => fallback.time_zone,
            Some(text) => parse_time_zone(&text)
                .map_err(|e| ConfigError { variable: "POSTING_TIMEZONE", problem: format!("is invalid: {e}") })?,
        };
        let log_format = match get("LOG_FORMAT").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(invalid("LOG_FORMAT", "text or json", other)),
        };
        let telegram_chat = match get("TELEGRAM_CHAT_ID") {
            None => None,
            Some(text) => Some(ChatId(text.parse::<i64>().map_err(|_| {
                invalid("TELEGRAM_CHAT_ID", "a Telegram chat id (a whole number; groups are negative)", &text)
            })?)),
        };
        let telegram_api_url = get("TELEGRAM_API_URL");
        if let Some(url) = &telegram_api_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(invalid("TELEGRAM_API_URL", "an http:// or https:// URL", url));
        }
        let admin_ids = match get("ADMIN_TELEGRAM_USER_IDS") {
            None => HashSet::new(),
            Some(text) => user_ids("ADMIN_TELEGRAM_USER_IDS", &text)?,
        };
        let init_allowed =
            get("INIT_ALLOWED_USER_IDS").map(|text| user_ids("INIT_ALLOWED_USER_IDS", &text)).transpose()?;
        let http_addr = match get("HTTP_ADDR") {
            None => None,
            Some(text) => Some(
                text.parse::<std::net::SocketAddr>()
                    .map_err(|_| invalid("HTTP_ADDR", "an address with a port, like 127.0.0.1:8080", &text))?,
            ),
        };
        let posting_interval = match get("POSTING_INTERVAL_SECONDS") {
            None => 60,
            Some(text) => text.parse::<u64>().ok().filter(|s| (1..=3600).contains(s)).ok_or_else(|| {
                invalid("POSTING_INTERVAL_SECONDS", "a whole number of seconds from 1 to 3600", &text)
            })?,
        };
        let send_lease = match get("SEND_LEASE_SECONDS") {
            None => 300,
            Some(text) => text
                .parse::<u64>()
                .ok()
                .filter(|s| (5..=3600).contains(s))
                .ok_or_else(|| invalid("SEND_LEASE_SECONDS", "a whole number of seconds from 5 to 3600", &text))?,
        };
        let keyring = match (get("ENCRYPTION_KEYS"), get("ENCRYPTION_KEY")) {
            (Some(_), Some(_)) => {
                return Err(ConfigError {
                    variable: "ENCRYPTION_KEYS",
                    problem: "and ENCRYPTION_KEY are both set: set ENCRYPTION_KEYS (newest first) while rotating, else ENCRYPTION_KEY".to_owned(),
                });
            }
            (Some(keys), None) => Some(keyring("ENCRYPTION_KEYS", &keys)?),
            (None, Some(key)) => Some(keyring("ENCRYPTION_KEY", &key)?),
            (None, None) => None,
        };
        let graph_api_url = url_var("GRAPH_API_URL", get("GRAPH_API_URL"))?;
        let public_base_url = url_var("PUBLIC_BASE_URL", get("PUBLIC_BASE_URL"))?;
        let drive_api_url = url_var("DRIVE_API_URL", get("DRIVE_API_URL"))?;
        let google_token_url = url_var("GOOGLE_TOKEN_URL", get("GOOGLE_TOKEN_URL"))?;
        let facebook_app = client_pair(&get, "FACEBOOK_APP_ID", "FACEBOOK_APP_SECRET", META_ID)?;
        let instagram_app = client_pair(&get, "INSTAGRAM_APP_ID", "INSTAGRAM_APP_SECRET", META_ID)?;
        let meta_login_url = url_var("META_LOGIN_URL", get("META_LOGIN_URL"))?;
        let google_client = client_pair(&get, "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", GOOGLE_ID)?;
        let google_auth_url = url_var("GOOGLE_AUTH_URL", get("GOOGLE_AUTH_URL"))?;
        let refresh_hours = match get("TOKEN_REFRESH_INTERVAL_HOURS") {
            None => 24,
            Some(text) => text.parse::<u64>().ok().filter(|h| (1..=168).contains(h)).ok_or_else(|| {
                invalid("TOKEN_REFRESH_INTERVAL_HOURS", "a whole number of hours from 1 to 168", &text)
            })?,
        };
        let sync_minutes =
            match get("SYNC_INTERVAL_MINUTES") {
                None => 15,
                Some(text) => text.parse::<u64>().ok().filter(|m| (1..=1440).contains(m)).ok_or_else(|| {
                    invalid("SYNC_INTERVAL_MINUTES", "a whole number of minutes from 1 to 1440", &text)
                })?,
            };
        let person_rate = per_minute(
            "RATE_LIMIT_PERSON_PER_MINUTE",
            get("RATE_LIMIT_PERSON_PER_MINUTE"),
            RateLimits::DEFAULT_PERSON_PER_MINUTE,
        )?;
        let chat_rate = per_minute(
            "RATE_LIMIT_CHAT_PER_MINUTE",
            get("RATE_LIMIT_CHAT_PER_MINUTE"),
            RateLimits::DEFAULT_CHAT_PER_MINUTE,
        )?;
        let webhook = webhook::read(get("WEBHOOK_URL"), get("WEBHOOK_SECRET"))?;
        Ok(Self {
            webhook,
            rate_limits: RateLimits::per_minute(person_rate, chat_rate),
            drive_api_url,
            google_token_url,
            sync_interval: std::time::Duration::from_secs(sync_minutes * 60),
            keyring,
            graph_api_url,
            facebook_app,
            instagram_app,
            meta_login_url,
            google_client,
            google_auth_url,
            public_base_url,
            token_refresh_interval: std::time::Duration::from_secs(refresh_hours * 3600),
            posting_interval: std::time::Duration::from_secs(posting_interval),
            send_lease: std::time::Duration::from_secs(send_lease),
            media_dir: get("MEDIA_DIR").map_or_else(|| "media".into(), Into::into),
            http_addr,
            database_url,
            database_origin,
            defaults: SettingsDefaults { dry_run, instagram_api, posts_per_day, window, time_zone },
            log_format,
            telegram_token: get("TELEGRAM_BOT_TOKEN").map(SecretString::from),
            telegram_chat,
            telegram_api_url,
            admin_ids,
            init_allowed,
        })
    }

    /// Whether this deployment serves many workspaces: a bot token without `TELEGRAM_CHAT_ID`.
    /// Each workspace's default media folder is then its own inside `MEDIA_DIR`, for the bot
    /// and for the command line alike; without a token (the console) there is one.
    #[must_use]
    pub const fn serves_many(&self) -> bool {
        self.telegram_token.is_some() && self.telegram_chat.is_none()
    }

    /// What `storyline run` needs to reach Telegram.
    ///
    /// # Errors
    /// [`ConfigError`] naming the missing variable.
    pub fn telegram(&self) -> Result<TelegramConfig, ConfigError> {
        let token = self.telegram_token.clone().ok_or(ConfigError {
            variable: "TELEGRAM_BOT_TOKEN",
            problem: "is not set: create a bot with @BotFather and set its token (or try `storyline console`)"
                .to_owned(),
        })?;
        Ok(TelegramConfig { token, chat: self.telegram_chat, api_url: self.telegram_api_url.clone() })
    }
}

/// Telegram user ids separated by commas.
fn user_ids(variable: &'static str, text: &str) -> Result<HashSet<TelegramUserId>, ConfigError> {
    text.split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| id.parse::<i64>().map(TelegramUserId))
        .collect::<Result<_, _>>()
        .map_err(|_| invalid(variable, "Telegram user ids separated by commas", text))
}

/// A key ring from configured keys; the message names the variable and the key's position, never
/// the key.
fn keyring(variable: &'static str, text: &str) -> Result<Arc<Keyring>, ConfigError> {
    Keyring::parse(text).map(Arc::new).map_err(|e| ConfigError { variable, problem: format!("is unusable: {e}") })
}

/// What an app's or OAuth client's id must look like, and how to say so.
struct ClientId {
    valid: fn(&str) -> bool,
    allowed: &'static str,
}

/// A Meta app's id: a number.
const META_ID: ClientId =
    ClientId { valid: |id| id.bytes().all(|b| b.is_ascii_digit()), allowed: "the app's numeric id" };
/// A Google OAuth client's id (`1234-abc.apps.googleusercontent.com`): anything without spaces.
const GOOGLE_ID: ClientId =
    ClientId { valid: |id| !id.contains(char::is_whitespace), allowed: "an OAuth client id without spaces" };

/// An app or OAuth client from its id and secret variables: both or neither, the id as `id`
/// says.
fn client_pair(
    get: &impl Fn(&str) -> Option<String>,
    id_var: &'static str,
    secret_var: &'static str,
    id: ClientId,
) -> Result<Option<(String, SecretString)>, ConfigError> {
    match (get(id_var), get(secret_var)) {
        (Some(given), Some(secret)) if (id.valid)(&given) => Ok(Some((given, SecretString::from(secret)))),
        (Some(given), Some(_)) => Err(invalid(id_var, id.allowed, &given)),
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError {
            variable: secret_var,
            problem: format!("is not set, but {id_var} is: set both or neither"),
        }),
        (None, Some(_)) => Err(ConfigError {
            variable: id_var,
            problem: format!("is not set, but {secret_var} is: set both or neither"),
        }),
    }
}

fn url_var(variable: &'static str, value: Option<String>) -> Result<Option<String>, ConfigError> {
    match value {
        Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
            Err(invalid(variable, "an http:// or https:// URL", &url))
        }
        other => Ok(other.map(|u| u.trim_end_matches('/').to_owned())),
    }
}

fn invalid(variable: &'static str, allowed: &str, got: &str) -> ConfigError {
    let shown: String = got.chars().take(40).collect();
    ConfigError { variable, problem: format!("must be {allowed}, not {shown:?}") }
}

fn flag(variable: &'static str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match value.map(|v| v.to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(invalid(variable, "true or false", other)),
    }
}

/// The most a rate limit may allow a minute: 100 a second.
const MAX_PER_MINUTE: u32 = 6000;

fn per_minute(variable: &'static str, value: Option<String>, default: u32) -> Result<u32, ConfigError> {
    match value {
        None => Ok(default),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= MAX_PER_MINUTE)
            .ok_or_else(|| invalid(variable, "a whole number a minute from 0 (no limit) to 6000", &text)),
    }
}

fn hour(variable: &'static str, value: Option<String>, default: Hour) -> Result<Hour, ConfigError> {
    match value {
        None => Ok(default),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .and_then(|n| Hour::try_from_i64(n).ok())
            .ok_or_else(|| invalid(variable, "a whole number from 0 to 23", &text)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn a_database_url_is_shown_without_any_password() {
        for (url, shown) in [
            ("postgres://u:p@db/x", "postgres://u:***@db/x"),
            ("postgres://u:p@ss@db/x", "postgres://u:***@db/x"),
            ("postgres://db/x?user=u&password=S3cret", "postgres://db/x?user=u&password=***"),
            ("postgres://db/x?sslpassword=S3cret&sslmode=require", "postgres://db/x?sslpassword=***&sslmode=require"),
            ("sqlite://storyline.db", "sqlite://storyline.db"),
            ("not a url with S3cret", "(a database URL that does not parse)"),
        ] {
            assert_eq!(redact_url(url), shown);
            assert!(!redact_url(url).contains("S3cret") && !redact_url(url).contains(":p@"), "{url}");
        }
    }

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn with_nothing_set_storyline_uses_sqlite_and_the_seed_defaults() -> Result<(), ConfigError> {
        let config = config(&[])?;
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.defaults, SettingsDefaults::default());
        assert!(config.telegram_token.is_none() && config.telegram_chat.is_none() && config.admin_ids.is_empty());
        assert_eq!(config.rate_limits, RateLimits::per_minute(30, 120));
        assert_eq!(config.send_lease, std::time::Duration::from_secs(300));
        Ok(())
    }

    #[test]
    fn unset_the_database_is_the_working_directorys_file_if_it_is_there_else_the_per_user_one()
    -> Result<(), ConfigError> {
        let data = std::path::PathBuf::from("/home/ada/.local/share/storyline");
        let fresh = config(&[])?.with_default_location(false, Some(data.clone()));
        assert_eq!(fresh.database_url, "sqlite:///home/ada/.local/share/storyline/storyline.db");
        assert_eq!(fresh.database_origin, DatabaseOrigin::DataDir(data.clone()));
        assert!(fresh.database_location().starts_with("SQLite file /home/ada/.local/share/storyline/storyline.db"));
        let existing = config(&[])?.with_default_location(true, Some(data.clone()));
        assert_eq!(existing.database_url, DEFAULT_DATABASE_URL);
        assert!(existing.database_location().contains("in the working directory"), "{}", existing.database_location());
        let homeless = config(&[])?.with_default_location(false, None);
        assert_eq!(homeless.database_url, DEFAULT_DATABASE_URL);
        let chosen = config(&[("DATABASE_URL", "postgres://u:pw@db/x")])?.with_default_location(false, Some(data));
        assert_eq!(chosen.database_url, "postgres://u:pw@db/x");
        assert_eq!(chosen.database_location(), "PostgreSQL postgres://u:***@db/x (from DATABASE_URL)");
        Ok(())
    }

    #[test]
    fn every_variable_is_read() -> Result<(), ConfigError> {
        let config = config(&[
            ("DATABASE_URL", "postgres://u@h/db"),
            ("DRY_RUN_MODE", "false"),
            ("ENABLE_INSTAGRAM_API", "on"),
            ("POSTS_PER_DAY", "12"),
            ("POSTING_HOURS_START", "22"),
            ("POSTING_HOURS_END", "3"),
            ("POSTING_TIMEZONE", "Europe/Berlin"),
            ("LOG_FORMAT", "JSON"),
            ("RATE_LIMIT_PERSON_PER_MINUTE", "0"),
            ("RATE_LIMIT_CHAT_PER_MINUTE", "600"),
            ("SEND_LEASE_SECONDS", "45"),
        ])?;
        assert_eq!(config.rate_limits, RateLimits::per_minute(0, 600));
        assert_eq!(config.send_lease, std::time::Duration::from_secs(45));
        assert!(config.rate_limits.person.is_none(), "0 turns it off");
        assert!(!config.defaults.dry_run && config.defaults.instagram_api);
        assert_eq!(config.defaults.posts_per_day.get(), 12);
        assert!(config.defaults.window.wraps_midnight());
        assert_eq!(config.defaults.time_zone, chrono_tz::Europe::Berlin);
        assert_eq!(config.log_format, LogFormat::Json);
        Ok(())
    }

    #[test]
    fn a_bad_value_is_one_line_naming_the_variable_and_what_is_allowed() {
        for (vars, expected) in [
            (vec![("POSTS_PER_DAY", "51")], "POSTS_PER_DAY must be a whole number from 1 to 50"),
            (vec![("POSTS_PER_DAY", "abc")], "POSTS_PER_DAY must be a whole number from 1 to 50"),
            (vec![("DRY_RUN_MODE", "7")], "DRY_RUN_MODE must be true or false"),
            (vec![("POSTING_HOURS_START", "24")], "POSTING_HOURS_START must be a whole number from 0 to 23"),
            (vec![("POSTING_HOURS_START", "5"), ("POSTING_HOURS_END", "5")], "POSTING_HOURS_END must differ"),
            (vec![("POSTING_TIMEZONE", "Moon/Base")], "POSTING_TIMEZONE is invalid"),
            (vec![("DATABASE_URL", "mysql://x")], "DATABASE_URL must start with"),
            (vec![("LOG_FORMAT", "xml")], "LOG_FORMAT must be text or json"),
            (vec![("TELEGRAM_CHAT_ID", "team")], "TELEGRAM_CHAT_ID must be a Telegram chat id"),
            (vec![("TELEGRAM_API_URL", "localhost:8081")], "TELEGRAM_API_URL must be an http:// or https:// URL"),
            (vec![("ADMIN_TELEGRAM_USER_IDS", "1,two")], "ADMIN_TELEGRAM_USER_IDS must be Telegram user ids"),
            (vec![("INIT_ALLOWED_USER_IDS", "x")], "INIT_ALLOWED_USER_IDS must be Telegram user ids"),
            (vec![("ENCRYPTION_KEY", "hunter2")], "ENCRYPTION_KEY is unusable: encryption key 1 is not valid base64"),
            (
                vec![("ENCRYPTION_KEY", "a"), ("ENCRYPTION_KEYS", "b")],
                "ENCRYPTION_KEYS and ENCRYPTION_KEY are both set",
            ),
            (vec![("GRAPH_API_URL", "graph.local")], "GRAPH_API_URL must be an http:// or https:// URL"),
            (vec![("PUBLIC_BASE_URL", "story.example.com")], "PUBLIC_BASE_URL must be an http:// or https:// URL"),
            (vec![("FACEBOOK_APP_ID", "123")], "FACEBOOK_APP_SECRET is not set"),
            (vec![("INSTAGRAM_APP_ID", "123")], "INSTAGRAM_APP_SECRET is not set, but INSTAGRAM_APP_ID is"),
            (vec![("INSTAGRAM_APP_SECRET", "s")], "INSTAGRAM_APP_ID is not set, but INSTAGRAM_APP_SECRET is"),
            (
                vec![("INSTAGRAM_APP_ID", "my-app"), ("INSTAGRAM_APP_SECRET", "s")],
                "INSTAGRAM_APP_ID must be the app's numeric id",
            ),
            (vec![("META_LOGIN_URL", "instagram.local")], "META_LOGIN_URL must be an http:// or https:// URL"),
            (vec![("GOOGLE_CLIENT_ID", "1-x.apps.googleusercontent.com")], "GOOGLE_CLIENT_SECRET is not set"),
            (vec![("GOOGLE_CLIENT_SECRET", "s")], "GOOGLE_CLIENT_ID is not set, but GOOGLE_CLIENT_SECRET is"),
            (
                vec![("GOOGLE_CLIENT_ID", "my client"), ("GOOGLE_CLIENT_SECRET", "s")],
                "GOOGLE_CLIENT_ID must be an OAuth client id without spaces",
            ),
            (vec![("GOOGLE_AUTH_URL", "accounts.local")], "GOOGLE_AUTH_URL must be an http:// or https:// URL"),
            (vec![("TOKEN_REFRESH_INTERVAL_HOURS", "0")], "TOKEN_REFRESH_INTERVAL_HOURS must be a whole number"),
            (vec![("DRIVE_API_URL", "googleapis.local")], "DRIVE_API_URL must be an http:// or https:// URL"),
            (vec![("GOOGLE_TOKEN_URL", "localhost:9/token")], "GOOGLE_TOKEN_URL must be an http:// or https:// URL"),
            (
                vec![("SYNC_INTERVAL_MINUTES", "0")],
                "SYNC_INTERVAL_MINUTES must be a whole number of minutes from 1 to 1440",
            ),
            (vec![("SYNC_INTERVAL_MINUTES", "1441")], "SYNC_INTERVAL_MINUTES must be a whole number"),
            (vec![("SEND_LEASE_SECONDS", "4")], "SEND_LEASE_SECONDS must be a whole number of seconds from 5 to 3600"),
            (vec![("SEND_LEASE_SECONDS", "1h")], "SEND_LEASE_SECONDS must be a whole number of seconds from 5 to 3600"),
            (
                vec![("RATE_LIMIT_PERSON_PER_MINUTE", "-1")],
                "RATE_LIMIT_PERSON_PER_MINUTE must be a whole number a minute from 0 (no limit) to 6000",
            ),
            (vec![("RATE_LIMIT_CHAT_PER_MINUTE", "6001")], "RATE_LIMIT_CHAT_PER_MINUTE must be a whole number"),
            (vec![("RATE_LIMIT_CHAT_PER_MINUTE", "fast")], "RATE_LIMIT_CHAT_PER_MINUTE must be a whole number"),
        ] {
            let error = config(&vars).expect_err(expected).to_string();
            assert!(error.starts_with(expected), "{error}");
            assert!(!error.contains('\n'), "{error}");
        }
    }

    #[test]
    fn run_needs_a_token_and_a_chat_id_chooses_single_team_mode() -> Result<(), ConfigError> {
        let missing = config(&[])?.telegram().map(|_| ()).expect_err("no token");
        assert_eq!(missing.variable, "TELEGRAM_BOT_TOKEN");
        // Without a chat id, every chat that runs /init is served.
        let many = config(&[("TELEGRAM_BOT_TOKEN", "1:abc")])?.telegram()?;
        assert_eq!(many.chat, None);
        let telegram = config(&[("TELEGRAM_BOT_TOKEN", "1:abc"), ("TELEGRAM_CHAT_ID", "-100123")])?.telegram()?;
        assert_eq!(telegram.chat, Some(ChatId(-100_123)));
        let admins = config(&[("ADMIN_TELEGRAM_USER_IDS", " 1, 2 ,")])?.admin_ids;
        assert_eq!(admins, HashSet::from([TelegramUserId(1), TelegramUserId(2)]));
        assert_eq!(config(&[])?.init_allowed, None, "unset: anyone may /init");
        assert!(config(&[("TELEGRAM_BOT_TOKEN", "1:abc")])?.serves_many());
        assert!(!config(&[("TELEGRAM_BOT_TOKEN", "1:abc"), ("TELEGRAM_CHAT_ID", "-1")])?.serves_many());
        assert!(!config(&[])?.serves_many(), "the console alone serves one");
        let allowed = config(&[("INIT_ALLOWED_USER_IDS", "7,8")])?.init_allowed;
        assert_eq!(allowed, Some(HashSet::from([TelegramUserId(7), TelegramUserId(8)])));
        Ok(())
    }

    #[test]
    fn secrets_never_show_in_debug_output() -> Result<(), ConfigError> {
        let config = config(&[
            ("DATABASE_URL", "postgres://storyline:hunter2@db:5432/storyline"),
            ("TELEGRAM_BOT_TOKEN", "123456:SECRET-TOKEN"),
            ("ENCRYPTION_KEY", "q83vEjRWeJA+3q2+7/7erb7v3q3erb7v3q3erb7v3q0="),
            ("FACEBOOK_APP_ID", "1234"),
            ("FACEBOOK_APP_SECRET", "APP-SECRET-VALUE"),
            ("INSTAGRAM_APP_ID", "5678"),
            ("INSTAGRAM_APP_SECRET", "IG-APP-SECRET-VALUE"),
        ])?;
        let shown = format!("{config:?} {:?}", config.telegram_token);
        assert!(!shown.contains("hunter2") && !shown.contains("SECRET-TOKEN"), "{shown}");
        assert!(!shown.contains("APP-SECRET-VALUE") && !shown.contains("q83vEjRW"), "{shown}");
        assert!(shown.contains("5678"), "the Instagram app's id is shown: {shown}");
        assert!(shown.contains("postgres://storyline:***@db:5432/storyline"), "{shown}");
        Ok(())
    }
}
