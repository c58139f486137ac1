//! Each workspace's media source (FEATURES M1): what it reads from now, every version of the
//! setting, and changing it — the new source is tried first (one listing), and nothing is saved
//! when it does not answer as it should.

use std::sync::Arc;

use secrecy::SecretString;
use storyline_domain::WorkspaceId;
use storyline_domain::ports::{Clock, SourceError, SourceFactory, SourceStore, StoreError, VaultError};
use storyline_domain::source::{OldItems, SourceConfig, SourceSwitch, SourceVersion, SyncStatus};
use storyline_domain::user::Actor;

/// A workspace's media source as `show` tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceView {
    /// What the workspace reads from now (the default folder when it has set none).
    pub current: SourceConfig,
    /// Whether `current` is the default (`MEDIA_DIR`): the workspace has set none.
    pub is_default: bool,
    /// Every version of the setting, newest first (empty when none was ever set).
    pub versions: Vec<SourceVersion>,
    pub status: SyncStatus,
}

/// Why a source was not set. One line each, in the product's words; nothing was saved.
#[derive(Debug, thiserror::Error)]
pub enum SetSourceError {
    /// The settings are not usable as given (an empty bucket name …).
    #[error("{0}")]
    Invalid(String),
    /// A secret was given and no key is configured to seal it.
    #[error(
        "the media source's secret cannot be stored without ENCRYPTION_KEY (generate one with `storyline generate-key`); nothing was saved"
    )]
    NoKey,
    /// The new source was tried and did not answer as it should: no such bucket or folder,
    /// credentials refused, not answering. `why` says which.
    #[error("{source_name} cannot be used: {why}; nothing was saved")]
    Tried { source_name: String, why: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The current secret (to keep) does not open.
    #[error("the current media source's secret cannot be opened: {0}")]
    Vault(VaultError),
}

impl From<VaultError> for SetSourceError {
    fn from(error: VaultError) -> Self {
        match error {
            VaultError::NoKey => Self::NoKey,
            VaultError::Store(error) => Self::Store(error),
            other => Self::Vault(other),
        }
    }
}

/// What a source error says, cause by cause, on one line (adapters never put a secret in one).
fn why(error: &SourceError) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = cause {
        let text = error.to_string().replace(['\n', '\r'], " ");
        if !text.is_empty() && !parts.last().is_some_and(|previous| previous.contains(&text)) {
            parts.push(text);
        }
        cause = error.source();
    }
    parts.join(": ")
}

/// Checks what the adapters cannot: the values a person typed.
fn validate(config: &SourceConfig) -> Result<(), SetSourceError> {
    let invalid = |text: &str| Err(SetSourceError::Invalid(text.to_owned()));
    match config {
        SourceConfig::Local { root } if root.trim().is_empty() => invalid("give the folder to read media from"),
        SourceConfig::S3 { bucket, .. } if bucket.trim().is_empty() => invalid("give the bucket's name"),
        SourceConfig::S3 { access_key_id, .. } if access_key_id.trim().is_empty() => invalid("give the access key id"),
        SourceConfig::S3 { region, .. } if region.trim().is_empty() => invalid("give the region (us-east-1 for most)"),
        SourceConfig::S3 { endpoint: Some(url), .. }
            if !(url.starts_with("https://") || url.starts_with("http://")) =>
        {
            invalid("the endpoint must be a URL starting with https:// or http://")
        }
        SourceConfig::Drive { folder_id } if folder_id.trim().is_empty() => invalid("give the Drive folder's id"),
        _ => Ok(()),
    }
}

/// The media source use cases.
#[derive(Clone)]
pub struct SourceService {
    store: Arc<dyn SourceStore>,
    factory: Arc<dyn SourceFactory>,
    clock: Arc<dyn Clock>,
    /// Whether a key is configured to seal secrets with: without one a secret is refused before
    /// the new source is tried.
    sealing: bool,
}

impl std::fmt::Debug for SourceService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceService").finish_non_exhaustive()
    }
}

impl SourceService {
    #[must_use]
    pub fn new(store: Arc<dyn SourceStore>, factory: Arc<dyn SourceFactory>, clock: Arc<dyn Clock>) -> Self {
        Self { store, factory, clock, sealing: true }
    }

    /// Says whether a key is configured (a secret is refused up front without one).
    #[must_use]
    pub const fn sealing(mut self, sealing: bool) -> Self {
        self.sealing = sealing;
        self
    }

    /// The settings of `workspace`'s default source (`MEDIA_DIR`, or its folder inside it).
    #[must_use]
    pub fn default_config(&self, workspace: WorkspaceId) -> SourceConfig {
        self.factory.default_config(workspace)
    }

    /// The folder a person typed for a local source, resolved and checked to be inside
    /// `MEDIA_DIR`; else one line saying what is allowed.
    ///
    /// # Errors
    /// What is allowed, when `typed` is not.
    pub fn local_folder(&self, workspace: WorkspaceId, typed: &str) -> Result<String, String> {
        self.factory.local_folder(workspace, typed)
    }

    /// The current source, every version and the sync status. Opens no secret.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn show(&self, workspace: WorkspaceId) -> Result<SourceView, StoreError> {
        let versions = self.store.source_versions(workspace).await?;
        let status = self.store.sync_status(workspace).await?;
        let (current, is_default) = match versions.first() {
            Some(version) => (version.config.clone(), false),
            None => (self.factory.default_config(workspace), true),
        };
        Ok(SourceView { current, is_default, versions, status })
    }

    /// Tries `config` (one listing), then makes it the workspace's source. `secret`: `None`
    /// keeps the current one when the kind stays the same. When `config` is another source
    /// than the current one, the old source's items are set aside in the same transaction (see
    /// [`OldItems::SetAside`]); the next sync fills the library from the new one.
    ///
    /// # Errors
    /// [`SetSourceError`]; nothing was saved.
    pub async fn set(
        &self,
        workspace: WorkspaceId,
        config: &SourceConfig,
        secret: Option<SecretString>,
        actor: &Actor,
    ) -> Result<SourceSwitch, SetSourceError> {
        validate(config)?;
        if secret.is_some() && !self.sealing {
            return Err(SetSourceError::NoKey);
        }
        let current = self.store.current_source(workspace).await?;
        let old_items = match &current {
            Some((current, _)) if current == config => OldItems::Keep,
            None if self.factory.default_config(workspace) == *config => OldItems::Keep,
            _ => OldItems::SetAside,
        };
        // The secret the new source is tried with: the given one, else the kept one.
        let trial_secret = match (&secret, current) {
            (Some(secret), _) => Some(secret.clone()),
            (None, Some((current, kept))) if current.kind() == config.kind() => kept,
            (None, _) => None,
        };
        let source_name = config.to_string();
        let tried = |error: &SourceError| SetSourceError::Tried { source_name: source_name.clone(), why: why(error) };
        let source = self.factory.make(config, trial_secret).map_err(|e| tried(&e))?;
        source.list().await.map_err(|e| tried(&e))?;
        // The listing is done: no transaction is held across it.
        let switch = self.store.set_source(workspace, config, secret, actor, old_items, self.clock.now()).await?;
        tracing::info!(
            %workspace,
            source = %config,
            set_aside = switch.set_aside,
            dropped_from_queue = switch.dropped_from_queue,
            "media source set"
        );
        Ok(switch)
    }
}

/// What a person is told after a source change, beside "saved": what became of the old
/// source's items, and that the next sync fills the library (`sync_now`: how to run it now).
#[must_use]
pub fn switch_note(switch: &SourceSwitch, sync_now: &str) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut text = String::new();
    if switch.set_aside > 0 {
        text.push_str(&plural(switch.set_aside, "item", "items"));
        text.push_str(" of the old source set aside (history kept)");
        if switch.dropped_from_queue > 0 {
            text.push_str(&format!(
                " and {} dropped from the queue",
                plural(switch.dropped_from_queue, "story", "stories")
            ));
        }
        text.push_str(". ");
    }
    text.push_str(&format!("The next sync fills the library from it ({sync_now})."));
    text
}

#[cfg(test)]
mod tests {
    use anyhow::Context;
    use async_trait::async_trait;
    use chrono::{TimeZone, Utc};
    use secrecy::ExposeSecret;
    use storyline_domain::ChatId;
    use storyline_domain::ports::{MediaSource, SettingsStore, SourceEntry, SourceFile};
    use storyline_domain::settings::SettingsDefaults;
    use storyline_memory::{ManualClock, MemoryStore};

    use super::*;

    /// A source that answers its listing as its bucket name says: `missing`, `denied`, `down`,
    /// anything else lists nothing. It remembers the secret it was made with.
    struct Fake(String);

    #[async_trait]
    impl MediaSource for Fake {
        async fn list(&self) -> Result<Vec<SourceEntry>, SourceError> {
            match self.0.as_str() {
                "missing" => Err(SourceError::NoSuchRoot("there is no bucket missing".into())),
                "denied" => Err(SourceError::Denied("the access key was refused".into())),
                "down" => Err(SourceError::Unreachable(anyhow::anyhow!("connection refused"))),
                _ => Ok(Vec::new()),
            }
        }

        async fn describe(&self, path: &str) -> Result<SourceFile, SourceError> {
            Err(SourceError::NotFound(path.to_owned()))
        }

        async fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
            Err(SourceError::NotFound(path.to_owned()))
        }

        fn locate(&self, path: &str) -> String {
            path.to_owned()
        }
    }

    /// Makes [`Fake`]s, and records the secret each was made with.
    #[derive(Default)]
    struct Factory(std::sync::Mutex<Vec<Option<String>>>);

    impl SourceFactory for Factory {
        fn make(
            &self,
            config: &SourceConfig,
            secret: Option<SecretString>,
        ) -> Result<Arc<dyn MediaSource>, SourceError> {
            self.0
                .lock()
                .map_err(|_| SourceError::Unknown(anyhow::anyhow!("poisoned")))?
                .push(secret.map(|s| s.expose_secret().to_owned()));
            let name = match config {
                SourceConfig::S3 { bucket, .. } => bucket.clone(),
                other => other.to_string(),
            };
            Ok(Arc::new(Fake(name)))
        }

        fn default_source(&self, _: WorkspaceId) -> Arc<dyn MediaSource> {
            Arc::new(Fake("default".into()))
        }

        fn default_config(&self, _: WorkspaceId) -> SourceConfig {
            SourceConfig::Local { root: "media".into() }
        }
    }

    fn s3(bucket: &str) -> SourceConfig {
        SourceConfig::S3 {
            bucket: bucket.into(),
            prefix: String::new(),
            endpoint: None,
            region: "us-east-1".into(),
            path_style: false,
            access_key_id: "AKIA".into(),
        }
    }

    #[tokio::test]
    async fn a_source_is_tried_first_and_nothing_is_saved_when_it_fails() -> anyhow::Result<()> {
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).single().unwrap_or_default();
        let store = MemoryStore::new().with_cipher(Arc::new(Plain));
        let workspace = store.ensure_workspace(ChatId(-1), "A", &SettingsDefaults::default(), at).await?.id;
        let factory = Arc::new(Factory::default());
        let service = SourceService::new(Arc::new(store.clone()), factory.clone(), Arc::new(ManualClock::at(at)));

        let shown = service.show(workspace).await?;
        assert!(shown.is_default && shown.current == SourceConfig::Local { root: "media".into() });

        let secret = || Some(SecretString::from("s3cr3t".to_owned()));
        for (bucket, says) in [
            ("missing", "there is no bucket missing"),
            ("denied", "the access key was refused"),
            ("down", "the media source is not answering"),
        ] {
            let refused = service.set(workspace, &s3(bucket), secret(), &Actor::Cli).await;
            let line = refused.map_err(|e| e.to_string()).err().unwrap_or_default();
            assert!(line.contains(says) && line.ends_with("nothing was saved"), "{line}");
            assert!(!line.contains("s3cr3t"));
        }
        assert!(service.show(workspace).await?.versions.is_empty(), "nothing saved");

        service.set(workspace, &s3("photos"), secret(), &Actor::Cli).await?;
        // The same kind without a secret is tried with the kept one.
        service.set(workspace, &s3("photos-2"), None, &Actor::Cli).await?;
        let made = factory.0.lock().map(|m| m.clone()).unwrap_or_default();
        assert_eq!(made.last(), Some(&Some("s3cr3t".to_owned())), "{made:?}");
        assert_eq!(service.show(workspace).await?.versions.len(), 2);

        let empty = service.set(workspace, &s3(" "), None, &Actor::Cli).await;
        assert!(matches!(empty, Err(SetSourceError::Invalid(_))), "{empty:?}");
        let keyless = service.clone().sealing(false).set(workspace, &s3("photos"), secret(), &Actor::Cli).await;
        assert!(matches!(keyless, Err(SetSourceError::NoKey)), "{keyless:?}");
        Ok(())
    }

    #[tokio::test]
    async fn only_another_source_sets_the_old_items_aside() -> anyhow::Result<()> {
        use storyline_domain::library::{Category, ContentHash, MediaKind, NewMedia};
        use storyline_domain::ports::{LibrarySync, MediaLibrary};

        let at = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).single().unwrap_or_default();
        let store = MemoryStore::new().with_cipher(Arc::new(Plain));
        let workspace = store.ensure_workspace(ChatId(-1), "A", &SettingsDefaults::default(), at).await?.id;
        let service =
            SourceService::new(Arc::new(store.clone()), Arc::new(Factory::default()), Arc::new(ManualClock::at(at)));
        let item = NewMedia {
            path: "memes/a.jpg".into(),
            category: Category::new("memes")?,
            kind: MediaKind::Image,
            hash: ContentHash::from_hex(&"a".repeat(64)).context("a hash")?,
            size_bytes: 1,
            width: Some(1080),
            height: Some(1920),
        };
        store.add(workspace, &[item], at).await?;
        let active = || async { store.synced_items(workspace).await.map(|items| items.iter().all(|i| i.active)) };

        // The default folder named again, then the same bucket again: nothing is set aside.
        let kept = service.set(workspace, &SourceConfig::Local { root: "media".into() }, None, &Actor::Cli).await?;
        assert_eq!(kept, SourceSwitch::default());
        assert!(active().await?);
        service.set(workspace, &s3("photos"), Some(SecretString::from("k".to_owned())), &Actor::Cli).await?;
        assert!(!active().await?, "another source: set aside");
        store.apply_sync(workspace, &reactivated(&store, workspace).await?, at).await?;
        let again =
            service.set(workspace, &s3("photos"), Some(SecretString::from("k2".to_owned())), &Actor::Cli).await?;
        assert_eq!(again, SourceSwitch::default(), "a new secret for the same bucket keeps the library");
        assert!(active().await?);
        let other = service.set(workspace, &s3("photos-2"), None, &Actor::Cli).await?;
        assert_eq!(other, SourceSwitch { set_aside: 1, dropped_from_queue: 0 });
        Ok(())
    }

    /// What a sync changes when every item is back at its path (all in `memes/`).
    async fn reactivated(
        store: &MemoryStore,
        workspace: WorkspaceId,
    ) -> anyhow::Result<storyline_domain::ports::SyncChanges> {
        use storyline_domain::library::Category;
        use storyline_domain::ports::{ItemUpdate, LibrarySync, SyncChanges};
        let mut updated = Vec::new();
        for item in store.synced_items(workspace).await? {
            updated.push(ItemUpdate {
                id: item.id,
                category: Category::new("memes")?,
                path: item.path,
                active: true,
                checksum: item.checksum,
                modified: item.modified,
                content: None,
            });
        }
        Ok(SyncChanges { updated, ..SyncChanges::default() })
    }

    #[test]
    fn the_switch_note_says_what_was_set_aside() {
        let none = switch_note(&SourceSwitch::default(), "/sync for now");
        assert_eq!(none, "The next sync fills the library from it (/sync for now).");
        let one = switch_note(&SourceSwitch { set_aside: 1, dropped_from_queue: 1 }, "/sync for now");
        assert_eq!(
            one,
            "1 item of the old source set aside (history kept) and 1 story dropped from the queue. The next sync fills the library from it (/sync for now)."
        );
        let many = switch_note(&SourceSwitch { set_aside: 12, dropped_from_queue: 0 }, "x");
        assert!(many.starts_with("12 items of the old source set aside (history kept). "), "{many}");
    }

    /// A cipher that only frames its input (the test looks at the service, not at sealing).
    struct Plain;

    impl storyline_domain::ports::TokenCipher for Plain {
        fn seal(
            &self,
            plaintext: &SecretString,
            _binding: &[u8],
        ) -> Result<Vec<u8>, storyline_domain::ports::CipherError> {
            Ok(plaintext.expose_secret().as_bytes().to_vec())
        }

        fn open(&self, sealed: &[u8], _binding: &[u8]) -> Result<SecretString, storyline_domain::ports::CipherError> {
            Ok(SecretString::from(String::from_utf8_lossy(sealed).into_owned()))
        }

        fn is_current(&self, _sealed: &[u8]) -> bool {
            true
        }
    }
}
