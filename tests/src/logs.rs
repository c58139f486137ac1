//! Every log line of a test binary, at trace level, kept in memory so a test can look for
//! secrets in them. The fakes' own lines (wiremock and s3s log the requests they receive, as the
//! real servers would) are left out: they are the other side of the wire, not Storyline's logs.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing (once per binary: the first call installs the subscriber); returns the
/// buffer.
pub fn capture() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(logs.clone());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace,wiremock=off,s3s=off"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        logs
    })
}

/// Everything logged so far in this binary (capturing from now on, if it was not yet).
#[must_use]
pub fn logged() -> String {
    String::from_utf8_lossy(&capture().lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
}
