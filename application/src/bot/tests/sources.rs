//! The media source dialogue (FEATURES M1): the kind picker, the values one at a time, the
//! folder kept inside `MEDIA_DIR`, the secret only in a private chat and deleted.

use std::sync::Mutex as StdMutex;

use secrecy::{ExposeSecret, SecretString};
use storyline_domain::ports::{Conversations as _, MediaSource, SourceError, SourceFactory, SourceStore as _};
use storyline_domain::source::SourceConfig;

use super::*;
use crate::access::SOURCE_REFUSED;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// Makes a source that lists fine (any kind) and remembers the secrets it was made with;
/// a local folder is allowed only under `/srv/media`.
#[derive(Clone, Default)]
struct Factory(Arc<StdMutex<Vec<String>>>);

impl SourceFactory for Factory {
    fn make(&self, _config: &SourceConfig, secret: Option<SecretString>) -> Result<Arc<dyn MediaSource>, SourceError> {
        if let Some(secret) = secret {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).push(secret.expose_secret().to_owned());
        }
        Ok(Arc::new(super::OnePng))
    }

    fn default_source(&self, _: WorkspaceId) -> Arc<dyn MediaSource> {
        Arc::new(super::OnePng)
    }

    fn default_config(&self, _: WorkspaceId) -> SourceConfig {
        SourceConfig::Local { root: "/srv/media".into() }
    }

    fn local_folder(&self, _: WorkspaceId, typed: &str) -> Result<String, String> {
        if typed.contains("..") || typed.starts_with('/') {
            return Err("The folder must be inside MEDIA_DIR (/srv/media): give a folder under it.".into());
        }
        Ok(format!("/srv/media/{typed}"))
    }
}

/// Seals by reversing the bytes: enough to see nothing is stored as typed.
#[derive(Debug)]
struct Reversed;

impl storyline_domain::ports::TokenCipher for Reversed {
    fn seal(&self, plaintext: &SecretString, _binding: &[u8]) -> Result<Vec<u8>, storyline_domain::ports::CipherError> {
        Ok(plaintext.expose_secret().bytes().rev().collect())
    }

    fn open(&self, sealed: &[u8], _binding: &[u8]) -> Result<SecretString, storyline_domain::ports::CipherError> {
        let bytes: Vec<u8> = sealed.iter().rev().copied().collect();
        Ok(SecretString::from(String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn is_current(&self, _sealed: &[u8]) -> bool {
        true
    }
}

fn sealing_world() -> World {
    let store = MemoryStore::new().with_cipher(Arc::new(Reversed));
    world_with(Arc::new(store.clone()), store)
}

fn with_sources(mut world: World) -> (World, Factory) {
    let factory = Factory::default();
    let sources =
        SourceService::new(Arc::new(world.store.clone()), Arc::new(factory.clone()), Arc::new(world.clock.clone()));
    world.bot = world.bot.with_media_sources(sources, Arc::new(world.store.clone()));
    (world, factory)
}

impl World {
    /// A message from `from` in their private chat with the bot.
    async fn say_privately(&mut self, from: TelegramUserId, text: &str) -> MessageId {
        self.next += 1;
        let message = MessageId(self.next);
        let incoming = Incoming {
            chat: ChatId(from.0),
            chat_title: None,
            from: Some(user(from, name_of(from))),
            event: Event::from_message(text, message),
        };
        self.bot.handle(incoming).await;
        message
    }

    /// Opens /settings and presses Change media source; returns the menu's message.
    async fn open_picker(&mut self, from: TelegramUserId) -> MessageId {
        self.say(from, "/settings").await;
        let (menu, screen) = self.last_sent();
        self.press(from, menu, &button_data(&screen, "Change media source")).await;
        menu
    }

    async fn current_source(&self) -> Option<SourceConfig> {
        let workspace = self.workspace().await;
        self.store.current_source(workspace.id).await.ok().flatten().map(|(config, _)| config)
    }

    fn every_text(&self) -> String {
        self.chat
            .calls()
            .into_iter()
            .map(|call| match call {
                ChatCall::Sent { screen, .. }
                | ChatCall::Edited { screen, .. }
                | ChatCall::SentMedia { screen, .. } => {
                    format!("{screen:?}")
                }
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[tokio::test]
async fn the_kind_picker_is_shown_in_place_of_the_menu() {
    let (mut world, _) = with_sources(sealing_world());
    let menu = world.open_picker(ALICE).await;
    let shown = world.chat.message(TEAM, menu).unwrap_or_else(|| panic!("no menu"));
    assert!(shown.text.to_plain().contains("Now: local /srv/media"), "{shown:?}");
    let labels = labels(&shown);
    for kind in ["Local folder", "S3 bucket", "Google Drive", "Cancel"] {
        assert!(labels.iter().any(|l| l.contains(kind)), "{kind}: {labels:?}");
    }
    // Cancel goes back to the settings menu.
    world.press(ALICE, menu, &button_data(&shown, "Cancel")).await;
    let back = world.chat.message(TEAM, menu).unwrap_or_else(|| panic!("no menu"));
    assert!(back.text.to_plain().contains("⚙️ Settings"));
}

#[tokio::test]
async fn a_member_is_refused_the_picker_and_every_kind() {
    let (mut world, _) = with_sources(sealing_world());
    world.say(BOB, "/settings").await;
    let (menu, screen) = world.last_sent();
    world.press(BOB, menu, &button_data(&screen, "Change media source")).await;
    assert_eq!(world.answers().last().map(String::as_str), Some(SOURCE_REFUSED));
    let workspace = world.workspace().await;
    let s3 = Action::PickSource(storyline_domain::source::SourceKind::S3).encode(workspace.id);
    world.press(BOB, menu, &s3).await;
    assert_eq!(world.answers().last().map(String::as_str), Some(SOURCE_REFUSED));
    assert!(world.store.pending(workspace.id, BOB, world.clock.now()).await.ok().flatten().is_none());
}

#[tokio::test]
async fn a_folder_outside_media_dir_is_refused_and_a_good_one_is_saved_and_shown() {
    let (mut world, _) = with_sources(sealing_world());
    let menu = world.open_picker(ALICE).await;
    let picker = world.chat.message(TEAM, menu).unwrap_or_else(|| panic!("no picker"));
    world.press(ALICE, menu, &button_data(&picker, "Local folder")).await;
    assert!(world.last_sent().1.text.to_plain().contains("inside MEDIA_DIR"));
    for outside in ["../etc", "stories/../../etc"] {
        world.say(ALICE, outside).await;
        let said = world.last_sent().1.text.to_plain();
        assert!(said.contains("must be inside MEDIA_DIR (/srv/media)") && said.contains("Nothing was saved"), "{said}");
        assert_eq!(world.current_source().await, None, "nothing saved");
    }
    world.say(ALICE, "stories").await;
    assert_eq!(world.current_source().await, Some(SourceConfig::Local { root: "/srv/media/stories".into() }));
    let told = world.last_sent().1.text.to_plain();
    assert!(told.contains("@alice changed the media source to local /srv/media/stories"), "{told}");
    let menu_now = world.chat.message(TEAM, menu).unwrap_or_else(|| panic!("no menu")).text.to_plain();
    assert!(menu_now.contains("Media: local /srv/media/stories"), "{menu_now}");
    let workspace = world.workspace().await;
    assert!(world.store.pending(workspace.id, ALICE, world.clock.now()).await.ok().flatten().is_none());
}

#[tokio::test]
async fn the_s3_secret_is_refused_in_the_team_chat_and_taken_privately_then_deleted() {
    let (mut world, factory) = with_sources(sealing_world());
    let menu = world.open_picker(ALICE).await;
    let picker = world.chat.message(TEAM, menu).unwrap_or_else(|| panic!("no picker"));
    world.press(ALICE, menu, &button_data(&picker, "S3 bucket")).await;
    for answer in ["team-stories", "-", "http://127.0.0.1:9000", "us-east-1", "yes", "AKIAEXAMPLE"] {
        world.say(ALICE, answer).await;
    }
    assert!(world.last_sent().1.text.to_plain().contains("private chat"));
    let workspace = world.workspace().await;
    let waiting = world.store.pending(workspace.id, ALICE, world.clock.now()).await.ok().flatten();
    assert_eq!(waiting.as_ref().map(|p| p.kind), Some(PromptKind::SourceS3Secret));
    assert!(waiting.is_some_and(|p| p.draft.len() == 6 && !p.draft.iter().any(|a| a.contains(SECRET))));

    // In the team chat: deleted, refused, nothing saved, the prompt still waits.
    world.say(ALICE, SECRET).await;
    let team_message = MessageId(world.next);
    assert!(world.chat.delete_attempts().contains(&(TEAM, team_message)));
    assert!(world.last_sent().1.text.to_plain().contains("only in a private chat"));
    assert_eq!(world.current_source().await, None);
    assert!(factory.0.lock().unwrap_or_else(PoisonError::into_inner).is_empty(), "the secret was not used");

    // In the private chat: deleted after reading, used once to try the bucket, then saved.
    let private = world.say_privately(ALICE, SECRET).await;
    assert!(world.chat.delete_attempts().contains(&(ChatId(ALICE.0), private)));
    assert_eq!(factory.0.lock().unwrap_or_else(PoisonError::into_inner).clone(), vec![SECRET.to_owned()]);
    let saved = world.current_source().await;
    assert!(
        matches!(&saved, Some(SourceConfig::S3 { bucket, endpoint: Some(e), path_style: true, .. }) if bucket == "team-stories" && e == "http://127.0.0.1:9000"),
        "{saved:?}"
    );
    let (_, secret) = world.store.current_source(workspace.id).await.ok().flatten().unwrap_or_else(|| panic!("saved"));
    assert_eq!(secret.map(|s| s.expose_secret().to_owned()).as_deref(), Some(SECRET));
    let texts = world.every_text();
    assert!(texts.contains("@alice changed the media source to s3://team-stories"), "{texts}");
    assert!(texts.contains("Saved: the media source is now s3://team-stories"), "{texts}");
    assert!(!texts.contains(SECRET) && !texts.contains("EXAMPLEKEY"), "the secret was echoed: {texts}");
    assert!(world.store.pending(workspace.id, ALICE, world.clock.now()).await.ok().flatten().is_none());
}

#[tokio::test]
async fn the_drive_dialogue_asks_the_folder_then_the_key_privately() {
    let (mut world, factory) = with_sources(sealing_world());
    let menu = world.open_picker(ALICE).await;
    let picker = world.chat.message(TEAM, menu).unwrap_or_else(|| panic!("no picker"));
    world.press(ALICE, menu, &button_data(&picker, "Google Drive")).await;
    world.say(ALICE, "1AbCdEfGh_-x").await;
    assert!(world.last_sent().1.text.to_plain().contains("JSON key"));
    let key = r#"{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----SECRETSTUFF"}"#;
    world.say_privately(ALICE, key).await;
    assert_eq!(world.current_source().await, Some(SourceConfig::Drive { folder_id: "1AbCdEfGh_-x".into() }));
    assert_eq!(factory.0.lock().unwrap_or_else(PoisonError::into_inner).clone(), vec![key.to_owned()]);
    assert!(!world.every_text().contains("SECRETSTUFF"));
}

#[tokio::test]
async fn forged_media_source_callback_data_is_refused() {
    let (mut world, _) = with_sources(sealing_world());
    world.say(ALICE, "/settings").await;
    let (menu, _) = world.last_sent();
    let workspace = world.workspace().await;
    let tag = &workspace.id.as_uuid().simple().to_string()[..8];
    for forged in [
        format!("1:{tag}:m.ftp"),
        format!("1:{tag}:m.s3x"),
        "1:00000000:m.s3".to_owned(),
        format!("1:{tag}:m.local:.."),
    ] {
        world.press(ALICE, menu, &forged).await;
        assert_eq!(
            world.answers().last().map(String::as_str),
            Some("This button is no longer valid. Open /settings again.")
        );
    }
    assert!(world.store.pending(workspace.id, ALICE, world.clock.now()).await.ok().flatten().is_none());
    assert_eq!(world.current_source().await, None);
}
