//! The `AccountStore` and `TokenVault` contracts: identities, the active selection, tokens sealed
//! at rest, key rotation, and what the database itself refuses.

use std::sync::Arc;

use anyhow::{Context, ensure};
use chrono::{DateTime, Duration, Utc};
use secrecy::ExposeSecret;
use sqlx::error::ErrorKind;
use storyline_crypto::Keyring;
use storyline_domain::account::{
    Account, AccountId, DisplayName, InstagramUserId, LoginKind, NewAccount, NewToken, TokenNotice, Username,
    parse_token,
};
use storyline_domain::audit::{AuditAction, AuditEntry};
use storyline_domain::ports::{AccountError, Added, AuditQuery, CipherError, TokenCipher, VaultError};
use storyline_domain::user::{Actor, TelegramUserId};
use storyline_domain::{ChatId, WorkspaceId};
use uuid::Uuid;

use super::{instant, two_workspaces};
use crate::{Backend, Raw, Stores, TestResult};

const ALICE: Actor = Actor::User(TelegramUserId(7));

/// Runs the same code on whichever pool the backend has (the SQL uses `$n` parameters, which
/// SQLite reads too).
macro_rules! on_raw {
    ($raw:expr, $pool:ident => $body:expr) => {
        match $raw {
            Raw::Sqlite($pool) => $body,
            Raw::Postgres($pool) => $body,
        }
    };
}

/// An account named `name` with Meta id `instagram_id` and the username `name` spelled in
/// lower case without spaces.
fn account(name: &str, instagram_id: &str) -> anyhow::Result<NewAccount> {
    Ok(NewAccount {
        display_name: DisplayName::new(name)?,
        instagram_id: InstagramUserId::new(instagram_id)?,
        username: Some(Username::new(&name.to_lowercase().replace(' ', "_"))?),
        login: LoginKind::Instagram,
    })
}

/// A token that reads `IGQVJ…<tag>…`, long enough to be one, expiring at `expires_at`.
fn token(tag: &str, expires_at: Option<DateTime<Utc>>) -> anyhow::Result<NewToken> {
    Ok(NewToken { token: parse_token(&format!("IGQVJ{tag}SecretTokenValue0123456789"))?, expires_at, checked: true })
}

fn token_text(tag: &str) -> String {
    format!("IGQVJ{tag}SecretTokenValue0123456789")
}

/// Adds an account with its token (tagged by the Meta id, expiring 60 days later) at `minutes`;
/// the outer error is the test's, the inner one the store's answer.
async fn try_add(
    stores: &Stores,
    workspace: WorkspaceId,
    (name, instagram_id): (&str, &str),
    make_active: bool,
    minutes: i64,
) -> anyhow::Result<Result<Added, AccountError>> {
    let new = account(name, instagram_id)?;
    let token = token(instagram_id, Some(instant(minutes) + Duration::days(60)))?;
    Ok(stores.accounts.add(workspace, &new, &token, make_active, &ALICE, instant(minutes)).await)
}

/// [`try_add`], which must succeed.
async fn add(
    stores: &Stores,
    workspace: WorkspaceId,
    name: &str,
    instagram_id: &str,
    make_active: bool,
    minutes: i64,
) -> anyhow::Result<Added> {
    Ok(try_add(stores, workspace, (name, instagram_id), make_active, minutes).await??)
}

async fn account_audit(stores: &Stores, workspace: WorkspaceId) -> anyhow::Result<Vec<AuditEntry>> {
    Ok(stores.audit.entries(workspace, AuditQuery { action: Some(AuditAction::Account), limit: 100 }).await?)
}

fn names(accounts: &[Account]) -> Vec<&str> {
    accounts.iter().map(|a| a.display_name.as_str()).collect()
}

/// The ciphertext stored for `account`, read straight from the database (`None` in memory).
async fn stored_ciphertext(backend: &Backend, account: AccountId) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(raw) = backend.raw().await? else {
        return Ok(None);
    };
    let sealed = on_raw!(raw, pool => {
        sqlx::query_scalar::<_, Vec<u8>>("SELECT ciphertext FROM api_tokens WHERE account_id = $1")
            .bind(account.as_uuid())
            .fetch_one(&pool)
            .await?
    });
    Ok(Some(sealed))
}

/// Whether the database refused a statement for the reason given.
fn refused_as(result: &Result<u64, sqlx::Error>, kind: ErrorKind) -> bool {
    matches!(result, Err(sqlx::Error::Database(error)) if error.kind() == kind)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

pub async fn the_only_account_becomes_active_by_itself(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    ensure!(stores.accounts.active(workspace.id).await?.is_none(), "nothing at first");
    ensure!(stores.accounts.accounts(workspace.id, true).await?.is_empty());

    let added = add(stores, workspace.id, "Main Brand", "17841000000000001", false, 1).await?;
    ensure!(added.active, "the only account is active without being asked");
    let main = &added.account;
    ensure!(main.workspace == workspace.id && main.enabled && main.created_at == instant(1));
    ensure!(main.display_name.as_str() == "Main Brand" && main.instagram_id.as_str() == "17841000000000001");
    ensure!(main.username.as_ref().map(Username::as_str) == Some("main_brand") && main.login == LoginKind::Instagram);
    ensure!(stores.accounts.active(workspace.id).await?.as_ref() == Some(main));
    ensure!(stores.accounts.account(workspace.id, main.id).await?.as_ref() == Some(main));
    ensure!(stores.accounts.accounts(workspace.id, false).await? == vec![main.clone()]);

    let audit = account_audit(stores, workspace.id).await?;
    ensure!(audit.len() == 1, "one audit entry: {audit:?}");
    let entry = &audit[0];
    ensure!(entry.subject == format!("account:{}", main.id) && entry.actor == ALICE && entry.at == instant(1));
    ensure!(entry.old.is_none() && entry.new.as_deref() == Some("Main Brand (@main_brand)"), "{entry:?}");
    let everything = stores.audit.entries(workspace.id, AuditQuery { action: None, limit: 100 }).await?;
    ensure!(everything.iter().all(|e| !format!("{e:?}").contains("SecretTokenValue")), "the token is never audited");
    Ok(())
}

pub async fn a_second_account_does_not_steal_the_selection_unless_asked(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let zeta = add(stores, workspace.id, "Zeta", "1001", false, 1).await?;
    let alpha = add(stores, workspace.id, "Alpha", "1002", false, 2).await?;
    ensure!(zeta.active && !alpha.active, "the first keeps the selection");
    ensure!(stores.accounts.active(workspace.id).await?.map(|a| a.id) == Some(zeta.account.id));

    let mid = add(stores, workspace.id, "Mid", "1003", true, 3).await?;
    ensure!(mid.active, "asked for");
    ensure!(stores.accounts.active(workspace.id).await?.map(|a| a.id) == Some(mid.account.id));
    let all = stores.accounts.accounts(workspace.id, false).await?;
    ensure!(names(&all) == vec!["Alpha", "Mid", "Zeta"], "by display name: {:?}", names(&all));
    ensure!(account_audit(stores, workspace.id).await?.len() == 3, "one entry per account added");
    Ok(())
}

pub async fn adding_an_instagram_id_already_added_is_refused_and_writes_nothing(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let first = add(stores, workspace.id, "Main Brand", "1001", false, 1).await?;
    let again = try_add(stores, workspace.id, ("Another Name", "1001"), true, 2).await?;
    match again {
        Err(AccountError::Exists(label)) => {
            ensure!(label == "Main Brand (@main_brand)", "names the account already there: {label}");
        }
        other => anyhow::bail!("expected Exists, got {other:?}"),
    }
    // Disabled, it is still there.
    stores.accounts.set_enabled(workspace.id, first.account.id, false, &ALICE, instant(3)).await?;
    let disabled = try_add(stores, workspace.id, ("Another Name", "1001"), true, 4).await?;
    ensure!(matches!(disabled, Err(AccountError::Exists(_))), "{disabled:?}");

    let all = stores.accounts.accounts(workspace.id, true).await?;
    ensure!(all.len() == 1 && all[0].id == first.account.id, "nothing added: {all:?}");
    ensure!(stores.vault.token_infos(workspace.id).await?.len() == 1, "no second token");
    ensure!(account_audit(stores, workspace.id).await?.len() == 2, "added, disabled; nothing for the refusals");
    ensure!(stores.accounts.active(workspace.id).await?.is_none(), "the refusals selected nothing");
    let credential = stores.vault.credential(workspace.id, first.account.id).await?.context("the first token")?;
    ensure!(credential.token.expose_secret() == token_text("1001"), "the first token is untouched");
    Ok(())
}

pub async fn switching_to_a_disabled_unknown_or_other_workspaces_account_is_refused(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    let one = add(stores, a.id, "One", "1001", false, 1).await?.account;
    let two = add(stores, a.id, "Two", "1002", false, 2).await?.account;
    let three = add(stores, a.id, "Three", "1003", false, 3).await?.account;
    let theirs = add(stores, b.id, "Theirs", "2001", false, 4).await?.account;
    stores.accounts.set_enabled(a.id, three.id, false, &ALICE, instant(5)).await?;
    let before = account_audit(stores, a.id).await?.len();

    let disabled = stores.accounts.select(a.id, three.id, &ALICE, instant(6)).await;
    ensure!(matches!(&disabled, Err(AccountError::Disabled(label)) if label == "Three (@three)"), "{disabled:?}");
    let unknown = stores.accounts.select(a.id, AccountId::new(), &ALICE, instant(6)).await;
    ensure!(matches!(unknown, Err(AccountError::NotFound)), "{unknown:?}");
    let other = stores.accounts.select(a.id, theirs.id, &ALICE, instant(6)).await;
    ensure!(matches!(other, Err(AccountError::NotFound)), "another workspace's account: {other:?}");
    ensure!(stores.accounts.active(a.id).await?.map(|x| x.id) == Some(one.id), "unchanged");
    ensure!(stores.accounts.active(b.id).await?.map(|x| x.id) == Some(theirs.id), "B unchanged");
    ensure!(account_audit(stores, a.id).await?.len() == before, "refusals are not audited");

    let chosen = stores.accounts.select(a.id, two.id, &ALICE, instant(7)).await?;
    ensure!(chosen.id == two.id);
    ensure!(stores.accounts.active(a.id).await?.map(|x| x.id) == Some(two.id));
    let audit = account_audit(stores, a.id).await?;
    ensure!(audit.len() == before + 1, "{audit:?}");
    let entry = &audit[0];
    ensure!(entry.subject == format!("account:{}", two.id) && entry.at == instant(7), "{entry:?}");
    ensure!(entry.old.as_deref() == Some("One (@one)") && entry.new.as_deref() == Some("Two (@two)"), "{entry:?}");
    stores.accounts.select(a.id, two.id, &ALICE, instant(8)).await?;
    ensure!(account_audit(stores, a.id).await?.len() == before + 1, "selecting the active one changes nothing");
    Ok(())
}

pub async fn disabling_the_active_account_clears_the_selection_and_keeps_its_history(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let main = add(stores, workspace.id, "Main", "1001", false, 1).await?.account;
    let spare = add(stores, workspace.id, "Spare", "1002", false, 2).await?.account;

    let disabled = stores.accounts.set_enabled(workspace.id, main.id, false, &ALICE, instant(3)).await?;
    ensure!(disabled.id == main.id && !disabled.enabled);
    ensure!(stores.accounts.active(workspace.id).await?.is_none(), "the selection is cleared");
    ensure!(names(&stores.accounts.accounts(workspace.id, false).await?) == vec!["Spare"]);
    let all = stores.accounts.accounts(workspace.id, true).await?;
    ensure!(names(&all) == vec!["Main", "Spare"] && !all[0].enabled, "kept, disabled: {all:?}");
    ensure!(stores.vault.credential(workspace.id, main.id).await?.is_some(), "its token is kept");
    let audit = account_audit(stores, workspace.id).await?;
    ensure!(audit.len() == 3 && audit[0].subject == format!("account:{}", main.id), "{audit:?}");
    ensure!(audit[0].old.as_deref() == Some("enabled") && audit[0].new.as_deref() == Some("disabled"));
    ensure!(audit.iter().filter(|e| e.subject == format!("account:{}", main.id)).count() == 2, "its trail stays");

    // Two enabled? Re-enabling selects nothing by itself.
    stores.accounts.set_enabled(workspace.id, main.id, true, &ALICE, instant(4)).await?;
    ensure!(stores.accounts.active(workspace.id).await?.is_none(), "Main and Spare are both enabled");
    // Spare off, Main is the only one: re-enabling Main selects it.
    stores.accounts.set_enabled(workspace.id, spare.id, false, &ALICE, instant(5)).await?;
    stores.accounts.set_enabled(workspace.id, main.id, false, &ALICE, instant(6)).await?;
    let enabled = stores.accounts.set_enabled(workspace.id, main.id, true, &ALICE, instant(7)).await?;
    ensure!(enabled.enabled);
    ensure!(stores.accounts.active(workspace.id).await?.map(|a| a.id) == Some(main.id), "the only enabled one");
    let before = account_audit(stores, workspace.id).await?.len();
    stores.accounts.set_enabled(workspace.id, main.id, true, &ALICE, instant(8)).await?;
    ensure!(account_audit(stores, workspace.id).await?.len() == before, "asking for what already is writes nothing");
    let unknown = stores.accounts.set_enabled(workspace.id, AccountId::new(), false, &ALICE, instant(9)).await;
    ensure!(matches!(unknown, Err(AccountError::NotFound)), "{unknown:?}");
    Ok(())
}

pub async fn a_token_round_trips_through_the_vault_and_is_stored_sealed(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let expires = instant(1) + Duration::days(60);
    let new = account("Main", "1001")?;
    let added =
        stores.accounts.add(workspace.id, &new, &token("1001", Some(expires))?, false, &ALICE, instant(1)).await?;
    let id = added.account.id;
    let credential = stores.vault.credential(workspace.id, id).await?.context("a credential")?;
    ensure!(credential.token.expose_secret() == token_text("1001"), "the token comes back as it went in");
    ensure!(credential.account == id && credential.expires_at == Some(expires) && credential.issued_at == instant(1));
    ensure!(!format!("{credential:?}").contains("SecretTokenValue"), "Debug never shows the token");
    let infos = stores.vault.token_infos(workspace.id).await?;
    ensure!(infos.len() == 1 && infos[0].account == id && infos[0].expires_at == Some(expires));
    ensure!(infos[0].issued_at == instant(1) && infos[0].notice.is_none());
    ensure!(stores.vault.credential(workspace.id, AccountId::new()).await?.is_none(), "no such account");

    if let Some(sealed) = stored_ciphertext(backend, id).await? {
        ensure!(!sealed.is_empty());
        ensure!(!contains(&sealed, token_text("1001").as_bytes()), "the database holds no plaintext");
        ensure!(!contains(&sealed, b"SecretTokenValue"), "not even part of it");
    }
    // Survives a restart (same key).
    let reopened = backend.reopen().await?;
    let again = reopened.vault.credential(workspace.id, id).await?.context("after a restart")?;
    ensure!(again.token.expose_secret() == token_text("1001"));
    Ok(())
}

pub async fn a_ciphertext_copied_to_another_accounts_row_does_not_open(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    let one = add(stores, a.id, "One", "1001", false, 1).await?.account;
    let two = add(stores, a.id, "Two", "1002", false, 2).await?.account;
    let theirs = add(stores, b.id, "Theirs", "1001", false, 3).await?.account;
    let Some(raw) = backend.raw().await? else {
        return Ok(()); // no rows to tamper with in memory
    };
    let copy = "UPDATE api_tokens SET ciphertext = (SELECT ciphertext FROM api_tokens WHERE account_id = $1) \
                WHERE account_id = $2";
    for target in [two.id, theirs.id] {
        let changed = on_raw!(&raw, pool => {
            sqlx::query(copy).bind(one.id.as_uuid()).bind(target.as_uuid()).execute(pool).await?.rows_affected()
        });
        ensure!(changed == 1);
    }
    let moved = stores.vault.credential(a.id, two.id).await;
    ensure!(
        matches!(moved, Err(VaultError::Undecryptable(CipherError::Forged))),
        "bound to its own account: {moved:?}"
    );
    let across = stores.vault.credential(b.id, theirs.id).await;
    ensure!(matches!(across, Err(VaultError::Undecryptable(_))), "and to its own workspace: {across:?}");
    let original = stores.vault.credential(a.id, one.id).await?.context("the original")?;
    ensure!(original.token.expose_secret() == token_text("1001"), "the original still opens");
    let verified = stores.vault.verify_all().await;
    ensure!(matches!(verified, Err(VaultError::Undecryptable(_))), "verify_all finds it: {verified:?}");
    Ok(())
}

pub async fn put_replaces_the_token_and_clears_the_notice(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    let main = add(stores, a.id, "Main", "1001", false, 1).await?.account;
    let theirs = add(stores, b.id, "Theirs", "2001", false, 1).await?.account;
    stores.vault.set_notice(a.id, main.id, Some(TokenNotice::Expiring)).await?;
    let later = instant(60 * 24 * 50);
    let renewed = later + Duration::days(60);
    stores.vault.put(a.id, main.id, &token("renewed", Some(renewed))?, later).await?;
    let credential = stores.vault.credential(a.id, main.id).await?.context("renewed")?;
    ensure!(credential.token.expose_secret() == token_text("renewed"));
    ensure!(credential.expires_at == Some(renewed) && credential.issued_at == later);
    let infos = stores.vault.token_infos(a.id).await?;
    ensure!(infos.len() == 1 && infos[0].notice.is_none() && infos[0].issued_at == later, "{infos:?}");
    // A token of unknown expiry.
    stores.vault.put(a.id, main.id, &token("unknown", None)?, later).await?;
    ensure!(stores.vault.token_infos(a.id).await?[0].expires_at.is_none());

    let stray = stores.vault.put(a.id, AccountId::new(), &token("stray", None)?, later).await;
    ensure!(matches!(stray, Err(VaultError::Store(_))), "an unknown account: {stray:?}");
    let across = stores.vault.put(a.id, theirs.id, &token("across", None)?, later).await;
    ensure!(matches!(across, Err(VaultError::Store(_))), "another workspace's account: {across:?}");
    let kept = stores.vault.credential(b.id, theirs.id).await?.context("B's token")?;
    ensure!(kept.token.expose_secret() == token_text("2001") && kept.issued_at == instant(1), "B's token is kept");
    ensure!(stores.vault.token_infos(a.id).await?.len() == 1, "no row for the strays");
    Ok(())
}

pub async fn set_notice_returns_the_one_recorded_before(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let main = add(stores, workspace.id, "Main", "1001", false, 1).await?.account;
    let vault = &stores.vault;
    ensure!(vault.set_notice(workspace.id, main.id, Some(TokenNotice::Expiring)).await?.is_none());
    ensure!(vault.set_notice(workspace.id, main.id, Some(TokenNotice::Expiring)).await? == Some(TokenNotice::Expiring));
    ensure!(
        vault.set_notice(workspace.id, main.id, Some(TokenNotice::RefreshFailed)).await? == Some(TokenNotice::Expiring)
    );
    ensure!(vault.token_infos(workspace.id).await?[0].notice == Some(TokenNotice::RefreshFailed));
    ensure!(
        vault.set_notice(workspace.id, main.id, Some(TokenNotice::Dead)).await? == Some(TokenNotice::RefreshFailed)
    );
    ensure!(vault.set_notice(workspace.id, main.id, None).await? == Some(TokenNotice::Dead));
    ensure!(vault.token_infos(workspace.id).await?[0].notice.is_none());
    ensure!(
        vault.set_notice(workspace.id, AccountId::new(), Some(TokenNotice::Dead)).await?.is_none(),
        "no such token"
    );
    Ok(())
}

pub async fn all_tokens_sees_the_enabled_accounts_of_every_workspace(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    let one = add(stores, a.id, "One", "1001", false, 1).await?.account;
    let off = add(stores, a.id, "Off", "1002", false, 2).await?.account;
    let theirs = add(stores, b.id, "Theirs", "2001", false, 3).await?.account;
    stores.accounts.set_enabled(a.id, off.id, false, &ALICE, instant(4)).await?;
    stores.vault.set_notice(b.id, theirs.id, Some(TokenNotice::Expiring)).await?;

    let mut due = stores.vault.all_tokens().await?;
    due.sort_by_key(|d| d.account.display_name.as_str().to_owned());
    let seen: Vec<(WorkspaceId, ChatId, AccountId)> = due.iter().map(|d| (d.workspace, d.chat, d.account.id)).collect();
    ensure!(
        seen == vec![(a.id, a.chat_id, one.id), (b.id, b.chat_id, theirs.id)],
        "enabled accounts with a token, in both workspaces: {seen:?}"
    );
    ensure!(due[0].account == one && due[0].info.account == one.id);
    ensure!(due[0].info.issued_at == instant(1) && due[0].info.expires_at == Some(instant(1) + Duration::days(60)));
    ensure!(due[1].info.notice == Some(TokenNotice::Expiring));
    Ok(())
}

pub async fn reseal_all_moves_every_token_to_the_newest_key(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    // More than one batch of 100.
    let mut ids = Vec::new();
    for n in 0..105 {
        let added = add(stores, a.id, &format!("Account {n:03}"), &format!("{}", 1000 + n), false, 1).await?;
        ids.push((a.id, added.account.id, format!("{}", 1000 + n)));
    }
    let theirs = add(stores, b.id, "Theirs", "2001", false, 2).await?.account;
    ids.push((b.id, theirs.id, "2001".to_owned()));
    let sealed_before = stored_ciphertext(backend, theirs.id).await?;

    let old = backend.encryption_key().to_owned();
    let new = Keyring::generate();
    let rotating: Arc<dyn TokenCipher> = Arc::new(Keyring::parse(&format!("{new},{old}"))?);
    let during = backend.stores_with_cipher(rotating).await?;
    ensure!(during.vault.credential(b.id, theirs.id).await?.is_some(), "the old key still opens during rotation");
    let resealed = during.vault.reseal_all().await?;
    ensure!(resealed == 106, "every token: {resealed}");
    ensure!(during.vault.reseal_all().await? == 0, "nothing left to re-seal");
    if let (Some(before), Some(after)) = (sealed_before, stored_ciphertext(backend, theirs.id).await?) {
        ensure!(before != after, "the stored bytes changed");
    }

    let new_only = backend.stores_with_cipher(Arc::new(Keyring::parse(&new)?)).await?;
    for (workspace, account, tag) in &ids {
        let credential = new_only.vault.credential(*workspace, *account).await?.context("a token")?;
        ensure!(credential.token.expose_secret() == token_text(tag), "the same token under the new key");
    }
    ensure!(new_only.vault.verify_all().await? == 106);
    let old_only = stores.vault.credential(b.id, theirs.id).await;
    ensure!(
        matches!(old_only, Err(VaultError::Undecryptable(CipherError::UnknownKey(_)))),
        "the old key alone no longer opens it: {old_only:?}"
    );
    let infos = new_only.vault.token_infos(b.id).await?;
    ensure!(infos.len() == 1 && infos[0].issued_at == instant(2), "re-sealing is not a refresh: {infos:?}");
    Ok(())
}

pub async fn verify_all_fails_with_a_wrong_key_or_none(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let keyless = backend.stores_without_cipher().await?;
    ensure!(stores.vault.verify_all().await? == 0, "nothing to check");
    ensure!(keyless.vault.verify_all().await? == 0, "no key is fine while no token is stored");
    let (workspace, _) = two_workspaces(stores).await?;

    let refused = keyless
        .accounts
        .add(workspace.id, &account("Main", "1001")?, &token("1001", None)?, true, &ALICE, instant(1))
        .await;
    ensure!(matches!(refused, Err(AccountError::Vault(VaultError::NoKey))), "{refused:?}");
    ensure!(stores.accounts.accounts(workspace.id, true).await?.is_empty(), "nothing written without a key");
    ensure!(account_audit(stores, workspace.id).await?.is_empty());

    let main = add(stores, workspace.id, "Main", "1001", false, 1).await?.account;
    add(stores, workspace.id, "Spare", "1002", false, 2).await?;
    ensure!(stores.vault.verify_all().await? == 2);
    let wrong = backend.stores_with_cipher(Arc::new(Keyring::parse(&Keyring::generate())?)).await?;
    let verified = wrong.vault.verify_all().await;
    ensure!(matches!(verified, Err(VaultError::Undecryptable(_))), "a wrong key: {verified:?}");
    let opened = wrong.vault.credential(workspace.id, main.id).await;
    ensure!(matches!(opened, Err(VaultError::Undecryptable(_))), "{opened:?}");

    ensure!(matches!(keyless.vault.verify_all().await, Err(VaultError::NoKey)), "tokens but no key");
    ensure!(matches!(keyless.vault.credential(workspace.id, main.id).await, Err(VaultError::NoKey)));
    ensure!(matches!(
        keyless.vault.put(workspace.id, main.id, &token("x", None)?, instant(3)).await,
        Err(VaultError::NoKey)
    ));
    ensure!(matches!(keyless.vault.reseal_all().await, Err(VaultError::NoKey)));
    // What needs no key still works without one.
    ensure!(keyless.vault.token_infos(workspace.id).await?.len() == 2);
    ensure!(keyless.vault.all_tokens().await?.len() == 2);
    ensure!(keyless.accounts.accounts(workspace.id, false).await?.len() == 2);
    Ok(())
}

pub async fn the_database_refuses_a_second_token_for_the_same_account(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let main = add(stores, workspace.id, "Main", "1001", false, 1).await?.account;
    let Some(raw) = backend.raw().await? else {
        return Ok(()); // the in-memory store keeps one token per account by construction
    };
    let bytes = vec![1_u8, 2, 3, 4];
    // With the columns' defaults ('instagram', 'access_token').
    let defaults = on_raw!(&raw, pool => {
        sqlx::query(
            "INSERT INTO api_tokens (id, workspace_id, account_id, ciphertext, issued_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(Uuid::new_v4())
        .bind(workspace.id.as_uuid())
        .bind(main.id.as_uuid())
        .bind(&bytes)
        .bind(instant(2))
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    });
    ensure!(refused_as(&defaults, ErrorKind::UniqueViolation), "a second row for the same account: {defaults:?}");
    // Spelled out.
    let spelled = on_raw!(&raw, pool => {
        sqlx::query(
            "INSERT INTO api_tokens (id, workspace_id, service, token_type, account_id, ciphertext, issued_at, \
             updated_at) VALUES ($1, $2, 'instagram', 'access_token', $3, $4, $5, $5)",
        )
        .bind(Uuid::new_v4())
        .bind(workspace.id.as_uuid())
        .bind(main.id.as_uuid())
        .bind(&bytes)
        .bind(instant(2))
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    });
    ensure!(refused_as(&spelled, ErrorKind::UniqueViolation), "{spelled:?}");
    // No NULL loophole: NULL in a key column is refused outright.
    for column in ["service", "token_type"] {
        let null = on_raw!(&raw, pool => {
            sqlx::query(&format!(
                "INSERT INTO api_tokens (id, workspace_id, {column}, account_id, ciphertext, issued_at, updated_at) \
                 VALUES ($1, $2, NULL, $3, $4, $5, $5)"
            ))
            .bind(Uuid::new_v4())
            .bind(workspace.id.as_uuid())
            .bind(main.id.as_uuid())
            .bind(&bytes)
            .bind(instant(2))
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        });
        ensure!(refused_as(&null, ErrorKind::NotNullViolation), "NULL {column}: {null:?}");
    }
    // Nor may a token name an account of another workspace.
    let other = stores.settings.ensure_workspace(ChatId(-1009), "Other", &Default::default(), instant(0)).await?;
    let across = on_raw!(&raw, pool => {
        sqlx::query(
            "INSERT INTO api_tokens (id, workspace_id, service, token_type, account_id, ciphertext, issued_at, \
             updated_at) VALUES ($1, $2, 'instagram', 'other_kind', $3, $4, $5, $5)",
        )
        .bind(Uuid::new_v4())
        .bind(other.id.as_uuid())
        .bind(main.id.as_uuid())
        .bind(&bytes)
        .bind(instant(2))
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    });
    ensure!(refused_as(&across, ErrorKind::ForeignKeyViolation), "the composite foreign key: {across:?}");
    // The same statement in the account's own workspace is fine: the refusals above were the
    // constraints', not the SQL's.
    let control = on_raw!(&raw, pool => {
        sqlx::query(
            "INSERT INTO api_tokens (id, workspace_id, service, token_type, account_id, ciphertext, issued_at, \
             updated_at) VALUES ($1, $2, 'instagram', 'other_kind', $3, $4, $5, $5)",
        )
        .bind(Uuid::new_v4())
        .bind(workspace.id.as_uuid())
        .bind(main.id.as_uuid())
        .bind(&bytes)
        .bind(instant(2))
        .execute(pool)
        .await?
        .rows_affected()
    });
    ensure!(control == 1, "another kind of token for the account is allowed");
    ensure!(stores.vault.token_infos(workspace.id).await?.len() == 1);
    let credential = stores.vault.credential(workspace.id, main.id).await?.context("the token")?;
    ensure!(credential.token.expose_secret() == token_text("1001"));
    Ok(())
}

pub async fn a_token_saved_unchecked_says_so_until_a_checked_one_replaces_it(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, _) = two_workspaces(stores).await?;
    let unchecked = NewToken { checked: false, ..token("1001", Some(instant(1) + Duration::days(60)))? };
    let main = stores.accounts.add(a.id, &account("Main", "1001")?, &unchecked, false, &ALICE, instant(1)).await?;
    let infos = stores.vault.token_infos(a.id).await?;
    ensure!(infos.len() == 1 && !infos[0].checked, "stored as not checked: {infos:?}");
    let due = stores.vault.all_tokens().await?;
    ensure!(due.iter().any(|d| d.account.id == main.account.id && !d.info.checked), "{due:?}");
    stores.vault.put(a.id, main.account.id, &token("renewed", None)?, instant(2)).await?;
    ensure!(stores.vault.token_infos(a.id).await?[0].checked, "a checked token replaces it");
    let again = NewToken { checked: false, ..token("again", None)? };
    stores.vault.put(a.id, main.account.id, &again, instant(3)).await?;
    ensure!(!stores.vault.token_infos(a.id).await?[0].checked, "and an unchecked one is said so again");
    Ok(())
}

pub async fn removing_an_account_forgets_its_token_disables_it_and_keeps_its_history(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    let main = add(stores, a.id, "Main", "1001", false, 1).await?.account;
    let theirs = add(stores, b.id, "Theirs", "2001", false, 1).await?.account;
    ensure!(stores.accounts.active(a.id).await?.is_some_and(|x| x.id == main.id));

    // Another workspace cannot remove it.
    let across = stores.accounts.remove(b.id, main.id, &ALICE, instant(2)).await;
    ensure!(matches!(across, Err(AccountError::NotFound)), "{across:?}");
    let unknown = stores.accounts.remove(a.id, AccountId::new(), &ALICE, instant(2)).await;
    ensure!(matches!(unknown, Err(AccountError::NotFound)), "{unknown:?}");
    ensure!(stores.vault.credential(a.id, main.id).await?.is_some(), "nothing was forgotten yet");

    // Without any key: the way out when the key is lost.
    let keyless = backend.stores_without_cipher().await?;
    let removed = keyless.accounts.remove(a.id, main.id, &ALICE, instant(3)).await?;
    ensure!(!removed.enabled && removed.id == main.id, "{removed:?}");
    ensure!(stores.vault.token_infos(a.id).await?.is_empty(), "the token is forgotten");
    ensure!(stores.vault.credential(a.id, main.id).await?.is_none());
    ensure!(stores.accounts.active(a.id).await?.is_none(), "nor selected any more");
    let kept = stores.accounts.account(a.id, main.id).await?.context("the identity is kept")?;
    ensure!(!kept.enabled && kept.display_name.as_str() == "Main");
    let trail = account_audit(stores, a.id).await?;
    ensure!(
        trail
            .iter()
            .any(|e| e.at == instant(3) && e.actor == ALICE && e.new.as_deref() == Some("removed (token forgotten)")),
        "audited: {trail:?}"
    );
    ensure!(stores.vault.verify_all().await? == 1, "only B's token is left");

    // A second removal changes nothing; B's account is untouched.
    let audited = account_audit(stores, a.id).await?.len();
    stores.accounts.remove(a.id, main.id, &ALICE, instant(4)).await?;
    ensure!(account_audit(stores, a.id).await?.len() == audited, "nothing to remove: no audit entry");
    ensure!(
        stores.vault.credential(b.id, theirs.id).await?.is_some_and(|c| c.token.expose_secret() == token_text("2001"))
    );
    ensure!(stores.accounts.active(b.id).await?.is_some_and(|x| x.id == theirs.id));

    // It comes back: reactivated, with a new token.
    stores.accounts.set_enabled(a.id, main.id, true, &ALICE, instant(5)).await?;
    stores.vault.put(a.id, main.id, &token("new", None)?, instant(5)).await?;
    ensure!(
        stores.vault.credential(a.id, main.id).await?.is_some_and(|c| c.token.expose_secret() == token_text("new"))
    );
    Ok(())
}

pub async fn a_workspace_cannot_see_select_disable_or_read_another_workspaces_accounts(
    backend: &Backend,
) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    let main = add(stores, a.id, "Main", "1001", false, 1).await?.account;
    stores.vault.set_notice(a.id, main.id, Some(TokenNotice::Expiring)).await?;

    ensure!(stores.accounts.accounts(b.id, true).await?.is_empty());
    ensure!(stores.accounts.account(b.id, main.id).await?.is_none());
    ensure!(stores.accounts.active(b.id).await?.is_none());
    ensure!(matches!(stores.accounts.select(b.id, main.id, &ALICE, instant(2)).await, Err(AccountError::NotFound)));
    let disabled = stores.accounts.set_enabled(b.id, main.id, false, &ALICE, instant(2)).await;
    ensure!(matches!(disabled, Err(AccountError::NotFound)), "{disabled:?}");
    ensure!(stores.accounts.account(a.id, main.id).await?.is_some_and(|x| x.enabled), "still enabled");
    ensure!(stores.accounts.active(a.id).await?.is_some_and(|x| x.id == main.id), "still selected");
    ensure!(stores.vault.credential(b.id, main.id).await?.is_none(), "B cannot read A's token");
    ensure!(stores.vault.token_infos(b.id).await?.is_empty());
    ensure!(stores.vault.set_notice(b.id, main.id, Some(TokenNotice::Dead)).await?.is_none());
    ensure!(stores.vault.token_infos(a.id).await?[0].notice == Some(TokenNotice::Expiring), "A's notice is kept");
    ensure!(account_audit(stores, b.id).await?.is_empty());

    // The same Instagram account may be added by another team.
    let theirs = add(stores, b.id, "Their Main", "1001", false, 3).await?;
    ensure!(theirs.active && theirs.account.id != main.id);
    ensure!(names(&stores.accounts.accounts(a.id, true).await?) == vec!["Main"]);
    let credential = stores.vault.credential(a.id, main.id).await?.context("A's token")?;
    ensure!(credential.token.expose_secret() == token_text("1001"));
    Ok(())
}
