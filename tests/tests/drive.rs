//! The Google Drive media source against the fake Drive API on loopback (`fake_drive`): the
//! service account's signed grant, paging, subfolders as categories, the bin, shared drives,
//! retries, refusals, streamed reads, content judged as for a local file, and no secret in any
//! log line (trace level), error or `Debug` output.

use std::io::Write as _;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use secrecy::SecretString;
use storyline_domain::library::{MediaContent, StillFormat};
use storyline_domain::ports::{MediaSource, SourceError};
use storyline_drive::{DriveEndpoints, DriveSource, RetryPolicy};
use storyline_media::LocalFolder;
use storyline_tests::TestResult;
use storyline_tests::fake_drive::{Failure, FakeDrive};
use storyline_tests::files::{jpeg, png};

/// Quick retries: the tests wait for `Retry-After`, not for a long backoff.
fn quick() -> RetryPolicy {
    RetryPolicy { attempts: 4, first_backoff: Duration::from_millis(20), max_wait: Duration::from_secs(5) }
}

fn endpoints(drive: &FakeDrive) -> DriveEndpoints {
    DriveEndpoints::with_overrides(Some(drive.api_url()), Some(drive.token_url()))
}

fn drive_source(drive: &FakeDrive, folder: &str) -> DriveSource {
    source_with_key(drive, folder, &FakeDrive::service_account_key())
}

fn source_with_key(drive: &FakeDrive, folder: &str, key: &SecretString) -> DriveSource {
    DriveSource::with_retry(folder, key, endpoints(drive), quick()).expect("the fixture key parses")
}

/// The library the tests read:
///
/// ```text
/// root/
///   top.png                  (no category)
///   .hidden.png              (hidden: left out)
///   memes/  a.png b.jpg notes (a Google Doc: left out) gone.png (in the bin) caption.txt
///     old/  c.png
///   merch/  shirt.jpg        (on a shared drive)
///   binned/ x.png            (the folder is in the bin)
///   .drafts/ y.png           (hidden folder)
/// ```
struct Library {
    drive: FakeDrive,
    a_png: Vec<u8>,
    shirt: Vec<u8>,
}

async fn library() -> anyhow::Result<Library> {
    storyline_tests::logs::capture();
    let drive = FakeDrive::start().await?;
    let root = FakeDrive::ROOT;
    let a_png = png(108, 192, "a");
    let shirt = jpeg(108, 135, "shirt");
    drive.file(root, "top.png", "image/png", &png(100, 100, "top"));
    drive.file(root, ".hidden.png", "image/png", &png(10, 10, "hidden"));
    let memes = drive.folder(root, "memes");
    drive.file(&memes, "a.png", "image/png", &a_png);
    drive.file(&memes, "b.jpg", "image/jpeg", &jpeg(108, 192, "b"));
    drive.google_doc(&memes, "notes");
    let gone = drive.file(&memes, "gone.png", "image/png", &png(50, 50, "gone"));
    drive.trash(&gone);
    drive.file(&memes, "caption.txt", "text/plain", b"a caption, not a story\n");
    let old = drive.folder(&memes, "old");
    drive.file(&old, "c.png", "image/png", &png(72, 128, "c"));
    let merch = drive.folder(root, "merch");
    drive.shared_drive_file(&merch, "shirt.jpg", "image/jpeg", &shirt);
    let binned = drive.folder(root, "binned");
    drive.file(&binned, "x.png", "image/png", &png(10, 10, "x"));
    drive.trash(&binned);
    let drafts = drive.folder(root, ".drafts");
    drive.file(&drafts, "y.png", "image/png", &png(10, 10, "y"));
    Ok(Library { drive, a_png, shirt })
}

fn paths(entries: &[storyline_domain::ports::SourceEntry]) -> Vec<&str> {
    entries.iter().map(|entry| entry.path.as_str()).collect()
}

#[tokio::test]
async fn a_listing_walks_every_page_and_subfolder_with_folders_as_categories() -> TestResult {
    let Library { drive, a_png, .. } = library().await?;
    let entries = drive_source(&drive, FakeDrive::ROOT).list().await?;
    assert_eq!(
        paths(&entries),
        ["memes/a.png", "memes/b.jpg", "memes/caption.txt", "memes/old/c.png", "merch/shirt.jpg", "top.png"]
    );
    let a = &entries[0];
    assert_eq!(a.size_bytes, a_png.len() as u64);
    assert!(a.checksum.as_ref().is_some_and(|sum| sum.len() == 32), "{a:?}");
    assert!(a.modified.is_some());
    let calls = drive.calls();
    let listings: Vec<&String> = calls.iter().filter(|call| call.starts_with("GET /drive/v3/files?")).collect();
    assert!(listings.iter().any(|call| call.contains("pageToken=page-")), "no second page asked for: {calls:#?}");
    for call in &listings {
        for part in ["pageSize=1000", "supportsAllDrives=true", "includeItemsFromAllDrives=true", "trashed = false"] {
            assert!(call.contains(part), "{part} missing in {call}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_folder_is_read_as_the_person_who_logged_in_until_they_revoke_it() -> TestResult {
    let Library { drive, a_png, .. } = library().await?;
    let refresh = "1//0g-refresh-token-of-a-person";
    drive.accept_refresh_token(refresh);
    let login = storyline_drive::authorized_user(
        FakeDrive::CLIENT_ID,
        &SecretString::from(FakeDrive::CLIENT_SECRET),
        &SecretString::from(refresh),
    );
    let source = source_with_key(&drive, FakeDrive::ROOT, &login);
    let entries = source.list().await?;
    assert_eq!(paths(&entries)[0], "memes/a.png");
    let mut opened = source.open("memes/a.png").await?;
    let mut bytes = Vec::new();
    while let Some(chunk) = opened.chunks.next().await {
        bytes.extend_from_slice(&chunk?);
    }
    assert_eq!(bytes, a_png, "the file's bytes, read with the login's access token");
    assert_eq!(source.service_account(), "the Google account that logged in");
    // Revoked at Google: the next grant is refused, and the message says what to do.
    drive.revoke_refresh_tokens();
    drive.revoke_tokens();
    let refused = source_with_key(&drive, FakeDrive::ROOT, &login).list().await;
    let said = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(said.contains("log in with Google again"), "{said}");
    assert!(!said.contains(refresh) && !said.contains(FakeDrive::CLIENT_SECRET), "{said}");
    let logged = storyline_tests::logs::logged();
    assert!(!logged.contains(refresh) && !logged.contains(FakeDrive::CLIENT_SECRET), "no secret in the log");
    Ok(())
}

#[tokio::test]
async fn trashed_files_folders_google_docs_and_hidden_names_are_left_out() -> TestResult {
    let Library { drive, .. } = library().await?;
    let entries = drive_source(&drive, FakeDrive::ROOT).list().await?;
    for left_out in ["gone.png", "x.png", "notes", "hidden", "drafts", "y.png"] {
        assert!(entries.iter().all(|entry| !entry.path.contains(left_out)), "{left_out} listed: {entries:?}");
    }
    // The binned folder is never even opened.
    assert!(drive.calls().iter().all(|call| !call.contains("binned")));
    Ok(())
}

#[tokio::test]
async fn a_file_on_a_shared_drive_is_listed_and_read() -> TestResult {
    let Library { drive, shirt, .. } = library().await?;
    let source = drive_source(&drive, FakeDrive::ROOT);
    let entries = source.list().await?;
    assert!(paths(&entries).contains(&"merch/shirt.jpg"));
    assert_eq!(source.read("merch/shirt.jpg").await?, shirt);
    Ok(())
}

#[tokio::test]
async fn a_429_with_retry_after_a_5xx_and_a_rate_limit_403_are_tried_again() -> TestResult {
    let Library { drive, .. } = library().await?;
    let source = drive_source(&drive, FakeDrive::ROOT);
    let before = source.list().await?;
    drive.fail_next(&[Failure::TooManyRequests { retry_after_seconds: 1 }, Failure::Unavailable, Failure::RateLimited]);
    let started = Instant::now();
    let again = source.list().await?;
    assert_eq!(again, before);
    assert_eq!(drive.failed().len(), 3);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was not waited for: {:?}", started.elapsed());
    // A download is retried too.
    drive.fail_next(&[Failure::Unavailable]);
    assert!(!source.read("memes/a.png").await?.is_empty());
    assert_eq!(drive.failed().len(), 4);
    Ok(())
}

#[tokio::test]
async fn a_busy_token_endpoint_is_tried_again() -> TestResult {
    let Library { drive, .. } = library().await?;
    drive.fail_next_grants(&[Failure::Unavailable, Failure::TooManyRequests { retry_after_seconds: 0 }]);
    assert_eq!(drive_source(&drive, FakeDrive::ROOT).list().await?.len(), 6);
    assert_eq!(drive.failed().len(), 2);
    assert_eq!(drive.issued_tokens().len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_drive_that_keeps_failing_is_unreachable_after_a_few_tries() -> TestResult {
    let Library { drive, .. } = library().await?;
    drive.fail_next(&[Failure::Unavailable; 10]);
    let error = drive_source(&drive, FakeDrive::ROOT).list().await.expect_err("never answers");
    assert!(matches!(error, SourceError::Unreachable(_)), "{error:?}");
    assert_eq!(error.to_string(), "the media source is not answering");
    assert_eq!(drive.failed().len(), quick().attempts as usize);
    Ok(())
}

#[tokio::test]
async fn a_wrong_key_is_denied_naming_the_service_account() -> TestResult {
    let Library { drive, .. } = library().await?;
    let error = source_with_key(&drive, FakeDrive::ROOT, &FakeDrive::wrong_key()).list().await.expect_err("refused");
    let SourceError::Denied(text) = &error else { panic!("{error:?}") };
    assert!(text.contains(FakeDrive::EMAIL) && text.contains("invalid_grant"), "{text}");
    assert_eq!(drive.refused_grants(), 1, "a refused grant is not tried again");
    assert!(drive.calls().is_empty(), "no Drive call without a token");
    Ok(())
}

#[tokio::test]
async fn an_unknown_or_unshared_folder_is_no_such_root() -> TestResult {
    let Library { drive, .. } = library().await?;
    let error = drive_source(&drive, "1NoSuchFolder").list().await.expect_err("no folder");
    let SourceError::NoSuchRoot(text) = &error else { panic!("{error:?}") };
    assert_eq!(text, &format!("there is no Drive folder 1NoSuchFolder, or it is not shared with {}", FakeDrive::EMAIL));
    // A file's id is not a folder.
    let file = drive.file(FakeDrive::ROOT, "lonely.png", "image/png", &png(10, 10, "lonely"));
    let error = drive_source(&drive, &file).list().await.expect_err("not a folder");
    assert!(matches!(&error, SourceError::NoSuchRoot(text) if text.contains("not a folder")), "{error:?}");
    // An id that cannot be one never reaches Drive.
    let error = DriveSource::new("x' or name != '", &FakeDrive::service_account_key(), endpoints(&drive))
        .expect_err("refused before any call");
    assert!(matches!(&error, SourceError::NoSuchRoot(text) if text.contains("is not a Drive folder id")), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn a_folder_drive_forbids_is_denied_naming_the_service_account() -> TestResult {
    let Library { drive, .. } = library().await?;
    drive.forbid(FakeDrive::ROOT);
    let error = drive_source(&drive, FakeDrive::ROOT).list().await.expect_err("forbidden");
    assert!(matches!(&error, SourceError::Denied(text) if text.contains(FakeDrive::EMAIL)), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn open_streams_the_exact_bytes_in_chunks() -> TestResult {
    let Library { drive, .. } = library().await?;
    let big: Vec<u8> = (0..3_000_000_u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let videos = drive.folder(FakeDrive::ROOT, "videos");
    drive.file(&videos, "long.mp4", "video/mp4", &big);
    let source = drive_source(&drive, FakeDrive::ROOT);
    source.list().await?;
    let mut opened = source.open("videos/long.mp4").await?;
    assert_eq!(opened.size_bytes, Some(big.len() as u64));
    let (mut got, mut chunks) = (Vec::new(), 0);
    while let Some(chunk) = opened.chunks.next().await {
        got.extend_from_slice(&chunk?);
        chunks += 1;
    }
    assert!(got == big, "the bytes differ ({} of {})", got.len(), big.len());
    assert!(chunks > 1, "the file came as one chunk");
    assert!(matches!(source.open("videos/none.mp4").await, Err(SourceError::NotFound(_))));
    Ok(())
}

#[tokio::test]
async fn describe_judges_content_exactly_as_for_a_local_file() -> TestResult {
    let Library { drive, a_png, .. } = library().await?;
    let source = drive_source(&drive, FakeDrive::ROOT);
    source.list().await?;
    let described = source.describe("memes/a.png").await?;
    assert_eq!(described.content, MediaContent::Still { format: StillFormat::Png, width: 108, height: 192 });
    assert_eq!(described.size_bytes, a_png.len() as u64);
    let local = tempfile::tempdir()?;
    std::fs::create_dir(local.path().join("memes"))?;
    std::fs::File::create(local.path().join("memes/a.png"))?.write_all(&a_png)?;
    assert_eq!(described, LocalFolder::new(local.path()).describe("memes/a.png").await?);
    let text = source.describe("memes/caption.txt").await?;
    assert_eq!(text.content, MediaContent::Other("text".to_owned()));
    assert_eq!(text.extension, "txt");
    Ok(())
}

#[tokio::test]
async fn a_path_not_listed_yet_is_found_by_walking_its_folders() -> TestResult {
    let Library { drive, .. } = library().await?;
    let source = drive_source(&drive, FakeDrive::ROOT);
    // No listing first (a restarted process).
    assert!(!source.read("memes/old/c.png").await?.is_empty());
    assert!(drive.calls().iter().any(|call| call.contains("name = 'old'")), "{:#?}", drive.calls());
    assert!(matches!(source.read("memes/nothing.png").await, Err(SourceError::NotFound(_))));
    assert!(matches!(source.read("memes/gone.png").await, Err(SourceError::NotFound(_))), "a binned file is gone");
    assert!(matches!(source.read("memes/notes").await, Err(SourceError::NotFound(_))), "a Google Doc has no bytes");
    assert!(matches!(source.read("../memes/a.png").await, Err(SourceError::NotFound(_))));
    assert_eq!(source.locate("memes/a.png"), "drive:memes/a.png");
    assert_eq!(source.public_url("memes/a.png", Duration::from_secs(3600)).await?, None);
    Ok(())
}

#[tokio::test]
async fn the_access_token_is_cached_and_renewed_when_drive_refuses_it() -> TestResult {
    let Library { drive, .. } = library().await?;
    let source = drive_source(&drive, FakeDrive::ROOT);
    source.list().await?;
    source.read("memes/a.png").await?;
    source.describe("memes/b.jpg").await?;
    assert_eq!(drive.issued_tokens().len(), 1, "one grant for every call");
    drive.revoke_tokens();
    source.list().await?;
    assert_eq!(drive.issued_tokens().len(), 2, "a refused token is renewed once");
    Ok(())
}

#[tokio::test]
async fn a_malformed_key_is_refused_before_any_call() -> TestResult {
    let drive = FakeDrive::start().await?;
    let cases = [
        ("not json at all", "is not JSON"),
        (r#"{"type": "service_account", "client_email": "a@b.iam"}"#, "has no private_key"),
        // A person's login (accepted since "Log in with Google") without its client: named.
        (r#"{"type": "authorized_user", "client_secret": "shh"}"#, "have no client_id"),
        (r#"{"type": "external_account", "client_secret": "shh"}"#, "not \"service_account\""),
    ];
    for (key, said) in cases {
        let error = DriveSource::new(FakeDrive::ROOT, &SecretString::from(key), endpoints(&drive)).expect_err(key);
        assert!(matches!(&error, SourceError::Denied(text) if text.contains(said)), "{error:?}");
        assert!(!error.to_string().contains("shh"));
    }
    assert!(drive.assertions().is_empty() && drive.calls().is_empty());
    Ok(())
}

#[tokio::test]
async fn no_key_grant_or_token_in_any_log_line_error_or_debug_output() -> TestResult {
    let Library { drive, .. } = library().await?;
    let source = drive_source(&drive, FakeDrive::ROOT);
    let mut shown = vec![format!("{source:?}")];
    source.list().await?;
    drive.fail_next(&[Failure::TooManyRequests { retry_after_seconds: 0 }, Failure::Unavailable]);
    source.read("memes/a.png").await?;
    drive.revoke_tokens();
    source.describe("merch/shirt.jpg").await?;
    shown.push(format!("{source:?}"));
    for error in [
        source_with_key(&drive, FakeDrive::ROOT, &FakeDrive::wrong_key()).list().await.expect_err("wrong key"),
        drive_source(&drive, "1NoSuchFolder").list().await.expect_err("no folder"),
        source.read("memes/nothing.png").await.expect_err("no file"),
        DriveSource::new(FakeDrive::ROOT, &SecretString::from("{\"private_key\": 5}"), endpoints(&drive))
            .expect_err("bad key"),
    ] {
        let plain = format!("{error} / {error:?}");
        shown.push(format!("{plain} / {:#}", anyhow::Error::from(error)));
    }
    drive.fail_next(&[Failure::Unavailable; 10]);
    let unreachable = source.list().await.expect_err("unreachable");
    let plain = format!("{unreachable:?}");
    shown.push(format!("{plain} / {:#}", anyhow::Error::from(unreachable)));
    let logged = storyline_tests::logs::logged();
    assert!(logged.contains("calling Drive"), "the adapter's trace lines are captured");
    let tokens = drive.issued_tokens();
    let assertions = drive.assertions();
    assert!(tokens.len() >= 2 && assertions.len() >= 3, "{} tokens, {} grants", tokens.len(), assertions.len());
    let pem_lines: Vec<&str> = FakeDrive::private_key_pem().lines().filter(|line| !line.starts_with("-----")).collect();
    let mut secrets: Vec<&str> = tokens.iter().map(String::as_str).collect();
    // A grant's signature (its third part) is what makes it a credential.
    secrets.extend(assertions.iter().filter_map(|jwt| jwt.rsplit('.').next()));
    secrets.extend(pem_lines.iter().copied());
    for secret in secrets {
        assert!(!logged.contains(secret), "a secret is in the log: {secret}");
        for text in &shown {
            assert!(!text.contains(secret), "a secret is in {text}");
        }
    }
    for text in &shown {
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }
    Ok(())
}
