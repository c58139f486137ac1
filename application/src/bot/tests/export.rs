//! `/settings export`: the settings file sent to the chat, for admins only.

use storyline_domain::settings::export;

use super::*;
use crate::access::EXPORT_REFUSED;
use crate::settings::transfer::SettingsTransfer;

pub(super) fn exporting() -> World {
    let World { bot, store, chat, clock, next } = world();
    let shared = Arc::new(store.clone());
    let transfer =
        SettingsTransfer::new(shared.clone(), shared.clone(), shared.clone(), shared, Arc::new(clock.clone()));
    World { bot: bot.with_transfer(transfer), store, chat, clock, next }
}

fn documents(world: &World) -> Vec<(String, Vec<u8>, String)> {
    world
        .chat
        .calls()
        .into_iter()
        .filter_map(|call| match call {
            ChatCall::SentDocument { chat, file_name, bytes, caption, .. } if chat == TEAM => {
                Some((file_name, bytes, caption))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn an_admin_gets_the_settings_as_a_file_that_imports_back() -> Result<(), Box<dyn std::error::Error>> {
    let mut world = exporting();
    world.say(ALICE, "/dryrun off").await;
    world.say(ALICE, "/settings export").await;
    let sent = documents(&world);
    assert_eq!(sent.len(), 1, "{:?}", world.chat.calls());
    let (file_name, bytes, caption) = &sent[0];
    assert_eq!(file_name, "storyline-settings--100200.json");
    assert!(caption.contains("no tokens, no secrets") && caption.contains("settings import"), "{caption}");
    let import = export::parse(std::str::from_utf8(bytes)?)?;
    assert!(!import.settings.dry_run, "the file has the settings as they are now");
    world.say(ALICE, "/export").await;
    assert_eq!(documents(&world).len(), 2, "/export is the same command");
    Ok(())
}

#[tokio::test]
async fn a_member_is_refused_and_gets_no_file() {
    let mut world = exporting();
    world.say(BOB, "/settings export").await;
    assert!(documents(&world).is_empty());
    assert_eq!(world.last_sent().1.text.to_plain(), EXPORT_REFUSED);
}

#[tokio::test]
async fn without_the_transfer_it_says_it_is_off_and_plain_settings_still_shows_the_menu() {
    let mut world = world();
    world.say(ALICE, "/settings export").await;
    assert!(documents(&world).is_empty());
    assert_eq!(world.last_sent().1.text.to_plain(), "Exporting the settings is not set up here.");
    world.say(ALICE, "/settings").await;
    assert!(world.last_sent().1.text.to_plain().contains("Posts per day"), "{:?}", world.last_sent().1);
}
