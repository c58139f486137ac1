//! The media source dialogue (FEATURES M1): `/settings` → Change media source → a kind, then
//! the values one prompt at a time. The earlier answers ride in the pending prompt's draft; the
//! secret (S3 secret key, Drive service-account key) is the last answer, taken only in a
//! private chat, deleted from the chat at once, and handed straight to [`SourceService::set`]
//! (crate::sources::SourceService::set): it is never echoed, logged or stored in a prompt.

use secrecy::SecretString;
use storyline_domain::chat::{MessageId, PressId, Screen};
use storyline_domain::conversation::{PendingPrompt, PromptKind};
use storyline_domain::ports::NotifyError;
use storyline_domain::source::{SourceConfig, SourceKind, SourceSwitch};

use super::{Bot, BotError, Turn, after_save, answers, screens};
use crate::access::Operation;
use crate::action::Action;
use crate::sources::{SetSourceError, switch_note};

const NO_SOURCES: &str = "Media sources are not set up in this deployment.";
const TRY_AGAIN: &str = "Nothing was saved; try again, or send cancel.";

/// What one answer leads to.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Ask the next value, with the answers so far.
    Ask(PromptKind, Vec<String>),
    /// A local folder as typed (checked against `MEDIA_DIR` next).
    Local(String),
    /// Every value is in: the source (the answer was its secret).
    Done(SourceConfig),
}

/// The first question for a kind.
pub(super) const fn first_prompt(kind: SourceKind) -> PromptKind {
    match kind {
        SourceKind::Local => PromptKind::SourceLocalPath,
        SourceKind::S3 => PromptKind::SourceS3Bucket,
        SourceKind::Drive => PromptKind::SourceDriveFolder,
    }
}

fn one_word(answer: &str, what: &str) -> Result<String, String> {
    if answer.is_empty() || answer.len() > 256 || answer.chars().any(char::is_whitespace) {
        return Err(format!("{what} is one word without spaces. {TRY_AGAIN}"));
    }
    Ok(answer.to_owned())
}

/// The next step after `answer` to `kind`, with the earlier answers `draft`. Pure: every
/// refusal says what is allowed. A secret answer is not read here (it goes to the source).
fn step(kind: PromptKind, answer: &str, draft: &[String]) -> Result<Step, String> {
    let answer = answer.trim();
    let with = |value: String| {
        let mut next = draft.to_vec();
        next.push(value);
        next
    };
    let expected = match kind {
        PromptKind::SourceS3Bucket | PromptKind::SourceDriveFolder | PromptKind::SourceLocalPath => 0,
        PromptKind::SourceS3Prefix => 1,
        PromptKind::SourceS3Endpoint => 2,
        PromptKind::SourceS3Region => 3,
        PromptKind::SourceS3PathStyle => 4,
        PromptKind::SourceS3AccessKeyId => 5,
        PromptKind::SourceS3Secret => 6,
        PromptKind::SourceDriveKey => 1,
        _ => return Err("That prompt is not part of the media source dialogue.".to_owned()),
    };
    if draft.len() != expected {
        return Err("This dialogue lost its earlier answers; start again from /settings → Change media source.".into());
    }
    Ok(match kind {
        PromptKind::SourceLocalPath => {
            if answer.is_empty() {
                return Err(format!("Give a folder inside MEDIA_DIR. {TRY_AGAIN}"));
            }
            Step::Local(answer.to_owned())
        }
        PromptKind::SourceS3Bucket => {
            let ok = (3..=63).contains(&answer.len())
                && answer.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
            if !ok {
                return Err(format!(
                    "A bucket name is 3 to 63 lowercase letters, digits, dots or hyphens. {TRY_AGAIN}"
                ));
            }
            Step::Ask(PromptKind::SourceS3Prefix, with(answer.to_owned()))
        }
        PromptKind::SourceS3Prefix => {
            let prefix = if answer == "-" { String::new() } else { one_word(answer, "The prefix")? };
            Step::Ask(PromptKind::SourceS3Endpoint, with(prefix.trim_start_matches('/').to_owned()))
        }
        PromptKind::SourceS3Endpoint => {
            let endpoint = if answer == "-" {
                String::new()
            } else if (answer.starts_with("https://") || answer.starts_with("http://")) && !answer.contains(' ') {
                answer.trim_end_matches('/').to_owned()
            } else {
                return Err(format!(
                    "The endpoint is a URL starting with https:// or http://, or - for AWS. {TRY_AGAIN}"
                ));
            };
            Step::Ask(PromptKind::SourceS3Region, with(endpoint))
        }
        PromptKind::SourceS3Region => Step::Ask(PromptKind::SourceS3PathStyle, with(one_word(answer, "The region")?)),
        PromptKind::SourceS3PathStyle => {
            let yes = match answer.to_ascii_lowercase().as_str() {
                "yes" | "y" => "yes",
                "no" | "n" => "no",
                _ => return Err(format!("Send yes or no. {TRY_AGAIN}")),
            };
            Step::Ask(PromptKind::SourceS3AccessKeyId, with(yes.to_owned()))
        }
        PromptKind::SourceS3AccessKeyId => {
            Step::Ask(PromptKind::SourceS3Secret, with(one_word(answer, "The access key id")?))
        }
        PromptKind::SourceS3Secret => Step::Done(SourceConfig::S3 {
            bucket: draft[0].clone(),
            prefix: draft[1].clone(),
            endpoint: Some(draft[2].clone()).filter(|e| !e.is_empty()),
            region: draft[3].clone(),
            path_style: draft[4] == "yes",
            access_key_id: draft[5].clone(),
        }),
        PromptKind::SourceDriveFolder => {
            if answer.is_empty()
                || answer.len() > 200
                || !answer.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!(
                    "A Drive folder id is letters, digits, - and _ (the end of the folder's address). {TRY_AGAIN}"
                ));
            }
            Step::Ask(PromptKind::SourceDriveKey, with(answer.to_owned()))
        }
        PromptKind::SourceDriveKey => {
            if !answer.starts_with('{') {
                return Err(format!("The key is the service account's JSON file, starting with {{. {TRY_AGAIN}"));
            }
            Step::Done(SourceConfig::Drive { folder_id: draft[0].clone() })
        }
        _ => return Err("That prompt is not part of the media source dialogue.".to_owned()),
    })
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

impl Bot {
    /// `/settings` → Change media source, and a kind picked from it.
    pub(super) async fn source_press(
        &self,
        turn: &Turn,
        press: &PressId,
        action: Action,
        message: Option<MessageId>,
    ) -> Result<(), BotError> {
        let Some((sources, _)) = &self.media else {
            self.ports.notifier.answer(press, NO_SOURCES, true).await?;
            return Ok(());
        };
        if let Action::PickSource(kind) = action {
            let Some(member) = &turn.from else {
                let note = "Changing the media source needs a person to answer.";
                self.ports.notifier.answer(press, note, true).await?;
                return Ok(());
            };
            let first = first_prompt(kind);
            let prompt =
                PendingPrompt::new(member.user.telegram_id, first, message.map(|m| m.0), self.ports.clock.now());
            self.ports.conversations.put(turn.workspace.id, &prompt).await?;
            self.ports.notifier.answer(press, "Send the value as your next message", false).await?;
            let mut screen = screens::source_prompt(first);
            if kind == SourceKind::Drive
                && let Some(line) = self.google_link(turn).await?
            {
                screen.text = screen.text.line().line().italic(line);
            }
            return self.say(turn, screen).await.map(|_| ());
        }
        self.ports.notifier.answer(press, "", false).await?;
        let view = sources.show(turn.workspace.id).await?;
        self.show(turn, message, &screens::source_picker(&turn.workspace, &view.current.to_string())).await
    }

    /// One answer in the media source dialogue. A secret step deletes the message first,
    /// whatever it says, and takes it only in a private chat.
    pub(super) async fn source_answer(
        &self,
        turn: &Turn,
        prompt: PendingPrompt,
        text: &str,
        message: MessageId,
    ) -> Result<(), BotError> {
        let Some(member) = &turn.from else { return Ok(()) };
        let (workspace, user) = (turn.workspace.id, member.user.telegram_id);
        if prompt.kind.is_secret() {
            self.delete_token_message(turn, message, false).await?;
        }
        if answers::is_cancel(text) {
            return self.cancel_prompt(turn).await;
        }
        let Some((sources, _)) = &self.media else {
            self.ports.conversations.clear(workspace, user).await?;
            return self.say(turn, NO_SOURCES).await.map(|_| ());
        };
        if let Err(refusal) = self.allowed(turn, Operation::Answer(prompt.kind)).await {
            self.ports.conversations.clear(workspace, user).await?;
            return self.say(turn, refusal).await.map(|_| ());
        }
        if prompt.kind.is_secret() && turn.chat() == turn.workspace.chat_id {
            // The prompt stays: the same answer is welcome in the private chat.
            let said = "🔒 I deleted that message: I take a secret only in a private chat with me. Open my profile, press Start and send it there (or send cancel here). If anyone could have read it, replace the key.";
            return self.say(turn, said).await.map(|_| ());
        }
        let (config, secret) = match step(prompt.kind, text, &prompt.draft) {
            Err(problem) => return self.say(turn, problem).await.map(|_| ()),
            Ok(Step::Ask(next, draft)) => {
                let asked = PendingPrompt::new(user, next, prompt.message_id, self.ports.clock.now()).with_draft(draft);
                self.ports.conversations.put(workspace, &asked).await?;
                return self.say(turn, screens::source_prompt(next)).await.map(|_| ());
            }
            Ok(Step::Local(typed)) => match sources.local_folder(workspace, &typed) {
                Ok(root) => (SourceConfig::Local { root }, None),
                Err(problem) => return self.say(turn, format!("{problem} {TRY_AGAIN}")).await.map(|_| ()),
            },
            Ok(Step::Done(config)) => (config, Some(SecretString::from(text.trim().to_owned()))),
        };
        let switch = match sources.set(workspace, &config, secret, &turn.actor()).await {
            Ok(switch) => switch,
            Err(SetSourceError::Store(error)) => return Err(error.into()),
            Err(refused) => {
                self.ports.conversations.clear(workspace, user).await?;
                let said = format!(
                    "⚠️ {}. Press /settings → Change media source to try again.",
                    capitalise(&refused.to_string())
                );
                return self.say(turn, said).await.map(|_| ());
            }
        };
        after_save(self.source_changed(turn, &prompt, &config, &switch).await)
    }

    /// After a saved source: the team chat told who changed it (never the secret), the person
    /// told in a private chat, the settings menu refreshed in the team chat.
    async fn source_changed(
        &self,
        turn: &Turn,
        prompt: &PendingPrompt,
        config: &SourceConfig,
        switch: &SourceSwitch,
    ) -> Result<(), BotError> {
        self.media_changed(turn.workspace.id);
        self.ports.conversations.clear(turn.workspace.id, prompt.user).await?;
        let team = turn.workspace.chat_id;
        let who = turn.from.as_ref().map_or_else(|| "Someone".to_owned(), |m| m.user.display_name());
        let note = format!("🗂 {who} changed the media source to {config}. {}", switch_note(switch, "/sync for now"));
        self.ports.notifier.send(team, &Screen::new(note)).await?;
        if turn.chat() != team {
            self.say(turn, format!("✅ Saved: the media source is now {config}. I told the team chat.")).await?;
        }
        let screen = self.settings_screen(turn).await?;
        if let Some(menu) = prompt.message_id {
            match self.ports.notifier.edit(team, MessageId(menu), &screen).await {
                Ok(()) => return Ok(()),
                Err(NotifyError::MessageGone) => {}
                Err(error) => return Err(error.into()),
            }
        }
        self.ports.notifier.send(team, &screen).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s3_dialogue_collects_every_value_in_order() -> Result<(), String> {
        let answers = [
            (PromptKind::SourceS3Bucket, "team-stories"),
            (PromptKind::SourceS3Prefix, "/stories/"),
            (PromptKind::SourceS3Endpoint, "http://127.0.0.1:9000/"),
            (PromptKind::SourceS3Region, "us-east-1"),
            (PromptKind::SourceS3PathStyle, "Yes"),
            (PromptKind::SourceS3AccessKeyId, "AKIAEXAMPLE"),
        ];
        let mut draft = Vec::new();
        for (kind, answer) in answers {
            match step(kind, answer, &draft)? {
                Step::Ask(_, next) => draft = next,
                other => return Err(format!("{other:?}")),
            }
        }
        assert_eq!(
            step(PromptKind::SourceS3Secret, "the secret", &draft)?,
            Step::Done(SourceConfig::S3 {
                bucket: "team-stories".into(),
                prefix: "stories/".into(),
                endpoint: Some("http://127.0.0.1:9000".into()),
                region: "us-east-1".into(),
                path_style: true,
                access_key_id: "AKIAEXAMPLE".into(),
            })
        );
        Ok(())
    }

    #[test]
    fn bad_values_say_what_is_allowed() {
        for (kind, answer, draft, expected) in [
            (PromptKind::SourceS3Bucket, "No Such", 0, "3 to 63"),
            (PromptKind::SourceS3Endpoint, "ftp://x", 2, "https://"),
            (PromptKind::SourceS3PathStyle, "maybe", 4, "yes or no"),
            (PromptKind::SourceDriveFolder, "a/b", 0, "letters, digits"),
            (PromptKind::SourceDriveKey, "not json", 1, "JSON"),
            (PromptKind::SourceS3Region, "x", 0, "start again"),
        ] {
            let draft = vec![String::new(); draft];
            let refused = step(kind, answer, &draft).err().unwrap_or_default();
            assert!(refused.contains(expected), "{kind:?} {answer:?}: {refused:?}");
        }
    }
}
