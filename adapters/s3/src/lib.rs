//! The S3 media source (FEATURES M1): a bucket on AWS or any S3-compatible endpoint (Cloudflare
//! R2, Backblaze B2, MinIO, Garage …), under a prefix; the first path segment below the prefix is
//! the category.
//!
//! `rusty-s3` signs the requests (SigV4, as presigned URLs) and parses the ListObjectsV2 XML; the
//! workspace's `reqwest` carries them. It is Sans-IO, small to build, speaks path-style and
//! virtual-host addressing alike and presigns GET URLs, which is all this needs (the AWS SDK
//! would bring its own HTTP stack, `object_store` a larger one, and neither presigns more simply).
//!
//! The secret access key is kept as a [`SecretString`]: it is never in Debug output, errors or
//! logs, and requests are logged without their (signed) URLs.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use rusty_s3::actions::{GetObject, ListObjectsV2};
use rusty_s3::{Bucket, Credentials, S3Action as _, UrlStyle};
use secrecy::{ExposeSecret as _, SecretString};
use storyline_domain::ports::{MediaSource, OpenedFile, SourceEntry, SourceError, SourceFile};
use storyline_domain::source::SourceConfig;

/// The longest a presigned URL may be valid for: SigV4's own limit.
pub const MAX_URL_VALIDITY: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long the URLs of Storyline's own requests are signed for.
const REQUEST_VALIDITY: Duration = Duration::from_secs(15 * 60);
/// Keys per ListObjectsV2 page: S3's largest.
const PAGE: usize = 1000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for the next bytes of an answer (a stalled download is cut after it).
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a listing page may take.
const LIST_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest a whole-file read ([`MediaSource::read`], small files) may take.
const WHOLE_READ_TIMEOUT: Duration = Duration::from_secs(300);
/// The region of a source that names none.
const DEFAULT_REGION: &str = "us-east-1";

/// How often a request that met a 5xx, a timeout or no connection is tried, and the first wait
/// between tries (doubled each time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub attempts: u32,
    pub first_wait: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self { attempts: 3, first_wait: Duration::from_millis(250) }
    }
}

/// An S3 bucket (under a prefix) as a [`MediaSource`].
pub struct S3Source {
    bucket: Bucket,
    /// `""` or the prefix with one trailing `/` (`photos/2024/`).
    prefix: String,
    /// The endpoint, for people (`https://s3.eu-west-1.amazonaws.com`).
    endpoint: String,
    access_key_id: String,
    secret: SecretString,
    http: reqwest::Client,
    page_size: usize,
    retry: Retry,
}

impl fmt::Debug for S3Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Source")
            .field("bucket", &self.bucket.name())
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.bucket.region())
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// What a request was for, to say what is missing when it fails.
#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    Listing,
    Object(&'a str),
}

/// One try of a request.
enum Attempt {
    /// Worth trying again (no connection, a timeout, a 5xx).
    Again(anyhow::Error),
    Fatal(SourceError),
}

impl S3Source {
    /// The source for an S3 configuration and its secret access key.
    ///
    /// # Errors
    /// [`SourceError::NoSuchRoot`] for a configuration that is not S3, an endpoint that is not an
    /// `http(s)://host[:port]` URL, an empty bucket name or a prefix with `.`/`..`/empty
    /// segments; [`SourceError::Denied`] for an empty access key id or secret.
    pub fn new(config: &SourceConfig, secret: SecretString) -> Result<Self, SourceError> {
        let SourceConfig::S3 { bucket, prefix, endpoint, region, path_style, access_key_id } = config else {
            return Err(SourceError::NoSuchRoot(format!("{config} is not an S3 source")));
        };
        let name = bucket.trim();
        if name.is_empty() {
            return Err(SourceError::NoSuchRoot("an S3 source needs a bucket name".to_owned()));
        }
        let region = Some(region.trim()).filter(|r| !r.is_empty()).unwrap_or(DEFAULT_REGION);
        let (url, style) = match endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            None => (
                format!("https://s3.{region}.amazonaws.com"),
                if *path_style { UrlStyle::Path } else { UrlStyle::VirtualHost },
            ),
            Some(endpoint) => (endpoint.to_owned(), if *path_style { UrlStyle::Path } else { UrlStyle::VirtualHost }),
        };
        let mut parsed = endpoint_url(&url)?;
        if !parsed.path().ends_with('/') {
            let path = format!("{}/", parsed.path());
            parsed.set_path(&path);
        }
        let shown = url.trim_end_matches('/').to_owned();
        let bucket = Bucket::new(parsed, style, name.to_owned(), region.to_owned())
            .map_err(|_| SourceError::NoSuchRoot(format!("\"{name}\" cannot be a bucket name at {shown}")))?;
        let prefix = prefix.trim().trim_matches('/');
        if !prefix.is_empty() && prefix.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
            return Err(SourceError::NoSuchRoot(format!(
                "the prefix \"{prefix}\" is not a key prefix: give folders separated by /, without . or .. or empty ones"
            )));
        }
        let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
        let access_key_id = access_key_id.trim().to_owned();
        if access_key_id.is_empty() {
            return Err(SourceError::Denied("an S3 source needs an access key id".to_owned()));
        }
        if secret.expose_secret().is_empty() {
            return Err(SourceError::Denied(format!(
                "the secret access key of access key id {access_key_id} is empty"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            // A signed request is good for one host only: a redirect is reported, not followed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SourceError::Unknown(anyhow::Error::new(e).context("the HTTP client cannot be made")))?;
        Ok(Self {
            bucket,
            prefix,
            endpoint: shown,
            access_key_id,
            secret,
            http,
            page_size: PAGE,
            retry: Retry::default(),
        })
    }

    /// Lists `size` keys a page (1 to 1000; S3's own default is 1000).
    #[must_use]
    pub fn with_page_size(mut self, size: usize) -> Self {
        self.page_size = size.clamp(1, PAGE);
        self
    }

    /// Retries as `retry` says.
    #[must_use]
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = Retry { attempts: retry.attempts.max(1), ..retry };
        self
    }

    fn credentials(&self) -> Credentials {
        Credentials::new(self.access_key_id.clone(), self.secret.expose_secret().to_owned())
    }

    /// The key of a library path, refusing anything that is not a plain relative path (a `..`
    /// would leave the bucket in a path-style URL).
    fn key(&self, path: &str) -> Result<String, SourceError> {
        if path.is_empty() || path.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
            return Err(SourceError::NotFound(path.to_owned()));
        }
        Ok(format!("{}{path}", self.prefix))
    }

    fn object_url(&self, key: &str, valid_for: Duration) -> url::Url {
        let credentials = self.credentials();
        GetObject::new(&self.bucket, Some(&credentials), key).sign(valid_for)
    }

    fn list_url(&self, token: Option<&str>) -> url::Url {
        let credentials = self.credentials();
        let mut action = ListObjectsV2::new(&self.bucket, Some(&credentials));
        // Keys as they are (XML-escaped), not URL-encoded: not every S3-compatible server
        // honours `encoding-type`, and a key is never decoded twice.
        action.query_mut().remove("encoding-type");
        if !self.prefix.is_empty() {
            action.with_prefix(self.prefix.as_str());
        }
        action.with_max_keys(self.page_size);
        if let Some(token) = token {
            action.with_continuation_token(token);
        }
        action.sign(REQUEST_VALIDITY)
    }

    /// A listed object as an entry below the prefix; `None` for a folder marker (`a/`), a hidden
    /// name (a segment starting with `.`) or a key with an empty segment.
    fn entry(&self, key: &str, etag: &str, last_modified: &str, size_bytes: u64) -> Option<SourceEntry> {
        let path = key.strip_prefix(self.prefix.as_str())?;
        if path.is_empty() || path.split('/').any(|s| s.is_empty() || s.starts_with('.')) {
            return None;
        }
        let checksum = Some(etag.trim().trim_matches('"').to_owned()).filter(|e| !e.is_empty());
        let modified = DateTime::parse_from_rfc3339(last_modified).ok().map(|d| d.with_timezone(&Utc));
        Some(SourceEntry { path: path.to_owned(), size_bytes, checksum, modified })
    }

    /// Runs `attempt` until it succeeds, fails for good, or has been tried
    /// [`Retry::attempts`] times (waiting longer after each try).
    async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T, SourceError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Attempt>>,
    {
        let mut wait = self.retry.first_wait;
        let mut tried = 1;
        loop {
            match attempt().await {
                Ok(done) => return Ok(done),
                Err(Attempt::Fatal(error)) => return Err(error),
                Err(Attempt::Again(error)) if tried >= self.retry.attempts => {
                    return Err(SourceError::Unreachable(error.context(format!("{} did not answer", self.endpoint))));
                }
                Err(Attempt::Again(error)) => {
                    tracing::debug!(tried, error = format!("{error:#}"), endpoint = %self.endpoint, "S3 request failed; trying again");
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                    tried += 1;
                }
            }
        }
    }

    /// One GET of what `url` signs, its body still to come.
    async fn get(
        &self,
        target: Target<'_>,
        url: url::Url,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response, Attempt> {
        let mut request = self.http.get(url.as_str());
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        // Never the URL in an error: it carries a signature.
        let response = request.send().await.map_err(|e| Attempt::Again(e.without_url().into()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        let (code, message) = (element(&body, "Code"), element(&body, "Message"));
        if status.is_server_error() {
            return Err(Attempt::Again(anyhow!("{} answered {status} {}", self.endpoint, code.unwrap_or_default())));
        }
        Err(Attempt::Fatal(self.refused(target, status, code.as_deref(), message.as_deref())))
    }

    /// One GET of what `url` signs, with its whole body.
    async fn get_whole(&self, target: Target<'_>, url: url::Url, timeout: Duration) -> Result<Vec<u8>, Attempt> {
        let response = self.get(target, url, Some(timeout)).await?;
        let body = response.bytes().await.map_err(|e| Attempt::Again(e.without_url().into()))?;
        Ok(body.to_vec())
    }

    /// What a 4xx answer means, in the product's words.
    fn refused(
        &self,
        target: Target<'_>,
        status: reqwest::StatusCode,
        code: Option<&str>,
        message: Option<&str>,
    ) -> SourceError {
        let (bucket, endpoint, id) = (self.bucket.name(), &self.endpoint, &self.access_key_id);
        let no_bucket = || SourceError::NoSuchRoot(format!("there is no bucket named {bucket} at {endpoint}"));
        match code {
            Some("NoSuchBucket") => no_bucket(),
            Some("NoSuchKey") => match target {
                Target::Object(path) => SourceError::NotFound(path.to_owned()),
                Target::Listing => no_bucket(),
            },
            Some("InvalidAccessKeyId" | "NotSignedUp") => {
                SourceError::Denied(format!("{endpoint} does not know the access key id {id}"))
            }
            Some("SignatureDoesNotMatch") => SourceError::Denied(format!(
                "{endpoint} refused the secret access key given for access key id {id} (the signature does not match)"
            )),
            Some("AccessDenied" | "AllAccessDisabled" | "AccountProblem") => SourceError::Denied(format!(
                "access key id {id} may not read bucket {bucket} at {endpoint} (access denied: it needs s3:ListBucket and s3:GetObject)"
            )),
            Some("RequestTimeTooSkewed") => SourceError::Denied(format!(
                "{endpoint} refused the request: this machine's clock is too far from the endpoint's"
            )),
            Some(
                "PermanentRedirect"
                | "TemporaryRedirect"
                | "AuthorizationHeaderMalformed"
                | "IllegalLocationConstraintException",
            ) => SourceError::NoSuchRoot(format!(
                "bucket {bucket} is not in region {} at {endpoint}: set the bucket's region (or its endpoint)",
                self.bucket.region()
            )),
            _ if status == reqwest::StatusCode::NOT_FOUND => match target {
                Target::Object(path) => SourceError::NotFound(path.to_owned()),
                Target::Listing => no_bucket(),
            },
            _ if matches!(status.as_u16(), 401 | 403) => SourceError::Denied(format!(
                "{endpoint} refused access key id {id} for bucket {bucket} ({})",
                code.unwrap_or("forbidden")
            )),
            _ => SourceError::Unknown(anyhow!(
                "{endpoint} answered {status} {}: {}",
                code.unwrap_or_default(),
                message.unwrap_or_default()
            )),
        }
    }
}

/// The text of the first `<name>…</name>` in an S3 error body.
fn element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].trim().to_owned()).filter(|text| !text.is_empty())
}

/// The endpoint as a URL: `http(s)://host[:port][/path]`, with no user, password, query or
/// fragment (the endpoint is shown in messages).
fn endpoint_url(endpoint: &str) -> Result<url::Url, SourceError> {
    let refused = || {
        SourceError::NoSuchRoot(format!(
            "the S3 endpoint \"{endpoint}\" is not a URL: give it as https://host[:port] (http:// for a local server)"
        ))
    };
    let url = url::Url::parse(endpoint).map_err(|_| refused())?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    if plain { Ok(url) } else { Err(refused()) }
}

#[async_trait]
impl MediaSource for S3Source {
    async fn list(&self) -> Result<Vec<SourceEntry>, SourceError> {
        let mut entries = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0_u32;
        loop {
            let body = self
                .retrying(|| self.get_whole(Target::Listing, self.list_url(token.as_deref()), LIST_TIMEOUT))
                .await?;
            let page = ListObjectsV2::parse_response(&body).map_err(|e| {
                SourceError::Unknown(
                    anyhow::Error::new(e).context(format!("the listing of {} does not parse", self.endpoint)),
                )
            })?;
            pages += 1;
            entries.extend(page.contents.iter().filter_map(|c| self.entry(&c.key, &c.etag, &c.last_modified, c.size)));
            match page.next_continuation_token {
                Some(next) if !next.is_empty() && token.as_deref() != Some(next.as_str()) => token = Some(next),
                _ => break,
            }
        }
        tracing::debug!(bucket = self.bucket.name(), prefix = %self.prefix, pages, entries = entries.len(), "listed S3 bucket");
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(entries)
    }

    async fn describe(&self, path: &str) -> Result<SourceFile, SourceError> {
        let opened = self.open(path).await?;
        storyline_media::describe_stream(path, opened.chunks).await
    }

    async fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let key = self.key(path)?;
        self.retrying(|| {
            self.get_whole(Target::Object(path), self.object_url(&key, REQUEST_VALIDITY), WHOLE_READ_TIMEOUT)
        })
        .await
    }

    async fn open(&self, path: &str) -> Result<OpenedFile, SourceError> {
        let key = self.key(path)?;
        let response =
            self.retrying(|| self.get(Target::Object(path), self.object_url(&key, REQUEST_VALIDITY), None)).await?;
        let size_bytes = response.content_length();
        let chunks = response.bytes_stream().map(|chunk| {
            chunk.map(|bytes| bytes.to_vec()).map_err(|e| SourceError::Unreachable(e.without_url().into()))
        });
        Ok(OpenedFile { size_bytes, chunks: Box::pin(chunks) })
    }

    async fn public_url(&self, path: &str, valid_for: Duration) -> Result<Option<String>, SourceError> {
        let key = self.key(path)?;
        let valid_for = valid_for.clamp(Duration::from_secs(1), MAX_URL_VALIDITY);
        Ok(Some(self.object_url(&key, valid_for).to_string()))
    }

    fn locate(&self, path: &str) -> String {
        format!("s3://{}/{}{path}", self.bucket.name(), self.prefix)
    }
}

#[cfg(test)]
mod tests;
