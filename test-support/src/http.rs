//! Plain HTTP/1.1 over loopback, and a guard for a spawned server (`planocore serve`, or a
//! test-only server of `src/bin`).

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};

use serde_json::Value;

use crate::wait;

/// How long a spawned server may take to print the address it listens on (a debug build that
/// loads a fixture, on a loaded machine).
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// An answer read off a raw HTTP/1.1 exchange.
#[derive(Debug)]
pub struct HttpReply {
    pub code: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One request over a fresh loopback connection (`connection: close`), for tests of a running
/// `planocore serve`; the body of the answer parsed as JSON (`null` if it is not).
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    extra: &[(&str, &str)],
    body: &[u8],
) -> HttpReply {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connects");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n", body.len());
    if let Some(ct) = content_type {
        head.push_str(&format!("content-type: {ct}\r\n"));
    }
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // A server may answer (and close) before it has read a refused body to the end.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
    let mut lines = head.lines();
    let code = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines.filter_map(|l| l.split_once(": ")).map(|(n, v)| (n.to_string(), v.to_string())).collect();
    HttpReply { code, headers, body: serde_json::from_str(body).unwrap_or(Value::Null) }
}

/// A server process spawned for a test (`planocore serve`, or a test-only server of `src/bin`):
/// started on port 0, its address read from the line it prints first
/// (`<name>: listening on http://ADDR`); killed when the guard drops.
pub struct ServeProcess {
    child: Child,
    address: String,
    listening_line: String,
    stdout: Option<BufReader<ChildStdout>>,
}

impl ServeProcess {
    /// Spawns `command` with its stdout piped (stderr is left as `command` sets it) and waits
    /// for the listening line.
    pub fn start(mut command: Command) -> ServeProcess {
        let mut child =
            command.stdout(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("{command:?} does not start: {e}"));
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        // Read off a thread, so that a server that never prints fails the test instead of hanging it.
        let (sender, first_line) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut first = String::new();
            let read = stdout.read_line(&mut first);
            let _ = sender.send(read.map(|_| (first, stdout)));
        });
        let Some(read) = wait::poll(PATIENCE, || first_line.try_recv().ok()) else {
            let _ = child.kill();
            let _ = child.wait();
            wait::never(&format!("{command:?} printed the address it listens on"), PATIENCE, "");
        };
        let (first, stdout) = read.expect("the server's stdout is readable");
        let Some((_, address)) = first.trim_end().split_once("listening on http://") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} printed no address first: {first:?}");
        };
        let address = address.to_string();
        // Kept open (not dropped) so that later prints never meet a closed pipe.
        ServeProcess { child, address, listening_line: first, stdout: Some(stdout) }
    }

    /// `host:port`, for [`http`].
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The first line the server printed, as printed.
    pub fn listening_line(&self) -> &str {
        &self.listening_line
    }

    /// The rest of the server's stdout, after the listening line.
    pub fn take_stdout(&mut self) -> BufReader<ChildStdout> {
        self.stdout.take().expect("stdout is taken once")
    }

    /// The server's stderr, when `command` piped it.
    pub fn take_stderr(&mut self) -> ChildStderr {
        self.child.stderr.take().expect("stderr piped by the command, taken once")
    }

    /// Stops the server now (its pipes then end); dropping the guard does the same.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
