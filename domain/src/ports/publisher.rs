use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::WorkspaceId;
use crate::account::{InstagramUserId, LoginKind, Username};
use crate::library::{MediaId, MediaKind};

/// Who a Graph API call acts for: the account's Meta id, its login kind (which picks the host)
/// and its token.
#[derive(Debug, Clone)]
pub struct PublishTarget {
    pub instagram_id: InstagramUserId,
    pub login: LoginKind,
    pub token: SecretString,
}

/// A story's media at a URL Meta can fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedMedia {
    pub kind: MediaKind,
    pub url: String,
}

/// Meta's id of a media container (created, not yet published).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerId(pub String);

/// Meta's id of a published story.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstagramMediaId(pub String);

/// A container's `status_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerStatus {
    /// Ready to publish.
    Finished,
    /// Already published (a retry after a crash must not publish it again).
    Published,
    /// Still processing when the time cap ran out.
    InProgress,
    /// Meta could not process the media (its message).
    Error(String),
    /// Older than 24 hours; a new container is needed.
    Expired,
}

/// How much of the 24-hour publishing quota is used (`content_publishing_limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishingQuota {
    pub used: u32,
    pub total: u32,
}

impl PublishingQuota {
    #[must_use]
    pub const fn exhausted(&self) -> bool {
        self.used >= self.total
    }
}

/// A token Meta returned from a refresh, with how long it lives from now (`expires_in`); the
/// caller turns that into an instant with its own clock.
#[derive(Debug, Clone)]
pub struct RefreshedToken {
    pub token: SecretString,
    pub expires_in: Option<chrono::Duration>,
}

/// A Graph API call failed, classified by Meta's error code. Never carries a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// Code 190: the token is invalid or expired.
    #[error("the Instagram token is invalid or expired: {0}")]
    TokenInvalid(String),
    /// Codes 4, 17, 341, 9, or HTTP 429, or the publishing quota is used up.
    #[error("Instagram's rate limit is reached: {0}")]
    RateLimited(String),
    /// Codes 1, 2, HTTP 5xx, a network error: worth retrying.
    #[error("Instagram is not answering right now: {0}")]
    Transient(String),
    /// Anything else: Meta's message.
    #[error("Instagram refused: {0}")]
    Failed(String),
}

/// Instagram's Graph API (implemented by `storyline-instagram`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait StoryPublisher: Send + Sync {
    /// Creates a story container (`media_type=STORIES` with `image_url` or `video_url`).
    ///
    /// # Errors
    /// [`PublishError`] classified by Meta's code.
    async fn create_container(&self, target: &PublishTarget, media: &HostedMedia) -> Result<ContainerId, PublishError>;

    /// Polls the container's `status_code` with growing pauses until it is no longer
    /// `IN_PROGRESS` or the adapter's time cap runs out ([`ContainerStatus::InProgress`]).
    ///
    /// # Errors
    /// [`PublishError`] classified by Meta's code.
    async fn wait_ready(
        &self,
        target: &PublishTarget,
        container: &ContainerId,
    ) -> Result<ContainerStatus, PublishError>;

    /// Publishes a finished container (`media_publish`).
    ///
    /// # Errors
    /// [`PublishError`] classified by Meta's code.
    async fn publish(&self, target: &PublishTarget, container: &ContainerId) -> Result<InstagramMediaId, PublishError>;

    /// The publishing quota (`content_publishing_limit`).
    ///
    /// # Errors
    /// [`PublishError`] classified by Meta's code.
    async fn quota(&self, target: &PublishTarget) -> Result<PublishingQuota, PublishError>;

    /// Refreshes a long-lived token: `ig_refresh_token` for Instagram Login,
    /// `fb_exchange_token` with the app id and secret for Facebook Login.
    ///
    /// # Errors
    /// [`PublishError`]; [`PublishError::Failed`] when Facebook app credentials are missing.
    async fn refresh(&self, login: LoginKind, token: &SecretString) -> Result<RefreshedToken, PublishError>;

    /// The account's @username, looked up by its id with its token.
    ///
    /// # Errors
    /// [`PublishError`] classified by Meta's code.
    async fn username(&self, target: &PublishTarget) -> Result<Username, PublishError>;
}

/// A media host could not make a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("PUBLIC_BASE_URL is not set, so Instagram cannot fetch media from this server")]
    NotConfigured,
}

/// A public, expiring URL for one media item, for Meta to fetch (FEATURES M4).
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait MediaHost: Send + Sync {
    /// A URL for `media` of `workspace`, valid until `expires`.
    ///
    /// # Errors
    /// [`HostError::NotConfigured`] when there is no public base URL.
    fn url(
        &self,
        workspace: WorkspaceId,
        media: MediaId,
        kind: MediaKind,
        expires: DateTime<Utc>,
    ) -> Result<String, HostError>;
}
