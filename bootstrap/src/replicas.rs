//! This process among the deployment's replicas: its heartbeat (what `storyline replicas`
//! lists), and the singleton jobs it leads.
//!
//! Every [`BEAT_EVERY`] the process tries to lead each singleton job ([`Leadership::try_lead`]:
//! an advisory lock on PostgreSQL, always granted on SQLite) and records its heartbeat with
//! the jobs it leads. A job's loop runs on every replica but does its work only where
//! [`Fleet::leads`] says so, asked at the moment it would run; a replica that takes a job over
//! wakes that job's loop, so the job runs there within one heartbeat of the takeover instead of
//! at its next interval. On a graceful stop the jobs are given up and the heartbeat removed.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use storyline_domain::ports::{Clock, Leadership, Replica, Replicas};
use tokio::sync::{Notify, watch};

use crate::loops::Section;

/// How often the heartbeat is recorded and leadership tried.
pub const BEAT_EVERY: Duration = Duration::from_secs(2);
/// A replica not seen for this long counts as gone (listed no more, its row pruned).
pub const GONE_AFTER: Duration = Duration::from_secs(15);

/// The singleton jobs.
pub const TOKEN_REFRESH: &str = "token_refresh";
pub const MEDIA_SYNC: &str = "media_sync";
pub const JOBS: [&str; 2] = [TOKEN_REFRESH, MEDIA_SYNC];

/// Told how many replicas are alive.
type Listener = Box<dyn Fn(usize) + Send + Sync>;

/// This process, its heartbeat and its jobs.
pub struct Fleet {
    me: Replica,
    replicas: Arc<dyn Replicas>,
    leadership: Arc<dyn Leadership>,
    clock: Arc<dyn Clock>,
    leading: Mutex<HashSet<&'static str>>,
    /// The jobs whose leadership was decided once (the first decision wakes nothing: the job's
    /// loop makes its first tick at start anyway).
    decided: Mutex<HashSet<&'static str>>,
    wakes: HashMap<&'static str, Arc<Notify>>,
    /// How many replicas the last heartbeat found alive (this one included).
    live: Mutex<usize>,
    /// Told that count after every heartbeat (the pacer's share of Telegram's limits).
    listeners: Mutex<Vec<Listener>>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet").field("id", &self.me.id).finish_non_exhaustive()
    }
}

/// The host's name, for telling replicas apart.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

impl Fleet {
    /// This process as a replica taking updates by `mode` (`polling`, `webhook`, `console`).
    #[must_use]
    pub fn new(
        mode: &str,
        replicas: Arc<dyn Replicas>,
        leadership: Arc<dyn Leadership>,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        let host = host_name();
        let pid = std::process::id();
        let now = clock.now();
        let random = uuid::Uuid::new_v4().simple().to_string();
        let me = Replica {
            id: format!("{host}-{pid}-{}", &random[..6]),
            host,
            pid,
            mode: mode.to_owned(),
            started_at: now,
            seen_at: now,
            leads: Vec::new(),
        };
        let wakes = JOBS.iter().map(|job| (*job, Arc::new(Notify::new()))).collect();
        Arc::new(Self {
            me,
            replicas,
            leadership,
            clock,
            leading: Mutex::default(),
            decided: Mutex::default(),
            wakes,
            live: Mutex::new(1),
            listeners: Mutex::default(),
        })
    }

    /// This replica's id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.me.id
    }

    /// Woken when this replica takes `job` over.
    #[must_use]
    pub fn wake(&self, job: &str) -> Option<Arc<Notify>> {
        self.wakes.get(job).cloned()
    }

    /// Whether this replica leads `job` now, asked of the store at this moment (so two
    /// replicas never both run it on an old answer). A store failure counts as no.
    pub async fn leads(&self, job: &'static str) -> bool {
        let leads = match self.leadership.try_lead(job).await {
            Ok(leads) => leads,
            Err(error) => {
                tracing::warn!(job, error = %storyline_application::errors::error_chain(&error), "could not ask who leads a singleton job");
                false
            }
        };
        self.note(job, leads);
        leads
    }

    /// Records whether this replica leads `job`; a takeover wakes the job's loop.
    fn note(&self, job: &'static str, leads: bool) {
        let changed = {
            let mut leading = self.leading.lock().unwrap_or_else(PoisonError::into_inner);
            if leads { leading.insert(job) } else { leading.remove(job) }
        };
        let first = self.decided.lock().unwrap_or_else(PoisonError::into_inner).insert(job);
        if changed && leads {
            tracing::info!(job, replica = %self.me.id, "this replica now runs the singleton job");
            if let Some(wake) = self.wakes.get(job).filter(|_| !first) {
                wake.notify_one();
            }
        } else if changed {
            tracing::info!(job, replica = %self.me.id, "another replica runs the singleton job now");
        }
    }

    fn leading(&self) -> Vec<String> {
        let leading = self.leading.lock().unwrap_or_else(PoisonError::into_inner);
        let mut jobs: Vec<String> = leading.iter().map(|job| (*job).to_owned()).collect();
        jobs.sort();
        jobs
    }

    /// Calls `listener` with the number of live replicas after every heartbeat.
    pub fn on_live_replicas(&self, listener: impl Fn(usize) + Send + Sync + 'static) {
        self.listeners.lock().unwrap_or_else(PoisonError::into_inner).push(Box::new(listener));
    }

    /// How many replicas were alive at the last heartbeat, this one included (at least 1).
    #[must_use]
    pub fn live_replicas(&self) -> usize {
        *self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One heartbeat: leadership tried for every job, then the heartbeat recorded, the gone
    /// replicas pruned and the live ones counted.
    pub async fn beat(&self) {
        for job in JOBS {
            self.leads(job).await;
        }
        let now = self.clock.now();
        let me = Replica { seen_at: now, leads: self.leading(), ..self.me.clone() };
        if let Err(error) = self.replicas.beat(&me).await {
            tracing::warn!(error = %storyline_application::errors::error_chain(&error), "could not record the heartbeat");
            return;
        }
        let since = now - gone_after();
        // A row only this long unseen is pruned; `leave` with no id of ours.
        if let Err(error) = self.replicas.leave("", since - gone_after()).await {
            tracing::debug!(error = %storyline_application::errors::error_chain(&error), "could not prune gone replicas");
        }
        match self.replicas.live(since).await {
            Ok(live) => {
                let count = live.len().max(1);
                *self.live.lock().unwrap_or_else(PoisonError::into_inner) = count;
                for listener in self.listeners.lock().unwrap_or_else(PoisonError::into_inner).iter() {
                    listener(count);
                }
            }
            Err(error) => {
                tracing::debug!(error = %storyline_application::errors::error_chain(&error), "could not count the replicas");
            }
        }
    }

    /// Beats every [`BEAT_EVERY`] until `shutdown`; then gives up its jobs and removes its
    /// heartbeat, so another replica takes the jobs at once.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            self.beat().await;
            tokio::select! {
                () = tokio::time::sleep(BEAT_EVERY) => {}
                _ = shutdown.changed() => {}
            }
        }
        self.leadership.resign().await;
        self.leading.lock().unwrap_or_else(PoisonError::into_inner).clear();
        if let Err(error) = self.replicas.leave(&self.me.id, DateTime::<Utc>::UNIX_EPOCH).await {
            tracing::warn!(error = %storyline_application::errors::error_chain(&error), "could not remove the heartbeat");
        }
    }

    /// The `replica` part of `/healthz`: its id, how it takes updates, the jobs it leads and
    /// those it stands by for.
    #[must_use]
    pub fn section(self: &Arc<Self>) -> Section {
        let fleet = self.clone();
        Arc::new(move || {
            let leads = fleet.leading();
            let standby: Vec<&str> = JOBS.iter().copied().filter(|job| !leads.iter().any(|l| l == job)).collect();
            json!({
                "id": fleet.me.id,
                "mode": fleet.me.mode,
                "leads": leads,
                "standby": standby,
                "live_replicas": fleet.live_replicas(),
            }) as Value
        })
    }
}

fn gone_after() -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(GONE_AFTER).unwrap_or(chrono::TimeDelta::seconds(30))
}
