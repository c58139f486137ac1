//! The audit trail: who did what, when, with the old and the new value (FEATURES S6, C8).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::user::Actor;

/// One audited action. For a settings change `subject` is the setting's name and `old`/`new` its
/// values; for a command or a button press `subject` names it and the values are empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: AuditAction,
    pub subject: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// The kind of thing that was audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A setting changed.
    Setting,
    /// A command was typed.
    Command,
    /// A button was pressed.
    Button,
    /// A person's role changed (`subject` is `user:<id>`).
    Role,
    /// An Instagram account was added, selected, disabled or re-enabled (`subject` is
    /// `account:<id>`; never a token).
    Account,
    /// The workspace itself: created by `/init` (`subject` is its name), or its chat's life
    /// cycle (the bot removed or added back, the chat moved).
    Workspace,
}

impl AuditAction {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Setting => "setting",
            Self::Command => "command",
            Self::Button => "button",
            Self::Role => "role",
            Self::Account => "account",
            Self::Workspace => "workspace",
        }
    }

    /// The action stored as `text`, if it is one.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Setting, Self::Command, Self::Button, Self::Role, Self::Account, Self::Workspace]
            .into_iter()
            .find(|a| a.as_str() == text)
    }
}
