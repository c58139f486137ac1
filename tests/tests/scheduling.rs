//! End to end: the schedule through the real wiring (`storyline::wiring::App`) with a test clock,
//! extended again and again as a team does (`/schedule 1` every day, `create-schedule --days 2`
//! twice), on memory, SQLite and PostgreSQL; test names read `backend::behaviour`.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, ensure};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use storyline::config::Config;
use storyline::wiring::App;
use storyline_application::scheduling::SeededJitter;
use storyline_domain::library::{CategoryMix, MediaId};
use storyline_domain::ports::Clock;
use storyline_domain::queue::Outcome;
use storyline_domain::settings::{Hour, PostingWindow, PostsPerDay, SettingsDefaults};
use storyline_domain::user::Actor;
use storyline_domain::{ChatId, WorkspaceId};
use storyline_memory::ManualClock;
use storyline_tests::suites::new_media;
use storyline_tests::{Backend, TestResult};

/// 3 a day from 09:00 to 21:00 UTC: one slot in each 4-hour share, at 11, 15 and 19 ± 1 h.
const PER_DAY: usize = 3;

fn day(n: i64, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).single().unwrap_or_default() + Duration::days(n)
}

struct Harness {
    app: App,
    clock: ManualClock,
    workspace: WorkspaceId,
    /// The media by id → category name.
    categories: BTreeMap<MediaId, String>,
}

impl Harness {
    /// A workspace at 3 a day, 09–21 UTC, with 30 memes and 30 merch, at 08:00 on day 0.
    async fn start(backend: &Backend) -> anyhow::Result<Self> {
        let config = Config::from_lookup(|_| None)?;
        let clock = ManualClock::at(day(0, 8));
        let app = App::wire(backend.stores().clone(), Arc::new(clock.clone()), &config)?;
        let defaults = SettingsDefaults {
            posts_per_day: PostsPerDay::new(3)?,
            window: PostingWindow::new(Hour::new(9)?, Hour::new(21)?)?,
            time_zone: chrono_tz::UTC,
            ..SettingsDefaults::default()
        };
        let workspace = app.stores.settings.ensure_workspace(ChatId(-100_555), "Team", &defaults, clock.now()).await?;
        let media: Vec<_> = (0..60u64)
            .map(|n| new_media(&format!("{}/{n}.png", if n % 2 == 0 { "memes" } else { "merch" }), n + 1))
            .collect();
        app.stores.library.add(workspace.id, &media, clock.now()).await?;
        let categories = app
            .library
            .media(workspace.id, None, 1000)
            .await?
            .into_iter()
            .map(|m| (m.id, m.category.to_string()))
            .collect();
        Ok(Self { app, clock, workspace: workspace.id, categories })
    }

    /// Schedules `days` as the CLI does: jitter seeded from the clock; a minute passes.
    async fn schedule(&self, days: u32) -> anyhow::Result<u64> {
        let seed = u64::try_from(self.clock.now().timestamp()).unwrap_or(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let report = self.app.scheduler.schedule(self.workspace, days, &mut SeededJitter::new(seed)).await?;
        self.clock.advance(Duration::minutes(1));
        Ok(report.queued)
    }

    /// Every slot still queued, by slot.
    async fn queued(&self) -> anyhow::Result<Vec<(DateTime<Utc>, MediaId)>> {
        let entries = self.app.stores.queue.entries(self.workspace, 1000).await?;
        Ok(entries.into_iter().map(|e| (e.item.slot, e.item.media)).collect())
    }

    /// How many queued slots fall on each UTC date.
    async fn per_day(&self) -> anyhow::Result<BTreeMap<NaiveDate, usize>> {
        let mut days = BTreeMap::new();
        for (slot, _) in self.queued().await? {
            *days.entry(slot.date_naive()).or_default() += 1;
        }
        Ok(days)
    }

    /// Sends the next story now (/next) and presses Posted on it.
    async fn post_next(&self) -> anyhow::Result<()> {
        let now = self.clock.now();
        let queue = &self.app.stores.queue;
        let claimed = queue.claim_next(self.workspace, now, Duration::minutes(5)).await?.context("nothing queued")?;
        let item = claimed.entry.item.id;
        ensure!(queue.mark_sent(self.workspace, item, 1, now).await?);
        queue.resolve(self.workspace, item, Outcome::Posted, &Actor::Cli, now).await?;
        Ok(())
    }
}

/// Every slot of a day sits in its own 4-hour share of 09–21, within an hour of the share's middle.
fn evenly_spaced(slots: &[DateTime<Utc>]) -> anyhow::Result<()> {
    let mut shares = Vec::new();
    for slot in slots {
        let open = slot.date_naive().and_hms_opt(9, 0, 0).context("09:00")?.and_utc();
        let share = (*slot - open).num_seconds().div_euclid(4 * 3600);
        let middle = open + Duration::hours(4 * share + 2);
        ensure!((0..3).contains(&share), "{slot} is outside 09–21");
        ensure!((*slot - middle).num_seconds().abs() <= 3600, "{slot} is more than an hour off {middle}");
        ensure!(!shares.contains(&(slot.date_naive(), share)), "two slots in the share of {slot}");
        shares.push((slot.date_naive(), share));
    }
    Ok(())
}

pub async fn five_one_day_schedules_put_posts_per_day_in_every_window(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    for run in 0..5 {
        ensure!(h.schedule(1).await? == 3, "run {run} queues a day's worth");
    }
    let per_day = h.per_day().await?;
    let expected: BTreeMap<NaiveDate, usize> = (0..5).map(|n| (day(n, 0).date_naive(), PER_DAY)).collect();
    ensure!(per_day == expected, "3 a day for 5 days: {per_day:?}");
    let slots: Vec<_> = h.queued().await?.into_iter().map(|(slot, _)| slot).collect();
    evenly_spaced(&slots)
}

pub async fn two_two_day_schedules_put_posts_per_day_in_every_window(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.clock.set(day(0, 13));
    ensure!(h.schedule(2).await? == 6);
    ensure!(h.schedule(2).await? == 6);
    let per_day = h.per_day().await?;
    // At 13:00 the 11:00 share of day 0 has passed: 2 that day, then 3 a day, the rest on day 4.
    let expected: BTreeMap<NaiveDate, usize> = [(0, 2), (1, 3), (2, 3), (3, 3), (4, 1)]
        .into_iter()
        .map(|(n, count)| (day(n, 0).date_naive(), count))
        .collect();
    ensure!(per_day == expected, "{per_day:?}");
    let slots: Vec<_> = h.queued().await?.into_iter().map(|(slot, _)| slot).collect();
    evenly_spaced(&slots)
}

pub async fn a_story_sent_early_still_counts_in_its_window(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    ensure!(h.schedule(1).await? == 3);
    // /next sends the 11:00 story at 08:01 and it is posted; it keeps its place in today's window.
    h.post_next().await?;
    ensure!(h.schedule(1).await? == 3);
    let per_day = h.per_day().await?;
    let expected: BTreeMap<NaiveDate, usize> =
        [(0, 2), (1, 3)].into_iter().map(|(n, count)| (day(n, 0).date_naive(), count)).collect();
    ensure!(per_day == expected, "today holds its 3 (one posted), tomorrow 3: {per_day:?}");
    Ok(())
}

pub async fn scheduling_a_day_every_day_keeps_posts_per_day_in_every_window(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    let mut posted: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for n in 0..6 {
        // Each morning the day's schedule is extended; the stories due by noon are posted.
        h.clock.set(day(n, 8));
        h.schedule(1).await?;
        h.clock.set(day(n, 12));
        while h.queued().await?.first().is_some_and(|(slot, _)| *slot <= h.clock.now()) {
            let slot = h.queued().await?[0].0;
            h.post_next().await?;
            *posted.entry(slot.date_naive()).or_default() += 1;
        }
    }
    let mut per_day = h.per_day().await?;
    for (date, count) in posted {
        *per_day.entry(date).or_default() += count;
    }
    // 18 stories in all: 3 in each of the 6 windows.
    let expected: BTreeMap<NaiveDate, usize> = (0..6).map(|n| (day(n, 0).date_naive(), PER_DAY)).collect();
    ensure!(per_day == expected, "posted and queued, 3 a day: {per_day:?}");
    Ok(())
}

pub async fn the_mix_holds_for_what_is_queued_and_posted_since_it_was_set(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    h.app.library.set_mix(h.workspace, &CategoryMix::parse("memes=50 merch=50")?, &Actor::Cli).await?;
    for _ in 0..5 {
        h.schedule(1).await?;
    }
    let memes = |queued: &[(DateTime<Utc>, MediaId)]| {
        queued.iter().filter(|(_, m)| h.categories.get(m).is_some_and(|c| c == "memes")).count()
    };
    let queued = h.queued().await?;
    ensure!(queued.len() == 15);
    ensure!((7..=8).contains(&memes(&queued)), "15 queued at 50/50: {} memes", memes(&queued));

    // Seven of them are posted; then more is scheduled: posted and queued together keep 50/50.
    for _ in 0..7 {
        h.post_next().await?;
    }
    let posted_memes =
        h.app.stores.history.history(h.workspace, 100).await?.iter().filter(|e| e.path.starts_with("memes/")).count();
    h.schedule(2).await?;
    h.schedule(1).await?;
    let queued = h.queued().await?;
    let all = queued.len() + 7;
    ensure!(all == 24, "{all}");
    let memes = memes(&queued) + posted_memes;
    ensure!((11..=13).contains(&memes), "{memes} memes of {all} at 50/50");
    Ok(())
}

storyline_tests::on_backends!([memory, sqlite, postgres] [
    five_one_day_schedules_put_posts_per_day_in_every_window,
    two_two_day_schedules_put_posts_per_day_in_every_window,
    a_story_sent_early_still_counts_in_its_window,
    scheduling_a_day_every_day_keeps_posts_per_day_in_every_window,
    the_mix_holds_for_what_is_queued_and_posted_since_it_was_set,
]);
