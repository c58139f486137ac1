//! Text from outside (Telegram, a terminal) as every store can keep it.

use std::borrow::Cow;

/// `text` with every U+0000 replaced by U+FFFD. PostgreSQL's `text` refuses the NUL character,
/// so a first name, a command or a button's data holding one would fail the write; every store
/// (SQLite and memory too, so the three agree) keeps text from outside through this.
#[must_use]
pub fn storable(text: &str) -> Cow<'_, str> {
    if text.contains('\0') { Cow::Owned(text.replace('\0', "\u{FFFD}")) } else { Cow::Borrowed(text) }
}

/// [`storable`] for an optional text.
#[must_use]
pub fn storable_opt(text: Option<&str>) -> Option<Cow<'_, str>> {
    text.map(storable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_becomes_the_replacement_character_and_other_text_is_untouched() {
        assert_eq!(storable("/help\0"), "/help\u{FFFD}");
        assert_eq!(storable("\0a\0"), "\u{FFFD}a\u{FFFD}");
        assert!(matches!(storable("Ada 🎉"), Cow::Borrowed("Ada 🎉")));
        assert_eq!(storable_opt(None), None);
    }
}
