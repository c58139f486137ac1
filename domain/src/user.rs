//! People, their roles in a workspace, and who performed an action.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A Telegram user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TelegramUserId(pub i64);

impl fmt::Display for TelegramUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A person as Telegram last described them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub telegram_id: TelegramUserId,
    pub username: Option<String>,
    pub first_name: String,
    pub last_name: Option<String>,
}

impl User {
    /// `@username` when there is one, else the full name.
    #[must_use]
    pub fn display_name(&self) -> String {
        match (&self.username, &self.last_name) {
            (Some(username), _) => format!("@{username}"),
            (None, Some(last)) => format!("{} {last}", self.first_name),
            (None, None) => self.first_name.clone(),
        }
    }
}

/// What a person may do in one workspace (FEATURES S8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }

    /// Admins and owners may change settings, accounts, the schedule and the queue.
    #[must_use]
    pub const fn is_admin(self) -> bool {
        matches!(self, Self::Admin | Self::Owner)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of `owner`, `admin`, `member`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: use owner, admin or member")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input.trim().to_ascii_lowercase().as_str() {
            "member" => Ok(Self::Member),
            "admin" => Ok(Self::Admin),
            "owner" => Ok(Self::Owner),
            _ => Err(UnknownRole(input.chars().take(32).collect())),
        }
    }
}

/// A person's membership of a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user: User,
    pub role: Role,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// Who performed an action: a person, a channel's admins (channel posts carry no user), the
/// command line, or Storyline itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Actor {
    User(TelegramUserId),
    Channel,
    Cli,
    System,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(id) => write!(f, "user:{id}"),
            Self::Channel => f.write_str("channel"),
            Self::Cli => f.write_str("cli"),
            Self::System => f.write_str("system"),
        }
    }
}

/// Stored actor text that is not `user:<id>`, `channel`, `cli` or `system`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable actor {0:?}")]
pub struct UnreadableActor(pub String);

impl FromStr for Actor {
    type Err = UnreadableActor;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input {
            "channel" => Ok(Self::Channel),
            "cli" => Ok(Self::Cli),
            "system" => Ok(Self::System),
            other => other
                .strip_prefix("user:")
                .and_then(|id| id.parse().ok())
                .map(|id| Self::User(TelegramUserId(id)))
                .ok_or_else(|| UnreadableActor(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_round_trip_through_text() {
        for actor in [
            Actor::Cli,
            Actor::Channel,
            Actor::System,
            Actor::User(TelegramUserId(-7)),
            Actor::User(TelegramUserId(99)),
        ] {
            assert_eq!(actor.to_string().parse::<Actor>(), Ok(actor));
        }
        assert!("user:abc".parse::<Actor>().is_err());
        assert!("".parse::<Actor>().is_err());
    }

    #[test]
    fn only_admins_and_owners_are_admins() {
        assert!(!Role::Member.is_admin());
        assert!(Role::Admin.is_admin());
        assert!(Role::Owner.is_admin());
        assert_eq!("ADMIN".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().is_err());
    }
}
