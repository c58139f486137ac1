//! The account commands of the real `storyline` binary, on a SQLite file, against a wiremock
//! Graph API (FEATURES A3–A5).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::json;
use storyline_crypto::Keyring;
use wiremock::matchers::{method, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CHAT: &str = "-100123";
const TOKEN: &str = "IGAAB-cli-secret-token-000111";
const TOKEN_2: &str = "EAAB-cli-second-secret-token-222";

struct Env {
    dir: tempfile::TempDir,
    key: String,
    graph: MockServer,
}

impl Env {
    async fn new() -> anyhow::Result<Self> {
        let graph = MockServer::start().await;
        for (id, username) in [("17841400000000001", "brand_main"), ("17841400000000002", "brand_promo")] {
            Mock::given(method("GET"))
                .and(path_regex(format!(r"^/v[0-9.]+/{id}$")))
                .and(query_param("fields", "username"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": id, "username": username})))
                .mount(&graph)
                .await;
        }
        Mock::given(method("GET"))
            .and(path_regex(r"^/v[0-9.]+/17841400000000009$"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "error": {"message": format!("Invalid OAuth access token - Cannot parse access token {TOKEN}"), "code": 190}
            })))
            .mount(&graph)
            .await;
        Ok(Self { dir: tempfile::tempdir()?, key: Keyring::generate(), graph })
    }

    fn command(&self, args: &[&str], key: Option<&str>) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_storyline"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("DATABASE_URL", format!("sqlite://{}", self.dir.path().join("storyline.db").display()))
            .env("GRAPH_API_URL", self.graph.uri())
            .env("RUST_LOG", "trace");
        if let Some(key) = key {
            command.env("ENCRYPTION_KEYS", key);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with_key(args, Some(&self.key.clone()))
    }

    fn run_with_key(&self, args: &[&str], key: Option<&str>) -> Output {
        self.command(args, key).output().unwrap_or_else(|e| panic!("could not run storyline: {e}"))
    }

    fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("storyline.db")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn all(output: &Output) -> String {
    format!("{}{}", text(&output.stdout), text(&output.stderr))
}

fn add(env: &Env, id: &str, token: &str, extra: &[&str]) -> Output {
    let mut args =
        vec!["add-instagram-account", "--display-name", "Brand", "--account-id", id, "--access-token", token];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--chat", CHAT]);
    env.run(&args)
}

fn file_contains(path: &Path, needle: &str) -> bool {
    let mut found = false;
    for entry in [path.to_path_buf(), path.with_extension("db-wal")] {
        if let Ok(bytes) = std::fs::read(&entry) {
            found |= bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        }
    }
    found
}

#[tokio::test]
async fn accounts_are_added_listed_switched_disabled_and_refused_clearly() -> anyhow::Result<()> {
    let env = Env::new().await?;
    // The only account becomes active by itself; the username comes from Meta.
    let first = add(&env, "17841400000000001", TOKEN, &["--expires-in-days", "58"]);
    assert!(first.status.success(), "{}", all(&first));
    assert!(text(&first.stdout).contains("@brand_main") && text(&first.stdout).contains("active account"));
    // A second one stays inactive unless asked.
    let second = add(&env, "17841400000000002", TOKEN_2, &["--expires-in-days", "2"]);
    assert!(second.status.success(), "{}", all(&second));
    assert!(!text(&second.stdout).contains("active account"), "{}", all(&second));

    let list = env.run(&["list-instagram-accounts", "--chat", CHAT]);
    let shown = text(&list.stdout);
    assert!(shown.contains("@brand_main") && shown.contains("@brand_promo"), "{shown}");
    // Days as a person counts them: 58 days added a moment ago are 58 days, not 57.
    assert!(shown.contains("Valid (58 days)"), "{shown}");
    assert!(shown.contains("Expires in 2 days"), "{shown}");
    assert!(shown.contains('✓'), "{shown}");

    // Refusals: exit 2, say what is allowed, change nothing.
    for (args, expected) in [
        (
            vec!["--display-name", "X", "--account-id", "brand", "--access-token", TOKEN],
            "account id must be 1 to 32 digits",
        ),
        (
            vec!["--display-name", "X", "--account-id", "1", "--access-token", "short"],
            "access token must be 20 to 1024",
        ),
        (vec!["--display-name", "X", "--account-id", "17841400000000001", "--access-token", TOKEN], "already added"),
        (
            vec!["--display-name", "X", "--account-id", "17841400000000009", "--access-token", TOKEN],
            "Meta refused the token",
        ),
        (
            vec![
                "--display-name",
                "X",
                "--account-id",
                "17841400000000003",
                "--access-token",
                TOKEN,
                "--expires-in-days",
                "0",
            ],
            "1 to 365 days",
        ),
    ] {
        let mut full = vec!["add-instagram-account"];
        full.extend(args);
        full.extend(["--chat", CHAT]);
        let output = env.run(&full);
        assert_eq!(output.status.code(), Some(2), "{expected}: {}", all(&output));
        assert!(text(&output.stderr).contains(expected), "{expected}: {}", all(&output));
        assert!(!all(&output).contains(TOKEN), "the token is never echoed: {}", all(&output));
        assert!(!all(&output).contains("EAAB short") && !all(&output).contains("EAAB-cut-sh"), "{}", all(&output));
    }
    let again = text(&env.run(&["list-instagram-accounts", "--chat", CHAT]).stdout);
    assert_eq!(again.matches("@brand").count(), 2, "nothing was added: {again}");

    let switched = env.run(&["switch-instagram-account", "@brand_promo", "--chat", CHAT]);
    assert!(text(&switched.stdout).contains("active account: Brand (@brand_promo)"), "{}", all(&switched));
    let off = env.run(&["deactivate-instagram-account", "@brand_promo", "--chat", CHAT]);
    assert!(text(&off.stdout).contains("active account: none"), "{}", all(&off));
    let refused = env.run(&["switch-instagram-account", "@brand_promo", "--chat", CHAT]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("disabled"), "{}", all(&refused));
    let unknown = env.run(&["switch-instagram-account", "@nobody", "--chat", CHAT]);
    assert_eq!(unknown.status.code(), Some(2));
    let on = env.run(&["reactivate-instagram-account", "@brand_promo", "--chat", CHAT]);
    assert!(on.status.success(), "{}", all(&on));

    // The token is sealed at rest and in no log line, even at trace level.
    assert!(!file_contains(&env.db(), TOKEN) && !file_contains(&env.db(), TOKEN_2), "tokens are encrypted at rest");
    for output in [&first, &second, &list, &switched, &off] {
        assert!(!all(output).contains(TOKEN) && !all(output).contains(TOKEN_2));
    }
    Ok(())
}

#[tokio::test]
async fn a_token_read_from_stdin_stays_out_of_the_arguments() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let mut child = env
        .command(
            &[
                "add-instagram-account",
                "--display-name",
                "Main",
                "--account-id",
                "17841400000000001",
                "--access-token",
                "-",
                "--chat",
                CHAT,
            ],
            Some(&env.key),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child.stdin.take().ok_or_else(|| anyhow::anyhow!("no stdin"))?.write_all(format!("{TOKEN}\n").as_bytes())?;
    let output = child.wait_with_output()?;
    assert!(output.status.success(), "{}", all(&output));
    assert!(text(&output.stdout).contains("@brand_main"));
    Ok(())
}

/// `storyline console` in `chat` with `key`, typing `/settings` (so the workspace answers).
fn console(env: &Env, key: Option<&str>, chat: &str) -> Output {
    let mut child = env
        .command(&["console", "--chat", chat], key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not run storyline: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"/settings\n");
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("storyline did not finish: {e}"))
}

/// The warning lines a run printed about tokens that do not open.
fn warnings(output: &Output) -> Vec<String> {
    all(output).lines().filter(|l| l.contains("cannot be opened")).map(ToOwned::to_owned).collect()
}

#[tokio::test]
async fn a_lost_key_locks_out_only_the_tokens_and_remove_instagram_account_is_the_way_out() -> anyhow::Result<()> {
    let env = Env::new().await?;
    assert!(add(&env, "17841400000000001", TOKEN, &[]).status.success());
    let lost = Keyring::generate();
    // Another workspace, with no account at all, works under the new key.
    let other = console(&env, Some(&lost), "-100999");
    assert!(other.status.success(), "{}", all(&other));
    assert!(text(&other.stdout).contains("Settings"), "the bot answered: {}", all(&other));
    // So does the team's own chat: the manual path needs no key.
    let team = console(&env, Some(&lost), CHAT);
    assert!(team.status.success() && text(&team.stdout).contains("Settings"), "{}", all(&team));
    assert_eq!(warnings(&team).len(), 1, "{}", all(&team));
    // Listing needs no key either.
    let listed = env.run_with_key(&["list-instagram-accounts", "--chat", CHAT], Some(&lost));
    assert!(text(&listed.stdout).contains("@brand_main"), "{}", all(&listed));

    // The way out: forget the token. Audited; the identity and its history stay.
    let removed = env.run_with_key(&["remove-instagram-account", "@brand_main", "--chat", CHAT], Some(&lost));
    assert!(removed.status.success(), "{}", all(&removed));
    assert!(
        text(&removed.stdout).contains("token forgotten") && text(&removed.stdout).contains("active account: none")
    );
    let listed = text(&env.run_with_key(&["list-instagram-accounts", "--chat", CHAT], Some(&lost)).stdout);
    let row = listed.lines().find(|l| l.contains("@brand_main")).unwrap_or_else(|| panic!("kept: {listed}"));
    assert!(row.contains("No token") && row.contains("no"), "disabled, no token: {listed}");
    let team = console(&env, Some(&lost), CHAT);
    assert!(warnings(&team).is_empty(), "nothing is locked any more: {}", all(&team));
    let unknown = env.run_with_key(&["remove-instagram-account", "@nobody", "--chat", CHAT], Some(&lost));
    assert_eq!(unknown.status.code(), Some(2), "{}", all(&unknown));

    // It comes back with a new token, sealed with the new key.
    assert!(
        env.run_with_key(&["reactivate-instagram-account", "@brand_main", "--chat", CHAT], Some(&lost))
            .status
            .success()
    );
    let renewed = env
        .run_with_key(&["set-instagram-token", "@brand_main", "--access-token", TOKEN_2, "--chat", CHAT], Some(&lost));
    assert!(renewed.status.success(), "{}", all(&renewed));
    assert!(warnings(&console(&env, Some(&lost), CHAT)).is_empty());
    for output in [&other, &team, &removed, &renewed] {
        assert!(!all(output).contains(TOKEN) && !all(output).contains(TOKEN_2), "{}", all(output));
    }
    Ok(())
}

#[tokio::test]
async fn keys_rotate_and_a_missing_or_wrong_key_is_one_clear_error() -> anyhow::Result<()> {
    let env = Env::new().await?;
    assert!(add(&env, "17841400000000001", TOKEN, &[]).status.success());

    // Without a key: adding is refused, and `run` will not start with tokens stored.
    let no_key = env.run_with_key(
        &[
            "add-instagram-account",
            "--display-name",
            "B",
            "--account-id",
            "17841400000000002",
            "--access-token",
            TOKEN_2,
            "--chat",
            CHAT,
        ],
        None,
    );
    assert_eq!(no_key.status.code(), Some(2));
    assert!(text(&no_key.stderr).contains("ENCRYPTION_KEY"), "{}", all(&no_key));
    // The bot still starts without the key (only what needs it is locked), with one warning
    // naming the account and the ways out.
    let started = console(&env, None, CHAT);
    assert!(started.status.success(), "{}", all(&started));
    let warned = warnings(&started);
    assert_eq!(warned.len(), 1, "one warning line: {}", all(&started));
    assert!(
        warned[0].contains("Brand (@brand_main) (chat -100123)") && warned[0].contains("ENCRYPTION_KEY is not set")
    );
    // A wrong key: the same, naming the problem.
    let wrong = Keyring::generate();
    let started = console(&env, Some(&wrong), CHAT);
    assert!(started.status.success(), "{}", all(&started));
    let warned = warnings(&started);
    assert_eq!(warned.len(), 1, "{}", all(&started));
    for way_out in ["does not open them", "ENCRYPTION_KEYS=new,old", "set-instagram-token", "remove-instagram-account"]
    {
        assert!(warned[0].contains(way_out), "{way_out} missing: {}", warned[0]);
    }
    // A malformed key is a configuration error naming the variable, never the key.
    let bad = env.run_with_key(&["list-instagram-accounts"], Some("not-a-key"));
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("ENCRYPTION_KEYS is unusable"), "{}", all(&bad));

    // Rotation: new key first, old second; afterwards the new key alone opens every token.
    let new = Keyring::generate();
    let rotated = env.run_with_key(&["rotate-keys"], Some(&format!("{new},{}", env.key)));
    assert!(rotated.status.success(), "{}", all(&rotated));
    assert!(text(&rotated.stdout).contains("re-sealed 1 tokens"), "{}", all(&rotated));
    let old_alone = env.run_with_key(&["rotate-keys"], Some(&env.key));
    assert_eq!(old_alone.status.code(), Some(2), "the old key no longer opens it: {}", all(&old_alone));
    let new_alone = env.run_with_key(&["rotate-keys"], Some(&new));
    assert!(text(&new_alone.stdout).contains("re-sealed 0 tokens"), "{}", all(&new_alone));
    Ok(())
}

#[tokio::test]
async fn a_token_is_replaced_and_the_refresh_job_runs_from_the_command_line() -> anyhow::Result<()> {
    let env = Env::new().await?;
    const EXCHANGED: &str = "EAAB-cli-exchanged-secret-token-333";
    Mock::given(method("GET"))
        .and(path_regex(r"^/v[0-9.]+/oauth/access_token$"))
        .and(query_param("grant_type", "fb_exchange_token"))
        .and(query_param("fb_exchange_token", TOKEN_2))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"access_token": EXCHANGED, "expires_in": 5_184_000})),
        )
        .expect(1)
        .mount(&env.graph)
        .await;
    assert!(
        add(&env, "17841400000000002", "EAAB-cli-old-token-0000000444", &["--expires-in-days", "40"]).status.success()
    );
    // A new token from Meta, 5 days left: replaced, and the list says so.
    let replaced = env.run(&[
        "set-instagram-token",
        "@brand_promo",
        "--access-token",
        TOKEN_2,
        "--expires-in-days",
        "5",
        "--chat",
        CHAT,
    ]);
    assert!(replaced.status.success(), "{}", all(&replaced));
    let shown = text(&env.run(&["list-instagram-accounts", "--chat", CHAT]).stdout);
    assert!(shown.contains("Valid (5 days)"), "{shown}");
    // The refresh job exchanges it (Facebook Login, with the app's id and secret).
    let mut refresh = env.command(&["refresh-instagram-tokens"], Some(&env.key));
    let refreshed = refresh.env("FACEBOOK_APP_ID", "4242").env("FACEBOOK_APP_SECRET", "cli-app-secret-555").output()?;
    assert!(refreshed.status.success(), "{}", all(&refreshed));
    assert!(text(&refreshed.stdout).contains("refreshed 1"), "{}", all(&refreshed));
    let shown = text(&env.run(&["list-instagram-accounts", "--chat", CHAT]).stdout);
    assert!(shown.contains("Valid (60 days)"), "{shown}");
    for output in [&replaced, &refreshed] {
        for secret in [TOKEN_2, EXCHANGED, "cli-app-secret-555"] {
            assert!(!all(output).contains(secret), "a secret in the output: {}", all(output));
        }
    }
    Ok(())
}

/// How many requests the fake Graph API has had for the account `id`.
async fn lookups(env: &Env, id: &str) -> usize {
    env.graph.received_requests().await.unwrap_or_default().iter().filter(|r| r.url.path().ends_with(id)).count()
}

#[tokio::test]
async fn an_account_already_added_is_refused_before_its_token_goes_to_meta() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let first = add(&env, "17841400000000001", TOKEN, &["--expires-in-days", "60"]);
    assert!(first.status.success(), "{}", all(&first));
    let shown = text(&env.run(&["list-instagram-accounts", "--chat", CHAT]).stdout);
    assert!(shown.contains("Valid (60 days)"), "60 days just added read 60 days: {shown}");

    let asked = lookups(&env, "17841400000000001").await;
    let again = add(&env, "17841400000000001", TOKEN_2, &[]);
    assert_eq!(again.status.code(), Some(2), "{}", all(&again));
    assert!(text(&again.stderr).contains("already added"), "{}", all(&again));
    assert_eq!(lookups(&env, "17841400000000001").await, asked, "the second token was never shown to Meta");
    Ok(())
}

#[tokio::test]
async fn a_token_added_while_meta_is_unreachable_is_listed_as_not_checked() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let args = [
        "add-instagram-account",
        "--display-name",
        "Offline",
        "--account-id",
        "17841400000000001",
        "--access-token",
        TOKEN,
        "--expires-in-days",
        "60",
        "--chat",
        CHAT,
    ];
    let mut offline = env.command(&args, Some(&env.key));
    let added = offline.env("GRAPH_API_URL", "http://127.0.0.1:1").output()?;
    assert!(added.status.success(), "{}", all(&added));
    assert!(text(&added.stdout).contains("NOT checked"), "{}", all(&added));
    assert!(!all(&added).contains(TOKEN), "{}", all(&added));

    let shown = text(&env.run(&["list-instagram-accounts", "--chat", CHAT]).stdout);
    let row = shown.lines().find(|l| l.contains("Offline")).unwrap_or_else(|| panic!("{shown}"));
    assert!(row.contains("Not checked (60 days)"), "{shown}");
    assert!(row.contains('—') && !row.contains('?'), "no username is known: {shown}");

    // Set again once Meta answers: now it is checked.
    let replaced = env.run(&["set-instagram-token", "17841400000000001", "--access-token", TOKEN, "--chat", CHAT]);
    assert!(replaced.status.success(), "{}", all(&replaced));
    assert!(!text(&replaced.stdout).contains("NOT checked"), "{}", all(&replaced));
    let shown = text(&env.run(&["list-instagram-accounts", "--chat", CHAT]).stdout);
    assert!(!shown.contains("Not checked"), "{shown}");
    Ok(())
}

#[tokio::test]
async fn accounts_are_listed_as_json_for_scripts_without_their_tokens() -> anyhow::Result<()> {
    let env = Env::new().await?;
    assert!(add(&env, "17841400000000001", TOKEN, &["--expires-in-days", "58"]).status.success());
    let listed = env.run(&["list-instagram-accounts", "--chat", CHAT, "--json"]);
    assert!(listed.status.success(), "{}", all(&listed));
    assert!(!all(&listed).contains(TOKEN), "no token: {}", all(&listed));
    let json: serde_json::Value = serde_json::from_slice(&listed.stdout)?;
    assert_eq!(json.as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(json[0]["instagram_id"], "17841400000000001");
    assert!(json[0]["username"].as_str().is_some_and(|u| u.contains("brand_main")), "{json}");
    assert_eq!((json[0]["active"].as_bool(), json[0]["enabled"].as_bool()), (Some(true), Some(true)));
    assert!(json[0]["token"].as_str().is_some_and(|t| t.starts_with("Valid")), "{json}");
    Ok(())
}
