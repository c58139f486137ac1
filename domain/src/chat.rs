//! What the bot shows in a chat, independent of any transport: a [`Screen`] is styled text plus
//! rows of buttons. Adapters render it (HTML for Telegram, plain text for the terminal), escaping
//! every string they did not write themselves.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A message the bot sent, by its id within its chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MessageId(pub i32);

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One button press, to be answered once (Telegram's callback query id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PressId(pub String);

/// A file a person sent to a chat (a document), by the platform's handle for it: the bytes are
/// fetched only when the bot has a use for them ([`crate::ports::ChatFiles`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SentFile {
    /// The platform's id for downloading it (Telegram's `file_id`).
    pub id: String,
    /// The file's name as the sender's app gave it.
    pub name: Option<String>,
    /// Its size in bytes, when the platform says.
    pub size: Option<u64>,
}

/// How a piece of text is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Style {
    Plain,
    Bold,
    Italic,
    Code,
}

/// A run of text in one style. The text is raw: adapters escape it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub style: Style,
    pub text: String,
}

/// Styled text, built span by span.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text(pub Vec<Span>);

impl Text {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    #[must_use]
    pub fn plain(mut self, text: impl Into<String>) -> Self {
        self.push(Style::Plain, text);
        self
    }

    #[must_use]
    pub fn bold(mut self, text: impl Into<String>) -> Self {
        self.push(Style::Bold, text);
        self
    }

    #[must_use]
    pub fn italic(mut self, text: impl Into<String>) -> Self {
        self.push(Style::Italic, text);
        self
    }

    #[must_use]
    pub fn code(mut self, text: impl Into<String>) -> Self {
        self.push(Style::Code, text);
        self
    }

    /// A line break.
    #[must_use]
    pub fn line(self) -> Self {
        self.plain("\n")
    }

    fn push(&mut self, style: Style, text: impl Into<String>) {
        self.0.push(Span { style, text: text.into() });
    }

    /// The text without styles.
    #[must_use]
    pub fn to_plain(&self) -> String {
        self.0.iter().map(|span| span.text.as_str()).collect()
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Self::new().plain(text)
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Self::new().plain(text)
    }
}

/// What pressing a button does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ButtonTarget {
    /// Sends this data back as a press (at most 64 bytes).
    Press(String),
    /// Opens a link.
    Link(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub label: String,
    pub target: ButtonTarget,
}

impl From<&str> for Screen {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl From<String> for Screen {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl From<Text> for Screen {
    fn from(text: Text) -> Self {
        Self::new(text)
    }
}

/// One message: text and rows of buttons.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screen {
    pub text: Text,
    pub rows: Vec<Vec<Button>>,
}

impl Screen {
    #[must_use]
    pub fn new(text: impl Into<Text>) -> Self {
        Self { text: text.into(), rows: Vec::new() }
    }

    #[must_use]
    pub fn row(mut self, buttons: Vec<Button>) -> Self {
        if !buttons.is_empty() {
            self.rows.push(buttons);
        }
        self
    }

    /// Every button, row by row.
    pub fn buttons(&self) -> impl Iterator<Item = &Button> {
        self.rows.iter().flatten()
    }
}
