//! `/settings export` (FEATURES T3): the workspace's settings, category mix, account identities
//! (no tokens) and media source (no secret) sent to the chat as a JSON file, the same document
//! `storyline settings export` writes.

use super::*;

impl Bot {
    /// `/settings export`, `/export`. The caller has asked the table.
    pub(super) async fn export_settings(&self, turn: &Turn) -> Result<(), BotError> {
        let Some(transfer) = &self.transfer else {
            return self.say(turn, "Exporting the settings is not set up here.").await.map(|_| ());
        };
        let document = transfer.export(turn.workspace.id).await?;
        let file_name = format!("storyline-settings-{}.json", turn.workspace.chat_id);
        let caption = format!(
            "⚙️ The settings of {} (no tokens, no secrets). `storyline settings import FILE --chat CHAT` \
             applies them to a workspace.",
            turn.workspace.name
        );
        self.ports.notifier.send_document(turn.chat(), &file_name, document.to_json().into_bytes(), &caption).await?;
        Ok(())
    }
}
