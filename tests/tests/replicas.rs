//! Singleton jobs on PostgreSQL (`PgLeadership`): one process at a time leads each job, a
//! graceful stop hands it over at once, and a process whose session dies loses it to another.

use std::time::Duration;

use anyhow::{Context, ensure};
use storyline_domain::ports::Leadership;
use storyline_postgres::{PgLeadership, PostgresStore};
use storyline_tests::{Backend, TestResult};

async fn leadership(url: &str) -> anyhow::Result<(PostgresStore, PgLeadership)> {
    let store = PostgresStore::connect(url).await?;
    let leadership = PgLeadership::new(store.pool().clone());
    Ok((store, leadership))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_one_process_at_a_time_leads_a_job_and_another_takes_over() -> TestResult {
    let Some(backend) = Backend::postgres().await? else { return Ok(()) };
    let url = backend.database_url().context("a PostgreSQL backend has a URL")?;
    let (_a_store, a) = leadership(url).await?;
    let (b_store, b) = leadership(url).await?;

    ensure!(a.try_lead("token_refresh").await?, "the first to ask leads");
    ensure!(!b.try_lead("token_refresh").await?, "the second does not");
    ensure!(a.try_lead("token_refresh").await?, "asking again keeps it");
    ensure!(b.try_lead("media_sync").await?, "each job has its own leader");
    ensure!(!a.try_lead("media_sync").await?);

    // A graceful stop: the job is free at once.
    a.resign().await;
    ensure!(b.try_lead("token_refresh").await?, "b takes over what a gave up");
    ensure!(!a.try_lead("token_refresh").await?, "and a does not get it back");

    // b's session dies (as when its process is killed): the server frees its locks.
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(held.pid) FROM (SELECT DISTINCT l.pid FROM pg_locks l \
         JOIN pg_database d ON d.oid = l.database AND d.datname = current_database() \
         WHERE l.locktype = 'advisory' AND l.pid <> pg_backend_pid()) held",
    )
    .fetch_all(b_store.pool())
    .await?;
    ensure!(ended == [true], "exactly b's lock session held advisory locks: {ended:?}");
    let mut took = false;
    for _ in 0..50 {
        if a.try_lead("token_refresh").await? {
            took = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ensure!(took, "a took over the job of the dead session");
    ensure!(a.try_lead("media_sync").await?, "and its other job");
    ensure!(!b.try_lead("token_refresh").await?, "b finds out it lost the job, and does not run it");
    Ok(())
}

/// A role changed through one process is heard by every other as soon as it commits (the bot
/// then forgets the role it remembered), and so is an account change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_role_changed_in_one_process_is_heard_by_the_others() -> TestResult {
    use storyline_domain::ports::{ChangeFeed, Changed};
    use storyline_domain::user::{Actor, Role, TelegramUserId};

    let Some(backend) = Backend::postgres().await? else { return Ok(()) };
    let url = backend.database_url().context("a PostgreSQL backend has a URL")?;
    let (listening, _) = leadership(url).await?;
    let feed = storyline_postgres::PgChangeFeed::new(listening.pool().clone());
    let (tell, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let following = tokio::spawn(async move {
        feed.follow(Box::new(move |changed| {
            let _ = tell.send(changed);
        }))
        .await
    });
    ensure!(next(&mut heard).await == Some(Changed::Everything), "a new follower starts from nothing remembered");

    let stores = backend.stores();
    let workspace = stores
        .settings
        .ensure_workspace(storyline_domain::ChatId(-77), "Team", &Default::default(), chrono::Utc::now())
        .await?;
    let user = TelegramUserId(501);
    stores.users.set_role(workspace.id, user, Role::Admin, &Actor::Cli, chrono::Utc::now()).await?;
    ensure!(next(&mut heard).await == Some(Changed::Member { workspace: workspace.id, user }), "the promotion");
    // Setting the same role again changes nothing, and tells nothing.
    stores.users.set_role(workspace.id, user, Role::Admin, &Actor::Cli, chrono::Utc::now()).await?;
    let quiet = tokio::time::timeout(Duration::from_millis(500), heard.recv()).await;
    ensure!(quiet.is_err(), "the same role again was told: {quiet:?}");
    stores.users.set_role(workspace.id, user, Role::Member, &Actor::Cli, chrono::Utc::now()).await?;
    ensure!(next(&mut heard).await == Some(Changed::Member { workspace: workspace.id, user }), "the demotion");
    following.abort();
    Ok(())
}

async fn next(
    heard: &mut tokio::sync::mpsc::UnboundedReceiver<storyline_domain::ports::Changed>,
) -> Option<storyline_domain::ports::Changed> {
    tokio::time::timeout(Duration::from_secs(5), heard.recv()).await.ok().flatten()
}
