//! Many workspaces with a story due at once, for the tests of the posting loop across processes.

use anyhow::{Context, ensure};
use chrono::Utc;
use storyline_domain::ChatId;
use storyline_domain::library::{Category, ContentHash, MediaKind, NewMedia};
use storyline_domain::ports::MediaQuery;
use storyline_domain::settings::SettingsDefaults;

use crate::Backend;
use crate::files::png;

/// The chat of workspace `n` of [`stories_due`]: supergroups, as most teams are.
#[must_use]
pub fn chat(n: usize) -> i64 {
    -1_000_000_000 - i64::try_from(n).unwrap_or_default()
}

/// `workspaces` workspaces (chats [`chat`]`(0..workspaces)`), each with one picture in its own
/// folder under `media` (`media/<workspace id>`, as with no `TELEGRAM_CHAT_ID`) and that picture
/// due a minute ago.
///
/// # Errors
/// When the store or the folder fails.
pub async fn stories_due(backend: &Backend, media: &std::path::Path, workspaces: usize) -> anyhow::Result<()> {
    let stores = backend.stores();
    let now = Utc::now();
    let picture = media.join("story.png");
    std::fs::write(&picture, png(108, 192, "story"))?;
    let defaults = SettingsDefaults::default();
    for n in 0..workspaces {
        let workspace = stores.settings.ensure_workspace(ChatId(chat(n)), &format!("Team {n}"), &defaults, now).await?;
        let folder = media.join(workspace.id.to_string()).join("memes");
        std::fs::create_dir_all(&folder)?;
        std::fs::hard_link(&picture, folder.join("story.png"))?;
        let item = NewMedia {
            path: "memes/story.png".to_owned(),
            category: Category::new("memes")?,
            kind: MediaKind::Image,
            hash: ContentHash::from_hex(&format!("{n:064x}")).context("hash")?,
            size_bytes: 100,
            width: Some(108),
            height: Some(192),
        };
        stores.library.add(workspace.id, &[item], now).await?;
        let media = stores.library.media(workspace.id, &MediaQuery { category: None, limit: 1 }).await?;
        let media = media.first().context("the story was not added")?;
        let queued = stores.queue.enqueue(workspace.id, &[(now - chrono::Duration::minutes(1), media.id)]).await?;
        ensure!(queued == 1, "queued {queued}");
    }
    Ok(())
}
