//! `storyline replicas`: the `storyline run` processes alive on this database, from their
//! heartbeats (each records one every few seconds; one not seen for 15 seconds is gone).

use std::io::Write;

use serde_json::json;

use super::Outcome;
use super::library::table;
use crate::replicas::GONE_AFTER;
use crate::wiring::App;

/// Prints the live replicas, the longest running first: id, host, pid, mode, started, last
/// seen, and the singleton jobs each leads.
///
/// # Errors
/// When the database cannot be read or the output written.
pub(super) async fn list(app: &App, json: bool, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let now = app.clock.now();
    let gone = chrono::TimeDelta::from_std(GONE_AFTER)?;
    let live = app.stores.replicas.live(now - gone).await?;
    if json {
        let rows: Vec<_> = live
            .iter()
            .map(|r| {
                json!({
                    "id": r.id, "host": r.host, "pid": r.pid, "mode": r.mode,
                    "started_at": r.started_at, "seen_at": r.seen_at, "leads": r.leads,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(Outcome::Done);
    }
    if live.is_empty() {
        writeln!(out, "No replica is running on this database (none was seen in the last {}s).", GONE_AFTER.as_secs())?;
        return Ok(Outcome::Done);
    }
    let mut shown = table(&["Replica", "Host", "PID", "Mode", "Started", "Last seen", "Runs"]);
    for replica in &live {
        let ago = (now - replica.seen_at).num_seconds().max(0);
        shown.add_row(vec![
            replica.id.clone(),
            replica.host.clone(),
            replica.pid.to_string(),
            replica.mode.clone(),
            replica.started_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            format!("{ago}s ago"),
            if replica.leads.is_empty() { "—".to_owned() } else { replica.leads.join(", ") },
        ]);
    }
    writeln!(out, "{shown}")?;
    writeln!(out, "{} replica(s) alive.", live.len())?;
    Ok(Outcome::Done)
}
