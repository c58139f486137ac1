//! A TCP proxy a test can cut and restore, to make a database "unreachable for a while".

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// Forwards 127.0.0.1:`port()` to `target` while up. Cutting it closes every open connection
/// and refuses new ones until restored.
#[derive(Debug, Clone)]
pub struct Proxy {
    address: SocketAddr,
    up: Arc<AtomicBool>,
    cut: Arc<Notify>,
}

impl Proxy {
    /// Starts forwarding to `target`.
    ///
    /// # Errors
    /// When no local port can be bound.
    pub async fn start(target: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let proxy =
            Self { address: listener.local_addr()?, up: Arc::new(AtomicBool::new(true)), cut: Arc::new(Notify::new()) };
        let accepting = proxy.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !accepting.up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let cut = accepting.cut.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    let mut inbound = inbound;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        () = cut.notified() => {}
                    }
                });
            }
        });
        Ok(proxy)
    }

    #[must_use]
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.notify_waiters();
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}
