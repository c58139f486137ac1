//! A real S3-compatible server on loopback, in-process, for the tests and benchmarks: the `s3s`
//! crate speaks S3 over HTTP (path-style, SigV4 checked for header and presigned-URL requests
//! with [`ACCESS_KEY_ID`] and [`SECRET_ACCESS_KEY`]); the objects behind it are files in a
//! temporary folder with their metadata in memory. Not a mock of the client: the S3 adapter
//! reaches it through its own HTTP stack exactly as it reaches AWS.
//!
//! It answers ListObjectsV2 (paging with continuation tokens, `max-keys` honoured, capped by
//! [`S3Server::set_max_page`]), GetObject, HeadObject, PutObject, DeleteObject, CreateBucket and
//! HeadBucket; unknown buckets and keys, unknown access keys and wrong signatures get the error
//! codes AWS gives. For the tests: objects put, deleted and renamed directly
//! ([`S3Server::put`], [`S3Server::delete`], [`S3Server::rename`]), an outage
//! ([`S3Server::stop`] until [`S3Server::resume`]: connections refused), failing requests
//! ([`S3Server::fail_next`]: 500 InternalError) and a count of object bodies served
//! ([`S3Server::get_object_calls`]).
//!
//! `s3s-fs` (the same project's file-system backend) is not used: its ListObjectsV2 ignores
//! `max-keys` and continuation tokens and gives no ETags.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::ops::Bound;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::SystemTime;

use anyhow::Context as _;
use bytes::Bytes;
use futures::StreamExt as _;
use hyper_util::rt::TokioIo;
use md5::{Digest as _, Md5};
use s3s::auth::{S3Auth, SecretKey};
use s3s::dto::{
    CreateBucketInput, CreateBucketOutput, DeleteObjectInput, DeleteObjectOutput, GetObjectInput, GetObjectOutput,
    HeadBucketInput, HeadBucketOutput, HeadObjectInput, HeadObjectOutput, ListObjectsV2Input, ListObjectsV2Output,
    Object, PutObjectInput, PutObjectOutput, StreamingBlob, Timestamp,
};
use s3s::service::{S3ServiceBuilder, SharedS3Service};
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use secrecy::SecretString;
use storyline_domain::source::SourceConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The access key id the server knows.
pub const ACCESS_KEY_ID: &str = "STORYLINETESTKEY";
/// Its secret access key.
pub const SECRET_ACCESS_KEY: &str = "s3-test-secret/Do-Not-Log-Me+0123456789";
/// The region the sources are configured with (the server takes any).
pub const REGION: &str = "us-east-1";
/// S3's largest page.
const MAX_PAGE: usize = 1000;
/// How much of an object one chunk of a GET body carries.
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone)]
struct Stored {
    file: PathBuf,
    size: u64,
    /// MD5 in hex, quoted, as S3 gives a single-part upload's ETag.
    etag: String,
    modified: SystemTime,
}

type Buckets = BTreeMap<String, BTreeMap<String, Stored>>;

#[derive(Debug)]
struct State {
    dir: tempfile::TempDir,
    buckets: Mutex<Buckets>,
    next_file: AtomicU64,
    get_objects: AtomicUsize,
    failing: AtomicUsize,
    max_page: AtomicUsize,
}

impl State {
    fn buckets(&self) -> MutexGuard<'_, Buckets> {
        self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A 500 while [`S3Server::fail_next`] says so.
    fn gate(&self) -> S3Result<()> {
        let failing = self.failing.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            Err(s3_error!(InternalError, "We encountered an internal error. Please try again."))
        } else {
            Ok(())
        }
    }

    /// Writes `body` as a new object file (blocking; small bodies from the helpers).
    fn store(&self, body: &[u8]) -> std::io::Result<Stored> {
        let file = self.new_file();
        std::fs::write(&file, body)?;
        Ok(Stored {
            file,
            size: body.len() as u64,
            etag: etag(Md5::digest(body).as_slice()),
            modified: SystemTime::now(),
        })
    }

    fn new_file(&self) -> PathBuf {
        self.dir.path().join(format!("object-{}", self.next_file.fetch_add(1, Ordering::SeqCst)))
    }

    fn insert(&self, bucket: &str, key: &str, stored: Stored) -> S3Result<()> {
        let mut buckets = self.buckets();
        let objects = buckets.get_mut(bucket).ok_or_else(|| s3_error!(NoSuchBucket))?;
        if let Some(old) = objects.insert(key.to_owned(), stored) {
            let _ = std::fs::remove_file(old.file);
        }
        Ok(())
    }

    fn object(&self, bucket: &str, key: &str) -> S3Result<Stored> {
        let buckets = self.buckets();
        let objects = buckets.get(bucket).ok_or_else(|| s3_error!(NoSuchBucket))?;
        objects.get(key).cloned().ok_or_else(|| s3_error!(NoSuchKey))
    }
}

fn etag(md5: &[u8]) -> String {
    let hex: String = md5.iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Knows one access key; any other is refused as AWS refuses it.
#[derive(Debug)]
struct Keys;

#[async_trait::async_trait]
impl S3Auth for Keys {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        if access_key == ACCESS_KEY_ID {
            Ok(SecretKey::from(SECRET_ACCESS_KEY.to_owned()))
        } else {
            Err(s3_error!(InvalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records."))
        }
    }
}

/// An object file as a GET body, read a chunk at a time (from the page cache: blocking reads of
/// a test server are fine, and the stream stays `Sync` as `s3s` wants).
struct FileChunks {
    file: std::fs::File,
}

impl futures::Stream for FileChunks {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut chunk = vec![0_u8; CHUNK];
        Poll::Ready(match self.file.read(&mut chunk) {
            Ok(0) => None,
            Ok(read) => {
                chunk.truncate(read);
                Some(Ok(Bytes::from(chunk)))
            }
            Err(error) => Some(Err(error)),
        })
    }
}

#[derive(Debug, Clone)]
struct Store(Arc<State>);

fn timestamp(time: SystemTime) -> Timestamp {
    Timestamp::from(time)
}

#[async_trait::async_trait]
impl S3 for Store {
    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        self.0.gate()?;
        let mut buckets = self.0.buckets();
        if buckets.contains_key(&req.input.bucket) {
            return Err(s3_error!(BucketAlreadyOwnedByYou));
        }
        buckets.insert(req.input.bucket, BTreeMap::new());
        Ok(S3Response::new(CreateBucketOutput::default()))
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        self.0.gate()?;
        if self.0.buckets().contains_key(&req.input.bucket) {
            Ok(S3Response::new(HeadBucketOutput::default()))
        } else {
            Err(s3_error!(NoSuchBucket))
        }
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.0.gate()?;
        let input = req.input;
        let cap = self.0.max_page.load(Ordering::SeqCst);
        let asked = input.max_keys.map_or(MAX_PAGE, |keys| usize::try_from(keys).unwrap_or(0));
        let page = asked.min(cap).min(MAX_PAGE);
        let prefix = input.prefix.clone().unwrap_or_default();
        // The continuation token is the last key of the page before, hex-encoded (opaque to
        // clients, as S3's are).
        let after = match input.continuation_token.as_deref() {
            Some(token) => Some(
                unhex(token)
                    .ok_or_else(|| s3_error!(InvalidArgument, "The continuation token provided is incorrect"))?,
            ),
            None => input.start_after.clone(),
        };
        let buckets = self.0.buckets();
        let objects = buckets.get(&input.bucket).ok_or_else(|| s3_error!(NoSuchBucket))?;
        let mut matching = objects
            .range::<String, _>((after.map_or(Bound::Unbounded, Bound::Excluded), Bound::Unbounded))
            .filter(|(key, _)| key.starts_with(&prefix));
        let contents: Vec<Object> = matching
            .by_ref()
            .take(page)
            .map(|(key, stored)| Object {
                key: Some(key.clone()),
                e_tag: Some(stored.etag.clone()),
                last_modified: Some(timestamp(stored.modified)),
                size: Some(i64::try_from(stored.size).unwrap_or(i64::MAX)),
                ..Default::default()
            })
            .collect();
        let truncated = page > 0 && matching.next().is_some();
        let next = truncated.then(|| contents.last().and_then(|o| o.key.as_deref()).map(hexed)).flatten();
        let output = ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: input.prefix,
            key_count: Some(i32::try_from(contents.len()).unwrap_or(i32::MAX)),
            max_keys: Some(i32::try_from(page).unwrap_or(i32::MAX)),
            is_truncated: Some(truncated),
            continuation_token: input.continuation_token,
            next_continuation_token: next,
            start_after: input.start_after,
            contents: Some(contents),
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        self.0.gate()?;
        let stored = self.0.object(&req.input.bucket, &req.input.key)?;
        self.0.get_objects.fetch_add(1, Ordering::SeqCst);
        let file = std::fs::File::open(&stored.file).map_err(|e| s3_error!(e, InternalError))?;
        Ok(S3Response::new(GetObjectOutput {
            body: Some(StreamingBlob::wrap(FileChunks { file })),
            content_length: Some(i64::try_from(stored.size).unwrap_or(i64::MAX)),
            e_tag: Some(stored.etag),
            last_modified: Some(timestamp(stored.modified)),
            ..Default::default()
        }))
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        self.0.gate()?;
        let stored = self.0.object(&req.input.bucket, &req.input.key)?;
        Ok(S3Response::new(HeadObjectOutput {
            content_length: Some(i64::try_from(stored.size).unwrap_or(i64::MAX)),
            e_tag: Some(stored.etag),
            last_modified: Some(timestamp(stored.modified)),
            ..Default::default()
        }))
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        self.0.gate()?;
        let input = req.input;
        if !self.0.buckets().contains_key(&input.bucket) {
            return Err(s3_error!(NoSuchBucket));
        }
        let file = self.0.new_file();
        let mut out = std::fs::File::create(&file).map_err(|e| s3_error!(e, InternalError))?;
        let (mut md5, mut size) = (Md5::new(), 0_u64);
        if let Some(mut body) = input.body {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| s3_error!(IncompleteBody, "{e}"))?;
                md5.update(&chunk);
                size += chunk.len() as u64;
                out.write_all(&chunk).map_err(|e| s3_error!(e, InternalError))?;
            }
        }
        let stored = Stored { file, size, etag: etag(md5.finalize().as_slice()), modified: SystemTime::now() };
        let e_tag = stored.etag.clone();
        self.0.insert(&input.bucket, &input.key, stored)?;
        Ok(S3Response::new(PutObjectOutput { e_tag: Some(e_tag), ..Default::default() }))
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.0.gate()?;
        let mut buckets = self.0.buckets();
        let objects = buckets.get_mut(&req.input.bucket).ok_or_else(|| s3_error!(NoSuchBucket))?;
        // Deleting a key that is not there succeeds, as in S3.
        if let Some(old) = objects.remove(&req.input.key) {
            let _ = std::fs::remove_file(old.file);
        }
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }
}

fn hexed(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(token: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| token.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}

/// The running server. Dropping it stops it and removes its objects.
#[derive(Debug)]
pub struct S3Server {
    state: Arc<State>,
    addr: SocketAddr,
    /// Whether it should answer (`true`) or refuse connections.
    wanted: watch::Sender<bool>,
    /// Whether it answers now.
    actual: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl S3Server {
    /// Starts a server on a free loopback port, with no buckets.
    ///
    /// # Errors
    /// When no port or temporary folder can be had.
    pub async fn start() -> anyhow::Result<Self> {
        let state = Arc::new(State {
            dir: tempfile::tempdir().context("a folder for the objects")?,
            buckets: Mutex::new(BTreeMap::new()),
            next_file: AtomicU64::new(0),
            get_objects: AtomicUsize::new(0),
            failing: AtomicUsize::new(0),
            max_page: AtomicUsize::new(MAX_PAGE),
        });
        let mut builder = S3ServiceBuilder::new(Store(Arc::clone(&state)));
        builder.set_auth(Keys);
        let service = builder.build().into_shared();
        let listener = TcpListener::bind("127.0.0.1:0").await.context("a loopback port")?;
        let addr = listener.local_addr()?;
        let (wanted, wanted_rx) = watch::channel(true);
        let (actual_tx, actual) = watch::channel(true);
        let task = tokio::spawn(serve(listener, addr, service, wanted_rx, actual_tx));
        Ok(Self { state, addr, wanted, actual, task })
    }

    /// Starts a server with one bucket.
    ///
    /// # Errors
    /// As [`S3Server::start`].
    pub async fn with_bucket(bucket: &str) -> anyhow::Result<Self> {
        let server = Self::start().await?;
        server.create_bucket(bucket);
        Ok(server)
    }

    /// `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The secret access key, as a source gets it.
    #[must_use]
    pub fn secret() -> SecretString {
        SecretString::from(SECRET_ACCESS_KEY)
    }

    /// A path-style S3 source configuration for `bucket` under `prefix` on this server.
    #[must_use]
    pub fn config(&self, bucket: &str, prefix: &str) -> SourceConfig {
        Self::config_at(&self.endpoint(), bucket, prefix)
    }

    /// The same configuration for a server at `endpoint` (one run by another process).
    #[must_use]
    pub fn config_at(endpoint: &str, bucket: &str, prefix: &str) -> SourceConfig {
        SourceConfig::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            endpoint: Some(endpoint.to_owned()),
            region: REGION.to_owned(),
            path_style: true,
            access_key_id: ACCESS_KEY_ID.to_owned(),
        }
    }

    /// Makes an empty bucket (nothing when it exists).
    pub fn create_bucket(&self, bucket: &str) {
        self.state.buckets().entry(bucket.to_owned()).or_default();
    }

    /// Uploads an object (replacing one at `key`); its ETag is the MD5 of `body`.
    ///
    /// # Errors
    /// When there is no such bucket, or the object cannot be written.
    pub fn put(&self, bucket: &str, key: &str, body: impl AsRef<[u8]>) -> anyhow::Result<()> {
        let stored = self.state.store(body.as_ref())?;
        self.state.insert(bucket, key, stored).map_err(|e| anyhow::anyhow!("put {bucket}/{key}: {e:?}"))
    }

    /// Deletes an object; `false` when it was not there.
    pub fn delete(&self, bucket: &str, key: &str) -> bool {
        let removed = self.state.buckets().get_mut(bucket).and_then(|objects| objects.remove(key));
        removed.map(|old| std::fs::remove_file(old.file)).is_some()
    }

    /// Moves an object to a new key, as a copy and a delete do in S3: same bytes and ETag, a new
    /// modification time.
    ///
    /// # Errors
    /// When there is no such bucket or object.
    pub fn rename(&self, bucket: &str, from: &str, to: &str) -> anyhow::Result<()> {
        let mut buckets = self.state.buckets();
        let objects = buckets.get_mut(bucket).with_context(|| format!("no bucket {bucket}"))?;
        let mut stored = objects.remove(from).with_context(|| format!("no object {bucket}/{from}"))?;
        stored.modified = SystemTime::now();
        if let Some(old) = objects.insert(to.to_owned(), stored) {
            let _ = std::fs::remove_file(old.file);
        }
        Ok(())
    }

    /// The keys of a bucket, in order.
    #[must_use]
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        self.state.buckets().get(bucket).map(|objects| objects.keys().cloned().collect()).unwrap_or_default()
    }

    /// How many GetObject requests have been answered with a body (a benchmark's proof that a
    /// re-sync read no object).
    #[must_use]
    pub fn get_object_calls(&self) -> usize {
        self.state.get_objects.load(Ordering::SeqCst)
    }

    /// Answers the next `requests` requests with 500 InternalError.
    pub fn fail_next(&self, requests: usize) {
        self.state.failing.store(requests, Ordering::SeqCst);
    }

    /// At most `keys` keys a ListObjectsV2 page, whatever the client asks (S3's is 1000).
    pub fn set_max_page(&self, keys: usize) {
        self.state.max_page.store(keys.clamp(1, MAX_PAGE), Ordering::SeqCst);
    }

    /// Stops answering: open connections are cut and new ones refused, until
    /// [`S3Server::resume`].
    pub async fn stop(&mut self) {
        self.switch(false).await;
    }

    /// Answers again, on the same port.
    pub async fn resume(&mut self) {
        self.switch(true).await;
    }

    async fn switch(&mut self, up: bool) {
        let _ = self.wanted.send(up);
        let _ = self.actual.wait_for(|&now| now == up).await;
    }
}

/// Accepts connections while `wanted` says so; between, the port is closed.
async fn serve(
    mut listener: TcpListener,
    addr: SocketAddr,
    service: SharedS3Service,
    mut wanted: watch::Receiver<bool>,
    actual: watch::Sender<bool>,
) {
    loop {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    if let Ok((socket, _)) = accepted {
                        let service = service.clone();
                        connections.spawn(async move {
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(socket), service)
                                .await;
                        });
                    }
                }
                changed = wanted.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if !*wanted.borrow_and_update() {
                        break;
                    }
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(listener);
        connections.shutdown().await;
        let _ = actual.send(false);
        // Down until wanted up again, then the same port.
        loop {
            if wanted.changed().await.is_err() {
                return;
            }
            if *wanted.borrow_and_update() {
                break;
            }
        }
        listener = loop {
            match TcpListener::bind(addr).await {
                Ok(listener) => break listener,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        };
        let _ = actual.send(true);
    }
}
