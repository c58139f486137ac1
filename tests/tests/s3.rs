//! The S3 media source against a real S3-compatible server on loopback (`s3_server`: `s3s`,
//! SigV4 checked): paging, categories, ETags, streamed bytes, presigned URLs, and every way a
//! bucket can be out of reach, without the secret ever showing.

use std::time::Duration;

use futures::StreamExt as _;
use rusty_s3::S3Action as _;
use secrecy::SecretString;
use storyline_domain::library::{MediaContent, StillFormat};
use storyline_domain::ports::{MediaSource, SourceEntry, SourceError};
use storyline_media::LocalFolder;
use storyline_s3::{Retry, S3Source};
use storyline_tests::files;
use storyline_tests::s3_server::{ACCESS_KEY_ID, REGION, S3Server, SECRET_ACCESS_KEY};

type TestResult = anyhow::Result<()>;

const BUCKET: &str = "stories";

fn source(server: &S3Server, prefix: &str) -> anyhow::Result<S3Source> {
    Ok(S3Source::new(&server.config(BUCKET, prefix), S3Server::secret())?)
}

/// Quick retries, so that the outage tests do not wait long.
fn quick() -> Retry {
    Retry { attempts: 2, first_wait: Duration::from_millis(20) }
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest as _;
    md5::Md5::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

async fn bytes_of(source: &S3Source, path: &str) -> anyhow::Result<(Option<u64>, usize, Vec<u8>)> {
    let mut opened = source.open(path).await?;
    let (mut chunks, mut bytes) = (0, Vec::new());
    while let Some(chunk) = opened.chunks.next().await {
        chunks += 1;
        bytes.extend_from_slice(&chunk?);
    }
    Ok((opened.size_bytes, chunks, bytes))
}

/// Every way `error` can be shown, for checking that the secret is in none of them.
fn shown(error: SourceError) -> String {
    let debug = format!("{error:?}");
    let display = error.to_string();
    let chain = format!("{:#}", anyhow::Error::new(error));
    format!("{display}\n{chain}\n{debug}")
}

fn assert_no_secret(text: &str) {
    assert!(!text.contains(SECRET_ACCESS_KEY), "the secret is in: {text}");
    assert!(!text.contains("X-Amz-Signature"), "a signed URL is in: {text}");
}

#[tokio::test]
async fn a_listing_pages_through_the_bucket_below_the_prefix() -> TestResult {
    let server = S3Server::with_bucket(BUCKET).await?;
    let mut expected = Vec::new();
    for i in 0..23 {
        let category = if i % 3 == 0 { "quotes" } else { "memes" };
        let path = format!("{category}/{i:02}.png");
        let body = files::png(8, 8, &path);
        server.put(BUCKET, &format!("library/{path}"), &body)?;
        expected.push((path, body));
    }
    // A name with a space, a plus, an ampersand and a non-ASCII letter: escaped in XML and URLs.
    let odd = "memes/a b+c & ü.jpg".to_owned();
    let body = files::jpeg(8, 8, "odd");
    server.put(BUCKET, &format!("library/{odd}"), &body)?;
    expected.push((odd.clone(), body));
    // Left out: folder markers, hidden names, keys outside the prefix or next to it.
    server.put(BUCKET, "library/memes/", b"")?;
    server.put(BUCKET, "library/.thumbnails/a.png", b"x")?;
    server.put(BUCKET, "library/memes/.DS_Store", b"x")?;
    server.put(BUCKET, "elsewhere/memes/b.png", b"x")?;
    server.put(BUCKET, "library-old/memes/c.png", b"x")?;
    expected.sort();

    // Pages of 5 asked by the source; then pages of 7 imposed by the server.
    let paged = source(&server, "library")?.with_page_size(5).list().await?;
    server.set_max_page(7);
    let capped = source(&server, "/library/")?.list().await?;
    assert_eq!(paged, capped);
    let paths: Vec<&str> = paged.iter().map(|e| e.path.as_str()).collect();
    let wanted: Vec<&str> = expected.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, wanted);
    for (entry, (_, body)) in paged.iter().zip(&expected) {
        assert_eq!(entry.size_bytes, body.len() as u64, "{}", entry.path);
        assert_eq!(entry.checksum.as_deref(), Some(md5_hex(body).as_str()), "{}", entry.path);
        assert!(entry.modified.is_some_and(|t| (chrono::Utc::now() - t).num_minutes() < 5), "{entry:?}");
    }
    let categories: std::collections::BTreeSet<&str> = paged.iter().filter_map(|e| e.path.split('/').next()).collect();
    assert_eq!(categories.into_iter().collect::<Vec<_>>(), ["memes", "quotes"]);
    // Listing reads no object.
    assert_eq!(server.get_object_calls(), 0);

    // The whole bucket, without a prefix: the first segment is the category.
    let whole = S3Source::new(&server.config(BUCKET, ""), S3Server::secret())?.list().await?;
    let firsts: std::collections::BTreeSet<&str> = whole.iter().filter_map(|e| e.path.split('/').next()).collect();
    assert_eq!(firsts.into_iter().collect::<Vec<_>>(), ["elsewhere", "library", "library-old"]);
    // An empty bucket lists nothing.
    server.create_bucket("empty");
    assert!(S3Source::new(&server.config("empty", ""), S3Server::secret())?.list().await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn the_checksum_is_the_etag_stable_until_the_content_changes() -> TestResult {
    let server = S3Server::with_bucket(BUCKET).await?;
    let source = source(&server, "")?;
    let (first, second) = (files::png(16, 16, "first"), files::png(16, 16, "second"));
    server.put(BUCKET, "memes/a.png", &first)?;
    let checksum =
        |entries: &[SourceEntry]| entries.iter().find(|e| e.path == "memes/a.png").and_then(|e| e.checksum.clone());
    let listed = source.list().await?;
    assert_eq!(checksum(&listed), Some(md5_hex(&first)));
    assert_eq!(source.list().await?, listed, "a re-list with nothing changed is the same");
    server.put(BUCKET, "memes/a.png", &second)?;
    let changed = source.list().await?;
    assert_eq!(checksum(&changed), Some(md5_hex(&second)));
    assert_ne!(checksum(&changed), checksum(&listed));
    // The same bytes uploaded again: the same checksum.
    server.put(BUCKET, "memes/a.png", &first)?;
    assert_eq!(checksum(&source.list().await?), checksum(&listed));
    // Moved: the same checksum at the new path.
    server.rename(BUCKET, "memes/a.png", "quotes/a.png")?;
    let moved = source.list().await?;
    assert_eq!(moved.len(), 1);
    assert_eq!((moved[0].path.as_str(), moved[0].checksum.clone()), ("quotes/a.png", checksum(&listed)));
    assert_eq!(server.get_object_calls(), 0);
    Ok(())
}

#[tokio::test]
async fn a_file_is_streamed_read_and_described_byte_for_byte() -> TestResult {
    let server = S3Server::with_bucket(BUCKET).await?;
    let source = source(&server, "library")?;
    // Larger than describe_stream keeps in memory; its `moov` box at the end.
    let video = files::mp4_of_size(1080, 1920, 12, 6 * 1024 * 1024);
    let still = files::png(1080, 1920, "still");
    server.put(BUCKET, "library/clips/v.mp4", &video)?;
    server.put(BUCKET, "library/memes/s.png", &still)?;

    let (size, chunks, bytes) = bytes_of(&source, "clips/v.mp4").await?;
    assert_eq!(size, Some(video.len() as u64));
    assert!(chunks > 1, "the video arrived in {chunks} chunk(s)");
    assert!(bytes == video, "the streamed bytes differ");
    assert!(source.read("memes/s.png").await? == still);

    // Described as the local folder describes the same files.
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("clips"))?;
    std::fs::create_dir_all(dir.path().join("memes"))?;
    std::fs::write(dir.path().join("clips/v.mp4"), &video)?;
    std::fs::write(dir.path().join("memes/s.png"), &still)?;
    let local = LocalFolder::new(dir.path());
    for path in ["clips/v.mp4", "memes/s.png"] {
        assert_eq!(source.describe(path).await?, local.describe(path).await?, "{path}");
    }
    let described = source.describe("memes/s.png").await?;
    assert_eq!(described.content, MediaContent::Still { format: StillFormat::Png, width: 1080, height: 1920 });
    assert!(matches!(
        source.describe("clips/v.mp4").await?.content,
        MediaContent::Video { size: Some((1080, 1920)), .. }
    ));

    // Missing keys, and paths that would leave the prefix.
    for path in ["memes/none.png", "../library/memes/s.png", "memes/../memes/s.png"] {
        assert!(matches!(source.read(path).await, Err(SourceError::NotFound(p)) if p == path), "{path}");
        assert!(matches!(source.open(path).await, Err(SourceError::NotFound(_))), "{path}");
    }
    assert_eq!(source.locate("memes/s.png"), "s3://stories/library/memes/s.png");
    Ok(())
}

#[tokio::test]
async fn a_presigned_url_gives_anyone_the_exact_bytes_until_it_expires() -> TestResult {
    let server = S3Server::with_bucket(BUCKET).await?;
    let source = source(&server, "library")?;
    let video = files::mp4_of_size(720, 1280, 5, 2 * 1024 * 1024);
    server.put(BUCKET, "library/clips/a b.mp4", &video)?;
    let url = source.public_url("clips/a b.mp4", Duration::from_secs(3600)).await?.unwrap_or_default();
    assert!(url.starts_with(&server.endpoint()), "{url}");
    assert_no_secret(&url.replace("X-Amz-Signature", ""));

    let http = reqwest::Client::new();
    let fetched = http.get(&url).send().await?;
    assert_eq!(fetched.status(), 200);
    assert!(fetched.bytes().await?.as_ref() == video.as_slice(), "the presigned URL gave other bytes");

    // A URL whose signature was tampered with, and one that has expired, are refused.
    let signature = url.split("X-Amz-Signature=").nth(1).unwrap_or_default().chars().take(64).collect::<String>();
    assert_eq!(signature.len(), 64, "{url}");
    let tampered = url.replace(&signature, &"0".repeat(64));
    assert_eq!(http.get(&tampered).send().await?.status(), 403);
    let short = source.public_url("clips/a b.mp4", Duration::from_secs(1)).await?.unwrap_or_default();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(http.get(&short).send().await?.status(), 403);
    // Without any signature: refused.
    let bare = format!("{}/{BUCKET}/library/clips/a%20b.mp4", server.endpoint());
    assert_eq!(http.get(&bare).send().await?.status(), 403);
    Ok(())
}

#[tokio::test]
async fn a_bucket_that_does_not_exist_is_named_in_the_message() -> TestResult {
    let server = S3Server::with_bucket(BUCKET).await?;
    let missing = S3Source::new(&server.config("nope", ""), S3Server::secret())?;
    let listed = missing.list().await;
    let Err(SourceError::NoSuchRoot(message)) = listed else { panic!("{listed:?}") };
    assert_eq!(message, format!("there is no bucket named nope at {}", server.endpoint()));
    assert!(matches!(missing.read("memes/a.png").await, Err(SourceError::NoSuchRoot(_))));
    Ok(())
}

#[tokio::test]
async fn wrong_credentials_are_denied_saying_which() -> TestResult {
    let server = S3Server::with_bucket(BUCKET).await?;
    server.put(BUCKET, "memes/a.png", files::png(8, 8, "a"))?;
    let wrong_secret = S3Source::new(&server.config(BUCKET, ""), SecretString::from("not-the-secret"))?;
    let listed = wrong_secret.list().await;
    let Err(SourceError::Denied(message)) = listed else { panic!("{listed:?}") };
    assert_eq!(
        message,
        format!(
            "{} refused the secret access key given for access key id {ACCESS_KEY_ID} (the signature does not match)",
            server.endpoint()
        )
    );
    assert!(matches!(wrong_secret.read("memes/a.png").await, Err(SourceError::Denied(_))));

    let mut config = server.config(BUCKET, "");
    if let storyline_domain::source::SourceConfig::S3 { access_key_id, .. } = &mut config {
        "AKIAUNKNOWN".clone_into(access_key_id);
    }
    let listed = S3Source::new(&config, S3Server::secret())?.list().await;
    let Err(SourceError::Denied(message)) = listed else { panic!("{listed:?}") };
    assert_eq!(message, format!("{} does not know the access key id AKIAUNKNOWN", server.endpoint()));
    assert_eq!(server.get_object_calls(), 0);
    Ok(())
}

#[tokio::test]
async fn a_server_that_stops_answering_is_unreachable_until_it_comes_back() -> TestResult {
    let mut server = S3Server::with_bucket(BUCKET).await?;
    server.put(BUCKET, "memes/a.png", files::png(8, 8, "a"))?;
    let source = source(&server, "")?.with_retry(quick());
    assert_eq!(source.list().await?.len(), 1);

    server.stop().await;
    let listed = source.list().await;
    assert!(matches!(listed, Err(SourceError::Unreachable(_))), "{listed:?}");
    assert!(matches!(source.open("memes/a.png").await, Err(SourceError::Unreachable(_))));
    server.resume().await;
    assert_eq!(source.list().await?.len(), 1);

    // Failing requests are tried again; failing for longer than the retries, unreachable.
    server.fail_next(1);
    assert_eq!(source.list().await?.len(), 1);
    server.fail_next(5);
    let listed = source.list().await;
    assert!(matches!(listed, Err(SourceError::Unreachable(_))), "{listed:?}");
    server.fail_next(0);
    assert!(source.read("memes/a.png").await?.starts_with(b"\x89PNG"));
    Ok(())
}

#[tokio::test]
async fn the_secret_is_in_no_debug_output_error_or_log_line() -> TestResult {
    use tracing_subscriber::layer::SubscriberExt as _;

    // Every log line at trace level, of this thread (the test runs on one).
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let writer = {
        let logs = std::sync::Arc::clone(&logs);
        move || Lines(std::sync::Arc::clone(&logs))
    };
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(false))
        .with(tracing_subscriber::filter::LevelFilter::TRACE);
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut server = S3Server::with_bucket(BUCKET).await?;
    server.put(BUCKET, "memes/a.png", files::png(8, 8, "a"))?;
    let source = source(&server, "")?.with_retry(quick());
    assert_no_secret(&format!("{source:?}"));
    source.list().await?;
    source.describe("memes/a.png").await?;

    let mut errors = Vec::new();
    errors.push(S3Source::new(&server.config("nope", ""), S3Server::secret())?.list().await);
    errors.push(source.read("memes/none.png").await.map(|_| Vec::new()));
    server.fail_next(5);
    errors.push(source.list().await);
    server.fail_next(0);
    server.stop().await;
    errors.push(source.list().await);
    server.resume().await;
    let mut config = server.config(BUCKET, "");
    if let storyline_domain::source::SourceConfig::S3 { endpoint, .. } = &mut config {
        *endpoint = Some("not a url".to_owned());
    }
    let malformed = S3Source::new(&config, S3Server::secret()).map(|_| ());
    let mut failures = 0;
    for error in errors.into_iter().filter_map(|r| r.err()).chain(malformed.err()) {
        failures += 1;
        assert_no_secret(&shown(error));
    }
    assert_eq!(failures, 5);
    // A wrong secret is not shown either.
    let wrong = S3Source::new(&server.config(BUCKET, ""), SecretString::from("wrong-secret-value"))?;
    assert_no_secret(&format!("{wrong:?}"));
    let denied = wrong.list().await.err().map(shown).unwrap_or_default();
    assert!(!denied.contains("wrong-secret-value") && !denied.is_empty(), "{denied}");

    let logged = String::from_utf8_lossy(&logs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned();
    assert!(logged.contains("S3 request failed; trying again"), "the retries are logged:\n{logged}");
    assert!(!logged.contains(SECRET_ACCESS_KEY), "the secret is in the log:\n{logged}");
    assert!(!logged.contains("wrong-secret-value"), "a secret is in the log:\n{logged}");
    Ok(())
}

/// A log writer into a shared buffer.
struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_server_speaks_s3_to_any_signed_client() -> TestResult {
    // PutObject, HeadBucket, DeleteObject through signed requests of another client (rusty-s3's
    // own actions over plain reqwest), then seen by the source.
    let server = S3Server::with_bucket(BUCKET).await?;
    let endpoint: url::Url = server.endpoint().parse()?;
    let bucket = rusty_s3::Bucket::new(endpoint.clone(), rusty_s3::UrlStyle::Path, BUCKET, REGION)?;
    let credentials = rusty_s3::Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY);
    let http = reqwest::Client::new();
    let minute = Duration::from_secs(60);

    let head = rusty_s3::actions::HeadBucket::new(&bucket, Some(&credentials)).sign(minute);
    assert_eq!(http.head(head.as_str()).send().await?.status(), 200);
    let other = rusty_s3::Bucket::new(endpoint, rusty_s3::UrlStyle::Path, "other", REGION)?;
    let head = rusty_s3::actions::HeadBucket::new(&other, Some(&credentials)).sign(minute);
    assert_eq!(http.head(head.as_str()).send().await?.status(), 404);

    let body = files::png(32, 32, "uploaded");
    let put = rusty_s3::actions::PutObject::new(&bucket, Some(&credentials), "memes/up.png").sign(minute);
    let answer = http.put(put.as_str()).body(body.clone()).send().await?;
    assert_eq!(answer.status(), 200);
    let etag = answer.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(etag, Some(format!("\"{}\"", md5_hex(&body))));
    assert_eq!(server.keys(BUCKET), ["memes/up.png"]);

    let source = source(&server, "")?;
    let listed = source.list().await?;
    assert_eq!((listed.len(), listed[0].checksum.clone()), (1, Some(md5_hex(&body))));
    assert!(source.read("memes/up.png").await? == body);
    assert_eq!(server.get_object_calls(), 1);

    let delete = rusty_s3::actions::DeleteObject::new(&bucket, Some(&credentials), "memes/up.png").sign(minute);
    assert_eq!(http.delete(delete.as_str()).send().await?.status(), 204);
    assert!(source.list().await?.is_empty());
    assert!(!server.delete(BUCKET, "memes/up.png"), "already gone");
    Ok(())
}
