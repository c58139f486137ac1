use async_trait::async_trait;

use super::StoreError;
use crate::WorkspaceId;
use crate::user::TelegramUserId;

/// A change another process may hold an old copy of: what a replica forgets when it hears of
/// it (PostgreSQL `NOTIFY`, sent in the transaction of the change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    /// A person's role in a workspace.
    Member { workspace: WorkspaceId, user: TelegramUserId },
    /// A workspace's Instagram accounts (added, removed, switched, turned off or on).
    Accounts { workspace: WorkspaceId },
    /// Changes may have been missed (the feed reconnected): forget everything.
    Everything,
}

impl Changed {
    /// The notification's text: `member:<workspace>:<user>`, `accounts:<workspace>`.
    #[must_use]
    pub fn payload(&self) -> String {
        match self {
            Self::Member { workspace, user } => format!("member:{}:{}", workspace.as_uuid(), user.0),
            Self::Accounts { workspace } => format!("accounts:{}", workspace.as_uuid()),
            Self::Everything => "everything".to_owned(),
        }
    }

    /// Reads a notification's text; anything else is [`Changed::Everything`] (forgetting too
    /// much is safe, too little is not).
    #[must_use]
    pub fn parse(payload: &str) -> Self {
        let mut parts = payload.split(':');
        let workspace =
            |text: Option<&str>| text.and_then(|t| t.parse::<uuid::Uuid>().ok()).map(WorkspaceId::from_uuid);
        match parts.next() {
            Some("member") => {
                let workspace = workspace(parts.next());
                let user = parts.next().and_then(|t| t.parse::<i64>().ok()).map(TelegramUserId);
                match (workspace, user, parts.next()) {
                    (Some(workspace), Some(user), None) => Self::Member { workspace, user },
                    _ => Self::Everything,
                }
            }
            Some("accounts") => match (workspace(parts.next()), parts.next()) {
                (Some(workspace), None) => Self::Accounts { workspace },
                _ => Self::Everything,
            },
            _ => Self::Everything,
        }
    }
}

/// Changes committed by any process, as they are committed.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Calls `heard` with every change committed from now on, by any process, until the store
    /// fails for good; a gap in what was heard (a reconnection) is [`Changed::Everything`].
    ///
    /// # Errors
    /// [`StoreError::Unknown`] when the feed cannot be followed (it is then started again).
    async fn follow(&self, heard: Box<dyn Fn(Changed) + Send + Sync>) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_reads_back_and_anything_else_means_everything() {
        let workspace = WorkspaceId::from_uuid(uuid::Uuid::from_u128(7));
        for changed in [Changed::Member { workspace, user: TelegramUserId(-42) }, Changed::Accounts { workspace }] {
            assert_eq!(Changed::parse(&changed.payload()), changed);
        }
        for junk in [
            "",
            "member:x:1",
            "member:00000000-0000-0000-0000-000000000007",
            "accounts:",
            "other:1",
            "accounts:00000000-0000-0000-0000-000000000007:9",
        ] {
            assert_eq!(Changed::parse(junk), Changed::Everything, "{junk}");
        }
    }
}
