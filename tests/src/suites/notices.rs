//! The `Notices` contract: a chat is told a thing once, whichever process tells it.

use anyhow::ensure;
use storyline_domain::WorkspaceId;
use storyline_domain::ports::StoreError;

use super::{instant, two_workspaces};
use crate::{Backend, TestResult};

pub async fn a_notice_is_news_once_per_key_and_again_after_it_is_forgotten(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    ensure!(stores.notices.tell_once(a.id, "manual_path", "no_account", instant(0)).await?, "the first time is news");
    ensure!(!stores.notices.tell_once(a.id, "manual_path", "no_account", instant(1)).await?, "the same again is not");
    ensure!(stores.notices.tell_once(b.id, "manual_path", "no_account", instant(1)).await?, "another workspace's own");
    ensure!(stores.notices.tell_once(a.id, "other_topic", "no_account", instant(1)).await?, "another topic's own");
    ensure!(stores.notices.tell_once(a.id, "manual_path", "token_expired", instant(2)).await?, "a new reason is news");
    let restarted = backend.reopen().await?;
    ensure!(!restarted.notices.tell_once(a.id, "manual_path", "token_expired", instant(3)).await?, "kept in the store");
    restarted.notices.forget_notice(a.id, "manual_path").await?;
    ensure!(!restarted.notices.tell_once(b.id, "manual_path", "no_account", instant(3)).await?, "b's is untouched");
    ensure!(restarted.notices.tell_once(a.id, "manual_path", "token_expired", instant(4)).await?, "news again");
    let nowhere = WorkspaceId::from_uuid(uuid::Uuid::from_u128(99));
    let refused = restarted.notices.tell_once(nowhere, "manual_path", "x", instant(4)).await;
    ensure!(matches!(refused, Err(StoreError::WorkspaceNotFound(_))), "{refused:?}");
    Ok(())
}
