//! The wizard's buttons (`1:init:<code>`), its questions and summary, and typed answers.

use super::*;

pub(super) const PREFIX: &str = "1:init:";

/// A wizard button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InitPress {
    Keep,
    Zone(usize),
    Media(MediaChoice),
    Account(AccountChoice),
    Back,
    Confirm,
    Cancel,
}

impl InitPress {
    const FIXED: [(Self, &'static str); 8] = [
        (Self::Keep, "keep"),
        (Self::Media(MediaChoice::Folder), "m.folder"),
        (Self::Media(MediaChoice::S3), "m.s3"),
        (Self::Media(MediaChoice::Drive), "m.drive"),
        (Self::Account(AccountChoice::Add), "a.add"),
        (Self::Account(AccountChoice::Later), "a.later"),
        (Self::Back, "back"),
        (Self::Confirm, "ok"),
    ];

    pub(super) fn encode(self) -> String {
        let code = match self {
            Self::Zone(index) => format!("tz.{index}"),
            Self::Cancel => "cancel".to_owned(),
            other => Self::FIXED.iter().find(|(p, _)| *p == other).map_or_else(String::new, |(_, c)| (*c).to_owned()),
        };
        format!("{PREFIX}{code}")
    }

    /// The press `data` names, if it is a wizard button this bot made.
    pub(super) fn decode(data: &str) -> Option<Self> {
        let code = data.strip_prefix(PREFIX)?;
        if code == "cancel" {
            return Some(Self::Cancel);
        }
        if let Some(index) = code.strip_prefix("tz.") {
            // One digit: one spelling per button.
            let [digit] = index.as_bytes() else { return None };
            let index = usize::from(digit.checked_sub(b'0')?);
            return (index < COMMON_ZONES.len()).then_some(Self::Zone(index));
        }
        Self::FIXED.iter().find(|(_, c)| *c == code).map(|(p, _)| *p)
    }
}

/// Whether `data` is a wizard button's (so a served chat can tell a stale one).
pub(in crate::bot) fn is_wizard_press(data: &str) -> bool {
    data.starts_with(PREFIX)
}

pub(super) fn button(label: impl Into<String>, press: InitPress) -> Button {
    Button { label: label.into(), target: ButtonTarget::Press(press.encode()) }
}

/// The question of the wizard's current step, with its buttons.
pub(super) fn question(wizard: &InitWizard) -> Screen {
    let head =
        |title: &str| Text::new().bold(format!("Set up this chat ({}) — {title}", wizard.step.progress())).line();
    let keep = |shown: String| vec![button(format!("Keep {shown}"), InitPress::Keep)];
    let nav = vec![button("⬅ Back", InitPress::Back), button("✖ Cancel", InitPress::Cancel)];
    match wizard.step {
        InitStep::Name => Screen::new(head("name").plain(format!(
            "What is the workspace called? Send a name (1 to {} characters), or keep this chat's title.",
            storyline_domain::init::MAX_NAME_CHARS
        )))
        .row(keep(format!("“{}”", wizard.name)))
        .row(vec![button("✖ Cancel", InitPress::Cancel)]),
        InitStep::TimeZone => {
            let mut screen = Screen::new(
                head("time zone")
                    .plain("Which time zone are the posting hours in? Pick one, or send an IANA name such as ")
                    .code("America/Sao_Paulo")
                    .plain("."),
            )
            .row(keep(wizard.time_zone.name().to_owned()));
            for row in COMMON_ZONES.iter().enumerate().collect::<Vec<_>>().chunks(2) {
                screen = screen.row(row.iter().map(|(i, zone)| button(zone.name(), InitPress::Zone(*i))).collect());
            }
            screen.row(nav)
        }
        InitStep::PostsPerDay => Screen::new(head("posts per day").plain("How many stories a day? Send 1 to 50."))
            .row(keep(wizard.posts_per_day.to_string()))
            .row(nav),
        InitStep::PostingHours => Screen::new(
            head("posting hours").plain("Between which hours may stories go out? Send start-end, for example 9-21."),
        )
        .row(keep(format!("{:02}:00–{:02}:00", wizard.window.start().get(), wizard.window.end().get())))
        .row(nav),
        InitStep::MediaSource => Screen::new(head("media").plain(
            "Where does the media come from? This workspace's own folder on the server, an S3 bucket or a Google \
             Drive folder (their questions come once the workspace exists). /settings changes it later.",
        ))
        .row(vec![button("📁 Its own folder", InitPress::Media(MediaChoice::Folder))])
        .row(vec![
            button("🪣 S3 bucket", InitPress::Media(MediaChoice::S3)),
            button("📂 Google Drive", InitPress::Media(MediaChoice::Drive)),
        ])
        .row(nav),
        InitStep::Account => {
            Screen::new(head("Instagram").plain(
                "Connect an Instagram account now? Until one is, stories come to this chat to be posted by hand.",
            ))
            .row(vec![
                button("➕ Add an account", InitPress::Account(AccountChoice::Add)),
                button("Later", InitPress::Account(AccountChoice::Later)),
            ])
            .row(nav)
        }
        InitStep::Summary => Screen::new(summary(wizard)).row(vec![button("✅ Confirm", InitPress::Confirm)]).row(nav),
    }
}

pub(super) fn summary(wizard: &InitWizard) -> Text {
    let media = match wizard.media {
        MediaChoice::Folder => "its own folder on the server",
        MediaChoice::S3 => "an S3 bucket (asked next)",
        MediaChoice::Drive => "a Google Drive folder (asked next)",
    };
    let account = match wizard.account {
        AccountChoice::Add => "add one now",
        AccountChoice::Later => "later; stories come here to post by hand",
    };
    let mode = if wizard.dry_run { "dry run (nothing is posted) until you switch it off" } else { "live" };
    Text::new()
        .bold("Set up this chat — summary")
        .line()
        .plain(format!("Name: {}", wizard.name))
        .line()
        .plain(format!("Time zone: {}", wizard.time_zone.name()))
        .line()
        .plain(format!("Posts per day: {}", wizard.posts_per_day))
        .line()
        .plain(format!("Posting hours: {:02}:00–{:02}:00", wizard.window.start().get(), wizard.window.end().get()))
        .line()
        .plain(format!("Media: {media}"))
        .line()
        .plain(format!("Instagram account: {account}"))
        .line()
        .plain(format!("Starts in {mode}."))
        .line()
        .line()
        .plain("Confirm creates the workspace, with you as its owner.")
}

/// What a typed answer means at `step`, parsed as the settings prompts parse theirs.
pub(super) fn typed_answer(step: InitStep, text: &str) -> Result<InitAnswer, String> {
    let as_prompt = |kind| answers::parse(kind, text);
    match step {
        InitStep::Name => Ok(InitAnswer::Name(text.to_owned())),
        InitStep::TimeZone => match as_prompt(PromptKind::TimeZone)? {
            SettingChange::TimeZone(zone) => Ok(InitAnswer::TimeZone(zone)),
            _ => Err(InitError::OtherStep.to_string()),
        },
        InitStep::PostsPerDay => match as_prompt(PromptKind::PostsPerDay)? {
            SettingChange::PostsPerDay(posts) => Ok(InitAnswer::PostsPerDay(posts)),
            _ => Err(InitError::OtherStep.to_string()),
        },
        InitStep::PostingHours => match as_prompt(PromptKind::PostingHours)? {
            SettingChange::Window(window) => Ok(InitAnswer::Window(window)),
            _ => Err(InitError::OtherStep.to_string()),
        },
        InitStep::MediaSource | InitStep::Account | InitStep::Summary => {
            Err("Use the buttons above for this question (or /cancel).".to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wizard_buttons_round_trip_and_forged_data_is_refused() {
        let zones = (0..COMMON_ZONES.len()).map(InitPress::Zone);
        let all = InitPress::FIXED.map(|(p, _)| p).into_iter().chain(zones).chain([InitPress::Cancel]);
        for press in all {
            let data = press.encode();
            assert!(data.len() <= crate::action::MAX_CALLBACK_BYTES, "{data}");
            assert_eq!(InitPress::decode(&data), Some(press), "{data}");
        }
        for forged in [
            "1:init:",
            "1:init:tz.8",
            "1:init:tz.01",
            "1:init:tz.-1",
            "1:init:OK",
            "2:init:ok",
            "init:ok",
            "1:init:ok ",
        ] {
            assert_eq!(InitPress::decode(forged), None, "{forged:?}");
        }
    }

    #[test]
    fn typed_answers_are_checked_as_the_settings_prompts_check_theirs() {
        assert!(matches!(
            typed_answer(InitStep::TimeZone, "europe/berlin"),
            Ok(InitAnswer::TimeZone(Tz::Europe__Berlin))
        ));
        assert!(typed_answer(InitStep::TimeZone, "Mars/Base").is_err());
        assert!(typed_answer(InitStep::PostsPerDay, "51").unwrap_err().contains("1 to 50"));
        assert!(matches!(typed_answer(InitStep::PostingHours, "9-21"), Ok(InitAnswer::Window(_))));
        assert!(typed_answer(InitStep::PostingHours, "9-9").is_err());
        assert!(typed_answer(InitStep::MediaSource, "s3").unwrap_err().contains("buttons"));
    }
}
