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
        TestApp { deps, clock, notifier }
    }

    pub async fn memory() -> TestApp {
        TestApp::on(Arc::new(MemoryStore::new())).await
    }
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
        async fn session(&self, h: &str) -> StoreResult<Option<Session>> {
            self.data()?;
            self.inner.session(h).await
        }
        async fn touch_session(&self, h: &str, now: OffsetDateTime) -> StoreResult<()> {
            self.data()?;
            self.inner.touch_session(h, now).await
        }
        async fn application(&self, h: &str) -> StoreResult<Option<Application>> {
            self.data()?;
            self.inner.application(h).await
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
        async fn update_client(&self, p: &ClientPatch) -> Result<Client, PatchError> {
            self.data()?;
            self.inner.update_client(p).await
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
/// `memory::<name>` (and, with the DynamoDB store, `dynamodb::<name>`): one suite, every store.
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
    };
}
