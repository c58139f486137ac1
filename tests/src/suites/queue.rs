//! The `Queue`, `History` and `Locks` contracts.

mod booked;

pub use booked::*;

use std::collections::{BTreeSet, HashMap};

use anyhow::{Context, ensure};
use chrono::{DateTime, Duration, Utc};
use storyline_domain::WorkspaceId;
use storyline_domain::account::PostMethod;
use storyline_domain::library::{MediaId, MediaItem, MediaKind};
use storyline_domain::ports::{MediaQuery, Pending, SendFailure};
use storyline_domain::queue::{
    Claimed, LockReason, MAX_SEND_ATTEMPTS, Outcome, QueueCounts, QueueItemId, QueueStatus, REPOST_LOCK, Resolution,
    SKIP_LOCK,
};
use storyline_domain::settings::{SettingChange, SettingsDefaults, Toggle};
use storyline_domain::user::{Actor, TelegramUserId};
use storyline_domain::{ChatId, Workspace};

use super::{instant, new_media, two_workspaces};
use crate::{Backend, Stores, TestResult};

const LEASE: Duration = Duration::minutes(5);
const ALICE: Actor = Actor::User(TelegramUserId(7));

/// Adds `files` (path, content) to the workspace's library and returns its media by path.
async fn stock(stores: &Stores, workspace: WorkspaceId, files: &[(&str, u64)]) -> anyhow::Result<Vec<MediaItem>> {
    let new: Vec<_> = files.iter().map(|&(path, content)| new_media(path, content)).collect();
    stores.library.add(workspace, &new, instant(0)).await?;
    Ok(stores.library.media(workspace, &MediaQuery { category: None, limit: 1000 }).await?)
}

/// Queues `media` at `slot`, claims it with /next and marks it sent as message 100: it then
/// waits for a press. The workspace must have nothing else pending.
async fn sent(
    stores: &Stores,
    workspace: WorkspaceId,
    media: MediaId,
    slot: DateTime<Utc>,
) -> anyhow::Result<QueueItemId> {
    ensure!(stores.queue.enqueue(workspace, &[(slot, media)]).await? == 1, "queued");
    let claimed = stores.queue.claim_next(workspace, slot, LEASE).await?.context("claimed")?;
    ensure!(claimed.entry.item.media == media);
    ensure!(stores.queue.mark_sent(workspace, claimed.entry.item.id, 100, slot).await?);
    Ok(claimed.entry.item.id)
}

fn media_of(claimed: &[Claimed]) -> Vec<MediaId> {
    claimed.iter().map(|c| c.entry.item.media).collect()
}

pub async fn candidates_are_free_media_never_posted_first_a_few_per_category(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let media = stock(
        stores,
        workspace.id,
        &[
            ("memes/a.jpg", 1),
            ("memes/b.jpg", 2),
            ("memes/c.jpg", 3),
            ("memes/d.jpg", 4),
            ("memes/e.jpg", 5),
            ("merch/f.jpg", 6),
            ("merch/g.jpg", 7),
        ],
    )
    .await?;
    let by_path: HashMap<&str, MediaId> = media.iter().map(|m| (m.path.as_str(), m.id)).collect();
    // a posted at 1, b posted at 2 (then its lock runs out), c rejected, d queued, e never posted.
    let a = sent(stores, workspace.id, by_path["memes/a.jpg"], instant(1)).await?;
    stores.queue.resolve(workspace.id, a, Outcome::Posted, &ALICE, instant(1)).await?;
    let b = sent(stores, workspace.id, by_path["memes/b.jpg"], instant(2)).await?;
    stores.queue.resolve(workspace.id, b, Outcome::Posted, &ALICE, instant(2)).await?;
    let c = sent(stores, workspace.id, by_path["memes/c.jpg"], instant(3)).await?;
    stores.queue.resolve(workspace.id, c, Outcome::Rejected, &ALICE, instant(3)).await?;
    stores.queue.enqueue(workspace.id, &[(instant(100), by_path["memes/d.jpg"])]).await?;

    let now = instant(2) + REPOST_LOCK + Duration::minutes(1);
    let all = stores.queue.candidates(workspace.id, now, 10).await?;
    let seen: Vec<(&str, Option<DateTime<Utc>>)> = all
        .iter()
        .map(|c| (media.iter().find(|m| m.id == c.media).map_or("?", |m| m.path.as_str()), c.last_posted_at))
        .collect();
    ensure!(
        seen == vec![
            ("memes/e.jpg", None),
            ("memes/a.jpg", Some(instant(1))),
            ("memes/b.jpg", Some(instant(2))),
            ("merch/f.jpg", None),
            ("merch/g.jpg", None),
        ],
        "not locked, not queued; never posted first, then least recently posted: {seen:?}"
    );
    ensure!(all.iter().all(|c| c.category.as_str() == "memes" || c.category.as_str() == "merch"));
    let two = stores.queue.candidates(workspace.id, now, 1).await?;
    ensure!(
        two.iter().map(|c| c.media).collect::<Vec<_>>() == vec![by_path["memes/e.jpg"], by_path["merch/f.jpg"]],
        "the best one per category"
    );
    let locked = stores.queue.candidates(workspace.id, instant(10), 10).await?;
    ensure!(locked.len() == 3, "a and b are still locked at first: {locked:?}");
    Ok(())
}

pub async fn enqueue_leaves_out_media_already_queued(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let media = stock(stores, workspace.id, &[("memes/a.jpg", 1), ("memes/b.jpg", 2), ("memes/c.jpg", 3)]).await?;
    let (a, b, c) = (media[0].id, media[1].id, media[2].id);
    ensure!(stores.queue.last_slot(workspace.id).await?.is_none());
    let queued = stores.queue.enqueue(workspace.id, &[(instant(30), a), (instant(10), b), (instant(20), a)]).await?;
    ensure!(queued == 2, "a second slot for a in the same plan is left out: {queued}");
    let again = stores.queue.enqueue(workspace.id, &[(instant(40), b), (instant(50), c)]).await?;
    ensure!(again == 1, "b is already queued: {again}");
    ensure!(stores.queue.enqueue(workspace.id, &[(instant(60), MediaId::new())]).await? == 0, "unknown media");
    let entries = stores.queue.entries(workspace.id, 10).await?;
    let seen: Vec<_> = entries.iter().map(|e| (e.item.slot, e.path.as_str(), e.item.status)).collect();
    ensure!(
        seen == vec![
            (instant(10), "memes/b.jpg", QueueStatus::Pending),
            (instant(30), "memes/a.jpg", QueueStatus::Pending),
            (instant(50), "memes/c.jpg", QueueStatus::Pending),
        ],
        "by slot: {seen:?}"
    );
    let first = &entries[0];
    ensure!(first.item.workspace == workspace.id && first.item.attempts == 0 && first.item.message_id.is_none());
    ensure!(first.kind == MediaKind::Image && first.category.as_str() == "memes");
    ensure!(stores.queue.entries(workspace.id, 2).await?.len() == 2);
    ensure!(stores.queue.last_slot(workspace.id).await? == Some(instant(50)));
    ensure!(stores.queue.candidates(workspace.id, instant(0), 10).await?.is_empty(), "everything is queued");

    // Once handled, the media may be queued again.
    let claimed = stores.queue.claim_next(workspace.id, instant(0), LEASE).await?.context("b")?;
    stores.queue.mark_sent(workspace.id, claimed.entry.item.id, 5, instant(11)).await?;
    stores.queue.resolve(workspace.id, claimed.entry.item.id, Outcome::Skipped, &ALICE, instant(12)).await?;
    let later = instant(12) + SKIP_LOCK + Duration::minutes(1);
    ensure!(stores.queue.enqueue(workspace.id, &[(later, b)]).await? == 1);
    ensure!(stores.queue.last_slot(workspace.id).await? == Some(later));
    Ok(())
}

pub async fn the_posting_loop_claims_one_due_item_per_unpaused_workspace(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    let c = stores.settings.ensure_workspace(ChatId(-1003), "Team C", &SettingsDefaults::default(), instant(0)).await?;
    let in_a = stock(stores, a.id, &[("memes/a1.jpg", 1), ("memes/a2.jpg", 2), ("memes/a3.jpg", 3)]).await?;
    let in_b = stock(stores, b.id, &[("memes/b1.jpg", 1)]).await?;
    let in_c = stock(stores, c.id, &[("memes/c1.jpg", 1)]).await?;
    stores
        .queue
        .enqueue(a.id, &[(instant(5), in_a[1].id), (instant(3), in_a[0].id), (instant(50), in_a[2].id)])
        .await?;
    stores.queue.enqueue(b.id, &[(instant(4), in_b[0].id)]).await?;
    stores.queue.enqueue(c.id, &[(instant(1), in_c[0].id)]).await?;
    stores.settings.apply(c.id, SettingChange::Set(Toggle::Paused, true), &Actor::Cli, instant(0)).await?;

    ensure!(stores.queue.claim_due(instant(2), LEASE, 10).await?.is_empty(), "nothing due yet (c is paused)");
    let claimed = stores.queue.claim_due(instant(10), LEASE, 10).await?;
    ensure!(media_of(&claimed) == vec![in_a[0].id, in_b[0].id], "each workspace's earliest, most overdue first");
    let first = &claimed[0];
    ensure!(first.chat == a.chat_id && first.entry.path == "memes/a1.jpg" && first.entry.item.slot == instant(3));
    ensure!(first.entry.item.status == QueueStatus::Sending && first.entry.item.attempts == 1);
    ensure!(claimed[1].chat == b.chat_id);

    let next = stores.queue.claim_due(instant(10), LEASE, 1).await?;
    ensure!(media_of(&next) == vec![in_a[1].id], "a's next due item; the limit holds: {next:?}");
    ensure!(stores.queue.claim_due(instant(10), LEASE, 10).await?.is_empty(), "a3 is not due, c is paused");

    // A claim whose lease ran out (the process died) is claimed again, counting an attempt.
    ensure!(stores.queue.mark_sent(b.id, claimed[1].entry.item.id, 77, instant(11)).await?);
    let expired = instant(10) + LEASE + Duration::seconds(1);
    let again = stores.queue.claim_due(expired, LEASE, 10).await?;
    ensure!(media_of(&again) == vec![in_a[0].id], "the earliest expired lease of a; b's item is sent: {again:?}");
    ensure!(again[0].entry.item.attempts == 2);

    stores.settings.apply(c.id, SettingChange::Set(Toggle::Paused, false), &Actor::Cli, instant(12)).await?;
    let resumed = stores.queue.claim_due(expired, LEASE, 10).await?;
    ensure!(resumed.iter().any(|c| c.entry.item.media == in_c[0].id), "c after /resume: {resumed:?}");
    Ok(())
}

pub async fn concurrent_claimers_never_claim_the_same_item(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let defaults = SettingsDefaults::default();
    let mut expected = BTreeSet::new();
    for n in 0..10 {
        let workspace = stores.settings.ensure_workspace(ChatId(-5000 - n), "Team", &defaults, instant(0)).await?;
        let files: Vec<(String, u64)> = (0..5).map(|i| (format!("memes/{i}.jpg"), i)).collect();
        let files: Vec<(&str, u64)> = files.iter().map(|(p, i)| (p.as_str(), *i)).collect();
        let media = stock(stores, workspace.id, &files).await?;
        let plan: Vec<_> = media.iter().zip(0..).map(|(m, minute)| (instant(minute), m.id)).collect();
        stores.queue.enqueue(workspace.id, &plan).await?;
        expected.extend(stores.queue.entries(workspace.id, 10).await?.into_iter().map(|e| e.item.id));
    }
    ensure!(expected.len() == 50);
    let mut claimed: Vec<QueueItemId> = Vec::new();
    for _tick in 0..60 {
        let claimers = (0..8).map(|_| {
            let queue = stores.queue.clone();
            tokio::spawn(async move { queue.claim_due(instant(10), Duration::hours(1), 3).await })
        });
        let mut got_any = false;
        for claimer in futures::future::join_all(claimers).await {
            let batch = claimer??;
            let workspaces: BTreeSet<i64> = batch.iter().map(|c| c.chat.0).collect();
            ensure!(workspaces.len() == batch.len(), "at most one item per workspace in one claim");
            ensure!(batch.len() <= 3, "the limit holds");
            got_any |= !batch.is_empty();
            claimed.extend(batch.into_iter().map(|c| c.entry.item.id));
        }
        if !got_any {
            break;
        }
    }
    let unique: BTreeSet<QueueItemId> = claimed.iter().copied().collect();
    ensure!(
        unique.len() == claimed.len(),
        "an item was claimed twice: {} claims, {} items",
        claimed.len(),
        unique.len()
    );
    ensure!(unique == expected, "every due item was claimed: {} of {}", unique.len(), expected.len());
    Ok(())
}

pub async fn next_claims_the_earliest_pending_item_due_or_not_paused_or_not(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let media = stock(stores, workspace.id, &[("memes/a.jpg", 1), ("memes/b.jpg", 2)]).await?;
    stores.queue.enqueue(workspace.id, &[(instant(200), media[0].id), (instant(100), media[1].id)]).await?;
    stores.settings.apply(workspace.id, SettingChange::Set(Toggle::Paused, true), &Actor::Cli, instant(0)).await?;
    let next = stores.queue.claim_next(workspace.id, instant(1), LEASE).await?.context("b")?;
    ensure!(next.entry.item.media == media[1].id && next.chat == workspace.chat_id);
    ensure!(next.entry.item.status == QueueStatus::Sending && next.entry.item.attempts == 1);
    let then = stores.queue.claim_next(workspace.id, instant(1), LEASE).await?.context("a")?;
    ensure!(then.entry.item.media == media[0].id);
    ensure!(stores.queue.claim_next(workspace.id, instant(1), LEASE).await?.is_none(), "nothing pending");
    ensure!(stores.queue.claim_due(instant(1000), LEASE, 10).await?.is_empty(), "paused: leases are not taken over");
    Ok(())
}

pub async fn a_press_before_the_send_is_marked_resolves_the_story_for_good(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let media = stock(stores, workspace.id, &[("memes/a.jpg", 1)]).await?;
    stores.queue.enqueue(workspace.id, &[(instant(1), media[0].id)]).await?;
    let claimed = stores.queue.claim_due(instant(1), LEASE, 10).await?;
    let item = claimed[0].entry.item.id;
    // The story is in the chat and pressed before its sender recorded it as sent.
    let pressed = stores.queue.resolve(workspace.id, item, Outcome::Posted, &ALICE, instant(2)).await?;
    ensure!(matches!(pressed, Resolution::Resolved { outcome: Outcome::Posted, .. }), "{pressed:?}");
    ensure!(!stores.queue.mark_sent(workspace.id, item, 42, instant(2)).await?, "the late mark changes nothing");
    ensure!(stores.queue.send_failed(workspace.id, item, "late", instant(2)).await? == SendFailure::NotSending);
    let later = instant(1) + LEASE + Duration::minutes(1);
    ensure!(stores.queue.claim_due(later, LEASE, 10).await?.is_empty(), "a handled story is never sent again");
    ensure!(stores.history.history(workspace.id, 10).await?.len() == 1);
    Ok(())
}

pub async fn a_press_resolves_a_sent_item_once_with_history_lock_and_counters(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let media = stock(stores, workspace.id, &[("memes/a.jpg", 1)]).await?;
    let a = media[0].id;
    stores.queue.enqueue(workspace.id, &[(instant(1), a)]).await?;
    let item = stores.queue.entries(workspace.id, 1).await?[0].item.id;
    ensure!(
        stores.queue.resolve(workspace.id, item, Outcome::Posted, &ALICE, instant(2)).await? == Resolution::NotFound,
        "a pending item is not awaiting a press"
    );
    ensure!(!stores.queue.mark_sent(workspace.id, item, 9, instant(2)).await?, "not being sent");
    let claimed = stores.queue.claim_due(instant(1), LEASE, 10).await?;
    ensure!(media_of(&claimed) == vec![a]);
    ensure!(stores.queue.mark_sent(workspace.id, item, 42, instant(2)).await?);
    ensure!(!stores.queue.mark_sent(workspace.id, item, 43, instant(2)).await?, "only once");
    let entry = stores.queue.entries(workspace.id, 1).await?;
    ensure!(entry[0].item.status == QueueStatus::Sent && entry[0].item.message_id == Some(42));
    ensure!(stores.queue.counts(workspace.id, instant(2)).await?.awaiting_press == 1);

    let resolved = stores.queue.resolve(workspace.id, item, Outcome::Posted, &ALICE, instant(3)).await?;
    ensure!(
        resolved == Resolution::Resolved { outcome: Outcome::Posted, path: "memes/a.jpg".to_owned() },
        "{resolved:?}"
    );
    for outcome in [Outcome::Posted, Outcome::Rejected] {
        let second = stores.queue.resolve(workspace.id, item, outcome, &Actor::Cli, instant(4)).await?;
        ensure!(second == Resolution::AlreadyHandled(Outcome::Posted), "a second press changes nothing: {second:?}");
    }
    ensure!(stores.queue.entries(workspace.id, 10).await?.is_empty(), "done items are not queued");
    let posted = stores.library.get(workspace.id, a).await?.context("a")?;
    ensure!(posted.times_posted == 1 && posted.last_posted_at == Some(instant(3)));
    let history = stores.history.history(workspace.id, 10).await?;
    ensure!(history.len() == 1, "one history row: {history:?}");
    let row = &history[0];
    ensure!(row.media == a && row.path == "memes/a.jpg" && row.queue_item == item && row.outcome == Outcome::Posted);
    ensure!(row.at == instant(3) && row.by == ALICE && row.error.is_none());
    let locks = stores.locks.locks(workspace.id, instant(4)).await?;
    ensure!(locks.len() == 1 && locks[0].media == a && locks[0].path == "memes/a.jpg");
    ensure!(locks[0].reason == LockReason::Posted && locks[0].until == Some(instant(3) + REPOST_LOCK));
    ensure!(stores.locks.locks(workspace.id, instant(3) + REPOST_LOCK).await?.is_empty(), "ended");
    let counts = stores.queue.counts(workspace.id, instant(4)).await?;
    ensure!(counts == QueueCounts { posted: 1, ..QueueCounts::default() }, "{counts:?}");
    Ok(())
}

pub async fn skip_and_reject_lock_the_media_for_a_while_and_for_good(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let media = stock(stores, workspace.id, &[("memes/a.jpg", 1), ("memes/b.jpg", 2), ("memes/c.jpg", 3)]).await?;
    let (a, b, c) = (media[0].id, media[1].id, media[2].id);
    let item = sent(stores, workspace.id, a, instant(1)).await?;
    stores.queue.resolve(workspace.id, item, Outcome::Posted, &ALICE, instant(1)).await?;
    let item = sent(stores, workspace.id, b, instant(2)).await?;
    stores.queue.resolve(workspace.id, item, Outcome::Rejected, &ALICE, instant(2)).await?;
    let item = sent(stores, workspace.id, c, instant(3)).await?;
    stores.queue.resolve(workspace.id, item, Outcome::Skipped, &Actor::Channel, instant(3)).await?;

    let locks = stores.locks.locks(workspace.id, instant(4)).await?;
    let seen: Vec<_> = locks.iter().map(|l| (l.path.as_str(), l.reason, l.until)).collect();
    ensure!(
        seen == vec![
            ("memes/c.jpg", LockReason::Skipped, Some(instant(3) + SKIP_LOCK)),
            ("memes/a.jpg", LockReason::Posted, Some(instant(1) + REPOST_LOCK)),
            ("memes/b.jpg", LockReason::Rejected, None),
        ],
        "soonest ending first, permanent last: {seen:?}"
    );
    ensure!(stores.library.get(workspace.id, c).await?.context("c")?.times_posted == 0, "a skip is not a post");
    let after_skip = instant(3) + SKIP_LOCK;
    let free: Vec<MediaId> =
        stores.queue.candidates(workspace.id, after_skip, 10).await?.iter().map(|c| c.media).collect();
    ensure!(free == vec![c], "the skip lock has ended, the others hold: {free:?}");
    let forever = instant(3) + Duration::days(3650);
    let free: Vec<MediaId> =
        stores.queue.candidates(workspace.id, forever, 10).await?.iter().map(|c| c.media).collect();
    ensure!(free == vec![c, a], "a rejection holds for good: {free:?}");

    // A newer outcome replaces the media's lock.
    let item = sent(stores, workspace.id, c, after_skip).await?;
    stores.queue.resolve(workspace.id, item, Outcome::Posted, &ALICE, after_skip).await?;
    let locks = stores.locks.locks(workspace.id, after_skip).await?;
    ensure!(locks.len() == 3 && locks.iter().all(|l| l.media != c || l.until == Some(after_skip + REPOST_LOCK)));
    ensure!(locks.iter().any(|l| l.media == c), "{locks:?}");
    let history = stores.history.history(workspace.id, 10).await?;
    let outcomes: Vec<_> = history.iter().map(|h| (h.path.as_str(), h.outcome, h.by.clone())).collect();
    ensure!(
        outcomes
            == vec![
                ("memes/c.jpg", Outcome::Posted, ALICE),
                ("memes/c.jpg", Outcome::Skipped, Actor::Channel),
                ("memes/b.jpg", Outcome::Rejected, ALICE),
                ("memes/a.jpg", Outcome::Posted, ALICE),
            ],
        "newest first: {outcomes:?}"
    );
    ensure!(stores.history.history(workspace.id, 2).await?.len() == 2);
    let counts = stores.queue.counts(workspace.id, after_skip).await?;
    ensure!(counts.posted == 2 && counts.skipped == 1 && counts.rejected == 1 && counts.failed == 0);
    Ok(())
}

pub async fn racing_presses_resolve_an_item_exactly_once(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let media = stock(stores, workspace.id, &[("memes/a.jpg", 1)]).await?;
    let item = sent(stores, workspace.id, media[0].id, instant(1)).await?;
    let presses = (0..100).map(|n| {
        let queue = stores.queue.clone();
        let outcome = [Outcome::Posted, Outcome::Skipped, Outcome::Rejected][n % 3];
        tokio::spawn(async move { queue.resolve(workspace.id, item, outcome, &Actor::Cli, instant(2)).await })
    });
    let mut resolved = Vec::new();
    let mut already = Vec::new();
    for press in futures::future::join_all(presses).await {
        match press?? {
            Resolution::Resolved { outcome, .. } => resolved.push(outcome),
            Resolution::AlreadyHandled(outcome) => already.push(outcome),
            Resolution::NotFound => anyhow::bail!("a press found no item"),
        }
    }
    ensure!(resolved.len() == 1, "exactly one press decides: {resolved:?}");
    ensure!(already.len() == 99 && already.iter().all(|o| *o == resolved[0]), "the rest see its outcome");
    let history = stores.history.history(workspace.id, 1000).await?;
    ensure!(history.len() == 1 && history[0].outcome == resolved[0], "one history row: {history:?}");
    let expected_posts = u32::from(resolved[0] == Outcome::Posted);
    ensure!(stores.library.get(workspace.id, media[0].id).await?.context("a")?.times_posted == expected_posts);
    Ok(())
}

pub async fn a_failed_send_is_retried_then_given_up_with_a_history_row(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let media = stock(stores, workspace.id, &[("memes/a.jpg", 1)]).await?;
    stores.queue.enqueue(workspace.id, &[(instant(1), media[0].id)]).await?;
    let item = stores.queue.entries(workspace.id, 1).await?[0].item.id;
    ensure!(stores.queue.send_failed(workspace.id, item, "no", instant(1)).await? == SendFailure::NotSending);
    for attempt in 1..MAX_SEND_ATTEMPTS {
        let claimed = stores.queue.claim_due(instant(10), LEASE, 10).await?;
        ensure!(claimed.len() == 1 && claimed[0].entry.item.attempts == attempt);
        let failure = stores.queue.send_failed(workspace.id, item, "Telegram said no", instant(10)).await?;
        ensure!(failure == SendFailure::WillRetry(attempt), "{failure:?}");
        let entries = stores.queue.entries(workspace.id, 1).await?;
        ensure!(entries[0].item.status == QueueStatus::Pending && entries[0].item.slot == instant(1), "same slot");
    }
    ensure!(stores.queue.claim_due(instant(10), LEASE, 10).await?.len() == 1);
    let failure = stores.queue.send_failed(workspace.id, item, "Telegram said no", instant(11)).await?;
    ensure!(failure == SendFailure::GaveUp, "{failure:?}");
    ensure!(stores.queue.send_failed(workspace.id, item, "again", instant(12)).await? == SendFailure::NotSending);
    ensure!(stores.queue.entries(workspace.id, 10).await?.is_empty());
    ensure!(stores.queue.claim_due(instant(20), LEASE, 10).await?.is_empty());
    let history = stores.history.history(workspace.id, 10).await?;
    ensure!(history.len() == 1, "{history:?}");
    let row = &history[0];
    ensure!(row.outcome == Outcome::Failed && row.by == Actor::System && row.at == instant(11));
    ensure!(row.error.as_deref() == Some("Telegram said no") && row.path == "memes/a.jpg" && row.queue_item == item);
    ensure!(stores.locks.locks(workspace.id, instant(12)).await?.is_empty(), "a failure locks nothing");
    ensure!(
        stores.queue.resolve(workspace.id, item, Outcome::Posted, &ALICE, instant(12)).await?
            == Resolution::AlreadyHandled(Outcome::Failed)
    );
    ensure!(stores.queue.counts(workspace.id, instant(12)).await?.failed == 1);
    ensure!(stores.queue.candidates(workspace.id, instant(12), 10).await?.len() == 1, "it may be scheduled again");
    Ok(())
}

pub async fn overdue_items_are_counted_cleared_or_rescheduled(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let files: Vec<(String, u64)> = (1..=7).map(|i| (format!("memes/{i}.jpg"), i)).collect();
    let files: Vec<(&str, u64)> = files.iter().map(|(p, i)| (p.as_str(), *i)).collect();
    let media = stock(stores, workspace.id, &files).await?;
    let plan: Vec<_> = media.iter().zip([1, 2, 3, 4, 5, 100, 200]).map(|(m, at)| (instant(at), m.id)).collect();
    stores.queue.enqueue(workspace.id, &plan).await?;
    // 1 is sent and waits for a press, 2 is being sent.
    let first = stores.queue.claim_due(instant(10), LEASE, 1).await?;
    stores.queue.mark_sent(workspace.id, first[0].entry.item.id, 1, instant(10)).await?;
    stores.queue.claim_due(instant(10), LEASE, 1).await?;
    let counts = stores.queue.counts(workspace.id, instant(10)).await?;
    ensure!(
        counts == QueueCounts { pending: 5, due: 3, awaiting_press: 1, ..QueueCounts::default() },
        "3, 4 and 5 are overdue: {counts:?}"
    );

    let moved =
        stores.queue.reschedule(workspace.id, instant(10), Pending::Overdue, &[instant(150), instant(120)]).await?;
    ensure!(moved == 2, "as many as slots given: {moved}");
    let slots: Vec<_> =
        stores.queue.entries(workspace.id, 10).await?.iter().map(|e| (e.path.clone(), e.item.slot)).collect();
    ensure!(
        slots
            == vec![
                ("memes/1.jpg".to_owned(), instant(1)),
                ("memes/2.jpg".to_owned(), instant(2)),
                ("memes/5.jpg".to_owned(), instant(5)),
                ("memes/6.jpg".to_owned(), instant(100)),
                ("memes/4.jpg".to_owned(), instant(120)),
                ("memes/3.jpg".to_owned(), instant(150)),
                ("memes/7.jpg".to_owned(), instant(200)),
            ],
        "the earliest overdue get the slots in order: {slots:?}"
    );
    // The posting hours changed: the upcoming items move, the overdue one stays.
    let moved =
        stores.queue.reschedule(workspace.id, instant(10), Pending::Upcoming, &[instant(300), instant(400)]).await?;
    ensure!(moved == 2, "{moved}");
    let slots: Vec<_> =
        stores.queue.entries(workspace.id, 10).await?.iter().map(|e| (e.path.clone(), e.item.slot)).collect();
    ensure!(
        slots[2..]
            == [
                ("memes/5.jpg".to_owned(), instant(5)),
                ("memes/3.jpg".to_owned(), instant(150)),
                ("memes/7.jpg".to_owned(), instant(200)),
                ("memes/6.jpg".to_owned(), instant(300)),
                ("memes/4.jpg".to_owned(), instant(400)),
            ],
        "the earliest upcoming get the slots in order: {slots:?}"
    );

    ensure!(stores.queue.clear(workspace.id, Some(instant(10))).await? == 1, "only the overdue one");
    ensure!(stores.queue.counts(workspace.id, instant(10)).await?.due == 0);
    ensure!(stores.queue.clear(workspace.id, None).await? == 4, "every pending item");
    let left: Vec<_> = stores.queue.entries(workspace.id, 10).await?.iter().map(|e| e.item.status).collect();
    ensure!(left == vec![QueueStatus::Sent, QueueStatus::Sending], "sending and sent items stay: {left:?}");
    ensure!(stores.queue.last_slot(workspace.id).await? == Some(instant(2)));
    ensure!(stores.queue.reschedule(workspace.id, instant(1000), Pending::Overdue, &[instant(2000)]).await? == 0);
    Ok(())
}

pub async fn the_queue_survives_a_restart(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let media = stock(stores, workspace.id, &[("memes/a.jpg", 1), ("memes/b.jpg", 2)]).await?;
    let item = sent(stores, workspace.id, media[0].id, instant(1)).await?;
    stores.queue.enqueue(workspace.id, &[(instant(60), media[1].id)]).await?;
    let restarted = backend.reopen().await?;
    ensure!(restarted.queue.entries(workspace.id, 10).await? == stores.queue.entries(workspace.id, 10).await?);
    let resolved = restarted.queue.resolve(workspace.id, item, Outcome::Skipped, &ALICE, instant(2)).await?;
    ensure!(matches!(resolved, Resolution::Resolved { .. }), "a press after a restart still counts");
    ensure!(restarted.history.history(workspace.id, 10).await?.len() == 1);
    ensure!(restarted.locks.locks(workspace.id, instant(3)).await?.len() == 1);
    Ok(())
}

pub async fn a_workspace_cannot_see_claim_resolve_or_clear_another_workspaces_queue(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b): (Workspace, Workspace) = two_workspaces(stores).await?;
    let media = stock(stores, a.id, &[("memes/a.jpg", 1), ("memes/b.jpg", 2), ("memes/c.jpg", 3)]).await?;
    stock(stores, b.id, &[("memes/mine.jpg", 9)]).await?;
    let posted = sent(stores, a.id, media[0].id, instant(1)).await?;
    stores.queue.resolve(a.id, posted, Outcome::Posted, &ALICE, instant(1)).await?;
    let waiting = sent(stores, a.id, media[1].id, instant(2)).await?;
    stores.queue.enqueue(a.id, &[(instant(3), media[2].id)]).await?;
    let pending = stores.queue.entries(a.id, 10).await?[1].item.id;
    let before = stores.queue.entries(a.id, 10).await?;

    ensure!(stores.queue.enqueue(b.id, &[(instant(4), media[2].id), (instant(5), media[0].id)]).await? == 0);
    ensure!(stores.queue.entries(b.id, 10).await?.is_empty() && stores.queue.last_slot(b.id).await?.is_none());
    let candidates = stores.queue.candidates(b.id, instant(5), 10).await?;
    ensure!(candidates.len() == 1 && candidates[0].media != media[0].id, "only its own media: {candidates:?}");
    ensure!(stores.queue.counts(b.id, instant(5)).await? == QueueCounts::default());
    ensure!(stores.queue.claim_next(b.id, instant(5), LEASE).await?.is_none());
    ensure!(stores.queue.entry(b.id, pending).await?.is_none() && stores.queue.entry(b.id, waiting).await?.is_none());
    ensure!(stores.queue.entry(a.id, pending).await?.as_ref() == before.iter().find(|e| e.item.id == pending));
    ensure!(stores.queue.entry(a.id, posted).await?.is_none(), "a handled item is no longer queued");
    ensure!(!stores.queue.mark_sent(b.id, pending, 1, instant(5)).await?);
    ensure!(stores.queue.send_failed(b.id, waiting, "x", instant(5)).await? == SendFailure::NotSending);
    ensure!(stores.queue.resolve(b.id, waiting, Outcome::Rejected, &ALICE, instant(5)).await? == Resolution::NotFound);
    ensure!(stores.queue.resolve(b.id, posted, Outcome::Rejected, &ALICE, instant(5)).await? == Resolution::NotFound);
    ensure!(stores.queue.clear(b.id, None).await? == 0);
    ensure!(stores.queue.reschedule(b.id, instant(100), Pending::Overdue, &[instant(200)]).await? == 0);
    ensure!(stores.history.history(b.id, 10).await?.is_empty());
    ensure!(stores.locks.locks(b.id, instant(5)).await?.is_empty());

    ensure!(stores.queue.entries(a.id, 10).await? == before, "A's queue is untouched");
    ensure!(
        stores.history.history(a.id, 10).await?.len() == 1 && stores.locks.locks(a.id, instant(5)).await?.len() == 1
    );
    let claimed = stores.queue.claim_due(instant(5), LEASE, 10).await?;
    ensure!(claimed.len() == 1 && claimed[0].chat == a.chat_id && claimed[0].entry.item.id == pending);
    Ok(())
}

pub async fn publishing_through_the_api_records_the_method_and_media_id_once(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, other) = two_workspaces(stores).await?;
    let media = stock(stores, workspace.id, &[("memes/a.jpg", 1), ("memes/b.jpg", 2)]).await?;
    let (a, b) = (media[0].id, media[1].id);
    // Published while being sent (the API path never marks it sent).
    stores.queue.enqueue(workspace.id, &[(instant(1), a)]).await?;
    let item = stores.queue.entries(workspace.id, 1).await?[0].item.id;
    let early = stores.queue.published(workspace.id, item, Some("1790".to_owned()), instant(1)).await?;
    ensure!(early == Resolution::NotFound, "a pending item is not being published: {early:?}");
    let claimed = stores.queue.claim_next(workspace.id, instant(1), LEASE).await?.context("claimed")?;
    ensure!(claimed.entry.item.id == item);
    let across = stores.queue.published(other.id, item, Some("1790".to_owned()), instant(2)).await?;
    ensure!(across == Resolution::NotFound, "another workspace's item: {across:?}");
    let done = stores.queue.published(workspace.id, item, Some("17900000000000001".to_owned()), instant(2)).await?;
    ensure!(done == Resolution::Resolved { outcome: Outcome::Posted, path: "memes/a.jpg".to_owned() }, "{done:?}");
    let again = stores.queue.published(workspace.id, item, Some("17900000000000002".to_owned()), instant(3)).await?;
    ensure!(again == Resolution::AlreadyHandled(Outcome::Posted), "a second call changes nothing: {again:?}");
    let pressed = stores.queue.resolve(workspace.id, item, Outcome::Skipped, &ALICE, instant(3)).await?;
    ensure!(pressed == Resolution::AlreadyHandled(Outcome::Posted), "nor does a late press: {pressed:?}");

    let history = stores.history.history(workspace.id, 10).await?;
    ensure!(history.len() == 1, "one history row: {history:?}");
    let row = &history[0];
    ensure!(row.outcome == Outcome::Posted && row.by == Actor::System && row.at == instant(2), "{row:?}");
    ensure!(row.method == Some(PostMethod::Api), "{row:?}");
    ensure!(row.instagram_media_id.as_deref() == Some("17900000000000001"), "{row:?}");
    let posted = stores.library.get(workspace.id, a).await?.context("a")?;
    ensure!(posted.times_posted == 1 && posted.last_posted_at == Some(instant(2)));
    let locks = stores.locks.locks(workspace.id, instant(3)).await?;
    ensure!(
        locks.len() == 1 && locks[0].reason == LockReason::Posted && locks[0].until == Some(instant(2) + REPOST_LOCK)
    );
    ensure!(stores.queue.counts(workspace.id, instant(3)).await?.posted == 1);

    // From sent too, and without a media id (a retry found the container already published).
    let item = sent(stores, workspace.id, b, instant(4)).await?;
    let done = stores.queue.published(workspace.id, item, None, instant(5)).await?;
    ensure!(matches!(done, Resolution::Resolved { outcome: Outcome::Posted, .. }), "{done:?}");
    let row = &stores.history.history(workspace.id, 1).await?[0];
    ensure!(row.queue_item == item && row.method == Some(PostMethod::Api) && row.instagram_media_id.is_none());
    ensure!(stores.history.history(other.id, 10).await?.is_empty());
    Ok(())
}

pub async fn a_press_records_how_the_story_was_posted(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let media = stock(stores, workspace.id, &[("memes/a.jpg", 1), ("memes/b.jpg", 2)]).await?;
    let item = sent(stores, workspace.id, media[0].id, instant(1)).await?;
    stores.queue.resolve(workspace.id, item, Outcome::Posted, &ALICE, instant(2)).await?;
    let item = sent(stores, workspace.id, media[1].id, instant(3)).await?;
    stores.queue.resolve(workspace.id, item, Outcome::Skipped, &ALICE, instant(4)).await?;
    let history = stores.history.history(workspace.id, 10).await?;
    let seen: Vec<_> = history.iter().map(|h| (h.outcome, h.method, h.instagram_media_id.clone())).collect();
    ensure!(
        seen == vec![(Outcome::Skipped, None, None), (Outcome::Posted, Some(PostMethod::Telegram), None)],
        "a Posted press was posted by hand through the chat: {seen:?}"
    );
    Ok(())
}

pub async fn a_container_is_remembered_only_while_the_item_is_being_sent(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, other) = two_workspaces(stores).await?;
    let media = stock(stores, workspace.id, &[("memes/a.jpg", 1)]).await?;
    stores.queue.enqueue(workspace.id, &[(instant(1), media[0].id)]).await?;
    let item = stores.queue.entries(workspace.id, 1).await?[0].item.id;
    ensure!(stores.queue.entries(workspace.id, 1).await?[0].item.container.is_none());
    let until = instant(1) + LEASE;
    ensure!(!stores.queue.set_container(workspace.id, item, 0, "c-0", until).await?, "pending");
    let claim = stores.queue.claim_next(workspace.id, instant(1), LEASE).await?.context("claimed")?;
    let attempt = claim.entry.item.attempts;
    ensure!(!stores.queue.set_container(other.id, item, attempt, "c-x", until).await?, "another workspace's item");
    ensure!(!stores.queue.set_container(workspace.id, item, attempt + 1, "c-y", until).await?, "another claim");
    // Remembered, and the lease renewed: at the old lease's end nobody may claim it.
    let renewed = instant(1) + LEASE + LEASE;
    ensure!(stores.queue.set_container(workspace.id, item, attempt, "17999000000000001", renewed).await?);
    let entry = stores.queue.entry(workspace.id, item).await?.context("queued")?;
    ensure!(entry.item.container.as_deref() == Some("17999000000000001"), "{entry:?}");
    ensure!(stores.queue.claim_due(instant(1) + LEASE + Duration::minutes(1), LEASE, 10).await?.is_empty());
    // A restart (or a lease that ran out) finds it again; the first process is fenced off.
    let reclaimed = stores.queue.claim_due(renewed + Duration::minutes(1), LEASE, 10).await?;
    ensure!(reclaimed.len() == 1 && reclaimed[0].entry.item.container.as_deref() == Some("17999000000000001"));
    ensure!(!stores.queue.set_container(workspace.id, item, attempt, "c-stale", renewed).await?, "fenced");
    ensure!(!stores.queue.renew_claim(workspace.id, item, attempt, renewed).await?, "the stale claim is fenced off");
    let owner = reclaimed[0].entry.item.attempts;
    ensure!(!stores.queue.renew_claim(other.id, item, owner, renewed).await?, "another workspace's item");
    ensure!(stores.queue.renew_claim(workspace.id, item, owner, renewed + LEASE + LEASE).await?, "the owner renews");
    let past_the_old_lease = renewed + LEASE + Duration::minutes(2);
    ensure!(stores.queue.claim_due(past_the_old_lease, LEASE, 10).await?.is_empty(), "the renewed lease holds");
    ensure!(stores.queue.mark_sent(workspace.id, item, 7, instant(8)).await?);
    let now_attempt = reclaimed[0].entry.item.attempts;
    ensure!(!stores.queue.set_container(workspace.id, item, now_attempt, "c-2", renewed).await?, "sent");
    let entry = stores.queue.entry(workspace.id, item).await?.context("sent")?;
    ensure!(entry.item.container.as_deref() == Some("17999000000000001"), "unchanged: {entry:?}");
    Ok(())
}
