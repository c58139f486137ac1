//! `storyline run` processes (the real binary) in webhook mode on one PostgreSQL, behind a fake
//! Bot API. Two of them, the updates delivered round-robin and some twice: every update handled
//! once, one replica running the singleton jobs, those jobs moving to the other within seconds
//! of a SIGKILL, and a SIGTERM ending the survivor cleanly. Three of them, one killed while it
//! holds every due story: the other two send each of those stories once when its lease ends.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use serde_json::Value;
use storyline_tests::Backend;
use storyline_tests::due::{awaiting_press, sent_once_each, stories_due};
use storyline_tests::fake_telegram::{FakeTelegram, FakeUser};
use storyline_tests::files::healthz;

const WAIT: Duration = Duration::from_secs(30);

fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// A replica: the process and where it logs.
struct Replica {
    child: Child,
    addr: SocketAddr,
    log: std::path::PathBuf,
}

impl Replica {
    fn start(dir: &std::path::Path, name: &str, database_url: &str, telegram: &FakeTelegram) -> anyhow::Result<Self> {
        Self::start_with(dir, name, database_url, telegram, &[])
    }

    /// [`Replica::start`] with more variables set.
    fn start_with(
        dir: &std::path::Path,
        name: &str,
        database_url: &str,
        telegram: &FakeTelegram,
        vars: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let addr = free_addr()?;
        let log = dir.join(format!("{name}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_storyline"))
            .arg("run")
            .current_dir(dir)
            .env_clear()
            .env("DATABASE_URL", database_url)
            .env("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN)
            .env("TELEGRAM_API_URL", telegram.api_url())
            .env("WEBHOOK_URL", "https://bot.example.com/telegram")
            .env("HTTP_ADDR", addr.to_string())
            .env("RATE_LIMIT_PERSON_PER_MINUTE", "0")
            .env("RATE_LIMIT_CHAT_PER_MINUTE", "0")
            .env("RUST_LOG", "info")
            .envs(vars.iter().map(|(name, value)| (*name, value.as_str())))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        Ok(Self { child, addr, log })
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, and the process ending well within 10 s.
    async fn terminate(&mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status()?;
        let stopping = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            ensure!(stopping.elapsed() < Duration::from_secs(10), "SIGTERM: still running after 10 s: {}", self.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        ensure!(status.success(), "{status}: {}", self.log());
        Ok(())
    }

    /// `/healthz`, once it answers.
    async fn health(&self) -> anyhow::Result<Value> {
        let started = Instant::now();
        loop {
            if let Ok((_, body)) = healthz(self.addr).await {
                return Ok(body);
            }
            ensure!(started.elapsed() < WAIT, "no /healthz on {}: {}", self.addr, self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn leads(&self, job: &str) -> anyhow::Result<bool> {
        let health = self.health().await?;
        Ok(health["replica"]["leads"].as_array().is_some_and(|jobs| jobs.iter().any(|j| j == job)))
    }
}

/// `storyline replicas --json` on `database_url`.
fn listed(dir: &std::path::Path, database_url: &str) -> anyhow::Result<Vec<Value>> {
    let output = Command::new(env!("CARGO_BIN_EXE_storyline"))
        .args(["replicas", "--json"])
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", database_url)
        // The replicas' environment file, as the README's systemd unit has it: WEBHOOK_URL for
        // all, each replica's HTTP_ADDR set by the unit (not needed to list them).
        .env("WEBHOOK_URL", "https://bot.example.com/telegram")
        .output()?;
    ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    Ok(serde_json::from_slice::<Vec<Value>>(&output.stdout)?)
}

/// `count` people, each sending /start in their private chat; waits for every answer.
async fn starts(telegram: &FakeTelegram, first: i64, count: i64) -> anyhow::Result<()> {
    let before = telegram.count("sendMessage");
    for id in first..first + count {
        telegram.push_text(id, &FakeUser::new(id, "Pat"), "/start");
    }
    let expected = before + usize::try_from(count)?;
    telegram.wait_for("sendMessage", expected, WAIT).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_replicas_handle_each_update_once_and_a_killed_leaders_jobs_move_over() -> anyhow::Result<()> {
    let Some(backend) = Backend::postgres().await? else { return Ok(()) };
    let url = backend.database_url().context("a PostgreSQL backend has a URL")?.to_owned();
    let dir = tempfile::tempdir()?;
    let telegram = FakeTelegram::start().await?;
    let mut a = Replica::start(dir.path(), "a", &url, &telegram)?;
    let mut b = Replica::start(dir.path(), "b", &url, &telegram)?;
    telegram.deliver_round_robin(&[a.url(), b.url()]);
    telegram.redeliver_every(4);

    // Both up; exactly one runs the singleton jobs.
    let started = Instant::now();
    let (leader, standby) = loop {
        let (a_leads, b_leads) = (a.leads("token_refresh").await?, b.leads("token_refresh").await?);
        match (a_leads, b_leads) {
            (true, false) => break (&mut a, &mut b),
            (false, true) => break (&mut b, &mut a),
            (true, true) => anyhow::bail!("both lead token_refresh:\n{}\n{}", a.log(), b.log()),
            (false, false) => {}
        }
        ensure!(started.elapsed() < WAIT, "no replica took the jobs:\n{}\n{}", a.log(), b.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // A beat decides the jobs one after another: /healthz may show the first before the second.
    while !leader.leads("media_sync").await? {
        ensure!(started.elapsed() < WAIT, "the leader never took media_sync:\n{}\n{}", leader.log(), standby.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ensure!(leader.leads("media_sync").await? && !standby.leads("media_sync").await?);
    let standing = loop {
        let standing = standby.health().await?;
        if standing["replica"]["standby"].as_array().is_some_and(|jobs| jobs.len() == 2) || started.elapsed() > WAIT {
            break standing;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    ensure!(standing["replica"]["standby"].as_array().is_some_and(|jobs| jobs.len() == 2), "{standing}");
    ensure!(standing["loops"]["token_refresh"]["state"] == "ok", "a standby's job loop is alive: {standing}");

    // 40 people at once, every fourth update delivered twice, round-robin over both.
    starts(&telegram, 1_000, 40).await?;
    let (leader_health, standby_health) = (leader.health().await?, standby.health().await?);
    let accepted =
        [&leader_health, &standby_health].iter().map(|h| h["webhook"]["accepted"].as_u64().unwrap_or(0)).sum::<u64>();
    ensure!(accepted == 40, "each update handled once across the replicas: {leader_health} {standby_health}");
    for chat in 1_000..1_040 {
        let answers = telegram.sent_message_ids(chat).len();
        ensure!(answers == 1, "chat {chat} got {answers} answers");
    }
    ensure!(
        leader_health["webhook"]["accepted"].as_u64() > Some(0)
            && standby_health["webhook"]["accepted"].as_u64() > Some(0),
        "both replicas took updates: {leader_health} {standby_health}"
    );
    let replicas = listed(dir.path(), &url)?;
    ensure!(replicas.len() == 2, "{replicas:?}");
    let leader_id = leader_health["replica"]["id"].as_str().context("no replica id")?.to_owned();
    ensure!(
        replicas.iter().any(|r| r["id"] == leader_id.as_str() && r["leads"].as_array().is_some_and(|l| l.len() == 2))
    );

    // SIGKILL the leader: the standby runs the jobs within seconds, and takes every update.
    leader.child.kill()?;
    let _ = leader.child.wait();
    let killed = Instant::now();
    while !standby.leads("token_refresh").await? {
        ensure!(killed.elapsed() < WAIT, "the jobs never moved over: {}", standby.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failover = killed.elapsed();
    eprintln!("failover: the singleton jobs ran on the other replica {} ms after the SIGKILL", failover.as_millis());
    ensure!(failover < Duration::from_secs(15), "failover took {failover:?}");
    ensure!(standby.leads("media_sync").await?);
    starts(&telegram, 2_000, 10).await?;
    ensure!(telegram.count("sendMessage") == 50, "{}", telegram.count("sendMessage"));

    // SIGTERM: the survivor stops within 10 s, gives up its jobs and its heartbeat.
    let survivor_id = standby.health().await?["replica"]["id"].as_str().unwrap_or_default().to_owned();
    standby.terminate().await?;
    let left: Vec<String> =
        listed(dir.path(), &url)?.iter().filter_map(|r| r["id"].as_str().map(ToOwned::to_owned)).collect();
    ensure!(
        left == [leader_id.clone()],
        "the stopped one left, the killed one stays until it is 15 s unseen: {left:?}"
    );
    ensure!(!left.contains(&survivor_id));
    for log in [a.log(), b.log()] {
        ensure!(!log.contains(FakeTelegram::TOKEN.split(':').nth(1).unwrap_or("TEST-TOKEN")), "a token in the log");
    }
    Ok(())
}

/// How many of the first `workspaces` of [`stories_due`] have their story claimed: neither
/// waiting for its slot nor sent (nor failed).
async fn claimed(backend: &Backend, workspaces: usize) -> anyhow::Result<usize> {
    let stores = backend.reopen().await?;
    let now = chrono::Utc::now();
    let mut claimed = 0;
    for workspace in stores.settings.workspaces().await?.into_iter().take(workspaces) {
        let counts = stores.queue.counts(workspace.id, now).await?;
        if counts.pending == 0 && counts.awaiting_press == 0 && counts.failed == 0 {
            claimed += 1;
        }
    }
    Ok(claimed)
}

/// Three processes: the first claims every due story and is killed while sending the first
/// (Telegram never answers it); the other two send each of them once, when the lease ends, and
/// together within the bot's limits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_replica_killed_mid_send_has_its_stories_sent_once_by_the_other_two() -> anyhow::Result<()> {
    const STORIES: usize = 30;
    let Some(backend) = Backend::postgres().await? else { return Ok(()) };
    let url = backend.database_url().context("a PostgreSQL backend has a URL")?.to_owned();
    let dir = tempfile::tempdir()?;
    let media = dir.path().join("media");
    std::fs::create_dir(&media)?;
    stories_due(&backend, &media, STORIES).await?;
    let telegram = FakeTelegram::start().await?;
    telegram.enforce_limits();
    telegram.hold("sendPhoto");
    let vars = [
        ("MEDIA_DIR", media.display().to_string()),
        ("POSTING_INTERVAL_SECONDS", "1".to_owned()),
        ("SEND_LEASE_SECONDS", "5".to_owned()),
        ("ENCRYPTION_KEY", backend.encryption_key().to_owned()),
    ];
    let mut a = Replica::start_with(dir.path(), "a", &url, &telegram, &vars)?;
    let started = Instant::now();
    while telegram.held("sendPhoto") == 0 || claimed(&backend, STORIES).await? < STORIES {
        ensure!(
            started.elapsed() < WAIT,
            "the first replica did not claim every story ({} held): {}",
            telegram.held("sendPhoto"),
            a.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    a.child.kill()?;
    let _ = a.child.wait();
    let killed = Instant::now();
    ensure!(telegram.count("sendPhoto") == 0, "a story was sent before the kill");
    telegram.release("sendPhoto");

    let mut b = Replica::start_with(dir.path(), "b", &url, &telegram, &vars)?;
    let mut c = Replica::start_with(dir.path(), "c", &url, &telegram, &vars)?;
    telegram.deliver_round_robin(&[b.url(), c.url()]);
    telegram
        .wait_until(WAIT * 2, |t| t.count("sendPhoto") >= STORIES)
        .await
        .with_context(|| format!("{} of {STORIES} sent:\n{}\n{}", telegram.count("sendPhoto"), b.log(), c.log()))?;
    let took = killed.elapsed();
    eprintln!(
        "failover: the {STORIES} stories the killed replica held were sent by the other two {} ms after the SIGKILL \
         (lease 5 s)",
        took.as_millis()
    );
    // A few more ticks on both: nothing is sent again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    sent_once_each(&telegram, STORIES)?;
    b.terminate().await?;
    c.terminate().await?;
    let awaiting = awaiting_press(&backend).await?;
    ensure!(awaiting == u64::try_from(STORIES)?, "{awaiting} stories wait for a press");
    Ok(())
}
