//! Short references that tie what a person is told to the log line with the details.

use std::fmt;

use uuid::Uuid;

/// Six hex digits, shown to a person as "ref 7f3a2c" and logged with the full cause chain, so
/// whoever runs the bot can find the line a message in the chat speaks of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference(String);

impl Reference {
    /// A new, random reference.
    #[must_use]
    pub fn new() -> Self {
        let mut digits = Uuid::new_v4().simple().to_string();
        digits.truncate(6);
        Self(digits)
    }

    /// The digits alone.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Reference {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Reference;

    #[test]
    fn a_reference_is_six_hex_digits_and_new_each_time() {
        let (a, b) = (Reference::new(), Reference::new());
        assert_eq!(a.as_str().len(), 6);
        assert!(a.as_str().chars().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
    }
}
