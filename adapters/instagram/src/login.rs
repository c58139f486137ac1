//! [`MetaLogin`] on [`GraphApi`]: the authorization links of Instagram Login and Facebook Login,
//! and a code turned into long-lived tokens and the accounts they reach.
//!
//! - Instagram Login: `www.instagram.com/oauth/authorize`, the code exchanged at
//!   `api.instagram.com/oauth/access_token` (POST), the short-lived token at
//!   `graph.instagram.com/access_token` (`ig_exchange_token`), the account from `me`. Instagram
//!   Login takes no PKCE.
//! - Facebook Login: `www.facebook.com/{version}/dialog/oauth` with PKCE (S256), the code at
//!   `graph.facebook.com/{version}/oauth/access_token`, then `fb_exchange_token`, the accounts
//!   from `me/accounts` (each Page's `instagram_business_account`).
//! - With `GRAPH_API_URL` set, every API host is that URL; with `META_LOGIN_URL` set, the two
//!   dialogs are under it (tests, proxies).
//!
//! Codes, tokens and app secrets go in form bodies or queries, never in a log line, and are
//! scrubbed from every error text.

use async_trait::async_trait;
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use storyline_domain::account::{InstagramUserId, LoginKind, Username};
use storyline_domain::login::{LoginCandidate, LoginError, LoginProvider};
use storyline_domain::ports::{MetaLogin, PublishError};

use crate::error::scrub;
use crate::{FacebookApp, GraphApi, Root, TokenAnswer};

/// Instagram Login's scopes: read the account, publish to it.
pub const INSTAGRAM_SCOPES: &str = "instagram_business_basic,instagram_business_content_publish";
/// Facebook Login's scopes: find the Pages and their Instagram accounts, publish to them.
pub const FACEBOOK_SCOPES: &str =
    "instagram_basic,instagram_content_publish,pages_show_list,pages_read_engagement,business_management";

const INSTAGRAM_DIALOG: &str = "https://www.instagram.com";
const FACEBOOK_DIALOG: &str = "https://www.facebook.com";

/// A code exchange's answer: Instagram Login's is either flat or wrapped in `data`.
#[derive(Deserialize)]
struct CodeAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    data: Vec<CodeEntry>,
}

#[derive(Deserialize)]
struct CodeEntry {
    access_token: String,
}

#[derive(Deserialize)]
struct Me {
    #[serde(default)]
    user_id: Option<serde_json::Value>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Pages {
    #[serde(default)]
    data: Vec<Page>,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    instagram_business_account: Option<LinkedAccount>,
}

#[derive(Deserialize)]
struct LinkedAccount {
    id: String,
    #[serde(default)]
    username: Option<String>,
}

/// Meta's answer to a step of the login, as a [`LoginError`]: a refusal when Meta said no,
/// else unreachable.
fn login_error(error: PublishError) -> LoginError {
    match error {
        PublishError::TokenInvalid(text) | PublishError::Failed(text) => LoginError::Refused(text),
        PublishError::RateLimited(text) | PublishError::Transient(text) => LoginError::Unreachable(text),
    }
}

fn days(seconds: Option<i64>) -> Option<i64> {
    seconds.filter(|s| *s > 0).map(|s| (s / 86_400).max(1))
}

impl GraphApi {
    fn app(&self, provider: LoginProvider) -> Option<&FacebookApp> {
        match provider {
            LoginProvider::Instagram => self.config.instagram_app.as_ref(),
            LoginProvider::Facebook => self.config.facebook_app.as_ref(),
            // Not Meta's: `storyline-drive` logs in with Google.
            LoginProvider::Google => None,
        }
    }

    fn dialog(&self, provider: LoginProvider) -> Option<Url> {
        let base = match (&self.config.login_url, provider) {
            (Some(base), _) => base.as_str(),
            (None, LoginProvider::Instagram) => INSTAGRAM_DIALOG,
            (None, LoginProvider::Facebook) => FACEBOOK_DIALOG,
            (None, LoginProvider::Google) => return None,
        };
        let mut url = Url::parse(base.trim()).ok()?;
        url.set_query(None);
        url.path_segments_mut().ok()?.pop_if_empty().extend(match provider {
            LoginProvider::Instagram => vec!["oauth", "authorize"],
            LoginProvider::Facebook => vec![self.config.version.as_str(), "dialog", "oauth"],
            LoginProvider::Google => return None,
        });
        Some(url)
    }

    async fn instagram_login(
        &self,
        app: &FacebookApp,
        code: &str,
        redirect_uri: &str,
    ) -> Result<Vec<LoginCandidate>, PublishError> {
        let short: CodeAnswer = self
            .post(
                "exchange_instagram_code",
                Root::InstagramApi,
                &["oauth", "access_token"],
                &[
                    ("client_id", &app.id),
                    ("client_secret", app.secret.expose_secret()),
                    ("grant_type", "authorization_code"),
                    ("redirect_uri", redirect_uri),
                    ("code", code),
                ],
            )
            .await?;
        let short = short
            .access_token
            .or_else(|| short.data.into_iter().next().map(|d| d.access_token))
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| PublishError::Failed("Instagram answered the code without a token".to_owned()))?;
        let short = SecretString::from(short);
        let long: TokenAnswer = self
            .get(
                "exchange_instagram_token",
                Root::InstagramUnversioned,
                &["access_token"],
                &[
                    ("grant_type", "ig_exchange_token"),
                    ("client_secret", app.secret.expose_secret()),
                    ("access_token", short.expose_secret()),
                ],
            )
            .await
            .map_err(|e| scrub(e, &[short.expose_secret()]))?;
        let token = SecretString::from(long.access_token);
        let me: Me = self
            .get(
                "instagram_me",
                Root::Versioned(LoginKind::Instagram),
                &["me"],
                &[("fields", "user_id,username,name"), ("access_token", token.expose_secret())],
            )
            .await
            .map_err(|e| scrub(e, &[token.expose_secret()]))?;
        // `user_id` is the professional account's id (what publishing takes); `id` is scoped
        // to the app.
        let id = match me.user_id {
            Some(serde_json::Value::String(id)) => Some(id),
            Some(serde_json::Value::Number(id)) => Some(id.to_string()),
            _ => me.id,
        };
        let instagram_id = id
            .as_deref()
            .and_then(|id| InstagramUserId::new(id).ok())
            .ok_or_else(|| PublishError::Failed("Instagram did not say which account logged in".to_owned()))?;
        let username = me.username.as_deref().and_then(|u| Username::new(u).ok());
        let name = me
            .name
            .filter(|n| !n.trim().is_empty())
            .or_else(|| me.username.clone())
            .unwrap_or_else(|| instagram_id.to_string());
        Ok(vec![LoginCandidate { instagram_id, username, name, token, expires_in_days: days(long.expires_in) }])
    }

    async fn facebook_login(
        &self,
        app: &FacebookApp,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<Vec<LoginCandidate>, PublishError> {
        let short: CodeAnswer = self
            .get(
                "exchange_facebook_code",
                Root::Versioned(LoginKind::Facebook),
                &["oauth", "access_token"],
                &[
                    ("client_id", &app.id),
                    ("client_secret", app.secret.expose_secret()),
                    ("redirect_uri", redirect_uri),
                    ("code", code),
                    ("code_verifier", verifier),
                ],
            )
            .await?;
        let short = short
            .access_token
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| PublishError::Failed("Facebook answered the code without a token".to_owned()))?;
        let short = SecretString::from(short);
        // The long-lived token: the same exchange the daily refresh makes (`fb_exchange_token`).
        let long =
            self.refresh_token(LoginKind::Facebook, &short).await.map_err(|e| scrub(e, &[short.expose_secret()]))?;
        let token = long.token;
        let pages: Pages = self
            .get(
                "facebook_pages",
                Root::Versioned(LoginKind::Facebook),
                &["me", "accounts"],
                // Meta's pages are 25 long by default; a picker shows at most 8 anyway.
                &[
                    ("fields", "name,instagram_business_account{id,username}"),
                    ("limit", "100"),
                    ("access_token", token.expose_secret()),
                ],
            )
            .await
            .map_err(|e| scrub(e, &[token.expose_secret()]))?;
        let expires_in_days = long.expires_in.map(|left| left.num_days().max(1));
        Ok(pages
            .data
            .into_iter()
            .filter_map(|page| {
                let linked = page.instagram_business_account?;
                let instagram_id = InstagramUserId::new(&linked.id).ok()?;
                let username = linked.username.as_deref().and_then(|u| Username::new(u).ok());
                let name = page
                    .name
                    .filter(|n| !n.trim().is_empty())
                    .or(linked.username)
                    .unwrap_or_else(|| instagram_id.to_string());
                Some(LoginCandidate { instagram_id, username, name, token: token.clone(), expires_in_days })
            })
            .collect())
    }
}

#[async_trait]
impl MetaLogin for GraphApi {
    fn configured(&self, provider: LoginProvider) -> bool {
        self.app(provider).is_some()
    }

    fn authorize_url(
        &self,
        provider: LoginProvider,
        redirect_uri: &str,
        state: &str,
        challenge: &str,
    ) -> Option<String> {
        let app = self.app(provider)?;
        let mut url = self.dialog(provider)?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", &app.id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("response_type", "code")
                .append_pair("state", state);
            match provider {
                LoginProvider::Instagram => {
                    query.append_pair("scope", INSTAGRAM_SCOPES);
                }
                LoginProvider::Facebook => {
                    query
                        .append_pair("scope", FACEBOOK_SCOPES)
                        .append_pair("code_challenge", challenge)
                        .append_pair("code_challenge_method", "S256");
                }
                LoginProvider::Google => return None,
            }
        }
        Some(url.into())
    }

    async fn connect(
        &self,
        provider: LoginProvider,
        code: &SecretString,
        redirect_uri: &str,
        verifier: &SecretString,
    ) -> Result<Vec<LoginCandidate>, LoginError> {
        let app = self.app(provider).ok_or(LoginError::NotConfigured(provider.as_str()))?;
        let found = match provider {
            LoginProvider::Instagram => self.instagram_login(app, code.expose_secret(), redirect_uri).await,
            LoginProvider::Facebook => {
                self.facebook_login(app, code.expose_secret(), redirect_uri, verifier.expose_secret()).await
            }
            LoginProvider::Google => return Err(LoginError::NotConfigured("google")),
        };
        found.map_err(|e| {
            login_error(scrub(e, &[code.expose_secret(), verifier.expose_secret(), app.secret.expose_secret()]))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GraphConfig;

    fn api() -> anyhow::Result<GraphApi> {
        let app =
            |id: &str| FacebookApp { id: id.to_owned(), secret: SecretString::from("app-secret-0001".to_owned()) };
        GraphApi::new(GraphConfig {
            facebook_app: Some(app("111")),
            instagram_app: Some(app("222")),
            ..GraphConfig::default()
        })
    }

    #[test]
    fn the_links_go_to_meta_with_the_app_the_scopes_and_the_state() -> anyhow::Result<()> {
        let api = api()?;
        let redirect = "https://story.example.com/oauth/instagram/callback";
        let link =
            api.authorize_url(LoginProvider::Instagram, redirect, "ws.nonce.mac", "challenge").unwrap_or_default();
        let url = Url::parse(&link)?;
        assert_eq!(url.host_str(), Some("www.instagram.com"));
        assert_eq!(url.path(), "/oauth/authorize");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        for expected in [
            ("client_id", "222"),
            ("redirect_uri", redirect),
            ("response_type", "code"),
            ("state", "ws.nonce.mac"),
            ("scope", INSTAGRAM_SCOPES),
        ] {
            assert!(pairs.iter().any(|(k, v)| k == expected.0 && v == expected.1), "{expected:?} in {link}");
        }
        assert!(!link.contains("app-secret"), "{link}");
        let link = api.authorize_url(LoginProvider::Facebook, redirect, "s", "the-challenge").unwrap_or_default();
        assert!(link.starts_with("https://www.facebook.com/v21.0/dialog/oauth?client_id=111&"), "{link}");
        assert!(link.contains("code_challenge=the-challenge&code_challenge_method=S256"), "{link}");
        Ok(())
    }

    #[test]
    fn without_an_app_there_is_no_link() -> anyhow::Result<()> {
        let api = GraphApi::new(GraphConfig::default())?;
        assert!(!api.configured(LoginProvider::Instagram));
        assert_eq!(api.authorize_url(LoginProvider::Facebook, "https://x/cb", "s", "c"), None);
        Ok(())
    }
}
