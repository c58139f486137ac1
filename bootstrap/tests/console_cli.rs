//! `storyline console` as the real binary, typed into through its standard input (FEATURES O3).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const CHAT: &str = "-100123";

fn storyline(dir: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_storyline"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", format!("sqlite://{}", dir.join("storyline.db").display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not run storyline: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).unwrap_or_else(|e| panic!("could not type: {e}"));
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("storyline did not finish: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_console_user_is_the_operator_an_admin_and_histories_name_them() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let console = storyline(dir.path(), &["console", "--chat", CHAT], "/pause\n/settings\n");
    assert!(console.status.success(), "{}{}", text(&console.stdout), text(&console.stderr));
    let shown = text(&console.stdout);
    assert!(shown.contains("Paused since") && shown.contains("by Console operator"), "{shown}");

    let users = storyline(dir.path(), &["users", "list", "--chat", CHAT], "");
    let listed = text(&users.stdout);
    let line = listed.lines().find(|l| l.contains("Console operator")).unwrap_or_else(|| panic!("{listed}"));
    assert!(line.contains("admin"), "the operator is an admin: {listed}");

    for args in [&["settings", "history", "--chat", CHAT][..], &["settings", "history", "--versions", "--chat", CHAT]] {
        let history = text(&storyline(dir.path(), args, "").stdout);
        assert!(history.contains("Console operator"), "{args:?} names the person:\n{history}");
        assert!(!history.contains("user:0"), "{args:?}:\n{history}");
    }
    let show = text(&storyline(dir.path(), &["settings", "show", "--chat", CHAT], "").stdout);
    assert!(show.contains("by Console operator"), "{show}");
}

#[test]
fn a_number_that_matches_no_button_says_so() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let console = storyline(dir.path(), &["console", "--chat", CHAT], "/settings\n42\n1\n");
    let shown = text(&console.stdout);
    assert!(shown.contains("no button 42 here; the buttons are 1–12"), "{shown}");
    assert!(shown.contains("↳ Dry run off"), "a real button still works:\n{shown}");
}
