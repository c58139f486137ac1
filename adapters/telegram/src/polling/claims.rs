//! Claims of updates, many in one statement. Each chat's task still claims its update when it
//! takes it, and waits for the answer before handling it; the claims asked for while one
//! statement runs go together in the next ([`UpdateCursor::claim_many`]), as a database groups
//! commits. A lone update costs one round trip, as before; a burst across hundreds of chats costs
//! one statement per batch instead of one per update.

use std::collections::HashSet;
use std::sync::Arc;

use futures::FutureExt;
use storyline_application::errors::error_chain;
use storyline_domain::ports::{StoreError, UpdateCursor};
use tokio::sync::{mpsc, oneshot};

/// At most this many updates are claimed in one statement (three values each).
const MAX_BATCH: usize = 500;

/// How a claim went: taken now, taken before, or not recorded (the store failed; the text is
/// its cause chain, for the log).
pub(crate) type Claim = Result<bool, String>;

struct Ask {
    update_id: i64,
    answer: oneshot::Sender<Claim>,
}

/// The handle the chats' tasks claim through; its task ends when the last handle goes.
#[derive(Clone)]
pub(crate) struct Claims {
    asks: mpsc::UnboundedSender<Ask>,
}

impl Claims {
    /// Starts the batching task for bot `bot` (its Telegram user id).
    pub(crate) fn start(cursor: Arc<dyn UpdateCursor>, bot: i64) -> Self {
        let (asks, queue) = mpsc::unbounded_channel();
        tokio::spawn(batches(cursor, bot, queue));
        Self { asks }
    }

    /// Claims `update_id`, in the next batch.
    pub(crate) async fn claim(&self, update_id: i64) -> Claim {
        let (answer, answered) = oneshot::channel();
        if self.asks.send(Ask { update_id, answer }).is_err() {
            return Err("the claims task has stopped".to_owned());
        }
        answered.await.unwrap_or_else(|_| Err("the claims task has stopped".to_owned()))
    }
}

/// Takes every ask waiting, claims them in one statement, answers each; until no handle is left.
async fn batches(cursor: Arc<dyn UpdateCursor>, bot: i64, mut queue: mpsc::UnboundedReceiver<Ask>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let ids: Vec<i64> = batch.iter().map(|ask| ask.update_id).collect();
        // A panic in the store fails this batch, not every claim after it.
        let claimed = std::panic::AssertUnwindSafe(cursor.claim_many(bot, &ids, chrono::Utc::now()))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err(StoreError::unknown(anyhow::anyhow!("claiming updates panicked"))));
        match claimed {
            Ok(taken) => {
                let mut taken: HashSet<i64> = taken.into_iter().collect();
                for ask in batch.drain(..) {
                    // Only the first ask for an id takes it; a chat task gone (shut down) no longer
                    // needs its answer.
                    let _ = ask.answer.send(Ok(taken.remove(&ask.update_id)));
                }
            }
            Err(error) => {
                let error = error_chain(&error);
                for ask in batch.drain(..) {
                    let _ = ask.answer.send(Err(error.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use async_trait::async_trait;
    use chrono::{DateTime, Utc};
    use tokio::sync::Mutex;

    use super::*;

    /// A cursor that records each batch and holds the first statement until told.
    #[derive(Default)]
    struct Recording {
        batches: std::sync::Mutex<Vec<Vec<i64>>>,
        taken: std::sync::Mutex<HashSet<i64>>,
        gate: Mutex<()>,
        fail: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl UpdateCursor for Recording {
        async fn last_update(&self) -> Result<Option<i64>, StoreError> {
            Ok(None)
        }
        async fn advance(&self, _: i64) -> Result<(), StoreError> {
            Ok(())
        }
        async fn claim(&self, bot: i64, update_id: i64, at: DateTime<Utc>) -> Result<bool, StoreError> {
            Ok(self.claim_many(bot, &[update_id], at).await?.contains(&update_id))
        }
        async fn claim_many(&self, _: i64, ids: &[i64], _: DateTime<Utc>) -> Result<Vec<i64>, StoreError> {
            let _held = self.gate.lock().await;
            self.batches.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(ids.to_vec());
            if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(StoreError::unknown(anyhow::anyhow!("the database is gone")));
            }
            let mut taken = self.taken.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            Ok(ids.iter().copied().filter(|id| taken.insert(*id)).collect())
        }
        async fn forget_claims_before(&self, _: DateTime<Utc>) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn webhook_secret(&self, _: i64, candidate: &str, _: DateTime<Utc>) -> Result<String, StoreError> {
            Ok(candidate.to_owned())
        }
    }

    #[tokio::test]
    async fn claims_asked_while_a_statement_runs_go_together_and_each_is_answered() {
        let cursor = Arc::new(Recording::default());
        let claims = Claims::start(cursor.clone(), 7);
        assert_eq!(claims.claim(1).await, Ok(true), "a lone claim goes at once");
        assert_eq!(claims.claim(1).await, Ok(false), "taken before");

        let held = cursor.gate.lock().await;
        let first = tokio::spawn({
            let claims = claims.clone();
            async move { claims.claim(2).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // While the statement for 2 is held, 3, 4, 5 and 1 ask: one statement takes them all.
        let rest: Vec<_> = [3, 4, 5, 1]
            .into_iter()
            .map(|id| {
                let claims = claims.clone();
                tokio::spawn(async move { claims.claim(id).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(held);
        assert_eq!(first.await.ok(), Some(Ok(true)));
        let mut answers = Vec::new();
        for task in rest {
            answers.push(task.await.ok());
        }
        assert_eq!(answers, [Some(Ok(true)), Some(Ok(true)), Some(Ok(true)), Some(Ok(false))]);
        let batches = cursor.batches.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        assert_eq!(batches, [vec![1], vec![1], vec![2], vec![3, 4, 5, 1]]);
    }

    #[tokio::test]
    async fn a_failed_statement_is_told_to_every_claim_in_it() {
        let cursor = Arc::new(Recording::default());
        cursor.fail.store(true, std::sync::atomic::Ordering::SeqCst);
        let claims = Claims::start(cursor.clone(), 7);
        let answer = claims.claim(9).await;
        assert!(answer.as_ref().is_err_and(|e| e.contains("the database is gone")), "{answer:?}");
        cursor.fail.store(false, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(claims.claim(9).await, Ok(true), "nothing was recorded by the failed one");
    }
}
