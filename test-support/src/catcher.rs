//! A stand-in for CloudFormation's presigned `ResponseURL`: a real HTTP/1.1 server on a loopback
//! socket that keeps every request it gets and answers `200 OK`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::wait;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct CaughtRequest {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

impl CaughtRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

pub struct RequestCatcher {
    address: String,
    caught: Arc<Mutex<Vec<CaughtRequest>>>,
}

impl RequestCatcher {
    pub fn start() -> RequestCatcher {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let address = listener.local_addr().unwrap().to_string();
        let caught = Arc::new(Mutex::new(Vec::new()));
        let sink = caught.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let sink = sink.clone();
                std::thread::spawn(move || serve(stream, &sink));
            }
        });
        RequestCatcher { address, caught }
    }

    /// `http://127.0.0.1:PORT{path_and_query}`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.address)
    }

    /// Waits until `count` requests have arrived, and returns them all; after `limit`, fails
    /// showing `context` (the output of the process that should have sent them).
    pub fn wait_for(&self, count: usize, limit: Duration, context: impl Fn() -> String) -> Vec<CaughtRequest> {
        wait::until(&format!("{count} request(s) reached {}", self.address), limit, context, || {
            let caught = self.caught.lock().unwrap().clone();
            (caught.len() >= count).then_some(caught)
        })
    }
}

/// Reads requests off one connection (keep-alive included) until it closes.
fn serve(stream: TcpStream, sink: &Mutex<Vec<CaughtRequest>>) {
    let mut writer = stream.try_clone().expect("a second handle");
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let length = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok());
        let mut body = vec![0; length.unwrap_or(0)];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        sink.lock().unwrap().push(CaughtRequest { method, target, headers, body, at: Instant::now() });
        if writer.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_err() {
            return;
        }
    }
}
