//! The service account's JSON key, and the signed JWT it trades for an access token (Google's
//! "service account" OAuth flow: an RS256 JWT with `iss`, `scope`, `aud`, `iat`, `exp`, posted as
//! `urn:ietf:params:oauth:grant-type:jwt-bearer`). The private key never leaves this module:
//! nothing here shows it, and errors name the field that is wrong, never its value.

use std::fmt;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use storyline_domain::ports::SourceError;

/// Read-only access to the files the service account can see.
pub(crate) const SCOPE: &str = "https://www.googleapis.com/auth/drive.readonly";

/// How long a grant asks the access token to last: Google's maximum.
pub(crate) const GRANT_LIFETIME_SECONDS: i64 = 3600;

/// A parsed service account key. `Debug` shows the account's e-mail only.
pub(crate) struct ServiceAccount {
    pub(crate) email: String,
    key_id: Option<String>,
    signing: EncodingKey,
}

impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount").field("email", &self.email).finish_non_exhaustive()
    }
}

/// The fields of Google's JSON key file that matter here (the file has more). Plain strings:
/// the value is dropped as soon as the key is parsed.
#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

fn malformed(problem: &str) -> SourceError {
    SourceError::Denied(format!("the service account's JSON key {problem}"))
}

impl ServiceAccount {
    /// Reads a key file, and signs one JWT with it to be sure the private key works.
    ///
    /// # Errors
    /// [`SourceError::Denied`] saying what is wrong with the file (never showing any of it).
    pub(crate) fn parse(key: &SecretString) -> Result<Self, SourceError> {
        let file: KeyFile = serde_json::from_str(key.expose_secret()).map_err(|error| {
            // serde_json's own message may quote the text: only where it went wrong is shown.
            if error.is_data() {
                malformed("is JSON, but a field has the wrong type (download the key again from Google Cloud)")
            } else {
                malformed(&format!(
                    "is not JSON (line {}, column {}): give the .json file Google Cloud made for the service account",
                    error.line(),
                    error.column()
                ))
            }
        })?;
        match file.kind.as_deref() {
            Some("service_account") => {}
            Some(other) => {
                let shown: String = other.chars().take(40).collect();
                return Err(malformed(&format!(
                    "is of type {shown:?}, not \"service_account\": make a key for a service account"
                )));
            }
            None => return Err(malformed("has no \"type\": it is not a service account's key")),
        }
        let email = file
            .client_email
            .filter(|email| email.contains('@'))
            .ok_or_else(|| malformed("has no client_email (the service account's e-mail address)"))?;
        let pem = file.private_key.ok_or_else(|| malformed("has no private_key"))?;
        let signing = EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|_| malformed("has a private_key that is not an RSA private key in PEM form"))?;
        drop(pem);
        let account = Self { email, key_id: file.private_key_id.filter(|id| !id.is_empty()), signing };
        // `from_rsa_pem` only decodes the PEM: signing once proves the key itself is sound.
        account
            .assertion("https://oauth2.googleapis.com/token", 0)
            .map_err(|_| malformed("has a private_key that cannot sign (it is not a usable RSA key)"))?;
        Ok(account)
    }

    /// The signed grant for `token_url`, issued at `now` (Unix seconds), valid an hour.
    ///
    /// # Errors
    /// When signing fails (a key that parsed but does not work).
    pub(crate) fn assertion(&self, token_url: &str, now: i64) -> Result<SecretString, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid.clone_from(&self.key_id);
        let claims =
            Claims { iss: &self.email, scope: SCOPE, aud: token_url, iat: now, exp: now + GRANT_LIFETIME_SECONDS };
        jsonwebtoken::encode(&header, &claims, &self.signing).map(SecretString::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> String {
        match ServiceAccount::parse(&SecretString::from(text)) {
            Ok(_) => "ok".to_owned(),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn a_malformed_key_says_what_is_wrong_without_showing_it() {
        assert!(parse("secret-words {").contains("is not JSON (line 1, column 1)"), "{}", parse("secret-words {"));
        assert!(!parse("secret-words {").contains("secret-words"));
        let wrong_type = parse(r#"{"type": 5, "private_key": "hidden-value"}"#);
        assert!(wrong_type.contains("a field has the wrong type"), "{wrong_type}");
        assert!(!wrong_type.contains("hidden-value"));
        assert!(parse(r#"{"type": "authorized_user"}"#).contains("\"authorized_user\", not \"service_account\""));
        assert!(parse(r#"{"client_email": "a@b"}"#).contains("has no \"type\""));
        assert!(parse(r#"{"type": "service_account", "private_key": "x"}"#).contains("has no client_email"));
        assert!(parse(r#"{"type": "service_account", "client_email": "a@b.iam"}"#).contains("has no private_key"));
        let not_pem = parse(r#"{"type": "service_account", "client_email": "a@b.iam", "private_key": "hidden-value"}"#);
        assert!(not_pem.contains("not an RSA private key in PEM form"), "{not_pem}");
        assert!(!not_pem.contains("hidden-value"));
    }

    #[test]
    fn a_pem_that_is_not_a_key_does_not_sign() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\\nAAAA\\n-----END RSA PRIVATE KEY-----\\n";
        let text = format!(r#"{{"type": "service_account", "client_email": "a@b.iam", "private_key": "{pem}"}}"#);
        let said = parse(&text);
        assert!(said.contains("the service account's JSON key has a private_key"), "{said}");
    }
}
