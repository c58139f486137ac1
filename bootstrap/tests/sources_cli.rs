//! `storyline media-source show | set` of the real binary, on a SQLite file (FEATURES M1).

use std::io::Write;
use std::process::{Command, Output, Stdio};

use storyline_crypto::Keyring;

const CHAT: &str = "-100123";
const SECRET: &str = "wJalrXUtnFEMI-cli-secret-never-shown";

struct Env {
    dir: tempfile::TempDir,
    key: Option<String>,
}

impl Env {
    fn new(key: bool) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join("media/memes"))?;
        std::fs::create_dir_all(dir.path().join("elsewhere/news"))?;
        Ok(Self { dir, key: key.then(Keyring::generate) })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_storyline"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("DATABASE_URL", format!("sqlite://{}", self.dir.path().join("storyline.db").display()))
            .env("MEDIA_DIR", self.dir.path().join("media"))
            .env("RUST_LOG", "trace");
        if let Some(key) = &self.key {
            command.env("ENCRYPTION_KEY", key);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap_or_else(|e| panic!("could not run storyline: {e}"))
    }

    /// Runs with `input` on standard input.
    fn run_with_input(&self, args: &[&str], input: &str) -> anyhow::Result<Output> {
        let mut child =
            self.command(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        child.stdin.take().ok_or_else(|| anyhow::anyhow!("no stdin"))?.write_all(input.as_bytes())?;
        Ok(child.wait_with_output()?)
    }
}

fn all(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn show_tells_the_default_then_every_version_and_set_local_tries_the_folder_first() -> anyhow::Result<()> {
    let env = Env::new(true)?;
    let made = env.run(&["settings", "set", "--chat", CHAT, "posts_per_day", "3"]);
    assert!(made.status.success(), "{}", all(&made));
    let shown = env.run(&["media-source", "show", "--chat", CHAT]);
    assert!(shown.status.success(), "{}", all(&shown));
    let text = all(&shown);
    assert!(text.contains("(the default: none set)") && text.contains("media"), "{text}");
    assert!(text.contains("last synced: never"), "{text}");

    let elsewhere = env.dir.path().join("elsewhere");
    let set = env.run(&["media-source", "set", "local", &elsewhere.display().to_string(), "--chat", CHAT]);
    assert!(set.status.success(), "{}", all(&set));
    assert!(all(&set).contains("is now local"), "{}", all(&set));

    let missing = env.run(&["media-source", "set", "local", "no-such-folder", "--chat", CHAT]);
    assert_eq!(missing.status.code(), Some(2), "{}", all(&missing));
    assert!(all(&missing).contains("there is no folder no-such-folder"), "{}", all(&missing));

    let shown = env.run(&["media-source", "show", "--chat", CHAT]);
    let text = all(&shown);
    assert!(shown.status.success(), "{text}");
    assert!(!text.contains("the default"), "{text}");
    assert!(text.contains("elsewhere") && text.contains("current") && text.contains("cli"), "{text}");
    assert_eq!(text.matches("┆ local").count(), 1, "one version: {text}");
    Ok(())
}

#[test]
fn an_s3_secret_comes_from_stdin_only_is_never_shown_and_nothing_is_saved_when_the_source_fails() -> anyhow::Result<()>
{
    let env = Env::new(true)?;
    let s3 = ["media-source", "set", "s3", "--bucket", "photos", "--access-key-id", "AKIAEXAMPLE", "--chat", CHAT];
    let literal = env.run(&[&s3[..], &["--secret-access-key", SECRET]].concat());
    assert_eq!(literal.status.code(), Some(2), "{}", all(&literal));
    assert!(all(&literal).contains("--secret-access-key must be `-`"), "{}", all(&literal));
    assert!(!all(&literal).contains(SECRET), "never echoed: {}", all(&literal));

    // An endpoint where nothing answers: the trial listing fails and nothing is saved (a real
    // S3 server on loopback is in tests/tests/s3.rs).
    let nowhere = ["--endpoint", "http://127.0.0.1:9", "--path-style", "--secret-access-key", "-"];
    let tried = env.run_with_input(&[&s3[..], &nowhere[..]].concat(), &format!("{SECRET}\n"))?;
    assert_eq!(tried.status.code(), Some(2), "{}", all(&tried));
    assert!(all(&tried).contains("s3://photos cannot be used"), "{}", all(&tried));
    assert!(all(&tried).contains("nothing was saved"), "{}", all(&tried));
    assert!(!all(&tried).contains(SECRET), "{}", all(&tried));

    let shown = env.run(&["media-source", "show", "--chat", CHAT]);
    assert!(all(&shown).contains("(the default: none set)"), "{}", all(&shown));
    Ok(())
}

#[test]
fn without_a_key_a_secret_is_refused_before_anything_is_tried() -> anyhow::Result<()> {
    let env = Env::new(false)?;
    let key_file = env.dir.path().join("key.json");
    std::fs::write(&key_file, format!("{{\"private_key\": \"{SECRET}\"}}"))?;
    let drive = env.run(&[
        "media-source",
        "set",
        "drive",
        "--folder-id",
        "1AbC",
        "--service-account-key",
        &key_file.display().to_string(),
        "--chat",
        CHAT,
    ]);
    assert_eq!(drive.status.code(), Some(2), "{}", all(&drive));
    assert!(all(&drive).contains("ENCRYPTION_KEY"), "{}", all(&drive));
    assert!(!all(&drive).contains(SECRET), "{}", all(&drive));
    let no_file = env.run(&[
        "media-source",
        "set",
        "drive",
        "--folder-id",
        "1AbC",
        "--service-account-key",
        "missing.json",
        "--chat",
        CHAT,
    ]);
    assert_eq!(no_file.status.code(), Some(2), "{}", all(&no_file));
    assert!(all(&no_file).contains("cannot read the key file missing.json"), "{}", all(&no_file));
    Ok(())
}
