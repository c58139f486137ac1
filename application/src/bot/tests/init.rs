//! Many workspaces in one bot (FEATURES T1): without a team chat, a chat without a workspace
//! hears only `/start`, `/help` and `/init`; the wizard sets one up, survives a restart, times
//! out, can be cancelled, and answers only the person who started it.

use storyline_domain::conversation::PromptKind;
use storyline_domain::init::WIZARD_LIFETIME;
use storyline_domain::ports::{Audit as _, Conversations, InitWizards};

use super::*;
use crate::bot::init::{INIT_REFUSED, NO_WORKSPACE};

const ACME: ChatId = ChatId(-100_301);
const OTHER: ChatId = ChatId(-100_302);

/// A bot serving every chat with a workspace, on `store`, asked with `allowed` for `/init`.
fn many(store: &MemoryStore, chat: &RecordingChat, clock: &ManualClock, allowed: Option<&[TelegramUserId]>) -> Bot {
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
        notifier: Arc::new(chat.clone()),
        admins: Arc::new(chat.clone()),
        clock: Arc::new(clock.clone()),
    };
    let config = BotConfig {
        team_chat: None,
        admin_ids: HashSet::new(),
        init_allowed: allowed.map(|ids| ids.iter().copied().collect()),
    };
    Bot::new(settings, ports, config).with_init(Arc::new(store.clone()))
}

struct Many {
    bot: Bot,
    store: MemoryStore,
    chat: RecordingChat,
    clock: ManualClock,
    next: i32,
}

impl Many {
    fn new(allowed: Option<&[TelegramUserId]>) -> Self {
        let (store, chat) = (MemoryStore::new(), RecordingChat::new());
        let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).single().unwrap_or_default());
        Self { bot: many(&store, &chat, &clock, allowed), store, chat, clock, next: 100 }
    }

    async fn say(&mut self, chat: ChatId, from: TelegramUserId, text: &str) {
        self.next += 1;
        let incoming = Incoming {
            chat,
            chat_title: Some("Acme Stories".to_owned()),
            from: Some(user(from, name_of(from))),
            event: Event::from_message(text, MessageId(self.next)),
        };
        self.bot.handle(incoming).await;
    }

    async fn press(&mut self, chat: ChatId, from: TelegramUserId, message: MessageId, data: &str) {
        self.next += 1;
        let incoming = Incoming {
            chat,
            chat_title: None,
            from: Some(user(from, name_of(from))),
            event: Event::Press {
                id: PressId(format!("p{}", self.next)),
                data: data.to_owned(),
                message: Some(message),
            },
        };
        self.bot.handle(incoming).await;
    }

    /// The last message the bot sent or edited in `chat`, with its id.
    fn shown(&self, chat: ChatId) -> (MessageId, Screen) {
        let last = self.chat.calls().into_iter().rev().find_map(|call| match call {
            ChatCall::Sent { chat: c, message, .. } | ChatCall::Edited { chat: c, message, .. } if c == chat => {
                Some(message)
            }
            _ => None,
        });
        let message = last.unwrap_or_else(|| panic!("nothing shown in {chat}: {:?}", self.chat.calls()));
        (message, self.chat.message(chat, message).unwrap_or_default())
    }

    fn text(&self, chat: ChatId) -> String {
        self.shown(chat).1.text.to_plain()
    }

    /// Presses the button labelled `label` on the newest message in `chat` that has one.
    async fn press_label(&mut self, chat: ChatId, from: TelegramUserId, label: &str) {
        let found = self.chat.calls().into_iter().rev().find_map(|call| match call {
            ChatCall::Sent { chat: c, message, .. } | ChatCall::Edited { chat: c, message, .. } if c == chat => {
                let screen = self.chat.message(chat, message)?;
                let has = screen.buttons().any(|b| b.label.contains(label));
                has.then_some((message, screen))
            }
            _ => None,
        });
        let (message, screen) = found.unwrap_or_else(|| panic!("no button {label:?} in {chat}"));
        self.press(chat, from, message, &button_data(&screen, label)).await;
    }

    fn answers(&self) -> Vec<String> {
        self.chat
            .calls()
            .into_iter()
            .filter_map(|call| match call {
                ChatCall::Answered { note, .. } => Some(note),
                _ => None,
            })
            .collect()
    }

    async fn workspace(&self, chat: ChatId) -> Option<Workspace> {
        self.store.workspace_by_chat(chat).await.unwrap_or_else(|e| panic!("{e}"))
    }
}

#[tokio::test]
async fn a_chat_without_a_workspace_hears_only_start_help_and_init_and_nothing_is_created() {
    let mut world = Many::new(None);
    world.say(ACME, BOB, "/settings").await;
    assert_eq!(world.text(ACME), NO_WORKSPACE);
    let said = world.chat.calls().len();
    world.say(ACME, BOB, "/queue").await;
    world.say(ACME, BOB, "hello there").await;
    assert_eq!(world.chat.calls().len(), said, "one refusal per burst; plain text gets nothing");
    world.say(ACME, BOB, "/help").await;
    assert!(world.text(ACME).contains("/init"), "{}", world.text(ACME));
    world.say(ACME, BOB, "/start").await;
    assert!(world.text(ACME).contains("/init"));
    // A forged settings button naming a made-up workspace changes nothing either.
    let forged = crate::action::Action::Toggle(storyline_domain::settings::Toggle::Paused).encode(WorkspaceId::new());
    world.press(ACME, BOB, MessageId(1), &forged).await;
    assert_eq!(world.answers().last().map(String::as_str), Some(NO_WORKSPACE));
    assert_eq!(world.workspace(ACME).await, None);
    assert!(world.store.workspaces().await.unwrap_or_default().is_empty(), "no workspace behind anyone's back");
}

#[tokio::test]
async fn the_wizard_sets_up_a_workspace_with_its_answers_and_the_confirmer_as_owner() {
    let mut world = Many::new(None);
    world.say(ACME, ALICE, "/init").await;
    assert!(world.text(ACME).contains("(1/6) — name"), "{}", world.text(ACME));
    world.say(ACME, ALICE, "Acme").await;
    assert!(world.text(ACME).contains("time zone"));
    world.say(ACME, ALICE, "Mars/Olympus").await;
    assert!(world.text(ACME).contains("Mars/Olympus"), "a wrong zone is refused: {}", world.text(ACME));
    world.say(ACME, ALICE, "europe/berlin").await;
    world.say(ACME, ALICE, "0").await;
    assert_eq!(world.text(ACME), "Posts per day must be a whole number from 1 to 50.");
    world.say(ACME, ALICE, "5").await;
    world.say(ACME, ALICE, "9-9").await;
    assert_eq!(world.text(ACME), "The start and the end must be different hours.");
    world.say(ACME, ALICE, "9-21").await;
    world.say(ACME, ALICE, "s3").await;
    assert!(world.text(ACME).contains("buttons"), "the media step takes buttons only");
    world.press_label(ACME, ALICE, "Its own folder").await;
    world.press_label(ACME, ALICE, "Later").await;
    let summary = world.text(ACME);
    for expected in ["Name: Acme", "Time zone: Europe/Berlin", "Posts per day: 5", "Posting hours: 09:00–21:00"] {
        assert!(summary.contains(expected), "{expected:?} missing from {summary}");
    }
    assert_eq!(world.workspace(ACME).await, None, "nothing exists before Confirm");
    world.press_label(ACME, ALICE, "Confirm").await;

    let workspace = world.workspace(ACME).await.unwrap_or_else(|| panic!("no workspace after Confirm"));
    assert_eq!(workspace.name, "Acme");
    assert!(world.text(ACME).contains("Acme is set up"), "{}", world.text(ACME));
    let settings = world.store.settings(workspace.id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settings.posts_per_day.get(), 5);
    assert_eq!((settings.window.start().get(), settings.window.end().get()), (9, 21));
    assert_eq!(settings.time_zone, chrono_tz::Tz::Europe__Berlin);
    let owner = world.store.member(workspace.id, ALICE).await.ok().flatten().map(|m| m.role);
    assert_eq!(owner, Some(Role::Owner));
    let audit = world.store.entries(workspace.id, AuditQuery { action: None, limit: 100 }).await.unwrap_or_default();
    assert!(audit.iter().any(|e| e.action == AuditAction::Workspace && e.new.as_deref() == Some("Acme")), "{audit:?}");
    assert_eq!(
        InitWizards::pending(&world.store, ACME, world.clock.now()).await.ok().flatten(),
        None,
        "the wizard is gone"
    );

    // The chat is served now: /settings shows the menu, /init says it is set up.
    world.say(ACME, BOB, "/settings").await;
    assert!(world.text(ACME).contains("Posts per day: 5"), "{}", world.text(ACME));
    world.say(ACME, BOB, "/init").await;
    assert!(world.text(ACME).contains("already has a workspace, Acme"));
    assert_eq!(world.workspace(OTHER).await, None, "another chat is untouched");
}

#[tokio::test]
async fn the_wizard_survives_a_restart_goes_back_and_keeps_suggestions() {
    let mut world = Many::new(None);
    world.say(ACME, ALICE, "/init").await;
    world.press_label(ACME, ALICE, "Keep").await;
    world.press_label(ACME, ALICE, "Asia/Tokyo").await;
    // A new process on the same store: the wizard goes on where it was.
    world.bot = many(&world.store, &world.chat, &world.clock, None);
    assert!(world.text(ACME).contains("posts per day"), "{}", world.text(ACME));
    world.press_label(ACME, ALICE, "Back").await;
    let kept = labels(&world.shown(ACME).1);
    assert!(kept.iter().any(|l| l == "Keep Asia/Tokyo"), "back keeps the answer: {kept:?}");
    for label in ["Keep", "Keep", "Keep", "S3 bucket", "Add an account"] {
        world.press_label(ACME, ALICE, label).await;
    }
    let summary = world.text(ACME);
    assert!(summary.contains("Name: Acme Stories") && summary.contains("Asia/Tokyo"), "{summary}");
    world.press_label(ACME, ALICE, "Confirm").await;
    let workspace = world.workspace(ACME).await.unwrap_or_else(|| panic!("no workspace"));
    // The S3 dialogue starts at once, for the owner.
    let prompt = Conversations::pending(&world.store, workspace.id, ALICE, world.clock.now())
        .await
        .ok()
        .flatten()
        .map(|p| p.kind);
    assert_eq!(prompt, Some(PromptKind::SourceS3Bucket));
}

#[tokio::test]
async fn only_the_starter_answers_a_cancel_ends_it_and_a_timeout_forgets_it() {
    let mut world = Many::new(None);
    world.say(ACME, ALICE, "/init").await;
    let asked = world.text(ACME);
    world.say(ACME, BOB, "Bob's name").await;
    world.press_label(ACME, BOB, "Keep").await;
    assert_eq!(world.text(ACME), asked, "Bob's answer and press do not move Alice's wizard");
    assert_eq!(
        world.answers().last().map(String::as_str),
        Some("Only the person who started the setup can answer it.")
    );
    world.say(ACME, BOB, "/init").await;
    assert!(world.text(ACME).contains("Someone else is setting up this chat"), "{}", world.text(ACME));
    world.say(ACME, BOB, "/cancel").await;
    assert!(world.text(ACME).contains("Only the person who started"));
    world.say(ACME, ALICE, "cancel").await;
    assert!(world.text(ACME).contains("Setup cancelled; nothing was created"));
    assert_eq!(InitWizards::pending(&world.store, ACME, world.clock.now()).await.ok().flatten(), None);

    world.say(ACME, ALICE, "/init").await;
    let (message, screen) = world.shown(ACME);
    world.clock.advance(WIZARD_LIFETIME + Duration::seconds(1));
    world.press(ACME, ALICE, message, &button_data(&screen, "Keep")).await;
    assert_eq!(world.answers().last().map(String::as_str), Some("This setup has ended; /init starts again."));
    world.say(ACME, ALICE, "A name after the timeout").await;
    assert_eq!(world.workspace(ACME).await, None);
}

#[tokio::test]
async fn init_allowed_user_ids_limits_who_may_create_a_workspace() {
    let mut world = Many::new(Some(&[ALICE]));
    world.say(ACME, BOB, "/init").await;
    assert_eq!(world.text(ACME), INIT_REFUSED);
    assert_eq!(InitWizards::pending(&world.store, ACME, world.clock.now()).await.ok().flatten(), None);
    world.say(ACME, ALICE, "/init").await;
    assert!(world.text(ACME).contains("(1/6)"));
    // In a private chat, /init alone says what it is for there.
    world.say(ChatId(ALICE.0), ALICE, "/init").await;
    assert!(world.text(ChatId(ALICE.0)).contains("sets up a channel"), "{}", world.text(ChatId(ALICE.0)));
    world.say(ChatId(BOB.0), BOB, "/init -100999").await;
    assert_eq!(world.text(ChatId(BOB.0)), INIT_REFUSED, "the list applies to channels too");
}

#[tokio::test]
async fn a_channel_is_set_up_by_its_administrator_in_a_private_chat() {
    const CHANNEL: ChatId = ChatId(-100_777);
    let mut world = Many::new(None);
    world.next += 1;
    let post = Incoming {
        chat: CHANNEL,
        chat_title: Some("News".to_owned()),
        from: None,
        event: Event::from_message("/init", MessageId(world.next)),
    };
    world.bot.handle(post).await;
    assert!(world.text(CHANNEL).contains("/init -100777"), "{}", world.text(CHANNEL));

    let (alice, bob) = (ChatId(ALICE.0), ChatId(BOB.0));
    world.say(alice, ALICE, "/init -100777").await;
    assert!(world.text(alice).contains("Only an administrator"), "{}", world.text(alice));
    world.chat.set_admins(CHANNEL, vec![ALICE]);
    world.say(bob, BOB, "/init -100777").await;
    assert!(world.text(bob).contains("Only an administrator"), "{}", world.text(bob));
    for wrong in ["/init news", "/init 42", "/init"] {
        world.say(alice, ALICE, wrong).await;
        assert!(world.text(alice).contains("sets up a channel"), "{wrong}: {}", world.text(alice));
    }
    assert_eq!(InitWizards::pending(&world.store, alice, world.clock.now()).await.ok().flatten(), None);

    world.say(alice, ALICE, "/init -100777").await;
    assert!(world.text(alice).contains("(1/6)"), "{}", world.text(alice));
    world.say(alice, ALICE, "News Desk").await;
    for label in ["Keep", "Keep", "Keep", "Its own folder", "Later", "Confirm"] {
        world.press_label(alice, ALICE, label).await;
    }
    let workspace = world.workspace(CHANNEL).await.unwrap_or_else(|| panic!("no workspace for the channel"));
    assert_eq!(workspace.name, "News Desk");
    assert_eq!(world.workspace(alice).await, None, "the private chat gets no workspace");
    let owner = world.store.member(workspace.id, ALICE).await.ok().flatten().map(|m| m.role);
    assert_eq!(owner, Some(Role::Owner));
    assert!(world.text(alice).contains("News Desk is set up"), "{}", world.text(alice));
    assert!(world.text(CHANNEL).contains("is set up here"), "{}", world.text(CHANNEL));
    assert_eq!(InitWizards::pending(&world.store, alice, world.clock.now()).await.ok().flatten(), None);

    world.say(alice, ALICE, "/init -100777").await;
    assert!(world.text(alice).contains("already has a workspace"), "{}", world.text(alice));
    // The channel is served now: a channel post is an admin's.
    world.next += 1;
    let status = Incoming {
        chat: CHANNEL,
        chat_title: Some("News".to_owned()),
        from: None,
        event: Event::from_message("/pause", MessageId(world.next)),
    };
    world.bot.handle(status).await;
    assert!(world.store.settings(workspace.id).await.map(|s| s.is_paused()).unwrap_or_default());
}

#[tokio::test]
async fn two_workspaces_each_see_only_their_own_and_buttons_do_not_cross() {
    let mut world = Many::new(None);
    for chat in [ACME, OTHER] {
        world.say(chat, ALICE, "/init").await;
        for label in ["Keep", "Keep", "Keep", "Keep", "Its own folder", "Later", "Confirm"] {
            world.press_label(chat, ALICE, label).await;
        }
    }
    let (acme, other) = match (world.workspace(ACME).await, world.workspace(OTHER).await) {
        (Some(a), Some(o)) => (a, o),
        missing => panic!("two workspaces expected: {missing:?}"),
    };
    assert_ne!(acme.id, other.id);
    world.say(ACME, ALICE, "/settings").await;
    let (menu, screen) = world.shown(ACME);
    let pause = button_data(&screen, "Active");
    // Acme's Pause button, pressed on a message in the other chat: refused, nothing changes.
    world.press(OTHER, ALICE, menu, &pause).await;
    assert_eq!(
        world.answers().last().map(String::as_str),
        Some("This button is no longer valid. Open /settings again.")
    );
    let store = world.store.clone();
    let paused = |id| {
        let store = store.clone();
        async move { store.settings(id).await.map(|s| s.is_paused()).unwrap_or_default() }
    };
    assert!(!paused(acme.id).await && !paused(other.id).await);
    world.press(ACME, ALICE, menu, &pause).await;
    assert!(paused(acme.id).await && !paused(other.id).await, "the press works in its own chat only");
}

#[tokio::test]
async fn a_secret_sent_privately_goes_to_the_workspace_that_asked_for_it() {
    let mut world = Many::new(None);
    world.say(ACME, ALICE, "/init").await;
    for label in ["Keep", "Keep", "Keep", "Keep", "Its own folder", "Add an account", "Confirm"] {
        world.press_label(ACME, ALICE, label).await;
    }
    let workspace = world.workspace(ACME).await.unwrap_or_else(|| panic!("no workspace"));
    let waiting = world.store.newest_anywhere(ALICE, world.clock.now()).await.ok().flatten();
    assert_eq!(waiting.map(|(w, p)| (w.id, p.kind)), Some((workspace.id, PromptKind::InstagramAccount)));
}

async fn life(world: &mut Many, chat: ChatId, event: Event) {
    let incoming = Incoming { chat, chat_title: Some("Acme".into()), from: Some(user(ALICE, "Alice")), event };
    world.bot.handle(incoming).await;
}

async fn set_up(world: &mut Many, chat: ChatId) -> Workspace {
    world.say(chat, ALICE, "/init").await;
    for label in ["Keep", "Keep", "Keep", "Keep", "Its own folder", "Later", "Confirm"] {
        world.press_label(chat, ALICE, label).await;
    }
    world.workspace(chat).await.unwrap_or_else(|| panic!("no workspace in {chat}"))
}

#[tokio::test]
async fn added_it_greets_removed_it_pauses_and_added_back_it_resumes_where_it_was() {
    let mut world = Many::new(None);
    life(&mut world, ACME, Event::Joined).await;
    assert_eq!(world.text(ACME), crate::bot::life::GREETING);
    assert_eq!(world.workspace(ACME).await, None, "a greeting creates nothing");

    let workspace = set_up(&mut world, ACME).await;
    let paused = |store: MemoryStore, id| async move { store.settings(id).await.ok().and_then(|s| s.pause) };
    life(&mut world, ACME, Event::Left).await;
    let pause = paused(world.store.clone(), workspace.id).await;
    assert_eq!(pause.map(|p| p.by), Some(Actor::System), "removed: paused, by the system");
    assert!(world.workspace(ACME).await.is_some(), "nothing deleted");
    life(&mut world, ACME, Event::Joined).await;
    assert!(paused(world.store.clone(), workspace.id).await.is_none(), "added back: it resumes");
    assert!(world.text(ACME).contains("posting resumes where it was"), "{}", world.text(ACME));

    // Paused by the team before the removal: it stays paused when added back.
    world.say(ACME, ALICE, "/pause").await;
    life(&mut world, ACME, Event::Left).await;
    life(&mut world, ACME, Event::Joined).await;
    let pause = paused(world.store.clone(), workspace.id).await;
    assert_eq!(pause.map(|p| p.by), Some(Actor::User(ALICE)), "the team's own pause is kept");
    let audit = world.store.entries(workspace.id, AuditQuery { action: None, limit: 100 }).await.unwrap_or_default();
    assert!(audit.iter().any(|e| e.actor == Actor::System && e.subject == "is_paused"), "{audit:?}");
}

#[tokio::test]
async fn a_group_that_becomes_a_supergroup_keeps_its_workspace_under_the_new_id() {
    let mut world = Many::new(None);
    let workspace = set_up(&mut world, ACME).await;
    let supergroup = ChatId(-100_999);
    world.say(ACME, ALICE, "/settings").await;
    life(&mut world, ACME, Event::MovedTo(supergroup)).await;
    let moved = world.workspace(supergroup).await.unwrap_or_else(|| panic!("not moved"));
    assert_eq!((moved.id, moved.name.as_str()), (workspace.id, workspace.name.as_str()), "the same workspace");
    assert_eq!(world.workspace(ACME).await, None);
    world.say(supergroup, ALICE, "/settings").await;
    assert!(world.text(supergroup).contains("Settings"), "{}", world.text(supergroup));
    world.say(ACME, BOB, "/settings").await;
    assert_eq!(world.text(ACME), NO_WORKSPACE, "the old id is no workspace's any more");
    // Moving onto a chat that has a workspace changes nothing.
    let other = set_up(&mut world, OTHER).await;
    life(&mut world, supergroup, Event::MovedTo(OTHER)).await;
    assert_eq!(world.workspace(OTHER).await.map(|w| w.id), Some(other.id));
    assert_eq!(world.workspace(supergroup).await.map(|w| w.id), Some(workspace.id));
}

#[tokio::test]
async fn start_in_a_private_chat_lists_the_persons_own_workspaces_with_role_and_state() {
    let mut world = Many::new(None);
    let bob_private = ChatId(BOB.0);
    world.say(bob_private, BOB, "/start").await;
    assert!(world.text(bob_private).contains("in no workspace yet"), "{}", world.text(bob_private));
    set_up(&mut world, ACME).await;
    set_up(&mut world, OTHER).await;
    world.say(OTHER, ALICE, "/pause").await;
    world.say(ACME, BOB, "/settings").await;

    let alice_private = ChatId(ALICE.0);
    world.say(alice_private, ALICE, "/start").await;
    let listed = world.text(alice_private);
    assert_eq!(listed.matches("Acme Stories — owner").count(), 2, "{listed}");
    assert!(listed.contains("owner, dry run") && listed.contains("owner, paused"), "{listed}");
    world.say(bob_private, BOB, "/start").await;
    let listed = world.text(bob_private);
    assert!(listed.contains("Acme Stories — member, dry run"), "{listed}");
    assert_eq!(listed.matches('•').count(), 1, "only Bob's own: {listed}");
}

#[tokio::test]
async fn the_owner_promotes_and_demotes_with_admins_and_nobody_else_can() {
    let mut world = Many::new(None);
    let workspace = set_up(&mut world, ACME).await;
    world.say(ACME, BOB, "/settings").await;
    world.say(ACME, BOB, "/admins").await;
    assert_eq!(world.text(ACME), crate::access::OWNER_REFUSED, "a member may not");
    world.say(ACME, ALICE, "/admins").await;
    let listed = world.text(ACME);
    assert!(listed.contains("@alice — owner") && listed.contains("@bob — member"), "{listed}");
    let (menu, screen) = world.shown(ACME);
    let promote = button_data(&screen, "@bob: make admin");
    // Bob pressing the owner's button himself is refused.
    world.press(ACME, BOB, menu, &promote).await;
    assert_eq!(world.answers().last().map(String::as_str), Some(crate::access::OWNER_REFUSED));
    let role = |store: MemoryStore| async move { store.member(workspace.id, BOB).await.ok().flatten().map(|m| m.role) };
    assert_eq!(role(world.store.clone()).await, Some(Role::Member));
    world.press(ACME, ALICE, menu, &promote).await;
    assert_eq!(world.answers().last().map(String::as_str), Some("@bob is now admin."));
    assert_eq!(role(world.store.clone()).await, Some(Role::Admin));
    // At once an admin: Bob may change settings now.
    world.say(ACME, BOB, "/pause").await;
    assert!(world.store.settings(workspace.id).await.is_ok_and(|s| s.is_paused()), "{}", world.text(ACME));
    let demote = button_data(&world.chat.message(ACME, menu).unwrap_or_default(), "@bob: make member");
    world.press(ACME, ALICE, menu, &demote).await;
    assert_eq!(role(world.store.clone()).await, Some(Role::Member));
    // A forged press naming someone who is not in the workspace, or the owner, changes nothing.
    let stranger = crate::action::Action::SetRole(TelegramUserId(999), Role::Admin).encode(workspace.id);
    world.press(ACME, ALICE, menu, &stranger).await;
    assert!(world.answers().last().is_some_and(|a| a.contains("not in this workspace")));
    let owner = crate::action::Action::SetRole(ALICE, Role::Member).encode(workspace.id);
    world.press(ACME, ALICE, menu, &owner).await;
    assert_eq!(world.store.member(workspace.id, ALICE).await.ok().flatten().map(|m| m.role), Some(Role::Owner));
    let audit = world.store.entries(workspace.id, AuditQuery { action: Some(AuditAction::Role), limit: 10 }).await;
    assert_eq!(audit.map(|a| a.len()).unwrap_or_default(), 3, "owner, promote, demote");
}

#[tokio::test]
async fn the_account_step_offers_the_login_links_where_logging_in_is_possible() {
    use storyline_domain::login::{IssuedState, LoginProvider};
    use storyline_domain::ports::{MockMetaLogin, MockStateSigner, MockTokenCipher};

    let mut world = Many::new(None);
    let mut meta = MockMetaLogin::new();
    meta.expect_configured().returning(|provider| provider == LoginProvider::Instagram);
    meta.expect_authorize_url().returning(|_, redirect, state, _| {
        Some(format!("https://meta.example/authorize?redirect_uri={redirect}&state={state}"))
    });
    let mut signer = MockStateSigner::new();
    signer.expect_issue().returning(|_| IssuedState {
        state: "signed-state".to_owned(),
        nonce: "the-nonce".to_owned(),
        verifier: secrecy::SecretString::from("verifier".to_owned()),
        challenge: "challenge".to_owned(),
    });
    let login = Login {
        attempts: Arc::new(world.store.clone()),
        signer: Arc::new(signer),
        meta: Arc::new(meta),
        cipher: Arc::new(MockTokenCipher::new()),
        google: None,
        public_base: "https://stories.example.com".to_owned(),
    };
    world.bot = many(&world.store, &world.chat, &world.clock, None).with_login(Ok(login));
    world.say(ACME, ALICE, "/init").await;
    for label in ["Keep", "Keep", "Keep", "Keep", "Its own folder", "Add an account", "Confirm"] {
        world.press_label(ACME, ALICE, label).await;
    }
    let workspace = world.workspace(ACME).await.unwrap_or_else(|| panic!("no workspace"));
    // The links go to the person privately; the group hears where they went.
    let (_, pointer) = world.shown(ACME);
    assert!(pointer.text.to_plain().contains("the login link is in your private chat"), "{pointer:?}");
    assert!(!pointer.buttons().any(|b| matches!(b.target, ButtonTarget::Link(_))), "no link in the group");
    let (_, screen) = world.shown(ChatId(ALICE.0));
    let link = screen.buttons().find_map(|b| match &b.target {
        ButtonTarget::Link(url) if b.label.contains("Log in with Instagram") => Some(url.clone()),
        _ => None,
    });
    assert_eq!(
        link.as_deref(),
        Some(
            "https://meta.example/authorize?redirect_uri=https://stories.example.com/oauth/instagram/callback&state=signed-state"
        ),
        "{screen:?}"
    );
    assert!(!screen.buttons().any(|b| b.label.contains("Facebook")), "only the configured login");
    // The login is kept for the person who confirmed, in the new workspace; no token prompt waits.
    let attempt =
        storyline_domain::ports::LoginAttempts::take(&world.store, workspace.id, "the-nonce").await.ok().flatten();
    assert_eq!(attempt.map(|a| (a.user, a.provider, a.chat)), Some((ALICE, LoginProvider::Instagram, ACME)));
    assert_eq!(world.store.newest_anywhere(ALICE, world.clock.now()).await.ok().flatten().map(|(_, p)| p.kind), None);
}
