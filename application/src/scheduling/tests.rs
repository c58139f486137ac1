use std::sync::Arc;

use chrono::{Duration, TimeZone};
use storyline_domain::ChatId;
use storyline_domain::library::{Category, ContentHash, MediaKind, NewMedia};
use storyline_domain::queue::Outcome;
use storyline_domain::schedule::NoJitter;
use storyline_domain::settings::{Hour, PostingWindow, PostsPerDay, SettingsDefaults};
use storyline_domain::user::Actor;
use storyline_memory::{ManualClock, MemoryStore};

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, hour, 0, 0).single().unwrap_or_default()
}

/// A workspace at 3 a day, 09–21 UTC, with ten media, at 08:00; and its scheduler.
async fn world() -> Result<(MemoryStore, ManualClock, Scheduler, WorkspaceId), Box<dyn std::error::Error>> {
    let store = MemoryStore::new();
    let clock = ManualClock::at(at(8));
    let defaults = SettingsDefaults {
        posts_per_day: PostsPerDay::new(3)?,
        window: PostingWindow::new(Hour::new(9)?, Hour::new(21)?)?,
        time_zone: chrono_tz::UTC,
        ..SettingsDefaults::default()
    };
    let workspace = store.ensure_workspace(ChatId(-1), "Team", &defaults, at(8)).await?;
    let mut media = Vec::new();
    for n in 0..10u64 {
        media.push(NewMedia {
            path: format!("memes/{n}.png"),
            category: Category::new("memes")?,
            kind: MediaKind::Image,
            hash: ContentHash::from_hex(&format!("{n:064x}")).ok_or("a hash")?,
            size_bytes: 1000,
            width: Some(1080),
            height: Some(1920),
        });
    }
    store.add(workspace.id, &media, at(8)).await?;
    let shared = Arc::new(store.clone());
    let scheduler = Scheduler::new(shared.clone(), shared.clone(), shared, Arc::new(clock.clone()));
    Ok((store, clock, scheduler, workspace.id))
}

async fn pending_slots(store: &MemoryStore, workspace: WorkspaceId) -> Result<Vec<DateTime<Utc>>, StoreError> {
    Ok(store.entries(workspace, 100).await?.into_iter().map(|e| e.item.slot).collect())
}

#[tokio::test]
async fn replanning_keeps_a_story_already_posted_in_its_share_of_the_window() -> TestResult {
    let (store, _clock, scheduler, workspace) = world().await?;
    scheduler.schedule(workspace, 1, &mut NoJitter).await?;
    // The 11:00 story goes out at once (/next) and is posted.
    let claimed = store.claim_next(workspace, at(8), Duration::minutes(5)).await?.ok_or("nothing queued")?;
    store.resolve(workspace, claimed.entry.item.id, Outcome::Posted, &Actor::Cli, at(8)).await?;
    // The posting hours are the same, but the upcoming two are re-spread: they keep 15 and 19.
    assert_eq!(scheduler.replan(workspace, &mut NoJitter).await?, 2);
    assert_eq!(pending_slots(&store, workspace).await?, vec![at(15), at(19)]);
    Ok(())
}

#[tokio::test]
async fn overdue_stories_move_to_the_free_slots_ahead() -> TestResult {
    let (store, clock, scheduler, workspace) = world().await?;
    scheduler.schedule(workspace, 1, &mut NoJitter).await?;
    // Paused through 11:00 and 15:00: at 16:00 two are overdue; 19:00 still stands.
    clock.set(at(16));
    assert_eq!(scheduler.reschedule_overdue(workspace, &mut NoJitter).await?, 2);
    let tomorrow = |hour| at(hour) + Duration::days(1);
    assert_eq!(pending_slots(&store, workspace).await?, vec![at(19), tomorrow(11), tomorrow(15)]);
    // Scheduling a day more tops tomorrow up and goes on the day after.
    scheduler.schedule(workspace, 1, &mut NoJitter).await?;
    let after = |hour| at(hour) + Duration::days(2);
    assert_eq!(
        pending_slots(&store, workspace).await?,
        vec![at(19), tomorrow(11), tomorrow(15), tomorrow(19), after(11), after(15)]
    );
    Ok(())
}
