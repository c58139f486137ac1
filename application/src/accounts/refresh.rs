//! The daily token refresh (FEATURES A6): refresh what is close to expiry, and tell each
//! workspace's chat once about a token that fails to refresh, expires soon, or is dead.

use chrono::Duration;
use storyline_domain::account::{Account, MAX_EXPIRES_IN_DAYS, NewToken, TokenNotice, TokenStatus, needs_refresh};
use storyline_domain::chat::{Screen, Text};
use storyline_domain::ports::{ChatNotifier, PublishError, StoreError, TokenDue, VaultError};

use super::{AccountService, locked_token};
use crate::errors::error_chain;

/// What one run of the refresh job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RefreshReport {
    pub checked: u32,
    pub refreshed: u32,
    pub failed: u32,
    /// Messages sent to chats (each problem once).
    pub announced: u32,
}

impl AccountService {
    /// The daily refresh job (FEATURES A6): refreshes every enabled account's token that is
    /// close to its expiry (Instagram Login tokens only once 24 h old), and tells each
    /// workspace's chat once about a token that fails to refresh, expires within 3 days, or is
    /// dead.
    ///
    /// # Errors
    /// When the vault cannot list tokens; a failure with one token is reported and the run goes
    /// on.
    pub async fn refresh_tokens(&self, notifier: &dyn ChatNotifier) -> Result<RefreshReport, StoreError> {
        let mut report = RefreshReport::default();
        for due in self.vault.all_tokens().await? {
            report.checked += 1;
            let outcome = self.refresh_one(&due).await;
            let notice = match outcome {
                Refreshed::Yes => {
                    report.refreshed += 1;
                    continue;
                }
                Refreshed::Failed(notice) => {
                    report.failed += 1;
                    Some(notice)
                }
                Refreshed::Locked => {
                    report.failed += 1;
                    let screen = Screen::new(
                        Text::new().bold("⚠️ Could not refresh an Instagram token.").line().plain(format!(
                            "{} Until then, stories go to this chat for manual posting. This is said once.",
                            capitalized(&locked_token(&due.account.label()))
                        )),
                    );
                    if self.announce(notifier, &due, TokenNotice::RefreshFailed, screen).await {
                        report.announced += 1;
                    }
                    continue;
                }
                Refreshed::NotNeeded => match due.info.status(self.clock.now()) {
                    TokenStatus::Expired | TokenStatus::Refused => Some(TokenNotice::Dead),
                    TokenStatus::ExpiresSoon(_) => Some(TokenNotice::Expiring),
                    _ => None,
                },
            };
            let Some(notice) = notice else { continue };
            let screen = token_notice_screen(&due.account, notice, due.info.status(self.clock.now()));
            if self.announce(notifier, &due, notice, screen).await {
                report.announced += 1;
            }
        }
        Ok(report)
    }

    async fn refresh_one(&self, due: &TokenDue) -> Refreshed {
        let now = self.clock.now();
        if !needs_refresh(due.account.login, &due.info, now) {
            return Refreshed::NotNeeded;
        }
        let credential = match self.vault.credential(due.workspace, due.account.id).await {
            Ok(Some(credential)) => credential,
            Ok(None) => return Refreshed::NotNeeded,
            Err(VaultError::Store(error)) => {
                tracing::error!(error = %error_chain(&error), account = %due.account.id, "could not read a token to refresh it");
                return Refreshed::Failed(TokenNotice::RefreshFailed);
            }
            Err(error) => {
                tracing::error!(error = %error_chain(&error), account = %due.account.id, "could not open a token to refresh it");
                return Refreshed::Locked;
            }
        };
        match self.publisher.refresh(due.account.login, &credential.token).await {
            Ok(fresh) => {
                // Meta's tokens live 60 days; an absurd answer is capped rather than trusted.
                let expires_at = fresh
                    .expires_in
                    .map(|lifetime| now + lifetime.clamp(Duration::zero(), Duration::days(MAX_EXPIRES_IN_DAYS)));
                // Meta handed it out: checked.
                let token = NewToken { token: fresh.token, expires_at, checked: true };
                match self.vault.put(due.workspace, due.account.id, &token, now).await {
                    Ok(()) => {
                        tracing::info!(account = %due.account.id, expires_at = ?token.expires_at, "refreshed an Instagram token");
                        Refreshed::Yes
                    }
                    Err(error) => {
                        tracing::error!(error = %error_chain(&error), account = %due.account.id, "could not store a refreshed token");
                        Refreshed::Failed(TokenNotice::RefreshFailed)
                    }
                }
            }
            Err(PublishError::TokenInvalid(why)) => {
                tracing::warn!(account = %due.account.id, error = %why, "Meta refused to refresh a token: it is invalid");
                Refreshed::Failed(TokenNotice::Dead)
            }
            Err(error) => {
                tracing::warn!(account = %due.account.id, error = %error, "could not refresh an Instagram token");
                Refreshed::Failed(TokenNotice::RefreshFailed)
            }
        }
    }

    /// Tells the chat about `notice` unless it was told already; returns whether it told.
    async fn announce(&self, notifier: &dyn ChatNotifier, due: &TokenDue, notice: TokenNotice, screen: Screen) -> bool {
        match self.vault.set_notice(due.workspace, due.account.id, Some(notice)).await {
            Ok(Some(previous)) if previous == notice => return false,
            Ok(_) => {}
            Err(error) => {
                tracing::error!(error = %error_chain(&error), "could not record a token notice; not announcing it");
                return false;
            }
        }
        if let Err(error) = notifier.send(due.chat, &screen).await {
            // Not told: forget the notice so the next run tells it.
            tracing::warn!(error = %error_chain(&error), "could not announce a token problem; will try again next run");
            if let Err(error) = self.vault.set_notice(due.workspace, due.account.id, due.info.notice).await {
                tracing::error!(error = %error_chain(&error), "could not restore a token notice");
            }
            return false;
        }
        true
    }
}

enum Refreshed {
    Yes,
    NotNeeded,
    Failed(TokenNotice),
    /// The token does not open with the configured key.
    Locked,
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// What the chat is told about a token problem.
#[must_use]
pub fn token_notice_screen(account: &Account, notice: TokenNotice, status: TokenStatus) -> Screen {
    let headline = match notice {
        TokenNotice::Expiring => format!("⚠️ The Instagram token of {} expires soon ({status}).", account.label()),
        TokenNotice::RefreshFailed => {
            format!("⚠️ Could not refresh the Instagram token of {} ({status}).", account.label())
        }
        TokenNotice::Dead => format!("⛔ The Instagram token of {} is expired or invalid.", account.label()),
    };
    Screen::new(
        Text::new()
            .bold(headline)
            .line()
            .plain("Until it is replaced, stories go to this chat for manual posting. Replace it with ")
            .code("storyline set-instagram-token")
            .plain(" on the server. This is said once."),
    )
}
