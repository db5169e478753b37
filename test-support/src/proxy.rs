//! A TCP relay in front of a server that counts the connections clients open through it and
//! can play a server that is down (every connection closed at once).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Relays loopback connections to `upstream`, counting them.
pub struct TcpRelay {
    /// `http://127.0.0.1:<port>`, to use as an endpoint in place of the upstream's.
    pub url: String,
    opened: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
    server: tokio::task::JoinHandle<()>,
}

impl TcpRelay {
    /// A relay to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> TcpRelay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (opened, down) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (count, refuse, upstream) = (opened.clone(), down.clone(), upstream.to_string());
        let server = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { return };
                if refuse.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees its connection closed
                }
                count.fetch_add(1, Ordering::SeqCst);
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        TcpRelay { url, opened, down, server }
    }

    /// Connections relayed so far.
    pub fn connections(&self) -> usize {
        self.opened.load(Ordering::SeqCst)
    }

    /// While down, every new connection is closed at once (open ones carry on).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

impl Drop for TcpRelay {
    fn drop(&mut self) {
        self.server.abort();
    }
}
