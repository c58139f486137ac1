//! Many workspaces with a story due at once, for the tests of the posting loop across processes.

use anyhow::{Context, ensure};
use chrono::Utc;
use storyline_domain::ChatId;
use storyline_domain::library::{Category, ContentHash, MediaKind, NewMedia};
use storyline_domain::ports::MediaQuery;
use storyline_domain::settings::SettingsDefaults;

use crate::Backend;
use crate::fake_telegram::FakeTelegram;
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

/// Telegram never had to answer 429, and each of the first `stories` chats of [`stories_due`]
/// got exactly one photo, and no other chat any.
///
/// # Errors
/// When one of these does not hold.
pub fn sent_once_each(telegram: &FakeTelegram, stories: usize) -> anyhow::Result<()> {
    ensure!(telegram.too_many_requests() == 0, "{} requests answered 429", telegram.too_many_requests());
    let mut per_chat = std::collections::HashMap::<i64, usize>::new();
    for call in telegram.calls("sendPhoto") {
        *per_chat.entry(call["chat_id"].as_i64().context("no chat_id")?).or_default() += 1;
    }
    let twice: Vec<_> = per_chat.iter().filter(|(_, sent)| **sent != 1).collect();
    ensure!(twice.is_empty(), "sent more than once: {twice:?}");
    let missing: Vec<i64> = (0..stories).map(chat).filter(|c| !per_chat.contains_key(c)).collect();
    ensure!(missing.is_empty() && per_chat.len() == stories, "never sent to {missing:?}");
    Ok(())
}

/// How many stories wait for a press, over every workspace of `backend`'s database.
///
/// # Errors
/// When the store fails.
pub async fn awaiting_press(backend: &Backend) -> anyhow::Result<u64> {
    let stores = backend.reopen().await?;
    let mut awaiting = 0;
    for workspace in stores.settings.workspaces().await? {
        awaiting += stores.queue.counts(workspace.id, Utc::now()).await?.awaiting_press;
    }
    Ok(awaiting)
}
