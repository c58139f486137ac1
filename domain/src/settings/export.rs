//! A workspace's settings as a file (FEATURES T3): the versioned export document, the check that
//! turns an uploaded one into something to apply, and what applying it would change.
//!
//! The document holds the settings, the category mix, the Instagram accounts' identities (never a
//! token) and the media source's settings (never its secret). [`parse`] checks all of it before
//! anything is applied and names the field of the first problem; nothing is changed by a file it
//! refuses. Accounts and the media source are only reported by an import, never created: without
//! their tokens and secrets they could not work.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::change::FieldChange;
use super::chat_settings::{ChatSettings, Pause};
use super::values::{Hour, PostingWindow, PostsPerDay, parse_time_zone, truncate};
use crate::account::{Account, DisplayName, InstagramUserId, Username};
use crate::library::{Category, CategoryMix};
use crate::source::SourceConfig;
use crate::user::Actor;

/// The version of the document this build writes and the only one it reads.
pub const EXPORT_VERSION: u32 = 1;

/// The export document, as its JSON has it. Every object refuses keys it does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsExport {
    /// Always [`EXPORT_VERSION`] when written here.
    pub version: u32,
    pub settings: ExportedSettings,
    /// Category name → percent; `None` when the workspace has no mix (an import then keeps the
    /// mix it has).
    #[serde(default)]
    pub category_mix: Option<BTreeMap<String, i64>>,
    /// The accounts' identities, for the record: an import never creates an account.
    #[serde(default)]
    pub accounts: Vec<ExportedAccount>,
    /// The media source's settings without the secret, for the record: an import never sets it.
    #[serde(default)]
    pub media_source: Option<ExportedSource>,
}

/// The seven settings, by the names `settings set` takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedSettings {
    pub dry_run_mode: bool,
    pub enable_instagram_api: bool,
    pub is_paused: bool,
    pub posts_per_day: i64,
    pub posting_hours_start: i64,
    pub posting_hours_end: i64,
    pub posting_timezone: String,
}

/// An Instagram account's identity: no token, no token expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedAccount {
    pub display_name: String,
    pub instagram_account_id: String,
    #[serde(default)]
    pub username: Option<String>,
}

/// A media source's settings, as [`SourceConfig`] holds them (nothing in it is secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ExportedSource {
    Local {
        root: String,
    },
    S3 {
        bucket: String,
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        endpoint: Option<String>,
        region: String,
        #[serde(default)]
        path_style: bool,
        access_key_id: String,
    },
    Drive {
        folder_id: String,
    },
}

impl From<&SourceConfig> for ExportedSource {
    fn from(config: &SourceConfig) -> Self {
        match config.clone() {
            SourceConfig::Local { root } => Self::Local { root },
            SourceConfig::S3 { bucket, prefix, endpoint, region, path_style, access_key_id } => {
                Self::S3 { bucket, prefix, endpoint, region, path_style, access_key_id }
            }
            SourceConfig::Drive { folder_id } => Self::Drive { folder_id },
        }
    }
}

impl From<ExportedSource> for SourceConfig {
    fn from(source: ExportedSource) -> Self {
        match source {
            ExportedSource::Local { root } => Self::Local { root },
            ExportedSource::S3 { bucket, prefix, endpoint, region, path_style, access_key_id } => {
                Self::S3 { bucket, prefix, endpoint, region, path_style, access_key_id }
            }
            ExportedSource::Drive { folder_id } => Self::Drive { folder_id },
        }
    }
}

impl SettingsExport {
    /// The document for a workspace's settings, current mix, accounts and media source.
    #[must_use]
    pub fn of(
        settings: &ChatSettings,
        mix: Option<&CategoryMix>,
        accounts: &[Account],
        source: Option<&SourceConfig>,
    ) -> Self {
        Self {
            version: EXPORT_VERSION,
            settings: ExportedSettings {
                dry_run_mode: settings.dry_run,
                enable_instagram_api: settings.instagram_api,
                is_paused: settings.is_paused(),
                posts_per_day: i64::from(settings.posts_per_day.get()),
                posting_hours_start: i64::from(settings.window.start().get()),
                posting_hours_end: i64::from(settings.window.end().get()),
                posting_timezone: settings.time_zone.name().to_owned(),
            },
            category_mix: mix.map(|mix| mix.shares().map(|(c, p)| (c.to_string(), i64::from(p))).collect()),
            accounts: accounts
                .iter()
                .map(|account| ExportedAccount {
                    display_name: account.display_name.to_string(),
                    instagram_account_id: account.instagram_id.to_string(),
                    username: account.username.as_ref().map(|u| u.as_str().to_owned()),
                })
                .collect(),
            media_source: source.map(ExportedSource::from),
        }
    }

    /// The document as pretty-printed JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Only strings, numbers, booleans and maps with string keys: serialising cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The settings values of a checked import: what the workspace's settings become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportedSettings {
    pub dry_run: bool,
    pub instagram_api: bool,
    pub paused: bool,
    pub posts_per_day: PostsPerDay,
    pub window: PostingWindow,
    pub time_zone: Tz,
}

/// An import file that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsImport {
    pub settings: ImportedSettings,
    /// `None`: the file has no mix, and the workspace keeps its own.
    pub category_mix: Option<CategoryMix>,
    /// Reported, never created.
    pub accounts: Vec<ExportedAccount>,
    /// Reported, never set.
    pub media_source: Option<SourceConfig>,
}

/// Why an import file was refused; nothing was changed. The text names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the file is not JSON ({0})")]
    Malformed(String),
    #[error("the file must be a JSON object, as `settings export` writes it")]
    NotAnObject,
    #[error("version: missing; this Storyline reads settings exports of version {EXPORT_VERSION}")]
    NoVersion,
    #[error("version: {0} is not a version this Storyline reads (it reads version {EXPORT_VERSION})")]
    UnknownVersion(String),
    #[error("{field}: {problem}")]
    Field { field: String, problem: String },
}

impl ImportError {
    fn field(field: impl Into<String>, problem: impl fmt::Display) -> Self {
        Self::Field { field: field.into(), problem: truncate(&problem.to_string(), 300) }
    }
}

/// Checks an uploaded export: JSON, the version, every key and every value, in that order.
///
/// # Errors
/// [`ImportError`] naming the first field that is wrong.
pub fn parse(text: &str) -> Result<SettingsImport, ImportError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ImportError::Malformed(truncate(&e.to_string(), 120)))?;
    let version = value.as_object().ok_or(ImportError::NotAnObject)?.get("version").ok_or(ImportError::NoVersion)?;
    if version.as_u64() != Some(u64::from(EXPORT_VERSION)) {
        return Err(ImportError::UnknownVersion(truncate(&version.to_string(), 32)));
    }
    let document: SettingsExport = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "file".to_owned() } else { path };
        ImportError::field(field, e.into_inner())
    })?;
    check(document)
}

fn check(document: SettingsExport) -> Result<SettingsImport, ImportError> {
    let s = &document.settings;
    let posts_per_day = PostsPerDay::try_from_i64(s.posts_per_day)
        .map_err(|e| ImportError::field("settings.posts_per_day", format!("{e}, not {}", s.posts_per_day)))?;
    let hour = |name: &str, value: i64| {
        Hour::try_from_i64(value)
            .map_err(|e| ImportError::field(format!("settings.{name}"), format!("{e}, not {value}")))
    };
    let start = hour("posting_hours_start", s.posting_hours_start)?;
    let end = hour("posting_hours_end", s.posting_hours_end)?;
    let window = PostingWindow::new(start, end).map_err(|e| ImportError::field("settings.posting_hours_end", e))?;
    let time_zone =
        parse_time_zone(&s.posting_timezone).map_err(|e| ImportError::field("settings.posting_timezone", e))?;
    let category_mix = document.category_mix.as_ref().map(check_mix).transpose()?;
    for (n, account) in document.accounts.iter().enumerate() {
        let at = |name: &str| format!("accounts[{n}].{name}");
        DisplayName::new(&account.display_name).map_err(|e| ImportError::field(at("display_name"), e))?;
        InstagramUserId::new(&account.instagram_account_id)
            .map_err(|e| ImportError::field(at("instagram_account_id"), e))?;
        if let Some(username) = &account.username {
            Username::new(username).map_err(|e| ImportError::field(at("username"), e))?;
        }
    }
    Ok(SettingsImport {
        settings: ImportedSettings {
            dry_run: s.dry_run_mode,
            instagram_api: s.enable_instagram_api,
            paused: s.is_paused,
            posts_per_day,
            window,
            time_zone,
        },
        category_mix,
        accounts: document.accounts,
        media_source: document.media_source.map(SourceConfig::from),
    })
}

fn check_mix(shares: &BTreeMap<String, i64>) -> Result<CategoryMix, ImportError> {
    let mut checked = Vec::with_capacity(shares.len());
    for (name, &percent) in shares {
        let field = format!("category_mix.{}", truncate(name, 40));
        let category = Category::new(name).map_err(|e| ImportError::field(field.clone(), e))?;
        let percent = u8::try_from(percent).ok().filter(|p| (1..=100).contains(p)).ok_or_else(|| {
            ImportError::field(field.clone(), format!("{percent} is not a whole percentage from 1 to 100"))
        })?;
        checked.push((category, percent));
    }
    CategoryMix::new(checked).map_err(|e| ImportError::field("category_mix", e))
}

impl ChatSettings {
    /// The settings an import makes of these, by `actor` at `at`, and what changed. A pause
    /// already in force is kept as it is (who and when); a new one is `actor`'s, from `at`.
    #[must_use]
    pub fn imported(&self, values: &ImportedSettings, actor: &Actor, at: DateTime<Utc>) -> (Self, Vec<FieldChange>) {
        let pause = match (&self.pause, values.paused) {
            (_, false) => None,
            (Some(pause), true) => Some(pause.clone()),
            (None, true) => Some(Pause { at, by: actor.clone() }),
        };
        let next = Self {
            dry_run: values.dry_run,
            instagram_api: values.instagram_api,
            pause,
            posts_per_day: values.posts_per_day,
            window: values.window,
            time_zone: values.time_zone,
        };
        let changes = self.changes_to(&next);
        (next, changes)
    }
}

/// One thing an import would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportChange {
    Setting(FieldChange),
    /// The category mix, from the current one (`None`: the workspace has none).
    Mix {
        old: Option<CategoryMix>,
        new: CategoryMix,
    },
}

/// "posts_per_day: 3 → 7", "category_mix: (none) → memes=70 merch=30".
impl fmt::Display for ImportChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Setting(change) => write!(f, "{}: {} → {}", change.key, change.old, change.new),
            Self::Mix { old: Some(old), new } => write!(f, "category_mix: {old} → {new}"),
            Self::Mix { old: None, new } => write!(f, "category_mix: (none) → {new}"),
        }
    }
}

/// What applying `import` to `current` settings and `current_mix` would change, settings first
/// (in `SettingKey::ALL` order), then the mix. Empty when the file matches the workspace.
#[must_use]
pub fn diff(current: &ChatSettings, current_mix: Option<&CategoryMix>, import: &SettingsImport) -> Vec<ImportChange> {
    // Who and when do not matter for what changes: only whether it is paused.
    let (_, fields) = current.imported(&import.settings, &Actor::System, DateTime::<Utc>::UNIX_EPOCH);
    let mut changes: Vec<ImportChange> = fields.into_iter().map(ImportChange::Setting).collect();
    if let Some(new) = &import.category_mix
        && current_mix != Some(new)
    {
        changes.push(ImportChange::Mix { old: current_mix.cloned(), new: new.clone() });
    }
    changes
}

/// What an import leaves alone and how to do it by hand: the accounts (they need their tokens)
/// and the media source (its secret, or a path on this machine, is not in the file).
#[must_use]
pub fn not_imported(import: &SettingsImport) -> Vec<String> {
    let mut notes: Vec<String> = import
        .accounts
        .iter()
        .map(|account| {
            let username = account.username.as_ref().map(|u| format!(" @{u}")).unwrap_or_default();
            format!(
                "account {:?} ({}{username}): not imported, the file holds no token; connect it with \
                 `storyline add-instagram-account`",
                account.display_name, account.instagram_account_id
            )
        })
        .collect();
    if let Some(source) = &import.media_source {
        notes.push(format!(
            "media source {source}: not imported, the file holds no secret; set it with `storyline media-source set`"
        ));
    }
    notes
}

#[cfg(test)]
mod tests;
