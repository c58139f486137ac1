//! The signed media route over real HTTP (FEATURES M4): only a validly signed, unexpired URL for
//! a media item of that very workspace returns its bytes.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};

use anyhow::Context;
use chrono::{DateTime, Duration, TimeZone, Utc};
use secrecy::SecretBox;
use storyline::media_http::{MediaFiles, router};
use storyline::sources::{SourceRegistry, Sources};
use storyline_domain::library::{Category, ContentHash, MediaId, MediaKind, NewMedia};
use storyline_domain::ports::{Clock, MediaHost, MediaLibrary, MediaQuery, SettingsStore, SourceStore};
use storyline_domain::settings::SettingsDefaults;
use storyline_domain::source::{OldItems, SourceConfig};
use storyline_domain::user::Actor;
use storyline_domain::{ChatId, WorkspaceId};
use storyline_media::{LocalFolder, SignedUrls};
use storyline_memory::{ManualClock, MemoryStore};
use storyline_tests::files::{jpeg, png};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A real JPEG: served as it is.
static PICTURE: LazyLock<Vec<u8>> = LazyLock::new(|| jpeg(90, 160, "a"));
/// A real PNG: served as a JPEG (Instagram publishes only JPEG stills).
static STILL: LazyLock<Vec<u8>> = LazyLock::new(|| png(90, 160, "still"));
/// Made-up video bytes: videos are served as they are, the route does not look at them.
const CLIP: &[u8] = b"....ftypisom not really a clip";
const BASE: &str = "https://story.example.com";
/// Workspace `b`'s clip in its own source.
const OWN_CLIP: &[u8] = b"....ftypisom the clip of b's own source";

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).single().unwrap_or_default()
}

/// A served media route over a memory store with two workspaces: `a` holds `memes/a.jpg` and
/// `memes/b.png`, `b` holds `clips/b.mp4`; the files are in one library folder.
struct Served {
    addr: SocketAddr,
    urls: Arc<SignedUrls>,
    clock: ManualClock,
    folder: tempfile::TempDir,
    a: WorkspaceId,
    b: WorkspaceId,
    picture: MediaId,
    still: MediaId,
    clip: MediaId,
}

impl Served {
    async fn start() -> anyhow::Result<Self> {
        Self::start_on(false).await
    }

    /// `start`, the route reading each workspace's own source (the default: the one folder);
    /// `b` then reads `own/`, where its clip has other bytes.
    async fn start_on(own_sources: bool) -> anyhow::Result<Self> {
        let folder = tempfile::tempdir()?;
        std::fs::create_dir_all(folder.path().join("memes"))?;
        std::fs::create_dir_all(folder.path().join("clips"))?;
        std::fs::write(folder.path().join("memes/a.jpg"), &*PICTURE)?;
        std::fs::write(folder.path().join("memes/b.png"), &*STILL)?;
        std::fs::write(folder.path().join("clips/b.mp4"), CLIP)?;

        let store = MemoryStore::new();
        let defaults = SettingsDefaults::default();
        let a = store.ensure_workspace(ChatId(-1001), "A", &defaults, start()).await?.id;
        let b = store.ensure_workspace(ChatId(-1002), "B", &defaults, start()).await?.id;
        let new = |path: &str, category: &str, kind, digit: &str, size: usize| -> anyhow::Result<NewMedia> {
            Ok(NewMedia {
                path: path.to_owned(),
                category: Category::new(category)?,
                kind,
                hash: ContentHash::from_hex(&digit.repeat(64)).ok_or_else(|| anyhow::anyhow!("hash"))?,
                size_bytes: size as u64,
                width: None,
                height: None,
            })
        };
        let pictures = [
            new("memes/a.jpg", "memes", MediaKind::Image, "a", PICTURE.len())?,
            new("memes/b.png", "memes", MediaKind::Image, "c", STILL.len())?,
        ];
        store.add(a, &pictures, start()).await?;
        store.add(b, &[new("clips/b.mp4", "clips", MediaKind::Video, "b", CLIP.len())?], start()).await?;
        let only = |items: Vec<storyline_domain::library::MediaItem>| -> anyhow::Result<MediaId> {
            match items.as_slice() {
                [item] => Ok(item.id),
                _ => anyhow::bail!("one item: {items:?}"),
            }
        };
        let all = MediaQuery { category: None, limit: 10 };
        let in_a = store.media(a, &all).await?;
        let id_of = |path: &str| in_a.iter().find(|m| m.path == path).map(|m| m.id).context("indexed");
        let (picture, still) = (id_of("memes/a.jpg")?, id_of("memes/b.png")?);
        let clip = only(store.media(b, &all).await?)?;

        let urls = Arc::new(SignedUrls::new(Some(format!("{BASE}/")), SecretBox::new(Box::new([42; 32]))));
        let clock = ManualClock::at(start());
        let mut files = MediaFiles::new(
            urls.clone(),
            Arc::new(store.clone()),
            Arc::new(LocalFolder::new(folder.path())),
            Arc::new(clock.clone()),
        );
        if own_sources {
            let own = folder.path().join("own");
            std::fs::create_dir_all(own.join("clips"))?;
            std::fs::write(own.join("clips/b.mp4"), OWN_CLIP)?;
            let root = own.display().to_string();
            store.set_source(b, &SourceConfig::Local { root }, None, &Actor::Cli, OldItems::Keep, start()).await?;
            let registry = SourceRegistry::new(Arc::new(store.clone()), Arc::new(Sources::new(folder.path())));
            files = files.with_sources(Arc::new(registry));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, router(files)).await });
        Ok(Self { addr, urls, clock, folder, a, b, picture, still, clip })
    }

    /// The path and query of a signed URL for `media` of `workspace`, valid for an hour.
    fn signed(&self, workspace: WorkspaceId, media: MediaId, kind: MediaKind) -> anyhow::Result<String> {
        let url = self.urls.url(workspace, media, kind, self.clock.now() + Duration::hours(1))?;
        Ok(url.strip_prefix(BASE).ok_or_else(|| anyhow::anyhow!("{url} is not under {BASE}"))?.to_owned())
    }

    /// One request: the status, the header block (lowercased names) and the body.
    async fn request(&self, method: &str, target: &str) -> anyhow::Result<(u16, String, Vec<u8>)> {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await?;
        let head = format!("{method} {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        let split = answer.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| anyhow::anyhow!("no header end"))?;
        let headers = String::from_utf8_lossy(&answer[..split]).to_lowercase();
        let status = headers.split(' ').nth(1).unwrap_or_default().parse()?;
        Ok((status, headers, answer[split + 4..].to_vec()))
    }

    async fn get(&self, target: &str) -> anyhow::Result<(u16, String, Vec<u8>)> {
        self.request("GET", target).await
    }
}

#[tokio::test]
async fn a_validly_signed_url_returns_the_file_with_its_content_type() -> anyhow::Result<()> {
    let served = Served::start().await?;
    let target = served.signed(served.a, served.picture, MediaKind::Image)?;
    let (status, headers, body) = served.get(&target).await?;
    assert_eq!(status, 200, "{headers}");
    assert_eq!(body, *PICTURE, "a JPEG is served as it is");
    assert!(headers.contains("content-type: image/jpeg"), "{headers}");
    assert!(headers.contains(&format!("content-length: {}", PICTURE.len())), "{headers}");
    assert_eq!(headers.matches("content-length:").count(), 1, "{headers}");
    assert!(headers.contains("cache-control: private, max-age=300"), "{headers}");

    let target = served.signed(served.b, served.clip, MediaKind::Video)?;
    let (status, headers, body) = served.get(&target).await?;
    assert_eq!((status, body.as_slice()), (200, CLIP), "{headers}");
    assert!(headers.contains("content-type: video/mp4"), "{headers}");

    // HEAD: the same headers, no body (Meta may probe the size first).
    let (status, headers, body) = served.request("HEAD", &target).await?;
    assert_eq!(status, 200, "{headers}");
    assert!(headers.contains(&format!("content-length: {}", CLIP.len())), "{headers}");
    assert!(body.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_png_is_served_as_a_jpeg_of_the_same_size_and_converted_once() -> anyhow::Result<()> {
    let served = Served::start().await?;
    let target = served.signed(served.a, served.still, MediaKind::Image)?;
    let (status, headers, body) = served.get(&target).await?;
    assert_eq!(status, 200, "{headers}");
    assert!(headers.contains("content-type: image/jpeg"), "{headers}");
    assert!(headers.contains(&format!("content-length: {}", body.len())), "{headers}");
    let decoded = image::load_from_memory_with_format(&body, image::ImageFormat::Jpeg)?;
    assert_eq!((decoded.width(), decoded.height()), (90, 160));
    // Meta fetches again: the same JPEG, from the cache.
    let (status, _, again) = served.get(&target).await?;
    assert_eq!((status, again == body), (200, true));
    Ok(())
}

#[tokio::test]
async fn a_wrong_or_missing_signature_is_403() -> anyhow::Result<()> {
    let served = Served::start().await?;
    let target = served.signed(served.a, served.picture, MediaKind::Image)?;
    let last = target.chars().last().unwrap_or('0');
    let forged = format!("{}{}", &target[..target.len() - 1], if last == '0' { '1' } else { '0' });
    let (status, _, body) = served.get(&forged).await?;
    assert_eq!((status, body.as_slice()), (403, b"invalid signature".as_slice()));

    let (path, query) = target.split_once('?').unwrap_or_default();
    let exp_only = query.split('&').next().unwrap_or_default();
    for target in [path.to_owned(), format!("{path}?{exp_only}"), format!("{path}?sig=&exp=")] {
        let (status, _, _) = served.get(&target).await?;
        assert_eq!(status, 403, "{target}");
    }
    // Another media id under the same signature.
    let other = target.replace(&served.picture.to_string(), &served.clip.to_string());
    assert_eq!(served.get(&other).await?.0, 403, "{other}");
    Ok(())
}

#[tokio::test]
async fn a_validly_signed_url_past_its_expiry_is_410() -> anyhow::Result<()> {
    let served = Served::start().await?;
    let target = served.signed(served.a, served.picture, MediaKind::Image)?;
    served.clock.advance(Duration::hours(1));
    let (status, _, body) = served.get(&target).await?;
    assert_eq!((status, body.as_slice()), (410, b"link expired".as_slice()));
    Ok(())
}

#[tokio::test]
async fn a_valid_signature_for_another_workspace_does_not_open_its_media() -> anyhow::Result<()> {
    let served = Served::start().await?;
    // Signed by this server, but the picture belongs to workspace A, not B.
    let target = served.signed(served.b, served.picture, MediaKind::Image)?;
    let (status, _, body) = served.get(&target).await?;
    assert_eq!(status, 404);
    assert!(!body.windows(PICTURE.len()).any(|w| w == PICTURE.as_slice()));
    // An unknown media id, validly signed: 404 as well.
    let target = served.signed(served.a, MediaId::new(), MediaKind::Image)?;
    assert_eq!(served.get(&target).await?.0, 404);
    Ok(())
}

#[tokio::test]
async fn a_file_gone_from_the_folder_is_404() -> anyhow::Result<()> {
    let served = Served::start().await?;
    std::fs::remove_file(served.folder.path().join("memes/a.jpg"))?;
    let target = served.signed(served.a, served.picture, MediaKind::Image)?;
    assert_eq!(served.get(&target).await?.0, 404);
    Ok(())
}

#[tokio::test]
async fn a_path_traversal_in_the_url_is_refused_before_any_file_is_touched() -> anyhow::Result<()> {
    let served = Served::start().await?;
    let target = served.signed(served.a, served.picture, MediaKind::Image)?;
    let query = target.split_once('?').map(|(_, query)| query).unwrap_or_default();
    for path in [
        "/media/..%2F..%2Fetc%2Fpasswd/x".to_owned(),
        format!("/media/{}/..%2F..%2Fetc%2Fpasswd", served.a),
        format!("/media/{}/..%2Fmemes%2Fa.png", served.a),
        "/media/%FF/x".to_owned(),
    ] {
        let (status, _, body) = served.get(&format!("{path}?{query}")).await?;
        assert_eq!(status, 403, "{path}");
        assert!(!body.windows(4).any(|w| w == b"root"), "{path}");
    }
    // No listing, nothing else under /media.
    for path in ["/media", "/media/", &format!("/media/{}", served.a), "/media/a/b/c"] {
        let (status, _, _) = served.get(path).await?;
        assert!(status == 404 || status == 403, "{path}: {status}");
    }
    Ok(())
}

#[tokio::test]
async fn each_workspace_is_served_from_its_own_source_and_one_with_none_from_the_default() -> anyhow::Result<()> {
    let served = Served::start_on(true).await?;
    let target = served.signed(served.b, served.clip, MediaKind::Video)?;
    let (status, headers, body) = served.get(&target).await?;
    assert_eq!((status, body.as_slice()), (200, OWN_CLIP), "b reads its own source: {headers}");
    let target = served.signed(served.a, served.picture, MediaKind::Image)?;
    let (status, headers, body) = served.get(&target).await?;
    assert_eq!((status, body), (200, PICTURE.clone()), "a has none set: the default folder: {headers}");
    Ok(())
}
