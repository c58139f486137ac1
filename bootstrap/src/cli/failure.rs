//! How a failed command ends: one line on stderr, exit 1 for a failure and 2 for input that was
//! refused; a closed stdout (`storyline … | head -1`) ends quietly.

use std::io::ErrorKind;

/// Input the command refused, in the product's words; nothing was changed. Exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// The error and its causes on one line, each cause once: a cause whose text the previous one
/// already contains is left out ("… Name or service not known: Name or service not known").
#[must_use]
pub fn one_line(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string().replace(['\n', '\r'], " ");
        let text = text.trim();
        if text.is_empty() || parts.last().is_some_and(|previous| previous.contains(text)) {
            continue;
        }
        parts.push(text.to_owned());
    }
    parts.join(": ")
}

/// Whether the error is a write to a reader that went away (a closed pipe).
#[must_use]
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == ErrorKind::BrokenPipe))
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("failed to lookup address information: Name or service not known")]
    struct Lookup(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("Name or service not known")]
    struct Inner;

    #[test]
    fn a_cause_already_said_by_the_one_before_is_left_out() {
        let error = anyhow::Error::new(Lookup(Inner)).context("could not reach the database");
        assert_eq!(
            one_line(&error),
            "could not reach the database: failed to lookup address information: Name or service not known"
        );
    }

    #[test]
    fn causes_that_say_something_new_are_kept_on_one_line() {
        let error: anyhow::Result<()> = Err(anyhow::anyhow!("line one\nline two"));
        let error = error.context("outer").unwrap_err();
        assert_eq!(one_line(&error), "outer: line one line two");
    }

    #[test]
    fn a_closed_pipe_is_recognised_below_context() {
        let error = anyhow::Error::new(std::io::Error::from(ErrorKind::BrokenPipe)).context("printing the table");
        assert!(is_broken_pipe(&error));
        assert!(!is_broken_pipe(&anyhow::anyhow!("Broken pipe")));
    }
}
