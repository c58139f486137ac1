//! Supervised background loops and `/healthz` (FEATURES O5). Each tick runs as its own task, so
//! an error or a panic ends that tick only: the loop waits (1 s, doubling up to a minute) and
//! goes on, and the admin chat hears about a failing loop once per failure streak.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use storyline_domain::ChatId;
use storyline_domain::ports::SettingsStore;
use tokio::sync::watch;

/// What `/healthz` knows of one loop.
#[derive(Debug)]
pub struct LoopHealth {
    pub name: &'static str,
    pub interval: Duration,
    state: Mutex<LoopState>,
}

#[derive(Debug, Default, Clone)]
struct LoopState {
    last_tick: Option<Instant>,
    last_error: Option<String>,
    failures_in_a_row: u32,
    restarts: u64,
}

impl LoopHealth {
    #[must_use]
    pub fn new(name: &'static str, interval: Duration) -> Arc<Self> {
        Arc::new(Self { name, interval, state: Mutex::new(LoopState::default()) })
    }

    fn state(&self) -> LoopState {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn update(&self, change: impl FnOnce(&mut LoopState)) {
        change(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// The loop just did its work (for loops not run by [`supervise`], like Telegram polling).
    pub fn beat(&self) {
        self.update(|s| {
            s.last_tick = Some(Instant::now());
            s.failures_in_a_row = 0;
        });
    }

    /// The loop's work failed (for loops not run by [`supervise`]): counted, and `error` (which
    /// must hold no secret) shown until the next failure.
    pub fn failed(&self, error: &str) {
        self.update(|s| {
            s.failures_in_a_row += 1;
            s.last_error = Some(error.to_owned());
        });
    }

    /// Alive: it ticked within twice its interval.
    #[must_use]
    pub fn is_alive(&self) -> bool {
        self.state().last_tick.is_some_and(|at| at.elapsed() <= self.interval * 2)
    }

    /// The loop as `/healthz` shows it.
    #[must_use]
    pub fn report(&self) -> Value {
        let state = self.state();
        json!({
            "state": if self.is_alive() {
                "ok"
            } else if state.failures_in_a_row > 0 {
                "failing"
            } else if state.last_tick.is_none() {
                "starting"
            } else {
                "stale"
            },
            "interval_seconds": self.interval.as_secs_f64(),
            "last_tick_seconds_ago": state.last_tick.map(|at| at.elapsed().as_secs_f64()),
            "failures_in_a_row": state.failures_in_a_row,
            "restarts": state.restarts,
            "last_error": state.last_error,
        })
    }
}

/// Told once when a loop starts failing, and once when it recovers.
pub type Alert = Arc<dyn Fn(String) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Runs `tick` every `health.interval` until `shutdown`, each tick in its own task. A tick that
/// fails or panics counts as a restart: the loop backs off and carries on.
pub async fn supervise<F, Fut>(health: Arc<LoopHealth>, alert: Option<Alert>, shutdown: watch::Receiver<bool>, tick: F)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    supervise_woken(health, alert, shutdown, None, tick).await;
}

/// [`supervise`], and a tick as soon as `wake` is notified (a singleton job this replica just
/// took over runs at once, not at its next interval).
pub async fn supervise_woken<F, Fut>(
    health: Arc<LoopHealth>,
    alert: Option<Alert>,
    mut shutdown: watch::Receiver<bool>,
    wake: Option<Arc<tokio::sync::Notify>>,
    tick: F,
) where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let name = health.name;
    let mut backoff = Duration::from_secs(1);
    let mut reported = false;
    while !*shutdown.borrow() {
        let outcome = tokio::spawn(tick()).await;
        let error = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(format!("{error:#}")),
            Err(join) if join.is_panic() => Some("the loop panicked".to_owned()),
            Err(join) => Some(join.to_string()),
        };
        let wait = match error {
            None => {
                health.update(|s| {
                    s.last_tick = Some(Instant::now());
                    s.failures_in_a_row = 0;
                });
                if reported {
                    reported = false;
                    tracing::info!(loop_name = name, "loop recovered");
                    if let Some(alert) = &alert {
                        alert(format!("✅ The {name} loop works again.")).await;
                    }
                }
                backoff = Duration::from_secs(1);
                health.interval
            }
            Some(error) => {
                tracing::error!(loop_name = name, %error, retry_in_seconds = backoff.as_secs(), "loop failed; restarting");
                health.update(|s| {
                    s.failures_in_a_row += 1;
                    s.restarts += 1;
                    s.last_error = Some(error.clone());
                });
                if !reported {
                    reported = true;
                    if let Some(alert) = &alert {
                        // The chat gets the fact; the cause chain goes to the log and /healthz.
                        alert(format!("⚠️ The {name} loop failed and is restarting; the logs say why.")).await;
                    }
                }
                let wait = backoff;
                backoff = (backoff * 2).min(Duration::from_secs(60));
                wait
            }
        };
        let woken = async {
            match &wake {
                Some(wake) => wake.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = woken => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!(loop_name = name, "loop stopped");
}

/// A part of `/healthz` beside the loops (the webhook's, say): its JSON as of the request.
pub type Section = Arc<dyn Fn() -> Value + Send + Sync>;

#[derive(Clone)]
struct Health {
    settings: Arc<dyn SettingsStore>,
    loops: Vec<Arc<LoopHealth>>,
    sections: Vec<(&'static str, Section)>,
}

async fn healthz(State(health): State<Health>) -> (StatusCode, Json<Value>) {
    // Any query will do; a chat id no workspace can have keeps it cheap.
    let database = tokio::time::timeout(Duration::from_secs(2), health.settings.workspace_by_chat(ChatId(i64::MIN)))
        .await
        .map_or(Err("timed out".to_owned()), |r| r.map(|_| ()).map_err(|e| e.to_string()));
    let loops: serde_json::Map<String, Value> = health.loops.iter().map(|l| (l.name.to_owned(), l.report())).collect();
    let healthy = database.is_ok() && health.loops.iter().all(|l| l.is_alive());
    let mut body = json!({
        "status": if healthy { "ok" } else { "unhealthy" },
        "database": database.err().unwrap_or_else(|| "ok".to_owned()),
        "loops": loops,
    });
    for (name, section) in &health.sections {
        body[*name] = section();
    }
    (if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}

/// Serves `/healthz` on `addr` until `shutdown`.
///
/// # Errors
/// When `addr` cannot be bound.
pub async fn serve_health(
    addr: SocketAddr,
    settings: Arc<dyn SettingsStore>,
    loops: Vec<Arc<LoopHealth>>,
    media: Option<axum::Router>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    serve_health_on(bind_http(addr).await?, settings, loops, Vec::new(), media, shutdown).await
}

/// Binds `HTTP_ADDR`, so a start with an address already taken stops at once.
///
/// # Errors
/// One line naming `HTTP_ADDR` and the cause (for example "address already in use").
pub async fn bind_http(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| anyhow::anyhow!("HTTP_ADDR {addr} cannot be used: {error}"))
}

/// Serves `/healthz` (with `sections` beside the loops) and `routes` (`/media`, the webhook) on
/// a bound `listener` until `shutdown`; requests under way are finished first.
///
/// # Errors
/// When serving fails.
pub async fn serve_health_on(
    listener: tokio::net::TcpListener,
    settings: Arc<dyn SettingsStore>,
    loops: Vec<Arc<LoopHealth>>,
    sections: Vec<(&'static str, Section)>,
    routes: Option<axum::Router>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "serving /healthz and /media");
    let app = axum::Router::new().route("/healthz", get(healthz)).with_state(Health { settings, loops, sections });
    let app = match routes {
        Some(routes) => app.merge(routes),
        None => app,
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await?;
    Ok(())
}
