//! In-memory fakes of every Storyline store port, for use-case tests and the console demo.
//!
//! [`MemoryStore`] implements every store port over one mutex-guarded state, so a change and its
//! audit entries and history version are written together, as the database stores do.
//! [`RecordingChat`] is a chat that records what the bot shows (and says who the chat's admins
//! are). [`ManualClock`] is a [`storyline_domain::ports::Clock`] that tests move by hand.

mod chat;
mod clock;
mod store;

pub use chat::{ChatCall, RecordingChat};
pub use clock::ManualClock;
pub use store::MemoryStore;
