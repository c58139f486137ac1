//! End to end: index a folder, schedule, and run the posting loop through the real wiring
//! (`storyline::wiring::App`, the Telegram adapter) against the fake Bot API, with a test clock.
//! On SQLite and on PostgreSQL; test names read `backend::behaviour`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use storyline::config::Config;
use storyline::wiring::App;
use storyline_application::bot::BotConfig;
use storyline_application::library::Quiet;
use storyline_application::posting::Stories;
use storyline_application::scheduling::SeededJitter;
use storyline_domain::ChatId;
use storyline_domain::Workspace;
use storyline_domain::library::{CategoryMix, MediaItem};
use storyline_domain::ports::Clock;
use storyline_domain::queue::{LockReason, Outcome, QueueStatus};
use storyline_domain::user::{Actor, TelegramUserId};
use storyline_media::LocalFolder;
use storyline_memory::ManualClock;
use storyline_telegram::TelegramNotifier;
use storyline_tests::app::{ADMIN, TEAM_CHAT, fast_polling};
use storyline_tests::fake_telegram::{Failure, FakeTelegram, FakeUser, button_data};
use storyline_tests::files::{mp4, png};
use storyline_tests::{Backend, TestResult};
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(15);

fn admin() -> FakeUser {
    FakeUser::new(ADMIN, "Ada")
}

/// memes: 3 images; merch: 2 images and a video; plus a copy under another name and a file
/// Instagram would refuse.
fn media_folder() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("memes"))?;
    std::fs::create_dir_all(dir.path().join("merch"))?;
    for name in ["a", "b", "c"] {
        std::fs::write(dir.path().join(format!("memes/{name}.png")), png(1080, 1920, name))?;
    }
    std::fs::write(dir.path().join("memes/copy-of-a.png"), png(1080, 1920, "a"))?;
    std::fs::write(dir.path().join("merch/hoodie.png"), png(1080, 1920, "hoodie"))?;
    std::fs::write(dir.path().join("merch/mug.png"), png(400, 400, "mug"))?;
    std::fs::write(dir.path().join("merch/clip.mp4"), mp4(1080, 1920, 5))?;
    std::fs::write(dir.path().join("merch/notes.txt"), b"not a story")?;
    Ok(dir)
}

fn day0(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, hour, minute, 0).single().unwrap_or_default()
}

struct Harness {
    config: Config,
    app: App,
    clock: ManualClock,
    stories: Stories,
    workspace: Workspace,
    telegram: FakeTelegram,
    stop: watch::Sender<bool>,
    polling: tokio::task::JoinHandle<()>,
    _media: tempfile::TempDir,
}

impl Harness {
    async fn start(backend: &Backend) -> anyhow::Result<Self> {
        let telegram = FakeTelegram::start().await?;
        let media = media_folder()?;
        let url = backend.database_url().context("needs a database")?.to_owned();
        let vars = [
            ("DATABASE_URL", url),
            ("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN.to_owned()),
            ("TELEGRAM_CHAT_ID", TEAM_CHAT.to_string()),
            ("TELEGRAM_API_URL", telegram.api_url()),
            ("ADMIN_TELEGRAM_USER_IDS", ADMIN.to_string()),
            ("MEDIA_DIR", media.path().display().to_string()),
            ("POSTS_PER_DAY", "2".to_owned()),
            ("POSTING_HOURS_START", "10".to_owned()),
            ("POSTING_HOURS_END", "20".to_owned()),
            ("POSTING_TIMEZONE", "UTC".to_owned()),
            ("POSTING_INTERVAL_SECONDS", "5".to_owned()),
        ];
        let config = Config::from_lookup(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))?;
        let clock = ManualClock::at(day0(8, 0));
        let stores = storyline::wiring::open_stores(&config.database_url, config.keyring.as_ref()).await?;
        let app = App::wire(stores, Arc::new(clock.clone()), &config)?;
        let api = storyline_telegram::connect(&config.telegram()?.token, Some(&telegram.api_url()))?;
        let notifier = Arc::new(TelegramNotifier::new(api.clone()));
        let bot = app.bot(
            notifier.clone(),
            notifier.clone(),
            BotConfig::team(ChatId(TEAM_CHAT), HashSet::from([TelegramUserId(ADMIN)])),
        );
        let stories = app.stories(notifier);
        let workspace = app.settings.workspace_for_chat(ChatId(TEAM_CHAT), "Team").await?;
        let (stop, listen) = watch::channel(false);
        let cursor = app.stores.cursor.clone();
        let polling = tokio::spawn(async move {
            storyline_telegram::poll(api, Arc::new(bot), cursor, FakeTelegram::BOT_ID, fast_polling(), listen, |_| {})
                .await
        });
        Ok(Self { config, app, clock, stories, workspace, telegram, stop, polling, _media: media })
    }

    async fn stop(self) -> TestResult {
        let _ = self.stop.send(true);
        tokio::time::timeout(WAIT, self.polling).await??;
        Ok(())
    }

    /// Stories the bot has sent: photos and videos.
    fn stories_sent(&self) -> Vec<Value> {
        let mut sent = self.telegram.calls("sendPhoto");
        sent.extend(self.telegram.calls("sendVideo"));
        sent
    }

    async fn media(&self) -> anyhow::Result<Vec<MediaItem>> {
        Ok(self.app.library.media(self.workspace.id, None, 100).await?)
    }

    /// Presses `label` on message `id` and waits for the press to be answered; returns the
    /// answer's text.
    async fn press(&self, id: i32, label: &str) -> anyhow::Result<String> {
        let message = self.telegram.message(TEAM_CHAT, id).context("the story is not in the chat")?;
        let data = button_data(&message, label)?;
        let answered = self.telegram.count("answerCallbackQuery");
        self.telegram.push_press(TEAM_CHAT, &admin(), id, &data);
        let answers = self.telegram.wait_for("answerCallbackQuery", answered + 1, WAIT).await?;
        Ok(answers.last().and_then(|a| a["text"].as_str()).unwrap_or_default().to_owned())
    }
}

pub async fn a_library_is_indexed_scheduled_sent_once_each_and_resolved(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    let workspace = h.workspace.id;

    // Index: 6 stories added; the copy is recognised; the text file is refused; the 400×400 mug warns.
    let report = h.app.library.index(workspace, &LocalFolder::new(h._media.path()), &Quiet).await?;
    ensure!(report.added == 6, "{report:?}");
    ensure!(report.duplicates.len() == 1 && report.duplicates[0].0 == "memes/copy-of-a.png", "{report:?}");
    ensure!(report.refused.len() == 1 && report.refused[0].0 == "merch/notes.txt", "{report:?}");
    ensure!(report.warnings.iter().any(|(path, _)| path == "merch/mug.png"), "{report:?}");
    let again = h.app.library.index(workspace, &LocalFolder::new(h._media.path()), &Quiet).await?;
    ensure!(again.added == 0 && again.unchanged == 6, "indexing twice adds nothing: {again:?}");
    ensure!(again.duplicates.len() == 1 && again.warnings.is_empty(), "only the copy is a duplicate: {again:?}");

    // Schedule 3 days at 2 a day, 50/50: 6 slots, every medium once.
    h.app.library.set_mix(workspace, &CategoryMix::parse("memes=50 merch=50")?, &Actor::Cli).await?;
    let scheduled = h.app.scheduler.schedule(workspace, 3, &mut SeededJitter::new(7)).await?;
    ensure!(scheduled.queued == 6 && scheduled.unfilled == 0, "{scheduled:?}");
    let queue = h.stories.queue(workspace, 100).await?;
    let media: HashSet<_> = queue.iter().map(|e| e.item.media).collect();
    ensure!(media.len() == 6, "each medium queued once: {queue:?}");
    ensure!(queue.iter().filter(|e| e.category.as_str() == "memes").count() == 3, "the mix is followed");
    // A second schedule extends: nothing is left to schedule, and nothing doubles.
    let extended = h.app.scheduler.schedule(workspace, 3, &mut SeededJitter::new(8)).await?;
    ensure!(extended.queued == 0 && h.stories.queue(workspace, 100).await?.len() == 6, "{extended:?}");

    // Nothing is due before the first slot.
    ensure!(h.stories.tick().await?.sent == 0 && h.stories_sent().is_empty());

    // Walk the clock through the slots: each story goes out once, at its slot.
    let presses = ["Posted", "Skip", "Reject", "Posted", "Skip", "Posted"];
    for (n, slot) in queue.iter().map(|e| e.item.slot).enumerate() {
        h.clock.set(slot + chrono::Duration::seconds(30));
        let tick = h.stories.tick().await?;
        ensure!(tick.sent == 1, "slot {n}: {tick:?}");
        ensure!(h.stories.tick().await?.sent == 0, "slot {n}: a story is sent once");
        let sent = h.stories_sent();
        ensure!(sent.len() == n + 1, "slot {n}: {} stories sent", sent.len());
        let id = h.telegram.last_message_id();
        let story = h.telegram.message(TEAM_CHAT, id).context("no story message")?;
        ensure!(story["caption"].as_str().is_some_and(|c| c.contains(&queue[n].path)), "{story}");
        ensure!(story["reply_markup"].to_string().contains("https://www.instagram.com/"), "{story}");
        match presses[n] {
            "Reject" => {
                let asked = h.press(id, "Reject").await?;
                ensure!(asked.is_empty(), "{asked}");
                let shown = h.telegram.message(TEAM_CHAT, id).context("gone")?;
                ensure!(
                    shown["caption"].as_str().is_some_and(|c| c.contains("Reject this story for good?")),
                    "{shown}"
                );
                ensure!(h.press(id, "Yes, reject").await? == "Rejected");
            }
            label => {
                let said = h.press(id, label).await?;
                ensure!(said == "Marked as posted" || said == "Skipped", "{said}");
            }
        }
        // A second press on the same story changes nothing and says so.
        let shown = h.telegram.message(TEAM_CHAT, id).context("gone")?;
        ensure!(shown.get("reply_markup").is_none(), "the buttons are gone once handled: {shown}");
        let data = button_data(&story, "Posted")?;
        let answered = h.telegram.count("answerCallbackQuery");
        h.telegram.push_press(TEAM_CHAT, &admin(), id, &data);
        let answers = h.telegram.wait_for("answerCallbackQuery", answered + 1, WAIT).await?;
        let said = answers.last().and_then(|a| a["text"].as_str()).unwrap_or_default();
        ensure!(said.starts_with("Already handled"), "{said}");
    }
    ensure!(h.stories_sent().len() == 6 && h.telegram.count("sendVideo") == 1, "the video went with sendVideo");

    // History, locks and counters as FEATURES C4 says.
    let history = h.stories.desk().history(workspace, 50).await?;
    let count = |outcome| history.iter().filter(|row| row.outcome == outcome).count();
    ensure!(history.len() == 6, "{history:?}");
    ensure!(count(Outcome::Posted) == 3 && count(Outcome::Skipped) == 2 && count(Outcome::Rejected) == 1);
    let now = h.clock.now();
    let locks = h.app.stores.locks.locks(workspace, now).await?;
    ensure!(locks.len() == 6, "{locks:?}");
    let rejected = locks.iter().find(|l| l.reason == LockReason::Rejected).context("no permanent lock")?;
    ensure!(rejected.until.is_none());
    for row in history.iter().filter(|row| row.outcome == Outcome::Posted) {
        let lock = locks.iter().find(|l| l.media == row.media).context("a posted medium is locked")?;
        ensure!(
            lock.reason == LockReason::Posted && lock.until == Some(row.at + chrono::Duration::days(30)),
            "{lock:?}"
        );
    }
    for row in history.iter().filter(|row| row.outcome == Outcome::Skipped) {
        let lock = locks.iter().find(|l| l.media == row.media).context("a skipped medium is locked")?;
        ensure!(
            lock.reason == LockReason::Skipped && lock.until == Some(row.at + chrono::Duration::days(7)),
            "{lock:?}"
        );
    }
    let media = h.media().await?;
    ensure!(media.iter().filter(|m| m.times_posted == 1 && m.last_posted_at.is_some()).count() == 3, "{media:?}");
    let counts = h.app.stores.queue.counts(workspace, now).await?;
    ensure!(counts.pending == 0 && counts.awaiting_press == 0 && counts.posted == 3, "{counts:?}");
    // Everything is locked now: a new schedule finds nothing to queue.
    ensure!(h.app.scheduler.schedule(workspace, 1, &mut SeededJitter::new(9)).await?.queued == 0);
    h.stop().await
}

pub async fn a_failing_send_is_retried_and_then_given_up_without_loss_or_duplicates(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    let workspace = h.workspace.id;
    h.app.library.index(workspace, &LocalFolder::new(h._media.path()), &Quiet).await?;
    h.app.library.set_mix(workspace, &CategoryMix::parse("memes=100")?, &Actor::Cli).await?;
    h.app.scheduler.schedule(workspace, 1, &mut SeededJitter::new(1)).await?;
    let queue = h.stories.queue(workspace, 10).await?;
    ensure!(queue.len() == 2, "{queue:?}");

    // The first story: Telegram fails twice, then takes it. Sent exactly once in the end.
    h.telegram.fail_next("sendPhoto", 2, Failure::BadRequest("Bad Request: chat not found".to_owned()));
    h.clock.set(queue[0].item.slot + chrono::Duration::seconds(1));
    for attempt in 1..=2 {
        let tick = h.stories.tick().await?;
        ensure!(tick.retrying == 1 && tick.sent == 0, "attempt {attempt}: {tick:?}");
    }
    ensure!(h.stories.tick().await?.sent == 1);
    ensure!(h.stories.tick().await?.sent == 0);
    let delivered: Vec<_> = h.telegram.bot_messages(TEAM_CHAT);
    ensure!(delivered.iter().filter(|m| m.get("photo").is_some()).count() == 1, "{delivered:?}");

    // The second: three failures. It is marked failed, the chat is told, nothing else is sent.
    h.telegram.fail_next("sendPhoto", 3, Failure::Forbidden("Forbidden: bot was kicked".to_owned()));
    h.clock.set(queue[1].item.slot + chrono::Duration::seconds(1));
    ensure!(h.stories.tick().await?.retrying == 1);
    ensure!(h.stories.tick().await?.retrying == 1);
    ensure!(h.stories.tick().await?.gave_up == 1);
    ensure!(h.stories.tick().await? == Default::default(), "nothing left to send");
    let told = h.telegram.calls("sendMessage");
    ensure!(told.iter().any(|m| m["text"].as_str().is_some_and(|t| t.contains("after 3 tries"))), "{told:?}");
    let history = h.stories.desk().history(workspace, 10).await?;
    ensure!(history.len() == 1 && history[0].outcome == Outcome::Failed, "{history:?}");
    // The row keeps a reason code and a short text; Telegram's own words stay in the log.
    let error = history[0].error.as_deref().unwrap_or_default();
    ensure!(error.starts_with("chat_unreachable: ") && !error.contains("kicked"), "{history:?}");
    ensure!(told.iter().all(|m| !m.to_string().contains("kicked")), "{told:?}");
    h.stop().await
}

pub async fn two_posting_loops_on_one_database_send_each_story_once(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    let workspace = h.workspace.id;
    h.app.library.index(workspace, &LocalFolder::new(h._media.path()), &Quiet).await?;
    h.app.scheduler.schedule(workspace, 3, &mut SeededJitter::new(3)).await?;
    // A second process: its own pool on the same database, its own Telegram client.
    let stores =
        storyline::wiring::open_stores(backend.database_url().context("url")?, h.config.keyring.as_ref()).await?;
    let other = App::wire(stores, Arc::new(h.clock.clone()), &h.config)?;
    let api = storyline_telegram::connect(&h.config.telegram()?.token, Some(&h.telegram.api_url()))?;
    let other = other.stories(Arc::new(TelegramNotifier::new(api)));
    // Everything is due at once; both loops tick together until nothing is left.
    h.clock.set(day0(8, 0) + chrono::Duration::days(5));
    let mut total = 0;
    for _ in 0..10 {
        let (a, b) = tokio::join!(h.stories.tick(), other.tick());
        total += a?.sent + b?.sent;
    }
    ensure!(total == 6, "{total} sends");
    let sent = h.stories_sent();
    let captions: HashSet<_> = sent.iter().filter_map(|m| m["caption"].as_str()).collect();
    ensure!(sent.len() == 6 && captions.len() == 6, "each story once: {sent:?}");
    h.stop().await
}

impl Harness {
    /// Types `text` as the admin and returns the bot's next message.
    async fn say(&self, text: &str) -> anyhow::Result<Value> {
        let before = self.telegram.count("sendMessage");
        self.telegram.push_text(TEAM_CHAT, &admin(), text);
        let sent = self.telegram.wait_for("sendMessage", before + 1, WAIT).await?;
        sent.last().cloned().context("no answer")
    }
}

pub async fn paused_stories_wait_and_resume_offers_send_now_or_reschedule(backend: Backend) -> TestResult {
    let h = Harness::start(&backend).await?;
    let workspace = h.workspace.id;
    h.app.library.index(workspace, &LocalFolder::new(h._media.path()), &Quiet).await?;
    h.app.scheduler.schedule(workspace, 1, &mut SeededJitter::new(5)).await?;
    let before = h.stories.queue(workspace, 10).await?;
    ensure!(before.len() == 2);

    h.say("/pause").await?;
    h.clock.set(day0(23, 0));
    ensure!(h.stories.tick().await?.sent == 0, "nothing is sent while paused");
    ensure!(h.app.stores.queue.counts(workspace, day0(23, 0)).await?.due == 2);

    // /resume says so, then offers what to do with the two overdue stories.
    // /resume asks first; posting stays paused until an admin chooses.
    let offer = h.say("/resume").await?;
    ensure!(offer["text"].as_str().is_some_and(|t| t.contains("2 stories fell due")), "{offer}");
    ensure!(h.stories.tick().await?.sent == 0, "still paused until the choice");
    let id = h.telegram.last_message_id();
    let before = h.telegram.count("sendMessage");
    // The pace is the posting loop's real interval (POSTING_INTERVAL_SECONDS=5 here).
    let said = h.press(id, "Send now (one every 5 seconds)").await?;
    ensure!(said.is_empty(), "{said}");
    let chosen = |t: &FakeTelegram| {
        t.message(TEAM_CHAT, id).is_some_and(|m| {
            m["text"].as_str().is_some_and(|t| t.contains("The overdue stories go out one every 5 seconds"))
        })
    };
    h.telegram.wait_until(WAIT, chosen).await?;
    let resumed = h.telegram.wait_for("sendMessage", before + 1, WAIT).await?;
    ensure!(resumed[before]["text"].as_str().is_some_and(|t| t.contains("resumed")), "{resumed:?}");
    // After downtime the loop never bursts: one overdue story per tick.
    ensure!(h.stories.tick().await?.sent == 1);
    ensure!(h.stories.tick().await?.sent == 1);
    ensure!(h.stories.tick().await?.sent == 0);

    // Again, and this time Reschedule: the overdue stories move to fresh slots ahead.
    h.app.scheduler.schedule(workspace, 1, &mut SeededJitter::new(6)).await?;
    h.say("/pause").await?;
    h.clock.set(day0(23, 0) + chrono::Duration::days(1));
    ensure!(h.stories.tick().await?.sent == 0);
    let offer = h.say("/resume").await?;
    ensure!(offer["text"].as_str().is_some_and(|t| t.contains("fell due")), "{offer}");
    let id = h.telegram.last_message_id();
    h.press(id, "Reschedule").await?;
    let moved = |t: &FakeTelegram| {
        t.message(TEAM_CHAT, id).is_some_and(|m| m["text"].as_str().is_some_and(|t| t.contains("Moved 2 overdue")))
    };
    h.telegram.wait_until(WAIT, moved).await?;
    let now = h.clock.now();
    let pending: Vec<_> =
        h.stories.queue(workspace, 10).await?.into_iter().filter(|e| e.item.status == QueueStatus::Pending).collect();
    ensure!(pending.len() == 2 && pending.iter().all(|e| e.item.slot > now), "every slot is ahead now: {pending:?}");
    ensure!(h.stories.tick().await?.sent == 0);
    h.stop().await
}

storyline_tests::on_backends!([sqlite, postgres] [
    a_library_is_indexed_scheduled_sent_once_each_and_resolved,
    a_failing_send_is_retried_and_then_given_up_without_loss_or_duplicates,
    two_posting_loops_on_one_database_send_each_story_once,
    paused_stories_wait_and_resume_offers_send_now_or_reschedule,
]);
