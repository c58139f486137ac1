use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use storyline_domain::ports::{MockAudit, MockSettingsStore, StoreError};
use storyline_domain::settings::{SettingChange, Toggle};
use storyline_domain::user::{Actor, TelegramUserId};
use storyline_memory::{ManualClock, MemoryStore};

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn defaults() -> SettingsDefaults {
    SettingsDefaults::default()
}

fn clock() -> ManualClock {
    ManualClock::at(Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).single().unwrap_or_default())
}

fn service(store: &MemoryStore, clock: &ManualClock) -> SettingsService {
    SettingsService::new(Arc::new(store.clone()), Arc::new(store.clone()), Arc::new(clock.clone()), defaults())
}

#[tokio::test]
async fn a_new_workspace_starts_from_the_defaults_and_keeps_its_identity() -> TestResult {
    let store = MemoryStore::new();
    let settings = service(&store, &clock());
    let first = settings.workspace_for_chat(ChatId(-100), "Team").await?;
    let again = settings.workspace_for_chat(ChatId(-100), "Renamed").await?;
    assert_eq!(first, again);
    assert_eq!(settings.current(first.id).await?, ChatSettings::from_defaults(&defaults()));
    assert_eq!(settings.history(first.id).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn toggling_dry_run_twice_restores_it_with_two_audit_entries_and_three_versions() -> TestResult {
    let store = MemoryStore::new();
    let settings = service(&store, &clock());
    let workspace = settings.workspace_for_chat(ChatId(-100), "Team").await?;
    let actor = Actor::User(TelegramUserId(7));
    let once = settings.change(workspace.id, SettingChange::Toggle(Toggle::DryRun), &actor).await?;
    assert!(!once.after.dry_run);
    let twice = settings.change(workspace.id, SettingChange::Toggle(Toggle::DryRun), &actor).await?;
    assert!(twice.after.dry_run);
    assert_eq!(settings.changes(workspace.id, 10).await?.len(), 2);
    assert_eq!(settings.history(workspace.id).await?.len(), 3);
    Ok(())
}

#[tokio::test]
async fn invalid_input_changes_nothing() -> TestResult {
    let store = MemoryStore::new();
    let settings = service(&store, &clock());
    let workspace = settings.workspace_for_chat(ChatId(-100), "Team").await?;
    for (key, value) in [("posts_per_day", "0"), ("posts_per_day", "abc"), ("posting_hours_start", "2"), ("nope", "1")]
    {
        let result = settings.change_from_input(workspace.id, key, value, &Actor::Cli).await;
        assert!(
            matches!(result, Err(SettingsError::Input(_) | SettingsError::Invalid(_))),
            "{key}={value}: {result:?}"
        );
    }
    assert_eq!(settings.current(workspace.id).await?, ChatSettings::from_defaults(&defaults()));
    assert!(settings.changes(workspace.id, 10).await?.is_empty());
    assert_eq!(settings.history(workspace.id).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn the_settings_of_a_past_day_can_be_asked_for() -> TestResult {
    let store = MemoryStore::new();
    let clock = clock();
    let settings = service(&store, &clock);
    let created = clock.now();
    let workspace = settings.workspace_for_chat(ChatId(-100), "Team").await?;
    clock.advance(Duration::days(1));
    settings.change_from_input(workspace.id, "posts_per_day", "9", &Actor::Cli).await?;
    clock.advance(Duration::days(1));

    let before = settings.as_of(workspace.id, created + Duration::hours(1)).await?;
    assert_eq!(before.map(|v| v.settings.posts_per_day.get()), Some(3));
    let after = settings.as_of(workspace.id, clock.now()).await?;
    assert_eq!(after.map(|v| (v.version, v.settings.posts_per_day.get(), v.changed_by)), Some((2, 9, Actor::Cli)));
    assert_eq!(settings.as_of(workspace.id, created - Duration::hours(1)).await?, None);
    Ok(())
}

#[tokio::test]
async fn a_change_reaches_the_store_exactly_once() -> TestResult {
    let mut store = MockSettingsStore::new();
    store.expect_apply().times(1).returning(|_, change, actor, at| {
        let before = ChatSettings::from_defaults(&defaults());
        let (after, changes) = before.apply(change, actor, at)?;
        Ok(AppliedChange { before, after, changes, version: 2 })
    });
    let settings = SettingsService::new(Arc::new(store), Arc::new(MockAudit::new()), Arc::new(clock()), defaults());
    let applied = settings.change(WorkspaceId::new(), SettingChange::Toggle(Toggle::Paused), &Actor::Cli).await?;
    assert!(applied.after.is_paused());
    Ok(())
}

#[tokio::test]
async fn a_store_failure_is_a_typed_error_not_a_panic() {
    let mut store = MockSettingsStore::new();
    store.expect_apply().returning(|_, _, _, _| Err(StoreError::unknown(anyhow::anyhow!("connection refused")).into()));
    let settings = SettingsService::new(Arc::new(store), Arc::new(MockAudit::new()), Arc::new(clock()), defaults());
    let result = settings.change(WorkspaceId::new(), SettingChange::Toggle(Toggle::DryRun), &Actor::Cli).await;
    match result {
        Err(SettingsError::Unknown(cause)) => assert!(cause.to_string().contains("connection refused")),
        other => panic!("expected an Unknown error, got {other:?}"),
    }
}
