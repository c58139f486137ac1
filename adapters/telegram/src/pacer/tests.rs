use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::{Limits, MARGIN, Pacer};

const SECOND: Duration = Duration::from_secs(1);

/// What was let go when, as `(label, since start)`, in the order let go.
type Log = Arc<Mutex<Vec<(usize, Duration)>>>;

enum Request {
    Message(i64),
}

/// Starts every request at once (in this order) and waits for all; returns when each went.
async fn burst(pacer: &Pacer, requests: Vec<Request>) -> Vec<(usize, Duration)> {
    let start = Instant::now();
    let log: Log = Arc::default();
    let tasks: Vec<_> = requests
        .into_iter()
        .enumerate()
        .map(|(label, request)| {
            let (pacer, log) = (pacer.clone(), log.clone());
            tokio::spawn(async move {
                match request {
                    Request::Message(chat) => pacer.message(chat).await,
                }
                log.lock().unwrap().push((label, start.elapsed()));
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    Arc::try_unwrap(log).unwrap().into_inner().unwrap()
}

fn times(log: &[(usize, Duration)]) -> Vec<Duration> {
    log.iter().map(|(_, at)| *at).collect()
}

#[tokio::test(start_paused = true)]
async fn a_burst_over_the_overall_limit_waits_one_window_and_nothing_is_dropped() {
    let pacer = Pacer::default();
    let window = SECOND + MARGIN;
    // 75 private chats, one message each: 30 at once, 30 a window later, 15 after two.
    let log = burst(&pacer, (1..=75).map(Request::Message).collect()).await;
    assert_eq!(log.len(), 75, "every message went");
    let mut expected = vec![Duration::ZERO; 30];
    expected.extend(vec![window; 30]);
    expected.extend(vec![window * 2; 15]);
    assert_eq!(times(&log), expected);
    // In the order they came.
    assert_eq!(log.iter().map(|(label, _)| *label).collect::<Vec<_>>(), (0..75).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn one_chat_gets_one_message_a_second_in_order() {
    let pacer = Pacer::default();
    let log = burst(&pacer, vec![Request::Message(7), Request::Message(7), Request::Message(7)]).await;
    let window = SECOND + MARGIN;
    assert_eq!(log, vec![(0, Duration::ZERO), (1, window), (2, window * 2)]);
}

#[tokio::test(start_paused = true)]
async fn a_group_gets_twenty_messages_a_minute() {
    let pacer = Pacer::default();
    let limits = Limits::telegram();
    let log = burst(&pacer, (0..22).map(|_| Request::Message(-100)).collect()).await;
    assert_eq!(log.len(), 22);
    let second = limits.per_chat.span;
    let minute = limits.per_group.span;
    // One a second for the first 20; the 21st waits for the first to leave the minute, the
    // 22nd for the second.
    let mut expected: Vec<Duration> = (0..20).map(|n| second * n).collect();
    expected.push(minute);
    expected.push(second + minute);
    assert_eq!(times(&log), expected);
}

#[tokio::test(start_paused = true)]
async fn a_busy_chat_holds_up_no_other_chat() {
    let pacer = Pacer::default();
    // Three messages to one chat, then one to another: the other goes at once.
    let log =
        burst(&pacer, vec![Request::Message(1), Request::Message(1), Request::Message(1), Request::Message(2)]).await;
    let window = SECOND + MARGIN;
    assert_eq!(log, vec![(0, Duration::ZERO), (3, Duration::ZERO), (1, window), (2, window * 2)]);
}

#[tokio::test(start_paused = true)]
async fn idle_chats_are_forgotten() {
    let pacer = Pacer::default();
    let chats: Vec<Request> = (1..=2_000).map(Request::Message).collect();
    burst(&pacer, chats).await;
    assert_eq!(pacer.lanes(), 2_000, "no sweep below twice the first threshold");
    tokio::time::advance(Duration::from_secs(120)).await;
    // A new chat makes the map look for idle lanes: all of them are.
    pacer.message(-1).await;
    assert_eq!(pacer.lanes(), 1, "only the chat that just sent");
    // A lane that sent within the last minute is kept.
    burst(&pacer, (10_000..11_100).map(Request::Message).collect()).await;
    assert!(pacer.lanes() > 1_000, "recent chats are kept: {}", pacer.lanes());
}

#[test]
fn shared_limits_add_up_to_the_whole_and_never_round_to_nothing() {
    let whole = Limits::telegram();
    let half = whole.share(2);
    assert_eq!(half.overall.count, 15);
    assert_eq!(half.per_group.count, 10);
    assert_eq!((half.per_chat.count, half.per_chat.span), (1, whole.per_chat.span * 2), "one per two windows");
    let many = whole.share(40);
    assert_eq!((many.overall.count, many.overall.span), (1, whole.overall.span * 2), "30 a second over 40: 1 per 2");
    assert_eq!((many.per_group.count, many.per_group.span), (1, whole.per_group.span * 2));
    assert_eq!(whole.share(0), whole, "no replicas counts as one");
    assert_eq!(whole.share(1), whole);
}

#[tokio::test(start_paused = true)]
async fn a_replica_of_two_keeps_to_half_of_each_limit() {
    let pacer = Pacer::default();
    pacer.share_with(2);
    let window = SECOND + MARGIN;
    // 20 private chats: 15 at once, the other 5 a window later.
    let log = burst(&pacer, (1..=20).map(Request::Message).collect()).await;
    let at = times(&log);
    assert_eq!(at.iter().filter(|t| **t < window).count(), 15, "{at:?}");
    assert!(at.iter().all(|t| *t < window * 2), "{at:?}");
    // Two messages to one chat: the second two windows after the first.
    let log = burst(&pacer, vec![Request::Message(-5), Request::Message(-5)]).await;
    let at = times(&log);
    assert_eq!(at[1] - at[0], window * 2, "{at:?}");
    pacer.share_with(1);
    pacer.hold_for(SECOND * 3);
    let log = burst(&pacer, vec![Request::Message(-6), Request::Message(-6)]).await;
    assert!(log[0].1 >= SECOND * 3, "held: {log:?}");
    let at = times(&log);
    assert_eq!(at[1] - at[0], window, "alone again, the whole limit: {at:?}");
}
