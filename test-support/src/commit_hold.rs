//! A relay in front of DynamoDB that, once armed, lets one `TransactWriteItems` through and
//! keeps its answer: the transaction has committed, its caller never hears so. The test then
//! kills the caller's process, which is a function that died right after its commit.
//!
//! Plain threads and HTTP/1.1 as the SDK speaks it to a local endpoint (`content-length` bodies);
//! each request goes upstream on a connection of its own.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use crate::wait;

pub struct CommitHold {
    /// `http://127.0.0.1:<port>`, to use as the DynamoDB endpoint.
    pub url: String,
    armed: Arc<AtomicBool>,
    held: Arc<AtomicUsize>,
}

impl CommitHold {
    /// A relay to `upstream` (`http://host:port`), not armed.
    pub fn start(upstream: &str) -> CommitHold {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (armed, held) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
        let (arm, hold) = (armed.clone(), held.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let (upstream, arm, hold) = (upstream.clone(), arm.clone(), hold.clone());
                std::thread::spawn(move || relay(client, &upstream, &arm, &hold));
            }
        });
        CommitHold { url, armed, held }
    }

    /// Holds the answer of the next `TransactWriteItems` (one only).
    pub fn arm(&self) {
        self.armed.store(true, SeqCst);
    }

    /// Waits until a transaction has committed and its answer is held; after `limit`, fails
    /// showing `context` (the output of the process whose transaction it should be).
    pub fn wait_held(&self, limit: Duration, context: impl Fn() -> String) {
        let what = "a transaction committed and its answer held";
        wait::until(what, limit, context, || (self.held.load(SeqCst) > 0).then_some(()))
    }
}

/// One HTTP/1.1 message: its start line and headers as read, and its body.
struct Message {
    head: Vec<String>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.head
            .iter()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .find_map(|(n, v)| n.trim().eq_ignore_ascii_case(name).then_some(v.trim()))
    }

    /// Reads one message; `None` at the end of the stream. Without `content-length`, the body
    /// runs to the end of the stream.
    fn read(reader: &mut impl BufRead) -> Option<Message> {
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end().to_string();
            if line.is_empty() {
                break;
            }
            head.push(line);
        }
        let mut message = Message { head, body: Vec::new() };
        match message.header("content-length").and_then(|v| v.parse().ok()) {
            Some(length) => {
                message.body = vec![0; length];
                reader.read_exact(&mut message.body).ok()?;
            }
            None if message.head[0].starts_with("HTTP/") => {
                reader.read_to_end(&mut message.body).ok()?;
            }
            None => {}
        }
        Some(message)
    }

    /// The message as sent on, with `connection: close` in place of any `connection` header.
    fn closing(&self) -> Vec<u8> {
        let mut out = String::new();
        for line in &self.head {
            if !line.to_ascii_lowercase().starts_with("connection:") {
                out.push_str(line);
                out.push_str("\r\n");
            }
        }
        out.push_str("connection: close\r\n\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

fn relay(client: TcpStream, upstream: &str, armed: &AtomicBool, held: &AtomicUsize) {
    let mut writer = client.try_clone().expect("a second handle");
    let mut reader = BufReader::new(client);
    while let Some(request) = Message::read(&mut reader) {
        let Ok(mut server) = TcpStream::connect(upstream) else { return };
        if server.write_all(&request.closing()).is_err() {
            return;
        }
        let Some(answer) = Message::read(&mut BufReader::new(server)) else { return };
        let transaction = request.header("x-amz-target").is_some_and(|t| t.ends_with(".TransactWriteItems"));
        if transaction && armed.swap(false, SeqCst) {
            held.fetch_add(1, SeqCst);
            // Committed; the answer is kept until the caller's connection closes (it is killed).
            let _ = reader.read_to_end(&mut Vec::new());
            return;
        }
        if writer.write_all(&answer.closing()).is_err() {
            return;
        }
    }
}
