//! Signed, expiring media URLs served by Storyline itself (FEATURES M4): Meta fetches each
//! story's file from `{PUBLIC_BASE_URL}/media/{workspace}/{media}?exp={unix seconds}&sig={hex}`,
//! where `sig` is HMAC-SHA256 over `"v1\n{workspace}\n{media}\n{exp}"`. Nothing but a valid,
//! unexpired signature of this process's key opens a file.

use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;
use storyline_domain::WorkspaceId;
use storyline_domain::library::{MediaId, MediaKind};
use storyline_domain::ports::{HostError, MediaHost};
use uuid::Uuid;

/// Makes and checks signed media URLs under `PUBLIC_BASE_URL`.
pub struct SignedUrls {
    /// Without trailing `/`; `None` when there is no public base URL.
    base_url: Option<String>,
    key: SecretBox<[u8; 32]>,
}

/// What a presented signature is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Signed by this key and not yet expired: serve this media of this workspace.
    Valid { workspace: WorkspaceId, media: MediaId },
    /// Not signed by this key, or not in the form this key signs.
    BadSignature,
    /// Signed by this key, but the expiry has passed.
    Expired,
}

impl SignedUrls {
    /// Signs with `key` under `base_url` (`https://story.example.com`, with or without a path
    /// prefix and a trailing `/`). Without a base URL (or an empty one) [`MediaHost::url`] fails
    /// with [`HostError::NotConfigured`]; verifying still works.
    #[must_use]
    pub fn new(base_url: Option<String>, key: SecretBox<[u8; 32]>) -> Self {
        let base_url =
            base_url.map(|base| base.trim().trim_end_matches('/').to_owned()).filter(|base| !base.is_empty());
        Self { base_url, key }
    }

    /// The MAC over one URL's fields, as they appear in the URL.
    fn mac(&self, workspace: &str, media: &str, exp: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"v1\n");
        mac.update(workspace.as_bytes());
        mac.update(b"\n");
        mac.update(media.as_bytes());
        mac.update(b"\n");
        mac.update(exp.as_bytes());
        mac
    }

    /// Checks the fields of a request to `/media/{workspace}/{media}?exp=…&sig=…` at `now`.
    ///
    /// The signature is checked first, in constant time, over the fields exactly as given, so
    /// only the canonical spelling this key signed can pass; anything malformed is a
    /// [`Verdict::BadSignature`]. A valid signature whose `exp` is at or before `now` (in whole
    /// seconds) is [`Verdict::Expired`]. How far in the future `exp` may lie is the signer's
    /// business.
    #[must_use]
    pub fn verify(&self, workspace: &str, media: &str, exp: &str, sig: &str, now: DateTime<Utc>) -> Verdict {
        let Some(tag) = from_hex(sig) else { return Verdict::BadSignature };
        if self.mac(workspace, media, exp).verify_slice(&tag).is_err() {
            return Verdict::BadSignature;
        }
        let (Ok(workspace), Ok(media), Ok(exp)) =
            (Uuid::parse_str(workspace), Uuid::parse_str(media), exp.parse::<i64>())
        else {
            return Verdict::BadSignature;
        };
        if exp <= now.timestamp() {
            return Verdict::Expired;
        }
        Verdict::Valid { workspace: WorkspaceId::from_uuid(workspace), media: MediaId(media) }
    }
}

impl MediaHost for SignedUrls {
    /// `{base}/media/{workspace}/{media}?exp={unix seconds}&sig={hex}`, valid until `expires`
    /// (rounded down to the second). The kind is not part of the URL: the server answers with
    /// the content type of the file.
    fn url(
        &self,
        workspace: WorkspaceId,
        media: MediaId,
        _kind: MediaKind,
        expires: DateTime<Utc>,
    ) -> Result<String, HostError> {
        let base = self.base_url.as_deref().ok_or(HostError::NotConfigured)?;
        let (workspace, media, exp) = (workspace.to_string(), media.to_string(), expires.timestamp().to_string());
        let sig = to_hex(&self.mac(&workspace, &media, &exp).finalize().into_bytes());
        Ok(format!("{base}/media/{workspace}/{media}?exp={exp}&sig={sig}"))
    }
}

impl fmt::Debug for SignedUrls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedUrls").field("base_url", &self.base_url).field("key", &"[redacted]").finish()
    }
}

/// The `Content-Type` for a library path, by its extension: JPEG, PNG, MP4 and QuickTime,
/// anything else `application/octet-stream`.
#[must_use]
pub fn content_type(path: &str) -> &'static str {
    let extension = Path::new(path).extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    match extension.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        _ => "application/octet-stream",
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Exactly 64 hex digits (a SHA-256 tag), or `None`.
fn from_hex(hex: &str) -> Option<[u8; 32]> {
    let digits = hex.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut tag = [0_u8; 32];
    for (byte, pair) in tag.iter_mut().zip(digits.chunks_exact(2)) {
        let high = char::from(pair[0]).to_digit(16)?;
        let low = char::from(pair[1]).to_digit(16)?;
        *byte = u8::try_from(high * 16 + low).ok()?;
    }
    Some(tag)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn urls(base: Option<&str>) -> SignedUrls {
        SignedUrls::new(base.map(str::to_owned), SecretBox::new(Box::new(KEY)))
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).single().unwrap_or_default()
    }

    /// The path segments and query values of a URL made by [`SignedUrls::url`].
    fn fields(url: &str) -> (String, String, String, String) {
        let (path, query) = url.split_once('?').unwrap_or_default();
        let mut segments = path.rsplit('/');
        let media = segments.next().unwrap_or_default().to_owned();
        let workspace = segments.next().unwrap_or_default().to_owned();
        let (exp, sig) = query.split_once('&').unwrap_or_default();
        let value = |pair: &str| pair.split_once('=').unwrap_or_default().1.to_owned();
        (workspace, media, value(exp), value(sig))
    }

    #[test]
    fn a_url_it_made_verifies_as_valid_for_that_workspace_and_media() -> Result<(), HostError> {
        let hosts = urls(Some("https://story.example.com"));
        let (workspace, media) = (WorkspaceId::new(), MediaId::new());
        let url = hosts.url(workspace, media, MediaKind::Image, now() + Duration::hours(1))?;
        let exp = (now() + Duration::hours(1)).timestamp();
        assert!(
            url.starts_with(&format!("https://story.example.com/media/{workspace}/{media}?exp={exp}&sig=")),
            "{url}"
        );
        let (w, m, e, s) = fields(&url);
        assert_eq!(s.len(), 64, "{url}");
        assert_eq!(hosts.verify(&w, &m, &e, &s, now()), Verdict::Valid { workspace, media });
        // Up to the last second before the expiry.
        assert_eq!(hosts.verify(&w, &m, &e, &s, now() + Duration::seconds(3599)), Verdict::Valid { workspace, media });
        Ok(())
    }

    #[test]
    fn a_changed_workspace_media_expiry_or_signature_is_a_bad_signature() -> Result<(), HostError> {
        let hosts = urls(Some("https://story.example.com"));
        let url = hosts.url(WorkspaceId::new(), MediaId::new(), MediaKind::Video, now() + Duration::hours(1))?;
        let (w, m, e, s) = fields(&url);
        let other = Uuid::new_v4().to_string();
        let later = (now() + Duration::days(365)).timestamp().to_string();
        let mut flipped = s.clone().into_bytes();
        flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap_or_default();
        let cases = [
            ("another media", w.as_str(), other.as_str(), e.as_str(), s.as_str()),
            ("another workspace", other.as_str(), m.as_str(), e.as_str(), s.as_str()),
            ("workspace and media swapped", m.as_str(), w.as_str(), e.as_str(), s.as_str()),
            ("a later expiry", w.as_str(), m.as_str(), later.as_str(), s.as_str()),
            ("one digit changed", w.as_str(), m.as_str(), e.as_str(), flipped.as_str()),
            ("a shortened signature", w.as_str(), m.as_str(), e.as_str(), &s[..62]),
            ("a signature that is not hex", w.as_str(), m.as_str(), e.as_str(), &"zz".repeat(32)),
            ("an empty signature", w.as_str(), m.as_str(), e.as_str(), ""),
            ("a path traversal", "../../etc/passwd", "x", e.as_str(), s.as_str()),
        ];
        for (case, w, m, e, s) in cases {
            assert_eq!(hosts.verify(w, m, e, s, now()), Verdict::BadSignature, "{case}");
        }
        // Another key does not accept it either.
        let other_key = SignedUrls::new(None, SecretBox::new(Box::new([8; 32])));
        assert_eq!(other_key.verify(&w, &m, &e, &s, now()), Verdict::BadSignature);
        Ok(())
    }

    #[test]
    fn a_validly_signed_url_past_its_expiry_is_expired() -> Result<(), HostError> {
        let hosts = urls(Some("https://story.example.com"));
        let url = hosts.url(WorkspaceId::new(), MediaId::new(), MediaKind::Image, now())?;
        let (w, m, e, s) = fields(&url);
        assert_eq!(hosts.verify(&w, &m, &e, &s, now()), Verdict::Expired, "exp equal to now is over");
        assert_eq!(hosts.verify(&w, &m, &e, &s, now() + Duration::days(2)), Verdict::Expired);
        // The signature comes first: a forged expired link is a bad signature, not "expired".
        assert_eq!(hosts.verify(&w, &m, &e, &"0".repeat(64), now() + Duration::days(2)), Verdict::BadSignature);
        Ok(())
    }

    #[test]
    fn without_a_base_url_there_is_no_url() {
        for base in [None, Some(""), Some("/")] {
            let url = urls(base).url(WorkspaceId::new(), MediaId::new(), MediaKind::Image, now());
            assert_eq!(url, Err(HostError::NotConfigured), "{base:?}");
        }
    }

    #[test]
    fn a_trailing_slash_on_the_base_url_is_dropped_and_a_path_prefix_kept() -> Result<(), HostError> {
        let (workspace, media) = (WorkspaceId::new(), MediaId::new());
        for base in ["https://story.example.com/", "https://story.example.com"] {
            let url = urls(Some(base)).url(workspace, media, MediaKind::Image, now())?;
            assert!(url.starts_with(&format!("https://story.example.com/media/{workspace}/")), "{url}");
        }
        let url = urls(Some("https://example.com/story/")).url(workspace, media, MediaKind::Image, now())?;
        assert!(url.starts_with(&format!("https://example.com/story/media/{workspace}/{media}?")), "{url}");
        Ok(())
    }

    #[test]
    fn debug_shows_the_base_url_but_no_key_bytes() {
        let shown = format!("{:?}", urls(Some("https://story.example.com")));
        assert!(shown.contains("https://story.example.com") && shown.contains("redacted"), "{shown}");
        assert!(!shown.contains('7'), "{shown}");
    }

    #[test]
    fn the_content_type_follows_the_extension() {
        for (path, expected) in [
            ("memes/a.jpg", "image/jpeg"),
            ("memes/A.JPEG", "image/jpeg"),
            ("memes/b.png", "image/png"),
            ("clips/c.mp4", "video/mp4"),
            ("clips/Summer Trip/d.MOV", "video/quicktime"),
            ("notes/e.txt", "application/octet-stream"),
            ("noextension", "application/octet-stream"),
        ] {
            assert_eq!(content_type(path), expected, "{path}");
        }
    }
}
