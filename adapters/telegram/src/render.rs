//! A [`Screen`] in Telegram's terms: HTML text with every span escaped, and an inline keyboard.

use storyline_domain::chat::{ButtonTarget, Screen, Style};
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
use teloxide::utils::html;

/// The screen's text as Telegram HTML. Nothing in it is trusted: every span is escaped.
#[must_use]
pub fn html(screen: &Screen) -> String {
    let mut out = String::new();
    for span in &screen.text.0 {
        let text = html::escape(&span.text);
        match span.style {
            Style::Plain => out.push_str(&text),
            Style::Bold => out.push_str(&format!("<b>{text}</b>")),
            Style::Italic => out.push_str(&format!("<i>{text}</i>")),
            Style::Code => out.push_str(&format!("<code>{text}</code>")),
        }
    }
    if out.trim().is_empty() {
        // Telegram refuses an empty message.
        out.push('…');
    }
    out
}

/// The screen's buttons, or `None` when it has none. Links that are not valid URLs are dropped.
#[must_use]
pub fn keyboard(screen: &Screen) -> Option<InlineKeyboardMarkup> {
    let rows: Vec<Vec<InlineKeyboardButton>> = screen
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .filter_map(|button| match &button.target {
                    ButtonTarget::Press(data) => {
                        Some(InlineKeyboardButton::callback(button.label.clone(), data.clone()))
                    }
                    ButtonTarget::Link(url) => {
                        url.parse().ok().map(|url| InlineKeyboardButton::url(button.label.clone(), url))
                    }
                })
                .collect()
        })
        .filter(|row: &Vec<InlineKeyboardButton>| !row.is_empty())
        .collect();
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

#[cfg(test)]
mod tests {
    use storyline_domain::chat::{Button, Text};

    use super::*;

    #[test]
    fn every_span_is_escaped_for_html() {
        let hostile = "_*[]()<>&\"'` <b>bold</b> &amp;";
        let screen = Screen::new(Text::new().bold(hostile).plain(hostile).code(hostile));
        let rendered = html(&screen);
        assert!(!rendered.contains("<b>bold</b>"), "{rendered}");
        assert!(rendered.contains("&lt;b&gt;bold&lt;/b&gt;"), "{rendered}");
        assert!(rendered.contains("&amp;amp;"), "{rendered}");
        assert_eq!(rendered.matches("<b>").count(), 1, "only our own tag: {rendered}");
    }

    #[test]
    fn buttons_become_rows_of_callback_buttons() {
        let press =
            |label: &str| Button { label: label.to_owned(), target: ButtonTarget::Press(format!("1:x:{label}")) };
        let screen = Screen::new("menu").row(vec![press("a"), press("b")]).row(vec![press("c")]);
        let markup = keyboard(&screen).unwrap_or_else(|| panic!("no keyboard"));
        let shape: Vec<usize> = markup.inline_keyboard.iter().map(Vec::len).collect();
        assert_eq!(shape, vec![2, 1]);
        assert!(keyboard(&Screen::new("no buttons")).is_none());
    }
}
