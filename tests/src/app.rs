//! `TestBot`: the real wiring (`storyline::serve::telegram`) against a fake Telegram Bot API and
//! a real database, started and stopped (and restarted) by a test.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use storyline::config::Config;
use storyline::serve;
use storyline_telegram::PollSettings;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::fake_telegram::FakeTelegram;

/// The team chat every test bot serves.
pub const TEAM_CHAT: i64 = -100_777;
/// A person listed in `ADMIN_TELEGRAM_USER_IDS`.
pub const ADMIN: i64 = 10;

/// A running bot.
pub struct TestBot {
    pub database_url: String,
    config: Config,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl std::fmt::Debug for TestBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestBot").field("database_url", &self.database_url).finish_non_exhaustive()
    }
}

/// The configuration a test bot runs with.
///
/// # Errors
/// When the values do not form a valid configuration.
pub fn config(telegram: &FakeTelegram, database_url: &str) -> anyhow::Result<Config> {
    config_with(telegram, database_url, &[])
}

/// [`config`] with some variables changed: `Some` sets one, `None` unsets it.
///
/// # Errors
/// When the values do not form a valid configuration.
pub fn config_with(
    telegram: &FakeTelegram,
    database_url: &str,
    changes: &[(&'static str, Option<String>)],
) -> anyhow::Result<Config> {
    let mut vars: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", database_url.to_owned()),
        ("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN.to_owned()),
        ("TELEGRAM_CHAT_ID", TEAM_CHAT.to_string()),
        ("TELEGRAM_API_URL", telegram.api_url()),
        ("ADMIN_TELEGRAM_USER_IDS", ADMIN.to_string()),
    ]);
    for (name, value) in changes {
        match value {
            Some(value) => vars.insert(name, value.clone()),
            None => vars.remove(name),
        };
    }
    Ok(Config::from_lookup(|name| vars.get(name).cloned())?)
}

/// Short waits, so tests recover quickly from the failures they cause.
#[must_use]
pub fn fast_polling() -> PollSettings {
    PollSettings {
        long_poll: Duration::from_secs(5),
        backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
    }
}

impl TestBot {
    /// Starts the bot on `database_url`, talking to `telegram`.
    ///
    /// # Errors
    /// When the configuration is invalid.
    pub fn start(telegram: &FakeTelegram, database_url: &str) -> anyhow::Result<Self> {
        Ok(Self::start_with(config(telegram, database_url)?))
    }

    /// Starts the bot with `config` (see [`config_with`]; the rate limits off for a test that
    /// floods the bot on purpose, say); a restart keeps it.
    #[must_use]
    pub fn start_with(config: Config) -> Self {
        let (shutdown, listen) = watch::channel(false);
        let kept = config.clone();
        let task = tokio::spawn(async move { serve::telegram(&config, fast_polling(), listen).await });
        Self { database_url: kept.database_url.clone(), config: kept, shutdown, task }
    }

    /// Stops the bot as SIGTERM would, and waits for it.
    ///
    /// # Errors
    /// When the bot had failed, or does not stop within 10 seconds.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        tokio::time::timeout(Duration::from_secs(10), self.task).await.context("the bot did not stop")???;
        Ok(())
    }

    /// Ends the bot as SIGKILL would, for what matters here: its polling and handling stop at
    /// whatever await they are at, with no shutdown (its background loops are then stopped,
    /// so they do not outlive the test).
    pub fn kill(self) {
        self.task.abort();
        let _ = self.shutdown.send(true);
    }

    /// Stops the bot and starts a new one on the same database and the same fake Telegram.
    ///
    /// # Errors
    /// When stopping or starting fails.
    pub async fn restart(self, telegram: &FakeTelegram) -> anyhow::Result<Self> {
        let _ = telegram;
        let config = self.config.clone();
        self.stop().await?;
        Ok(Self::start_with(config))
    }
}
