//! The queue, the posting history and the locks in memory.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::account::PostMethod;
use storyline_domain::library::MediaId;
use storyline_domain::ports::{Pending, Queue, SendFailure, StoreError};
use storyline_domain::queue::{
    Claimed, HistoryEntry, Outcome, QueueCounts, QueueEntry, QueueItem, QueueItemId, QueueStatus, Resolution,
    is_last_attempt,
};
use storyline_domain::schedule::{Candidate, CategoryCounts};
use storyline_domain::user::Actor;

use super::library::{Library, MediaLock, Slot};
use super::{MemoryStore, Tenant};

impl Library {
    fn entry(&self, slot: &Slot) -> Option<QueueEntry> {
        let media = self.media.get(&slot.item.media)?;
        Some(QueueEntry {
            item: slot.item.clone(),
            path: media.path.clone(),
            kind: media.kind,
            category: media.category.clone(),
            needs_interaction: media.needs_interaction,
        })
    }

    /// Queued slots by slot, then id.
    fn queued(&self) -> Vec<&Slot> {
        let mut queued: Vec<&Slot> = self.queue.iter().filter(|s| s.is_queued()).collect();
        queued.sort_by_key(|s| (s.item.slot, s.item.id));
        queued
    }

    fn slot_mut(&mut self, item: QueueItemId) -> Option<&mut Slot> {
        self.queue.iter_mut().find(|s| s.item.id == item)
    }

    /// Resolves a slot being sent or awaiting a press: done, with its history row, the media's
    /// counters and its lock, all under the one lock the caller holds.
    fn finish(
        &mut self,
        item: QueueItemId,
        outcome: Outcome,
        (actor, at): (&Actor, DateTime<Utc>),
        (method, instagram_media_id): (Option<PostMethod>, Option<String>),
    ) -> Result<Resolution, StoreError> {
        let Some(slot) = self.slot_mut(item) else {
            return Ok(Resolution::NotFound);
        };
        match slot.item.status {
            QueueStatus::Sent | QueueStatus::Sending => {}
            QueueStatus::Done => return Ok(slot.outcome.map_or(Resolution::NotFound, Resolution::AlreadyHandled)),
            QueueStatus::Pending => return Ok(Resolution::NotFound),
        }
        let media_id = slot.item.media;
        let Some(media) = self.media.get_mut(&media_id) else {
            return Err(StoreError::unknown(std::io::Error::other(format!(
                "media {media_id} of queue item {item} is gone"
            ))));
        };
        if outcome == Outcome::Posted {
            media.times_posted += 1;
            media.last_posted_at = Some(at);
        }
        let path = media.path.clone();
        if let Some(slot) = self.slot_mut(item) {
            slot.item.status = QueueStatus::Done;
            slot.outcome = Some(outcome);
        }
        self.history.push(HistoryEntry {
            media: media_id,
            path: path.clone(),
            queue_item: item,
            outcome,
            at,
            by: actor.clone(),
            error: None,
            method,
            instagram_media_id,
        });
        if let Some((reason, until)) = outcome.lock(at) {
            self.locks.insert(media_id, MediaLock { reason, until });
        }
        Ok(Resolution::Resolved { outcome, path })
    }

    /// Whether the slot may be claimed by the posting loop at `now`.
    fn is_due(slot: &Slot, now: DateTime<Utc>) -> bool {
        match slot.item.status {
            QueueStatus::Pending => slot.item.slot <= now,
            QueueStatus::Sending => slot.claimed_until.is_some_and(|until| until < now),
            QueueStatus::Sent | QueueStatus::Done => false,
        }
    }
}

/// Claims the slot `item` of `tenant` until `until`.
fn claim(tenant: &mut Tenant, item: QueueItemId, until: DateTime<Utc>) -> Option<Claimed> {
    let chat = tenant.workspace.chat_id;
    let library = &mut tenant.library;
    let slot = library.slot_mut(item)?;
    slot.item.status = QueueStatus::Sending;
    slot.item.attempts += 1;
    slot.claimed_until = Some(until);
    let slot = slot.clone();
    Some(Claimed { entry: library.entry(&slot)?, chat })
}

#[async_trait]
impl Queue for MemoryStore {
    async fn candidates(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        per_category: u32,
    ) -> Result<Vec<Candidate>, StoreError> {
        let state = self.state();
        let Some(tenant) = state.workspaces.get(&workspace) else {
            return Ok(Vec::new());
        };
        let mut available: Vec<_> = tenant.library.available(now).collect();
        available
            .sort_by(|a, b| (&a.category, a.last_posted_at, &a.path).cmp(&(&b.category, b.last_posted_at, &b.path)));
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut taken = 0;
        for (i, item) in available.iter().enumerate() {
            if i == 0 || available[i - 1].category != item.category {
                taken = 0;
            }
            if taken < per_category {
                taken += 1;
                candidates.push(Candidate {
                    media: item.id,
                    category: item.category.clone(),
                    last_posted_at: item.last_posted_at,
                });
            }
        }
        Ok(candidates)
    }

    async fn last_slot(&self, workspace: WorkspaceId) -> Result<Option<DateTime<Utc>>, StoreError> {
        let state = self.state();
        Ok(state
            .workspaces
            .get(&workspace)
            .and_then(|t| t.library.queue.iter().filter(|s| s.is_queued()).map(|s| s.item.slot).max()))
    }

    async fn slots(
        &self,
        workspace: WorkspaceId,
        from: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, QueueStatus)>, StoreError> {
        let state = self.state();
        let Some(tenant) = state.workspaces.get(&workspace) else {
            return Ok(Vec::new());
        };
        let mut slots: Vec<_> = tenant.library.queue.iter().filter(|s| s.item.slot >= from).collect();
        slots.sort_by_key(|s| (s.item.slot, s.item.id));
        Ok(slots.into_iter().map(|s| (s.item.slot, s.item.status)).collect())
    }

    async fn category_counts(
        &self,
        workspace: WorkspaceId,
        posted_since: DateTime<Utc>,
    ) -> Result<CategoryCounts, StoreError> {
        let state = self.state();
        let Some(tenant) = state.workspaces.get(&workspace) else {
            return Ok(CategoryCounts::new());
        };
        let library = &tenant.library;
        let queued = library.queue.iter().filter(|s| s.is_queued()).map(|s| s.item.media);
        let posted = library
            .history
            .iter()
            .filter(|entry| entry.outcome == Outcome::Posted && entry.at >= posted_since)
            .map(|entry| entry.media);
        let mut counts = CategoryCounts::new();
        for media in queued.chain(posted) {
            if let Some(item) = library.media.get(&media) {
                *counts.entry(item.category.clone()).or_default() += 1;
            }
        }
        Ok(counts)
    }

    async fn enqueue(&self, workspace: WorkspaceId, plan: &[(DateTime<Utc>, MediaId)]) -> Result<u64, StoreError> {
        let mut state = self.state();
        let Some(tenant) = state.workspaces.get_mut(&workspace) else {
            return Ok(0);
        };
        let library = &mut tenant.library;
        let mut queued: HashSet<MediaId> =
            library.queue.iter().filter(|s| s.is_queued()).map(|s| s.item.media).collect();
        let mut count = 0;
        for &(slot, media) in plan {
            if !library.media.contains_key(&media) || !queued.insert(media) {
                continue;
            }
            library.queue.push(Slot {
                item: QueueItem {
                    id: QueueItemId::new(),
                    workspace,
                    media,
                    slot,
                    status: QueueStatus::Pending,
                    attempts: 0,
                    message_id: None,
                    container: None,
                },
                outcome: None,
                claimed_until: None,
            });
            count += 1;
        }
        Ok(count)
    }

    async fn entries(&self, workspace: WorkspaceId, limit: u32) -> Result<Vec<QueueEntry>, StoreError> {
        let state = self.state();
        let Some(tenant) = state.workspaces.get(&workspace) else {
            return Ok(Vec::new());
        };
        let library = &tenant.library;
        Ok(library.queued().into_iter().take(limit as usize).filter_map(|s| library.entry(s)).collect())
    }

    async fn entry(&self, workspace: WorkspaceId, item: QueueItemId) -> Result<Option<QueueEntry>, StoreError> {
        let state = self.state();
        let Some(tenant) = state.workspaces.get(&workspace) else {
            return Ok(None);
        };
        let library = &tenant.library;
        Ok(library.queued().into_iter().find(|s| s.item.id == item).and_then(|s| library.entry(s)))
    }

    async fn counts(&self, workspace: WorkspaceId, now: DateTime<Utc>) -> Result<QueueCounts, StoreError> {
        let state = self.state();
        let Some(tenant) = state.workspaces.get(&workspace) else {
            return Ok(QueueCounts::default());
        };
        let mut counts = QueueCounts::default();
        for slot in &tenant.library.queue {
            match slot.item.status {
                QueueStatus::Pending => {
                    counts.pending += 1;
                    if slot.item.slot <= now {
                        counts.due += 1;
                    }
                }
                QueueStatus::Sent => counts.awaiting_press += 1,
                QueueStatus::Sending | QueueStatus::Done => {}
            }
        }
        for entry in &tenant.library.history {
            match entry.outcome {
                Outcome::Posted => counts.posted += 1,
                Outcome::Skipped => counts.skipped += 1,
                Outcome::Rejected => counts.rejected += 1,
                Outcome::Failed => counts.failed += 1,
            }
        }
        Ok(counts)
    }

    async fn clear(&self, workspace: WorkspaceId, due_by: Option<DateTime<Utc>>) -> Result<u64, StoreError> {
        let mut state = self.state();
        let Some(tenant) = state.workspaces.get_mut(&workspace) else {
            return Ok(0);
        };
        let queue = &mut tenant.library.queue;
        let before = queue.len();
        queue.retain(|s| !(s.item.status == QueueStatus::Pending && due_by.is_none_or(|by| s.item.slot <= by)));
        Ok((before - queue.len()) as u64)
    }

    async fn claim_due(&self, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Vec<Claimed>, StoreError> {
        let mut state = self.state();
        let mut picks: Vec<(DateTime<Utc>, QueueItemId, WorkspaceId)> = state
            .workspaces
            .values()
            .filter(|t| !t.settings.is_paused())
            .filter_map(|t| {
                t.library
                    .queue
                    .iter()
                    .filter(|s| Library::is_due(s, now))
                    .min_by_key(|s| (s.item.slot, s.item.id))
                    .map(|s| (s.item.slot, s.item.id, t.workspace.id))
            })
            .collect();
        picks.sort_unstable();
        picks.truncate(limit as usize);
        let mut claimed = Vec::with_capacity(picks.len());
        for (_, item, workspace) in picks {
            if let Some(claim) = state.workspaces.get_mut(&workspace).and_then(|t| claim(t, item, now + lease)) {
                claimed.push(claim);
            }
        }
        Ok(claimed)
    }

    async fn claim_next(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Claimed>, StoreError> {
        let mut state = self.state();
        let Some(tenant) = state.workspaces.get_mut(&workspace) else {
            return Ok(None);
        };
        let next = tenant
            .library
            .queue
            .iter()
            .filter(|s| s.item.status == QueueStatus::Pending)
            .min_by_key(|s| (s.item.slot, s.item.id))
            .map(|s| s.item.id);
        Ok(next.and_then(|item| claim(tenant, item, now + lease)))
    }

    async fn mark_sent(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        message_id: i32,
        _at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let slot = state
            .workspaces
            .get_mut(&workspace)
            .and_then(|t| t.library.slot_mut(item))
            .filter(|s| s.item.status == QueueStatus::Sending);
        Ok(slot.is_some_and(|slot| {
            slot.item.status = QueueStatus::Sent;
            slot.item.message_id = Some(message_id);
            slot.claimed_until = None;
            true
        }))
    }

    async fn send_failed(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<SendFailure, StoreError> {
        let mut state = self.state();
        let Some(library) = state.workspaces.get_mut(&workspace).map(|t| &mut t.library) else {
            return Ok(SendFailure::NotSending);
        };
        let Some(slot) = library.slot_mut(item).filter(|s| s.item.status == QueueStatus::Sending) else {
            return Ok(SendFailure::NotSending);
        };
        slot.claimed_until = None;
        if !is_last_attempt(slot.item.attempts) {
            slot.item.status = QueueStatus::Pending;
            return Ok(SendFailure::WillRetry(slot.item.attempts));
        }
        slot.item.status = QueueStatus::Done;
        slot.outcome = Some(Outcome::Failed);
        let media = slot.item.media;
        let path = library.media.get(&media).map(|m| m.path.clone()).unwrap_or_default();
        library.history.push(HistoryEntry {
            media,
            path,
            queue_item: item,
            outcome: Outcome::Failed,
            at,
            by: Actor::System,
            error: Some(error.to_owned()),
            method: None,
            instagram_media_id: None,
        });
        Ok(SendFailure::GaveUp)
    }

    async fn resolve(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        outcome: Outcome,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Resolution, StoreError> {
        let method = (outcome == Outcome::Posted).then_some(PostMethod::Telegram);
        let mut state = self.state();
        let Some(library) = state.workspaces.get_mut(&workspace).map(|t| &mut t.library) else {
            return Ok(Resolution::NotFound);
        };
        library.finish(item, outcome, (actor, at), (method, None))
    }

    async fn set_container(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        attempt: u32,
        container: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.renew(workspace, item, attempt, Some(container), lease_until))
    }

    async fn renew_claim(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        attempt: u32,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.renew(workspace, item, attempt, None, lease_until))
    }

    async fn published(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        media_id: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<Resolution, StoreError> {
        let mut state = self.state();
        let Some(library) = state.workspaces.get_mut(&workspace).map(|t| &mut t.library) else {
            return Ok(Resolution::NotFound);
        };
        library.finish(item, Outcome::Posted, (&Actor::System, at), (Some(PostMethod::Api), media_id))
    }

    async fn reschedule(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        which: Pending,
        slots: &[DateTime<Utc>],
    ) -> Result<u64, StoreError> {
        let mut state = self.state();
        let Some(tenant) = state.workspaces.get_mut(&workspace) else {
            return Ok(0);
        };
        let library = &mut tenant.library;
        let overdue: Vec<QueueItemId> = library
            .queued()
            .into_iter()
            .filter(|s| s.item.status == QueueStatus::Pending && ((s.item.slot <= now) == (which == Pending::Overdue)))
            .map(|s| s.item.id)
            .collect();
        let mut moved = 0;
        for (item, &slot) in overdue.into_iter().zip(slots) {
            if let Some(queued) = library.slot_mut(item) {
                queued.item.slot = slot;
                moved += 1;
            }
        }
        Ok(moved)
    }
}

impl MemoryStore {
    /// Renews the lease of an item still being sent under claim `attempt`, remembering
    /// `container` when given (`Queue::set_container`, `Queue::renew_claim`).
    fn renew(
        &self,
        workspace: WorkspaceId,
        item: QueueItemId,
        attempt: u32,
        container: Option<&str>,
        lease_until: DateTime<Utc>,
    ) -> bool {
        let mut state = self.state();
        let slot = state
            .workspaces
            .get_mut(&workspace)
            .and_then(|t| t.library.slot_mut(item))
            .filter(|s| s.item.status == QueueStatus::Sending && s.item.attempts == attempt);
        slot.is_some_and(|slot| {
            if let Some(container) = container {
                slot.item.container = Some(container.to_owned());
            }
            slot.claimed_until = Some(lease_until);
            true
        })
    }
}
