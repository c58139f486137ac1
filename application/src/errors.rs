//! Errors as people see them and as the log keeps them: a person gets a short sentence in the
//! product's words and a reference ("ref 7f3a2c"); the log line under that reference carries the
//! full cause chain. An adapter's error text never goes to a chat or a history row.

use storyline_domain::reference::Reference;

/// An error with its causes, one after another, for a log line.
#[must_use]
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Logs `error` (with its cause chain) as a warning under a new reference, and returns the
/// reference for the sentence the person sees.
#[must_use]
pub fn warn_with_reference(what: &str, error: &(dyn std::error::Error + 'static)) -> Reference {
    let reference = Reference::new();
    tracing::warn!(reference = %reference, error = %error_chain(error), "{what}");
    reference
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug, thiserror::Error)]
    #[error("the store failed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_chain_lists_each_cause_after_the_error() {
        let error = Outer(std::io::Error::other("disk full"));
        assert_eq!(error_chain(&error), "the store failed: disk full");
    }
}
