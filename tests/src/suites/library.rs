//! The `MediaLibrary` contract.

use anyhow::{Context, ensure};
use storyline_domain::library::{Category, CategoryMix, CategoryStats, ContentHash, MediaKind, NewMedia};
use storyline_domain::ports::{AddReport, MediaQuery};
use storyline_domain::queue::Outcome;
use storyline_domain::user::{Actor, TelegramUserId};

use super::{instant, new_media, two_workspaces};
use crate::{Backend, TestResult};

fn category(name: &str) -> anyhow::Result<Category> {
    Ok(Category::new(name)?)
}

fn everything() -> MediaQuery {
    MediaQuery { category: None, limit: 100 }
}

pub async fn the_same_content_is_indexed_once_and_reported(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let first = stores
        .library
        .add(
            workspace.id,
            &[new_media("memes/a.jpg", 1), new_media("memes/b.jpg", 2), new_media("merch/copy-of-a.jpg", 1)],
            instant(1),
        )
        .await?;
    ensure!(
        first == AddReport { added: 2, duplicates: vec![("merch/copy-of-a.jpg".to_owned(), "memes/a.jpg".to_owned())] },
        "twice within one batch: {first:?}"
    );
    let second = stores
        .library
        .add(
            workspace.id,
            &[new_media("memes/b.jpg", 2), new_media("memes/c.jpg", 3), new_media("old/renamed-b.jpg", 2)],
            instant(2),
        )
        .await?;
    ensure!(
        second
            == AddReport {
                added: 1,
                duplicates: vec![
                    ("memes/b.jpg".to_owned(), "memes/b.jpg".to_owned()),
                    ("old/renamed-b.jpg".to_owned(), "memes/b.jpg".to_owned()),
                ]
            },
        "already stored, under its own or another name: {second:?}"
    );
    let paths: Vec<String> =
        stores.library.media(workspace.id, &everything()).await?.into_iter().map(|m| m.path).collect();
    ensure!(paths == ["memes/a.jpg", "memes/b.jpg", "memes/c.jpg"], "by path: {paths:?}");
    Ok(())
}

pub async fn a_media_item_keeps_everything_it_was_added_with(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let video = NewMedia {
        path: "clips/Summer Trip/ü-1.mov".to_owned(),
        category: category("clips")?,
        kind: MediaKind::Video,
        hash: ContentHash::from_hex(&"ab".repeat(32)).context("hash")?,
        size_bytes: 5_000_000_000,
        width: None,
        height: None,
    };
    stores.library.add(workspace.id, &[video.clone(), new_media("memes/a.jpg", 1)], instant(3)).await?;
    let listed =
        stores.library.media(workspace.id, &MediaQuery { category: Some(category("clips")?), limit: 10 }).await?;
    let [item] = listed.as_slice() else { anyhow::bail!("one clip: {listed:?}") };
    ensure!(item.path == video.path && item.category == video.category && item.kind == MediaKind::Video);
    ensure!(item.hash == video.hash && item.size_bytes == 5_000_000_000);
    ensure!(item.width.is_none() && item.height.is_none());
    ensure!(item.active && item.times_posted == 0 && item.last_posted_at.is_none() && item.added_at == instant(3));
    ensure!(stores.library.get(workspace.id, item.id).await?.as_ref() == Some(item));
    let image =
        stores.library.media(workspace.id, &MediaQuery { category: Some(category("memes")?), limit: 10 }).await?;
    ensure!(image.len() == 1 && image[0].width == Some(1080) && image[0].height == Some(1920));
    ensure!(stores.library.media(workspace.id, &MediaQuery { category: None, limit: 1 }).await?[0].path == video.path);
    ensure!(stores.library.media(workspace.id, &MediaQuery { category: None, limit: 0 }).await?.is_empty());
    Ok(())
}

pub async fn categories_count_their_media_what_is_available_and_what_was_posted(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    stores
        .library
        .add(
            workspace.id,
            &[
                new_media("memes/a.jpg", 1),
                new_media("memes/b.jpg", 2),
                new_media("memes/c.jpg", 3),
                new_media("merch/d.jpg", 4),
            ],
            instant(0),
        )
        .await?;
    let memes =
        stores.library.media(workspace.id, &MediaQuery { category: Some(category("memes")?), limit: 10 }).await?;
    // a is posted (locked), b is queued, c is free.
    stores.queue.enqueue(workspace.id, &[(instant(1), memes[0].id), (instant(2), memes[1].id)]).await?;
    let claimed =
        stores.queue.claim_next(workspace.id, instant(1), chrono::Duration::minutes(5)).await?.context("a")?;
    stores.queue.mark_sent(workspace.id, claimed.entry.item.id, 10, instant(1)).await?;
    stores.queue.resolve(workspace.id, claimed.entry.item.id, Outcome::Posted, &Actor::Cli, instant(2)).await?;
    let stats = stores.library.categories(workspace.id, instant(3)).await?;
    ensure!(
        stats
            == vec![
                CategoryStats { category: category("memes")?, total: 3, available: 1, posted: 1 },
                CategoryStats { category: category("merch")?, total: 1, available: 1, posted: 0 },
            ],
        "{stats:?}"
    );
    let later = stores.library.categories(workspace.id, instant(2) + chrono::Duration::days(31)).await?;
    ensure!(later[0].available == 2, "the repost lock ends after 30 days: {later:?}");
    Ok(())
}

pub async fn the_category_mix_keeps_every_version(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    ensure!(stores.library.mix_history(workspace.id).await?.is_empty(), "no mix at first");
    let alice = Actor::User(TelegramUserId(7));
    let first = CategoryMix::parse("memes=70 merch=30")?;
    let second = CategoryMix::parse("memes=50 merch=25 clips=25")?;
    let third = CategoryMix::parse("memes=100")?;
    stores.library.set_mix(workspace.id, &first, &Actor::Cli, instant(10)).await?;
    stores.library.set_mix(workspace.id, &second, &alice, instant(20)).await?;
    stores.library.set_mix(workspace.id, &third, &Actor::Cli, instant(30)).await?;
    let history = stores.library.mix_history(workspace.id).await?;
    let seen: Vec<_> = history.iter().map(|v| (v.mix.clone(), v.valid_from, v.valid_to, v.set_by.clone())).collect();
    ensure!(
        seen == vec![
            (third, instant(30), None, Actor::Cli),
            (second, instant(20), Some(instant(30)), alice),
            (first, instant(10), Some(instant(20)), Actor::Cli),
        ],
        "newest first, each ending where the next begins: {seen:?}"
    );
    Ok(())
}

pub async fn the_library_survives_a_restart(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    stores.library.add(workspace.id, &[new_media("memes/a.jpg", 1)], instant(1)).await?;
    stores.library.set_mix(workspace.id, &CategoryMix::parse("memes=100")?, &Actor::Cli, instant(2)).await?;
    let before = stores.library.media(workspace.id, &everything()).await?;
    let restarted = backend.reopen().await?;
    ensure!(restarted.library.media(workspace.id, &everything()).await? == before);
    ensure!(restarted.library.mix_history(workspace.id).await? == stores.library.mix_history(workspace.id).await?);
    let again = restarted.library.add(workspace.id, &[new_media("memes/again.jpg", 1)], instant(3)).await?;
    ensure!(again.added == 0 && again.duplicates.len() == 1, "still known after a restart");
    Ok(())
}

pub async fn a_workspace_cannot_see_another_workspaces_media_or_mix(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    stores.library.add(a.id, &[new_media("memes/a.jpg", 1)], instant(1)).await?;
    stores.library.set_mix(a.id, &CategoryMix::parse("memes=100")?, &Actor::Cli, instant(1)).await?;
    let item = stores.library.media(a.id, &everything()).await?.pop().context("A's item")?;
    ensure!(stores.library.media(b.id, &everything()).await?.is_empty());
    ensure!(stores.library.get(b.id, item.id).await?.is_none());
    ensure!(stores.library.categories(b.id, instant(2)).await?.is_empty());
    ensure!(stores.library.mix_history(b.id).await?.is_empty());
    let added = stores.library.add(b.id, &[new_media("memes/a.jpg", 1)], instant(2)).await?;
    ensure!(added == AddReport { added: 1, duplicates: vec![] }, "the same content in another workspace is new there");
    ensure!(stores.library.media(a.id, &everything()).await? == vec![item]);
    Ok(())
}

pub async fn media_that_needs_interaction_is_marked_and_shown_in_the_queue(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    stores.library.add(a.id, &[new_media("memes/a.jpg", 1)], instant(1)).await?;
    let item = stores.library.media(a.id, &everything()).await?.pop().context("A's item")?;
    ensure!(!item.needs_interaction, "not by default");
    ensure!(stores.library.set_needs_interaction(a.id, item.id, true).await?);
    ensure!(stores.library.get(a.id, item.id).await?.is_some_and(|m| m.needs_interaction));
    stores.queue.enqueue(a.id, &[(instant(2), item.id)]).await?;
    let entries = stores.queue.entries(a.id, 10).await?;
    ensure!(entries.len() == 1 && entries[0].needs_interaction, "the queue shows it: {entries:?}");
    ensure!(!stores.library.set_needs_interaction(b.id, item.id, false).await?, "another workspace's media");
    ensure!(stores.library.get(a.id, item.id).await?.is_some_and(|m| m.needs_interaction), "unchanged");
    ensure!(
        !stores.library.set_needs_interaction(a.id, storyline_domain::library::MediaId::new(), true).await?,
        "unknown media"
    );
    ensure!(stores.library.set_needs_interaction(a.id, item.id, false).await?);
    ensure!(stores.library.get(a.id, item.id).await?.is_some_and(|m| !m.needs_interaction));
    ensure!(!stores.queue.entries(a.id, 10).await?[0].needs_interaction);
    Ok(())
}
