//! `POST {path of WEBHOOK_URL}`: Telegram's webhook requests, handed to the Telegram adapter's
//! [`Webhook`]. Only POST; the secret token is checked before the body is read; a body over
//! [`MAX_BODY_BYTES`] is a 413; the answer goes out as soon as the update is claimed (it is
//! handled after).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use secrecy::SecretString;
use serde_json::json;
use storyline_crypto::Keyring;
use storyline_telegram::webhook::{MAX_BODY_BYTES, Receipt, WebhookInfo, set_webhook, webhook_info};
use storyline_telegram::{TelegramBot, Webhook};

use crate::config::{WebhookConfig, shown_url};
use crate::loops::{LoopHealth, Section};
use crate::wiring::App;

/// The header Telegram puts the secret token in.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The webhook route on `path`.
pub fn router(webhook: Arc<Webhook>, path: &str) -> Router {
    Router::new().route(path, post(receive)).with_state(webhook)
}

async fn receive(State(webhook): State<Arc<Webhook>>, request: Request) -> Response {
    let secret = request.headers().get(SECRET_HEADER).map(|value| value.as_bytes().to_vec());
    if !webhook.authorized(secret.as_deref()) {
        // Counted, and refused before a byte of the body is read.
        return answer(webhook.receive(secret.as_deref(), b"").await);
    }
    let body = match axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(error) => {
            tracing::warn!(error = %error, limit = MAX_BODY_BYTES, "a webhook request too large or cut short");
            return (StatusCode::PAYLOAD_TOO_LARGE, "too large").into_response();
        }
    };
    answer(webhook.receive(secret.as_deref(), &body).await)
}

fn answer(receipt: Receipt) -> Response {
    let status = StatusCode::from_u16(receipt.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = match receipt {
        Receipt::Accepted | Receipt::Duplicate | Receipt::Ignored => "ok",
        Receipt::Unauthorized => "unauthorized",
        Receipt::Malformed => "not an update",
        Receipt::Busy => "busy, send it again later",
    };
    (status, text).into_response()
}

/// The secret token: `WEBHOOK_SECRET`, else the one kept in the database for this bot (made by
/// the first process that started in webhook mode), so every replica expects the same.
///
/// # Errors
/// When the database cannot be read or written.
pub async fn secret(app: &App, hook: &WebhookConfig, bot_id: i64) -> anyhow::Result<SecretString> {
    if let Some(secret) = &hook.secret {
        return Ok(secret.clone());
    }
    let stored = app.stores.cursor.webhook_secret(bot_id, &Keyring::webhook_secret(), app.clock.now()).await?;
    Ok(SecretString::from(stored))
}

/// How often Telegram is asked whether the webhook still points here.
pub const CHECK_EVERY: Duration = Duration::from_secs(60);

/// The webhook's check: a loop (every [`CHECK_EVERY`]) that asks Telegram where updates go,
/// sets the webhook again when it points elsewhere (or was never set, Telegram being away at
/// start), and keeps what Telegram said for `/healthz`.
#[derive(Clone)]
pub struct Checking {
    api: TelegramBot,
    url: String,
    secret: SecretString,
    webhook: Arc<Webhook>,
    pub health: Arc<LoopHealth>,
    told: Arc<Mutex<Option<WebhookInfo>>>,
}

impl std::fmt::Debug for Checking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checking").field("url", &shown_url(&self.url)).finish_non_exhaustive()
    }
}

impl Checking {
    #[must_use]
    pub fn new(api: TelegramBot, url: String, secret: SecretString, webhook: Arc<Webhook>) -> Self {
        Self {
            api,
            url,
            secret,
            webhook,
            health: LoopHealth::new("telegram_webhook", CHECK_EVERY),
            told: Arc::default(),
        }
    }

    /// One check.
    ///
    /// # Errors
    /// When Telegram cannot be asked, or refuses to set the webhook again.
    pub async fn check(self) -> anyhow::Result<()> {
        let mut info =
            webhook_info(&self.api).await.map_err(|error| anyhow::anyhow!("getWebhookInfo failed: {error}"))?;
        if info.url != self.url {
            let was = if info.url.is_empty() { "nowhere".to_owned() } else { shown_url(&info.url) };
            set_webhook(&self.api, &self.url, &self.secret).await?;
            tracing::warn!(was = %was, "the webhook pointed elsewhere; set it again");
            info = webhook_info(&self.api).await.map_err(|error| anyhow::anyhow!("getWebhookInfo failed: {error}"))?;
        }
        *self.told.lock().unwrap_or_else(PoisonError::into_inner) = Some(info);
        Ok(())
    }

    /// The `webhook` part of `/healthz`: where Telegram sends updates, what it last said, and
    /// what this process received. Neither the URL's path nor the secret is shown.
    #[must_use]
    pub fn section(&self) -> Section {
        let (told, webhook, url) = (self.told.clone(), self.webhook.clone(), self.url.clone());
        Arc::new(move || {
            let told = told.lock().unwrap_or_else(PoisonError::into_inner).clone();
            let counts = webhook.counts();
            json!({
                "url": shown_url(&url),
                "registered": told.as_ref().map(|info| info.url == url),
                "pending_updates": told.as_ref().map(|info| info.pending_updates),
                "telegram_last_error": told.as_ref().and_then(|info| info.last_error.clone()),
                "accepted": counts.accepted,
                "duplicates": counts.duplicates,
                "unauthorized": counts.unauthorized,
                "malformed": counts.malformed,
                "busy": counts.busy,
            })
        })
    }
}
