//! Who may do what, through the whole bot: a member is refused every admin operation with the
//! table's one sentence for it, and nothing changes.

use storyline_domain::account::AccountId;
use storyline_domain::conversation::PendingPrompt;
use storyline_domain::library::{MediaContent, StillFormat};
use storyline_domain::ports::{Conversations as _, MockMediaSource, SourceEntry, SourceFile};

use super::*;
use crate::access::{self, QUEUE_REFUSED, Rule, SETTINGS_REFUSED, STORY_REFUSED};
use crate::action::{OverdueChoice, StoryMove};
use crate::command::CommandName;
use crate::library::{LibraryService, Quiet};
use crate::posting::StoryPorts;
use crate::scheduling::{Scheduler, SeededJitter};

/// A library of three files whose bytes must never be read: a refused member sends nothing.
fn library() -> MockMediaSource {
    let mut source = MockMediaSource::new();
    source.expect_list().returning(|| {
        Ok(["memes/a.png", "memes/b.png", "cats/c.png"]
            .map(|path| SourceEntry { path: path.into(), size_bytes: 100, checksum: None, modified: None })
            .to_vec())
    });
    source.expect_describe().returning(|path| {
        Ok(SourceFile {
            path: path.to_owned(),
            extension: "png".to_owned(),
            size_bytes: 3,
            sha256: format!("{:0>64x}", path.len() * 7 + usize::from(path.as_bytes()[0])),
            content: MediaContent::Still { format: StillFormat::Png, width: 1080, height: 1920 },
        })
    });
    source.expect_locate().returning(|path| format!("/srv/{path}"));
    source
}

/// The usual world, with the story desk, an indexed library and a queue for two days.
async fn world_with_a_queue() -> (World, WorkspaceId) {
    let World { bot, store, chat, clock, next } = world();
    let scheduler = Scheduler::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(clock.clone()),
    );
    let stories = Stories::new(
        StoryPorts {
            queue: Arc::new(store.clone()),
            history: Arc::new(store.clone()),
            locks: Arc::new(store.clone()),
            settings: Arc::new(store.clone()),
            source: Arc::new(library()),
            notifier: Arc::new(chat.clone()),
            clock: Arc::new(clock.clone()),
            library: Arc::new(store.clone()),
        },
        scheduler.clone(),
    );
    let mut world = World { bot: bot.with_stories(stories), store, chat, clock, next };
    world.say(ALICE, "/start").await;
    let workspace = world.workspace().await.id;
    let indexed = LibraryService::new(Arc::new(world.store.clone()), Arc::new(world.clock.clone()))
        .index(workspace, &library(), &Quiet)
        .await;
    assert!(indexed.is_ok(), "{indexed:?}");
    let scheduled = scheduler.schedule(workspace, 2, &mut SeededJitter::new(1)).await;
    assert!(scheduled.is_ok_and(|report| report.queued > 0));
    (world, workspace)
}

/// What a refused operation must leave as it was.
#[derive(Debug, PartialEq)]
struct Snapshot {
    settings: ChatSettings,
    queue: Vec<storyline_domain::queue::QueueEntry>,
    handled: usize,
}

async fn snapshot(world: &World, workspace: WorkspaceId) -> Snapshot {
    Snapshot {
        settings: world.settings().await,
        queue: storyline_domain::ports::Queue::entries(&world.store, workspace, 100)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        handled: storyline_domain::ports::History::history(&world.store, workspace, 100)
            .await
            .map(|h| h.len())
            .unwrap_or_else(|e| panic!("{e}")),
    }
}

/// Nothing but refusals went to the chat: no message edited, deleted or sent as a story.
fn only_refusals(world: &World) {
    for call in world.chat.calls() {
        match call {
            ChatCall::Sent { screen, .. } => {
                let text = screen.text.to_plain();
                assert!(text.starts_with("Admins only:") || text.starts_with("Owners only:"), "{text}");
                assert_eq!(screen.buttons().count(), 0, "{text}");
            }
            ChatCall::Answered { note, alert, .. } => {
                assert!(note.starts_with("Admins only:") && alert, "{note}");
            }
            other => panic!("a refused member caused {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_member_is_refused_every_admin_command_with_its_one_sentence_and_nothing_changes() {
    let (mut world, workspace) = world_with_a_queue().await;
    world.say(ALICE, "/pause").await;
    let before = snapshot(&world, workspace).await;
    assert!(!before.queue.is_empty() && before.settings.is_paused());
    world.chat.clear_calls();

    // Every command a member may not use: the admins' and the owner's (/admins).
    let admin_only: Vec<_> =
        CommandName::ALL.into_iter().filter(|&c| !access::menu(Role::Member).contains(&c)).collect();
    assert_eq!(admin_only.len(), 10, "{admin_only:?}");
    for command in admin_only {
        let refusal = access::rule(Operation::Command(command)).refusal;
        // With and without arguments: wrong arguments from a member are refused the same way.
        for args in ["", " 3", " 99", " on"] {
            let sent = world.chat.calls().len();
            world.say(BOB, &format!("/{}{args}", command.as_str())).await;
            assert_eq!(world.last_sent().1.text.to_plain(), refusal, "/{}{args}", command.as_str());
            assert!(world.chat.calls().len() > sent, "/{}{args} was answered", command.as_str());
            // A repeated refusal is said once per burst; the next try starts a new one.
            world.clock.advance(Duration::seconds(31));
        }
    }
    world.say(BOB, "/next").await;
    assert_eq!(world.last_sent().1.text.to_plain(), QUEUE_REFUSED);
    world.say(BOB, "/resume").await;
    assert_eq!(world.last_sent().1.text.to_plain(), SETTINGS_REFUSED);
    // Within a burst, the same refusal again is not repeated, and still changes nothing.
    let sent = world.chat.calls().len();
    world.say(BOB, "/pause").await;
    assert_eq!(world.chat.calls().len(), sent);
    only_refusals(&world);
    assert_eq!(snapshot(&world, workspace).await, before);
}

#[tokio::test]
async fn a_member_is_refused_every_admin_button_with_its_one_sentence_and_nothing_changes() {
    let (mut world, workspace) = world_with_a_queue().await;
    world.say(BOB, "/settings").await;
    let (menu, _) = world.last_sent();
    let before = snapshot(&world, workspace).await;
    let item = before.queue.first().map(|e| e.item.id).unwrap_or_else(|| panic!("no queue"));
    world.chat.clear_calls();

    let variable = [
        Action::Story(StoryMove::Reject, item),
        Action::Story(StoryMove::ConfirmReject, item),
        Action::Story(StoryMove::NeedsInteraction, item),
        Action::ScheduleDays(3),
        Action::SelectAccount(AccountId::new()),
    ];
    let admin_buttons: Vec<Action> =
        Action::fixed().chain(variable).filter(|&a| !access::rule(Operation::Button(a)).allows(Role::Member)).collect();
    assert_eq!(admin_buttons.len(), 24, "{admin_buttons:?}");
    for action in admin_buttons {
        world.press(BOB, menu, &action.encode(workspace)).await;
        let Rule { refusal, .. } = access::rule(Operation::Button(action));
        assert_eq!(world.answers().last().map(String::as_str), Some(refusal), "{action:?}");
    }
    for (action, expected) in [
        (Action::Toggle(Toggle::Paused), SETTINGS_REFUSED),
        (Action::ClearQueue, QUEUE_REFUSED),
        (Action::Overdue(OverdueChoice::SendNow), QUEUE_REFUSED),
        (Action::Story(StoryMove::ConfirmReject, item), STORY_REFUSED),
    ] {
        world.press(BOB, menu, &action.encode(workspace)).await;
        assert_eq!(world.answers().last().map(String::as_str), Some(expected), "{action:?}");
    }
    only_refusals(&world);
    assert_eq!(snapshot(&world, workspace).await, before);
}

#[tokio::test]
async fn a_member_answering_a_settings_prompt_is_refused_and_the_prompt_ends() {
    let (mut world, workspace) = world_with_a_queue().await;
    let before = snapshot(&world, workspace).await;
    for (kind, answer) in [(PromptKind::PostsPerDay, "5"), (PromptKind::TimeZone, "Asia/Tokyo")] {
        // A prompt left from when Bob was an admin.
        let prompt = PendingPrompt::new(BOB, kind, None, world.clock.now());
        assert!(world.store.put(workspace, &prompt).await.is_ok());
        world.chat.clear_calls();
        world.say(BOB, answer).await;
        assert_eq!(world.last_sent().1.text.to_plain(), SETTINGS_REFUSED);
        only_refusals(&world);
        let left = world.store.pending(workspace, BOB, world.clock.now()).await;
        assert!(left.is_ok_and(|p| p.is_none()), "the prompt is gone");
    }
    assert_eq!(snapshot(&world, workspace).await, before);
}
