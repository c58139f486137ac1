//! Supervised loops and `/healthz` (FEATURES O5).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use storyline::loops::{Alert, LoopHealth, serve_health, supervise};
use storyline_domain::ports::SettingsStore;
use storyline_sqlite::SqliteStore;
use storyline_tests::files::healthz;
use tokio::sync::watch;

#[tokio::test(start_paused = true)]
async fn a_failing_or_panicking_tick_is_restarted_with_backoff_and_reported_once() -> anyhow::Result<()> {
    let health = LoopHealth::new("posting", Duration::from_secs(60));
    let said = Arc::new(Mutex::new(Vec::<String>::new()));
    let alert: Alert = {
        let said = said.clone();
        Arc::new(move |text| {
            said.lock().unwrap_or_else(PoisonError::into_inner).push(text);
            Box::pin(async {})
        })
    };
    let ticks = Arc::new(AtomicU32::new(0));
    let (stop, shutdown) = watch::channel(false);
    let running = tokio::spawn(supervise(health.clone(), Some(alert), shutdown, {
        let ticks = ticks.clone();
        move || {
            let n = ticks.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => anyhow::bail!("the database is gone"),
                    1 => panic!("a bug"),
                    2 => anyhow::bail!("still gone"),
                    _ => Ok(()),
                }
            }
        }
    }));
    // Backoff 1 s, 2 s, 4 s, then ticks every 60 s: by 70 s (paused time) it has recovered.
    tokio::time::sleep(Duration::from_secs(70)).await;
    let report = health.report();
    assert_eq!(report["restarts"], 3, "{report}");
    assert_eq!(report["failures_in_a_row"], 0, "{report}");
    assert_eq!(report["state"], "ok", "{report}");
    assert!(ticks.load(Ordering::SeqCst) >= 4);
    let said = said.lock().unwrap_or_else(PoisonError::into_inner).clone();
    assert_eq!(said.len(), 2, "one alert for the failure streak, one for the recovery: {said:?}");
    assert!(said[0].contains("failed and is restarting") && said[1].contains("works again"), "{said:?}");
    assert!(!said[0].contains("the database is gone"), "causes stay in the log: {said:?}");
    assert_eq!(report["last_error"], "still gone", "{report}");
    let _ = stop.send(true);
    running.await?;
    Ok(())
}

#[tokio::test]
async fn healthz_is_200_only_while_the_database_answers_and_every_loop_ticks() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::connect(&format!("sqlite://{}", dir.path().join("s.db").display())).await?;
    store.migrate().await?;
    let settings: Arc<dyn SettingsStore> = Arc::new(store.clone());
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let health = LoopHealth::new("posting", Duration::from_millis(200));
    let (stop, shutdown) = watch::channel(false);
    let server = tokio::spawn(serve_health(addr, settings, vec![health.clone()], None, shutdown.clone()));
    tokio::time::sleep(Duration::from_millis(100)).await;

    let (status, body) = healthz(addr).await?;
    assert_eq!(status, 503, "a loop that never ticked is not healthy: {body}");
    assert_eq!(body["loops"]["posting"]["state"], "starting", "{body}");

    let looping = tokio::spawn(supervise(health.clone(), None, shutdown, || async { Ok(()) }));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, body) = healthz(addr).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["loops"]["posting"]["state"], "ok");

    // A loop that stops ticking goes stale after twice its interval.
    let _ = stop.send(true);
    looping.await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (stop, shutdown) = watch::channel(false);
    let settings: Arc<dyn SettingsStore> = Arc::new(store.clone());
    server.await??;
    let server = tokio::spawn(serve_health(addr, settings, vec![health.clone()], None, shutdown));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, body) = healthz(addr).await?;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["loops"]["posting"]["state"], "stale", "{body}");

    // The database gone: 503 naming it.
    store.close().await;
    let (status, body) = healthz(addr).await?;
    assert_eq!(status, 503, "{body}");
    assert_ne!(body["database"], "ok", "{body}");
    let _ = stop.send(true);
    server.await??;
    Ok(())
}
