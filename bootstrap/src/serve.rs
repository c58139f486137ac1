//! The long-running modes: the bot on Telegram, and the same bot in a terminal.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;

use storyline_application::bot::BotConfig;
use storyline_application::errors::error_chain;
use storyline_application::library::{Quiet, SyncError};
use storyline_application::posting::{Stories, TickReport};
use storyline_console::ConsoleChat;
use storyline_domain::ChatId;
use storyline_domain::chat::Screen;
use storyline_domain::ports::ChatNotifier;
use storyline_domain::user::{Actor, Role, User};
use storyline_telegram::webhook::WebhookError;
use storyline_telegram::{PollSettings, TelegramNotifier, Webhook};
use tokio::io::AsyncBufRead;
use tokio::sync::watch;

use crate::config::Config;
use crate::loops::{self, Alert, LoopHealth};
use crate::replicas::{Fleet, MEDIA_SYNC, TOKEN_REFRESH};
use crate::wiring::{App, CONSOLE_NAME, CONSOLE_USER};

/// The person at the terminal, recorded in the chat's workspace as what they are: its operator,
/// an admin (so `users list` and every history show them so, not as a member `user:0`).
async fn console_operator(app: &App, chat: ChatId) -> anyhow::Result<User> {
    let me = User { telegram_id: CONSOLE_USER, username: None, first_name: CONSOLE_NAME.to_owned(), last_name: None };
    let workspace = app.settings.workspace_for_chat(chat, "Console").await?;
    let now = app.clock.now();
    let member = app.stores.users.record_contact(workspace.id, &me, now).await?;
    if !member.role.is_admin() {
        app.stores.users.set_role(workspace.id, CONSOLE_USER, Role::Admin, &Actor::Cli, now).await?;
    }
    Ok(me)
}

/// Serves the team chat on Telegram until `shutdown` turns true (FEATURES O1, O4).
///
/// # Errors
/// When Telegram is not configured, or the database cannot be opened at start. Once running,
/// failures are logged and retried, never returned.
pub async fn telegram(config: &Config, poll: PollSettings, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    // The command line checked this already; a configuration built in code is checked here,
    // before anything is opened.
    config.check_for_run()?;
    let telegram = config.telegram()?;
    let api = storyline_telegram::connect(&telegram.token, telegram.api_url.as_deref())?;
    // A refused token stops the start before anything else is opened.
    let bot_id = storyline_telegram::identify(&api, &telegram.token).await?;
    let app = App::open(config).await?;
    if let Some(warning) = app.check_keys().await? {
        tracing::warn!("{warning}");
    }
    match telegram.chat {
        Some(chat) => {
            let workspace = app.settings.workspace_for_chat(chat, "Team").await?;
            tracing::info!(workspace_id = %workspace.id, chat_id = %chat, database = %config.database_location(), "serving the team chat");
        }
        None => {
            let served = app.settings.workspaces().await?.len();
            tracing::info!(
                workspaces = served,
                init = if config.init_allowed.is_some() { "listed people" } else { "anyone" },
                database = %config.database_location(),
                "serving every chat with a workspace (no TELEGRAM_CHAT_ID); /init sets one up"
            );
        }
    }
    // The command menu, on the side: a slow or failing setMyCommands never holds up polling.
    let menu_api = api.clone();
    tokio::spawn(async move { storyline_telegram::commands::register(&menu_api).await });
    // Telegram's limits are the bot's: with other replicas running, this one keeps to its part.
    let pacer = storyline_telegram::Pacer::default();
    let notifier = Arc::new(TelegramNotifier::with_pacer(api.clone(), pacer.clone()));
    let bot = Arc::new(
        app.bot(
            notifier.clone(),
            notifier.clone(),
            BotConfig {
                team_chat: telegram.chat,
                admin_ids: config.admin_ids.clone(),
                init_allowed: config.init_allowed.clone(),
            },
        )
        // A settings file sent for `/settings import` is fetched from Telegram.
        .with_files(notifier.clone()),
    );
    // One story desk for the bot and the loop: what the chat was told once stays told once.
    let stories = shared_stories(&app, &bot, notifier.clone());
    // Bound before Telegram hears of a webhook: a delivery that comes before the server runs
    // waits in the listen queue instead of failing.
    let mut http = Serving::bind(config).await?;
    // Where Meta sends the browser back after "Log in with Instagram".
    http.add(crate::login_http::router(bot.clone()));
    let hook = match &config.webhook {
        Some(hook) => Some((hook, register_webhook(&app, &api, hook, bot_id).await?)),
        None => {
            forget_webhook(&api).await;
            None
        }
    };
    let fleet = Fleet::new(
        if hook.is_some() { "webhook" } else { "polling" },
        app.stores.replicas.clone(),
        app.stores.leadership.clone(),
        app.clock.clone(),
    );
    let sharing = pacer.clone();
    fleet.on_live_replicas(move |replicas| sharing.share_with(replicas));
    fleet.beat().await;
    if fleet.live_replicas() > 1 {
        // The others learn of this replica at their next heartbeat; until then they keep to
        // their larger parts, and this one sends nothing.
        pacer.hold_for(crate::replicas::BEAT_EVERY + std::time::Duration::from_millis(500));
    }
    tracing::info!(replica = %fleet.id(), live_replicas = fleet.live_replicas(), "this replica");
    if fleet.live_replicas() > 1 {
        if hook.is_none() {
            tracing::warn!(
                "another replica runs on this database: Telegram gives updates by long polling to one process at a time; set WEBHOOK_URL on every replica"
            );
        }
        if config.keyring.is_none() {
            tracing::warn!(
                "another replica runs on this database without ENCRYPTION_KEY: each signs media links with a key of its own and refuses the others'; set the same ENCRYPTION_KEY on every replica"
            );
        }
    }
    let beating = tokio::spawn(fleet.clone().run(shutdown.clone()));
    http.fleet = Some(fleet);
    let probing = tokio::spawn(probe_database(bot.clone(), shutdown.clone()));
    let following =
        app.stores.changes.clone().map(|feed| tokio::spawn(follow_changes(feed, bot.clone(), shutdown.clone())));
    match hook {
        None => {
            // A long poll answers within its timeout; two seconds more for handling and the network.
            let polling = LoopHealth::new("telegram_polling", poll.long_poll + std::time::Duration::from_secs(2));
            http.loops.push(polling.clone());
            let background = background(config, &app, stories, notifier, telegram.chat, http, shutdown.clone());
            let report = move |outcome: storyline_telegram::PollOutcome<'_>| match outcome {
                Ok(()) => polling.beat(),
                Err(error) => polling.failed(error),
            };
            storyline_telegram::poll(api, bot, app.stores.cursor.clone(), bot_id, poll, shutdown, report).await;
            background.await;
        }
        Some((hook, secret)) => {
            tracing::info!(url = %crate::config::shown_url(&hook.url), "receiving updates by webhook");
            let webhook = Webhook::start(bot, app.stores.cursor.clone(), bot_id, &secret);
            let checking = crate::webhook_http::Checking::new(api.clone(), hook.url.clone(), secret, webhook.clone());
            http.add(crate::webhook_http::router(webhook.clone(), &hook.path));
            http.sections.push(("webhook", checking.section()));
            let health = checking.health.clone();
            http.loops.push(health.clone());
            let background = background(config, &app, stories, notifier, telegram.chat, http, shutdown.clone());
            loops::supervise(health, None, shutdown, move || checking.clone().check()).await;
            // The server stopped taking requests with the shutdown; what it took is handled now.
            background.await;
            webhook.finish().await;
        }
    }
    let _ = probing.await;
    let _ = beating.await;
    if let Some(following) = following {
        let _ = following.await;
    }
    app.stores.close().await;
    Ok(())
}

/// The webhook's secret, and the webhook set with Telegram. A URL Telegram refuses stops the
/// start; a Telegram that does not answer does not (the webhook check sets it later).
async fn register_webhook(
    app: &App,
    api: &storyline_telegram::TelegramBot,
    hook: &crate::config::WebhookConfig,
    bot_id: i64,
) -> anyhow::Result<secrecy::SecretString> {
    let secret = crate::webhook_http::secret(app, hook, bot_id).await?;
    match storyline_telegram::webhook::set_webhook(api, &hook.url, &secret).await {
        Ok(()) => {}
        Err(error @ WebhookError::Refused(_)) => return Err(error.into()),
        Err(error @ WebhookError::Unreachable(_)) => {
            tracing::warn!(%error, "could not set the webhook; trying again shortly");
        }
    }
    Ok(secret)
}

/// Before polling: a webhook left by an earlier run in webhook mode makes Telegram refuse
/// getUpdates, so it is removed (the updates waiting with it are kept).
async fn forget_webhook(api: &storyline_telegram::TelegramBot) {
    match storyline_telegram::webhook::webhook_info(api).await {
        Ok(info) if info.url.is_empty() => {}
        Ok(info) => match storyline_telegram::webhook::delete_webhook(api).await {
            Ok(()) => tracing::info!(
                url = %crate::config::shown_url(&info.url),
                "a webhook was set (WEBHOOK_URL in an earlier run); removed it to poll"
            ),
            Err(error) => tracing::warn!(%error, "could not remove the webhook; polling will fail until it is gone"),
        },
        Err(error) => tracing::debug!(%error, "could not ask Telegram about a webhook; polling on"),
    }
}

/// What runs beside the loops: the HTTP server of `HTTP_ADDR` (bound at start), what it serves
/// beside `/healthz` and `/media`, and this process's place among the replicas.
#[derive(Default)]
struct Serving {
    listener: Option<tokio::net::TcpListener>,
    routes: Option<axum::Router>,
    sections: Vec<(&'static str, loops::Section)>,
    /// Loops `/healthz` watches beside the posting, refresh and sync loops.
    loops: Vec<Arc<LoopHealth>>,
    /// Who runs the singleton jobs; `None`: a fleet of one made by [`Serving::bind`].
    fleet: Option<Arc<Fleet>>,
}

impl Serving {
    /// Binds `HTTP_ADDR` when set.
    async fn bind(config: &Config) -> anyhow::Result<Self> {
        let listener = match config.http_addr {
            Some(addr) => Some(loops::bind_http(addr).await?),
            None => None,
        };
        Ok(Self { listener, ..Self::default() })
    }

    /// Serves `routes` too.
    fn add(&mut self, routes: axum::Router) {
        self.routes = Some(match self.routes.take() {
            Some(served) => served.merge(routes),
            None => routes,
        });
    }
}

/// The bot's story desk, for the posting loop to share (the bot always has one when wired by
/// [`App::bot`]; a desk of its own is the fallback).
fn shared_stories(app: &App, bot: &storyline_application::bot::Bot, notifier: Arc<dyn ChatNotifier>) -> Stories {
    bot.stories().cloned().unwrap_or_else(|| app.stories(notifier))
}

/// While the bot knows the database is down, asks it every [`PROBE_EVERY`] whether it is back,
/// so that the bot answers "the database is not answering" at once meanwhile and works again
/// within a moment of its return.
async fn probe_database(bot: Arc<storyline_application::bot::Bot>, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if bot.database_is_down() {
            bot.probe_database().await;
        }
        tokio::select! {
            () = tokio::time::sleep(PROBE_EVERY) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Follows the changes other replicas commit, so the bot forgets what they changed (a role, an
/// account) at once; a feed that fails is followed again after a second.
async fn follow_changes(
    feed: Arc<dyn storyline_domain::ports::ChangeFeed>,
    bot: Arc<storyline_application::bot::Bot>,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        let heard = bot.clone();
        tokio::select! {
            followed = feed.follow(Box::new(move |changed| heard.forget_changed(&changed))) => {
                if let Err(error) = followed {
                    tracing::warn!(error = %error_chain(&error), "the change feed stopped; following it again");
                }
            }
            _ = shutdown.changed() => return,
        }
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// How often a database known to be down is asked again.
const PROBE_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Starts the posting loop, supervised, and `/healthz` on `http` when `HTTP_ADDR` is bound.
/// The returned future waits for them to stop after `shutdown`.
fn background(
    config: &Config,
    app: &App,
    stories: Stories,
    notifier: Arc<dyn ChatNotifier>,
    admin_chat: Option<ChatId>,
    http: Serving,
    shutdown: watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> + use<> {
    let Serving { listener, routes, mut sections, loops: mut watched, fleet } = http;
    let fleet = fleet.unwrap_or_else(|| {
        Fleet::new("console", app.stores.replicas.clone(), app.stores.leadership.clone(), app.clock.clone())
    });
    sections.push(("replica", fleet.section()));
    let posting = LoopHealth::new("posting", config.posting_interval);
    let notifier_for_refresh = notifier.clone();
    let alert: Alert = Arc::new(move |text: String| {
        let notifier = notifier.clone();
        Box::pin(async move {
            // With many workspaces there is no one chat to tell: the log line is the alert.
            let Some(admin_chat) = admin_chat else { return };
            if let Err(error) = notifier.send(admin_chat, &Screen::new(text)).await {
                tracing::warn!(error = %error_chain(&error), "could not tell the admin chat about a loop");
            }
        })
    });
    let tick = move || {
        let stories = stories.clone();
        async move {
            let report = stories.tick().await?;
            if report != TickReport::default() {
                tracing::info!(
                    sent = report.sent,
                    retrying = report.retrying,
                    gave_up = report.gave_up,
                    "posting tick"
                );
            }
            Ok(())
        }
    };
    let looping = tokio::spawn(loops::supervise(posting.clone(), Some(alert.clone()), shutdown.clone(), tick));
    // A6: the token refresh job, once a day by default; it tells each workspace's chat itself.
    let refreshing = LoopHealth::new("token_refresh", config.token_refresh_interval);
    let (accounts, refresh_notifier) = (app.accounts.clone(), notifier_for_refresh.clone());
    let refresh = move || {
        let (accounts, notifier) = (accounts.clone(), refresh_notifier.clone());
        async move {
            let report = accounts.refresh_tokens(notifier.as_ref()).await?;
            if report.checked > 0 {
                tracing::info!(
                    checked = report.checked,
                    refreshed = report.refreshed,
                    failed = report.failed,
                    announced = report.announced,
                    "token refresh"
                );
            }
            Ok(())
        }
    };
    let refresher = tokio::spawn(loops::supervise_woken(
        refreshing.clone(),
        Some(alert.clone()),
        shutdown.clone(),
        fleet.wake(TOKEN_REFRESH),
        singleton(fleet.clone(), TOKEN_REFRESH, refresh),
    ));
    // M3: every workspace's library synced with its source; the chat hears of an outage itself.
    let syncing = LoopHealth::new("media_sync", config.sync_interval);
    let sync = media_sync(app, notifier_for_refresh.clone());
    let syncer = tokio::spawn(loops::supervise_woken(
        syncing.clone(),
        Some(alert),
        shutdown.clone(),
        fleet.wake(MEDIA_SYNC),
        singleton(fleet, MEDIA_SYNC, sync),
    ));
    let media = crate::media_http::router(
        crate::media_http::MediaFiles::new(
            app.urls.clone(),
            app.stores.library.clone(),
            app.source.clone(),
            app.clock.clone(),
        )
        .with_sources(app.sources.clone()),
    );
    let routes = match routes {
        Some(routes) => media.merge(routes),
        None => media,
    };
    let health = listener.map(|listener| {
        let settings = app.stores.settings.clone();
        tokio::spawn(async move {
            watched.push(posting);
            watched.push(refreshing);
            watched.push(syncing);
            if let Err(error) =
                loops::serve_health_on(listener, settings, watched, sections, Some(routes), shutdown).await
            {
                tracing::error!(error = format!("{error:#}"), "could not serve /healthz");
            }
        })
    });
    async move {
        let _ = looping.await;
        let _ = refresher.await;
        let _ = syncer.await;
        if let Some(health) = health {
            let _ = health.await;
        }
    }
}

/// A singleton job's tick: the work of `tick`, done only where this replica leads `job` at
/// that moment (elsewhere the tick does nothing and succeeds: the loop stands by).
fn singleton<F, Fut>(
    fleet: Arc<Fleet>,
    job: &'static str,
    tick: F,
) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>> + Send + Sync + 'static
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let tick = Arc::new(tick);
    move || {
        let (fleet, tick) = (fleet.clone(), tick.clone());
        Box::pin(async move { if fleet.leads(job).await { tick().await } else { Ok(()) } })
    }
}

/// One tick of the sync loop: each workspace in turn, synced with its own source. A source that
/// does not answer is the chat's news (told once per outage by the sync), not the loop's failure;
/// any other failure of a workspace fails the tick after the others had their turn. The first
/// tick, at start, syncs nothing: the first sync comes one interval later (`/sync` and
/// `sync-media` sync at once), so a start never races the library with what was just indexed.
fn media_sync(
    app: &App,
    notifier: Arc<dyn ChatNotifier>,
) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>> + Send + Sync + 'static
{
    let (service, sources, settings) =
        (app.sync.clone().telling(notifier), app.sources.clone(), app.stores.settings.clone());
    let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
    move || {
        let (service, sources, settings) = (service.clone(), sources.clone(), settings.clone());
        let first = !started.swap(true, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            if first {
                return Ok(());
            }
            let mut failed = Vec::new();
            for workspace in settings.workspaces().await? {
                let outcome = match sources.source(workspace.id).await {
                    Ok(source) => service.sync(&workspace, source.as_ref(), &Quiet).await.map(|_| ()),
                    Err(error) => Err(SyncError::Source(error)),
                };
                match outcome {
                    Ok(()) | Err(SyncError::Unreachable(_) | SyncError::Busy) => {}
                    Err(error) => {
                        tracing::error!(workspace_id = %workspace.id, error = %error_chain(&error), "media sync failed");
                        failed.push(format!("{}: {error}", workspace.chat_id));
                    }
                }
            }
            if failed.is_empty() { Ok(()) } else { Err(anyhow::anyhow!("media sync failed for {}", failed.join(", "))) }
        })
    }
}

/// The bot in a terminal, in `chat`'s workspace: lines from `input`, screens to `output`, the
/// person at the terminal its admin (FEATURES O3). The command line chooses the workspace.
///
/// # Errors
/// When the store fails or the input cannot be read.
pub async fn console(
    app: &App,
    config: &Config,
    chat: ChatId,
    input: impl AsyncBufRead + Unpin,
    output: Box<dyn Write + Send>,
) -> anyhow::Result<()> {
    let locked = app.check_keys().await?;
    let console = ConsoleChat::new(output, CONSOLE_USER);
    let admins = HashSet::from([CONSOLE_USER]);
    let bot = app.bot(Arc::new(console.clone()), Arc::new(console.clone()), BotConfig::team(chat, admins));
    console.note(&format!(
        "Storyline console — chat {chat}, data in the {}. Type /help or /settings; a number presses a button; /quit leaves.",
        config.database_location()
    ));
    if let Some(warning) = locked {
        console.note(&format!("⚠ {warning}"));
    }
    let me = console_operator(app, chat).await?;
    // Due stories show up in the terminal as they would in the chat.
    let (stop, shutdown) = watch::channel(false);
    let stories = shared_stories(app, &bot, Arc::new(console.clone()));
    let http = Serving::bind(config).await?;
    let background = background(config, app, stories, Arc::new(console.clone()), Some(chat), http, shutdown);
    let result = storyline_console::run(&bot, &console, input, chat, me).await;
    let _ = stop.send(true);
    background.await;
    result?;
    Ok(())
}

/// Turns true on Ctrl-C or SIGTERM.
#[must_use]
pub fn shutdown_signal() -> watch::Receiver<bool> {
    let (tell, listen) = watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            () = terminate => {}
        }
        tracing::info!("shutting down");
        let _ = tell.send(true);
    });
    listen
}
