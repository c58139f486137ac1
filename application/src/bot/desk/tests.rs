//! The desk's small rules: the posting pace in words, bounded counts after a command.

use std::time::Duration;

use super::{count_arg, one_per};

#[test]
fn the_posting_pace_reads_as_a_person_would_say_it() {
    for (seconds, said) in [
        (1, "one a second"),
        (5, "one every 5 seconds"),
        (60, "one a minute"),
        (90, "one every 90 seconds"),
        (120, "one every 2 minutes"),
        (3600, "one an hour"),
    ] {
        assert_eq!(one_per(Duration::from_secs(seconds)), said);
    }
}

#[test]
fn counts_after_a_command_are_bounded() {
    assert_eq!(count_arg("", 7, 30), Some(7));
    assert_eq!(count_arg(" 3 ", 7, 30), Some(3));
    for bad in ["0", "31", "-1", "abc", "99999999999", "3 days"] {
        assert_eq!(count_arg(bad, 7, 30), None, "{bad}");
    }
}
