//! The `InitWizards` contract: a wizard per chat that survives a restart and expires, and the
//! founding of a workspace in one go.

use anyhow::ensure;
use chrono_tz::Tz;
use storyline_domain::ChatId;
use storyline_domain::audit::AuditAction;
use storyline_domain::init::{InitAnswer, InitWizard, WIZARD_LIFETIME};
use storyline_domain::ports::{AuditQuery, Founded};
use storyline_domain::settings::{PostsPerDay, SettingsDefaults};
use storyline_domain::user::{Actor, Role, TelegramUserId, User};

use super::{instant, two_workspaces};
use crate::{Backend, TestResult};

const NEW_CHAT: ChatId = ChatId(-1003);
const ALICE: TelegramUserId = TelegramUserId(1);

fn alice() -> User {
    User { telegram_id: ALICE, username: Some("alice".into()), first_name: "Alice".into(), last_name: None }
}

fn wizard() -> anyhow::Result<InitWizard> {
    let mut wizard = InitWizard::start(ALICE, "New team", &SettingsDefaults::default(), instant(0));
    wizard.answer(InitAnswer::Name("Brand\u{0} new".into()), instant(0))?;
    wizard.answer(InitAnswer::TimeZone(Tz::Europe__Berlin), instant(0))?;
    wizard.answer(InitAnswer::PostsPerDay(PostsPerDay::new(7)?), instant(0))?;
    wizard.message_id = Some(12);
    Ok(wizard)
}

pub async fn a_wizard_waits_in_its_chat_survives_a_restart_and_expires(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, _) = two_workspaces(stores).await?;
    let wizard = wizard()?;
    stores.wizards.put(NEW_CHAT, &wizard).await?;
    ensure!(stores.wizards.pending(NEW_CHAT, instant(1)).await? == Some(wizard.clone()));
    ensure!(stores.wizards.pending(a.chat_id, instant(1)).await?.is_none(), "another chat has none");
    let restarted = backend.reopen().await?;
    ensure!(restarted.wizards.pending(NEW_CHAT, instant(1)).await? == Some(wizard.clone()), "it survives a restart");
    ensure!(
        restarted.wizards.pending(NEW_CHAT, instant(0) + WIZARD_LIFETIME).await?.is_none(),
        "forgotten after its lifetime"
    );
    let mut moved = wizard.clone();
    moved.back(instant(2));
    restarted.wizards.put(NEW_CHAT, &moved).await?;
    ensure!(restarted.wizards.pending(NEW_CHAT, instant(3)).await? == Some(moved), "a put replaces it");
    ensure!(restarted.wizards.clear(NEW_CHAT).await?);
    ensure!(!restarted.wizards.clear(NEW_CHAT).await?, "a second clear finds nothing");
    Ok(())
}

pub async fn founding_creates_the_workspace_its_settings_and_owner_at_once(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, _) = two_workspaces(stores).await?;
    let a_before = (stores.settings.history(a.id).await?, stores.users.members(a.id).await?);
    let wizard = wizard()?;
    stores.wizards.put(NEW_CHAT, &wizard).await?;
    let Founded::Created(workspace) = stores.wizards.found(NEW_CHAT, &wizard.founding(alice()), instant(5)).await?
    else {
        anyhow::bail!("the chat had no workspace: it must be created");
    };
    ensure!(workspace.chat_id == NEW_CHAT && workspace.name == "Brand new", "{workspace:?}");
    ensure!(stores.settings.workspace_by_chat(NEW_CHAT).await? == Some(workspace.clone()));
    let settings = stores.settings.settings(workspace.id).await?;
    ensure!(settings.posts_per_day.get() == 7 && settings.time_zone == Tz::Europe__Berlin, "{settings:?}");
    let history = stores.settings.history(workspace.id).await?;
    ensure!(history.len() == 1 && history[0].changed_by == Actor::User(ALICE), "{history:?}");
    let owner = stores.users.member(workspace.id, ALICE).await?;
    ensure!(owner.as_ref().map(|m| (m.role, m.user.first_name.as_str())) == Some((Role::Owner, "Alice")), "{owner:?}");
    let audit = stores.audit.entries(workspace.id, AuditQuery { action: None, limit: 10 }).await?;
    ensure!(audit.iter().any(|e| e.action == AuditAction::Workspace && e.subject == "created"), "{audit:?}");
    ensure!(audit.iter().any(|e| e.action == AuditAction::Role && e.new.as_deref() == Some("owner")), "{audit:?}");
    ensure!(stores.wizards.pending(NEW_CHAT, instant(6)).await?.is_none(), "the wizard is gone with it");

    // A second confirmation (a racing one) finds the workspace and writes nothing more.
    let bob = User { telegram_id: TelegramUserId(2), username: None, first_name: "Bob".into(), last_name: None };
    let again = stores.wizards.found(NEW_CHAT, &wizard.founding(bob), instant(7)).await?;
    ensure!(again == Founded::AlreadyThere(workspace.clone()), "{again:?}");
    ensure!(stores.users.member(workspace.id, TelegramUserId(2)).await?.is_none(), "no second owner");
    ensure!(stores.settings.history(workspace.id).await?.len() == 1);
    let a_after = (stores.settings.history(a.id).await?, stores.users.members(a.id).await?);
    ensure!(a_before == a_after, "another workspace is untouched");
    ensure!(stores.settings.workspaces().await?.len() == 3);
    Ok(())
}
