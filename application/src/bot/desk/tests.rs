//! The desk's small rules: the posting pace in words (command arguments are checked in
//! `crate::command`).

use std::time::Duration;

use super::one_per;

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
