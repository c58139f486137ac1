//! The database as the bot last found it. While it is known to be down, every update is
//! answered at once instead of each waiting for the store's own timeout; a probe run in the
//! background ([`super::Bot::probe_database`]) notices its return.

use std::sync::atomic::{AtomicBool, Ordering};

/// Said while the database is known to be down.
pub const DATABASE_DOWN: &str = "The database is not answering; nothing was changed. Please try again in a minute.";

/// Whether the database is known to be down.
#[derive(Debug, Default)]
pub(super) struct Outage {
    down: AtomicBool,
}

impl Outage {
    pub(super) fn is_down(&self) -> bool {
        self.down.load(Ordering::SeqCst)
    }

    /// The store did not answer; returns whether that is news.
    pub(super) fn went_down(&self) -> bool {
        !self.down.swap(true, Ordering::SeqCst)
    }

    /// The store answered; returns whether that is news.
    pub(super) fn came_back(&self) -> bool {
        self.down.swap(false, Ordering::SeqCst)
    }
}
