//! The `Users` contract.

use anyhow::ensure;
use storyline_domain::audit::AuditAction;
use storyline_domain::ports::{AuditQuery, StoreError};
use storyline_domain::user::{Actor, Role, TelegramUserId, User};

use super::{instant, two_workspaces};
use crate::{Backend, TestResult};

fn alice() -> User {
    User {
        telegram_id: TelegramUserId(1001),
        username: Some("alice_[admin]*".to_owned()),
        first_name: "Alice".to_owned(),
        last_name: Some("O'Hara".to_owned()),
    }
}

pub async fn first_contact_makes_a_member_and_later_contacts_update_them(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let first = stores.users.record_contact(workspace.id, &alice(), instant(1)).await?;
    ensure!(first.user == alice() && first.role == Role::Member);
    ensure!(first.first_seen == instant(1) && first.last_seen == instant(1));

    let renamed = User { username: None, first_name: "Ali".to_owned(), ..alice() };
    let later = stores.users.record_contact(workspace.id, &renamed, instant(5)).await?;
    ensure!(later.user == renamed, "names follow Telegram");
    ensure!(later.first_seen == instant(1) && later.last_seen == instant(5));
    ensure!(stores.users.members(workspace.id).await?.len() == 1);
    Ok(())
}

pub async fn roles_are_given_per_workspace(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    stores.users.record_contact(a.id, &alice(), instant(1)).await?;
    stores.users.record_contact(b.id, &alice(), instant(1)).await?;
    let promoted = stores.users.set_role(a.id, alice().telegram_id, Role::Admin, &Actor::Cli, instant(2)).await?;
    ensure!(promoted.role == Role::Admin && promoted.user == alice());
    ensure!(stores.users.member(b.id, alice().telegram_id).await?.map(|m| m.role) == Some(Role::Member));

    let stranger = TelegramUserId(555);
    let unseen = stores.users.set_role(a.id, stranger, Role::Owner, &Actor::Cli, instant(3)).await?;
    ensure!(
        unseen.role == Role::Owner && unseen.user.telegram_id == stranger,
        "a user can be promoted before first contact"
    );
    let seen = stores
        .users
        .record_contact(
            a.id,
            &User { telegram_id: stranger, username: None, first_name: "Sam".into(), last_name: None },
            instant(4),
        )
        .await?;
    ensure!(seen.role == Role::Owner, "contact keeps the role");
    ensure!(stores.users.members(a.id).await?.len() == 2);
    stores.users.set_role(a.id, stranger, Role::Owner, &Actor::Cli, instant(5)).await?;

    let roles = stores.audit.entries(a.id, AuditQuery { action: Some(AuditAction::Role), limit: 10 }).await?;
    let seen: Vec<(String, Option<String>, Option<String>)> =
        roles.into_iter().map(|e| (e.subject, e.old, e.new)).collect();
    ensure!(
        seen == vec![
            ("user:555".to_owned(), None, Some("owner".to_owned())),
            ("user:1001".to_owned(), Some("member".to_owned()), Some("admin".to_owned())),
        ],
        "each real role change is audited, newest first: {seen:?}"
    );
    ensure!(stores.audit.entries(b.id, AuditQuery { action: None, limit: 10 }).await?.is_empty());
    Ok(())
}

pub async fn a_workspace_cannot_see_another_workspaces_members(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    stores.users.record_contact(a.id, &alice(), instant(1)).await?;
    stores.users.set_role(a.id, TelegramUserId(9), Role::Admin, &Actor::Cli, instant(1)).await?;
    ensure!(stores.users.member(b.id, alice().telegram_id).await?.is_none());
    ensure!(stores.users.member(b.id, TelegramUserId(9)).await?.is_none());
    ensure!(stores.users.members(b.id).await?.is_empty());

    let stranger = storyline_domain::WorkspaceId::new();
    let result = stores.users.record_contact(stranger, &alice(), instant(2)).await;
    ensure!(matches!(result, Err(StoreError::WorkspaceNotFound(id)) if id == stranger), "{result:?}");
    ensure!(stores.users.members(stranger).await?.is_empty());
    Ok(())
}

pub async fn a_nul_in_a_name_is_stored_as_the_replacement_character(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (workspace, _) = two_workspaces(stores).await?;
    let nul = User {
        username: Some("a\0b".to_owned()),
        first_name: "Al\0ice".to_owned(),
        last_name: Some("\0".to_owned()),
        ..alice()
    };
    let recorded = stores.users.record_contact(workspace.id, &nul, instant(1)).await?;
    ensure!(recorded.user.first_name == "Al\u{FFFD}ice", "{recorded:?}");
    ensure!(recorded.user.username.as_deref() == Some("a\u{FFFD}b"), "{recorded:?}");
    ensure!(recorded.user.last_name.as_deref() == Some("\u{FFFD}"), "{recorded:?}");
    let read = stores.users.member(workspace.id, alice().telegram_id).await?;
    ensure!(read.is_some_and(|m| m.user == recorded.user), "read back as recorded");
    Ok(())
}

pub async fn a_person_sees_their_own_memberships_only(backend: &Backend) -> TestResult {
    let stores = backend.stores();
    let (a, b) = two_workspaces(stores).await?;
    let alice = User { telegram_id: TelegramUserId(71), username: None, first_name: "Alice".into(), last_name: None };
    ensure!(stores.users.memberships(alice.telegram_id).await?.is_empty());
    stores.users.record_contact(b.id, &alice, instant(0)).await?;
    stores.users.record_contact(a.id, &alice, instant(0)).await?;
    stores.users.set_role(b.id, alice.telegram_id, Role::Admin, &Actor::Cli, instant(1)).await?;
    let bob = TelegramUserId(72);
    stores.users.set_role(a.id, bob, Role::Owner, &Actor::Cli, instant(1)).await?;
    let listed = stores.users.memberships(alice.telegram_id).await?;
    ensure!(listed == vec![(a.clone(), Role::Member), (b.clone(), Role::Admin)], "by name: {listed:?}");
    ensure!(stores.users.memberships(bob).await? == vec![(a, Role::Owner)], "Bob's own only");
    Ok(())
}
