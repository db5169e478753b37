//! The real function binaries under a Lambda Runtime API on loopback: a small server that hands
//! out one event at a time at `/2018-06-01/runtime/invocation/next` and collects what the
//! function posts to `.../response` or `.../error`, as the Lambda service does. With it the
//! tests run `main.rs` too (config from the environment, the DynamoDB store, JSON logs on
//! stdout), not only the handler.
//!
//! Blocking threads and std sockets: the harness needs no async runtime of its own.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::Value;

use super::{emulator, events_with_prefix, repo_root};

/// How long one invocation may take before the test gives up on the function.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);

/// What a function posted for one invocation.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The body posted to `/invocation/{id}/response`.
    Response(String),
    /// The body posted to `/invocation/{id}/error`: the handler returned `Err` or panicked.
    Error(String),
}

#[derive(Default)]
struct State {
    /// Events waiting for the function's next `/next`, with their request ids.
    queue: Mutex<VecDeque<(String, String)>>,
    queued: Condvar,
    answers: Mutex<HashMap<String, Answer>>,
    answered: Condvar,
    /// A body posted to `/runtime/init/error`: the function failed before its first event.
    init_error: Mutex<Option<String>>,
}

/// The Runtime API server; it lives until the test process ends.
pub struct RuntimeApi {
    addr: SocketAddr,
    state: Arc<State>,
}

impl RuntimeApi {
    pub fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port for the Runtime API");
        let addr = listener.local_addr().expect("bound address");
        let state = Arc::new(State::default());
        let server_state = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = server_state.clone();
                std::thread::spawn(move || serve_connection(stream, &state));
            }
        });
        RuntimeApi { addr, state }
    }

    /// `AWS_LAMBDA_RUNTIME_API` as Lambda sets it: host and port, no scheme.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Hands `event` to the function and waits for its answer.
    pub fn invoke(&self, event: &str) -> Answer {
        let id = uuid::Uuid::new_v4().to_string();
        self.state.queue.lock().unwrap().push_back((id.clone(), event.to_string()));
        self.state.queued.notify_all();
        let deadline = Instant::now() + INVOKE_TIMEOUT;
        let mut answers = self.state.answers.lock().unwrap();
        loop {
            if let Some(answer) = answers.remove(&id) {
                return answer;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let init = self.state.init_error.lock().unwrap().clone();
                panic!("no answer from the function within {INVOKE_TIMEOUT:?} (init error: {init:?})");
            }
            answers = self.state.answered.wait_timeout(answers, left).unwrap().0;
        }
    }
}

struct HttpRequest {
    method: String,
    path: String,
    body: Vec<u8>,
}

/// One keep-alive connection of the runtime client: requests one after the other.
fn serve_connection(stream: TcpStream, state: &State) {
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader) {
        let (code, headers, body) = route(&req, state);
        let mut head = format!("HTTP/1.1 {code}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n", body.len());
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).and_then(|_| writer.write_all(body.as_bytes())).is_err() {
            return;
        }
    }
}

fn route(req: &HttpRequest, state: &State) -> (&'static str, Vec<(&'static str, String)>, String) {
    const PREFIX: &str = "/2018-06-01/runtime/";
    let accepted = ("202 Accepted", Vec::new(), r#"{"status":"OK"}"#.to_string());
    let Some(rest) = req.path.strip_prefix(PREFIX) else {
        return ("404 Not Found", Vec::new(), "{}".into());
    };
    let body = String::from_utf8_lossy(&req.body).into_owned();
    match (req.method.as_str(), rest.split('/').collect::<Vec<_>>().as_slice()) {
        ("GET", ["invocation", "next"]) => {
            let mut queue = state.queue.lock().unwrap();
            let (id, event) = loop {
                if let Some(next) = queue.pop_front() {
                    break next;
                }
                queue = state.queued.wait(queue).unwrap();
            };
            let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + INVOKE_TIMEOUT;
            let headers = vec![
                ("lambda-runtime-aws-request-id", id),
                ("lambda-runtime-deadline-ms", deadline.as_millis().to_string()),
                ("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:test".into()),
                ("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".into()),
            ];
            ("200 OK", headers, event)
        }
        ("POST", ["invocation", id, kind @ ("response" | "error")]) => {
            let answer = if *kind == "response" { Answer::Response(body) } else { Answer::Error(body) };
            state.answers.lock().unwrap().insert(id.to_string(), answer);
            state.answered.notify_all();
            accepted
        }
        ("POST", ["init", "error"]) => {
            *state.init_error.lock().unwrap() = Some(body);
            accepted
        }
        _ => ("404 Not Found", Vec::new(), "{}".into()),
    }
}

/// An HTTP/1.1 request with a `content-length` or chunked body; `None` at the end of the connection.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<HttpRequest> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2]; // the chunk and its CRLF
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some(HttpRequest { method, path, body })
}

/// A function binary running against a [`RuntimeApi`], its stdout (the JSON log lines) kept.
pub struct FunctionProcess {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl FunctionProcess {
    /// Starts `binary` with Lambda's environment and `env`, and nothing else of this process's
    /// environment (no stray AWS profile or endpoint).
    pub fn spawn(binary: &Path, api: &RuntimeApi, name: &str, env: &[(&str, String)]) -> FunctionProcess {
        let mut child = Command::new(binary)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        let stdout = collect_lines(child.stdout.take().expect("piped stdout"));
        let stderr = collect_lines(child.stderr.take().expect("piped stderr"));
        FunctionProcess { child, stdout, stderr }
    }

    /// The JSON log lines printed so far (other lines are skipped).
    pub fn log_lines(&self) -> Vec<Value> {
        self.stdout.lock().unwrap().iter().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    /// Everything printed so far, for failure messages.
    pub fn output(&self) -> String {
        let out = self.stdout.lock().unwrap().join("\n");
        let err = self.stderr.lock().unwrap().join("\n");
        format!("stdout:\n{out}\nstderr:\n{err}")
    }

    /// Waits until the function has printed a line that `pred` accepts (the log line of a
    /// request is written just after its response is posted).
    pub fn wait_for_log(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            if let Some(line) = self.log_lines().into_iter().find(|l| pred(l)) {
                return line;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no log line {what}\n{}", self.output());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect_lines(pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// A function's answer to an API Gateway HTTP API (v2) event, decoded.
#[derive(Debug)]
pub struct HttpAnswer {
    pub code: u16,
    pub headers: serde_json::Map<String, Value>,
    pub body: Value,
}

impl HttpAnswer {
    pub fn parse(answer: &Answer) -> HttpAnswer {
        let text = match answer {
            Answer::Response(text) => text,
            Answer::Error(e) => panic!("the function answered an invocation error, not a response: {e}"),
        };
        let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("response is not JSON ({e}): {text}"));
        let raw = v["body"].as_str().unwrap_or("");
        let raw = if v["isBase64Encoded"] == true {
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(raw).expect("base64 body")).expect("UTF-8 body")
        } else {
            raw.to_string()
        };
        HttpAnswer {
            code: v["statusCode"].as_u64().unwrap_or_else(|| panic!("no statusCode: {text}")) as u16,
            headers: v["headers"].as_object().cloned().unwrap_or_default(),
            body: serde_json::from_str(&raw).unwrap_or_else(|e| panic!("body is not JSON ({e}): {raw}")),
        }
    }
}

/// A fresh emulator table with the demo fixture loaded *now*: the binary runs on the wall
/// clock, and the fixture's session times count from when it is loaded.
pub async fn seeded_table() -> crate::store::dynamodb::DynamoStore {
    let store = super::fresh_dynamodb_table().await;
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    let fixture = crate::fixture::parse(&super::demo_fixture_text(), now).expect("demo fixture loads");
    crate::store::Store::load_fixture(&store, &fixture).await.expect("fixture written");
    crate::registry::sync(&store, false).await.expect("routes synced");
    store
}

/// Runs `binary` (the function `function`) under the Runtime API and sends it every
/// `events/<function>.*.json`, one after the other as a warm container gets them, checking the
/// status the file name gives, the HTTP code, the envelope headers, the echoed request id and
/// the request's JSON log line. With `store`, the function gets a freshly seeded emulator table;
/// afterwards the table is deleted and a request must answer `application-crash` (an
/// envelope, never an invocation error) and log it. Returns the number of events.
pub fn check_events_on_binary(function: &str, binary: &str, store: bool) -> usize {
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let table = store.then(|| rt.block_on(seeded_table()));
    let mut env = vec![("AWS_REGION", "us-east-1".to_string()), ("RUST_LOG", "info".to_string())];
    if let Some(table) = &table {
        env.push(("TABLE_NAME", table.table().to_string()));
        env.push(("DYNAMODB_ENDPOINT", emulator::endpoint().to_string()));
        // Read once and kept, so that the registry outlives the table for the crash check.
        env.push(("REGISTRY_CACHE_SECONDS", "3600".to_string()));
    }
    let api = RuntimeApi::start();
    let process = FunctionProcess::spawn(Path::new(binary), &api, function, &env);

    let names = events_with_prefix(&format!("{function}."));
    assert!(!names.is_empty(), "no events for {function}");
    for name in &names {
        let expected = name.split('.').nth(1).expect("<function>.<status>[.<variant>].json");
        let request_id = format!("evt-{}", name.trim_end_matches(".json").replace('.', "-"));
        let reply = invoke_file(&api, &process, name);
        check_reply(&reply, name, expected, &request_id, &process);
        process.wait_for_log(&format!("for {name}"), |l| is_request_line(l, &request_id, expected));
    }

    if let Some(table) = table {
        rt.block_on(table.client().delete_table().table_name(table.table()).send()).expect("table deleted");
        let name = names.iter().find(|n| n.contains(".action-successful")).expect("a successful event to replay");
        let request_id = format!("evt-{}", name.trim_end_matches(".json").replace('.', "-"));
        let reply = invoke_file(&api, &process, name);
        check_reply(&reply, name, "application-crash", &request_id, &process);
        process.wait_for_log("for the crash", |l| is_request_line(l, &request_id, "application-crash"));
    }
    names.len()
}

fn invoke_file(api: &RuntimeApi, process: &FunctionProcess, name: &str) -> HttpAnswer {
    let path = repo_root().join("events").join(name);
    let event = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let answer = api.invoke(&event);
    if let Answer::Error(e) = &answer {
        panic!("{name}: invocation error {e}\n{}", process.output());
    }
    HttpAnswer::parse(&answer)
}

fn check_reply(reply: &HttpAnswer, name: &str, expected: &str, request_id: &str, process: &FunctionProcess) {
    let status = crate::Status::from_slug(expected).unwrap_or_else(|| panic!("{name}: unknown status {expected}"));
    assert_eq!(reply.body["status"], expected, "{name}: {}\n{}", reply.body, process.output());
    assert_eq!(reply.code, status.http_code(), "{name}");
    assert_eq!(reply.body["request_id"], request_id, "{name}");
    assert_eq!(reply.headers.get("x-request-id").and_then(Value::as_str), Some(request_id), "{name}");
    assert_eq!(
        reply.headers.get("content-type").and_then(Value::as_str),
        Some("application/json; charset=utf-8"),
        "{name}"
    );
    assert_eq!(reply.headers.get("cache-control").and_then(Value::as_str), Some("no-store"), "{name}");
}

/// The one line every request logs (tracing-subscriber's JSON: the fields under "fields"); the
/// alarms' metric filters in template.yaml match `$.fields.status` and `$.fields.event`.
fn is_request_line(line: &Value, request_id: &str, status: &str) -> bool {
    let fields = &line["fields"];
    fields["event"] == "request" && fields["request_id"] == request_id && fields["status"] == status
}
