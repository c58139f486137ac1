//! The console chat driven through its input, read through its output.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use storyline_application::SettingsService;
use storyline_application::bot::{Bot, BotConfig, BotPorts};
use storyline_console::{ConsoleChat, run};
use storyline_domain::ChatId;
use storyline_domain::ports::SettingsStore;
use storyline_domain::settings::SettingsDefaults;
use storyline_domain::user::{TelegramUserId, User};
use storyline_memory::{ManualClock, MemoryStore};

/// An output the test can read while the console writes to it.
#[derive(Clone, Default)]
struct Screen(Arc<Mutex<Vec<u8>>>);

impl Write for Screen {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Screen {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

#[tokio::test]
async fn the_settings_menu_works_by_typing_commands_and_button_numbers() -> anyhow::Result<()> {
    let me = TelegramUserId(1);
    let chat = ChatId(1);
    let store = MemoryStore::new();
    let clock = ManualClock::at(chrono::DateTime::UNIX_EPOCH);
    let output = Screen::default();
    let console = ConsoleChat::new(Box::new(output.clone()), me);
    let settings = SettingsService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(clock.clone()),
        SettingsDefaults::default(),
    );
    let ports = BotPorts {
        users: Arc::new(store.clone()),
        audit: Arc::new(store.clone()),
        conversations: Arc::new(store.clone()),
        notifier: Arc::new(console.clone()),
        admins: Arc::new(console.clone()),
        clock: Arc::new(clock),
    };
    let bot = Bot::new(settings, ports, BotConfig::team(chat, HashSet::new()));
    let user = User { telegram_id: me, username: None, first_name: "You".into(), last_name: None };

    let typed = "/settings\n1\n4\n0\n7\n99\n/quit\n/pause\n";
    run(&bot, &console, typed.as_bytes(), chat, user).await?;

    let shown = output.text();
    assert!(shown.contains("[1] ✅ Dry run: ON"), "{shown}");
    assert!(shown.contains("↳ Dry run off"), "pressing 1 toggles dry run:\n{shown}");
    assert!(shown.contains("[1] ⬜ Dry run: off"), "the menu is reprinted:\n{shown}");
    assert!(shown.contains("Send the number of posts per day"), "pressing 4 asks:\n{shown}");
    assert!(shown.contains("Posts per day must be a whole number from 1 to 50"), "0 is refused:\n{shown}");
    assert!(shown.contains("Posts per day: 3 → 7"), "7 is taken:\n{shown}");
    assert!(!shown.contains("Paused."), "input after /quit is not read:\n{shown}");
    assert!(shown.contains("no button 99 here; the buttons are 1–"), "a number with no button says so:\n{shown}");

    let workspace = store.workspace_by_chat(chat).await?.ok_or_else(|| anyhow::anyhow!("no workspace"))?;
    let now = store.settings(workspace.id).await?;
    assert!(!now.dry_run);
    assert_eq!(now.posts_per_day.get(), 7);
    Ok(())
}

/// Files served from memory.
struct Files;

#[async_trait::async_trait]
impl storyline_domain::ports::MediaSource for Files {
    async fn list(&self) -> Result<Vec<storyline_domain::ports::SourceEntry>, storyline_domain::ports::SourceError> {
        Ok(vec![storyline_domain::ports::SourceEntry {
            path: "memes/a.png".to_owned(),
            size_bytes: 3,
            checksum: None,
            modified: None,
        }])
    }

    async fn describe(
        &self,
        path: &str,
    ) -> Result<storyline_domain::ports::SourceFile, storyline_domain::ports::SourceError> {
        Ok(storyline_domain::ports::SourceFile {
            path: path.to_owned(),
            extension: "png".to_owned(),
            size_bytes: 3,
            sha256: "ab".repeat(32),
            content: storyline_domain::library::MediaContent::Still {
                format: storyline_domain::library::StillFormat::Png,
                width: 1080,
                height: 1920,
            },
        })
    }

    async fn read(&self, _path: &str) -> Result<Vec<u8>, storyline_domain::ports::SourceError> {
        Ok(vec![1, 2, 3])
    }

    fn locate(&self, path: &str) -> String {
        format!("/srv/media/{path}")
    }
}

#[tokio::test]
async fn a_due_story_shows_its_file_and_buttons_and_posted_resolves_it() -> anyhow::Result<()> {
    use storyline_application::library::{LibraryService, Quiet};
    use storyline_application::posting::{Stories, StoryPorts};
    use storyline_application::scheduling::{Scheduler, SeededJitter};

    let me = TelegramUserId(1);
    let chat = ChatId(1);
    let store = MemoryStore::new();
    let clock = ManualClock::at(chrono::DateTime::UNIX_EPOCH);
    let output = Screen::default();
    let console = ConsoleChat::new(Box::new(output.clone()), me);
    let settings = SettingsService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(clock.clone()),
        SettingsDefaults::default(),
    );
    let workspace = settings.workspace_for_chat(chat, "Console").await?;
    LibraryService::new(Arc::new(store.clone()), Arc::new(clock.clone())).index(workspace.id, &Files, &Quiet).await?;
    let scheduler = Scheduler::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(clock.clone()),
    );
    scheduler.schedule(workspace.id, 1, &mut SeededJitter::new(1)).await?;
    let stories = Stories::new(
        StoryPorts {
            queue: Arc::new(store.clone()),
            history: Arc::new(store.clone()),
            locks: Arc::new(store.clone()),
            settings: Arc::new(store.clone()),
            source: Arc::new(Files),
            notifier: Arc::new(console.clone()),
            clock: Arc::new(clock.clone()),
            library: Arc::new(store.clone()),
        },
        scheduler,
    );
    let ports = BotPorts {
        users: Arc::new(store.clone()),
        audit: Arc::new(store.clone()),
        conversations: Arc::new(store.clone()),
        notifier: Arc::new(console.clone()),
        admins: Arc::new(console.clone()),
        clock: Arc::new(clock.clone()),
    };
    let bot = Bot::new(settings, ports, BotConfig::team(chat, HashSet::new())).with_stories(stories.clone());
    clock.advance(chrono::Duration::days(2));
    assert_eq!(stories.tick().await?.sent, 1);
    let shown = output.text();
    assert!(shown.contains("── image /srv/media/memes/a.png ──"), "{shown}");
    assert!(shown.contains("Posted") && shown.contains("Skip") && shown.contains("Reject"), "{shown}");
    assert!(shown.contains("Open Instagram"), "{shown}");

    let user = User { telegram_id: me, username: None, first_name: "You".into(), last_name: None };
    run(&bot, &console, "1\n1\n".as_bytes(), chat, user).await?;
    let shown = output.text();
    assert!(shown.contains("↳ Marked as posted"), "{shown}");
    assert!(shown.contains("Posted by You"), "{shown}");
    let history = stories.desk().history(workspace.id, 10).await?;
    assert_eq!(history.len(), 1, "the second press changes nothing");
    Ok(())
}
