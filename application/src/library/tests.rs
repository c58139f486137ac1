use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use storyline_domain::ChatId;
use storyline_domain::library::{MediaContent, StillFormat};
use storyline_domain::ports::{SettingsStore, SourceEntry, SourceFile};
use storyline_domain::settings::SettingsDefaults;
use storyline_memory::{ManualClock, MemoryStore};

use super::*;

/// A media source in memory: path → (what it describes, or the error it gives).
#[derive(Default)]
struct Files(BTreeMap<String, Result<SourceFile, &'static str>>);

impl Files {
    fn png(mut self, path: &str, content: u8, width: u32, height: u32) -> Self {
        let file = SourceFile {
            path: path.to_owned(),
            extension: "png".to_owned(),
            size_bytes: 100,
            sha256: format!("{content:02x}").repeat(32),
            content: MediaContent::Still { format: StillFormat::Png, width, height },
        };
        self.0.insert(path.to_owned(), Ok(file));
        self
    }

    fn text_named_png(mut self, path: &str) -> Self {
        let file = SourceFile {
            path: path.to_owned(),
            extension: "png".to_owned(),
            size_bytes: 12,
            sha256: "ee".repeat(32),
            content: MediaContent::Other("text".to_owned()),
        };
        self.0.insert(path.to_owned(), Ok(file));
        self
    }

    fn link_outside(mut self, path: &str) -> Self {
        self.0.insert(path.to_owned(), Err("outside"));
        self
    }
}

#[async_trait]
impl MediaSource for Files {
    async fn list(&self) -> Result<Vec<SourceEntry>, SourceError> {
        Ok(self
            .0
            .keys()
            .map(|path| SourceEntry { path: path.clone(), size_bytes: 100, checksum: None, modified: None })
            .collect())
    }

    async fn describe(&self, path: &str) -> Result<SourceFile, SourceError> {
        match self.0.get(path) {
            Some(Ok(file)) => Ok(file.clone()),
            Some(Err(_)) => Err(SourceError::OutsideRoot(path.to_owned())),
            None => Err(SourceError::NotFound(path.to_owned())),
        }
    }

    async fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        Err(SourceError::NotFound(path.to_owned()))
    }

    fn locate(&self, path: &str) -> String {
        path.to_owned()
    }
}

async fn library() -> anyhow::Result<(LibraryService, WorkspaceId)> {
    let store = MemoryStore::new();
    let at = Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).single().unwrap_or_default();
    let workspace = store.ensure_workspace(ChatId(-1), "Team", &SettingsDefaults::default(), at).await?;
    Ok((LibraryService::new(Arc::new(store), Arc::new(ManualClock::at(at))), workspace.id))
}

#[test]
fn the_first_folder_is_the_category() {
    assert_eq!(category_of("Memes/deep/a.png").map(|c| c.to_string()), Ok("memes".to_owned()));
    assert_eq!(category_of("a.png").map(|c| c.to_string()), Ok(UNCATEGORIZED.to_owned()));
    assert!(category_of("two words/a.png").is_err());
}

#[tokio::test]
async fn reindexing_reports_unchanged_files_by_count_and_names_duplicates_new_path_first() -> anyhow::Result<()> {
    let (library, workspace) = library().await?;
    let files = Files::default().png("memes/a.png", 1, 1080, 1920).png("merch/mug.png", 2, 400, 400);
    let first = library.index(workspace, &files, &Quiet).await?;
    assert_eq!(first.added, 2);
    assert_eq!(first.added_paths, ["memes/a.png", "merch/mug.png"]);
    assert_eq!(first.unchanged, 0);
    assert_eq!(first.warnings.iter().filter(|(path, _)| path == "merch/mug.png").count(), 2, "{first:?}");

    let files = files.png("memes/zz-copy-of-a.png", 1, 1080, 1920).png("memes/new.png", 3, 1080, 1920);
    let again = library.index(workspace, &files, &Quiet).await?;
    assert_eq!(again.seen, 4);
    assert_eq!(again.added_paths, ["memes/new.png"]);
    assert_eq!(again.unchanged, 2, "the files indexed before are not duplicates of themselves: {again:?}");
    assert_eq!(again.duplicates, [("memes/zz-copy-of-a.png".to_owned(), "memes/a.png".to_owned())]);
    assert!(again.warnings.is_empty(), "no warning again for the mug that is already in: {again:?}");
    Ok(())
}

#[tokio::test]
async fn content_that_is_not_media_and_links_out_of_the_root_are_refused_and_not_stored() -> anyhow::Result<()> {
    let (library, workspace) = library().await?;
    let files = Files::default().text_named_png("memes/broken.png").link_outside("memes/link.png").png(
        "memes/a.png",
        1,
        1080,
        1920,
    );
    let report = library.index(workspace, &files, &Quiet).await?;
    assert_eq!(report.added_paths, ["memes/a.png"]);
    assert_eq!(
        report.refused,
        [
            ("memes/broken.png".to_owned(), "not a PNG (content is text)".to_owned()),
            (
                "memes/link.png".to_owned(),
                "a link to outside the library (links are followed only within it)".to_owned()
            ),
        ]
    );
    let stored: Vec<String> = library.media(workspace, None, 100).await?.into_iter().map(|m| m.path).collect();
    assert_eq!(stored, ["memes/a.png"], "nothing refused is stored");
    Ok(())
}
