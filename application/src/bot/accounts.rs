//! The account picker and the add-account dialogue (FEATURES A2, A3).

use storyline_domain::account::{DisplayName, InstagramUserId, parse_token};
use storyline_domain::chat::{MessageId, PressId, Screen};
use storyline_domain::conversation::PromptKind;
use storyline_domain::ports::{AccountError, NotifyError};

use super::{Bot, BotError, Event, Incoming, Turn, answers, screens};
use crate::access::Operation;
use crate::accounts::{AddAccount, AddError};
use crate::action::Action;

const NO_ACCOUNTS: &str = "Instagram accounts are not set up in this deployment.";
const ANSWER_FORMAT: &str = "Send: display name | Instagram account id | access token [| days until it expires].";

/// A typed account: `name | id | token [| days]`, or the same one per line.
fn parse_account(text: &str) -> Result<AddAccount, String> {
    let parts: Vec<&str> = text.split(['|', '\n']).map(str::trim).filter(|p| !p.is_empty()).collect();
    let (name, id, token, days) = match parts.as_slice() {
        [name, id, token] => (*name, *id, *token, None),
        [name, id, token, days] => (*name, *id, *token, Some(*days)),
        _ => return Err(format!("That is not three or four parts. {ANSWER_FORMAT}")),
    };
    let display_name = DisplayName::new(name).map_err(|e| format!("Display name: {e}."))?;
    let instagram_id = InstagramUserId::new(id).map_err(|e| format!("Account id: {e}."))?;
    let token = parse_token(token).map_err(|e| format!("Token: {e}."))?;
    let expires_in_days = match days {
        None => None,
        Some(days) => Some(
            days.parse::<i64>()
                .ok()
                .filter(|d| (1..=storyline_domain::account::MAX_EXPIRES_IN_DAYS).contains(d))
                .ok_or_else(|| "Days until expiry: a whole number from 1 to 365.".to_owned())?,
        ),
    };
    Ok(AddAccount {
        display_name,
        instagram_id,
        username: None,
        token,
        expires_in_days,
        login: None,
        make_active: false,
    })
}

impl Bot {
    /// A message in a private chat with the bot from someone whose add-account prompt is waiting
    /// in the team's workspace: the safer place to send a token (FEATURES A3). Returns whether it
    /// was one.
    pub(super) async fn private_account_answer(&self, incoming: &Incoming) -> Result<bool, BotError> {
        let (Some(user), Event::Text { text, message }) = (&incoming.from, &incoming.event) else {
            return Ok(false);
        };
        if incoming.chat.0 != user.telegram_id.0 || (self.accounts.is_none() && self.media.is_none()) {
            return Ok(false);
        }
        let now = self.ports.clock.now();
        // The person's newest prompt, in the team's workspace (single-team mode) or any.
        let Some((workspace, waiting)) = self.ports.conversations.newest_anywhere(user.telegram_id, now).await? else {
            return Ok(false);
        };
        if self.config.team_chat.is_some_and(|team| team != workspace.chat_id) {
            return Ok(false);
        }
        // The add-account dialogue, and the media source dialogue (whose secret comes here).
        if !((waiting.kind == PromptKind::InstagramAccount && self.accounts.is_some())
            || (waiting.kind.is_source() && self.media.is_some()))
        {
            return Ok(false);
        }
        let member = self.contact(workspace.id, user, now).await?;
        let turn = Turn { workspace, from: Some(member), chat: incoming.chat };
        if waiting.kind.is_source() {
            self.source_answer(&turn, waiting, text, *message).await?;
        } else {
            self.account_answer(&turn, text, *message).await?;
        }
        Ok(true)
    }

    /// Deletes a message that may carry a token; says so when it could not, and, with
    /// `unasked`, tells how tokens are meant to be sent.
    pub(super) async fn delete_token_message(
        &self,
        turn: &Turn,
        message: MessageId,
        unasked: bool,
    ) -> Result<(), BotError> {
        match self.ports.notifier.delete(turn.chat(), message).await {
            Ok(()) | Err(NotifyError::MessageGone) => {
                if unasked {
                    let said = "🔒 That message looked like an access token, so I deleted it. To add an Instagram account use /settings → Instagram account → Add account (answer in a private chat with me), or `storyline add-instagram-account` on the server. If anyone could have read it, get a new token.";
                    self.say(turn, said).await?;
                }
            }
            Err(error) => {
                tracing::warn!(error = %crate::errors::error_chain(&error), "could not delete a message that may carry a token");
                let said = "⚠️ I could not delete a message that may carry a token (I need the right to delete messages). Delete it yourself now, and if anyone could have read it, get a new token.";
                self.say(turn, said).await?;
            }
        }
        Ok(())
    }

    pub(super) async fn account_press(
        &self,
        turn: &Turn,
        press: &PressId,
        action: Action,
        message: Option<MessageId>,
    ) -> Result<(), BotError> {
        let Some(accounts) = &self.accounts else {
            self.ports.notifier.answer(press, NO_ACCOUNTS, true).await?;
            return Ok(());
        };
        match action {
            Action::SelectAccount(id) => match accounts.switch(turn.workspace.id, id, &turn.actor()).await {
                Ok(account) => {
                    self.accounts_changed(turn.workspace.id);
                    let note = format!("Switched to {}", account.label());
                    let screen = self.settings_screen(turn).await?;
                    let (answered, shown) = crate::concurrently::both(
                        self.ports.notifier.answer(press, &note, false),
                        self.show(turn, message, &screen),
                    )
                    .await;
                    answered?;
                    shown
                }
                Err(AccountError::NotFound) => {
                    let note = "That account is not in this workspace any more; nothing changed.";
                    self.ports.notifier.answer(press, note, true).await?;
                    Ok(())
                }
                Err(AccountError::Disabled(label)) => {
                    let note = format!("{label} is disabled; nothing changed. Reactivate it first.");
                    self.ports.notifier.answer(press, &note, true).await?;
                    Ok(())
                }
                Err(other) => Err(other.into()),
            },
            Action::AddAccount => self.add_account_press(turn, press, message).await,
            Action::PasteToken => self.token_prompt(turn, press, message, None).await,
            Action::Reconnect(account) => self.reconnect_press(turn, press, account, message).await,
            Action::PickLogin(choice, index) => self.pick_login(turn, press, choice, index, message).await,
            _ => {
                self.ports.notifier.answer(press, "", false).await?;
                let views = accounts.overview(turn.workspace.id).await?;
                self.show(turn, message, &screens::account_picker(&turn.workspace, &views)).await
            }
        }
    }

    /// The answer to the add-account prompt. The message may carry a token: it is deleted
    /// first, whatever it says.
    pub(super) async fn account_answer(&self, turn: &Turn, text: &str, message: MessageId) -> Result<(), BotError> {
        let Some(member) = &turn.from else { return Ok(()) };
        let user = member.user.telegram_id;
        self.delete_token_message(turn, message, false).await?;
        if answers::is_cancel(text) {
            return self.cancel_prompt(turn).await;
        }
        let Some(accounts) = &self.accounts else {
            self.ports.conversations.clear(turn.workspace.id, user).await?;
            return self.say(turn, NO_ACCOUNTS).await.map(|_| ());
        };
        if let Err(refusal) = self.allowed(turn, Operation::Answer(PromptKind::InstagramAccount)).await {
            self.ports.conversations.clear(turn.workspace.id, user).await?;
            return self.say(turn, refusal).await.map(|_| ());
        }
        let input = match parse_account(text) {
            Ok(input) => input,
            Err(problem) => {
                let said = format!("{problem} Nothing was saved; try again, or send cancel.");
                return self.say(turn, said).await.map(|_| ());
            }
        };
        let said = match accounts.add(turn.workspace.id, input, &turn.actor()).await {
            Ok(added) => {
                self.accounts_changed(turn.workspace.id);
                self.ports.conversations.clear(turn.workspace.id, user).await?;
                if turn.chat() != turn.workspace.chat_id {
                    let note = format!(
                        "✅ {} added the Instagram account {}.",
                        member.user.display_name(),
                        added.added.account.label()
                    );
                    self.ports.notifier.send(turn.workspace.chat_id, &Screen::new(note)).await?;
                }
                let mut said = format!("✅ Added {}.", added.added.account.label());
                said.push_str(if added.added.active {
                    " It is the active account now."
                } else {
                    " Switch to it in /settings → Instagram account."
                });
                if let Some(note) = added.lookup_note {
                    said.push(' ');
                    said.push_str(&note);
                }
                said
            }
            Err(AddError::Account(AccountError::Exists(label))) => {
                self.ports.conversations.clear(turn.workspace.id, user).await?;
                format!("{label} is already added; nothing changed.")
            }
            Err(AddError::Account(AccountError::Vault(error))) => {
                self.ports.conversations.clear(turn.workspace.id, user).await?;
                tracing::warn!(error = %crate::errors::error_chain(&error), "could not seal a token");
                "Tokens cannot be stored here: the server has no ENCRYPTION_KEY. Nothing was saved.".to_owned()
            }
            Err(AddError::Account(other)) => return Err(other.into()),
            Err(refused) => format!("{refused}. Nothing was saved; try again, or send cancel."),
        };
        self.say(turn, said).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn an_account_is_read_from_bars_or_lines() -> Result<(), String> {
        let input = parse_account("Main Brand | 17841400000000000 | IGAAB1234567890abcdefXYZ | 60")?;
        assert_eq!(input.display_name.as_str(), "Main Brand");
        assert_eq!(input.instagram_id.as_str(), "17841400000000000");
        assert_eq!(input.token.expose_secret(), "IGAAB1234567890abcdefXYZ");
        assert_eq!(input.expires_in_days, Some(60));
        let lines = parse_account("Promo\n17841400000000001\nEAAB1234567890abcdefXYZ")?;
        assert_eq!(lines.expires_in_days, None);
        Ok(())
    }

    #[test]
    fn a_bad_answer_says_what_is_allowed_and_never_echoes_the_token() {
        let cases = [
            ("just one part", "three or four parts"),
            ("Main | brand_main | IGAAB1234567890abcdefXYZ", "Account id"),
            ("Main | 1784 | short", "Token"),
            ("Main | 1784 | IGAAB1234567890abcdefXYZ | 900", "1 to 365"),
        ];
        for (typed, expected) in cases {
            let problem = parse_account(typed).err().unwrap_or_default();
            assert!(problem.contains(expected), "{typed:?} → {problem:?}");
            assert!(!problem.contains("IGAAB"), "{problem:?}");
        }
    }
}
