//! The `Conversations` contract.

use anyhow::ensure;
use chrono::Duration;
use storyline_domain::conversation::{PendingPrompt, PromptKind};
use storyline_domain::user::TelegramUserId;

use super::{instant, two_workspaces};
use crate::{Backend, TestResult};

const ALICE: TelegramUserId = TelegramUserId(1);
const BOB: TelegramUserId = TelegramUserId(2);

pub async fn a_prompt_waits_until_it_expires(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let prompt = PendingPrompt::new(ALICE, PromptKind::PostsPerDay, Some(77), instant(0));
    stores.conversations.put(workspace.id, &prompt).await?;
    ensure!(stores.conversations.pending(workspace.id, ALICE, instant(9)).await? == Some(prompt.clone()));
    ensure!(stores.conversations.pending(workspace.id, BOB, instant(9)).await?.is_none(), "only its person answers it");
    ensure!(
        stores.conversations.pending(workspace.id, ALICE, instant(0) + Duration::minutes(10)).await?.is_none(),
        "expired after 10 minutes"
    );
    Ok(())
}

pub async fn a_new_prompt_replaces_the_old_and_clearing_removes_it(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    stores
        .conversations
        .put(workspace.id, &PendingPrompt::new(ALICE, PromptKind::PostsPerDay, None, instant(0)))
        .await?;
    let newer = PendingPrompt::new(ALICE, PromptKind::PostingHours, Some(5), instant(1));
    stores.conversations.put(workspace.id, &newer).await?;
    ensure!(stores.conversations.pending(workspace.id, ALICE, instant(2)).await? == Some(newer));
    ensure!(stores.conversations.clear(workspace.id, ALICE).await?);
    ensure!(!stores.conversations.clear(workspace.id, ALICE).await?, "a second clear finds nothing");
    ensure!(stores.conversations.pending(workspace.id, ALICE, instant(2)).await?.is_none());
    Ok(())
}

pub async fn a_prompt_survives_a_restart(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let prompt = PendingPrompt::new(ALICE, PromptKind::TimeZone, Some(3), instant(0));
    stores.conversations.put(workspace.id, &prompt).await?;
    // A many-step dialogue keeps its earlier answers across a restart too.
    let dialogue = PendingPrompt::new(BOB, PromptKind::SourceS3Region, Some(4), instant(0)).with_draft(vec![
        "photos".to_owned(),
        String::new(),
        "http://127.0.0.1:9000".to_owned(),
    ]);
    stores.conversations.put(workspace.id, &dialogue).await?;
    let restarted = backend.reopen().await?;
    ensure!(restarted.conversations.pending(workspace.id, BOB, instant(1)).await? == Some(dialogue));
    let restarted = backend.reopen().await?;
    ensure!(restarted.conversations.pending(workspace.id, ALICE, instant(1)).await? == Some(prompt));
    Ok(())
}

pub async fn a_workspace_cannot_see_or_clear_another_workspaces_prompts(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    let prompt = PendingPrompt::new(ALICE, PromptKind::PostsPerDay, None, instant(0));
    stores.conversations.put(a.id, &prompt).await?;
    ensure!(stores.conversations.pending(b.id, ALICE, instant(1)).await?.is_none());
    ensure!(!stores.conversations.clear(b.id, ALICE).await?);
    ensure!(stores.conversations.pending(a.id, ALICE, instant(1)).await? == Some(prompt));
    Ok(())
}

pub async fn the_newest_prompt_anywhere_names_its_workspace(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    ensure!(stores.conversations.newest_anywhere(ALICE, instant(1)).await?.is_none());
    let older = PendingPrompt::new(ALICE, PromptKind::InstagramAccount, None, instant(0));
    let newer = PendingPrompt::new(ALICE, PromptKind::SourceS3Secret, Some(9), instant(2));
    stores.conversations.put(a.id, &older).await?;
    stores.conversations.put(b.id, &newer).await?;
    stores.conversations.put(a.id, &PendingPrompt::new(BOB, PromptKind::TimeZone, None, instant(3))).await?;
    let found = stores.conversations.newest_anywhere(ALICE, instant(4)).await?;
    ensure!(found == Some((b.clone(), newer)), "{found:?}");
    // Expired prompts are not waiting: at 11 minutes only the newer one is.
    let later = instant(0) + Duration::minutes(11);
    let found = stores.conversations.newest_anywhere(ALICE, later).await?.map(|(w, _)| w.id);
    ensure!(found == Some(b.id), "{found:?}");
    stores.conversations.clear(b.id, ALICE).await?;
    ensure!(stores.conversations.newest_anywhere(ALICE, later).await?.is_none(), "the older one expired");
    let found = stores.conversations.newest_anywhere(ALICE, instant(4)).await?;
    ensure!(found == Some((a, older)), "{found:?}");
    Ok(())
}
