//! The audit entries of many updates in one statement. Every command and press is logged
//! (FEATURES C8) and its handling waits for the log line; under a burst across many chats the
//! entries asked for while one statement runs go together in the next
//! ([`Audit::record_many`]), as a database groups commits. A lone entry costs one round trip,
//! as before. An entry still counts as written only once its statement is.

use std::sync::Arc;

use async_trait::async_trait;
use storyline_domain::WorkspaceId;
use storyline_domain::audit::AuditEntry;
use storyline_domain::ports::{Audit, AuditQuery, StoreError, is_unreachable};
use tokio::sync::{mpsc, oneshot};

/// At most this many entries go in one statement (seven values each).
const MAX_BATCH: usize = 500;

struct Ask {
    workspace: WorkspaceId,
    entry: AuditEntry,
    answer: oneshot::Sender<Result<(), StoreError>>,
}

/// An [`Audit`] whose `record`s are gathered into batches; the rest goes straight through.
pub struct BatchedAudit {
    inner: Arc<dyn Audit>,
    asks: mpsc::UnboundedSender<Ask>,
}

impl std::fmt::Debug for BatchedAudit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchedAudit").finish_non_exhaustive()
    }
}

impl BatchedAudit {
    /// `inner`, its entries batched by a task on the current tokio runtime; `inner` itself
    /// outside one. The task ends with the last handle.
    #[must_use]
    pub fn around(inner: Arc<dyn Audit>) -> Arc<dyn Audit> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return inner };
        let (asks, queue) = mpsc::unbounded_channel();
        runtime.spawn(batches(inner.clone(), queue));
        Arc::new(Self { inner, asks })
    }
}

#[async_trait]
impl Audit for BatchedAudit {
    async fn record(&self, workspace: WorkspaceId, entry: &AuditEntry) -> Result<(), StoreError> {
        let (answer, answered) = oneshot::channel();
        if self.asks.send(Ask { workspace, entry: entry.clone(), answer }).is_ok()
            && let Ok(recorded) = answered.await
        {
            return recorded;
        }
        // The batching task is gone (its runtime ended): the entry is written alone.
        self.inner.record(workspace, entry).await
    }

    async fn record_many(&self, entries: &[(WorkspaceId, AuditEntry)]) -> Result<(), StoreError> {
        self.inner.record_many(entries).await
    }

    async fn entries(&self, workspace: WorkspaceId, query: AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.entries(workspace, query).await
    }
}

/// Takes every ask waiting, writes them in one statement, answers each; until no handle is left.
async fn batches(inner: Arc<dyn Audit>, mut queue: mpsc::UnboundedReceiver<Ask>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (entries, answers): (Vec<_>, Vec<_>) =
            batch.drain(..).map(|ask| ((ask.workspace, ask.entry), ask.answer)).unzip();
        match inner.record_many(&entries).await {
            Ok(()) => {
                for answer in answers {
                    let _ = answer.send(Ok(()));
                }
            }
            // A lone entry's failure is its own.
            Err(error) if answers.len() == 1 => {
                if let Some(answer) = answers.into_iter().next() {
                    let _ = answer.send(Err(error));
                }
            }
            // The database is not answering: every entry fails alike, at once.
            Err(error) if is_unreachable(&error) => {
                let error = Arc::new(error);
                for answer in answers {
                    let _ = answer.send(Err(StoreError::unknown(BatchFailed(error.clone()))));
                }
            }
            // One entry can fail the statement for all (its workspace just deleted, say): each
            // is written alone, so the others' updates are not failed for it.
            Err(error) => {
                tracing::debug!(error = %error, entries = entries.len(), "a batch of audit entries failed; writing each alone");
                for ((workspace, entry), answer) in entries.iter().zip(answers) {
                    let _ = answer.send(inner.record(*workspace, entry).await);
                }
            }
        }
    }
}

/// The one failure of a batch, told to each entry in it; its cause chain is the store's.
#[derive(Debug, thiserror::Error)]
#[error("a batch of audit entries was not written")]
struct BatchFailed(#[source] Arc<StoreError>);

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use chrono::{TimeZone, Utc};
    use storyline_domain::audit::AuditAction;
    use storyline_domain::user::Actor;

    use super::*;

    /// Records each statement; holds the statements while `gate` is held; refuses an entry whose
    /// subject is `bad` (the whole statement), or everything as unreachable.
    #[derive(Default)]
    struct Recording {
        statements: Mutex<Vec<Vec<String>>>,
        kept: Mutex<Vec<(WorkspaceId, String)>>,
        gate: tokio::sync::Mutex<()>,
        down: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl Audit for Recording {
        async fn record(&self, workspace: WorkspaceId, entry: &AuditEntry) -> Result<(), StoreError> {
            self.record_many(&[(workspace, entry.clone())]).await
        }

        async fn record_many(&self, entries: &[(WorkspaceId, AuditEntry)]) -> Result<(), StoreError> {
            let _held = self.gate.lock().await;
            let subjects: Vec<String> = entries.iter().map(|(_, e)| e.subject.clone()).collect();
            self.statements.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(subjects.clone());
            if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(StoreError::unreachable("the database", std::io::Error::other("connection refused")));
            }
            if subjects.iter().any(|s| s == "bad") {
                return Err(StoreError::unknown(anyhow::anyhow!("foreign key violation")));
            }
            let mut kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            kept.extend(entries.iter().map(|(w, e)| (*w, e.subject.clone())));
            Ok(())
        }

        async fn entries(&self, _: WorkspaceId, _: AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
            Ok(Vec::new())
        }
    }

    fn entry(subject: &str) -> AuditEntry {
        AuditEntry {
            at: Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).single().unwrap_or_default(),
            actor: Actor::Channel,
            action: AuditAction::Button,
            subject: subject.to_owned(),
            old: None,
            new: None,
        }
    }

    /// `subjects` recorded at once (each in its own task) while the first statement is held.
    async fn while_held(
        recording: &Arc<Recording>,
        audit: &Arc<dyn Audit>,
        workspace: WorkspaceId,
        subjects: &[&str],
    ) -> Vec<Result<(), StoreError>> {
        let held = recording.gate.lock().await;
        let first = tokio::spawn({
            let audit = audit.clone();
            async move { audit.record(workspace, &entry("first")).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let rest: Vec<_> = subjects
            .iter()
            .map(|subject| {
                let (audit, entry) = (audit.clone(), entry(subject));
                tokio::spawn(async move { audit.record(workspace, &entry).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(held);
        let mut answers = vec![first.await.unwrap_or_else(|e| Err(StoreError::unknown(e)))];
        for task in rest {
            answers.push(task.await.unwrap_or_else(|e| Err(StoreError::unknown(e))));
        }
        answers
    }

    fn statements(recording: &Recording) -> Vec<Vec<String>> {
        recording.statements.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    #[tokio::test]
    async fn entries_asked_for_while_a_statement_runs_go_together_and_each_is_answered() {
        let recording = Arc::new(Recording::default());
        let audit = BatchedAudit::around(recording.clone());
        let workspace = WorkspaceId::new();
        assert!(audit.record(workspace, &entry("alone")).await.is_ok(), "a lone entry goes at once");
        let answers = while_held(&recording, &audit, workspace, &["a", "b", "c"]).await;
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        assert_eq!(statements(&recording), [vec!["alone"], vec!["first"], vec!["a", "b", "c"]]);
        let kept = recording.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len();
        assert_eq!(kept, 5);
    }

    #[tokio::test]
    async fn one_bad_entry_fails_only_itself_the_rest_are_written_alone() {
        let recording = Arc::new(Recording::default());
        let audit = BatchedAudit::around(recording.clone());
        let answers = while_held(&recording, &audit, WorkspaceId::new(), &["a", "bad", "c"]).await;
        let failed: Vec<bool> = answers.iter().map(Result::is_err).collect();
        assert_eq!(failed, [false, false, true, false]);
        let subjects: Vec<String> = recording
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(_, s)| s.clone())
            .collect();
        assert_eq!(subjects, ["first", "a", "c"]);
    }

    #[tokio::test]
    async fn a_database_that_does_not_answer_fails_every_entry_of_the_batch_at_once_as_unreachable() {
        let recording = Arc::new(Recording::default());
        recording.down.store(true, std::sync::atomic::Ordering::SeqCst);
        let audit = BatchedAudit::around(recording.clone());
        let answers = while_held(&recording, &audit, WorkspaceId::new(), &["a", "b"]).await;
        assert!(answers.iter().all(|a| a.as_ref().is_err_and(|e| is_unreachable(e))), "{answers:?}");
        assert_eq!(statements(&recording).len(), 2, "no entry was tried alone: {:?}", statements(&recording));
    }

    #[test]
    fn outside_a_runtime_the_store_itself_is_used() {
        let recording: Arc<dyn Audit> = Arc::new(Recording::default());
        let audit = BatchedAudit::around(recording.clone());
        assert!(Arc::ptr_eq(&audit, &recording));
    }
}
