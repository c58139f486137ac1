//! `/sync`: the library brought in step with the workspace's media source now (FEATURES M3),
//! answered with the run's summary.

use storyline_domain::source::SyncSummary;

use super::*;
use crate::errors::warn_with_reference;
use crate::library::sync::summary_line;
use crate::library::{Quiet, SyncError};

/// What `/sync` answers after a run: the counts, then the refused files (the first few).
#[must_use]
pub fn summary_screen(summary: &SyncSummary) -> String {
    const SHOWN: usize = 10;
    let mut text = format!("🔄 Library synced: {}.", summary_line(summary));
    if summary.dropped_from_queue > 0 {
        text.push_str(&format!(" {} queued stories of gone files were dropped.", summary.dropped_from_queue));
    }
    for (path, why) in summary.refused.iter().take(SHOWN) {
        text.push_str(&format!("\n• {path}: {why}"));
    }
    if summary.refused.len() > SHOWN {
        text.push_str(&format!(
            "\n… and {} more refused (`storyline sync-media` lists them all).",
            summary.refused.len() - SHOWN
        ));
    }
    text
}

impl Bot {
    /// `/sync`. The caller has asked the table.
    pub(super) async fn sync_now(&self, turn: &Turn) -> Result<(), BotError> {
        let Some((service, sources)) = &self.sync else {
            return self.say(turn, "Syncing the library is not set up here.").await.map(|_| ());
        };
        let source = match sources.source(turn.workspace.id).await {
            Ok(source) => source,
            Err(error) => {
                let reference = warn_with_reference("the media source could not be opened", &error);
                let text = format!("The media source could not be opened; nothing changed (ref {reference}).");
                return self.say(turn, text).await.map(|_| ());
            }
        };
        let synced = service.sync(&turn.workspace, source.as_ref(), &Quiet).await;
        self.media_changed(turn.workspace.id);
        let text = match synced {
            Ok(summary) => summary_screen(&summary),
            Err(SyncError::Busy) => {
                "A sync of this library is running already; try /sync again in a moment.".to_owned()
            }
            Err(SyncError::Unreachable(error)) => {
                format!("Nothing changed: the media source cannot be reached ({error}).")
            }
            Err(error @ SyncError::Source(_)) => {
                let reference = warn_with_reference("the media source could not be listed", &error);
                format!("The media source could not be listed; nothing changed (ref {reference}).")
            }
            Err(SyncError::Store(error)) => return Err(error.into()),
        };
        self.say(turn, text).await.map(|_| ())
    }
}
