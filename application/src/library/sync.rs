//! Keeping a workspace's library in step with its media source (FEATURES M3): one listing, the
//! bodies of new and changed files read once, every change stored in one transaction, a summary.
//! The pure part — what changes — is [`plan`]; this file does the I/O around it and tells the
//! chat when the source stops answering and when it answers again, once each.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use storyline_domain::chat::Screen;
use storyline_domain::ports::{ChatNotifier, Clock, LibrarySync, MediaSource, SourceError, SourceStore, StoreError};
use storyline_domain::source::{SyncStatus, SyncSummary};
use storyline_domain::{ChatId, Workspace, WorkspaceId};

use super::{Progress, unreadable};
use crate::errors::error_chain;

pub mod plan;

/// Why a sync did not run to its end. Nothing was changed then.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("a sync of this library is running already")]
    Busy,
    /// The source did not answer, refused the credentials, or its root is gone: the chat was
    /// told when this began (once per outage).
    #[error("the media source cannot be reached: {0}")]
    Unreachable(SourceError),
    #[error("the media source could not be listed")]
    Source(#[source] SourceError),
    #[error("the library could not be saved")]
    Store(#[from] StoreError),
}

/// What the chat is told when its source stops answering.
#[must_use]
pub fn outage_text(error: &SourceError) -> String {
    format!(
        "⚠️ The media source cannot be reached: {error}. The library stays as it is, and queued stories of it may fail; I will say here when it answers again."
    )
}

/// What the chat is told when its source answers again.
pub const BACK_TEXT: &str = "✅ The media source answers again; the library is in step with it.";

/// Syncs workspaces' libraries with their sources.
#[derive(Clone)]
pub struct SyncService {
    library: Arc<dyn LibrarySync>,
    status: Arc<dyn SourceStore>,
    clock: Arc<dyn Clock>,
    notifier: Option<Arc<dyn ChatNotifier>>,
    /// The workspaces being synced now: one run at a time each.
    running: Arc<Mutex<HashSet<WorkspaceId>>>,
}

impl std::fmt::Debug for SyncService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncService").field("notifier", &self.notifier.is_some()).finish_non_exhaustive()
    }
}

/// A workspace's turn to sync; given back when dropped.
struct Turn {
    running: Arc<Mutex<HashSet<WorkspaceId>>>,
    workspace: WorkspaceId,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.running.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.workspace);
    }
}

impl SyncService {
    #[must_use]
    pub fn new(library: Arc<dyn LibrarySync>, status: Arc<dyn SourceStore>, clock: Arc<dyn Clock>) -> Self {
        Self { library, status, clock, notifier: None, running: Arc::default() }
    }

    /// The same service, telling each workspace's chat through `notifier` when its source stops
    /// answering and when it answers again.
    #[must_use]
    pub fn telling(self, notifier: Arc<dyn ChatNotifier>) -> Self {
        Self { notifier: Some(notifier), ..self }
    }

    fn turn(&self, workspace: WorkspaceId) -> Result<Turn, SyncError> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if !running.insert(workspace) {
            return Err(SyncError::Busy);
        }
        Ok(Turn { running: self.running.clone(), workspace })
    }

    async fn tell(&self, chat: ChatId, text: String) {
        if let Some(notifier) = &self.notifier
            && let Err(error) = notifier.send(chat, &Screen::new(text)).await
        {
            tracing::warn!(%chat, error = %error_chain(&error), "could not tell the chat about its media source");
        }
    }

    /// The last sync of the workspace and whether its source answers.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn status(&self, workspace: WorkspaceId) -> Result<SyncStatus, StoreError> {
        self.status.sync_status(workspace).await
    }

    /// Brings the workspace's library in step with `source`: one listing; the bodies of new and
    /// changed files read once (an unchanged file is judged by its listing alone); the changes
    /// stored in one transaction; the summary recorded. A file that cannot be read is refused and
    /// skipped. `progress` counts the files read.
    ///
    /// # Errors
    /// [`SyncError::Unreachable`] when the source cannot be listed (the chat is told once per
    /// outage); [`SyncError::Busy`] while another sync of the workspace runs; [`SyncError::Store`]
    /// when the store fails. Nothing changes then.
    pub async fn sync(
        &self,
        workspace: &Workspace,
        source: &dyn MediaSource,
        progress: &dyn Progress,
    ) -> Result<SyncSummary, SyncError> {
        let _turn = self.turn(workspace.id)?;
        let status = self.status.sync_status(workspace.id).await?;
        let listing = match source.list().await {
            Ok(listing) => listing,
            Err(error @ (SourceError::Unreachable(_) | SourceError::Denied(_) | SourceError::NoSuchRoot(_))) => {
                // Info, not a warning: the person is told in words (the chat, or the command line's one line).
                tracing::info!(workspace_id = %workspace.id, error = %error_chain(&error), "the media source cannot be reached");
                if status.unreachable_since.is_none() {
                    let since = Some(self.clock.now());
                    self.status.record_sync(workspace.id, &SyncStatus { unreachable_since: since, ..status }).await?;
                    self.tell(workspace.chat_id, outage_text(&error)).await;
                }
                return Err(SyncError::Unreachable(error));
            }
            Err(error) => return Err(SyncError::Source(error)),
        };
        let known = self.library.synced_items(workspace.id).await?;
        let triage = plan::triage(known, listing);
        progress.start(triage.to_read().len() as u64);
        let mut reads = HashMap::with_capacity(triage.to_read().len());
        for entry in triage.to_read() {
            progress.advance(&entry.path);
            let read = source.describe(&entry.path).await.map_err(|error| {
                tracing::info!(path = %entry.path, error = %error_chain(&error), "a file of the media source cannot be read");
                unreadable(&error)
            });
            reads.insert(entry.path.clone(), read);
        }
        let plan = triage.finish(reads);
        let now = self.clock.now();
        let mut summary = plan.summary;
        let changes = &plan.changes;
        if !(changes.added.is_empty() && changes.updated.is_empty() && changes.removed.is_empty()) {
            summary.dropped_from_queue = self.library.apply_sync(workspace.id, changes, now).await?.dropped_from_queue;
        }
        let was_down = status.unreachable_since.is_some();
        let done =
            SyncStatus { last_synced_at: Some(now), last_summary: Some(summary.clone()), unreachable_since: None };
        self.status.record_sync(workspace.id, &done).await?;
        if was_down {
            self.tell(workspace.chat_id, BACK_TEXT.to_owned()).await;
        }
        progress.finish();
        tracing::info!(
            workspace_id = %workspace.id,
            added = summary.added,
            moved = summary.moved,
            removed = summary.removed,
            reactivated = summary.reactivated,
            refused = summary.refused.len(),
            unchanged = summary.unchanged,
            dropped_from_queue = summary.dropped_from_queue,
            "media sync"
        );
        Ok(summary)
    }
}

/// The summary in one line for people: `3 added, 1 moved, 0 removed, 0 reactivated, 1 refused,
/// 120 unchanged`.
#[must_use]
pub fn summary_line(summary: &SyncSummary) -> String {
    format!(
        "{} added, {} moved, {} removed, {} reactivated, {} refused, {} unchanged",
        summary.added,
        summary.moved,
        summary.removed,
        summary.reactivated,
        summary.refused.len(),
        summary.unchanged
    )
}

#[cfg(test)]
mod tests;
