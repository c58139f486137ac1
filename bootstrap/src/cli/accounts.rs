//! Instagram accounts and keys on the command line (FEATURES A3–A5, C5):
//! `add-instagram-account`, `list-instagram-accounts`, `switch-instagram-account`,
//! `deactivate-instagram-account`, `reactivate-instagram-account`, `remove-instagram-account`,
//! `set-instagram-token`,
//! `refresh-instagram-tokens`, `rotate-keys`, `generate-key`, `mark-needs-interaction`.

use std::io::{BufRead, Write};
use std::sync::Arc;

use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use storyline_application::accounts::{AccountView, AddAccount, AddError};
use storyline_crypto::Keyring;
use storyline_domain::account::{DisplayName, InstagramUserId, LoginKind, Username, parse_token};
use storyline_domain::ports::{AccountError, ChatNotifier, MediaQuery, VaultError};
use storyline_domain::user::Actor;

use super::Outcome;
use super::library::{ChatArg, existing_workspace, table, workspace};
use crate::config::Config;
use crate::wiring::App;

/// A token typed on the command line, or `-` to read it from standard input (so it stays out
/// of the shell history). `Debug` never shows it.
#[derive(Debug, Clone)]
pub struct TokenArg(SecretString);

/// Never fails, so clap never prints the value back in an error: the token's shape is checked
/// afterwards ([`TokenArg::checked`]), with a message that does not show it.
impl std::str::FromStr for TokenArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "-" {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("could not read standard input: {e}"))?;
            return Ok(Self(SecretString::from(line)));
        }
        Ok(Self(SecretString::from(text.to_owned())))
    }
}

impl TokenArg {
    /// The token, trimmed, if it has a token's shape.
    fn checked(self) -> Result<SecretString, String> {
        parse_token(self.0.expose_secret()).map_err(|e| format!("--access-token: {e}"))
    }
}

/// `add-instagram-account`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct AddArgs {
    /// A name for people, e.g. "Main Brand".
    #[arg(long)]
    display_name: String,
    /// The Instagram professional account's numeric id.
    #[arg(long)]
    account_id: String,
    /// The @username (looked up at Meta when the token allows; this is the fallback).
    #[arg(long)]
    username: Option<String>,
    /// The long-lived access token, or `-` to read it from standard input.
    #[arg(long)]
    access_token: TokenArg,
    /// Days until the token expires (1–365), when known.
    #[arg(long)]
    expires_in_days: Option<i64>,
    /// How the token was made: instagram (Instagram Login, IG… tokens) or facebook (Facebook
    /// Login, EA… tokens). Default: guessed from the token.
    #[arg(long)]
    login: Option<String>,
    /// Make it the active account (the only account becomes active anyway).
    #[arg(long)]
    set_active: bool,
    #[command(flatten)]
    chat: ChatArg,
}

/// An account named by its Storyline id, its Instagram id or its @username.
#[derive(Debug, Clone, Args)]
pub struct AccountArg {
    /// The account: Storyline id, Instagram account id, or @username.
    account: String,
    #[command(flatten)]
    chat: ChatArg,
}

fn refuse(err: &mut dyn Write, problem: impl std::fmt::Display) -> anyhow::Result<Outcome> {
    writeln!(err, "storyline: {problem}")?;
    Ok(Outcome::Refused)
}

/// `add-instagram-account`.
pub(super) async fn add(
    app: &App,
    config: &Config,
    args: AddArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let display_name = match DisplayName::new(&args.display_name) {
        Ok(name) => name,
        Err(problem) => return refuse(err, format!("--display-name: {problem}")),
    };
    let instagram_id = match InstagramUserId::new(&args.account_id) {
        Ok(id) => id,
        Err(problem) => return refuse(err, format!("--account-id: {problem}")),
    };
    let username = match args.username.as_deref().map(Username::new).transpose() {
        Ok(username) => username,
        Err(problem) => return refuse(err, format!("--username: {problem}")),
    };
    let login = match args.login.as_deref() {
        None => None,
        Some(text) => match LoginKind::parse(text) {
            Some(login) => Some(login),
            None => return refuse(err, "--login must be instagram or facebook"),
        },
    };
    let token = match args.access_token.checked() {
        Ok(token) => token,
        Err(problem) => return refuse(err, problem),
    };
    let workspace = workspace(app, config, &args.chat).await?;
    let input = AddAccount {
        display_name,
        instagram_id,
        username,
        token,
        expires_in_days: args.expires_in_days,
        login,
        make_active: args.set_active,
    };
    match app.accounts.add(workspace.id, input, &Actor::Cli).await {
        Ok(added) => {
            let account = &added.added.account;
            writeln!(out, "added {} ({} login), id {}", account.label(), account.login, account.id)?;
            if added.added.active {
                writeln!(out, "it is the active account of this workspace")?;
            }
            if let Some(note) = added.lookup_note {
                writeln!(out, "{note}")?;
            }
            Ok(Outcome::Done)
        }
        Err(AddError::Account(AccountError::Store(error))) => Err(error.into()),
        Err(refused) => refuse(err, format!("{refused}; nothing was saved")),
    }
}

fn status_table(views: &[AccountView]) -> comfy_table::Table {
    let mut shown = table(&["ID", "Display name", "Username", "Instagram id", "Login", "Token", "Active", "Enabled"]);
    for view in views {
        let account = &view.account;
        shown.add_row(vec![
            account.id.to_string(),
            account.display_name.to_string(),
            // Not known: Instagram could not be asked and none was given.
            account.username.as_ref().map_or_else(|| "—".to_owned(), ToString::to_string),
            account.instagram_id.to_string(),
            account.login.to_string(),
            view.status.to_string(),
            if view.active { "✓" } else { "" }.to_owned(),
            if account.enabled { "yes" } else { "no" }.to_owned(),
        ]);
    }
    shown
}

/// The accounts for scripts: what the table shows, never a token.
fn status_json(views: &[AccountView]) -> Vec<serde_json::Value> {
    views
        .iter()
        .map(|view| {
            let account = &view.account;
            serde_json::json!({
                "id": account.id.to_string(),
                "display_name": account.display_name.to_string(),
                "username": account.username.as_ref().map(ToString::to_string),
                "instagram_id": account.instagram_id.to_string(),
                "login": account.login.to_string(),
                "token": view.status.to_string(),
                "active": view.active,
                "enabled": account.enabled,
            })
        })
        .collect()
}

/// `list-instagram-accounts`.
pub(super) async fn list(
    app: &App,
    config: &Config,
    json: bool,
    chat: &ChatArg,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let workspace = existing_workspace(app, config, chat).await?;
    let views = app.accounts.overview(workspace.id).await?;
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&status_json(&views))?)?;
        return Ok(Outcome::Done);
    }
    if views.is_empty() {
        writeln!(out, "no Instagram accounts yet: add one with `storyline add-instagram-account`")?;
    } else {
        writeln!(out, "{}", status_table(&views))?;
    }
    Ok(Outcome::Done)
}

/// The account `reference` names: Storyline id, Instagram id or @username.
fn find<'a>(views: &'a [AccountView], reference: &str) -> Option<&'a AccountView> {
    let reference = reference.trim();
    let name = reference.strip_prefix('@').unwrap_or(reference);
    views.iter().find(|v| {
        v.account.id.to_string() == reference
            || v.account.id.compact() == reference
            || v.account.instagram_id.as_str() == reference
            || v.account.username.as_ref().is_some_and(|u| u.as_str().eq_ignore_ascii_case(name))
    })
}

/// What to do with the account an [`AccountArg`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    Switch,
    Deactivate,
    Reactivate,
    Remove,
}

/// `switch-instagram-account`, `deactivate-instagram-account`, `reactivate-instagram-account`,
/// `remove-instagram-account`.
pub(super) async fn change(
    app: &App,
    config: &Config,
    args: &AccountArg,
    change: Change,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let workspace = existing_workspace(app, config, &args.chat).await?;
    let views = app.accounts.overview(workspace.id).await?;
    let Some(view) = find(&views, &args.account) else {
        let shown: String = args.account.chars().take(40).collect();
        return refuse(err, format!("no account {shown:?} here; `storyline list-instagram-accounts` lists them"));
    };
    let id = view.account.id;
    let done = match change {
        Change::Switch => app.accounts.switch(workspace.id, id, &Actor::Cli).await,
        Change::Deactivate => app.accounts.set_enabled(workspace.id, id, false, &Actor::Cli).await,
        Change::Reactivate => app.accounts.set_enabled(workspace.id, id, true, &Actor::Cli).await,
        Change::Remove => app.accounts.remove(workspace.id, id, &Actor::Cli).await,
    };
    match done {
        Ok(account) => {
            let what = match change {
                Change::Switch => "is now the active account",
                Change::Deactivate => "is disabled (its history is kept; reactivate-instagram-account brings it back)",
                Change::Reactivate => "is enabled again",
                Change::Remove => {
                    "is disabled and its token forgotten (its history is kept; reactivate-instagram-account and set-instagram-token bring it back)"
                }
            };
            writeln!(out, "{} {what}", account.label())?;
            let active = app.accounts.active(workspace.id).await?;
            writeln!(out, "active account: {}", active.map_or_else(|| "none".to_owned(), |v| v.account.label()))?;
            Ok(Outcome::Done)
        }
        Err(AccountError::Store(error)) => Err(error.into()),
        Err(refused) => refuse(err, format!("{refused}; nothing changed")),
    }
}

/// `set-instagram-token`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    account: AccountArg,
    /// The new long-lived access token, or `-` to read it from standard input.
    #[arg(long)]
    access_token: TokenArg,
    /// Days until the token expires (1–365), when known.
    #[arg(long)]
    expires_in_days: Option<i64>,
}

/// `set-instagram-token`.
pub(super) async fn set_token(
    app: &App,
    config: &Config,
    args: TokenArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let token = match args.access_token.checked() {
        Ok(token) => token,
        Err(problem) => return refuse(err, problem),
    };
    let workspace = existing_workspace(app, config, &args.account.chat).await?;
    let views = app.accounts.overview(workspace.id).await?;
    let Some(view) = find(&views, &args.account.account) else {
        return refuse(err, "no such account here; `storyline list-instagram-accounts` lists them");
    };
    match app.accounts.replace_token(workspace.id, view.account.id, token, args.expires_in_days).await {
        Ok(replaced) => {
            writeln!(out, "the token of {} is replaced", replaced.account.label())?;
            if let Some(note) = replaced.note {
                writeln!(out, "{note}")?;
            }
            Ok(Outcome::Done)
        }
        Err(AddError::Account(AccountError::Store(error))) => Err(error.into()),
        Err(refused) => refuse(err, format!("{refused}; nothing changed")),
    }
}

/// `refresh-instagram-tokens`: the daily job, now; problems go to the chat (Telegram when it
/// is configured) and here.
pub(super) async fn refresh(app: &App, config: &Config, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let notifier: Arc<dyn ChatNotifier> = super::library::notifier(config)?;
    let report = app.accounts.refresh_tokens(notifier.as_ref()).await?;
    writeln!(
        out,
        "checked {} tokens: refreshed {}, failed {}, announced {} problems",
        report.checked, report.refreshed, report.failed, report.announced
    )?;
    Ok(Outcome::Done)
}

/// `rotate-keys`: re-seals every token and media source secret with the newest key of
/// ENCRYPTION_KEYS.
pub(super) async fn rotate(
    app: &App,
    config: &Config,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let Some(keyring) = &config.keyring else {
        return refuse(
            err,
            "set ENCRYPTION_KEYS=new,old (newest first) to rotate; `storyline generate-key` makes a key",
        );
    };
    let resealed = match app.stores.vault.reseal_all().await {
        Ok(count) => app.stores.sources.reseal_source_secrets().await.map(|secrets| (count, secrets)),
        Err(error) => Err(error),
    };
    match resealed {
        Ok((count, secrets)) => {
            let newest = keyring.key_ids().first().cloned().unwrap_or_default();
            writeln!(out, "re-sealed {count} tokens with key {newest}")?;
            writeln!(out, "re-sealed {secrets} media source secrets with key {newest}")?;
            writeln!(
                out,
                "every token now opens with the newest key alone: set ENCRYPTION_KEY to it and drop the old ones"
            )?;
            Ok(Outcome::Done)
        }
        Err(VaultError::Undecryptable(why)) => refuse(
            err,
            format!(
                "a token or media source secret opens with none of the configured keys ({why}); add the key it was sealed with"
            ),
        ),
        Err(other) => Err(other.into()),
    }
}

/// `generate-key`: a new key for ENCRYPTION_KEY.
pub(super) fn generate(out: &mut dyn Write) -> anyhow::Result<Outcome> {
    writeln!(out, "{}", Keyring::generate())?;
    Ok(Outcome::Done)
}

/// `mark-needs-interaction`.
#[derive(Debug, Clone, Args)]
pub struct InteractionArgs {
    /// The media item's path in the library (as `list-media` shows it).
    path: String,
    /// Clear the mark: the API may publish it again.
    #[arg(long)]
    clear: bool,
    #[command(flatten)]
    chat: ChatArg,
}

/// `mark-needs-interaction PATH [--clear]`: media with link stickers or polls always goes the
/// manual way (C5).
pub(super) async fn mark(
    app: &App,
    config: &Config,
    args: InteractionArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let workspace = existing_workspace(app, config, &args.chat).await?;
    let all = app.stores.library.media(workspace.id, &MediaQuery { category: None, limit: u32::MAX }).await?;
    let Some(item) = all.iter().find(|m| m.path == args.path) else {
        return refuse(err, "no media item with that path; `storyline list-media` lists them");
    };
    app.stores.library.set_needs_interaction(workspace.id, item.id, !args.clear).await?;
    if args.clear {
        writeln!(out, "{} may be published through the API again", item.path)?;
    } else {
        writeln!(out, "{} needs interaction: it always goes to the chat for manual posting", item.path)?;
    }
    Ok(Outcome::Done)
}
