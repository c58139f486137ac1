use chrono::{TimeZone, Utc};
use storyline_domain::ChatId;
use storyline_domain::library::{CategoryMix, ContentHash, MediaKind, NewMedia};
use storyline_domain::settings::{PostsPerDay, SettingsDefaults};
use storyline_memory::{ManualClock, MemoryStore};

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn transfer(store: &MemoryStore, clock: &ManualClock) -> SettingsTransfer {
    let store = Arc::new(store.clone());
    SettingsTransfer::new(store.clone(), store.clone(), store.clone(), store, Arc::new(clock.clone()))
}

async fn media(store: &MemoryStore, workspace: WorkspaceId, categories: &[&str]) -> TestResult {
    let items: Vec<NewMedia> = categories
        .iter()
        .enumerate()
        .map(|(n, category)| -> Result<NewMedia, Box<dyn std::error::Error>> {
            Ok(NewMedia {
                path: format!("{category}/{n}.png"),
                category: Category::new(category)?,
                kind: MediaKind::Image,
                hash: ContentHash::from_hex(&format!("{:064x}", n + 1)).ok_or("a hash")?,
                size_bytes: 1000,
                width: None,
                height: None,
            })
        })
        .collect::<Result<_, _>>()?;
    MediaLibrary::add(store, workspace, &items, Utc::now()).await?;
    Ok(())
}

#[tokio::test]
async fn an_export_imported_elsewhere_gives_the_same_settings_once_its_library_has_the_categories() -> TestResult {
    let store = MemoryStore::new();
    let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).single().ok_or("an instant")?);
    let transfer = transfer(&store, &clock);
    let defaults = SettingsDefaults::default();
    let a = store.ensure_workspace(ChatId(-1), "A", &defaults, clock.now()).await?;
    let b = store.ensure_workspace(ChatId(-2), "B", &defaults, clock.now()).await?;
    let seven = storyline_domain::settings::SettingChange::PostsPerDay(PostsPerDay::new(7)?);
    store.apply(a.id, seven, &Actor::Cli, clock.now()).await?;
    media(&store, a.id, &["memes", "merch"]).await?;
    store.set_mix(a.id, &CategoryMix::parse("memes=70 merch=30")?, &Actor::Cli, clock.now()).await?;
    let file = transfer.export(a.id).await?.to_json();

    let refused = transfer.import(b.id, &file, &Actor::Cli).await.map(|_| ()).map_err(|e| e.to_string());
    assert_eq!(
        refused,
        Err("category_mix: no categories memes, merch in this workspace's library: it has no categories yet \
             (index media first)"
            .to_owned())
    );
    assert_eq!(store.history(b.id).await?.len(), 1, "nothing changed");

    media(&store, b.id, &["memes", "merch"]).await?;
    let plan = transfer.plan(b.id, &file).await?;
    let lines: Vec<String> = plan.changes.iter().map(ToString::to_string).collect();
    assert_eq!(lines, vec!["posts_per_day: 3 → 7", "category_mix: (none) → memes=70 merch=30"]);
    assert_eq!(store.history(b.id).await?.len(), 1, "a plan changes nothing");
    let (_, applied) = transfer.import(b.id, &file, &Actor::Cli).await?;
    assert!(applied.mix_changed && applied.changes.len() == 1);
    assert_eq!(store.settings(b.id).await?, store.settings(a.id).await?);
    assert_eq!(transfer.export(b.id).await?, transfer.export(a.id).await?);
    assert!(transfer.plan(b.id, &file).await?.changes.is_empty(), "imported twice, the second changes nothing");
    Ok(())
}

#[tokio::test]
async fn a_refused_file_is_a_refusal_and_changes_nothing() -> TestResult {
    let store = MemoryStore::new();
    let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).single().ok_or("an instant")?);
    let transfer = transfer(&store, &clock);
    let a = store.ensure_workspace(ChatId(-1), "A", &SettingsDefaults::default(), clock.now()).await?;
    let error = transfer.import(a.id, r#"{"version": 3}"#, &Actor::Cli).await.map(|_| ()).expect_err("refused");
    assert!(error.is_refusal(), "{error}");
    assert!(error.to_string().starts_with("version: 3 is not a version"), "{error}");
    assert_eq!(store.history(a.id).await?.len(), 1);
    Ok(())
}
