//! Each workspace's media source (FEATURES M1): [`Sources`] makes the adapter a
//! [`SourceConfig`] names, and [`SourceRegistry`] hands each workspace its own (or the default
//! `MEDIA_DIR` folder when it has set none), made once and kept until its setting changes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use storyline_domain::WorkspaceId;
use storyline_domain::ports::{MediaSource, SourceError, SourceFactory, SourceStore, VaultError, WorkspaceSources};
use storyline_domain::source::SourceConfig;
use storyline_media::LocalFolder;

/// The adapters built into this binary.
#[derive(Debug, Clone)]
pub struct Sources {
    /// `MEDIA_DIR`: the source of a workspace that has set none.
    media_dir: PathBuf,
    /// Where Drive sources are read.
    drive: storyline_drive::DriveEndpoints,
}

impl Sources {
    #[must_use]
    pub fn new(media_dir: impl Into<PathBuf>) -> Self {
        Self { media_dir: media_dir.into(), drive: storyline_drive::DriveEndpoints::default() }
    }

    /// Where Drive sources are read (`DRIVE_API_URL`, `GOOGLE_TOKEN_URL`; Google's own hosts
    /// by default).
    #[must_use]
    pub fn with_drive(mut self, endpoints: storyline_drive::DriveEndpoints) -> Self {
        self.drive = endpoints;
        self
    }
}

impl SourceFactory for Sources {
    fn make(&self, config: &SourceConfig, secret: Option<SecretString>) -> Result<Arc<dyn MediaSource>, SourceError> {
        match config {
            SourceConfig::Local { root } => Ok(Arc::new(LocalFolder::new(root))),
            SourceConfig::S3 { .. } => {
                let secret = secret.ok_or_else(|| {
                    SourceError::Denied("the S3 source has no secret access key: set it again".to_owned())
                })?;
                Ok(Arc::new(storyline_s3::S3Source::new(config, secret)?))
            }
            SourceConfig::Drive { folder_id } => {
                let key = secret.ok_or_else(|| {
                    SourceError::Denied("the Drive source has no service-account key: set it again".to_owned())
                })?;
                Ok(Arc::new(storyline_drive::DriveSource::new(folder_id, &key, self.drive.clone())?))
            }
        }
    }

    fn default_source(&self) -> Arc<dyn MediaSource> {
        Arc::new(LocalFolder::new(self.media_dir.clone()))
    }

    fn default_config(&self) -> SourceConfig {
        SourceConfig::Local { root: self.media_dir.display().to_string() }
    }
}

/// A workspace's source as it was made, and the setting it was made from.
struct Made {
    config: SourceConfig,
    secret: Option<SecretString>,
    source: Arc<dyn MediaSource>,
}

impl Made {
    fn is_of(&self, config: &SourceConfig, secret: Option<&SecretString>) -> bool {
        self.config == *config
            && self.secret.as_ref().map(ExposeSecret::expose_secret) == secret.map(ExposeSecret::expose_secret)
    }
}

/// The source each workspace reads from now: its own setting ([`SourceStore::current_source`]),
/// else the default. Each adapter is made once and kept while the stored setting stays the
/// same: a setting changed here or by another process (`storyline media-source set` while the
/// bot runs) is seen on the next look-up, which reads the setting (one small query) but makes no
/// new client unless it changed.
pub struct SourceRegistry {
    store: Arc<dyn SourceStore>,
    factory: Arc<dyn SourceFactory>,
    default: Arc<dyn MediaSource>,
    made: Mutex<HashMap<WorkspaceId, Made>>,
}

impl std::fmt::Debug for SourceRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceRegistry").finish_non_exhaustive()
    }
}

impl SourceRegistry {
    #[must_use]
    pub fn new(store: Arc<dyn SourceStore>, factory: Arc<dyn SourceFactory>) -> Self {
        let default = factory.default_source();
        Self { store, factory, default, made: Mutex::default() }
    }

    /// Forgets the adapter made for `workspace` (the next look-up makes it again).
    pub fn invalidate(&self, workspace: WorkspaceId) {
        self.made.lock().unwrap_or_else(PoisonError::into_inner).remove(&workspace);
    }
}

#[async_trait]
impl WorkspaceSources for SourceRegistry {
    async fn source(&self, workspace: WorkspaceId) -> Result<Arc<dyn MediaSource>, SourceError> {
        let current = self.store.current_source(workspace).await.map_err(|error| match error {
            VaultError::NoKey => {
                SourceError::Denied("the media source's secret cannot be opened: ENCRYPTION_KEY is not set".to_owned())
            }
            VaultError::Undecryptable(_) => SourceError::Denied(
                "the media source's secret does not open with the configured ENCRYPTION_KEY(S)".to_owned(),
            ),
            VaultError::Store(error) => {
                SourceError::Unknown(anyhow::Error::new(error).context("could not read the media source setting"))
            }
        })?;
        let Some((config, secret)) = current else {
            self.invalidate(workspace);
            return Ok(self.default.clone());
        };
        {
            let made = self.made.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(made) = made.get(&workspace).filter(|m| m.is_of(&config, secret.as_ref())) {
                return Ok(made.source.clone());
            }
        }
        let source = self.factory.make(&config, secret.clone())?;
        self.made
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(workspace, Made { config, secret, source: source.clone() });
        Ok(source)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use storyline_domain::settings::SettingsDefaults;
    use storyline_domain::user::Actor;
    use storyline_domain::{ChatId, ports::SettingsStore};
    use storyline_memory::MemoryStore;

    use super::*;

    #[tokio::test]
    async fn each_workspace_reads_its_own_source_or_the_default_and_a_change_is_seen() -> anyhow::Result<()> {
        let store = MemoryStore::new();
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().unwrap_or_default();
        let a = store.ensure_workspace(ChatId(-1), "A", &SettingsDefaults::default(), at).await?;
        let b = store.ensure_workspace(ChatId(-2), "B", &SettingsDefaults::default(), at).await?;
        let registry = SourceRegistry::new(Arc::new(store.clone()), Arc::new(Sources::new("/srv/default")));

        let default = registry.source(a.id).await?;
        assert_eq!(default.locate("x/y.jpg"), "/srv/default/x/y.jpg");

        store.set_source(a.id, &SourceConfig::Local { root: "/srv/a".into() }, None, &Actor::Cli, at).await?;
        let first = registry.source(a.id).await?;
        assert_eq!(first.locate("x/y.jpg"), "/srv/a/x/y.jpg", "its own");
        assert!(Arc::ptr_eq(&first, &registry.source(a.id).await?), "made once, then kept");
        assert_eq!(registry.source(b.id).await?.locate("x/y.jpg"), "/srv/default/x/y.jpg", "b still the default");

        store.set_source(a.id, &SourceConfig::Local { root: "/srv/a2".into() }, None, &Actor::Cli, at).await?;
        assert_eq!(registry.source(a.id).await?.locate("x/y.jpg"), "/srv/a2/x/y.jpg", "a change is seen");

        let s3 = SourceConfig::S3 {
            bucket: "b".into(),
            prefix: String::new(),
            endpoint: None,
            region: "us-east-1".into(),
            path_style: false,
            access_key_id: "AKIA".into(),
        };
        // An S3 source stored without a secret (none is needed to store it) cannot be made: it
        // says so in one line.
        store.set_source(b.id, &s3, None, &Actor::Cli, at).await?;
        let unmade = registry.source(b.id).await.err().map(|e| format!("{:#}", anyhow::Error::new(e)));
        assert!(unmade.as_deref().is_some_and(|e| e.contains("has no secret access key")), "{unmade:?}");
        Ok(())
    }
}
