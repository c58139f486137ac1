//! The `UpdateCursor` contract.

use anyhow::ensure;

use super::instant;
use crate::{Backend, TestResult};

pub async fn the_cursor_only_moves_forward_and_survives_a_restart(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    ensure!(stores.cursor.last_update().await?.is_none(), "a new store has handled nothing");
    stores.cursor.advance(41).await?;
    stores.cursor.advance(42).await?;
    stores.cursor.advance(7).await?;
    ensure!(stores.cursor.last_update().await? == Some(42), "never backwards");
    let restarted = backend.reopen().await?;
    ensure!(restarted.cursor.last_update().await? == Some(42));
    Ok(())
}

pub async fn an_update_is_claimed_once_per_bot_even_after_a_restart(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    ensure!(stores.cursor.claim(1, 500, instant(0)).await?, "the first claim takes it");
    ensure!(!stores.cursor.claim(1, 500, instant(1)).await?, "a second claim does not");
    ensure!(stores.cursor.claim(2, 500, instant(1)).await?, "another bot has updates of its own");
    ensure!(stores.cursor.claim(1, 501, instant(1)).await?);
    let restarted = backend.reopen().await?;
    ensure!(!restarted.cursor.claim(1, 500, instant(2)).await?, "a restarted bot does not handle it again");
    Ok(())
}

pub async fn claims_older_than_a_given_instant_are_forgotten(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    stores.cursor.claim(1, 10, instant(0)).await?;
    stores.cursor.claim(1, 11, instant(5)).await?;
    ensure!(stores.cursor.forget_claims_before(instant(5)).await? == 1, "only the older claim goes");
    ensure!(stores.cursor.claim(1, 10, instant(6)).await?, "a forgotten update can be taken again");
    ensure!(!stores.cursor.claim(1, 11, instant(6)).await?, "the newer claim stays");
    Ok(())
}

pub async fn a_batch_of_updates_is_claimed_in_one_go_skipping_those_taken_before(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    ensure!(stores.cursor.claim_many(1, &[], instant(0)).await?.is_empty(), "an empty batch takes nothing");
    ensure!(stores.cursor.claim(1, 20, instant(0)).await?);
    let mut taken = stores.cursor.claim_many(1, &[19, 20, 21, 22], instant(1)).await?;
    taken.sort_unstable();
    ensure!(taken == [19, 21, 22], "20 was taken before: {taken:?}");
    ensure!(!stores.cursor.claim(1, 21, instant(2)).await?, "a batch claim counts as a claim");
    ensure!(stores.cursor.claim_many(2, &[20], instant(2)).await? == [20], "another bot's updates are its own");
    let many: Vec<i64> = (1_000..1_500).collect();
    ensure!(stores.cursor.claim_many(1, &many, instant(3)).await?.len() == 500, "500 at once");
    let restarted = backend.reopen().await?;
    ensure!(restarted.cursor.claim_many(1, &[22, 1_499, 1_500], instant(4)).await? == [1_500], "after a restart too");
    Ok(())
}

pub async fn the_first_webhook_secret_stored_is_the_one_every_process_gets(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    ensure!(stores.cursor.webhook_secret(1, "first-secret", instant(0)).await? == "first-secret", "stored");
    ensure!(stores.cursor.webhook_secret(1, "second-secret", instant(1)).await? == "first-secret", "kept");
    ensure!(stores.cursor.webhook_secret(2, "other-bot", instant(1)).await? == "other-bot", "per bot");
    let restarted = backend.reopen().await?;
    ensure!(
        restarted.cursor.webhook_secret(1, "after-restart", instant(2)).await? == "first-secret",
        "a restarted process gets the stored one"
    );
    Ok(())
}
