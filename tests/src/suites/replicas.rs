//! The `Replicas` contract (heartbeats), and `Leadership` on the stores that have it.

use anyhow::ensure;
use storyline_domain::ports::Replica;

use super::instant;
use crate::{Backend, TestResult};

fn replica(id: &str, started: i64, seen: i64, leads: &[&str]) -> Replica {
    Replica {
        id: id.to_owned(),
        host: "box-1".to_owned(),
        pid: 4_242,
        mode: "webhook".to_owned(),
        started_at: instant(started),
        seen_at: instant(seen),
        leads: leads.iter().map(|job| (*job).to_owned()).collect(),
    }
}

pub async fn heartbeats_list_the_live_replicas_and_a_stop_or_silence_removes_one(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    ensure!(stores.replicas.live(instant(0)).await?.is_empty(), "no replica yet");
    stores.replicas.beat(&replica("b", 1, 1, &[])).await?;
    stores.replicas.beat(&replica("a", 0, 0, &["token_refresh"])).await?;
    // A later beat updates what it leads and when it was seen, never when it started.
    stores.replicas.beat(&replica("a", 5, 2, &["media_sync", "token_refresh"])).await?;
    let live = stores.replicas.live(instant(0)).await?;
    ensure!(live.len() == 2 && live[0].id == "a" && live[1].id == "b", "the longest running first: {live:?}");
    ensure!(live[0] == replica("a", 0, 2, &["media_sync", "token_refresh"]), "{:?}", live[0]);
    ensure!(live[1].leads.is_empty(), "{:?}", live[1]);
    ensure!(stores.replicas.live(instant(2)).await?.len() == 1, "b was not seen since minute 1");

    let restarted = backend.reopen().await?;
    ensure!(restarted.replicas.live(instant(0)).await?.len() == 2, "heartbeats are in the database");
    ensure!(restarted.replicas.leave("a", instant(0)).await? == 1, "a stopped");
    ensure!(restarted.replicas.leave("", instant(2)).await? == 1, "b went silent before minute 2");
    ensure!(restarted.replicas.live(instant(0)).await?.is_empty());
    Ok(())
}
