//! "Add account → Log in with Instagram / Facebook": the login links, and the callback that
//! turns Meta's answer into an account (FEATURES A3, by login). No token is ever shown to a
//! person, written in a URL Storyline makes, or logged.
//!
//! - The press makes one attempt per configured provider: a signed `state` naming the
//!   workspace, kept in the store with the person who pressed, single-use, for
//!   [`STATE_TTL_MINUTES`].
//! - The callback checks the signature first (constant time), then takes the attempt (once),
//!   its expiry, and whether the person may still add accounts (the same rule as the button);
//!   only then is Meta asked. A refusal is one generic page; its cause goes to the log with a
//!   reference.
//! - The account is added as `add-instagram-account` adds one (the same duplicate rule, the
//!   only account becomes active, audited); an account already here gets the new token instead
//!   (reconnecting keeps its history).

use std::sync::Arc;

use secrecy::SecretString;
use storyline_domain::Workspace;
use storyline_domain::account::{Account, AccountId, DisplayName, InstagramUserId, Username};
use storyline_domain::chat::{Button, ButtonTarget, MessageId, PressId, Screen, Text};
use storyline_domain::login::{
    ChoiceAccount, ChoiceId, LoginAttempt, LoginCandidate, LoginChoice, LoginProvider, MAX_CHOICES, STATE_TTL_MINUTES,
    choice_binding,
};
use storyline_domain::ports::{AccountError, GoogleLogin, LoginAttempts, MetaLogin, StateSigner, TokenCipher};
use storyline_domain::reference::Reference;

use super::{Bot, BotError, Turn, screens};
use crate::access::Operation;
use crate::accounts::{AddAccount, AddError};
use crate::action::Action;
use crate::errors::warn_with_reference;

/// What logging in needs: the store of attempts, the state signer, Meta, and the public
/// address Meta sends the browser back to.
#[derive(Clone)]
pub struct Login {
    pub attempts: Arc<dyn LoginAttempts>,
    pub signer: Arc<dyn StateSigner>,
    pub meta: Arc<dyn MetaLogin>,
    /// Seals the token a login's picker waits with.
    pub cipher: Arc<dyn TokenCipher>,
    /// "Log in with Google" for a Drive media source, when a Google client is configured.
    pub google: Option<Arc<dyn GoogleLogin>>,
    /// `PUBLIC_BASE_URL`, without a trailing `/`.
    pub public_base: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login").field("public_base", &self.public_base).finish_non_exhaustive()
    }
}

impl Login {
    /// Where Meta sends the browser back after a login with `provider`.
    #[must_use]
    pub fn redirect_uri(&self, provider: LoginProvider) -> String {
        format!("{}{}", self.public_base.trim_end_matches('/'), provider.callback_path())
    }

    /// Keeps a login with `provider` for `user` of `turn`'s workspace (to give `reconnect` a
    /// new token, if set) and returns its link, made by `authorize` from the redirect URI, the
    /// signed state and the PKCE challenge; `None` (nothing kept) when `authorize` makes none.
    ///
    /// # Errors
    /// When the store fails.
    pub(super) async fn keep_attempt(
        &self,
        turn: &Turn,
        provider: LoginProvider,
        user: storyline_domain::user::TelegramUserId,
        reconnect: Option<AccountId>,
        now: chrono::DateTime<chrono::Utc>,
        authorize: impl FnOnce(&str, &str, &str) -> Option<String>,
    ) -> Result<Option<String>, storyline_domain::ports::StoreError> {
        let issued = self.signer.issue(turn.workspace.id);
        let Some(url) = authorize(&self.redirect_uri(provider), &issued.state, &issued.challenge) else {
            return Ok(None);
        };
        let attempt = LoginAttempt {
            provider,
            user,
            chat: turn.workspace.chat_id,
            reconnect,
            verifier: issued.verifier,
            expires_at: now + chrono::Duration::minutes(STATE_TTL_MINUTES),
        };
        self.attempts.begin(turn.workspace.id, &issued.nonce, &attempt, now).await?;
        Ok(Some(url))
    }

    fn providers(&self) -> Vec<LoginProvider> {
        LoginProvider::ALL.into_iter().filter(|p| p.login_kind().is_some() && self.meta.configured(*p)).collect()
    }
}

/// What Meta's redirect brought: untrusted, every field.
#[derive(Debug, Default)]
pub struct LoginCallback {
    pub state: Option<String>,
    /// `Debug` never shows it.
    pub code: Option<SecretString>,
    /// Meta's `error` (`access_denied` when the person said no).
    pub error: Option<String>,
}

/// The page the browser is shown after a callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginPage {
    /// Whether an account was connected.
    pub connected: bool,
    pub title: &'static str,
    pub text: String,
}

/// Refuses with the one page every refused callback gets, whatever was wrong (a stranger learns
/// nothing); `why` goes to the log under the page's reference.
pub(super) fn refuse(why: &str) -> LoginPage {
    let reference = Reference::new();
    tracing::warn!(reference = %reference, "a login callback was refused: {why}");
    LoginPage {
        connected: false,
        title: "This login link does not work",
        text: format!(
            "The link is used, expired, or not for you. Nothing was connected. Start again in Telegram: /settings → Instagram account → Add account. (ref {reference})"
        ),
    }
}

pub(super) fn failed(title: &'static str, text: String) -> LoginPage {
    LoginPage { connected: false, title, text }
}

/// A display name from what Meta said (the account's or Page's name), cut to what fits.
fn display_name(candidate: &LoginCandidate) -> Option<DisplayName> {
    let cut: String = candidate.name.chars().take(64).collect();
    DisplayName::new(&cut).ok().or_else(|| DisplayName::new(candidate.instagram_id.as_str()).ok())
}

impl Bot {
    /// Adds logging in to the add-account dialogue; without it (or with `off`) the dialogue
    /// asks for a token and says why logging in is off.
    #[must_use]
    pub fn with_login(mut self, login: Result<Login, String>) -> Self {
        self.login = login;
        self
    }

    /// "Add account": the login links when logging in is possible here, else the token prompt.
    pub(super) async fn add_account_press(
        &self,
        turn: &Turn,
        press: &PressId,
        message: Option<MessageId>,
    ) -> Result<(), BotError> {
        if turn.from.is_none() {
            self.ports.notifier.answer(press, "Adding an account needs a person to answer.", true).await?;
            return Ok(());
        }
        match self.login_links(turn, None).await? {
            Ok(links) => {
                self.ports.notifier.answer(press, "", false).await?;
                let shown = self.deliver_links(turn, links, None).await?;
                self.show(turn, message, &shown).await
            }
            Err(why) => self.token_prompt(turn, press, message, Some(&why)).await,
        }
    }

    /// Sends login links to the person who asked, in their private chat with the bot: whoever
    /// opens a link connects their own Instagram account in that person's name, so a link is
    /// never shown to a group. Returns what the chat of `turn` is shown instead (the links
    /// themselves when the turn is that private chat).
    pub(super) async fn deliver_links(
        &self,
        turn: &Turn,
        links: Screen,
        reconnect: Option<&Account>,
    ) -> Result<Screen, BotError> {
        let Some(member) = &turn.from else { return Ok(Screen::new("Adding an account needs a person to answer.")) };
        if turn.chat() == private_chat(member) {
            return Ok(links);
        }
        let person = member.user.display_name();
        let text = if self.sent_privately(member, &links).await {
            format!(
                "🔑 {person}: the login link is in your private chat with me. It works once, for {STATE_TTL_MINUTES} minutes, and only for you."
            )
        } else {
            format!(
                "🔑 {person}: I cannot write to you privately yet. Open my profile, press Start, then press the button again. The link goes only to you: whoever opens it connects their Instagram account in your name."
            )
        };
        let mut screen = Screen::new(text);
        if reconnect.is_none() {
            screen = screen.row(vec![screens::button("✍️ Paste a token instead", Action::PasteToken, &turn.workspace)]);
        }
        Ok(screen.row(vec![screens::button("🔙 Back", Action::Accounts, &turn.workspace)]))
    }

    /// "Reconnect" on an account whose token is dead: the login link of its kind, whose login
    /// gives it a new token.
    pub(super) async fn reconnect_press(
        &self,
        turn: &Turn,
        press: &PressId,
        account: AccountId,
        message: Option<MessageId>,
    ) -> Result<(), BotError> {
        let Some(accounts) = &self.accounts else { return Ok(()) };
        let Some(found) = accounts.store().account(turn.workspace.id, account).await? else {
            let note = "That account is not in this workspace any more; nothing changed.";
            self.ports.notifier.answer(press, note, true).await?;
            return Ok(());
        };
        match self.login_links(turn, Some(&found)).await? {
            Ok(links) => {
                self.ports.notifier.answer(press, "", false).await?;
                let shown = self.deliver_links(turn, links, Some(&found)).await?;
                self.show(turn, message, &shown).await
            }
            Err(why) => {
                let note = format!(
                    "Logging in at Meta is off here ({why}): give {} a new token with `storyline set-instagram-token` on the server.",
                    found.label()
                );
                self.ports.notifier.answer(press, "", false).await?;
                self.say(turn, note).await.map(|_| ())
            }
        }
    }

    /// The login links for the person of `turn` (one attempt kept per provider; for
    /// `reconnect`, its own kind of login only), or why logging in is off here.
    pub(super) async fn login_links(
        &self,
        turn: &Turn,
        reconnect: Option<&Account>,
    ) -> Result<Result<Screen, String>, BotError> {
        let Some(member) = &turn.from else { return Ok(Err("a channel post has no person to log in".to_owned())) };
        let login = match &self.login {
            Ok(login) if !login.providers().is_empty() => login,
            Ok(_) => return Ok(Err("no Meta app is configured".to_owned())),
            Err(why) => return Ok(Err(why.clone())),
        };
        let providers: Vec<LoginProvider> = login
            .providers()
            .into_iter()
            .filter(|p| reconnect.is_none_or(|account| p.login_kind() == Some(account.login)))
            .collect();
        if providers.is_empty() {
            return Ok(Err("no Meta app is configured for this account's kind of login".to_owned()));
        }
        let now = self.ports.clock.now();
        let mut links = Vec::new();
        for provider in providers {
            let authorize = |redirect: &str, state: &str, challenge: &str| {
                login.meta.authorize_url(provider, redirect, state, challenge)
            };
            let user = member.user.telegram_id;
            if let Some(url) = login.keep_attempt(turn, provider, user, reconnect.map(|a| a.id), now, authorize).await?
            {
                links.push((provider, url));
            }
        }
        Ok(Ok(login_screen(&links, &member.user.display_name(), reconnect)))
    }

    /// The paste-a-token dialogue (FEATURES A3), with why logging in is not offered, if it is not.
    pub(super) async fn token_prompt(
        &self,
        turn: &Turn,
        press: &PressId,
        message: Option<MessageId>,
        login_off: Option<&str>,
    ) -> Result<(), BotError> {
        let Some(member) = &turn.from else {
            self.ports.notifier.answer(press, "Adding an account needs a person to answer.", true).await?;
            return Ok(());
        };
        let prompt = storyline_domain::conversation::PendingPrompt::new(
            member.user.telegram_id,
            storyline_domain::conversation::PromptKind::InstagramAccount,
            message.map(|m| m.0),
            self.ports.clock.now(),
        );
        self.ports.conversations.put(turn.workspace.id, &prompt).await?;
        self.ports.notifier.answer(press, "Send the account as your next message", false).await?;
        self.say(turn, screens::add_account_prompt(login_off)).await.map(|_| ())
    }

    /// Meta sent the browser back to `/oauth/{provider}/callback` with `callback`: checks it,
    /// connects the account, tells the chat, and says what to show the browser. Never fails:
    /// every problem is a page (and, for the server's own failures, a log line).
    pub async fn finish_login(&self, provider: &str, callback: LoginCallback) -> LoginPage {
        match self.try_finish_login(provider, callback).await {
            Ok(page) => page,
            Err(error) => {
                let reference = warn_with_reference("a login callback failed", &error);
                failed(
                    "Something went wrong",
                    format!("Nothing was connected; try again in a minute. (ref {reference})"),
                )
            }
        }
    }

    async fn try_finish_login(&self, provider: &str, callback: LoginCallback) -> Result<LoginPage, BotError> {
        let Ok(login) = &self.login else { return Ok(refuse("logging in is not set up here")) };
        let Some(provider) = LoginProvider::parse(provider) else { return Ok(refuse("unknown provider")) };
        // The signature first, in constant time: nothing is looked up for a state not made here.
        let Some((workspace_id, nonce)) = callback.state.as_deref().and_then(|s| login.signer.open(s)) else {
            return Ok(refuse("the state is missing or not signed by this deployment"));
        };
        let Some(attempt) = login.attempts.take(workspace_id, &nonce).await? else {
            return Ok(refuse("the state was used already, or never issued"));
        };
        let now = self.ports.clock.now();
        if attempt.expires_at < now {
            return Ok(refuse("the state expired"));
        }
        if attempt.provider != provider {
            return Ok(refuse("the state was made for another provider"));
        }
        if let Some(error) = callback.error.as_deref() {
            let shown: String = error.chars().filter(char::is_ascii_graphic).take(64).collect();
            let reference = Reference::new();
            tracing::info!(reference = %reference, workspace_id = %workspace_id, provider = provider.as_str(), error = %shown, "a login was not allowed");
            return Ok(failed(
                "Not connected",
                format!(
                    "You did not allow access at {}, so nothing was connected. Start again from /settings in Telegram when you want to. (ref {reference})",
                    provider.label()
                ),
            ));
        }
        let Some(code) = callback.code else { return Ok(refuse("the callback has neither a code nor an error")) };
        // Who pressed, in the workspace the state names: may they still add accounts?
        let Some(workspace) = self.settings.existing_workspace(attempt.chat).await? else {
            return Ok(refuse("the workspace of the state is gone"));
        };
        if workspace.id != workspace_id {
            return Ok(refuse("the state's workspace does not serve its chat any more"));
        }
        let Some(member) = self.ports.users.member(workspace.id, attempt.user).await? else {
            return Ok(refuse("the person who pressed is not a member"));
        };
        let turn = Turn { chat: workspace.chat_id, from: Some(member), workspace };
        let needed = if provider == LoginProvider::Google { Action::MediaSource } else { Action::AddAccount };
        if self.allowed(&turn, Operation::Button(needed)).await.is_err() {
            return Ok(refuse("the person who pressed may no longer do what the login is for"));
        }
        if provider == LoginProvider::Google {
            return self.finish_google(&turn, login, &code, &attempt.verifier).await;
        }
        let Some(accounts) = &self.accounts else { return Ok(refuse("accounts are not set up here")) };
        let redirect = login.redirect_uri(provider);
        let candidates = match login.meta.connect(provider, &code, &redirect, &attempt.verifier).await {
            Ok(candidates) => candidates,
            Err(error) => {
                let reference = warn_with_reference("Meta did not complete a login", &error);
                return Ok(failed(
                    "Not connected",
                    format!(
                        "Meta did not complete the login, so nothing was connected. Start again from /settings in Telegram. (ref {reference})"
                    ),
                ));
            }
        };
        if let Some(account) = attempt.reconnect {
            return self.reconnect_with(&turn, accounts, provider, account, candidates).await;
        }
        let candidate = match candidates.as_slice() {
            [] => {
                let reference = Reference::new();
                tracing::info!(reference = %reference, provider = provider.as_str(), "a login reached no Instagram professional account");
                return Ok(failed(
                    "No account found",
                    format!(
                        "This login reaches no Instagram professional account (a business or creator account, linked to a Facebook Page for Facebook Login). Nothing was connected. (ref {reference})"
                    ),
                ));
            }
            [one] => one.clone(),
            several => return self.offer_choice(&turn, login, provider, several).await,
        };
        self.connect_candidate(&turn, accounts, provider, candidate).await
    }

    async fn connect_candidate(
        &self,
        turn: &Turn,
        accounts: &crate::accounts::AccountService,
        provider: LoginProvider,
        candidate: LoginCandidate,
    ) -> Result<LoginPage, BotError> {
        let workspace = turn.workspace.id;
        let person = turn.from.as_ref().map(|m| m.user.display_name()).unwrap_or_default();
        let shown = candidate.username.as_ref().map_or_else(|| candidate.name.clone(), ToString::to_string);
        let known = accounts.store().accounts(workspace, true).await?;
        if let Some(existing) = known.iter().find(|a| a.instagram_id == candidate.instagram_id) {
            if Some(existing.login) != provider.login_kind() {
                let reference = Reference::new();
                tracing::info!(reference = %reference, account = %existing.id, "a login of the other kind for a connected account");
                let way = LoginProvider::ALL
                    .into_iter()
                    .find(|p| p.login_kind() == Some(existing.login))
                    .map_or("its own", LoginProvider::label);
                return Ok(failed(
                    "Not reconnected",
                    format!(
                        "{} is connected through {way} Login; log in that way to give it a new token. Nothing changed. (ref {reference})",
                        existing.label()
                    ),
                ));
            }
            // Reconnecting: the new token replaces the old, the account and its history stay.
            return match accounts
                .replace_token(workspace, existing.id, candidate.token, candidate.expires_in_days)
                .await
            {
                Ok(replaced) => {
                    self.accounts_changed(workspace);
                    let said = format!(
                        "🔄 {person} reconnected {} by logging in with {}.",
                        replaced.account.label(),
                        provider.label()
                    );
                    self.tell_chat(turn, said).await;
                    Ok(LoginPage {
                        connected: true,
                        title: "Reconnected",
                        text: format!("Reconnected {shown}: its new token is saved. You can close this page."),
                    })
                }
                Err(error) => Ok(self.add_refused(error)),
            };
        }
        let Some(display_name) = display_name(&candidate) else {
            return Ok(refuse("Meta named the account with nothing usable"));
        };
        let input = AddAccount {
            display_name,
            instagram_id: candidate.instagram_id,
            username: candidate.username,
            token: candidate.token,
            expires_in_days: candidate.expires_in_days,
            login: provider.login_kind(),
            make_active: false,
        };
        match accounts.add(workspace, input, &turn.actor()).await {
            Ok(added) => {
                self.accounts_changed(workspace);
                let mut said = format!(
                    "✅ {person} connected the Instagram account {} by logging in with {}.",
                    added.added.account.label(),
                    provider.label()
                );
                said.push_str(if added.added.active {
                    " It is the active account now."
                } else {
                    " Switch to it in /settings → Instagram account."
                });
                self.tell_chat(turn, said).await;
                Ok(LoginPage {
                    connected: true,
                    title: "Connected",
                    text: format!("Connected {shown} — you can close this page."),
                })
            }
            Err(error) => Ok(self.add_refused(error)),
        }
    }

    /// A Reconnect's login: the account logged in must be the one to reconnect.
    async fn reconnect_with(
        &self,
        turn: &Turn,
        accounts: &crate::accounts::AccountService,
        provider: LoginProvider,
        account: AccountId,
        candidates: Vec<LoginCandidate>,
    ) -> Result<LoginPage, BotError> {
        let Some(found) = accounts.store().account(turn.workspace.id, account).await? else {
            return Ok(refuse("the account to reconnect is gone"));
        };
        let Some(candidate) = candidates.into_iter().find(|c| c.instagram_id == found.instagram_id) else {
            let reference = Reference::new();
            tracing::info!(reference = %reference, account = %found.id, "a Reconnect login was for another account");
            return Ok(failed(
                "Not reconnected",
                format!(
                    "This login is not for {}, so nothing changed. Log in with that account to reconnect it. (ref {reference})",
                    found.label()
                ),
            ));
        };
        self.connect_candidate(turn, accounts, provider, candidate).await
    }

    /// A login that reached several accounts: the person who logged in picks one in the chat
    /// (the token they share waits sealed in the store, for as long as a login link lasts).
    async fn offer_choice(
        &self,
        turn: &Turn,
        login: &Login,
        provider: LoginProvider,
        several: &[LoginCandidate],
    ) -> Result<LoginPage, BotError> {
        let token = &several[0].token;
        if several
            .iter()
            .any(|c| secrecy::ExposeSecret::expose_secret(&c.token) != secrecy::ExposeSecret::expose_secret(token))
        {
            return Ok(refuse("the accounts of one login came with different tokens"));
        }
        let entries = several
            .iter()
            .map(|c| ChoiceAccount {
                id: c.instagram_id.to_string(),
                username: c.username.as_ref().map(|u| u.as_str().to_owned()),
                name: c.name.clone(),
            })
            .collect();
        let found = match self.keep_choice(turn, login, provider, entries, token, several[0].expires_in_days).await? {
            Ok(found) => found,
            Err(page) => return Ok(page),
        };
        let cut = if found > MAX_CHOICES {
            format!(" The chat shows the first {MAX_CHOICES}; add the others by hand.")
        } else {
            String::new()
        };
        Ok(LoginPage {
            connected: true,
            title: "Almost done",
            text: format!(
                "This login reaches {found} Instagram accounts: choose the one to connect in the Telegram chat (within {STATE_TTL_MINUTES} minutes).{cut} You can close this page."
            ),
        })
    }

    /// A press on a login's picker: only the person who logged in picks, once.
    pub(super) async fn pick_login(
        &self,
        turn: &Turn,
        press: &PressId,
        choice: ChoiceId,
        index: Option<u8>,
        message: Option<MessageId>,
    ) -> Result<(), BotError> {
        let (Ok(login), Some(accounts), Some(member)) = (&self.login, &self.accounts, &turn.from) else {
            self.ports.notifier.answer(press, "Logging in is not set up here.", true).await?;
            return Ok(());
        };
        let now = self.ports.clock.now();
        let Some(picked) = login.attempts.pick(turn.workspace.id, choice, member.user.telegram_id, now).await? else {
            let note = "This choice is used, expired or not yours: only the person who logged in chooses, once, within 10 minutes.";
            self.ports.notifier.answer(press, note, true).await?;
            return Ok(());
        };
        let Some(index) = index else {
            self.ports.notifier.answer(press, "Nothing was connected.", false).await?;
            return self.show(turn, message, &Screen::new("No account was connected from that login.")).await;
        };
        let Some(chosen) = picked.accounts.get(usize::from(index)).cloned() else {
            // Not a button this picker has (forged data): the picker stays as it was.
            login.attempts.offer(turn.workspace.id, &picked, now).await?;
            self.ports.notifier.answer(press, "That is not one of the choices.", true).await?;
            return Ok(());
        };
        let Ok(token) = login.cipher.open(&picked.sealed_token, &choice_binding(turn.workspace.id, picked.id)) else {
            self.ports.notifier.answer(press, "That choice cannot be used; nothing was connected.", true).await?;
            return Ok(());
        };
        if picked.provider == LoginProvider::Google {
            return self.pick_folder(turn, press, &chosen, token, message).await;
        }
        let (Ok(instagram_id), username) =
            (InstagramUserId::new(&chosen.id), chosen.username.as_deref().and_then(|u| Username::new(u).ok()))
        else {
            self.ports.notifier.answer(press, "That choice cannot be used; nothing was connected.", true).await?;
            return Ok(());
        };
        let candidate = LoginCandidate {
            instagram_id,
            username,
            name: chosen.name,
            token,
            expires_in_days: picked.expires_in_days,
        };
        self.ports.notifier.answer(press, "", false).await?;
        let page = self.connect_candidate(turn, accounts, picked.provider, candidate).await?;
        self.show(turn, message, &Screen::new(page.text)).await
    }

    /// Sends `screen` (login links) to `member`'s private chat with the bot; `false` when
    /// Telegram refuses (they never pressed Start), which is logged.
    pub(super) async fn sent_privately(&self, member: &storyline_domain::user::Member, screen: &Screen) -> bool {
        match self.ports.notifier.send(private_chat(member), screen).await {
            Ok(_) => true,
            Err(error) => {
                tracing::info!(error = %crate::errors::error_chain(&error), "could not send login links privately");
                false
            }
        }
    }

    /// Keeps a login's picker (its `entries`, the `token` they share sealed to the choice) for
    /// the person of `turn` and posts it in the workspace's chat; the number of entries found
    /// (the picker shows at most [`MAX_CHOICES`]), or the page to show when the token cannot be
    /// sealed.
    pub(super) async fn keep_choice(
        &self,
        turn: &Turn,
        login: &Login,
        provider: LoginProvider,
        entries: Vec<ChoiceAccount>,
        token: &SecretString,
        expires_in_days: Option<i64>,
    ) -> Result<Result<usize, LoginPage>, BotError> {
        let Some(member) = &turn.from else { return Ok(Err(refuse("a picker needs a person"))) };
        let id = ChoiceId::new();
        let sealed_token = match login.cipher.seal(token, &choice_binding(turn.workspace.id, id)) {
            Ok(sealed) => sealed,
            Err(error) => {
                let reference = warn_with_reference("could not seal a login's token", &error);
                return Ok(Err(failed(
                    "Not connected",
                    format!("The login could not be kept, so nothing changed. (ref {reference})"),
                )));
            }
        };
        let found = entries.len();
        if found > MAX_CHOICES {
            tracing::info!(entries = found, shown = MAX_CHOICES, "a login reaches more than the picker shows");
        }
        let now = self.ports.clock.now();
        let choice = LoginChoice {
            id,
            provider,
            user: member.user.telegram_id,
            accounts: entries.into_iter().take(MAX_CHOICES).collect(),
            sealed_token,
            expires_in_days,
            expires_at: now + chrono::Duration::minutes(STATE_TTL_MINUTES),
        };
        login.attempts.offer(turn.workspace.id, &choice, now).await?;
        let person = member.user.display_name();
        self.ports.notifier.send(turn.workspace.chat_id, &picker_screen(&turn.workspace, &choice, &person)).await?;
        Ok(Ok(found))
    }

    /// Tells the workspace's chat what a login did. The account is saved by then: a chat that
    /// cannot be reached is logged, and the page still says it is connected.
    async fn tell_chat(&self, turn: &Turn, said: String) {
        if let Err(error) = self.ports.notifier.send(turn.workspace.chat_id, &Screen::new(said)).await {
            tracing::warn!(error = %crate::errors::error_chain(&error), "could not tell the chat of a login");
        }
    }

    /// The page for an account the store or Meta would not take; nothing was saved.
    fn add_refused(&self, error: AddError) -> LoginPage {
        let reference = match &error {
            AddError::Account(AccountError::Vault(_)) => {
                warn_with_reference("a logged-in account could not be sealed (no ENCRYPTION_KEY)", &error)
            }
            _ => warn_with_reference("a logged-in account was not saved", &error),
        };
        failed("Not connected", format!("The account could not be saved, so nothing was connected. (ref {reference})"))
    }
}

/// A member's private chat with the bot (its id is theirs).
pub(super) const fn private_chat(member: &storyline_domain::user::Member) -> storyline_domain::ChatId {
    storyline_domain::ChatId(member.user.telegram_id.0)
}

/// The accounts of a login, one button each, and None.
pub(super) fn picker_screen(workspace: &Workspace, choice: &LoginChoice, person: &str) -> Screen {
    let text = if choice.provider == LoginProvider::Google {
        Text::new().bold("📁 Which Drive folder?").line().plain(format!(
            "{person} logged in with Google. {person}: choose the folder that holds the media (its subfolders are the categories)."
        ))
    } else {
        Text::new().bold("📸 Which Instagram account?").line().plain(format!(
            "{person} logged in with {}, which reaches {} accounts. {person}: choose the one to connect.",
            choice.provider.label(),
            choice.accounts.len()
        ))
    };
    let mut screen = Screen::new(text);
    for (index, account) in (0u8..).zip(&choice.accounts) {
        let label = match &account.username {
            Some(username) => format!("@{username} ({})", account.name),
            None => account.name.clone(),
        };
        screen = screen.row(vec![screens::button(label, Action::PickLogin(choice.id, Some(index)), workspace)]);
    }
    screen.row(vec![screens::button("✖ None of them", Action::PickLogin(choice.id, None), workspace)])
}

/// The login links (URL buttons only: this goes to a private chat, where the workspace's
/// buttons would not work).
fn login_screen(links: &[(LoginProvider, String)], person: &str, reconnect: Option<&Account>) -> Screen {
    let title = match reconnect {
        Some(account) => format!("🔄 Reconnect {}", account.label()),
        None => "➕ Add an Instagram account".to_owned(),
    };
    let text = Text::new()
        .bold(title)
        .line()
        .plain("Log in at Meta with the account's owner: nothing to copy, and no token is shown in this chat. ")
        .plain(format!(
            "Each link works once, for {STATE_TTL_MINUTES} minutes, and connects the account in the name of {person}."
        ))
        .line()
        .line()
        .italic("Instagram Login for a business or creator account; Facebook Login for one linked to a Facebook Page.");
    let mut screen = Screen::new(text);
    for (provider, url) in links {
        screen = screen.row(vec![Button {
            label: format!("🔑 Log in with {}", provider.label()),
            target: ButtonTarget::Link(url.clone()),
        }]);
    }
    screen
}
