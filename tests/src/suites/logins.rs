//! The `LoginAttempts` contract: a login under way is taken once, by its own workspace only,
//! and expired ones are forgotten.

use anyhow::{Context, ensure};
use secrecy::{ExposeSecret, SecretString};
use storyline_domain::account::AccountId;
use storyline_domain::login::{ChoiceAccount, ChoiceId, LoginAttempt, LoginChoice, LoginProvider};
use storyline_domain::ports::StoreError;
use storyline_domain::user::TelegramUserId;
use storyline_domain::{ChatId, WorkspaceId};

use super::{instant, two_workspaces};
use crate::{Backend, TestResult};

fn attempt(provider: LoginProvider, chat: ChatId, reconnect: Option<AccountId>, expires: i64) -> LoginAttempt {
    LoginAttempt {
        provider,
        user: TelegramUserId(4242),
        chat,
        reconnect,
        verifier: SecretString::from(format!("verifier-{expires}")),
        expires_at: instant(expires),
    }
}

pub async fn an_attempt_is_taken_once_by_its_own_workspace_and_survives_a_restart(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    let account = AccountId::new();
    stores
        .logins
        .begin(a.id, "nonce-1", &attempt(LoginProvider::Facebook, a.chat_id, Some(account), 10), instant(0))
        .await?;
    // The same nonce in another workspace is another attempt.
    stores.logins.begin(b.id, "nonce-1", &attempt(LoginProvider::Instagram, b.chat_id, None, 10), instant(0)).await?;
    ensure!(stores.logins.take(b.id, "nonce-2").await?.is_none(), "an unknown nonce is nothing");
    let restarted = backend.reopen().await?;
    let taken = restarted.logins.take(a.id, "nonce-1").await?.context("a's attempt")?;
    ensure!(taken.provider == LoginProvider::Facebook, "{taken:?}");
    ensure!(taken.user == TelegramUserId(4242) && taken.chat == a.chat_id, "{taken:?}");
    ensure!(taken.reconnect == Some(account), "{taken:?}");
    ensure!(taken.verifier.expose_secret() == "verifier-10" && taken.expires_at == instant(10), "{taken:?}");
    ensure!(restarted.logins.take(a.id, "nonce-1").await?.is_none(), "taken once");
    let theirs = restarted.logins.take(b.id, "nonce-1").await?.context("b's attempt is untouched")?;
    ensure!(theirs.provider == LoginProvider::Instagram && theirs.reconnect.is_none(), "{theirs:?}");
    let nowhere = WorkspaceId::from_uuid(uuid::Uuid::from_u128(99));
    let refused =
        restarted.logins.begin(nowhere, "n", &attempt(LoginProvider::Instagram, a.chat_id, None, 10), instant(0)).await;
    ensure!(matches!(refused, Err(StoreError::WorkspaceNotFound(_))), "{refused:?}");
    Ok(())
}

pub async fn an_expired_attempt_is_returned_until_a_new_one_forgets_it(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, _) = two_workspaces(stores).await?;
    stores.logins.begin(a.id, "old", &attempt(LoginProvider::Instagram, a.chat_id, None, 10), instant(0)).await?;
    stores.logins.begin(a.id, "kept", &attempt(LoginProvider::Instagram, a.chat_id, None, 10), instant(0)).await?;
    // Taken after its expiry, it comes back (the caller says why it refuses it).
    let late = stores.logins.take(a.id, "kept").await?.context("an expired attempt is still taken")?;
    ensure!(late.expires_at == instant(10), "{late:?}");
    // A new attempt after the expiry forgets the expired ones.
    stores.logins.begin(a.id, "new", &attempt(LoginProvider::Instagram, a.chat_id, None, 30), instant(20)).await?;
    ensure!(stores.logins.take(a.id, "old").await?.is_none(), "an expired attempt is forgotten");
    ensure!(stores.logins.take(a.id, "new").await?.is_some(), "the new one is kept");
    Ok(())
}

pub async fn of_two_callbacks_racing_with_one_state_one_gets_the_attempt(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, _) = two_workspaces(stores).await?;
    for round in 0..10 {
        let nonce = format!("race-{round}");
        stores.logins.begin(a.id, &nonce, &attempt(LoginProvider::Instagram, a.chat_id, None, 10), instant(0)).await?;
        let takers = (0..4).map(|_| {
            let logins = stores.logins.clone();
            let nonce = nonce.clone();
            tokio::spawn(async move { logins.take(a.id, &nonce).await })
        });
        let mut got = 0;
        for taker in takers {
            if taker.await??.is_some() {
                got += 1;
            }
        }
        ensure!(got == 1, "round {round}: {got} callbacks got the attempt");
    }
    Ok(())
}

fn choice(user: i64, expires: i64) -> LoginChoice {
    LoginChoice {
        id: ChoiceId::new(),
        provider: LoginProvider::Facebook,
        user: TelegramUserId(user),
        accounts: vec![
            ChoiceAccount { id: "1784".to_owned(), username: Some("brand_a".to_owned()), name: "A".to_owned() },
            ChoiceAccount { id: "1785".to_owned(), username: None, name: "B Page".to_owned() },
        ],
        sealed_token: vec![1, 2, 3, 0, 255],
        expires_in_days: Some(60),
        expires_at: instant(expires),
    }
}

pub async fn a_picker_is_picked_once_by_its_person_before_it_expires(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    let mine = choice(7, 10);
    stores.logins.offer(a.id, &mine, instant(0)).await?;
    // Another person, another workspace, or too late: nothing, and the picker stays.
    ensure!(stores.logins.pick(a.id, mine.id, TelegramUserId(8), instant(1)).await?.is_none(), "not their picker");
    ensure!(stores.logins.pick(b.id, mine.id, TelegramUserId(7), instant(1)).await?.is_none(), "not b's picker");
    ensure!(stores.logins.pick(a.id, mine.id, TelegramUserId(7), instant(11)).await?.is_none(), "expired");
    let restarted = backend.reopen().await?;
    let picked = restarted.logins.pick(a.id, mine.id, TelegramUserId(7), instant(2)).await?.context("picked")?;
    ensure!(picked.id == mine.id && picked.provider == LoginProvider::Facebook && picked.user == TelegramUserId(7));
    ensure!(picked.accounts == mine.accounts, "{:?}", picked.accounts);
    ensure!(picked.sealed_token == mine.sealed_token && picked.expires_in_days == Some(60));
    ensure!(picked.expires_at == instant(10));
    ensure!(restarted.logins.pick(a.id, mine.id, TelegramUserId(7), instant(2)).await?.is_none(), "picked once");
    // A new picker forgets the expired ones.
    let old = choice(7, 10);
    restarted.logins.offer(a.id, &old, instant(0)).await?;
    restarted.logins.offer(a.id, &choice(7, 40), instant(20)).await?;
    ensure!(restarted.logins.pick(a.id, old.id, TelegramUserId(7), instant(5)).await?.is_none(), "forgotten");
    let nowhere = WorkspaceId::from_uuid(uuid::Uuid::from_u128(99));
    let refused = restarted.logins.offer(nowhere, &choice(7, 10), instant(0)).await;
    ensure!(matches!(refused, Err(StoreError::WorkspaceNotFound(_))), "{refused:?}");
    Ok(())
}
