//! `/admins` (FEATURES S8, T1): who is an admin in this workspace; the owner promotes a member to
//! admin or demotes an admin to member with one press, audited. Telegram's own chat
//! administrators count as admins whatever their role here, as do `ADMIN_TELEGRAM_USER_IDS`.

use storyline_domain::chat::{Button, ButtonTarget, Text};

use super::*;

/// The most people one `/admins` screen lists.
const LISTED: usize = 20;

fn screen(workspace: &Workspace, members: &[Member]) -> Screen {
    let mut text = Text::new().bold(format!("People of {}", workspace.name)).line();
    let mut shown: Vec<&Member> = members.iter().collect();
    // Owner and admins first, then the most recently seen.
    shown.sort_by(|a, b| b.role.cmp(&a.role).then(b.last_seen.cmp(&a.last_seen)));
    let mut screen_rows = Vec::new();
    for member in shown.iter().take(LISTED) {
        let name = member.user.display_name();
        text = text.line().plain(format!("• {name} — {}", member.role));
        let (label, role) = match member.role {
            Role::Owner => continue,
            Role::Admin => (format!("⬇ {name}: make member"), Role::Member),
            Role::Member => (format!("⬆ {name}: make admin"), Role::Admin),
        };
        let data = Action::SetRole(member.user.telegram_id, role).encode(workspace.id);
        screen_rows.push(vec![Button { label, target: ButtonTarget::Press(data) }]);
    }
    if members.len() > LISTED {
        text = text.line().plain(format!("and {} more: storyline users list shows everyone", members.len() - LISTED));
    }
    text = text.line().line().plain(
        "The chat's Telegram administrators are admins here whatever their role. Only people who have talked \
         to the bot are listed.",
    );
    let mut screen = Screen::new(text);
    for row in screen_rows {
        screen = screen.row(row);
    }
    screen.row(vec![Button {
        label: "✖ Close".to_owned(),
        target: ButtonTarget::Press(Action::Close.encode(workspace.id)),
    }])
}

impl Bot {
    /// `/admins`: the people and their roles, with a button each (the caller asked the table).
    pub(super) async fn admins_command(&self, turn: &Turn) -> Result<(), BotError> {
        let members = self.ports.users.members(turn.workspace.id).await?;
        self.say(turn, screen(&turn.workspace, &members)).await.map(|_| ())
    }

    /// A press on `/admins`: `user` becomes `role`, if they are a member here and not the owner.
    pub(super) async fn set_role_press(
        &self,
        turn: &Turn,
        press: &PressId,
        user: TelegramUserId,
        role: Role,
        message: Option<MessageId>,
    ) -> Result<(), BotError> {
        let workspace = turn.workspace.id;
        let Some(member) = self.ports.users.member(workspace, user).await? else {
            self.ports.notifier.answer(press, "That person is not in this workspace; nothing changed.", true).await?;
            return Ok(());
        };
        if member.role == Role::Owner {
            self.ports.notifier.answer(press, "The owner stays the owner; nothing changed.", true).await?;
            return Ok(());
        }
        let note = if member.role == role {
            format!("{} is {role} already.", member.user.display_name())
        } else {
            self.ports.users.set_role(workspace, user, role, &turn.actor(), self.ports.clock.now()).await?;
            // The next update of theirs reads the new role, not the one remembered.
            self.contacts.forget(&(workspace, user));
            format!("{} is now {role}.", member.user.display_name())
        };
        let members = self.ports.users.members(workspace).await?;
        let (answered, shown) = concurrently::both(
            self.ports.notifier.answer(press, &note, false),
            self.show(turn, message, &screen(&turn.workspace, &members)),
        )
        .await;
        answered?;
        shown
    }
}
