//! The deployment's replicas in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storyline_domain::ports::{Replica, Replicas, StoreError};

use super::MemoryStore;

#[async_trait]
impl Replicas for MemoryStore {
    async fn beat(&self, replica: &Replica) -> Result<(), StoreError> {
        let mut state = self.state();
        match state.replicas.iter_mut().find(|known| known.id == replica.id) {
            Some(known) => {
                known.seen_at = replica.seen_at;
                known.leads.clone_from(&replica.leads);
                known.mode.clone_from(&replica.mode);
            }
            None => state.replicas.push(replica.clone()),
        }
        Ok(())
    }

    async fn live(&self, since: DateTime<Utc>) -> Result<Vec<Replica>, StoreError> {
        let mut live: Vec<Replica> = self.state().replicas.iter().filter(|r| r.seen_at >= since).cloned().collect();
        live.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
        Ok(live)
    }

    async fn leave(&self, id: &str, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut state = self.state();
        let was = state.replicas.len();
        state.replicas.retain(|r| r.id != id && r.seen_at >= before);
        Ok(u64::try_from(was - state.replicas.len()).unwrap_or(u64::MAX))
    }
}
