//! `GET /oauth/{instagram,facebook}/callback`: where Meta sends the browser back after a person
//! logged in (the redirect URIs to register in the Meta app). Only GET (anything else is a 405),
//! no body read, a URL longer than [`MAX_URL_BYTES`] refused with a 414. The page is plain HTML
//! that keeps nothing: no cache, no referrer (the URL holds the code), no scripts.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::SecretString;
use storyline_application::bot::{Bot, LoginCallback, LoginPage};

/// The longest callback URL taken: Meta's codes and Storyline's states are far shorter.
pub const MAX_URL_BYTES: usize = 4096;

/// The callback routes, answered by `bot`.
pub fn router(bot: Arc<Bot>) -> Router {
    // HEAD is answered by `get` unless said otherwise: a link scanner's HEAD must not use up a
    // state or send a code to Meta.
    let head = || async { (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET")]).into_response() };
    Router::new().route("/oauth/{provider}/callback", get(callback).head(head)).with_state(bot)
}

async fn callback(
    State(bot): State<Arc<Bot>>,
    uri: Uri,
    provider: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    // Measured before the query is parsed.
    if uri.path().len() + uri.query().map_or(0, str::len) > MAX_URL_BYTES {
        return (StatusCode::URI_TOO_LONG, "too long").into_response();
    }
    let provider = provider.map(|Path(p)| p).unwrap_or_default();
    let mut query = Query::<HashMap<String, String>>::try_from_uri(&uri).map(|Query(q)| q).unwrap_or_default();
    let callback = LoginCallback {
        state: query.remove("state"),
        code: query.remove("code").map(SecretString::from),
        error: query.remove("error"),
    };
    page(&bot.finish_login(&provider, callback).await)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(page: &LoginPage) -> Response {
    let status = if page.connected { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let title = escape(page.title);
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Storyline — {title}</title></head><body style=\"font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em\"><h1>{title}</h1><p>{}</p></body></html>",
        escape(&page.text)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_what_it_shows() {
        assert_eq!(escape("<b>\"@a&b'</b>"), "&lt;b&gt;&quot;@a&amp;b&#39;&lt;/b&gt;");
    }
}
