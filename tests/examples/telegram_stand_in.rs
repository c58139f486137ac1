//! A stand-in for Telegram, to follow the README's deployment section ("Deploy: webhooks and
//! several replicas") on one machine, without a public address: the fake Bot API as a server
//! of its own. Start it, start the replicas and the TLS proxy as the README says, with the
//! `TELEGRAM_API_URL` and `TELEGRAM_BOT_TOKEN` it prints; once every replica has set the
//! webhook it opens `/settings` in the team chat, presses the menu's first toggle again and
//! again, every update delivered through the proxy (each twice, as Telegram does when an answer
//! came late), and checks that every press was handled once. See `docs/deploy-walkthrough.md`.
//!
//! ```sh
//! cargo run --release -p storyline-tests --example telegram_stand_in -- \
//!     --listen 127.0.0.1:8090 --trust /etc/storyline/tls/ca.pem --replicas 2
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use clap::Parser;
use storyline_tests::fake_telegram::{FakeTelegram, FakeUser};

#[derive(Debug, Parser)]
#[command(about = "A stand-in for Telegram's Bot API, delivering webhook updates through your proxy")]
struct Args {
    /// Where the Bot API stand-in listens (the replicas' TELEGRAM_API_URL).
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: String,
    /// A PEM certificate (your own CA) to trust when delivering to WEBHOOK_URL, beside the public
    /// roots.
    #[arg(long)]
    trust: Option<std::path::PathBuf>,
    /// How many replicas to wait for (each sets the webhook when it starts).
    #[arg(long, default_value_t = 2)]
    replicas: usize,
    /// The team chat (the replicas' TELEGRAM_CHAT_ID).
    #[arg(long, default_value_t = -1_001_234_567_890, allow_hyphen_values = true)]
    chat: i64,
    /// The person pressing (in the replicas' ADMIN_TELEGRAM_USER_IDS).
    #[arg(long, default_value_t = 42)]
    admin: i64,
    /// How many presses, one after another.
    #[arg(long, default_value_t = 10)]
    presses: usize,
    /// Milliseconds between presses: a person's pace. Faster than the bot's limits
    /// (RATE_LIMIT_PERSON_PER_MINUTE, Telegram's 20 messages a minute in a group) and presses
    /// are refused or their edits wait, as they should.
    #[arg(long, default_value_t = 3_000)]
    pace_ms: u64,
    /// How long to wait for the replicas, and then for each answer.
    #[arg(long, default_value_t = 600)]
    wait_seconds: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.presses > 0, "--presses must be 1 or more");
    let wait = Duration::from_secs(args.wait_seconds);
    let trusted = args
        .trust
        .as_ref()
        .map(|path| std::fs::read(path).with_context(|| format!("cannot read {}", path.display())))
        .transpose()?;
    let telegram = FakeTelegram::serve(&args.listen, trusted.as_deref()).await?;
    // Update ids go on from where an earlier run of the stand-in left them, as Telegram's do:
    // ten a second since 2026 (a run sends far fewer), within the 32 bits the ids fit in.
    let since = chrono::Utc::now().timestamp() - 1_767_225_600;
    telegram.number_updates_from(since.max(1) * 10);
    println!("Bot API stand-in at {}", telegram.api_url());
    println!(
        "start each replica with TELEGRAM_API_URL={} TELEGRAM_BOT_TOKEN={} TELEGRAM_CHAT_ID={} \
         ADMIN_TELEGRAM_USER_IDS={}",
        telegram.api_url(),
        FakeTelegram::TOKEN,
        args.chat,
        args.admin
    );
    println!("waiting for {} replica(s) to set the webhook…", args.replicas);
    telegram
        .wait_until(wait, |t| t.count("setWebhook") >= args.replicas)
        .await
        .context("the replicas did not all start")?;
    let (url, secret) = telegram.webhook().context("the webhook was set, then removed")?;
    println!("webhook: {url} (secret token {})", if secret.is_some() { "set" } else { "NOT set" });
    ensure!(secret.is_some(), "the replicas set the webhook without a secret token");
    // To the webhook's own host, as Telegram delivers (the fake's tests name a server instead).
    telegram.deliver_to(&url::Url::parse(&url)?.origin().ascii_serialization());
    // Every update twice: whichever replica gets the second copy must skip it.
    telegram.redeliver_every(1);

    let admin = FakeUser::new(args.admin, "Ada");
    telegram.push_text(args.chat, &admin, "/settings");
    telegram.wait_for("sendMessage", 1, wait).await.context("no /settings menu came back")?;
    let menu_id = *telegram.sent_message_ids(args.chat).last().context("no menu")?;
    let menu = telegram.message(args.chat, menu_id).context("menu not stored")?;
    let button = &menu["reply_markup"]["inline_keyboard"][0][0];
    let toggle = button["callback_data"].as_str().context("the menu has no button")?.to_owned();
    println!("menu {menu_id}: pressing \"{}\" {} times", button["text"].as_str().unwrap_or_default(), args.presses);

    let started = Instant::now();
    let mut latencies = Vec::with_capacity(args.presses);
    for i in 0..args.presses {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(args.pace_ms)).await;
        }
        let pressed = Instant::now();
        telegram.push_press(args.chat, &admin, menu_id, &toggle);
        telegram
            .wait_until(wait, |t| t.count("answerCallbackQuery") > i && t.count("editMessageText") > i)
            .await
            .with_context(|| format!("press {} was not answered", i + 1))?;
        latencies.push(pressed.elapsed());
    }
    // Late copies of the last presses: give them time to arrive and be skipped.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut statuses = BTreeMap::<u16, usize>::new();
    for (_, status) in telegram.webhook_attempts() {
        *statuses.entry(status).or_default() += 1;
    }
    latencies.sort();
    println!(
        "{} presses in {:.1} s (press → edit median {:.1} ms); webhook deliveries by status: {statuses:?}",
        args.presses,
        started.elapsed().as_secs_f64(),
        latencies[latencies.len() / 2].as_secs_f64() * 1e3
    );
    let answers = telegram.count("answerCallbackQuery");
    let edits = telegram.count("editMessageText");
    println!("answers: {answers}, menu edits: {edits}");
    ensure!(answers == args.presses, "{answers} answers for {} presses: a copy was handled twice", args.presses);
    ensure!(edits == args.presses, "{edits} menu edits for {} presses", args.presses);
    println!("every press handled once");
    Ok(())
}
