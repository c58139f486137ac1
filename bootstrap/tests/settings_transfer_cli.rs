//! `storyline settings export` and `settings import` (FEATURES T3) through the real binary, on
//! SQLite and PostgreSQL: a workspace's export imported into another gives it the same settings
//! and mix, an import without --yes only shows what would change, and every refused file says
//! which field is wrong and changes nothing.

use std::path::Path;
use std::process::{Command, Output};

use chrono::Utc;
use storyline_domain::account::{DisplayName, InstagramUserId, LoginKind, NewAccount, NewToken, Username, parse_token};
use storyline_domain::source::{OldItems, SourceConfig};
use storyline_domain::user::Actor;
use storyline_domain::{ChatId, WorkspaceId};
use storyline_tests::Backend;
use storyline_tests::files::png;

const A: &str = "-100111";
const B: &str = "-100222";
const TOKEN: &str = "IGQVJexportSecretTokenValue0123456789";

struct Cli<'a> {
    dir: &'a Path,
    url: &'a str,
}

impl Cli<'_> {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_storyline"))
            .args(args)
            .current_dir(self.dir)
            .env_clear()
            .env("HOME", self.dir)
            .env("DATABASE_URL", self.url)
            .output()
            .unwrap_or_else(|e| panic!("could not run storyline: {e}"))
    }

    /// Runs a command that must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?}: {}", text(&output.stderr));
        text(&output.stdout)
    }

    /// How many versions the chat's settings have.
    fn versions(&self, chat: &str) -> usize {
        let json = self.ok(&["settings", "history", "--versions", "--json", "--chat", chat]);
        serde_json::from_str::<Vec<serde_json::Value>>(&json).map(|v| v.len()).unwrap_or_else(|e| panic!("{e}: {json}"))
    }

    /// `settings show` without the heading (which names the workspace) and who paused when.
    fn shown(&self, chat: &str) -> Vec<String> {
        self.ok(&["settings", "show", "--chat", chat])
            .lines()
            .skip(1)
            .map(|line| line.split(" (since").next().unwrap_or(line).trim_end_matches([' ', '│', '┃']).to_owned())
            .collect()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn workspace(backend: &Backend, chat: &str) -> anyhow::Result<WorkspaceId> {
    let chat = ChatId(chat.parse()?);
    let found = backend.stores().settings.workspace_by_chat(chat).await?;
    Ok(found.ok_or_else(|| anyhow::anyhow!("no workspace for {chat}"))?.id)
}

/// Workspace A with changed settings, a library, a mix, an account and a media source; workspace
/// B with the same library and the defaults. Returns the export of A, written to a file.
async fn two_workspaces(backend: &Backend, cli: &Cli<'_>) -> anyhow::Result<std::path::PathBuf> {
    let media = cli.dir.join("media");
    for category in ["memes", "merch"] {
        std::fs::create_dir_all(media.join(category))?;
        std::fs::write(media.join(category).join("a.png"), png(1080, 1920, category))?;
    }
    for chat in [A, B] {
        cli.ok(&["index-media", "media", "--chat", chat]);
    }
    for (key, value) in [
        ("posts_per_day", "7"),
        ("posting_hours_start", "9"),
        ("posting_timezone", "Europe/Berlin"),
        ("is_paused", "true"),
        ("dry_run_mode", "false"),
    ] {
        cli.ok(&["settings", "set", "--chat", A, key, value]);
    }
    cli.ok(&["category-mix", "set", "memes=70", "merch=30", "--chat", A]);
    let a = workspace(backend, A).await?;
    let account = NewAccount {
        display_name: DisplayName::new("Main Brand")?,
        instagram_id: InstagramUserId::new("17841000001")?,
        username: Some(Username::new("mainbrand")?),
        login: LoginKind::Instagram,
    };
    let token = NewToken { token: parse_token(TOKEN)?, expires_at: None, checked: true };
    backend.stores().accounts.add(a, &account, &token, true, &Actor::Cli, Utc::now()).await?;
    let source = SourceConfig::Local { root: "/srv/media".to_owned() };
    backend.stores().sources.set_source(a, &source, None, &Actor::Cli, OldItems::Keep, Utc::now()).await?;
    let file = cli.dir.join("a.json");
    let said = cli.ok(&["settings", "export", "--chat", A, "--output", "a.json"]);
    assert!(said.contains("wrote the settings of chat -100111 to a.json"), "{said}");
    Ok(file)
}

async fn export_then_import_gives_the_same_settings(backend: &Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = backend.database_url().ok_or_else(|| anyhow::anyhow!("no url"))?;
    let cli = Cli { dir: dir.path(), url };
    let file = two_workspaces(backend, &cli).await?;
    let exported = std::fs::read_to_string(&file)?;
    assert_eq!(cli.ok(&["settings", "export", "--chat", A]), exported, "stdout and --output write the same");
    assert!(!exported.contains(TOKEN) && !exported.contains("token"), "{exported}");
    assert!(exported.contains("\"mainbrand\"") && exported.contains("/srv/media"), "{exported}");
    let file = file.to_string_lossy().into_owned();

    let before = cli.versions(B);
    let preview = cli.ok(&["settings", "import", &file, "--chat", B]);
    for expected in [
        "importing into chat -100222 would change:",
        "  posts_per_day: 3 → 7",
        "  posting_timezone: UTC → Europe/Berlin",
        "  category_mix: (none) → memes=70 merch=30",
        "account \"Main Brand\" (17841000001 @mainbrand): not imported",
        "media source local /srv/media: not imported",
        "nothing changed: run again with --yes to apply",
    ] {
        assert!(preview.contains(expected), "{expected:?} in {preview}");
    }
    assert_eq!(cli.versions(B), before, "without --yes nothing changes");
    assert!(cli.ok(&["category-mix", "history", "--chat", B]).lines().all(|l| !l.contains("memes=70")));

    let applied = cli.ok(&["settings", "import", &file, "--chat", B, "--yes"]);
    assert!(
        applied.contains("imported into chat -100222:") && applied.contains("  is_paused: false → true"),
        "{applied}"
    );
    assert!(applied.contains("  category_mix: (none) → memes=70 merch=30"), "{applied}");
    assert!(applied.contains("not imported"), "{applied}");
    assert_eq!(cli.versions(B), before + 1, "the whole import is one version");
    assert_eq!(cli.shown(B), cli.shown(A), "the same settings");
    let mix = cli.ok(&["category-mix", "history", "--chat", B]);
    assert!(mix.contains("memes=70 merch=30"), "{mix}");
    let audit = cli.ok(&["settings", "history", "--chat", B, "--json"]);
    let entries: Vec<serde_json::Value> = serde_json::from_str(&audit)?;
    assert_eq!(entries.len(), 6, "five settings and the mix: {audit}");
    assert!(entries.iter().all(|e| e["by"] == "cli"), "{audit}");
    let b = workspace(backend, B).await?;
    assert!(backend.stores().accounts.accounts(b, true).await?.is_empty(), "no account is created");

    let again = cli.ok(&["settings", "import", &file, "--chat", B, "--yes"]);
    assert!(again.contains("the file matches the settings of chat -100222; nothing changed"), "{again}");
    assert_eq!(cli.versions(B), before + 1);
    Ok(())
}

async fn every_refused_file_names_the_field_and_changes_nothing(backend: &Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = backend.database_url().ok_or_else(|| anyhow::anyhow!("no url"))?;
    let cli = Cli { dir: dir.path(), url };
    let file = two_workspaces(backend, &cli).await?;
    let good: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file)?)?;
    // C has no library: a mix is refused there.
    cli.ok(&["settings", "set", "--chat", "-100333", "posts_per_day", "3"]);
    let mut cases: Vec<(&str, String, &str)> =
        vec![(B, "{\"version\": 1,".to_owned(), "the file is not JSON"), (B, "[]".to_owned(), "must be a JSON object")];
    let broken = |path: &[&str], value: serde_json::Value| {
        let mut document = good.clone();
        let mut at = &mut document;
        for (n, key) in path.iter().enumerate() {
            if n + 1 == path.len() {
                at[*key] = value.clone();
            } else {
                at = &mut at[*key];
            }
        }
        document.to_string()
    };
    cases.push((B, broken(&["version"], 2.into()), "version: 2 is not a version this Storyline reads"));
    cases.push((B, broken(&["colour"], "red".into()), "unknown field `colour`"));
    cases.push((B, broken(&["settings", "token"], "x".into()), "unknown field `token`"));
    cases.push((B, broken(&["settings", "posts_per_day"], 0.into()), "settings.posts_per_day: posts per day must be"));
    cases.push((B, broken(&["settings", "posting_hours_end"], 24.into()), "settings.posting_hours_end: an hour"));
    cases.push((B, broken(&["settings", "posting_timezone"], "Mars/Base".into()), "settings.posting_timezone"));
    cases.push((B, broken(&["category_mix", "memes"], 60.into()), "category_mix: the percentages add up to 90"));
    cases.push((B, broken(&["accounts"], serde_json::json!([{ "display_name": "X" }])), "accounts[0]"));
    cases.push(("-100333", good.to_string(), "category_mix: no categories memes, merch in this workspace's library"));
    for (n, (chat, content, expected)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{n}.json"));
        std::fs::write(&path, content)?;
        let path = path.to_string_lossy().into_owned();
        let before = cli.versions(chat);
        for yes in [false, true] {
            let mut args = vec!["settings", "import", path.as_str(), "--chat", chat];
            if yes {
                args.push("--yes");
            }
            let output = cli.run(&args);
            let said = text(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{expected}: {said}");
            assert_eq!(said.lines().count(), 1, "one line: {said}");
            assert!(said.contains(expected) && said.trim_end().ends_with("nothing changed"), "{expected:?} in {said}");
            assert_eq!(cli.versions(chat), before, "{expected}: nothing changed");
        }
    }
    std::fs::write(dir.path().join("binary.json"), [0xff, 0xfe, 0x00])?;
    for (file, expected) in [("binary.json", "is not UTF-8 text"), ("missing.json", "could not read missing.json")] {
        let output = cli.run(&["settings", "import", file, "--chat", B, "--yes"]);
        let said = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{said}");
        assert!(said.contains(expected), "{expected:?} in {said}");
    }
    let file = file.to_string_lossy().into_owned();
    let output = cli.run(&["settings", "import", &file, "--chat", "-100999"]);
    let said = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("no workspace for chat -100999") && said.contains("nothing was created"), "{said}");
    let mix = cli.ok(&["category-mix", "history", "--chat", B]);
    assert!(!mix.contains("memes="), "B's mix is untouched: {mix}");
    Ok(())
}

#[tokio::test]
async fn sqlite_export_then_import_gives_the_same_settings() -> anyhow::Result<()> {
    let Some(backend) = Backend::sqlite().await? else { return Ok(()) };
    export_then_import_gives_the_same_settings(&backend).await
}

#[tokio::test]
async fn postgres_export_then_import_gives_the_same_settings() -> anyhow::Result<()> {
    let Some(backend) = Backend::postgres().await? else { return Ok(()) };
    export_then_import_gives_the_same_settings(&backend).await
}

#[tokio::test]
async fn sqlite_every_refused_file_names_the_field_and_changes_nothing() -> anyhow::Result<()> {
    let Some(backend) = Backend::sqlite().await? else { return Ok(()) };
    every_refused_file_names_the_field_and_changes_nothing(&backend).await
}

#[tokio::test]
async fn postgres_every_refused_file_names_the_field_and_changes_nothing() -> anyhow::Result<()> {
    let Some(backend) = Backend::postgres().await? else { return Ok(()) };
    every_refused_file_names_the_field_and_changes_nothing(&backend).await
}
