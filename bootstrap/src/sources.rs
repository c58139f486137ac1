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

/// The folder `typed` names (relative to `root`, or absolute), with `..` and symlinks resolved,
/// when it is an existing folder inside `root`; else one line saying what is allowed.
fn inside(root: &std::path::Path, typed: &str) -> Result<String, String> {
    let allowed = || format!("The folder must be inside MEDIA_DIR ({}): give a folder under it.", root.display());
    let typed = typed.trim();
    if typed.is_empty() || typed.contains('\0') {
        return Err(allowed());
    }
    let root =
        std::fs::canonicalize(root).map_err(|_| format!("MEDIA_DIR ({}) is not a folder here.", root.display()))?;
    let wanted = root.join(typed);
    let Ok(resolved) = std::fs::canonicalize(&wanted) else {
        // Say nothing of what exists outside MEDIA_DIR.
        let lexically_inside = !std::path::Path::new(typed).is_absolute()
            && !std::path::Path::new(typed).components().any(|c| matches!(c, std::path::Component::ParentDir));
        return Err(if lexically_inside {
            format!("There is no folder {typed} in MEDIA_DIR ({}).", root.display())
        } else {
            allowed()
        });
    };
    if !resolved.starts_with(&root) {
        return Err(allowed());
    }
    if !resolved.is_dir() {
        return Err(format!("{typed} is not a folder; give a folder inside MEDIA_DIR ({}).", root.display()));
    }
    Ok(resolved.display().to_string())
}

/// The adapters built into this binary.
#[derive(Debug, Clone)]
pub struct Sources {
    /// `MEDIA_DIR`: the source of a workspace that has set none.
    media_dir: PathBuf,
    /// Many workspaces (no `TELEGRAM_CHAT_ID`): each workspace's default is its own folder
    /// `MEDIA_DIR/<workspace id>`, and a folder typed in its chat must be inside that one.
    per_workspace: bool,
    /// Where Drive sources are read.
    drive: storyline_drive::DriveEndpoints,
}

impl Sources {
    #[must_use]
    pub fn new(media_dir: impl Into<PathBuf>) -> Self {
        Self { media_dir: media_dir.into(), per_workspace: false, drive: storyline_drive::DriveEndpoints::default() }
    }

    /// Gives each workspace its own folder inside `MEDIA_DIR` (many workspaces in one bot).
    #[must_use]
    pub const fn per_workspace(mut self, per_workspace: bool) -> Self {
        self.per_workspace = per_workspace;
        self
    }

    /// The folder `workspace` reads when it has set no source.
    fn folder_of(&self, workspace: WorkspaceId) -> PathBuf {
        if self.per_workspace { self.media_dir.join(workspace.to_string()) } else { self.media_dir.clone() }
    }

    /// [`Self::folder_of`], made when missing so that the team can fill it (a failure is
    /// logged: the folder then reads as unreachable).
    fn made_folder_of(&self, workspace: WorkspaceId) -> PathBuf {
        let folder = self.folder_of(workspace);
        if self.per_workspace
            && let Err(error) = std::fs::create_dir_all(&folder)
        {
            tracing::warn!(%error, folder = %folder.display(), "could not make the workspace's media folder");
        }
        folder
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

    fn local_folder(&self, workspace: WorkspaceId, typed: &str) -> Result<String, String> {
        inside(&self.made_folder_of(workspace), typed)
    }

    fn default_source(&self, workspace: WorkspaceId) -> Arc<dyn MediaSource> {
        Arc::new(LocalFolder::new(self.made_folder_of(workspace)))
    }

    fn default_config(&self, workspace: WorkspaceId) -> SourceConfig {
        SourceConfig::Local { root: self.folder_of(workspace).display().to_string() }
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
        Self { store, factory, made: Mutex::default() }
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
        // No setting: the default, made once per workspace like any other.
        let (config, secret) = match current {
            Some(current) => current,
            None => (self.factory.default_config(workspace), None),
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
    use storyline_domain::source::OldItems;
    use storyline_domain::user::Actor;
    use storyline_domain::{ChatId, ports::SettingsStore};
    use storyline_memory::MemoryStore;

    use super::*;

    #[test]
    fn a_local_folder_must_resolve_inside_media_dir() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("media");
        std::fs::create_dir_all(root.join("stories"))?;
        std::fs::create_dir_all(dir.path().join("secret"))?;
        std::fs::write(root.join("a.jpg"), b"x")?;
        let root_real = std::fs::canonicalize(&root)?;
        assert_eq!(inside(&root, "stories"), Ok(root_real.join("stories").display().to_string()));
        assert_eq!(
            inside(&root, &root_real.join("stories").display().to_string()),
            Ok(root_real.join("stories").display().to_string())
        );
        assert_eq!(inside(&root, "."), Ok(root_real.display().to_string()));
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("link"))?;
        for outside in ["..", "../secret", "stories/../../secret", "/etc", "", "a.jpg", "nope/../../secret"] {
            let refused = inside(&root, outside).err().unwrap_or_default();
            assert!(refused.contains("MEDIA_DIR"), "{outside:?}: {refused:?}");
        }
        #[cfg(unix)]
        assert!(inside(&root, "link").is_err(), "a symlink out of MEDIA_DIR is refused");
        assert!(inside(&root, "missing").err().unwrap_or_default().contains("There is no folder missing"));
        Ok(())
    }

    #[tokio::test]
    async fn each_workspace_reads_its_own_source_or_the_default_and_a_change_is_seen() -> anyhow::Result<()> {
        let store = MemoryStore::new();
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().unwrap_or_default();
        let a = store.ensure_workspace(ChatId(-1), "A", &SettingsDefaults::default(), at).await?;
        let b = store.ensure_workspace(ChatId(-2), "B", &SettingsDefaults::default(), at).await?;
        let registry = SourceRegistry::new(Arc::new(store.clone()), Arc::new(Sources::new("/srv/default")));

        let default = registry.source(a.id).await?;
        assert_eq!(default.locate("x/y.jpg"), "/srv/default/x/y.jpg");

        store
            .set_source(a.id, &SourceConfig::Local { root: "/srv/a".into() }, None, &Actor::Cli, OldItems::Keep, at)
            .await?;
        let first = registry.source(a.id).await?;
        assert_eq!(first.locate("x/y.jpg"), "/srv/a/x/y.jpg", "its own");
        assert!(Arc::ptr_eq(&first, &registry.source(a.id).await?), "made once, then kept");
        assert_eq!(registry.source(b.id).await?.locate("x/y.jpg"), "/srv/default/x/y.jpg", "b still the default");

        store
            .set_source(a.id, &SourceConfig::Local { root: "/srv/a2".into() }, None, &Actor::Cli, OldItems::Keep, at)
            .await?;
        assert_eq!(registry.source(a.id).await?.locate("x/y.jpg"), "/srv/a2/x/y.jpg", "a change is seen");

        let s3 = SourceConfig::S3 {
            bucket: "b".into(),
            prefix: String::new(),
            endpoint: None,
            region: "us-east-1".into(),
            path_style: false,
            access_key_id: "AKIA".into(),
        };
        // A local source is set without a key; an S3 source without a secret needs none either.
        store.set_source(b.id, &s3, None, &Actor::Cli, OldItems::Keep, at).await?;
        let refused = registry.source(b.id).await.err().map(|e| format!("{:#}", anyhow::Error::new(e)));
        assert!(refused.is_some_and(|e| e.contains("has no secret access key")), "an S3 source needs its secret");
        let made = Sources::new("/srv/default").make(&s3, Some(SecretString::from("s3cr3t")))?;
        assert_eq!(made.locate("x/y.jpg"), "s3://b/x/y.jpg", "S3 is built in");
        Ok(())
    }

    #[test]
    fn with_many_workspaces_each_has_its_own_folder_and_a_typed_path_stays_in_it() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let media = dir.path().join("media");
        std::fs::create_dir_all(media.join("shared"))?;
        let (a, b) = (WorkspaceId::new(), WorkspaceId::new());
        let many = Sources::new(&media).per_workspace(true);
        let folder_a = media.join(a.to_string());
        assert_eq!(many.default_config(a), SourceConfig::Local { root: folder_a.display().to_string() });
        assert_eq!(many.default_source(a).locate("x.jpg"), folder_a.join("x.jpg").display().to_string());
        assert!(folder_a.is_dir(), "the workspace's folder is made for the team to fill");
        std::fs::create_dir_all(folder_a.join("clips"))?;
        let real_a = std::fs::canonicalize(&folder_a)?;
        assert_eq!(many.local_folder(a, "clips"), Ok(real_a.join("clips").display().to_string()));
        let b_folder = format!("../{b}");
        for escape in ["/etc", "..", "../shared", b_folder.as_str(), "clips/../../shared"] {
            assert!(many.local_folder(a, escape).is_err(), "{escape:?} must stay inside a's folder");
        }
        // One team: MEDIA_DIR itself, as before.
        let one = Sources::new(&media);
        assert_eq!(one.default_config(a), SourceConfig::Local { root: media.display().to_string() });
        assert!(one.local_folder(a, "shared").is_ok());
        Ok(())
    }
}
