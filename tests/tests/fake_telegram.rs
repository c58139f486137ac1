//! The fake Bot API (`storyline_tests::fake_telegram`) driven by a real teloxide `Bot`: what it
//! answers must parse into the right teloxide types, and its errors map to the right
//! `RequestError`s.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use storyline_tests::fake_telegram::{Failure, FakeTelegram, FakeUser};
use teloxide::prelude::*;
use teloxide::types::{
    CallbackQueryId, FileId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageEntityKind, MessageId,
    ParseMode, Seconds, UpdateKind,
};
use teloxide::{ApiError, RequestError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GROUP: i64 = -1_001_234_567_890;
const CHANNEL: i64 = -1_009_999_999_999;
const WAIT: Duration = Duration::from_secs(5);

async fn start() -> anyhow::Result<(FakeTelegram, Bot)> {
    let telegram = FakeTelegram::start().await?;
    let bot = Bot::new(FakeTelegram::TOKEN).set_api_url(telegram.api_url().parse()?);
    Ok((telegram, bot))
}

fn ada() -> FakeUser {
    FakeUser::new(7, "Ada").with_username("ada_admin")
}

fn keyboard(data: &str) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Toggle", data)]])
}

/// A hand-written HTTP/1.1 POST to the fake: status and JSON body.
async fn raw_post(
    telegram: &FakeTelegram,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> anyhow::Result<(u16, Value)> {
    let address = telegram.api_url().trim_start_matches("http://").trim_end_matches('/').to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8(response)?;
    let (head, body) = response.split_once("\r\n\r\n").context("no header end")?;
    let status = head.split_whitespace().nth(1).context("no status")?.parse()?;
    Ok((status, serde_json::from_str(body).with_context(|| format!("not JSON: {body}"))?))
}

#[tokio::test]
async fn get_me_and_send_message() -> anyhow::Result<()> {
    let (telegram, bot) = start().await?;
    let me = bot.get_me().await?;
    ensure!(me.is_bot && me.username() == "storyline_test_bot" && me.id == UserId(123_456), "{me:?}");

    let sent = bot
        .send_message(ChatId(GROUP), "<b>Hello</b>")
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard("t:1"))
        .await?;
    assert_eq!(sent.chat.id, ChatId(GROUP));
    assert!(sent.chat.is_supergroup());
    assert_eq!(sent.text(), Some("<b>Hello</b>"));
    assert_eq!(sent.reply_markup(), Some(&keyboard("t:1")));
    assert!(sent.from.as_ref().is_some_and(|from| from.is_bot));

    let stored = telegram.message(GROUP, sent.id.0).context("not stored")?;
    assert_eq!(stored["text"], "<b>Hello</b>");
    assert_eq!(stored["parse_mode"], "HTML");
    assert_eq!(stored["reply_markup"]["inline_keyboard"][0][0]["callback_data"], "t:1");
    assert_eq!(telegram.calls("sendMessage")[0]["chat_id"], GROUP);
    assert_eq!(telegram.count("SendMessage"), 1);

    let private = bot.send_message(ChatId(7), "hi").await?;
    assert!(private.chat.is_private());
    assert!(private.id.0 > sent.id.0);
    assert_eq!(telegram.bot_messages(GROUP).len(), 1);
    let methods: Vec<String> = telegram.all_calls().into_iter().map(|(method, _)| method).collect();
    assert_eq!(methods, ["getMe", "sendMessage", "sendMessage"]);
    Ok(())
}

#[tokio::test]
async fn updates_parse_and_offset_forgets() -> anyhow::Result<()> {
    let (telegram, bot) = start().await?;
    let menu = bot.send_message(ChatId(GROUP), "menu").reply_markup(keyboard("t:1")).await?;
    telegram.push_text(GROUP, &ada(), "/settings now");
    let post = telegram.push_channel_post(CHANNEL, "news");
    let query = telegram.push_press(GROUP, &ada(), menu.id.0, "t:1");

    let updates = bot.get_updates().await?;
    assert_eq!(updates.len(), 3, "{updates:#?}");
    let UpdateKind::Message(text) = &updates[0].kind else { anyhow::bail!("{:?}", updates[0]) };
    assert_eq!(
        text.from.as_ref().map(|from| (from.id, from.username.as_deref())),
        Some((UserId(7), Some("ada_admin")))
    );
    assert_eq!(text.chat.id, ChatId(GROUP));
    assert_eq!(text.text(), Some("/settings now"));
    let command = text.entities().and_then(|entities| entities.first()).context("no entity")?;
    assert_eq!((&command.kind, command.offset, command.length), (&MessageEntityKind::BotCommand, 0, 9));

    let UpdateKind::ChannelPost(channel) = &updates[1].kind else { anyhow::bail!("{:?}", updates[1]) };
    assert!(channel.chat.is_channel() && channel.from.is_none());
    assert_eq!(channel.text(), Some("news"));
    assert_eq!(i64::from(updates[1].id.0), post);

    let UpdateKind::CallbackQuery(press) = &updates[2].kind else { anyhow::bail!("{:?}", updates[2]) };
    assert_eq!((press.id.0.as_str(), press.from.id, press.data.as_deref()), (query.as_str(), UserId(7), Some("t:1")));
    let pressed = press.message.as_ref().and_then(|m| m.regular_message()).context("no message")?;
    assert_eq!((pressed.id, pressed.text()), (menu.id, Some("menu")));
    bot.answer_callback_query(press.id.clone()).await?;

    // Confirming the first two leaves the press; confirming it leaves nothing, for good.
    let offset = i32::try_from(post + 1)?;
    let rest = bot.get_updates().offset(offset).await?;
    assert_eq!(rest.iter().map(|u| u.id).collect::<Vec<_>>(), [updates[2].id]);
    assert_eq!(telegram.last_offset(), Some(post + 1));
    let offset = i32::try_from(updates[2].id.0 + 1)?;
    assert!(bot.get_updates().offset(offset).await?.is_empty());
    assert!(bot.get_updates().await?.is_empty());
    assert_eq!((telegram.get_updates_calls(), telegram.last_offset(), telegram.pending_updates()), (4, None, 0));
    assert!(telegram.all_calls().iter().all(|(method, _)| method != "getUpdates"));
    Ok(())
}

#[tokio::test]
async fn edits_delete_and_not_modified() -> anyhow::Result<()> {
    let (telegram, bot) = start().await?;
    let sent = bot.send_message(ChatId(GROUP), "v1").reply_markup(keyboard("t:1")).await?;

    let same = bot.edit_message_text(ChatId(GROUP), sent.id, "v1").reply_markup(keyboard("t:1")).await;
    assert!(matches!(same, Err(RequestError::Api(ApiError::MessageNotModified))), "{same:?}");
    let edited = bot.edit_message_text(ChatId(GROUP), sent.id, "v2").reply_markup(keyboard("t:2")).await?;
    assert_eq!((edited.text(), edited.reply_markup()), (Some("v2"), Some(&keyboard("t:2"))));
    assert!(edited.edit_date().is_some());
    let stored = telegram.message(GROUP, sent.id.0).context("gone")?;
    assert_eq!(
        (&stored["text"], &stored["reply_markup"]["inline_keyboard"][0][0]["callback_data"]),
        (&json!("v2"), &json!("t:2"))
    );

    let same = bot.edit_message_reply_markup(ChatId(GROUP), sent.id).reply_markup(keyboard("t:2")).await;
    assert!(matches!(same, Err(RequestError::Api(ApiError::MessageNotModified))), "{same:?}");
    let marked = bot.edit_message_reply_markup(ChatId(GROUP), sent.id).reply_markup(keyboard("t:3")).await?;
    assert_eq!(marked.reply_markup(), Some(&keyboard("t:3")));
    // Like Telegram, an edit without a keyboard removes it.
    let bare = bot.edit_message_text(ChatId(GROUP), sent.id, "v2").await?;
    assert_eq!(bare.reply_markup(), None);
    assert!(telegram.message(GROUP, sent.id.0).is_some_and(|m| m.get("reply_markup").is_none()));

    bot.delete_message(ChatId(GROUP), sent.id).await?;
    assert!(telegram.message(GROUP, sent.id.0).is_none());
    let gone = bot.edit_message_text(ChatId(GROUP), sent.id, "v3").await;
    assert!(matches!(gone, Err(RequestError::Api(ApiError::MessageToEditNotFound))), "{gone:?}");
    let gone = bot.delete_message(ChatId(GROUP), sent.id).await;
    assert!(matches!(gone, Err(RequestError::Api(ApiError::MessageToDeleteNotFound))), "{gone:?}");
    let never = bot.edit_message_text(ChatId(GROUP), MessageId(9_999), "v").await;
    assert!(matches!(never, Err(RequestError::Api(ApiError::MessageToEditNotFound))), "{never:?}");
    Ok(())
}

#[tokio::test]
async fn chat_administrators_parse() -> anyhow::Result<()> {
    let (telegram, bot) = start().await?;
    telegram.set_administrators(GROUP, &[ada(), FakeUser::new(8, "Bo").with_last_name("Lee")]);
    let admins = bot.get_chat_administrators(ChatId(GROUP)).await?;
    assert_eq!(admins.len(), 2);
    assert!(admins[0].kind.is_owner() && admins[0].user.id == UserId(7));
    assert_eq!(admins[0].user.username.as_deref(), Some("ada_admin"));
    assert!(admins[1].kind.is_administrator() && admins[1].user.full_name() == "Bo Lee");
    assert!(bot.get_chat_administrators(ChatId(-42)).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn failures_map_to_teloxide_errors() -> anyhow::Result<()> {
    let (telegram, bot) = start().await?;
    telegram.fail_next("sendMessage", 1, Failure::RetryAfter(7));
    telegram.fail_next("sendMessage", 1, Failure::BadRequest("Bad Request: chat not found".into()));
    telegram.fail_next("SendMessage", 1, Failure::MigrateToChat(GROUP));
    let retry = bot.send_message(ChatId(GROUP), "a").await;
    assert!(matches!(retry, Err(RequestError::RetryAfter(s)) if s == Seconds::from_seconds(7)), "{retry:?}");
    let bad = bot.send_message(ChatId(GROUP), "b").await;
    assert!(matches!(bad, Err(RequestError::Api(ApiError::ChatNotFound))), "{bad:?}");
    let migrated = bot.send_message(ChatId(-5), "c").await;
    assert!(matches!(migrated, Err(RequestError::MigrateToChatId(ChatId(GROUP)))), "{migrated:?}");
    let fine = bot.send_message(ChatId(GROUP), "d").await?;
    assert_eq!(fine.text(), Some("d"));
    // Failed calls are recorded like the rest, and listed apart.
    assert_eq!(telegram.calls("sendMessage").len(), 4);
    assert_eq!(
        telegram.failed_calls().iter().map(|(_, body, _)| body["text"].clone()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(telegram.bot_messages(GROUP).len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_held_method_answers_nothing_and_records_nothing_until_released() -> anyhow::Result<()> {
    let (telegram, bot) = start().await?;
    telegram.hold("sendMessage");
    let waiting = tokio::time::timeout(Duration::from_millis(300), bot.send_message(ChatId(GROUP), "lost")).await;
    ensure!(waiting.is_err(), "a held call was answered: {waiting:?}");
    ensure!(telegram.held("SendMessage") == 1, "{} held", telegram.held("sendMessage"));
    ensure!(telegram.count("sendMessage") == 0 && telegram.bot_messages(GROUP).is_empty());
    // Other methods are not held.
    bot.get_me().await?;
    telegram.release("sendMessage");
    let sent = bot.send_message(ChatId(GROUP), "kept").await?;
    ensure!(sent.text() == Some("kept"));
    let texts: Vec<Value> = telegram.calls("sendMessage").iter().map(|call| call["text"].clone()).collect();
    ensure!(texts == [json!("kept")], "{texts:?}");
    Ok(())
}

#[tokio::test]
async fn flood_limits_are_off_until_turned_on_then_answered_with_retry_after() -> anyhow::Result<()> {
    let (telegram, bot) = start().await?;
    // Off by default: a burst to one chat all goes.
    for n in 0..5 {
        bot.send_message(ChatId(1), format!("m{n}")).await?;
    }
    assert_eq!(telegram.too_many_requests(), 0);

    telegram.enforce_limits();
    let began = Instant::now();
    let first = bot.send_message(ChatId(2), "one").await?;
    // One a second per chat.
    let again = bot.send_message(ChatId(2), "two").await;
    assert!(matches!(&again, Err(RequestError::RetryAfter(s)) if *s == Seconds::from_seconds(1)), "{again:?}");
    // An edit and an answer to a press are not counted at all (Telegram limits messages sent).
    bot.edit_message_text(ChatId(2), first.id, "one, edited").await?;
    let press = telegram.push_press(2, &ada(), first.id.0, "x");
    bot.answer_callback_query(CallbackQueryId(press)).await?;
    // 30 new messages a second for the whole bot: one went, 29 more may, the next one not.
    for chat in 100..129 {
        bot.send_message(ChatId(chat), "hi").await?;
    }
    let over = bot.send_message(ChatId(200), "over").await;
    let elapsed = began.elapsed();
    ensure!(elapsed < Duration::from_secs(1), "the burst took {elapsed:?}: too slow to test the limit");
    assert!(matches!(&over, Err(RequestError::RetryAfter(_))), "{over:?}");
    assert_eq!(telegram.too_many_requests(), 2);
    // Refused requests are not counted: once the second is over, both go.
    tokio::time::sleep(Duration::from_secs(1).saturating_sub(elapsed) + Duration::from_millis(50)).await;
    bot.send_message(ChatId(200), "over").await?;
    bot.send_message(ChatId(2), "two").await?;
    assert_eq!(telegram.too_many_requests(), 2);
    Ok(())
}

/// teloxide sleeps 10 s after any 5xx answer before it returns the error.
#[tokio::test]
async fn server_error_is_an_api_error() -> anyhow::Result<()> {
    let (telegram, bot) = start().await?;
    telegram.fail_next("getMe", 1, Failure::ServerError);
    let failed = bot.get_me().await;
    assert!(
        matches!(&failed, Err(RequestError::Api(ApiError::Unknown(d))) if d == "Internal Server Error"),
        "{failed:?}"
    );
    bot.get_me().await?;
    assert_eq!(telegram.failed_calls().len(), 1);
    Ok(())
}

#[tokio::test]
async fn long_poll_wakes_on_push() -> anyhow::Result<()> {
    let (telegram, bot) = start().await?;
    let poller = bot.clone();
    let poll = tokio::spawn(async move { poller.get_updates().timeout(5).await });
    telegram.wait_until(WAIT, |t| t.get_updates_calls() == 1).await?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let pushed = Instant::now();
    telegram.push_text(GROUP, &ada(), "hello");
    let updates = poll.await??;
    let took = pushed.elapsed();
    assert!(took < Duration::from_millis(300), "took {took:?}");
    assert_eq!(updates.len(), 1);

    // With nothing pushed, it waits the timeout out and answers [].
    let started = Instant::now();
    let offset = i32::try_from(updates[0].id.0 + 1)?;
    let none = bot.get_updates().offset(offset).timeout(1).await?;
    assert!(none.is_empty() && started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
    Ok(())
}

#[tokio::test]
async fn uploads_are_recorded_and_answered_as_media() -> anyhow::Result<()> {
    let (telegram, bot) = start().await?;
    let photo = InputFile::memory(vec![1_u8; 2_048]).file_name("cat.jpg");
    let sent = bot.send_photo(ChatId(GROUP), photo).caption("A cat").reply_markup(keyboard("t:1")).await?;
    assert!(sent.photo().is_some_and(|sizes| !sizes.is_empty()), "{sent:?}");
    assert_eq!((sent.caption(), sent.reply_markup()), (Some("A cat"), Some(&keyboard("t:1"))));
    let call = &telegram.calls("sendPhoto")[0];
    assert_eq!((&call["chat_id"], &call["caption"]), (&json!(GROUP), &json!("A cat")));
    assert_eq!(call["reply_markup"]["inline_keyboard"][0][0]["callback_data"], "t:1");
    let attached = call["photo"].as_str().and_then(|p| p.strip_prefix("attach://")).context("no attachment")?;
    assert_eq!(call[attached], json!({ "file_name": "cat.jpg", "size": 2_048 }));
    let text = bot.edit_message_text(ChatId(GROUP), sent.id, "x").await;
    assert!(matches!(&text, Err(RequestError::Api(ApiError::Unknown(d))) if d.contains("no text")), "{text:?}");

    let video = bot.send_video(ChatId(GROUP), InputFile::file_id(FileId("vid-1".into()))).await?;
    assert_eq!(video.video().map(|v| v.file.id.0.as_str()), Some("vid-1"));
    Ok(())
}

#[tokio::test]
async fn bad_requests_get_json_errors() -> anyhow::Result<()> {
    let (telegram, bot) = start().await?;
    let path = format!("/bot{}/", FakeTelegram::TOKEN);
    let (status, body) = raw_post(&telegram, &format!("{path}noSuchMethod"), "application/json", b"{}").await?;
    assert_eq!((status, &body["ok"], &body["error_code"]), (404, &json!(false), &json!(404)));
    assert_eq!(body["description"], "Not Found: method not found");
    let (status, body) = raw_post(&telegram, &format!("{path}sendMessage"), "application/json", b"{not json").await?;
    assert_eq!((status, &body["ok"]), (400, &json!(false)));
    let (status, _) = raw_post(&telegram, &format!("{path}sendMessage"), "application/json", b"[1]").await?;
    assert_eq!(status, 400);
    let (status, _) =
        raw_post(&telegram, &format!("{path}sendPhoto"), "multipart/form-data; boundary=x", b"junk").await?;
    assert_eq!(status, 400);
    let (status, body) =
        raw_post(&telegram, &format!("{path}sendMessage"), "application/json", b"{\"chat_id\":1}").await?;
    assert_eq!((status, &body["description"]), (400, &json!("Bad Request: message text is empty")));
    let (status, _) =
        raw_post(&telegram, &format!("{path}getUpdates"), "application/json", b"{\"timeout\":1e99}").await?;
    assert_eq!(status, 200);

    let stranger = Bot::new("1:WRONG").set_api_url(telegram.api_url().parse()?);
    let denied = stranger.get_me().await;
    assert!(matches!(denied, Err(RequestError::Api(ApiError::InvalidToken))), "{denied:?}");
    let unknown = bot.answer_callback_query(CallbackQueryId("nope".to_owned())).await;
    assert!(matches!(unknown, Err(RequestError::Api(ApiError::InvalidQueryId))), "{unknown:?}");
    // The server is still up.
    bot.get_me().await?;
    Ok(())
}
