//! Test helpers (feature `test-util`, enabled only by dev-dependencies): a memory-store app
//! loaded with the demo fixture at a fixed time, request builders and event loading.

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine;
use lambda_http::http::{HeaderMap, Method};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use time::macros::datetime;
use time::OffsetDateTime;

use crate::clock::FixedClock;
use crate::notify::RecordingNotifier;
use crate::pipeline::Deps;
use crate::registry::{self, RegistryCache};
use crate::store::memory::MemoryStore;
use crate::store::Store;

pub mod rie;

/// The instant the test fixture is loaded at; relative fixture times count from here.
pub const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

/// The repository's root (where `events/` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("shared/ sits in the repo root").to_path_buf()
}

pub fn demo_fixture_text() -> String {
    std::fs::read_to_string(repo_root().join("tools/planocore/demo-fixture.json")).expect("demo fixture")
}

pub struct TestApp {
    pub deps: Deps,
    pub clock: Arc<FixedClock>,
    pub notifier: Arc<RecordingNotifier>,
    /// The same store as `deps.store` when it is DynamoDB, for raw reads of the table.
    pub dynamo: Option<Arc<crate::store::dynamodb::DynamoStore>>,
    /// The same store as `deps.store` when it is the memory store.
    pub memory: Option<Arc<MemoryStore>>,
}

impl TestApp {
    /// The demo fixture on `store`, routes synced, clock fixed at [`NOW`], no registry cache.
    pub async fn on(store: Arc<dyn Store>) -> TestApp {
        let fixture = crate::fixture::parse(&demo_fixture_text(), NOW).expect("demo fixture loads");
        store.load_fixture(&fixture).await.expect("fixture written");
        registry::sync(store.as_ref(), false).await.expect("routes synced");
        let clock = Arc::new(FixedClock::new(NOW));
        let notifier = Arc::new(RecordingNotifier::default());
        let deps = Deps {
            store,
            clock: clock.clone(),
            notifier: notifier.clone(),
            registry: RegistryCache::new(std::time::Duration::ZERO),
        };
        TestApp { deps, clock, notifier, dynamo: None, memory: None }
    }

    pub async fn memory() -> TestApp {
        let store = Arc::new(MemoryStore::new());
        let mut app = TestApp::on(store.clone()).await;
        app.memory = Some(store);
        app
    }

    /// The id of every entity the store holds, whichever store it is, sorted.
    pub async fn entity_ids(&self) -> Vec<u64> {
        match (&self.memory, &self.dynamo) {
            (Some(memory), _) => memory.entity_ids(),
            (_, Some(dynamo)) => dynamo.entity_ids().await,
            _ => panic!("entity_ids needs TestApp::memory or TestApp::dynamodb"),
        }
    }

    /// One memory app with its own runtime for a whole test process, for synchronous callers
    /// (property tests, the fuzz target): loading the fixture hashes passwords, ~100 ms.
    pub fn shared_memory() -> &'static (tokio::runtime::Runtime, TestApp) {
        static APP: std::sync::OnceLock<(tokio::runtime::Runtime, TestApp)> = std::sync::OnceLock::new();
        APP.get_or_init(|| {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
            let app = rt.block_on(TestApp::memory());
            (rt, app)
        })
    }

    /// The demo fixture in a fresh table of the local DynamoDB emulator.
    pub async fn dynamodb() -> TestApp {
        let store = Arc::new(fresh_dynamodb_table().await);
        let mut app = TestApp::on(store.clone()).await;
        app.dynamo = Some(store);
        app
    }
}


/// A new, empty table on the local emulator, named uniquely so tests never share data.
pub async fn fresh_dynamodb_table() -> crate::store::dynamodb::DynamoStore {
    fresh_recorded_table(None).await
}

/// Like [`fresh_dynamodb_table`], with every DynamoDB call the store makes noted by `recorder`.
pub async fn fresh_recorded_table(recorder: Option<CallRecorder>) -> crate::store::dynamodb::DynamoStore {
    let sdk = crate::config::aws_config(Some(emulator::endpoint())).await;
    let mut config = aws_sdk_dynamodb::config::Builder::from(&sdk);
    if let Some(recorder) = recorder {
        config = config.interceptor(recorder);
    }
    let client = aws_sdk_dynamodb::Client::from_conf(config.build());
    let table = format!("test-{}", uuid::Uuid::new_v4().simple());
    crate::store::dynamodb::create_table(&client, &table).await.expect("test table created on the emulator");
    crate::store::dynamodb::DynamoStore::new(client, table)
}

/// An SDK interceptor that notes each DynamoDB call: its operation name, for
/// `TransactWriteItems` the kinds of its items, e.g. `TransactWriteItems[ConditionCheck,Put]`,
/// and for a `Query` of an index the index, e.g. `Query@GSI1` (IAM grants indexes apart).
#[derive(Debug, Default, Clone)]
pub struct CallRecorder {
    calls: Arc<std::sync::Mutex<Vec<String>>>,
}

impl CallRecorder {
    /// The calls since the last `take`.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl aws_sdk_dynamodb::config::Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "CallRecorder"
    }

    // Not `read_before_execution`: a client interceptor runs that before the operation's own
    // config (which holds its name) is in the bag.
    fn read_before_serialization(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        use aws_sdk_dynamodb::operation::query::QueryInput;
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
        use aws_smithy_runtime_api::client::orchestrator::Metadata;
        let mut call = cfg.load::<Metadata>().map(|m| m.name().to_string()).unwrap_or_default();
        if let Some(tx) = context.input().downcast_ref::<TransactWriteItemsInput>() {
            let kinds: Vec<&str> = tx
                .transact_items()
                .iter()
                .map(|item| match item {
                    i if i.condition_check.is_some() => "ConditionCheck",
                    i if i.put.is_some() => "Put",
                    i if i.update.is_some() => "Update",
                    _ => "Delete",
                })
                .collect();
            call = format!("{call}[{}]", kinds.join(","));
        }
        if let Some(index) = context.input().downcast_ref::<QueryInput>().and_then(|q| q.index_name()) {
            call = format!("{call}@{index}");
        }
        self.calls.lock().unwrap().push(call);
        Ok(())
    }
}

/// The emulators the tests run against: DynamoDB Local (AWS's own DynamoDB emulator) for every
/// DynamoDB test, moto for Secrets Manager only (DynamoDB Local has none).
pub mod emulator {
    use std::net::{TcpListener, TcpStream};
    use std::path::Path;
    use std::process::{Command, Stdio};
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    /// Set by `scripts/test`, which installs and starts DynamoDB Local for the whole run.
    pub const ENDPOINT_VAR: &str = "PLANOCORE_TEST_DYNAMODB_ENDPOINT";
    /// Set by `scripts/test`, which starts moto's server for the whole run.
    pub const SECRETSMANAGER_VAR: &str = "PLANOCORE_TEST_SECRETSMANAGER_ENDPOINT";

    /// DynamoDB Local's URL: from `PLANOCORE_TEST_DYNAMODB_ENDPOINT`, else DynamoDB Local started
    /// for this test process by `scripts/dynamodb-local` (which installs it, and Java, if needed).
    pub fn endpoint() -> &'static str {
        static ENDPOINT: OnceLock<String> = OnceLock::new();
        ENDPOINT.get_or_init(|| {
            from_env(ENDPOINT_VAR).unwrap_or_else(|| {
                let script = super::repo_root().join("scripts/dynamodb-local");
                launch("DynamoDB Local", &script, &[], Duration::from_secs(120))
            })
        })
    }

    /// moto's URL, for Secrets Manager: from `PLANOCORE_TEST_SECRETSMANAGER_ENDPOINT`, else moto's
    /// own server started from the project's `.venv` for this test process.
    pub fn secretsmanager_endpoint() -> &'static str {
        static ENDPOINT: OnceLock<String> = OnceLock::new();
        ENDPOINT.get_or_init(|| {
            from_env(SECRETSMANAGER_VAR).unwrap_or_else(|| {
                let moto = super::repo_root().join(".venv/bin/moto_server");
                if !moto.exists() {
                    panic!(
                        "The Secrets Manager tests need moto and found none.\n\
                         Run the tests with ./scripts/test (it installs moto into .venv and starts it), or\n\
                         set {SECRETSMANAGER_VAR}=http://127.0.0.1:PORT to a running moto_server."
                    );
                }
                launch("moto", &moto, &["-H", "127.0.0.1", "-p"], Duration::from_secs(30))
            })
        })
    }

    fn from_env(name: &str) -> Option<String> {
        std::env::var(name).ok().map(|url| url.trim().to_string()).filter(|url| !url.is_empty())
    }

    /// Starts `program ARGS.. PORT` on a free port and waits until it accepts connections. A
    /// watchdog shell stops it when this test process ends, however it ends; its output goes to
    /// `target/<name>-<port>.log`, shown if it does not come up.
    fn launch(name: &str, program: &Path, args: &[&str], patience: Duration) -> String {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let log = super::repo_root().join("target").join(format!("{}-{port}.log", name.replace(' ', "-")));
        let _ = std::fs::create_dir_all(log.parent().expect("target/"));
        let script = format!(
            "\"$0\" \"$@\" {port} >\"{log}\" 2>&1 & m=$!; \
             while kill -0 {parent} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done; kill $m 2>/dev/null",
            log = log.display(),
            parent = std::process::id()
        );
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{name} ({}) cannot start: {e}", program.display()));
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let output = || std::fs::read_to_string(&log).unwrap_or_default();
            if let Ok(Some(_)) = watchdog.try_wait() {
                panic!("{name} stopped before it listened on port {port}:\n{}", output());
            }
            assert!(started.elapsed() < patience, "{name} did not listen on port {port} within {patience:?}:\n{}", output());
            std::thread::sleep(Duration::from_millis(100));
        }
        format!("http://127.0.0.1:{port}")
    }
}

/// A fresh emulator table with the demo fixture loaded *now* and the routes synced: for a
/// function binary or `planocore serve`, which run on the wall clock.
pub async fn seeded_table() -> crate::store::dynamodb::DynamoStore {
    let store = fresh_dynamodb_table().await;
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    let fixture = crate::fixture::parse(&demo_fixture_text(), now).expect("demo fixture loads");
    store.load_fixture(&fixture).await.expect("fixture written");
    registry::sync(&store, false).await.expect("routes synced");
    store
}

/// A request as API Gateway would hand it over.
pub fn request(method: Method, path: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request {
    let mut builder = lambda_http::http::Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    builder.body(body.into()).expect("valid test request")
}

pub fn base64(json: &Value) -> String {
    base64::engine::general_purpose::STANDARD.encode(json.to_string())
}

/// A handler's answer, parsed.
#[derive(Debug)]
pub struct Reply {
    pub code: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn from_response(resp: Response<Body>) -> Reply {
        let code = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body: Value = serde_json::from_slice(resp.body().as_ref()).expect("the response body is JSON");
        Reply { code, headers, body }
    }

    pub fn status(&self) -> &str {
        self.body["status"].as_str().unwrap_or("")
    }

    /// The params named in `errors`, in order.
    pub fn error_params(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errs| errs.iter().map(|e| e["param"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    }

    /// The keys of `data`, sorted.
    pub fn data_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.body["data"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        keys.sort();
        keys
    }
}

/// An API Gateway HTTP API v2 event from `events/`, as `lambda_http` parses it in Lambda.
pub fn event(name: &str) -> Request {
    let path = repo_root().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every event file whose name starts with `prefix`.
pub fn events_with_prefix(prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("events"))
        .expect("events/ exists")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.starts_with(prefix) && n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

/// Runs every `events/<prefix>.*.json` through `handle`, each on a fresh demo app, and checks
/// the status named in the file name, its HTTP code and the echoed request id.
pub async fn check_events<F>(prefix: &str, handle: F) -> usize
where
    F: for<'a> Fn(&'a Deps, Request) -> futures_util::future::BoxFuture<'a, Response<Body>>,
{
    let names = events_with_prefix(&format!("{prefix}."));
    assert!(!names.is_empty(), "no events for {prefix}");
    for name in &names {
        let expected = name.split('.').nth(1).expect("<function>.<status>[.<variant>].json");
        let status = crate::Status::from_slug(expected).unwrap_or_else(|| panic!("{name}: unknown status {expected}"));
        let app = TestApp::memory().await;
        let reply = Reply::from_response(handle(&app.deps, event(name)).await);
        assert_eq!(reply.status(), expected, "{name}: {}", reply.body);
        assert_eq!(reply.code, status.http_code(), "{name}");
        let event_id = format!("evt-{}", name.trim_end_matches(".json").replace('.', "-"));
        assert_eq!(reply.body["request_id"], event_id.as_str(), "{name}");
        assert_eq!(reply.headers["x-request-id"], event_id.as_str(), "{name}");
    }
    names.len()
}

/// A store that fails on demand, around a memory store: for `identify-request-error`,
/// `application-crash` and panics.
#[derive(Default)]
pub struct FaultyStore {
    pub inner: MemoryStore,
    pub registry_down: std::sync::atomic::AtomicBool,
    pub data_down: std::sync::atomic::AtomicBool,
    pub panic_on_client_read: std::sync::atomic::AtomicBool,
}

mod faulty {
    use std::sync::atomic::Ordering::SeqCst;

    use async_trait::async_trait;
    use time::OffsetDateTime;

    use super::FaultyStore;
    use crate::fixture::Fixture;
    use crate::model::*;
    use crate::store::*;

    impl FaultyStore {
        fn data(&self) -> StoreResult<()> {
            if self.data_down.load(SeqCst) {
                return Err(StoreError::Unavailable("injected fault".into()));
            }
            Ok(())
        }
    }

    #[async_trait]
    impl Store for FaultyStore {
        async fn token(&self, h: &str) -> StoreResult<Option<TokenOwner>> {
            self.data()?;
            self.inner.token(h).await
        }
        async fn touch_session(&self, session: &Session, now: OffsetDateTime) -> StoreResult<()> {
            self.data()?;
            self.inner.touch_session(session, now).await
        }
        async fn user(&self, id: u64) -> StoreResult<Option<User>> {
            self.data()?;
            self.inner.user(id).await
        }
        async fn client(&self, id: u64) -> StoreResult<Option<Client>> {
            self.data()?;
            if self.panic_on_client_read.load(SeqCst) {
                panic!("injected panic while reading client {id}");
            }
            self.inner.client(id).await
        }
        async fn update_client(&self, p: &ClientPatch, scope: &ClientScope) -> Result<UpdatedClient, PatchError> {
            self.data()?;
            self.inner.update_client(p, scope).await
        }
        async fn entity(&self, id: u64) -> StoreResult<Option<Entity>> {
            self.data()?;
            self.inner.entity(id).await
        }
        async fn create_entity(&self, d: &EntityDraft) -> Result<Entity, CreateError> {
            self.data()?;
            self.inner.create_entity(d).await
        }
        async fn registry(&self) -> StoreResult<RegistrySnapshot> {
            if self.registry_down.load(SeqCst) {
                return Err(StoreError::Unavailable("injected registry fault".into()));
            }
            self.inner.registry().await
        }
        async fn put_registry_record(&self, k: RecordKind, r: &RegistryRecord, only_if_missing: bool) -> StoreResult<bool> {
            self.inner.put_registry_record(k, r, only_if_missing).await
        }
        async fn load_fixture(&self, f: &Fixture) -> StoreResult<()> {
            self.inner.load_fixture(f).await
        }
    }
}

/// Runs each named `async fn(TestApp)` of a handler suite once per store, as
/// `memory::<name>` and `dynamodb::<name>`: one suite, every store.
#[macro_export]
macro_rules! store_suite {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::testing::TestApp::memory().await).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::testing::TestApp::dynamodb().await).await
                }
            )*
        }
    };
}

/// A stand-in for Mandrill on a loopback socket: records each request and answers as told.
pub struct FakeMandrill {
    pub url: String,
    requests: Arc<std::sync::Mutex<Vec<(String, Value)>>>,
    reply: Arc<std::sync::Mutex<FakeReply>>,
    server: tokio::task::JoinHandle<()>,
}

/// How the fake answers `messages/send`.
#[derive(Debug, Clone)]
pub enum FakeReply {
    /// 200 with this status for every recipient (`sent`, `queued`, `rejected`, ...).
    Recipients(&'static str),
    /// HTTP 500 with Mandrill's error body.
    ErrorBody,
    /// This HTTP status with an empty JSON array.
    Http(u16),
    /// Waits this long, then answers `sent`.
    Slow(std::time::Duration),
}

impl FakeMandrill {
    pub async fn start(reply: FakeReply) -> FakeMandrill {
        use http_body_util::{BodyExt, Full};
        use hyper::body::Bytes;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let url = format!("http://{}/api/1.0", listener.local_addr().unwrap());
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let reply = Arc::new(std::sync::Mutex::new(reply));
        let (seen, answer) = (requests.clone(), reply.clone());
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (seen, answer) = (seen.clone(), answer.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (seen, answer) = (seen.clone(), answer.clone());
                        async move {
                            let path = req.uri().path().to_string();
                            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            let recipients: Vec<String> = json["message"]["to"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|t| t["email"].as_str().unwrap_or("").to_string())
                                .collect();
                            seen.lock().unwrap().push((path, json));
                            let reply = answer.lock().unwrap().clone();
                            let results = |status: &str| {
                                Value::from(recipients.iter().map(|r| serde_json::json!({"email": r, "status": status, "_id": "abc"})).collect::<Vec<_>>())
                            };
                            let (code, body) = match reply {
                                FakeReply::Recipients(status) => (200, results(status)),
                                FakeReply::ErrorBody => (500, serde_json::json!({"status": "error", "code": -1, "name": "Invalid_Key", "message": "Invalid API key"})),
                                FakeReply::Http(code) => (code, serde_json::json!([])),
                                FakeReply::Slow(pause) => {
                                    tokio::time::sleep(pause).await;
                                    (200, results("sent"))
                                }
                            };
                            let response = hyper::Response::builder()
                                .status(code)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(body.to_string())))
                                .unwrap();
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        FakeMandrill { url, requests, reply, server }
    }

    pub fn set_reply(&self, reply: FakeReply) {
        *self.reply.lock().unwrap() = reply;
    }

    /// Every request so far: path and JSON body.
    pub fn requests(&self) -> Vec<(String, Value)> {
        self.requests.lock().unwrap().clone()
    }

    /// A Mandrill notifier that sends here with `key`.
    pub fn notifier(&self, key: &str) -> Arc<crate::notify::mandrill::MandrillNotifier> {
        use crate::notify::mandrill::{MandrillConfig, MandrillNotifier};
        use crate::notify::secret::KeySource;
        let config = MandrillConfig { api_url: self.url.clone(), ..MandrillConfig::default() };
        Arc::new(MandrillNotifier::new(config, KeySource::Static(key.to_string())))
    }
}

impl Drop for FakeMandrill {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Log lines captured as the functions write them (JSON), for tests that read the logs.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    /// Captures this thread's logs until the guard drops (use a current-thread runtime).
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let sink = self.clone();
        let subscriber = tracing_subscriber::fmt().json().with_writer(move || sink.clone()).finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("UTF-8 log lines")
    }

    /// Every line, parsed; a line that is not JSON fails the test.
    pub fn lines(&self) -> Vec<Value> {
        self.text().lines().map(|l| serde_json::from_str(l).expect("every log line is JSON")).collect()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

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
pub fn http(addr: &str, method: &str, path: &str, content_type: Option<&str>, extra: &[(&str, &str)], body: &[u8]) -> HttpReply {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connects");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n", body.len());
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
