//! The `UpdateCursor` contract.

use anyhow::ensure;

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
