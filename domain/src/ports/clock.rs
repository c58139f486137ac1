use chrono::{DateTime, Utc};

/// Now — so that time is a value in tests.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}
