//! Typed answers to Change prompts. Every message is untrusted: anything that is not exactly
//! what the prompt asked for is refused with a sentence saying what is allowed.

use storyline_domain::conversation::PromptKind;
use storyline_domain::settings::{Hour, PostingWindow, PostsPerDay, SettingChange, SettingKey, parse_time_zone};

/// "cancel" in any case, with or without a slash.
pub(super) fn is_cancel(text: &str) -> bool {
    let text = text.trim();
    text.eq_ignore_ascii_case("cancel") || text.eq_ignore_ascii_case("/cancel")
}

/// The change a typed answer asks for, or what is wrong with it.
pub(super) fn parse(kind: PromptKind, text: &str) -> Result<SettingChange, String> {
    let text = text.trim();
    match kind {
        PromptKind::PostsPerDay => text
            .parse::<i64>()
            .ok()
            .and_then(|n| PostsPerDay::try_from_i64(n).ok())
            .map(SettingChange::PostsPerDay)
            .ok_or_else(|| "Posts per day must be a whole number from 1 to 50.".to_owned()),
        PromptKind::PostingHours => {
            let hours: Vec<&str> = text
                .split(|c: char| c == '-' || c == '–' || c == '—' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .collect();
            let parsed: Option<Vec<Hour>> = hours
                .iter()
                .map(|h| h.trim_end_matches(":00").parse::<i64>().ok().and_then(|n| Hour::try_from_i64(n).ok()))
                .collect();
            match parsed.as_deref() {
                Some([start, end]) => PostingWindow::new(*start, *end)
                    .map(SettingChange::Window)
                    .map_err(|_| "The start and the end must be different hours.".to_owned()),
                _ => {
                    Err("Posting hours must be two whole numbers from 0 to 23, as start-end (for example 9-17)."
                        .to_owned())
                }
            }
        }
        PromptKind::TimeZone => {
            parse_time_zone(text).map(SettingChange::TimeZone).map_err(|e| format!("{}.", capitalise(&e.to_string())))
        }
        PromptKind::InstagramAccount => Err("An account is not a setting.".to_owned()),
        _ => Err("A media source is not a setting.".to_owned()),
    }
}

/// A setting's name for people.
pub(super) fn label(key: SettingKey) -> &'static str {
    match key {
        SettingKey::DryRunMode => "Dry run",
        SettingKey::EnableInstagramApi => "Instagram API",
        SettingKey::IsPaused => "Paused",
        SettingKey::PostsPerDay => "Posts per day",
        SettingKey::PostingHoursStart => "Posting hours start",
        SettingKey::PostingHoursEnd => "Posting hours end",
        SettingKey::PostingTimezone => "Time zone",
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_per_day_answers_are_whole_numbers_from_one_to_fifty() {
        assert!(parse(PromptKind::PostsPerDay, " 7 ").is_ok());
        for bad in ["0", "51", "abc", "", "🎉", "99999999999999999999", "7.5", "-1"] {
            let refused = parse(PromptKind::PostsPerDay, bad).expect_err(bad);
            assert!(refused.contains("from 1 to 50"), "{bad}: {refused}");
        }
    }

    #[test]
    fn posting_hours_are_start_and_end() -> Result<(), String> {
        assert!(matches!(parse(PromptKind::PostingHours, "9-17")?, SettingChange::Window(w) if w.start().get() == 9));
        assert!(matches!(parse(PromptKind::PostingHours, "22 – 2")?, SettingChange::Window(w) if w.wraps_midnight()));
        assert!(parse(PromptKind::PostingHours, "9:00-17:00").is_ok());
        assert!(parse(PromptKind::PostingHours, "5-5").expect_err("same").contains("different"));
        for bad in ["24-3", "9", "9-17-20", "", "nine-five"] {
            assert!(parse(PromptKind::PostingHours, bad).is_err(), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn cancel_is_recognised() {
        assert!(is_cancel(" Cancel "));
        assert!(is_cancel("/cancel"));
        assert!(!is_cancel("cancel please"));
    }
}
