//! The `Audit` contract.

use anyhow::ensure;
use storyline_domain::WorkspaceId;
use storyline_domain::audit::{AuditAction, AuditEntry};
use storyline_domain::ports::AuditQuery;
use storyline_domain::user::{Actor, TelegramUserId};

use super::{instant, two_workspaces};
use crate::{Backend, TestResult};

fn command(minutes: i64, name: &str) -> AuditEntry {
    AuditEntry {
        at: instant(minutes),
        actor: Actor::User(TelegramUserId(7)),
        action: AuditAction::Command,
        subject: name.to_owned(),
        old: None,
        new: None,
    }
}

pub async fn entries_come_back_newest_first_filtered_and_limited(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    for (minute, name) in [(1, "/start"), (2, "/settings"), (3, "/status")] {
        stores.audit.record(workspace.id, &command(minute, name)).await?;
    }
    let button = AuditEntry { action: AuditAction::Button, subject: "toggle:dry_run".into(), ..command(4, "") };
    stores.audit.record(workspace.id, &button).await?;

    let all = stores.audit.entries(workspace.id, AuditQuery { action: None, limit: 100 }).await?;
    ensure!(all.len() == 4 && all[0] == button && all[3] == command(1, "/start"), "{all:?}");
    let commands =
        stores.audit.entries(workspace.id, AuditQuery { action: Some(AuditAction::Command), limit: 2 }).await?;
    let names: Vec<&str> = commands.iter().map(|e| e.subject.as_str()).collect();
    ensure!(names == ["/status", "/settings"], "{names:?}");
    Ok(())
}

pub async fn a_workspace_cannot_see_another_workspaces_audit(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    stores.audit.record(a.id, &command(1, "/pause")).await?;
    ensure!(stores.audit.entries(b.id, AuditQuery { action: None, limit: 100 }).await?.is_empty());
    ensure!(stores.audit.entries(a.id, AuditQuery { action: None, limit: 100 }).await?.len() == 1);
    Ok(())
}

pub async fn a_nul_in_a_command_or_button_data_is_stored_safely(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    stores.audit.record(workspace.id, &command(1, "/help\0")).await?;
    let press = AuditEntry {
        action: AuditAction::Button,
        subject: "refused: 1:\0x".into(),
        old: Some("\0".into()),
        new: Some("a\0".into()),
        ..command(2, "")
    };
    stores.audit.record(workspace.id, &press).await?;
    let entries = stores.audit.entries(workspace.id, AuditQuery { action: None, limit: 10 }).await?;
    let subjects: Vec<&str> = entries.iter().map(|e| e.subject.as_str()).collect();
    ensure!(subjects == ["refused: 1:\u{FFFD}x", "/help\u{FFFD}"], "{subjects:?}");
    ensure!(entries[0].old.as_deref() == Some("\u{FFFD}") && entries[0].new.as_deref() == Some("a\u{FFFD}"));
    Ok(())
}

/// What [`AuditQuery`] lists of `workspace`, oldest first: the subjects.
async fn subjects(backend: &Backend, workspace: WorkspaceId) -> anyhow::Result<Vec<String>> {
    let entries = backend.stores().audit.entries(workspace, AuditQuery { action: None, limit: 100 }).await?;
    Ok(entries.into_iter().rev().map(|e| e.subject).collect())
}

pub async fn a_batch_of_many_workspaces_entries_puts_each_in_its_own_trail_in_order(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    stores.audit.record_many(&[]).await?;
    let press =
        AuditEntry { action: AuditAction::Button, subject: "t:\0dry".into(), new: Some("on".into()), ..command(2, "") };
    let batch = [
        (a.id, command(1, "/settings")),
        (b.id, command(1, "/status")),
        (a.id, press.clone()),
        (a.id, command(3, "/queue")),
        (b.id, command(4, "/help")),
    ];
    stores.audit.record_many(&batch).await?;
    ensure!(subjects(backend, a.id).await? == ["/settings", "t:\u{FFFD}dry", "/queue"]);
    ensure!(subjects(backend, b.id).await? == ["/status", "/help"]);
    let newest = stores.audit.entries(a.id, AuditQuery { action: Some(AuditAction::Button), limit: 1 }).await?;
    ensure!(newest.first().is_some_and(|e| e.new.as_deref() == Some("on") && e.at == instant(2)), "{newest:?}");
    // A lone entry goes the way of `record`.
    stores.audit.record_many(&[(b.id, command(5, "/next"))]).await?;
    ensure!(subjects(backend, b.id).await? == ["/status", "/help", "/next"]);
    Ok(())
}

pub async fn a_batch_naming_a_workspace_that_does_not_exist_writes_none_of_it(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, _) = two_workspaces(stores).await?;
    let nowhere = WorkspaceId::from_uuid(uuid::Uuid::from_u128(99));
    let batch = [(a.id, command(1, "/settings")), (nowhere, command(2, "/status")), (a.id, command(3, "/queue"))];
    ensure!(stores.audit.record_many(&batch).await.is_err(), "an entry for no workspace was taken");
    ensure!(subjects(backend, a.id).await?.is_empty(), "a failed batch wrote part of itself");
    Ok(())
}
