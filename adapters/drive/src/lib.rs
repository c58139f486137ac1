//! A Google Drive folder as a media source (FEATURES M1): the folder and its subfolders, read
//! with a service account the folder is shared with (Viewer is enough; shared drives too).
//! Paths are the folder names below the root joined with `/` and the file's name, so the first
//! folder is the category, as in a local folder.
//!
//! Drive names files by id, not by path: a listing keeps a path → id map for later reads, and a
//! path not in it (a restart, a file added since) is found by walking its folders by name.
//! Google Docs, Sheets and the like (no bytes of their own, no `md5Checksum`) and hidden names
//! are left out. What a file holds is judged as for a local file: the body is downloaded once
//! into a temporary file and described by `storyline-media`.

mod api;
mod key;
mod login;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use futures_util::{StreamExt as _, TryStreamExt as _};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde::Deserialize;
use storyline_domain::ports::{MediaSource, OpenedFile, SourceEntry, SourceError, SourceFile};

pub use api::{DriveEndpoints, RetryPolicy};

use api::DriveApi;
use key::Credential;
pub use key::authorized_user;
pub use login::{GOOGLE_AUTH_URL, GoogleClient, GoogleOAuth};

const FOLDER: &str = "application/vnd.google-apps.folder";
/// Google's own document types (Docs, Sheets, shortcuts …): no bytes to post.
const GOOGLE_TYPES: &str = "application/vnd.google-apps.";
const FIELDS: &str = "nextPageToken,files(id,name,mimeType,size,md5Checksum,modifiedTime)";
/// Folders listed at once while walking the tree.
const CONCURRENT_FOLDERS: usize = 4;

/// A Drive folder read with a service account. `Debug` shows the folder and the account's
/// e-mail, never the key or a token.
#[derive(Clone)]
pub struct DriveSource {
    inner: Arc<Inner>,
}

struct Inner {
    folder_id: String,
    api: DriveApi,
    /// Library path → Drive file, from the last listing and from walks since.
    known: Mutex<HashMap<String, Known>>,
}

#[derive(Debug, Clone)]
struct Known {
    id: String,
    size: Option<u64>,
}

impl fmt::Debug for DriveSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DriveSource")
            .field("folder_id", &self.inner.folder_id)
            .field("api", &self.inner.api)
            .finish_non_exhaustive()
    }
}

/// One item of a `files.list` answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DriveFile {
    id: String,
    name: String,
    mime_type: String,
    /// Drive's int64s are strings.
    size: Option<String>,
    md5_checksum: Option<String>,
    modified_time: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    next_page_token: Option<String>,
    #[serde(default)]
    files: Vec<DriveFile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Root {
    mime_type: String,
    #[serde(default)]
    trashed: bool,
}

/// A string in a Drive query: `'` and `\` escaped.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Drive ids are letters, digits, `-` and `_`; anything else is refused before it reaches a query.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 200 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn hidden(name: &str) -> bool {
    name.starts_with('.')
}

impl DriveFile {
    /// A file with bytes of its own: its size and checksum.
    fn content(&self) -> Option<(u64, &str)> {
        if self.mime_type.starts_with(GOOGLE_TYPES) {
            return None;
        }
        Some((self.size.as_deref()?.parse().ok()?, self.md5_checksum.as_deref()?))
    }
}

impl DriveSource {
    /// The folder `folder_id`, read with the service account whose JSON key is `key`, with
    /// [`RetryPolicy::default`]. Nothing is called yet: a listing says whether it can be read.
    ///
    /// # Errors
    /// [`SourceError::Denied`] saying what is wrong with a malformed key;
    /// [`SourceError::NoSuchRoot`] for a folder id that cannot be one.
    pub fn new(folder_id: &str, key: &SecretString, endpoints: DriveEndpoints) -> Result<Self, SourceError> {
        Self::with_retry(folder_id, key, endpoints, RetryPolicy::default())
    }

    /// As [`DriveSource::new`], with failed calls tried again as `retry` says.
    ///
    /// # Errors
    /// As [`DriveSource::new`].
    pub fn with_retry(
        folder_id: &str,
        key: &SecretString,
        endpoints: DriveEndpoints,
        retry: RetryPolicy,
    ) -> Result<Self, SourceError> {
        let folder_id = folder_id.trim();
        if !valid_id(folder_id) {
            let shown: String = folder_id.chars().take(60).collect();
            return Err(SourceError::NoSuchRoot(format!(
                "{shown:?} is not a Drive folder id (letters, digits, - and _: the last part of the folder's link)"
            )));
        }
        let account = Credential::parse(key)?;
        let api = DriveApi::new(account, endpoints, retry.clamped())?;
        Ok(Self { inner: Arc::new(Inner { folder_id: folder_id.to_owned(), api, known: Mutex::new(HashMap::new()) }) })
    }

    /// The service account's e-mail: the address the folder must be shared with.
    #[must_use]
    pub fn service_account(&self) -> &str {
        self.inner.api.email()
    }

    fn denied(&self) -> SourceError {
        if self.inner.api.logged_in() {
            return SourceError::Denied(
                "Google Drive refused the Google account that logged in: it needs at least Viewer access to the folder, and the Drive API on in the login's project".to_owned(),
            );
        }
        SourceError::Denied(format!(
            "Google Drive refused the service account {}: share the folder with it (Viewer is enough) and turn on the Drive API in its project",
            self.inner.api.email()
        ))
    }

    fn no_root(&self) -> SourceError {
        if self.inner.api.logged_in() {
            return SourceError::NoSuchRoot(format!(
                "there is no Drive folder {}, or {} cannot see it",
                self.inner.folder_id,
                key::LOGGED_IN
            ));
        }
        SourceError::NoSuchRoot(format!(
            "there is no Drive folder {}, or it is not shared with {}",
            self.inner.folder_id,
            self.inner.api.email()
        ))
    }

    fn refused(&self, what: &str, refused: &api::Refused) -> SourceError {
        match refused.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => self.denied(),
            status => SourceError::Unknown(anyhow::anyhow!("Drive answered {status} to {what}: {}", refused.reason)),
        }
    }

    /// Checks that the root is a folder the account can see.
    async fn check_root(&self) -> Result<(), SourceError> {
        let url = self.inner.api.url(&format!("files/{}", self.inner.folder_id));
        let query = [("fields", "id,name,mimeType,trashed"), ("supportsAllDrives", "true")];
        match self.inner.api.json::<Root>("the folder", || self.inner.api.get(&url).query(&query)).await? {
            Ok(root) if root.mime_type != FOLDER => Err(SourceError::NoSuchRoot(format!(
                "{} is a Drive file, not a folder: give the id of the folder that holds the media",
                self.inner.folder_id
            ))),
            Ok(root) if root.trashed => {
                Err(SourceError::NoSuchRoot(format!("the Drive folder {} is in the bin", self.inner.folder_id)))
            }
            Ok(_) => Ok(()),
            Err(refused) if refused.status == StatusCode::NOT_FOUND => Err(self.no_root()),
            Err(refused) => Err(self.refused("the folder", &refused)),
        }
    }

    /// The folders directly in this source's folder (not in the bin), by id and name, every
    /// page: what a Google login offers to choose from (its folder is `root`, My Drive's top).
    ///
    /// # Errors
    /// As a listing: [`SourceError::Denied`], [`SourceError::Unreachable`] …
    pub async fn folders(&self) -> Result<Vec<(String, String)>, SourceError> {
        let children = self.children(&self.inner.folder_id, None).await?.ok_or_else(|| self.no_root())?;
        Ok(children.into_iter().filter(|f| f.mime_type == FOLDER).map(|f| (f.id, f.name)).collect())
    }

    /// Every child of `folder` that is not in the bin (only those named `name`, if given), all
    /// pages. `None` when the folder is gone.
    async fn children(&self, folder: &str, name: Option<&str>) -> Result<Option<Vec<DriveFile>>, SourceError> {
        let mut q = format!("{} in parents and trashed = false", quoted(folder));
        if let Some(name) = name {
            q.push_str(&format!(" and name = {}", quoted(name)));
        }
        let url = self.inner.api.url("files");
        let mut files = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut query = vec![
                ("q", q.clone()),
                ("fields", FIELDS.to_owned()),
                ("pageSize", "1000".to_owned()),
                ("supportsAllDrives", "true".to_owned()),
                ("includeItemsFromAllDrives", "true".to_owned()),
            ];
            if let Some(token) = &page_token {
                query.push(("pageToken", token.clone()));
            }
            let page =
                match self.inner.api.json::<Page>("a folder listing", || self.inner.api.get(&url).query(&query)).await?
                {
                    Ok(page) => page,
                    Err(refused) if refused.status == StatusCode::NOT_FOUND => return Ok(None),
                    Err(refused) => return Err(self.refused("a folder listing", &refused)),
                };
            files.extend(page.files);
            match page.next_page_token.filter(|token| !token.is_empty()) {
                Some(token) => page_token = Some(token),
                None => return Ok(Some(files)),
            }
        }
    }

    /// Walks the tree from the root: the entries, and each one's Drive file.
    async fn walk(&self) -> Result<Vec<(SourceEntry, Known)>, SourceError> {
        self.check_root().await?;
        let mut seen = HashSet::from([self.inner.folder_id.clone()]);
        let mut level = vec![(self.inner.folder_id.clone(), String::new())];
        let mut found: HashMap<String, (SourceEntry, Known)> = HashMap::new();
        while !level.is_empty() {
            let listings: Vec<(String, String, Option<Vec<DriveFile>>)> = futures_util::stream::iter(level)
                .map(|(id, prefix)| async move {
                    let children = self.children(&id, None).await?;
                    Ok::<_, SourceError>((id, prefix, children))
                })
                .buffer_unordered(CONCURRENT_FOLDERS)
                .try_collect()
                .await?;
            let mut next = Vec::new();
            for (id, prefix, children) in listings {
                let Some(children) = children else {
                    if id == self.inner.folder_id {
                        return Err(self.no_root());
                    }
                    // Deleted while the tree was walked.
                    tracing::debug!(folder = %id, "a Drive folder went away during the listing");
                    continue;
                };
                for file in children {
                    if hidden(&file.name) {
                        continue;
                    }
                    if file.name.contains('/') || file.name.is_empty() {
                        tracing::warn!(name = %file.name, folder = %prefix, "a Drive name with '/' cannot be a library path; left out");
                        continue;
                    }
                    let path = if prefix.is_empty() { file.name.clone() } else { format!("{prefix}/{}", file.name) };
                    if file.mime_type == FOLDER {
                        if seen.insert(file.id.clone()) {
                            next.push((file.id, path));
                        }
                        continue;
                    }
                    let Some((size, checksum)) = file.content() else {
                        tracing::debug!(path, mime_type = %file.mime_type, "a Google document, not a file; left out");
                        continue;
                    };
                    let entry = SourceEntry {
                        path: path.clone(),
                        size_bytes: size,
                        checksum: Some(checksum.to_owned()),
                        modified: file.modified_time,
                    };
                    let known = Known { id: file.id, size: Some(size) };
                    // Drive allows two files of one name in a folder: the one with the smaller
                    // id is the library's, whatever order the pages came in.
                    match found.get(&path) {
                        Some((_, kept)) if kept.id <= known.id => {
                            tracing::warn!(path, "two Drive files at one path; the other one is left out");
                        }
                        _ => {
                            found.insert(path, (entry, known));
                        }
                    }
                }
            }
            level = next;
        }
        let mut entries: Vec<_> = found.into_values().collect();
        entries.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        Ok(entries)
    }

    /// The Drive file at a library path: from the map, else found by walking its folders.
    async fn resolve(&self, path: &str) -> Result<Known, SourceError> {
        if let Some(known) = self.known().get(path).cloned() {
            return Ok(known);
        }
        let parts: Vec<&str> = path.split('/').collect();
        if parts.iter().any(|part| part.is_empty() || hidden(part)) {
            return Err(SourceError::NotFound(path.to_owned()));
        }
        let mut parent = self.inner.folder_id.clone();
        for (at, part) in parts.iter().enumerate() {
            let last = at + 1 == parts.len();
            let children = self.children(&parent, Some(part)).await?.ok_or_else(|| self.no_root())?;
            let matching = children
                .into_iter()
                .filter(|file| file.name == *part && (file.mime_type == FOLDER) != last)
                .filter(|file| !last || file.content().is_some())
                .min_by(|a, b| a.id.cmp(&b.id));
            let Some(file) = matching else { return Err(SourceError::NotFound(path.to_owned())) };
            if last {
                let known = Known { size: file.content().map(|(size, _)| size), id: file.id };
                self.known().insert(path.to_owned(), known.clone());
                return Ok(known);
            }
            parent = file.id;
        }
        Err(SourceError::NotFound(path.to_owned()))
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<String, Known>> {
        self.inner.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The download of the file at `path`; a stale id (the file replaced since it was listed)
    /// is looked up again once.
    async fn download(&self, path: &str) -> Result<(reqwest::Response, Option<u64>), SourceError> {
        for _ in 0..2 {
            let known = self.resolve(path).await?;
            let url = self.inner.api.url(&format!("files/{}", known.id));
            let query = [("alt", "media"), ("supportsAllDrives", "true")];
            match self.inner.api.send("a download", || self.inner.api.get(&url).query(&query)).await? {
                Ok(response) => {
                    let size = response.content_length().or(known.size);
                    return Ok((response, size));
                }
                Err(refused) if refused.status == StatusCode::NOT_FOUND => {
                    self.known().remove(path);
                }
                Err(refused) => return Err(self.refused("a download", &refused)),
            }
        }
        Err(SourceError::NotFound(path.to_owned()))
    }
}

fn unreachable(error: reqwest::Error) -> SourceError {
    SourceError::Unreachable(anyhow::Error::new(error.without_url()).context("the Drive download broke off"))
}

#[async_trait]
impl MediaSource for DriveSource {
    async fn list(&self) -> Result<Vec<SourceEntry>, SourceError> {
        let walked = self.walk().await?;
        let mut entries = Vec::with_capacity(walked.len());
        let mut known = HashMap::with_capacity(walked.len());
        for (entry, file) in walked {
            known.insert(entry.path.clone(), file);
            entries.push(entry);
        }
        *self.known() = known;
        tracing::debug!(folder = %self.inner.folder_id, files = entries.len(), "listed the Drive folder");
        Ok(entries)
    }

    async fn describe(&self, path: &str) -> Result<SourceFile, SourceError> {
        // Judged as it streams (a large video spools to a temporary file, never whole in memory).
        storyline_media::describe_stream(path, self.open(path).await?.chunks).await
    }

    async fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let (response, _) = self.download(path).await?;
        Ok(response.bytes().await.map_err(unreachable)?.to_vec())
    }

    async fn open(&self, path: &str) -> Result<OpenedFile, SourceError> {
        let (response, size_bytes) = self.download(path).await?;
        let chunks = futures_util::stream::try_unfold(response, |mut response| async move {
            Ok(response.chunk().await.map_err(unreachable)?.map(|chunk| (chunk.to_vec(), response)))
        });
        Ok(OpenedFile { size_bytes, chunks: Box::pin(chunks) })
    }

    fn locate(&self, path: &str) -> String {
        format!("drive:{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_escaped_and_ids_checked() {
        assert_eq!(quoted(r"it's a \ name"), r"'it\'s a \\ name'");
        assert!(valid_id("1AbC-d_9"));
        assert!(!valid_id("1AbC' or name != '"));
        assert!(!valid_id(""));
    }

    #[test]
    fn google_documents_have_no_content() {
        let file = |mime: &str, size: Option<&str>, md5: Option<&str>| DriveFile {
            id: "a".into(),
            name: "n".into(),
            mime_type: mime.into(),
            size: size.map(Into::into),
            md5_checksum: md5.map(Into::into),
            modified_time: None,
        };
        assert_eq!(file("image/png", Some("12"), Some("abc")).content(), Some((12, "abc")));
        assert_eq!(file("application/vnd.google-apps.document", Some("12"), Some("abc")).content(), None);
        assert_eq!(file("image/png", None, Some("abc")).content(), None);
        assert_eq!(file("image/png", Some("12"), None).content(), None);
    }
}
