//! Setting the category mix: only categories the library has.

use storyline_domain::library::Category;
use storyline_domain::ports::StoreError;

/// Why a category mix was not set. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum SetMixError {
    #[error("{}", unknown_categories(unknown, known))]
    UnknownCategories { unknown: Vec<Category>, known: Vec<Category> },
    #[error("the category mix could not be saved")]
    Store(#[from] StoreError),
}

/// "no category kittens in the library (it has memes, merch)".
fn unknown_categories(unknown: &[Category], known: &[Category]) -> String {
    let list = |categories: &[Category]| categories.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let named = if unknown.len() == 1 { "no category" } else { "no categories" };
    if known.is_empty() {
        format!("{named} {} in the library: it has no categories yet (index media first)", list(unknown))
    } else {
        format!("{named} {} in the library (it has {})", list(unknown), list(known))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use storyline_domain::ChatId;
    use storyline_domain::library::{CategoryMix, ContentHash, MediaKind, NewMedia};
    use storyline_domain::ports::{MediaLibrary, SettingsStore};
    use storyline_domain::settings::SettingsDefaults;
    use storyline_domain::user::Actor;
    use storyline_memory::{ManualClock, MemoryStore};

    use super::*;
    use crate::library::LibraryService;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[tokio::test]
    async fn a_mix_naming_a_category_the_library_lacks_is_refused_naming_those_it_has() -> TestResult {
        let store = MemoryStore::new();
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).single().ok_or("an instant")?;
        let library = LibraryService::new(Arc::new(store.clone()), Arc::new(ManualClock::at(now)));
        let workspace = store.ensure_workspace(ChatId(-1), "Team", &SettingsDefaults::default(), now).await?;
        let mix = CategoryMix::parse("memes=70 kittens=30")?;
        let refused = library.set_mix(workspace.id, &mix, &Actor::Cli).await;
        assert_eq!(
            refused.map_err(|e| e.to_string()),
            Err("no categories kittens, memes in the library: it has no categories yet (index media first)".to_owned())
        );
        let mut media = Vec::new();
        for (n, category) in ["memes", "merch"].into_iter().enumerate() {
            media.push(NewMedia {
                path: format!("{category}/a.png"),
                category: Category::new(category)?,
                kind: MediaKind::Image,
                hash: ContentHash::from_hex(&format!("{n:064x}")).ok_or("a hash")?,
                size_bytes: 1000,
                width: None,
                height: None,
            });
        }
        store.add(workspace.id, &media, now).await?;
        let refused = library.set_mix(workspace.id, &mix, &Actor::Cli).await;
        assert_eq!(
            refused.map_err(|e| e.to_string()),
            Err("no category kittens in the library (it has memes, merch)".to_owned())
        );
        assert!(store.mix_history(workspace.id).await?.is_empty(), "nothing changed");
        library.set_mix(workspace.id, &CategoryMix::parse("memes=70 merch=30")?, &Actor::Cli).await?;
        assert_eq!(store.mix_history(workspace.id).await?.len(), 1);
        Ok(())
    }
}
