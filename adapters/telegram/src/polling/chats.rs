//! One queue per chat: updates of different chats are handled at once, in order within one
//! chat, so a chat whose replies wait for Telegram's per-chat limit holds up no other chat.
//! A chat's task ends after a while without updates.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use storyline_application::bot::{Bot, Incoming};
use storyline_domain::ChatId;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::claims::Claims;
use super::intake::Waiting;

/// How many updates one chat may have waiting; more are dropped (a flood, logged).
const QUEUE: usize = 256;
/// How long a chat's task waits for its next update before it ends.
const IDLE: Duration = Duration::from_secs(10);

/// One update for a chat's task.
pub(crate) struct Job {
    update_id: i64,
    incoming: Incoming,
    /// Claimed when the task takes it (polling); `false`: its claim was settled before it was
    /// queued (a webhook update is claimed before Telegram is answered).
    claim: bool,
}

/// A place held in a chat's queue ([`Chats::reserve`]), filled once the update is claimed.
pub(crate) struct Place(mpsc::OwnedPermit<Job>);

impl Place {
    /// Queues `incoming`, whose claim was settled, for its chat's task.
    pub(crate) fn fill(self, update_id: i64, incoming: Incoming) {
        self.0.send(Job { update_id, incoming, claim: false });
    }
}

/// What every chat's task shares.
#[derive(Clone)]
pub(crate) struct Handling {
    pub(crate) bot: Arc<Bot>,
    /// Claims updates for this bot, many in one statement.
    pub(crate) claims: Claims,
    pub(crate) waiting: Arc<Waiting>,
    pub(crate) shutdown: watch::Receiver<bool>,
}

/// The chats' queues and tasks.
pub(crate) struct Chats {
    handling: Handling,
    queues: HashMap<ChatId, mpsc::Sender<Job>>,
    tasks: JoinSet<()>,
}

impl Chats {
    pub(crate) fn new(handling: Handling) -> Self {
        Self { handling, queues: HashMap::new(), tasks: JoinSet::new() }
    }

    /// Queues `incoming` for its chat, starting the chat's task when it has none.
    pub(crate) fn dispatch(&mut self, update_id: i64, incoming: Incoming) {
        while self.tasks.try_join_next().is_some() {}
        self.queues.retain(|_, queue| !queue.is_closed());
        let chat = incoming.chat;
        self.handling.waiting.add(update_id);
        let mut job = Job { update_id, incoming, claim: true };
        for _ in 0..2 {
            let queue = match self.queues.get(&chat) {
                Some(queue) => queue.clone(),
                None => self.start(chat),
            };
            match queue.try_send(job) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(chat_id = %chat, update_id, "{QUEUE} updates wait in this chat; dropped one");
                    self.handling.waiting.remove(update_id);
                    return;
                }
                // The task ended between the check and the send: start a new one.
                Err(mpsc::error::TrySendError::Closed(back)) => {
                    self.queues.remove(&chat);
                    job = back;
                }
            }
        }
        tracing::warn!(chat_id = %chat, update_id, "no task took this chat's update; dropped it");
        self.handling.waiting.remove(update_id);
    }

    /// A place in `chat`'s queue, held while its update is claimed; `None` when the chat already
    /// has [`QUEUE`] updates waiting.
    pub(crate) fn reserve(&mut self, chat: ChatId) -> Option<Place> {
        while self.tasks.try_join_next().is_some() {}
        self.queues.retain(|_, queue| !queue.is_closed());
        for _ in 0..2 {
            let queue = match self.queues.get(&chat) {
                Some(queue) => queue.clone(),
                None => self.start(chat),
            };
            match queue.try_reserve_owned() {
                Ok(permit) => return Some(Place(permit)),
                Err(mpsc::error::TrySendError::Full(_)) => return None,
                // The task ended between the check and the reservation: start a new one.
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.queues.remove(&chat);
                }
            }
        }
        None
    }

    fn start(&mut self, chat: ChatId) -> mpsc::Sender<Job> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        self.tasks.spawn(serve_chat(jobs, self.handling.clone()));
        self.queues.insert(chat, queue.clone());
        queue
    }

    /// Whether the bot knows the database is down (nothing to record then).
    pub(crate) fn database_is_down(&self) -> bool {
        self.handling.bot.database_is_down()
    }

    /// Closes every queue and waits for the updates being handled; updates not taken yet stay
    /// with Telegram for the next start.
    pub(crate) async fn finish(mut self) {
        self.queues.clear();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// One chat's task: its updates one after another, until it has been idle for [`IDLE`] or the
/// bot shuts down.
async fn serve_chat(mut jobs: mpsc::Receiver<Job>, handling: Handling) {
    while let Some(job) = next(&mut jobs, IDLE).await {
        if *handling.shutdown.borrow() {
            return;
        }
        take(&handling, job).await;
    }
}

/// The chat's next update, waiting up to `idle` for it. Once idle, the queue takes no new update
/// (the next one starts a new task) but still gives those queued and those whose place is
/// reserved ([`Place`]: a webhook update being claimed, already answered 200 to Telegram), however
/// late they come; `None` once there are none.
async fn next<T>(jobs: &mut mpsc::Receiver<T>, idle: Duration) -> Option<T> {
    match tokio::time::timeout(idle, jobs.recv()).await {
        Ok(next) => next,
        Err(_idle) => {
            jobs.close();
            // Waits for every reserved place to be filled or given up, unlike `try_recv`.
            jobs.recv().await
        }
    }
}

/// Claims the update (in a batch with the other chats' claims of the moment), then handles it:
/// an update claimed before (by this process before a
/// crash, or by another process) is not handled again. A kill loses at most the update being
/// handled.
async fn take(handling: &Handling, job: Job) {
    if !job.claim {
        handle(handling, job).await;
        return;
    }
    if handling.bot.database_is_down() {
        // Nothing can be recorded; the bot answers at once that the database is down.
        handling.waiting.remove(job.update_id);
        handle(handling, job).await;
        return;
    }
    let claimed = handling.claims.claim(job.update_id).await;
    handling.waiting.remove(job.update_id);
    match claimed {
        Ok(true) => handle(handling, job).await,
        Ok(false) => tracing::debug!(update_id = job.update_id, "update handled before; skipped"),
        Err(error) => {
            // The bot answers (the store is probably down); it cannot be recorded.
            tracing::warn!(%error, update_id = job.update_id, "could not record the update");
            handle(handling, job).await;
        }
    }
}

/// Hands the update to the bot. A panic ends this update only, not the chat's queue.
async fn handle(handling: &Handling, job: Job) {
    let handled = std::panic::AssertUnwindSafe(handling.bot.handle(job.incoming)).catch_unwind().await;
    if handled.is_err() {
        tracing::error!(update_id = job.update_id, "handling an update panicked; going on with the next");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORT: Duration = Duration::from_millis(20);

    #[tokio::test]
    async fn an_update_whose_place_was_reserved_is_handled_though_the_task_went_idle_meanwhile() {
        let (queue, mut jobs) = mpsc::channel::<u32>(4);
        let place = queue.clone().try_reserve_owned().expect("a free place");
        let late = tokio::spawn(async move {
            // The claim takes longer than the chat's idle time.
            tokio::time::sleep(SHORT * 5).await;
            place.send(7);
        });
        assert_eq!(next(&mut jobs, SHORT).await, Some(7), "the reserved place's update is not lost");
        late.await.expect("the late sender");
        assert!(
            matches!(queue.try_send(8), Err(mpsc::error::TrySendError::Closed(_))),
            "an idle queue takes no new update"
        );
        assert_eq!(next(&mut jobs, SHORT).await, None, "then the task ends");
    }

    #[tokio::test]
    async fn an_idle_queue_gives_what_was_queued_then_ends() {
        let (queue, mut jobs) = mpsc::channel::<u32>(4);
        queue.try_send(1).expect("queued");
        assert_eq!(next(&mut jobs, SHORT).await, Some(1));
        assert_eq!(next(&mut jobs, SHORT).await, None, "idle with nothing reserved: the task ends");
        let place = queue.try_reserve_owned();
        assert!(place.is_err(), "no place is reserved in an ended queue (reserve starts a new task)");
    }

    #[tokio::test]
    async fn a_reserved_place_given_up_ends_the_idle_queue() {
        let (queue, mut jobs) = mpsc::channel::<u32>(4);
        let place = queue.clone().try_reserve_owned().expect("a free place");
        let given_up = tokio::spawn(async move {
            tokio::time::sleep(SHORT * 5).await;
            drop(place);
        });
        assert_eq!(next(&mut jobs, SHORT).await, None);
        given_up.await.expect("the task giving up its place");
    }
}
