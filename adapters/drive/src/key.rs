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
pub const SCOPE: &str = "https://www.googleapis.com/auth/drive.readonly";

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
    // Google's "authorized_user" credentials (a person's login: `gcloud auth
    // application-default login`, or Storyline's "Log in with Google").
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
}

/// What Drive is read as: a service account (its key signs a JWT grant), or a person who logged
/// in (their refresh token is traded for access tokens). `Debug` shows no secret.
#[derive(Debug)]
pub(crate) enum Credential {
    Service(ServiceAccount),
    User(AuthorizedUser),
}

/// A person's Google login: the OAuth client it was made for and its refresh token.
pub(crate) struct AuthorizedUser {
    client_id: String,
    client_secret: SecretString,
    refresh_token: SecretString,
}

impl fmt::Debug for AuthorizedUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizedUser").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// Who is reading, as messages name it.
pub(crate) const LOGGED_IN: &str = "the Google account that logged in";

impl Credential {
    /// Reads Google's JSON credentials: a service account's key or a person's
    /// `authorized_user` login.
    ///
    /// # Errors
    /// [`SourceError::Denied`] saying what is wrong (never showing any of it).
    pub(crate) fn parse(key: &SecretString) -> Result<Self, SourceError> {
        let file = read(key)?;
        if file.kind.as_deref() == Some("authorized_user") {
            let field = |value: Option<String>, name: &str| {
                value.filter(|v| !v.trim().is_empty()).ok_or_else(|| {
                    SourceError::Denied(format!(
                        "the Google login credentials have no {name}: log in with Google again"
                    ))
                })
            };
            let client_id = field(file.client_id, "client_id")?;
            let client_secret = SecretString::from(field(file.client_secret, "client_secret")?);
            let refresh_token = SecretString::from(field(file.refresh_token, "refresh_token")?);
            return Ok(Self::User(AuthorizedUser { client_id, client_secret, refresh_token }));
        }
        ServiceAccount::from_file(file).map(Self::Service)
    }

    /// The service account's e-mail, or [`LOGGED_IN`].
    pub(crate) fn who(&self) -> &str {
        match self {
            Self::Service(account) => &account.email,
            Self::User(_) => LOGGED_IN,
        }
    }

    /// The form that asks `token_url` for an access token at `now` (UNIX seconds).
    ///
    /// # Errors
    /// When the service account's grant cannot be signed.
    pub(crate) fn grant(&self, token_url: &str, now: i64) -> Result<Vec<(&'static str, SecretString)>, String> {
        match self {
            Self::Service(account) => {
                let assertion = account.assertion(token_url, now).map_err(|e| e.to_string())?;
                Ok(vec![
                    ("grant_type", SecretString::from("urn:ietf:params:oauth:grant-type:jwt-bearer")),
                    ("assertion", assertion),
                ])
            }
            Self::User(user) => Ok(vec![
                ("grant_type", SecretString::from("refresh_token")),
                ("client_id", SecretString::from(user.client_id.clone())),
                ("client_secret", user.client_secret.clone()),
                ("refresh_token", user.refresh_token.clone()),
            ]),
        }
    }
}

/// Google's `authorized_user` credentials for a refresh token of `client`, as a Drive source
/// keeps them (sealed, like a service account's key).
#[must_use]
pub fn authorized_user(client_id: &str, client_secret: &SecretString, refresh_token: &SecretString) -> SecretString {
    SecretString::from(
        serde_json::json!({
            "type": "authorized_user",
            "client_id": client_id,
            "client_secret": client_secret.expose_secret(),
            "refresh_token": refresh_token.expose_secret(),
        })
        .to_string(),
    )
}

/// The credentials file, read without showing any of it in an error.
fn read(key: &SecretString) -> Result<KeyFile, SourceError> {
    serde_json::from_str(key.expose_secret()).map_err(|error| {
        if error.is_data() {
            malformed("is JSON, but a field has the wrong type (download the key again from Google Cloud)")
        } else {
            malformed(&format!(
                "is not JSON (line {}, column {}): give the .json file Google Cloud made for the service account",
                error.line(),
                error.column()
            ))
        }
    })
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
    fn from_file(file: KeyFile) -> Result<Self, SourceError> {
        match file.kind.as_deref() {
            Some("service_account") => {}
            Some(other) => {
                let shown: String = other.chars().take(40).collect();
                return Err(malformed(&format!(
                    "is of type {shown:?}, not \"service_account\" (or \"authorized_user\" for a login): make a key for a service account"
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
        match Credential::parse(&SecretString::from(text)) {
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
        assert!(parse(r#"{"type": "external_account"}"#).contains("\"external_account\", not \"service_account\""));
        let no_token = parse(r#"{"type": "authorized_user", "client_id": "c", "client_secret": "hidden-value"}"#);
        assert!(no_token.contains("have no refresh_token"), "{no_token}");
        assert!(!no_token.contains("hidden-value"));
        assert!(parse(r#"{"client_email": "a@b"}"#).contains("has no \"type\""));
        assert!(parse(r#"{"type": "service_account", "private_key": "x"}"#).contains("has no client_email"));
        assert!(parse(r#"{"type": "service_account", "client_email": "a@b.iam"}"#).contains("has no private_key"));
        let not_pem = parse(r#"{"type": "service_account", "client_email": "a@b.iam", "private_key": "hidden-value"}"#);
        assert!(not_pem.contains("not an RSA private key in PEM form"), "{not_pem}");
        assert!(!not_pem.contains("hidden-value"));
    }

    #[test]
    fn a_login_is_read_and_asks_with_its_refresh_token() -> Result<(), String> {
        let text =
            authorized_user("client-1", &SecretString::from("client-secret-2"), &SecretString::from("refresh-3"));
        let credential = Credential::parse(&text).map_err(|e| e.to_string())?;
        assert_eq!(credential.who(), LOGGED_IN);
        let form = credential.grant("https://oauth2.googleapis.com/token", 0)?;
        let shown: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.expose_secret())).collect();
        assert_eq!(
            shown,
            [
                ("grant_type", "refresh_token"),
                ("client_id", "client-1"),
                ("client_secret", "client-secret-2"),
                ("refresh_token", "refresh-3")
            ]
        );
        let debug = format!("{credential:?}");
        assert!(!debug.contains("client-secret-2") && !debug.contains("refresh-3"), "{debug}");
        Ok(())
    }

    #[test]
    fn a_pem_that_is_not_a_key_does_not_sign() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\\nAAAA\\n-----END RSA PRIVATE KEY-----\\n";
        let text = format!(r#"{{"type": "service_account", "client_email": "a@b.iam", "private_key": "{pem}"}}"#);
        let said = parse(&text);
        assert!(said.contains("the service account's JSON key has a private_key"), "{said}");
    }
}
