//! What the schedule reads back: the slots already taken and the counts the mix is held to.

use anyhow::{Context, ensure};
use chrono::Duration;
use storyline_domain::library::Category;
use storyline_domain::queue::{Outcome, QueueStatus};
use storyline_domain::schedule::CategoryCounts;

use super::{ALICE, LEASE, sent, stock};
use crate::suites::{instant, two_workspaces};
use crate::{Backend, TestResult};

pub async fn every_slot_from_an_instant_on_is_read_back_with_its_status_done_ones_included(
    backend: &Backend,
) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    let media = stock(
        stores,
        a.id,
        &[("memes/a.jpg", 1), ("memes/b.jpg", 2), ("memes/c.jpg", 3), ("merch/d.jpg", 4), ("merch/e.jpg", 5)],
    )
    .await?;
    stock(stores, b.id, &[("memes/mine.jpg", 9)]).await?;
    // a: posted (slot 10), b: skipped (slot 20), c: awaiting a press (slot 30), d: pending (40),
    // e: pending but cleared (50); and one done long before (slot 1).
    let early = sent(stores, a.id, media[0].id, instant(1)).await?;
    stores.queue.resolve(a.id, early, Outcome::Skipped, &ALICE, instant(1)).await?;
    let posted = sent(stores, a.id, media[0].id, instant(10) + Duration::days(8)).await?;
    stores.queue.resolve(a.id, posted, Outcome::Posted, &ALICE, instant(10)).await?;
    let skipped = sent(stores, a.id, media[1].id, instant(20) + Duration::days(8)).await?;
    stores.queue.resolve(a.id, skipped, Outcome::Skipped, &ALICE, instant(20)).await?;
    sent(stores, a.id, media[2].id, instant(30) + Duration::days(8)).await?;
    stores.queue.enqueue(a.id, &[(instant(50) + Duration::days(8), media[4].id)]).await?;
    stores.queue.clear(a.id, None).await?;
    stores.queue.enqueue(a.id, &[(instant(40) + Duration::days(8), media[3].id)]).await?;

    let from = instant(5) + Duration::days(8);
    let slots = stores.queue.slots(a.id, from).await?;
    let day = |minutes| instant(minutes) + Duration::days(8);
    let expected = vec![
        (day(10), QueueStatus::Done),
        (day(20), QueueStatus::Done),
        (day(30), QueueStatus::Sent),
        (day(40), QueueStatus::Pending),
    ];
    ensure!(slots == expected, "by slot, from {from} on, cleared ones gone: {slots:?}");
    ensure!(stores.queue.slots(a.id, instant(0)).await?.len() == 5, "the early one too");
    ensure!(stores.queue.slots(a.id, day(41)).await?.is_empty());
    ensure!(stores.queue.slots(b.id, instant(0)).await?.is_empty(), "another workspace's slots are not seen");
    Ok(())
}

pub async fn category_counts_are_what_is_queued_and_what_was_posted_since_an_instant(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    let media = stock(
        stores,
        a.id,
        &[
            ("memes/a.jpg", 1),
            ("memes/b.jpg", 2),
            ("memes/c.jpg", 3),
            ("merch/d.jpg", 4),
            ("merch/e.jpg", 5),
            ("merch/f.jpg", 6),
            ("clips/g.jpg", 7),
        ],
    )
    .await?;
    stock(stores, b.id, &[("memes/mine.jpg", 9)]).await?;
    let id = |path: &str| media.iter().find(|m| m.path == path).map(|m| m.id).context("stocked");
    // Posted before the instant (a), posted after it (b), skipped after it (d): only b counts.
    for (media, outcome, at) in [
        (id("memes/a.jpg")?, Outcome::Posted, 1),
        (id("memes/b.jpg")?, Outcome::Posted, 20),
        (id("merch/d.jpg")?, Outcome::Skipped, 21),
    ] {
        let item = sent(stores, a.id, media, instant(at)).await?;
        stores.queue.resolve(a.id, item, outcome, &ALICE, instant(at)).await?;
    }
    // Queued, whenever their slot: c and e pending, f awaiting a press (sent via /next).
    let f = id("merch/f.jpg")?;
    ensure!(stores.queue.enqueue(a.id, &[(instant(100), f)]).await? == 1);
    let claimed = stores.queue.claim_next(a.id, instant(22), LEASE).await?;
    ensure!(claimed.is_some_and(|c| c.entry.item.media == f));
    stores.queue.enqueue(a.id, &[(instant(200), id("memes/c.jpg")?), (instant(5), id("merch/e.jpg")?)]).await?;

    let counts = stores.queue.category_counts(a.id, instant(10)).await?;
    let category = |name: &str| Category::new(name);
    let expected = CategoryCounts::from([(category("memes")?, 2), (category("merch")?, 2)]);
    ensure!(counts == expected, "{counts:?}");
    let since_start = stores.queue.category_counts(a.id, instant(0)).await?;
    ensure!(since_start.get(&category("memes")?) == Some(&3), "{since_start:?}");
    ensure!(stores.queue.category_counts(b.id, instant(0)).await?.is_empty(), "another workspace's are not seen");
    Ok(())
}
