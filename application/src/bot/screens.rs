//! The bot's screens. Every string from outside (workspace names, user names) goes in as a raw
//! span; adapters escape it.

use chrono::{DateTime, Timelike, Utc};
use storyline_domain::Workspace;
use storyline_domain::account::TokenStatus;
use storyline_domain::chat::{Button, ButtonTarget, Screen, Text};
use storyline_domain::conversation::PromptKind;
use storyline_domain::settings::{ChatSettings, Hour, Toggle};
use storyline_domain::source::SourceKind;

use crate::access::{self, Role};
use crate::accounts::AccountView;
use crate::action::Action;
use crate::command::CommandName;

pub(super) fn button(label: impl Into<String>, action: Action, workspace: &Workspace) -> Button {
    Button { label: label.into(), target: ButtonTarget::Press(action.encode(workspace.id)) }
}

fn on_off(on: bool) -> &'static str {
    if on { "ON" } else { "off" }
}

/// The media source line of `/settings` (FEATURES M1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLine {
    /// The source, for people (`local ./media`, `s3://bucket/prefix` …).
    pub source: String,
    /// How many items the library holds.
    pub items: u64,
    /// How long ago the last sync was (`5 min ago`); `None`: never synced.
    pub synced: Option<String>,
}

/// How long before `now` the instant `at` was, for people: `just now`, `5 min ago`, `3 h ago`,
/// `2 days ago`.
#[must_use]
pub fn ago(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let minutes = (now - at).num_minutes().max(0);
    match minutes {
        0 => "just now".to_owned(),
        1..=59 => format!("{minutes} min ago"),
        60..=2879 => format!("{} h ago", minutes / 60),
        _ => format!("{} days ago", minutes / 1440),
    }
}

fn media_line(text: Text, media: Option<&MediaLine>) -> Text {
    let Some(media) = media else {
        return text.plain("Media source: ").italic("Not set up");
    };
    let items = if media.items == 1 { "1 item".to_owned() } else { format!("{} items", media.items) };
    let synced = media.synced.as_ref().map_or_else(|| "never synced".to_owned(), |ago| format!("synced {ago}"));
    text.plain("Media: ").bold(media.source.clone()).plain(format!(" — {items}, {synced}"))
}

/// `/settings` (FEATURES S1): every setting at a glance, a button for each.
#[must_use]
pub fn settings(
    workspace: &Workspace,
    settings: &ChatSettings,
    paused_by: Option<&str>,
    account: Option<&AccountView>,
    media: Option<&MediaLine>,
) -> Screen {
    let zone = settings.time_zone.name();
    let mut text = Text::new()
        .bold("⚙️ Settings — ")
        .bold(workspace.name.clone())
        .line()
        .line()
        .plain("Dry run: ")
        .bold(on_off(settings.dry_run))
        .line()
        .plain("Instagram API: ")
        .bold(on_off(settings.instagram_api))
        .line()
        .plain("Posting: ");
    text = match &settings.pause {
        None => text.bold("Active"),
        Some(pause) => text
            .bold("Paused")
            .plain(format!(" since {} by ", pause.at.with_timezone(&settings.time_zone).format("%Y-%m-%d %H:%M %Z")))
            .plain(paused_by.map_or_else(|| pause.by.to_string(), ToOwned::to_owned)),
    };
    let text = text
        .line()
        .plain("Posts per day: ")
        .bold(settings.posts_per_day.to_string())
        .line()
        .plain("Posting hours: ")
        .bold(settings.window.to_string())
        .plain(format!(" ({zone})"))
        .line()
        .plain("Instagram account: ");
    let text = media_line(account_line(text, account).line(), media);
    let check = |on: bool| if on { "✅" } else { "⬜" };
    Screen::new(text)
        .row(vec![
            button(
                format!("{} Dry run: {}", check(settings.dry_run), on_off(settings.dry_run)),
                Action::Toggle(Toggle::DryRun),
                workspace,
            ),
            button(
                format!("{} Instagram API: {}", check(settings.instagram_api), on_off(settings.instagram_api)),
                Action::Toggle(Toggle::InstagramApi),
                workspace,
            ),
        ])
        .row(vec![button(
            if settings.is_paused() { "⏸ Paused — press to resume" } else { "▶️ Active — press to pause" },
            Action::Toggle(Toggle::Paused),
            workspace,
        )])
        .row(vec![button(
            format!("Posts/day: {} · Change", settings.posts_per_day),
            Action::Change(PromptKind::PostsPerDay),
            workspace,
        )])
        .row(vec![
            button(format!("Hours: {} · Change", settings.window), Action::Change(PromptKind::PostingHours), workspace),
            button(format!("Zone: {zone} · Change"), Action::Change(PromptKind::TimeZone), workspace),
        ])
        .row(vec![button(
            account.map_or_else(
                || "📸 Instagram account: none · Choose".to_owned(),
                |view| format!("📸 {} · Switch", view.account.label()),
            ),
            Action::Accounts,
            workspace,
        )])
        .row(vec![button("🗂 Change media source", Action::MediaSource, workspace)])
        .row(vec![
            button("🗓 Queue", Action::Queue, workspace),
            button("📅 Schedule", Action::Schedule, workspace),
            button("📊 Status", Action::Status, workspace),
            button("✖ Close", Action::Close, workspace),
        ])
}

fn account_line(text: Text, account: Option<&AccountView>) -> Text {
    match account {
        Some(view) => text.bold(view.account.label()).plain(format!(" · token: {}", view.status)),
        None => text.italic("none selected"),
    }
}

/// The account picker (FEATURES A2): every enabled account, the active one marked.
#[must_use]
pub fn account_picker(workspace: &Workspace, views: &[AccountView]) -> Screen {
    let mut text = Text::new().bold("📸 Instagram accounts").line();
    if views.is_empty() {
        text = text.line().italic("No account yet. Add one below, or with ").code("storyline add-instagram-account");
    }
    for view in views {
        text = text
            .line()
            .plain(if view.active { "✅ " } else { "• " })
            .plain(view.account.label())
            .plain(format!(" — token: {}", view.status));
        if !view.account.enabled {
            text = text.italic(" (disabled)");
        }
    }
    let mut screen = Screen::new(text);
    for view in views.iter().filter(|v| v.account.enabled) {
        let label = if view.active { format!("✅ {}", view.account.label()) } else { view.account.label() };
        screen = screen.row(vec![button(label, Action::SelectAccount(view.account.id), workspace)]);
    }
    // A dead token: a new one by logging in again, history kept.
    for view in views.iter().filter(|v| {
        v.account.enabled && matches!(v.status, TokenStatus::Expired | TokenStatus::Refused | TokenStatus::NoToken)
    }) {
        let label = format!("🔄 Reconnect {}", view.account.label());
        screen = screen.row(vec![button(label, Action::Reconnect(view.account.id), workspace)]);
    }
    screen.row(vec![button("➕ Add account", Action::AddAccount, workspace)]).row(vec![button(
        "🔙 Back to settings",
        Action::Settings,
        workspace,
    )])
}

/// `/settings` → Change media source: which kind (FEATURES M1).
#[must_use]
pub fn source_picker(workspace: &Workspace, current: &str) -> Screen {
    Screen::new(
        Text::new()
            .bold("🗂 Change the media source")
            .line()
            .plain("Now: ")
            .bold(current.to_owned())
            .line()
            .plain("Where should this workspace's stories come from? I ask the values one at a time, then try the source once before saving it."),
    )
    .row(vec![
        button("📁 Local folder", Action::PickSource(SourceKind::Local), workspace),
        button("🪣 S3 bucket", Action::PickSource(SourceKind::S3), workspace),
        button("📂 Google Drive", Action::PickSource(SourceKind::Drive), workspace),
    ])
    .row(vec![button("✖ Cancel", Action::Settings, workspace)])
}

/// One question of the media source dialogue.
#[must_use]
pub fn source_prompt(kind: PromptKind) -> Screen {
    let private = "🔒 Send it to me in a private chat (open my profile, press Start, send it there): a secret sent here is deleted and not used. I delete the message that carries it.";
    let text = match kind {
        PromptKind::SourceLocalPath => Text::new()
            .plain("Send the folder to read media from: a folder inside MEDIA_DIR, for example ")
            .code("stories"),
        PromptKind::SourceS3Bucket => Text::new().plain("Send the bucket's name, for example ").code("team-stories"),
        PromptKind::SourceS3Prefix => Text::new()
            .plain("Send the prefix the stories are under, for example ")
            .code("stories/")
            .plain(", or ")
            .code("-")
            .plain(" for the whole bucket."),
        PromptKind::SourceS3Endpoint => Text::new()
            .plain("Send the endpoint URL (MinIO, R2, Backblaze, Garage …), for example ")
            .code("https://s3.example.com")
            .plain(", or ")
            .code("-")
            .plain(" for AWS itself."),
        PromptKind::SourceS3Region => Text::new().plain("Send the region, for example ").code("us-east-1"),
        PromptKind::SourceS3PathStyle => Text::new()
            .plain("Path-style addressing (most S3-compatible servers want it)? Send ")
            .code("yes")
            .plain(" or ")
            .code("no")
            .plain("."),
        PromptKind::SourceS3AccessKeyId => Text::new().plain("Send the access key id."),
        PromptKind::SourceS3Secret => Text::new().plain("Last: the secret access key. ").bold(private),
        PromptKind::SourceDriveFolder => Text::new()
            .plain("Send the Drive folder's id (the last part of its address), for example ")
            .code("1AbCdEfGhIjKlMnOp"),
        PromptKind::SourceDriveKey => {
            Text::new().plain("Last: the service account's JSON key (the whole file's text). ").bold(private)
        }
        _ => Text::new().plain("Send the value."),
    };
    Screen::new(
        text.line().plain("Send ").code("cancel").plain(
            " to stop; nothing changes until the end. (Only your own reply counts; this expires in 10 minutes.)",
        ),
    )
}

/// The add-account dialogue's question (FEATURES A3).
#[must_use]
pub fn add_account_prompt(login_off: Option<&str>) -> Screen {
    let mut text = Text::new().bold("➕ Add an Instagram account").line();
    if let Some(why) = login_off {
        text = text
            .italic(format!("Logging in at Meta is off here ({why}), so the account is added with its token."))
            .line();
    }
    Screen::new(
        text
            .plain("Send one message: display name, Instagram account id (the number), access token and, if you know it, the days until the token expires — separated by | or one per line, for example:")
            .line()
            .code("Main Brand | 17841400000000000 | IGAAB… | 60")
            .line()
            .line()
            .bold("⚠️ Everyone in this chat can read a message until I delete it.")
            .plain(" Better: send it to me in a private chat (open my profile, press Start, send the message there). I delete the message that carries the token either way. On the server: ")
            .code("storyline add-instagram-account")            .plain(". Send ")
            .code("cancel")
            .plain(" to stop. (Only your own reply counts; this expires in 10 minutes.)"),
    )
}

/// `/status` (the settings part; the queue joins it with the scheduler).
#[must_use]
pub fn status(
    workspace: &Workspace,
    settings: &ChatSettings,
    now: DateTime<Utc>,
    account: Option<&AccountView>,
) -> Screen {
    let local = now.with_timezone(&settings.time_zone);
    let inside = Hour::new(u8::try_from(local.hour()).unwrap_or_default()).is_ok_and(|h| settings.window.contains(h));
    let text = Text::new()
        .bold("📊 Status — ")
        .bold(workspace.name.clone())
        .line()
        .line()
        .plain("Posting: ")
        .bold(if settings.is_paused() { "Paused" } else { "Active" })
        .line()
        .plain("Dry run: ")
        .bold(on_off(settings.dry_run))
        .plain(" · Instagram API: ")
        .bold(on_off(settings.instagram_api))
        .line()
        .plain(format!("{} posts a day, {} ({})", settings.posts_per_day, settings.window, settings.time_zone.name()))
        .line()
        .plain(format!(
            "Now: {} — {} posting hours",
            local.format("%Y-%m-%d %H:%M %Z"),
            if inside { "inside" } else { "outside" }
        ))
        .line()
        .plain("Instagram account: ");
    let text = account_line(text, account);
    Screen::new(text)
        .row(vec![button("⚙️ Settings", Action::Settings, workspace), button("✖ Close", Action::Close, workspace)])
}

/// What a Change button asks for.
#[must_use]
pub fn prompt(kind: PromptKind) -> Screen {
    let (what, example) = match kind {
        PromptKind::PostsPerDay => ("the number of posts per day, a whole number from 1 to 50", "7"),
        PromptKind::PostingHours => {
            ("the posting hours as start-end, hours from 0 to 23 (start ≠ end; 22-2 wraps midnight)", "9-17")
        }
        PromptKind::TimeZone => ("the time zone, an IANA name", "Europe/Berlin"),
        PromptKind::InstagramAccount => return add_account_prompt(None),
        source => return source_prompt(source),
    };
    Screen::new(
        Text::new()
            .plain(format!("Send {what}, for example "))
            .code(example)
            .plain(". Send ")
            .code("cancel")
            .plain(" to keep the current value. (Only your own reply counts; this expires in 10 minutes.)"),
    )
}

#[must_use]
pub fn help() -> Screen {
    let everyone = access::menu(Role::Member);
    let line = |text: Text, command: CommandName| {
        text.line().plain(format!("/{} — {}", command.as_str(), command.description()))
    };
    let mut text = Text::new().bold("Storyline").plain(" schedules this team's Instagram Stories.").line();
    for command in &everyone {
        text = line(text, *command);
    }
    text = text.line().line().bold("For admins");
    let admins = access::menu(Role::Admin);
    for command in admins.iter().copied().filter(|c| !everyone.contains(c)) {
        text = line(text, command);
    }
    text = text.line().line().bold("For the owner");
    for command in access::menu(Role::Owner).into_iter().filter(|c| !admins.contains(c)) {
        text = line(text, command);
    }
    Screen::new(
        text.line().line().plain(
            "Everyone can read and press Posted or Skip; only admins change settings, schedule, clear or reject.",
        ),
    )
}

#[must_use]
pub fn start(workspace: &Workspace) -> Screen {
    Screen::new(
        Text::new()
            .plain("Hello! Storyline serves ")
            .bold(workspace.name.clone())
            .plain(" here. Open /settings to see how it posts, or /help for every command."),
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_media_line_tells_the_source_its_items_and_the_last_sync_or_never() {
        let line = |media: Option<&MediaLine>| media_line(Text::new(), media).to_plain();
        assert_eq!(line(None), "Media source: Not set up");
        let never = MediaLine { source: "local ./media".into(), items: 1, synced: None };
        assert_eq!(line(Some(&never)), "Media: local ./media — 1 item, never synced");
        let synced = MediaLine { source: "s3://photos/stories".into(), items: 42, synced: Some("5 min ago".into()) };
        assert_eq!(line(Some(&synced)), "Media: s3://photos/stories — 42 items, synced 5 min ago");
    }

    #[test]
    fn ago_reads_in_minutes_hours_and_days() {
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).single().unwrap_or_default();
        assert_eq!(ago(now, now), "just now");
        assert_eq!(ago(now, now + chrono::Duration::minutes(3)), "just now", "a clock ahead is not the future");
        assert_eq!(ago(now, now - chrono::Duration::minutes(5)), "5 min ago");
        assert_eq!(ago(now, now - chrono::Duration::hours(3)), "3 h ago");
        assert_eq!(ago(now, now - chrono::Duration::days(4)), "4 days ago");
    }

    #[test]
    fn help_names_every_command_once_with_the_admin_ones_apart() {
        let shown = help().text.to_plain();
        let (everyone, rest) = shown.split_once("For admins").unwrap_or_default();
        let (admins, owner) = rest.split_once("For the owner").unwrap_or_default();
        for command in CommandName::ALL {
            let word = format!("/{} — ", command.as_str());
            assert_eq!(shown.matches(&word).count(), 1, "{word} in {shown}");
            let part = if access::menu(Role::Member).contains(&command) {
                everyone
            } else if access::menu(Role::Admin).contains(&command) {
                admins
            } else {
                owner
            };
            assert!(part.contains(&word), "{word} in the wrong part of {shown}");
        }
    }
}
