//! `GET /media/{workspace}/{media}?exp=…&sig=…` (FEATURES M4): the story files Meta fetches
//! through the signed, expiring URLs of [`SignedUrls`].
//!
//! Instagram publishes only JPEG images, so a still that is not a JPEG (a PNG) is served as a
//! JPEG of the same pixel size, converted on the first fetch and then taken from a bounded
//! in-memory cache ([`JpegStills`]). Videos and JPEGs are served as they are.
//!
//! Only a library row is ever served: the URL names a workspace and a media id, the signature
//! proves this server made it, and the file path comes from the library row of that workspace.
//! Nothing from the request reaches the file system, and there is no listing.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use storyline_domain::WorkspaceId;
use storyline_domain::library::{MediaId, MediaKind};
use storyline_domain::ports::{Clock, MediaLibrary, MediaSource, WorkspaceSources};
use storyline_media::{JpegStills, SignedUrls, Verdict, content_type, is_jpeg};

/// What the media route needs: the URL signer, the library (for the file path), the source (for
/// the bytes), the clock (for expiry) and the JPEG copies of stills.
#[derive(Clone)]
pub struct MediaFiles {
    pub urls: Arc<SignedUrls>,
    pub library: Arc<dyn MediaLibrary>,
    pub source: Arc<dyn MediaSource>,
    /// Each workspace's own source (FEATURES M1); `None`: every workspace reads `source`.
    pub sources: Option<Arc<dyn WorkspaceSources>>,
    pub clock: Arc<dyn Clock>,
    pub stills: Arc<JpegStills>,
}

impl MediaFiles {
    /// The route's state, with a JPEG cache of [`JpegStills::DEFAULT_CAP_BYTES`].
    #[must_use]
    pub fn new(
        urls: Arc<SignedUrls>,
        library: Arc<dyn MediaLibrary>,
        source: Arc<dyn MediaSource>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { urls, library, source, sources: None, clock, stills: Arc::new(JpegStills::default()) }
    }

    /// Reads each workspace's files from its own source instead of `source`.
    #[must_use]
    pub fn with_sources(mut self, sources: Arc<dyn WorkspaceSources>) -> Self {
        self.sources = Some(sources);
        self
    }
}

impl std::fmt::Debug for MediaFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaFiles").field("urls", &self.urls).finish_non_exhaustive()
    }
}

/// `GET` (and `HEAD`) `/media/{workspace}/{media}`.
pub fn router(state: MediaFiles) -> Router {
    Router::new().route("/media/{workspace}/{media}", get(media)).with_state(state)
}

fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, "invalid signature").into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

/// Any request that does not carry a valid signature is a 403, whatever is wrong with it
/// (missing parameters, segments that do not decode, anything but the ids this server signed).
async fn media(
    State(files): State<MediaFiles>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let (Ok(Path((workspace, media))), Ok(Query(query))) = (path, query) else { return forbidden() };
    let (Some(exp), Some(sig)) = (query.get("exp"), query.get("sig")) else { return forbidden() };
    match files.urls.verify(&workspace, &media, exp, sig, files.clock.now()) {
        Verdict::BadSignature => forbidden(),
        Verdict::Expired => (StatusCode::GONE, "link expired").into_response(),
        Verdict::Valid { workspace, media } => serve(&files, workspace, media).await,
    }
}

/// The bytes of `media` in `workspace`'s library, or 404.
async fn serve(files: &MediaFiles, workspace: WorkspaceId, media: MediaId) -> Response {
    let item = match files.library.get(workspace, media).await {
        Ok(Some(item)) => item,
        Ok(None) => return not_found(),
        Err(error) => {
            tracing::warn!(%workspace, %media, error = format!("{error:#}"), "could not look up a media item");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response();
        }
    };
    let source = match &files.sources {
        Some(sources) => match sources.source(workspace).await {
            Ok(source) => source,
            Err(error) => {
                let error = anyhow::Error::from(error);
                tracing::warn!(%workspace, %media, error = format!("{error:#}"), "could not open the media source");
                return (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response();
            }
        },
        None => files.source.clone(),
    };
    let bytes = match source.read(&item.path).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%workspace, %media, error = format!("{error:#}"), "could not read a media file");
            return not_found();
        }
    };
    let (kind, bytes) = match item.kind {
        MediaKind::Image if is_jpeg(&bytes) => ("image/jpeg", bytes),
        MediaKind::Image => {
            let stills = files.stills.clone();
            match tokio::task::spawn_blocking(move || stills.jpeg(bytes)).await {
                Ok(Ok(jpeg)) => ("image/jpeg", jpeg.as_ref().clone()),
                Ok(Err(error)) => {
                    let error = anyhow::Error::from(error);
                    tracing::warn!(%workspace, %media, error = format!("{error:#}"), "could not convert a still to JPEG");
                    return (StatusCode::INTERNAL_SERVER_ERROR, "could not convert").into_response();
                }
                Err(error) => {
                    tracing::warn!(%workspace, %media, error = format!("{error:#}"), "the JPEG conversion stopped");
                    return (StatusCode::INTERNAL_SERVER_ERROR, "could not convert").into_response();
                }
            }
        }
        MediaKind::Video => (content_type(&item.path), bytes),
    };
    (
        [
            (CONTENT_TYPE, kind.to_owned()),
            (CONTENT_LENGTH, bytes.len().to_string()),
            (CACHE_CONTROL, "private, max-age=300".to_owned()),
            (X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response()
}
