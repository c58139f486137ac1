//! The `SettingsStore` contract.

use std::collections::HashSet;

use anyhow::ensure;
use futures::future::join_all;
use storyline_domain::audit::AuditAction;
use storyline_domain::library::CategoryMix;
use storyline_domain::ports::{ApplySettingError, AuditQuery, StoreError};
use storyline_domain::settings::export::ImportedSettings;
use storyline_domain::settings::{
    ChatSettings, Hour, PostingWindow, PostsPerDay, SettingChange, SettingValueError, SettingsDefaults, Toggle,
};
use storyline_domain::user::{Actor, TelegramUserId};
use storyline_domain::{ChatId, WorkspaceId};

use super::{instant, two_workspaces};
use crate::{Backend, TestResult};

fn all_audit() -> AuditQuery {
    AuditQuery { action: None, limit: 10_000 }
}

pub async fn a_new_workspace_starts_from_the_defaults(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let defaults = SettingsDefaults {
        posts_per_day: PostsPerDay::new(11)?,
        time_zone: chrono_tz::Europe::Berlin,
        ..SettingsDefaults::default()
    };
    let workspace = stores.settings.ensure_workspace(ChatId(-100_123), "Team", &defaults, instant(0)).await?;
    ensure!(workspace.chat_id == ChatId(-100_123) && workspace.name == "Team");
    ensure!(stores.settings.settings(workspace.id).await? == ChatSettings::from_defaults(&defaults));
    let history = stores.settings.history(workspace.id).await?;
    ensure!(history.len() == 1, "one first version, got {}", history.len());
    ensure!(history[0].version == 1 && history[0].valid_from == instant(0) && history[0].valid_to.is_none());
    ensure!(history[0].changed_by == Actor::System);
    ensure!(stores.audit.entries(workspace.id, all_audit()).await?.is_empty());
    Ok(())
}

pub async fn racing_first_uses_create_one_workspace(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let defaults = SettingsDefaults::default();
    let attempts = (0..20).map(|_| stores.settings.ensure_workspace(ChatId(-5), "Team", &defaults, instant(0)));
    let ids: HashSet<WorkspaceId> =
        join_all(attempts).await.into_iter().map(|w| w.map(|w| w.id)).collect::<Result<_, _>>()?;
    ensure!(ids.len() == 1, "{} workspaces for one chat", ids.len());
    let id = ids.into_iter().next().ok_or_else(|| anyhow::anyhow!("no workspace"))?;
    ensure!(stores.settings.history(id).await?.len() == 1);
    ensure!(stores.settings.workspace_by_chat(ChatId(-5)).await?.map(|w| w.id) == Some(id));
    ensure!(stores.settings.workspace_by_chat(ChatId(-6)).await?.is_none());
    Ok(())
}

pub async fn toggle_is_atomic(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, other) = two_workspaces(stores).await?;
    let before = stores.settings.settings(workspace.id).await?;
    let presses = (0..100).map(|i| {
        let settings = stores.settings.clone();
        let actor = Actor::User(TelegramUserId(i));
        async move { settings.apply(workspace.id, SettingChange::Toggle(Toggle::DryRun), &actor, instant(1)).await }
    });
    let results = join_all(presses.map(tokio::spawn)).await;
    for result in results {
        result??;
    }
    let after = stores.settings.settings(workspace.id).await?;
    ensure!(after.dry_run == before.dry_run, "100 flips must end where they began");
    let audit = stores.audit.entries(workspace.id, all_audit()).await?;
    ensure!(audit.len() == 100, "{} audit entries", audit.len());
    ensure!(audit.iter().all(|e| e.action == AuditAction::Setting && e.subject == "dry_run_mode"));
    let history = stores.settings.history(workspace.id).await?;
    ensure!(history.len() == 101, "the first version and 100 more, got {}", history.len());
    let versions: Vec<i64> = history.iter().map(|v| v.version).collect();
    ensure!(versions == (1..=101).collect::<Vec<_>>(), "versions are 1..=101 with no gap");
    ensure!(history.windows(2).all(|w| w[0].settings.dry_run != w[1].settings.dry_run), "each version flips");
    ensure!(
        history.windows(2).all(|w| w[0].valid_to == Some(w[1].valid_from)),
        "each version closes as the next opens"
    );
    ensure!(history.iter().filter(|v| v.valid_to.is_none()).count() == 1, "exactly one version is current");
    ensure!(stores.settings.history(other.id).await?.len() == 1, "the other workspace is untouched");
    Ok(())
}

pub async fn an_invalid_change_writes_nothing(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let before = stores.settings.settings(workspace.id).await?;
    let end = before.window.end();
    let result = stores.settings.apply(workspace.id, SettingChange::HoursStart(end), &Actor::Cli, instant(1)).await;
    ensure!(matches!(result, Err(ApplySettingError::Invalid(SettingValueError::EmptyWindow(_)))), "{result:?}");
    ensure!(stores.settings.settings(workspace.id).await? == before);
    ensure!(stores.settings.history(workspace.id).await?.len() == 1);
    ensure!(stores.audit.entries(workspace.id, all_audit()).await?.is_empty());
    Ok(())
}

pub async fn asking_for_what_already_is_writes_nothing(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let current = stores.settings.settings(workspace.id).await?;
    let applied = stores
        .settings
        .apply(workspace.id, SettingChange::Set(Toggle::DryRun, current.dry_run), &Actor::Cli, instant(1))
        .await?;
    ensure!(applied.changes.is_empty() && applied.version == 1);
    ensure!(stores.settings.history(workspace.id).await?.len() == 1);
    ensure!(stores.audit.entries(workspace.id, all_audit()).await?.is_empty());
    Ok(())
}

pub async fn every_change_is_audited_and_versioned(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let alice = Actor::User(TelegramUserId(42));
    stores.settings.apply(workspace.id, SettingChange::PostsPerDay(PostsPerDay::new(7)?), &alice, instant(10)).await?;
    let window = PostingWindow::new(Hour::new(9)?, Hour::new(17)?)?;
    stores.settings.apply(workspace.id, SettingChange::Window(window), &Actor::Cli, instant(20)).await?;
    stores.settings.apply(workspace.id, SettingChange::Set(Toggle::Paused, true), &alice, instant(30)).await?;
    stores
        .settings
        .apply(workspace.id, SettingChange::TimeZone(chrono_tz::America::New_York), &alice, instant(40))
        .await?;

    let settings = stores.settings.settings(workspace.id).await?;
    ensure!(settings.posts_per_day.get() == 7 && settings.window == window);
    ensure!(settings.time_zone == chrono_tz::America::New_York);
    let pause = settings.pause.ok_or_else(|| anyhow::anyhow!("not paused"))?;
    ensure!(pause.at == instant(30) && pause.by == alice, "pause records who and when");

    let audit = stores.audit.entries(workspace.id, all_audit()).await?;
    let seen: Vec<(&str, Option<&str>, Option<&str>)> =
        audit.iter().map(|e| (e.subject.as_str(), e.old.as_deref(), e.new.as_deref())).collect();
    ensure!(
        seen == vec![
            ("posting_timezone", Some("UTC"), Some("America/New_York")),
            ("is_paused", Some("false"), Some("true")),
            ("posting_hours_end", Some("2"), Some("17")),
            ("posting_hours_start", Some("14"), Some("9")),
            ("posts_per_day", Some("3"), Some("7")),
        ],
        "newest first, one entry per changed field: {seen:?}"
    );
    ensure!(audit[4].actor == alice && audit[4].at == instant(10));
    ensure!(audit[2].actor == Actor::Cli);

    let history = stores.settings.history(workspace.id).await?;
    ensure!(history.len() == 5);
    for pair in history.windows(2) {
        ensure!(pair[0].valid_to == Some(pair[1].valid_from), "versions chain without gaps");
    }
    ensure!(history[4].valid_to.is_none() && history[4].changed_by == alice);
    Ok(())
}

pub async fn the_settings_of_a_past_instant_are_known(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    stores
        .settings
        .apply(workspace.id, SettingChange::PostsPerDay(PostsPerDay::new(5)?), &Actor::Cli, instant(60))
        .await?;
    stores
        .settings
        .apply(workspace.id, SettingChange::PostsPerDay(PostsPerDay::new(9)?), &Actor::Cli, instant(120))
        .await?;
    let at = |minutes| {
        let settings = stores.settings.clone();
        async move {
            anyhow::Ok(settings.as_of(workspace.id, instant(minutes)).await?.map(|v| v.settings.posts_per_day.get()))
        }
    };
    ensure!(at(-1).await?.is_none(), "nothing before the workspace existed");
    ensure!(at(0).await? == Some(3));
    ensure!(at(59).await? == Some(3));
    ensure!(at(60).await? == Some(5));
    ensure!(at(119).await? == Some(5));
    ensure!(at(500).await? == Some(9));
    Ok(())
}

pub async fn settings_persist_across_a_restart(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    stores.settings.apply(workspace.id, SettingChange::Toggle(Toggle::Paused), &Actor::Cli, instant(1)).await?;
    stores
        .settings
        .apply(workspace.id, SettingChange::PostsPerDay(PostsPerDay::new(12)?), &Actor::Cli, instant(2))
        .await?;
    let written = stores.settings.settings(workspace.id).await?;

    let restarted = backend.reopen().await?;
    let found = restarted.settings.workspace_by_chat(workspace.chat_id).await?;
    ensure!(found.as_ref() == Some(&workspace), "the workspace is found again by its chat");
    ensure!(restarted.settings.settings(workspace.id).await? == written);
    ensure!(restarted.settings.history(workspace.id).await?.len() == 3);
    ensure!(restarted.audit.entries(workspace.id, all_audit()).await?.len() == 2);
    Ok(())
}

pub async fn a_workspace_cannot_see_or_change_another(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    let b_before = stores.settings.settings(b.id).await?;
    stores.settings.apply(a.id, SettingChange::Toggle(Toggle::InstagramApi), &Actor::Cli, instant(1)).await?;
    stores.settings.apply(a.id, SettingChange::PostsPerDay(PostsPerDay::new(50)?), &Actor::Cli, instant(2)).await?;
    ensure!(stores.settings.settings(b.id).await? == b_before);
    ensure!(stores.settings.history(b.id).await?.len() == 1);
    ensure!(stores.audit.entries(b.id, all_audit()).await?.is_empty());
    ensure!(stores.settings.as_of(b.id, instant(5)).await?.map(|v| v.version) == Some(1));

    let stranger = WorkspaceId::new();
    let result = stores.settings.apply(stranger, SettingChange::Toggle(Toggle::DryRun), &Actor::Cli, instant(3)).await;
    ensure!(
        matches!(result, Err(ApplySettingError::Store(StoreError::WorkspaceNotFound(id))) if id == stranger),
        "{result:?}"
    );
    ensure!(matches!(stores.settings.settings(stranger).await, Err(StoreError::WorkspaceNotFound(_))));
    ensure!(stores.settings.history(stranger).await?.is_empty());
    ensure!(stores.settings.as_of(stranger, instant(5)).await?.is_none());
    Ok(())
}

pub async fn looking_workspaces_up_lists_them_and_creates_none(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    ensure!(stores.settings.workspaces().await?.is_empty(), "a new store has no workspace");
    let (a, b) = two_workspaces(stores).await?;
    ensure!(stores.settings.workspace_by_chat(ChatId(-7)).await?.is_none());
    let listed = stores.settings.workspaces().await?;
    ensure!(listed == vec![b.clone(), a.clone()], "every workspace, by chat id: {listed:?}");
    ensure!(stores.settings.workspace_by_chat(a.chat_id).await? == Some(a));
    ensure!(stores.settings.workspaces().await?.len() == 2, "looking up chat -7 created nothing");
    Ok(())
}

pub async fn a_nul_in_a_chat_title_is_stored_safely(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let defaults = SettingsDefaults::default();
    let workspace = stores.settings.ensure_workspace(ChatId(-100_124), "Te\0am", &defaults, instant(0)).await?;
    ensure!(workspace.name == "Te\u{FFFD}am", "{workspace:?}");
    let read = stores.settings.workspace_by_chat(ChatId(-100_124)).await?;
    ensure!(read.is_some_and(|w| w == workspace), "read back as created");
    Ok(())
}

pub async fn a_workspace_moves_to_a_new_chat_with_everything_it_had(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    stores.settings.apply(a.id, SettingChange::Toggle(Toggle::DryRun), &Actor::Cli, instant(1)).await?;
    let before = (stores.settings.settings(a.id).await?, stores.settings.history(a.id).await?);
    let supergroup = ChatId(-1_009_999);
    let moved = stores.settings.move_workspace(a.id, supergroup, instant(2)).await?;
    ensure!(moved.as_ref().map(|w| (w.id, w.chat_id)) == Some((a.id, supergroup)), "{moved:?}");
    ensure!(stores.settings.workspace_by_chat(a.chat_id).await?.is_none(), "the old id is free");
    let restarted = backend.reopen().await?;
    ensure!(restarted.settings.workspace_by_chat(supergroup).await?.map(|w| w.id) == Some(a.id));
    let after = (restarted.settings.settings(a.id).await?, restarted.settings.history(a.id).await?);
    ensure!(before == after, "settings and history come along");
    let audit = restarted.audit.entries(a.id, AuditQuery { action: Some(AuditAction::Workspace), limit: 5 }).await?;
    ensure!(audit.first().is_some_and(|e| e.subject == "moved" && e.new.as_deref() == Some("-1009999")), "{audit:?}");
    // Onto a chat that has a workspace: nothing changes.
    ensure!(restarted.settings.move_workspace(a.id, b.chat_id, instant(3)).await?.is_none());
    ensure!(restarted.settings.workspace_by_chat(b.chat_id).await?.map(|w| w.id) == Some(b.id));
    ensure!(restarted.settings.workspace_by_chat(supergroup).await?.map(|w| w.id) == Some(a.id));
    Ok(())
}

/// What an import of every setting at once, with a mix, sets.
fn imported() -> anyhow::Result<(ImportedSettings, CategoryMix)> {
    let settings = ImportedSettings {
        dry_run: false,
        instagram_api: true,
        paused: true,
        posts_per_day: PostsPerDay::new(9)?,
        window: PostingWindow::new(Hour::new(8)?, Hour::new(20)?)?,
        time_zone: chrono_tz::Asia::Tokyo,
    };
    Ok((settings, CategoryMix::parse("memes=70 merch=30")?))
}

pub async fn an_import_writes_every_setting_and_the_mix_as_one_version(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, other) = two_workspaces(stores).await?;
    let (settings, mix) = imported()?;
    let alice = Actor::User(TelegramUserId(42));
    let applied = stores.settings.import(workspace.id, &settings, Some(mix.clone()), &alice, instant(10)).await?;
    ensure!(applied.changes.len() == 7 && applied.mix_changed && applied.version == 2, "{applied:?}");

    let now = stores.settings.settings(workspace.id).await?;
    ensure!(!now.dry_run && now.instagram_api && now.posts_per_day.get() == 9);
    ensure!(now.window == settings.window && now.time_zone == chrono_tz::Asia::Tokyo);
    ensure!(now.pause.as_ref().is_some_and(|p| p.by == alice && p.at == instant(10)), "{:?}", now.pause);
    ensure!(now == applied.after);
    let history = stores.settings.history(workspace.id).await?;
    ensure!(history.len() == 2, "one new version for the whole import, got {}", history.len());
    ensure!(history[0].valid_to == Some(instant(10)) && history[1].changed_by == alice);
    let mixes = stores.library.mix_history(workspace.id).await?;
    ensure!(mixes.len() == 1 && mixes[0].mix == mix && mixes[0].set_by == alice, "{mixes:?}");

    let audit = stores.audit.entries(workspace.id, all_audit()).await?;
    ensure!(audit.len() == 8, "seven settings and the mix, got {}", audit.len());
    ensure!(audit.iter().all(|e| e.action == AuditAction::Setting && e.actor == alice && e.at == instant(10)));
    let mix_entry = audit.iter().find(|e| e.subject == "category_mix");
    ensure!(
        mix_entry.is_some_and(|e| e.old.as_deref() == Some("") && e.new.as_deref() == Some("memes=70 merch=30")),
        "{mix_entry:?}"
    );

    ensure!(stores.settings.settings(other.id).await? == ChatSettings::from_defaults(&SettingsDefaults::default()));
    ensure!(stores.settings.history(other.id).await?.len() == 1, "the other workspace is untouched");
    ensure!(stores.library.mix_history(other.id).await?.is_empty());
    ensure!(stores.audit.entries(other.id, all_audit()).await?.is_empty());
    Ok(())
}

pub async fn importing_what_already_is_writes_nothing(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let (settings, mix) = imported()?;
    stores.settings.import(workspace.id, &settings, Some(mix.clone()), &Actor::Cli, instant(10)).await?;
    let pause = stores.settings.settings(workspace.id).await?.pause;
    let again = stores.settings.import(workspace.id, &settings, Some(mix.clone()), &Actor::System, instant(20)).await?;
    ensure!(again.changes.is_empty() && !again.mix_changed && again.version == 2, "{again:?}");
    ensure!(stores.settings.settings(workspace.id).await?.pause == pause, "a pause in force keeps who and when");
    ensure!(stores.settings.history(workspace.id).await?.len() == 2);
    ensure!(stores.library.mix_history(workspace.id).await?.len() == 1);
    ensure!(stores.audit.entries(workspace.id, all_audit()).await?.len() == 8);

    // Without a mix the current one stays; a setting alone still makes one version.
    let fewer = ImportedSettings { posts_per_day: PostsPerDay::new(4)?, ..settings };
    let applied = stores.settings.import(workspace.id, &fewer, None, &Actor::Cli, instant(30)).await?;
    ensure!(applied.changes.len() == 1 && !applied.mix_changed && applied.version == 3, "{applied:?}");
    ensure!(stores.library.mix_history(workspace.id).await?.len() == 1);
    Ok(())
}

pub async fn an_import_into_no_workspace_is_refused(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (settings, mix) = imported()?;
    let missing = WorkspaceId::new();
    let result = stores.settings.import(missing, &settings, Some(mix.clone()), &Actor::Cli, instant(1)).await;
    ensure!(matches!(result, Err(StoreError::WorkspaceNotFound(id)) if id == missing), "{result:?}");
    ensure!(stores.library.mix_history(missing).await?.is_empty());
    Ok(())
}

pub async fn an_import_racing_toggles_loses_none_of_them(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let (settings, mix) = imported()?;
    let toggles = (0..20).map(|i| {
        let store = stores.settings.clone();
        let actor = Actor::User(TelegramUserId(i));
        tokio::spawn(async move {
            store.apply(workspace.id, SettingChange::Toggle(Toggle::InstagramApi), &actor, instant(1)).await.map(|_| ())
        })
    });
    let store = stores.settings.clone();
    let import = tokio::spawn(async move {
        store.import(workspace.id, &settings, Some(mix.clone()), &Actor::Cli, instant(1)).await.map(|_| ())
    });
    for toggle in join_all(toggles).await {
        toggle??;
    }
    import.await??;
    let history = stores.settings.history(workspace.id).await?;
    let versions: Vec<i64> = history.iter().map(|v| v.version).collect();
    ensure!(versions == (1..=22).collect::<Vec<_>>(), "the first version, 20 toggles and the import: {versions:?}");
    ensure!(history.iter().filter(|v| v.valid_to.is_none()).count() == 1, "exactly one version is current");
    let toggled = stores.audit.entries(workspace.id, all_audit()).await?;
    let flips = toggled.iter().filter(|e| e.subject == "enable_instagram_api" && e.actor != Actor::Cli).count();
    ensure!(flips == 20, "every toggle was applied: {flips}");
    Ok(())
}

/// A store may start a change from the settings it wrote last (PostgreSQL does); a change made
/// since through another store on the same database must still be the one changed.
pub async fn a_change_starts_from_what_another_process_wrote_since(backend: &Backend) -> TestResult {
    let here = backend.stores();
    let (workspace, _) = two_workspaces(here).await?;
    let start = here.settings.settings(workspace.id).await?.dry_run;
    let toggle = SettingChange::Toggle(Toggle::DryRun);
    ensure!(here.settings.apply(workspace.id, toggle, &Actor::Cli, instant(1)).await?.after.dry_run != start);

    let there = backend.reopen().await?;
    there.settings.apply(workspace.id, toggle, &Actor::Cli, instant(2)).await?;
    there
        .settings
        .apply(workspace.id, SettingChange::PostsPerDay(PostsPerDay::new(9)?), &Actor::Cli, instant(3))
        .await?;
    let applied = here.settings.apply(workspace.id, toggle, &Actor::Cli, instant(4)).await?;
    ensure!(applied.before.dry_run == start && applied.before.posts_per_day.get() == 9, "{:?}", applied.before);
    ensure!(applied.after.dry_run != start && applied.after.posts_per_day.get() == 9, "{:?}", applied.after);
    ensure!(applied.version == 5, "one version per change: {}", applied.version);

    // Here last wrote `!start`; there sets `start`; here asking for `!start` must change it back.
    there.settings.apply(workspace.id, SettingChange::Set(Toggle::DryRun, start), &Actor::Cli, instant(5)).await?;
    let set =
        here.settings.apply(workspace.id, SettingChange::Set(Toggle::DryRun, !start), &Actor::Cli, instant(6)).await?;
    ensure!(set.changes.len() == 1 && set.after.dry_run != start, "{set:?}");
    ensure!(there.settings.settings(workspace.id).await?.dry_run != start);
    let history = there.settings.history(workspace.id).await?;
    ensure!(history.len() == 7 && history.windows(2).all(|w| w[0].version + 1 == w[1].version), "{history:?}");
    Ok(())
}
