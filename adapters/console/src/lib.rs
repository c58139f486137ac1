//! Storyline's terminal chat (FEATURES O3): the same bot, one chat, in a terminal.
//!
//! [`ConsoleChat`] is the [`ChatNotifier`]: it prints each screen as text with numbered buttons.
//! [`run`] reads lines: a number presses that button of the latest screen printed;
//! anything else is a message, commands typed as in Telegram (`/settings`). The person at the
//! terminal is the chat's operator and administrator.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use storyline_application::bot::{Bot, Event, Incoming};
use storyline_domain::ChatId;
use storyline_domain::chat::{ButtonTarget, MessageId, PressId, Screen};
use storyline_domain::ports::{Attachment, ChatAdmins, ChatNotifier, NotifyError};
use storyline_domain::user::{TelegramUserId, User};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The terminal as a chat. Clones share the same screen.
#[derive(Clone)]
pub struct ConsoleChat {
    state: Arc<Mutex<State>>,
    admin: TelegramUserId,
}

struct State {
    out: Box<dyn Write + Send>,
    next_message: i32,
    shown: HashMap<MessageId, Screen>,
    /// The buttons of the latest screen printed, in the numbers shown. A screen without buttons
    /// (such as a prompt) clears them, so a number typed next is an answer, not a press.
    buttons: Vec<(MessageId, ButtonTarget)>,
}

impl std::fmt::Debug for ConsoleChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleChat").field("admin", &self.admin).finish_non_exhaustive()
    }
}

impl ConsoleChat {
    /// A chat printed to `out`, administered by `admin` (the person at the terminal).
    #[must_use]
    pub fn new(out: Box<dyn Write + Send>, admin: TelegramUserId) -> Self {
        Self {
            state: Arc::new(Mutex::new(State { out, next_message: 0, shown: HashMap::new(), buttons: Vec::new() })),
            admin,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The press behind button `number` of the latest screen printed.
    fn button(&self, number: usize) -> Option<(MessageId, ButtonTarget)> {
        let state = self.state();
        number.checked_sub(1).and_then(|i| state.buttons.get(i)).cloned()
    }

    /// How many buttons the latest screen printed has (0: a number typed now is a message).
    fn buttons_shown(&self) -> usize {
        self.state().buttons.len()
    }

    /// Writes a line the person typed-or-was-told, outside any screen.
    pub fn note(&self, line: &str) {
        let mut state = self.state();
        let _ = writeln!(state.out, "{line}");
        let _ = state.out.flush();
    }
}

impl State {
    fn print(&mut self, heading: &str, message: MessageId, screen: &Screen) -> std::io::Result<()> {
        writeln!(self.out, "── {heading} #{message} ──")?;
        writeln!(self.out, "{}", screen.text.to_plain())?;
        let has_buttons = screen.buttons().next().is_some();
        self.buttons.clear();
        for row in &screen.rows {
            let mut line = String::new();
            for button in row {
                self.buttons.push((message, button.target.clone()));
                let link = match &button.target {
                    ButtonTarget::Link(url) => format!(" ({url})"),
                    ButtonTarget::Press(_) => String::new(),
                };
                line.push_str(&format!("[{}] {}{link}   ", self.buttons.len(), button.label));
            }
            writeln!(self.out, "{}", line.trim_end())?;
        }
        if has_buttons {
            writeln!(self.out, "(type a button's number to press it)")?;
        }
        self.out.flush()
    }
}

fn io(error: std::io::Error) -> NotifyError {
    NotifyError::Unknown(anyhow::Error::new(error).context("the terminal"))
}

#[async_trait]
impl ChatNotifier for ConsoleChat {
    async fn send(&self, _chat: ChatId, screen: &Screen) -> Result<MessageId, NotifyError> {
        let mut state = self.state();
        state.next_message += 1;
        let message = MessageId(state.next_message);
        state.shown.insert(message, screen.clone());
        state.print("message", message, screen).map_err(io)?;
        Ok(message)
    }

    async fn send_media(&self, chat: ChatId, media: &Attachment, screen: &Screen) -> Result<MessageId, NotifyError> {
        // The terminal cannot show the picture: it shows where the file is.
        writeln!(self.state().out, "── {} {} ──", media.kind, media.location).map_err(io)?;
        self.send(chat, screen).await
    }

    async fn send_document(
        &self,
        _chat: ChatId,
        file_name: &str,
        bytes: Vec<u8>,
        caption: &str,
    ) -> Result<MessageId, NotifyError> {
        // The terminal shows a file made here as it is: it is text (a settings export).
        let mut state = self.state();
        state.next_message += 1;
        let message = MessageId(state.next_message);
        writeln!(state.out, "── file {file_name} ({} bytes): {caption} ──", bytes.len()).map_err(io)?;
        writeln!(state.out, "{}", String::from_utf8_lossy(&bytes)).map_err(io)?;
        state.out.flush().map_err(io)?;
        Ok(message)
    }

    async fn edit_caption(&self, chat: ChatId, message: MessageId, screen: &Screen) -> Result<(), NotifyError> {
        self.edit(chat, message, screen).await
    }

    async fn edit(&self, _chat: ChatId, message: MessageId, screen: &Screen) -> Result<(), NotifyError> {
        let mut state = self.state();
        let Some(shown) = state.shown.get_mut(&message) else {
            return Err(NotifyError::MessageGone);
        };
        if shown == screen {
            return Ok(());
        }
        *shown = screen.clone();
        state.print("updated", message, screen).map_err(io)
    }

    async fn delete(&self, _chat: ChatId, message: MessageId) -> Result<(), NotifyError> {
        let mut state = self.state();
        state.shown.remove(&message).ok_or(NotifyError::MessageGone)?;
        state.buttons.retain(|(on, _)| *on != message);
        writeln!(state.out, "── message #{message} closed ──").map_err(io)
    }

    async fn answer(&self, _press: &PressId, note: &str, alert: bool) -> Result<(), NotifyError> {
        if note.is_empty() {
            return Ok(());
        }
        let mut state = self.state();
        let mark = if alert { "⚠" } else { "↳" };
        writeln!(state.out, "  {mark} {note}").map_err(io)
    }
}

#[async_trait]
impl ChatAdmins for ConsoleChat {
    async fn administrators(&self, _chat: ChatId) -> Result<Vec<TelegramUserId>, NotifyError> {
        Ok(vec![self.admin])
    }
}

/// Reads lines from `input` until it ends (or `/quit`), each as `user` in `chat`.
///
/// # Errors
/// When reading the input fails.
pub async fn run(
    bot: &Bot,
    console: &ConsoleChat,
    mut input: impl AsyncBufRead + Unpin,
    chat: ChatId,
    user: User,
) -> std::io::Result<()> {
    let mut line = String::new();
    let mut typed = 0_i32;
    loop {
        line.clear();
        if input.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let text = line.trim_end_matches(['\r', '\n']);
        if matches!(text.trim(), "/quit" | "/exit") {
            return Ok(());
        }
        typed += 1;
        let event = match text.trim().parse::<usize>().ok().map(|n| (n, console.button(n))) {
            Some((_, Some((message, ButtonTarget::Press(data))))) => {
                Event::Press { id: PressId(format!("console-{typed}")), data, message: Some(message) }
            }
            Some((_, Some((_, ButtonTarget::Link(url))))) => {
                console.note(&format!("  ↳ open {url}"));
                continue;
            }
            // A number with no such button while buttons are shown is a slip: say so. With no
            // buttons shown (a prompt asked for a value), it is an ordinary message.
            Some((number, None)) if console.buttons_shown() > 0 => {
                let shown = console.buttons_shown();
                let range = if shown == 1 { "1".to_owned() } else { format!("1–{shown}") };
                console.note(&format!("  ⚠ no button {number} here; the buttons are {range}"));
                continue;
            }
            _ => Event::from_message(text, MessageId(-typed)),
        };
        bot.handle(Incoming { chat, chat_title: Some("Console".to_owned()), from: Some(user.clone()), event }).await;
    }
}
