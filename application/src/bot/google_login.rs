//! "Log in with Google" for a Drive media source (FEATURES M1, by login): the link beside the
//! Drive dialogue's questions, the callback that turns Google's code into a refresh token and
//! the folders at the top of My Drive, and the folder picked in the chat, which becomes the
//! workspace's source (read as that person, their refresh token sealed like any source secret).

use secrecy::SecretString;
use storyline_domain::chat::{Button, ButtonTarget, MessageId, PressId, Screen, Text};
use storyline_domain::login::{ChoiceAccount, LoginProvider, MAX_CHOICES, STATE_TTL_MINUTES};
use storyline_domain::reference::Reference;
use storyline_domain::source::SourceConfig;

use super::login::{failed, private_chat};
use super::{Bot, BotError, Login, LoginPage, Turn};
use crate::errors::warn_with_reference;
use crate::sources::{SetSourceError, switch_note};

impl Bot {
    /// The Drive dialogue's "or log in with Google": a link sent to the person privately (one
    /// attempt kept); returns the line for the chat, or `None` where Google login is off.
    pub(super) async fn google_link(&self, turn: &Turn) -> Result<Option<String>, BotError> {
        let (Ok(login), Some(member)) = (&self.login, &turn.from) else { return Ok(None) };
        let Some(google) = login.google.as_ref().filter(|g| g.configured()) else { return Ok(None) };
        let authorize = |redirect: &str, state: &str, challenge: &str| google.authorize_url(redirect, state, challenge);
        let now = self.ports.clock.now();
        let url = match login
            .keep_attempt(turn, LoginProvider::Google, member.user.telegram_id, None, now, authorize)
            .await
        {
            Ok(Some(url)) => url,
            Ok(None) => return Ok(None),
            Err(error) => {
                // The Drive questions go on without the link.
                tracing::warn!(error = %crate::errors::error_chain(&error), "could not keep a Google login; no link sent");
                return Ok(None);
            }
        };
        let text = Text::new().bold("📁 Drive by logging in").line().plain(format!(
            "Instead of a service account's key: log in with the Google account that can see the folder, then choose the folder in the chat. The link works once, for {STATE_TTL_MINUTES} minutes, and only for you."
        ));
        let links = Screen::new(text)
            .row(vec![Button { label: "🔑 Log in with Google".to_owned(), target: ButtonTarget::Link(url) }]);
        if turn.chat() == private_chat(member) {
            self.say(turn, links).await?;
            return Ok(Some("Or log in with Google: the link is above.".to_owned()));
        }
        Ok(Some(if self.sent_privately(member, &links).await {
            "Or log in with Google instead of a key: the login link is in your private chat with me.".to_owned()
        } else {
            "Or log in with Google: open my profile, press Start, and pick Google Drive again for the link.".to_owned()
        }))
    }

    /// Google sent the browser back with a code for this workspace: the folders to choose from
    /// go to the chat, the refresh token waits sealed.
    pub(super) async fn finish_google(
        &self,
        turn: &Turn,
        login: &Login,
        code: &SecretString,
        verifier: &SecretString,
    ) -> Result<LoginPage, BotError> {
        let Some(google) = &login.google else { return Ok(super::login::refuse("Google login is not set up here")) };
        let grant = match google.connect(code, &login.redirect_uri(LoginProvider::Google), verifier).await {
            Ok(grant) => grant,
            Err(error) => {
                let reference = warn_with_reference("Google did not complete a login", &error);
                return Ok(failed(
                    "Not connected",
                    format!(
                        "Google did not complete the login, so nothing changed. Start again from /settings in Telegram. (ref {reference})"
                    ),
                ));
            }
        };
        if grant.folders.is_empty() {
            let reference = Reference::new();
            tracing::info!(reference = %reference, "a Google login found no folder at the top of My Drive");
            return Ok(failed(
                "No folder found",
                format!(
                    "There is no folder at the top of this Google account's My Drive, so nothing changed. Make one there and move the media into it, then log in again. (ref {reference})"
                ),
            ));
        }
        let entries = grant
            .folders
            .iter()
            .map(|(id, name)| ChoiceAccount { id: id.clone(), username: None, name: name.chars().take(60).collect() })
            .collect();
        let found =
            match self.keep_choice(turn, login, LoginProvider::Google, entries, &grant.credentials, None).await? {
                Ok(found) => found,
                Err(page) => return Ok(page),
            };
        let cut = if found > MAX_CHOICES {
            format!(" The chat shows the first {MAX_CHOICES} by name; for another, use a service account's key.")
        } else {
            String::new()
        };
        Ok(LoginPage {
            connected: true,
            title: "Almost done",
            text: format!(
                "Logged in with Google. Choose the folder that holds the media in the Telegram chat (within {STATE_TTL_MINUTES} minutes).{cut} You can close this page."
            ),
        })
    }

    /// The folder chosen from a Google login's picker: the workspace's media source now, read
    /// as the person who logged in (tried with a listing first, as any source change).
    pub(super) async fn pick_folder(
        &self,
        turn: &Turn,
        press: &PressId,
        chosen: &ChoiceAccount,
        credentials: SecretString,
        message: Option<MessageId>,
    ) -> Result<(), BotError> {
        let Some((sources, _)) = &self.media else {
            self.ports.notifier.answer(press, "Media sources are not set up here.", true).await?;
            return Ok(());
        };
        self.ports.notifier.answer(press, "", false).await?;
        let config = SourceConfig::Drive { folder_id: chosen.id.clone() };
        let said = match sources.set(turn.workspace.id, &config, Some(credentials), &turn.actor()).await {
            Ok(switch) => {
                self.media_changed(turn.workspace.id);
                // The Drive dialogue's question (the folder id) is answered by the pick.
                if let Some(member) = &turn.from {
                    self.ports.conversations.clear(turn.workspace.id, member.user.telegram_id).await?;
                }
                let who = turn.from.as_ref().map_or_else(|| "Someone".to_owned(), |m| m.user.display_name());
                format!(
                    "🗂 {who} connected the Drive folder \"{}\" by logging in with Google: it is the media source now. {}",
                    chosen.name,
                    switch_note(&switch, "/sync for now")
                )
            }
            Err(SetSourceError::Store(error)) => return Err(error.into()),
            Err(refused) => format!(
                "⚠️ {refused}. Nothing changed; pick Google Drive in /settings → Change media source to try again."
            ),
        };
        self.show(turn, message, &Screen::new(said)).await
    }
}
