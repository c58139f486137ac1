//! The posting wing (FEATURES C4–C7): due stories go to the chat with Posted / Skip / Reject, or
//! are published through the Graph API; presses resolve them; the queue desk answers the
//! read-side commands.
//!
//! - [`tick`]: claims what is due, sends it, holds the lease; the only part that talks to the chat
//!   about a send.
//! - [`publishing`]: the Graph API path, driven by [`storyline_domain::publishing`]'s decisions.
//! - [`presses`]: Posted / Skip / Reject, the reject confirmation and "always by hand".
//! - [`screens`]: what the chat shows of a story.
//! - [`desk`]: the queue desk behind `/queue`, `/stats`, `/history`, `/locks`, `/clear` and the CLI.

mod desk;
mod presses;
mod publishing;
mod screens;
mod tick;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::ports::{
    AccountStore, ChatNotifier, Clock, History, Locks, MediaHost, MediaLibrary, MediaSource, Notices, Queue,
    SettingsStore, SourceError, StoreError, StoryPublisher, TokenVault, WorkspaceSources,
};
use storyline_domain::queue::QueueEntry;

use crate::scheduling::Scheduler;

pub use desk::QueueDesk;
pub use presses::{PressError, StoryMessage};
pub use screens::{confirm_reject_screen, published_screen, resolved_screen, story_screen};

/// How long a claimed item may stay `sending` before another tick may claim it again (a
/// process that died mid-send), unless [`Stories::with_lease`] says otherwise.
pub const SEND_LEASE: Duration = Duration::minutes(5);
/// The most stories one tick sends (one per workspace).
pub const CLAIMS_PER_TICK: u32 = 200;
/// Where "Open Instagram" goes.
pub const INSTAGRAM_URL: &str = "https://www.instagram.com/";

/// What one tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TickReport {
    pub sent: u32,
    /// Failed this time; tried again next tick.
    pub retrying: u32,
    /// Failed for the last time: a failed history row and a message in the chat.
    pub gave_up: u32,
}

/// The story desk: sends due stories and resolves the presses on them.
#[derive(Clone)]
pub struct Stories {
    queue: Arc<dyn Queue>,
    history: Arc<dyn History>,
    locks: Arc<dyn Locks>,
    settings: Arc<dyn SettingsStore>,
    source: Arc<dyn MediaSource>,
    /// Each workspace's own source (FEATURES M1); `None`: every workspace reads `source`.
    sources: Option<Arc<dyn WorkspaceSources>>,
    notifier: Arc<dyn ChatNotifier>,
    clock: Arc<dyn Clock>,
    library: Arc<dyn MediaLibrary>,
    scheduler: Scheduler,
    publishing: Option<Publishing>,
    /// Why each workspace's stories last went the manual way, so the chat is warned once.
    fallbacks: Arc<Mutex<HashMap<WorkspaceId, String>>>,
    /// The same kept in the store ([`Stories::with_notices`]), so that with several processes
    /// the chat is still warned once; `None`: this process's memory only.
    notices: Option<Arc<dyn Notices>>,
    /// How long a claim holds an item before another process may take it over.
    lease: Duration,
}

/// The [`Notices`] topic of why stories go the manual way.
pub const FALLBACK_TOPIC: &str = "manual_path";

/// What publishing through the Graph API needs (FEATURES C5, A7, M4).
#[derive(Clone)]
pub struct Publishing {
    pub accounts: Arc<dyn AccountStore>,
    pub vault: Arc<dyn TokenVault>,
    pub publisher: Arc<dyn StoryPublisher>,
    pub host: Arc<dyn MediaHost>,
}

impl std::fmt::Debug for Publishing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publishing").finish_non_exhaustive()
    }
}

/// How long a media URL given to Meta stays valid.
pub const MEDIA_URL_LIFETIME: Duration = Duration::hours(1);

impl std::fmt::Debug for Stories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stories").finish_non_exhaustive()
    }
}

/// The ports the story desk works through.
#[derive(Clone)]
pub struct StoryPorts {
    pub queue: Arc<dyn Queue>,
    pub history: Arc<dyn History>,
    pub locks: Arc<dyn Locks>,
    pub settings: Arc<dyn SettingsStore>,
    pub source: Arc<dyn MediaSource>,
    pub notifier: Arc<dyn ChatNotifier>,
    pub clock: Arc<dyn Clock>,
    pub library: Arc<dyn MediaLibrary>,
}

impl std::fmt::Debug for StoryPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoryPorts").finish_non_exhaustive()
    }
}

impl Stories {
    #[must_use]
    pub fn new(ports: StoryPorts, scheduler: Scheduler) -> Self {
        let StoryPorts { queue, history, locks, settings, source, notifier, clock, library } = ports;
        Self {
            library,
            queue,
            history,
            locks,
            settings,
            source,
            sources: None,
            notifier,
            clock,
            scheduler,
            publishing: None,
            fallbacks: Arc::default(),
            notices: None,
            lease: SEND_LEASE,
        }
    }

    /// Claims hold an item for `lease` (renewed before and after each call that sends it)
    /// instead of [`SEND_LEASE`]: the time after which a process that died mid-send has its
    /// stories taken over. It must outlast the longest single send.
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Keeps what the chats were told once in `notices` (shared by every process) instead of
    /// this process's memory.
    #[must_use]
    pub fn with_notices(mut self, notices: Arc<dyn Notices>) -> Self {
        self.notices = Some(notices);
        self
    }

    /// Reads each workspace's media from its own source (FEATURES M1) instead of the one given
    /// in [`StoryPorts::source`].
    #[must_use]
    pub fn with_sources(mut self, sources: Arc<dyn WorkspaceSources>) -> Self {
        self.sources = Some(sources);
        self
    }

    /// The source `workspace` reads its media from now.
    ///
    /// # Errors
    /// [`SourceError`] when the workspace's source settings cannot be read or opened.
    pub async fn source_of(&self, workspace: WorkspaceId) -> Result<Arc<dyn MediaSource>, SourceError> {
        match &self.sources {
            Some(sources) => sources.source(workspace).await,
            None => Ok(self.source.clone()),
        }
    }

    /// Adds publishing through the Graph API, used when a workspace turns the Instagram API on.
    #[must_use]
    pub fn with_publishing(mut self, publishing: Publishing) -> Self {
        self.publishing = Some(publishing);
        self
    }

    /// The queue, for /queue and `list-queue`.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn queue(&self, workspace: WorkspaceId, limit: u32) -> Result<Vec<QueueEntry>, StoreError> {
        self.queue.entries(workspace, limit).await
    }

    /// The scheduler behind /schedule.
    #[must_use]
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// The queue desk: the read-side commands and /clear.
    #[must_use]
    pub fn desk(&self) -> QueueDesk {
        QueueDesk::new(self.queue.clone(), self.history.clone(), self.locks.clone(), self.clock.clone())
    }

    /// Now, by the desk's clock.
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}
