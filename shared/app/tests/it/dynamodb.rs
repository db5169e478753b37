//! The DynamoDB store against the local emulator: registry and kill switch, the key layout's
//! guards and TTLs (idempotency keys too), re-seeding, and what requests answer when the store
//! goes away.

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::aws::{dynamodb_client, SdkTimeouts};
use app::deps::Deps;
use app::error::RouteResult;
use app::pipeline::handle;
use app::pipeline::Context;
use app::registry;
use app::registry::RegistryCache;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::credentials::token_hash;
use domain::fixture;
use domain::model::{Actor, ActorKind, Address};
use domain::routes::RouteId;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use lambda_http::http::Method;
use serde_json::json;
use store::dynamodb::{keys, DynamoStore};
use store::seam::{CreateError, EntityDraft, RecordKind, Store};
use store::seed::SeedMode;
use test_support::{emulator, fresh_dynamodb_table, request, EntityIds, Reply, TestApp, NOW};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

fn read_token(ctx: Context<'_>) -> BoxFuture<'_, RouteResult> {
    async move { Ok(json!({"caller": ctx.caller.actor_id()})) }.boxed()
}

fn create_request() -> lambda_http::Request {
    request(Method::POST, "/api/v1/entities/create", Some("application/json"), r#"{"token":"demo-employee-token"}"#)
}

async fn call(deps: &Deps) -> Reply {
    Reply::from_response(handle(deps, RouteId::EntitiesCreate, read_token, create_request()).await)
}

async fn raw_item(store: &DynamoStore, key: keys::Key) -> Option<keys::Key> {
    store.client().get_item().table_name(store.table()).set_key(Some(key)).send().await.unwrap().item
}

#[tokio::test]
async fn registry_sync_kill_switch_and_force() {
    let store = Arc::new(fresh_dynamodb_table().await);
    let deps =
        Deps { registry: RegistryCache::new(Duration::ZERO), ..Deps::new(store.clone(), &test_support::settings()) };
    assert_eq!(call(&deps).await.status(), "route-not-found", "an empty table has no route records");
    assert_eq!(registry::sync(store.as_ref(), false).await.unwrap(), crate::pipeline::registry_records());
    assert_eq!(registry::sync(store.as_ref(), false).await.unwrap(), 0, "sync never rewrites");
    assert_eq!(call(&deps).await.status(), "invalid-token", "routed, then no such session");

    registry::set_deployed(store.as_ref(), RecordKind::Route, "entities.create", false).await.unwrap();
    assert_eq!(call(&deps).await.status(), "route-not-found");
    registry::sync(store.as_ref(), false).await.unwrap();
    assert_eq!(call(&deps).await.status(), "route-not-found", "a disabled route stays disabled across sync");
    registry::set_deployed(store.as_ref(), RecordKind::Service, "entities", false).await.unwrap();
    registry::set_deployed(store.as_ref(), RecordKind::Route, "entities.create", true).await.unwrap();
    assert_eq!(call(&deps).await.status(), "service-not-found");
    assert_eq!(registry::sync(store.as_ref(), true).await.unwrap(), crate::pipeline::registry_records());
    assert_eq!(call(&deps).await.status(), "invalid-token");
}

#[tokio::test]
async fn sessions_carry_a_ttl_thirty_days_past_expiry_and_touch_moves_it() {
    let app = TestApp::dynamodb().await;
    let store = dynamo(&app);
    let item = raw_item(store, keys::token(&token_hash("demo-client-token"))).await.unwrap();
    // Created NOW-1h, last used NOW-5m: expires at the idle limit, NOW-5m+72h.
    let expiry = NOW - time::Duration::minutes(5) + time::Duration::hours(72);
    let ttl = (expiry + time::Duration::days(30)).unix_timestamp().to_string();
    assert_eq!(item[keys::TTL_ATTRIBUTE], AttributeValue::N(ttl));
    let remember = raw_item(store, keys::token(&token_hash("demo-remember-token"))).await.unwrap();
    assert!(!remember.contains_key(keys::TTL_ATTRIBUTE), "a remember_me session never expires");

    app.clock.advance(time::Duration::minutes(10));
    assert_eq!(call(&app.deps).await.status(), "action-successful");
    let touched = raw_item(store, keys::token(&token_hash("demo-employee-token"))).await.unwrap();
    assert_eq!(touched["last_used_at"], AttributeValue::S("2026-11-23T12:10:00Z".into()));
    let new_ttl =
        (NOW + time::Duration::minutes(10) + time::Duration::hours(72) + time::Duration::days(30)).unix_timestamp();
    assert_eq!(touched[keys::TTL_ATTRIBUTE], AttributeValue::N(new_ttl.to_string()));
}

/// An idempotency key's item carries the TTL of the instant it stops counting: its claim's
/// expiry while in progress, 24 hours after the request once it holds the answer.
#[tokio::test]
async fn idempotency_key_items_carry_a_ttl_at_their_expiry() {
    use store::idempotency::{Claim, KeyClaim, KeyScope, StoredAnswer};
    let app = TestApp::dynamodb().await;
    let store = dynamo(&app);
    let caller =
        domain::credentials::Caller::Application(match store.token(&token_hash("demo-app-token")).await.unwrap() {
            Some(store::seam::TokenOwner::Application(a)) => a,
            other => panic!("{other:?}"),
        });
    let scope = KeyScope::new(RouteId::EntitiesCreate, &caller, "ttl#key with # in it");
    let claim = KeyClaim { id: "c1".into(), at: NOW, expires_at: NOW + time::Duration::seconds(10) };
    assert_eq!(store.claim_key(&scope, &claim).await.unwrap(), Claim::Ours);
    let ttl_of = |item: keys::Key| item[keys::TTL_ATTRIBUTE].clone();
    let epoch = |t: time::OffsetDateTime| AttributeValue::N(t.unix_timestamp().to_string());
    assert_eq!(ttl_of(raw_item(store, keys::request_key(&scope)).await.unwrap()), epoch(claim.expires_at));
    let kept_until = NOW + time::Duration::hours(24);
    let answer = StoredAnswer {
        fingerprint: "f".into(),
        status: "action-successful".into(),
        http_code: 200,
        body: "{}".into(),
        expires_at: kept_until,
        outbox: None,
    };
    assert!(!store.complete_key(&scope, "not-ours", &answer).await.unwrap(), "only the claim completes");
    assert!(store.complete_key(&scope, "c1", &answer).await.unwrap());
    assert_eq!(ttl_of(raw_item(store, keys::request_key(&scope)).await.unwrap()), epoch(kept_until));
    let later = KeyClaim { id: "c2".into(), at: kept_until - time::Duration::seconds(1), expires_at: kept_until };
    assert_eq!(
        store.claim_key(&scope, &later).await.unwrap(),
        Claim::Held(store::idempotency::KeyRecord::Completed(answer))
    );
}

fn dynamo(app: &TestApp) -> &DynamoStore {
    app.dynamo.as_deref().expect("a DynamoDB test app")
}

fn draft(slug: &str, email: &str, integration_id: u64) -> EntityDraft {
    EntityDraft {
        integration_id,
        entity_slug: slug.into(),
        email: email.into(),
        name: "N".into(),
        address: Address::default(),
        operational_transaction_emails: vec![],
        order_completion_emails: vec![],
        active: true,
        created_by: Actor { kind: ActorKind::User, id: 11 },
        now: NOW,
    }
}

#[tokio::test]
async fn a_refused_create_leaves_no_guard_and_ids_never_repeat() {
    let store = fresh_dynamodb_table().await;
    let fx = fixture::parse(&test_support::demo_fixture_text(), NOW).unwrap();
    store.load_fixture(&fx, SeedMode::KeepExisting).await.unwrap();
    let first = store.create_entity_from(&draft("one", "one@x.io", 7), None, None).await.unwrap();
    assert_eq!(first.id, 7, "ids continue after the fixture's largest");
    assert!(matches!(
        store.create_entity_from(&draft("one", "fresh@x.io", 7), None, None).await,
        Err(CreateError::Taken { slug_taken: true, email_taken: false })
    ));
    assert!(raw_item(&store, keys::entity_email("fresh@x.io")).await.is_none(), "no guard without its record");
    assert!(matches!(
        store.create_entity_from(&draft("two", "two@x.io", 99), None, None).await,
        Err(CreateError::IntegrationNotFound)
    ));
    assert!(raw_item(&store, keys::entity_slug("two")).await.is_none());
    let second = store.create_entity_from(&draft("two", "two@x.io", 8), None, None).await.unwrap();
    assert!(second.id > first.id, "a refused create may leave a gap, never a repeat");
    let guard = raw_item(&store, keys::entity_slug("two")).await.unwrap();
    assert_eq!(guard[keys::OWNER], AttributeValue::N(second.id.to_string()));
}

#[tokio::test]
async fn seeding_again_is_harmless_and_keeps_counters_and_kill_switches() {
    let store = fresh_dynamodb_table().await;
    let fx = fixture::parse(&test_support::demo_fixture_text(), NOW).unwrap();
    store.load_fixture(&fx, SeedMode::KeepExisting).await.unwrap();
    registry::sync(&store, false).await.unwrap();
    let created = store.create_entity_from(&draft("after-seed", "after@x.io", 7), None, None).await.unwrap();
    registry::set_deployed(&store, RecordKind::Route, "clients.update", false).await.unwrap();

    store.load_fixture(&fx, SeedMode::KeepExisting).await.unwrap();
    registry::sync(&store, false).await.unwrap();
    let next = store.create_entity_from(&draft("after-reseed", "again@x.io", 7), None, None).await.unwrap();
    assert!(next.id > created.id, "the counter never goes back");
    let snapshot = store.registry().await.unwrap();
    assert!(snapshot.routes.iter().any(|r| r.name == "clients.update" && !r.deployed));
    assert!(matches!(
        store.create_entity_from(&draft("acme-realty", "z@x.io", 7), None, None).await,
        Err(CreateError::Taken { slug_taken: true, .. })
    ));

    // Seeding leaves existing records as they are; `--overwrite` replaces them and moves their
    // guards: the old email is free again.
    let moved = fixture::parse(&test_support::demo_fixture_text().replace("ada@example.com", "ada@moved.example"), NOW);
    store.load_fixture(moved.as_ref().unwrap(), SeedMode::KeepExisting).await.unwrap();
    assert!(raw_item(&store, keys::client_email("ada@example.com")).await.is_some(), "left as it was");
    store.load_fixture(&moved.unwrap(), SeedMode::Overwrite).await.unwrap();
    assert!(raw_item(&store, keys::client_email("ada@example.com")).await.is_none());
    assert!(raw_item(&store, keys::client_email("ADA@moved.example")).await.is_some());
}

/// A TCP forwarder to the emulator that can be cut, to stop the store under a running app.
struct Proxy {
    url: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    /// How many `TransactWriteItems` requests it cut off (`DropTransactions`).
    dropped: Arc<AtomicUsize>,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Forward,
    /// Accepts connections and never answers.
    BlackHole,
    /// Forwards everything but a `TransactWriteItems` request, whose connection it closes
    /// before the request reaches the store.
    DropTransactions,
}

impl Proxy {
    async fn start(mode: Mode) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = emulator::endpoint().trim_start_matches("http://").to_string();
        let tasks = Arc::new(Mutex::new(Vec::new()));
        let dropped = Arc::new(AtomicUsize::new(0));
        let (conns, counter) = (tasks.clone(), dropped.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else { return };
                let (upstream, counter) = (upstream.clone(), counter.clone());
                let conn = tokio::spawn(async move {
                    match mode {
                        Mode::BlackHole => {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            drop(inbound);
                        }
                        Mode::Forward => {
                            let mut inbound = inbound;
                            if let Ok(mut out) = TcpStream::connect(&upstream).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                            }
                        }
                        Mode::DropTransactions => forward_all_but_transactions(inbound, &upstream, &counter).await,
                    }
                });
                conns.lock().unwrap().push(conn);
            }
        });
        tasks.lock().unwrap().push(accept);
        Proxy { url, tasks, dropped }
    }

    /// Closes the listener and every open connection: the store is gone.
    fn stop(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

async fn forward_all_but_transactions(inbound: TcpStream, upstream: &str, dropped: &AtomicUsize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(out) = TcpStream::connect(upstream).await else { return };
    let (mut in_read, mut in_write) = inbound.into_split();
    let (mut out_read, mut out_write) = out.into_split();
    let back = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut out_read, &mut in_write).await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    // The SDK writes a request's head in one piece; its target names the operation.
    while let Ok(n @ 1..) = in_read.read(&mut buf).await {
        if String::from_utf8_lossy(&buf[..n]).contains("DynamoDB_20120810.TransactWriteItems") {
            dropped.fetch_add(1, SeqCst);
            break;
        }
        if out_write.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    back.abort();
}

/// The demo app on a fresh table, reached through `proxy`.
async fn app_behind(proxy: &Proxy) -> TestApp {
    // The fixture is written straight to the table; only the app's own calls cross the proxy.
    let real = Arc::new(fresh_dynamodb_table().await);
    let mut app = TestApp::on(real.clone()).await;
    // DynamoDB's own limits: these tests are about how fast a dead store is given up on.
    let client = dynamodb_client(&test_support::settings(), Some(&proxy.url), SdkTimeouts::PRODUCTION).await;
    let store = Arc::new(DynamoStore::new(client, real.table()));
    app.deps.store = store.clone();
    app.dynamo = Some(store);
    app
}

#[tokio::test]
async fn a_stopped_store_answers_identify_request_error_or_application_crash_in_time() {
    let proxy = Proxy::start(Mode::Forward).await;
    let mut app = app_behind(&proxy).await;
    app.deps.registry = RegistryCache::new(Duration::from_secs(300));
    assert_eq!(call(&app.deps).await.status(), "action-successful");

    proxy.stop();
    // The registry is cached, so the route is identified; reading the session fails.
    let started = Instant::now();
    let r = call(&app.deps).await;
    assert_eq!((r.status(), r.code), ("application-crash", 500));
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(!r.body.to_string().contains("127.0.0.1") && !r.body.to_string().contains(dynamo(&app).table()));

    app.deps.registry = RegistryCache::new(Duration::ZERO);
    let started = Instant::now();
    let r = call(&app.deps).await;
    assert_eq!((r.status(), r.code), ("identify-request-error", 500));
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_store_that_never_answers_is_answered_before_any_lambda_timeout() {
    let table = fresh_dynamodb_table().await;
    let hole = Proxy::start(Mode::BlackHole).await;
    let client = dynamodb_client(&test_support::settings(), Some(&hole.url), SdkTimeouts::PRODUCTION).await;
    let deps = Deps::new(Arc::new(DynamoStore::new(client, table.table())), &test_support::settings());
    let started = Instant::now();
    let r = call(&deps).await;
    assert_eq!((r.status(), r.code), ("identify-request-error", 500));
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    hole.stop();
}

#[tokio::test]
async fn a_create_cut_off_on_its_way_to_the_store_leaves_nothing_behind() {
    let proxy = Proxy::start(Mode::DropTransactions).await;
    let app = app_behind(&proxy).await;
    let started = Instant::now();
    let r = Reply::from_response(entities_create_like(&app.deps, cut_off_create()).await);
    assert_eq!((r.status(), r.code), ("application-crash", 500));
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(proxy.dropped.load(SeqCst) >= 1, "the create's transaction was cut off, not refused before it");
    assert_nothing_created(&app).await;
}

/// No guard and no entity beyond the fixture's, read straight from DynamoDB Local.
async fn assert_nothing_created(app: &TestApp) {
    let table = dynamo(app);
    let direct = DynamoStore::new(
        dynamodb_client(&test_support::settings(), Some(emulator::endpoint()), SdkTimeouts::LOCAL_EMULATOR).await,
        table.table(),
    );
    assert!(raw_item(&direct, keys::entity_slug("cut-off")).await.is_none(), "no guard without its record");
    assert!(raw_item(&direct, keys::entity_email("cut@off.example")).await.is_none());
    assert_eq!(direct.entity_ids().await, [5, 6], "no entity beyond the fixture's");
}

/// An HTTP proxy in front of DynamoDB Local that answers the first `conflicts`
/// `TransactWriteItems` as DynamoDB answers overlapping transactions: HTTP 400,
/// `TransactionCanceledException` with a `TransactionConflict` reason on the first item. Every
/// other request, and every transaction after those, goes through unchanged. A `before_first`
/// write runs just before the first transaction is forwarded: another writer's change.
struct ConflictProxy {
    url: String,
    transactions: Arc<AtomicUsize>,
    server: JoinHandle<()>,
}

impl ConflictProxy {
    async fn start(conflicts: usize) -> ConflictProxy {
        ConflictProxy::with_write_before(conflicts, None).await
    }

    async fn with_write_before(conflicts: usize, before_first: Option<BoxFuture<'static, ()>>) -> ConflictProxy {
        use http_body_util::{BodyExt, Full};
        use hyper::body::Bytes;
        use hyper_util::client::legacy::Client;

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream: hyper::Uri = emulator::endpoint().parse().unwrap();
        let transactions = Arc::new(AtomicUsize::new(0));
        let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Full<Bytes>>();
        let seen = transactions.clone();
        let before_first = Arc::new(tokio::sync::Mutex::new(before_first));
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (client, upstream, seen, before) =
                    (client.clone(), upstream.clone(), seen.clone(), before_first.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (client, upstream, seen, before) =
                            (client.clone(), upstream.clone(), seen.clone(), before.clone());
                        async move {
                            let (mut parts, body) = req.into_parts();
                            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
                            if target.ends_with(".TransactWriteItems") {
                                if seen.fetch_add(1, SeqCst) < conflicts {
                                    return Ok::<_, hyper_util::client::legacy::Error>(conflict_answer(&body));
                                }
                                if let Some(write) = before.lock().await.take() {
                                    write.await;
                                }
                            }
                            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
                            parts.uri =
                                format!("{}{}", upstream.to_string().trim_end_matches('/'), path).parse().unwrap();
                            let answer = client.request(hyper::Request::from_parts(parts, Full::new(body))).await?;
                            let (parts, body) = answer.into_parts();
                            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            Ok(hyper::Response::from_parts(parts, Full::new(body)))
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        ConflictProxy { url, transactions, server }
    }
}

impl Drop for ConflictProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// DynamoDB's answer to a transaction that overlapped another: one reason per item.
fn conflict_answer(request: &[u8]) -> hyper::Response<http_body_util::Full<hyper::body::Bytes>> {
    let request: serde_json::Value = serde_json::from_slice(request).unwrap_or_default();
    let items = request["TransactItems"].as_array().map_or(1, Vec::len);
    let mut reasons = vec![json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"})];
    reasons.extend((1..items).map(|_| json!({"Code": "None"})));
    let body = json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
        "CancellationReasons": reasons,
    });
    hyper::Response::builder()
        .status(400)
        .header("content-type", "application/x-amz-json-1.0")
        .body(http_body_util::Full::new(hyper::body::Bytes::from(body.to_string())))
        .unwrap()
}

/// `app`'s table reached through `proxy`, with DynamoDB's own time limits.
async fn deps_behind(app: &TestApp, proxy_url: &str) -> Deps {
    let client = dynamodb_client(&test_support::settings(), Some(proxy_url), SdkTimeouts::PRODUCTION).await;
    let store = Arc::new(DynamoStore::new(client, dynamo(app).table()));
    Deps {
        store,
        clock: app.clock.clone(),
        notifier: app.notifier.clone(),
        registry: RegistryCache::new(Duration::ZERO),
        outbox_sweep: Default::default(),
        served: Default::default(),
    }
}

fn cut_off_create() -> lambda_http::Request {
    let body = json!({"token": "demo-employee-token", "integration_id": 7, "entity_slug": "cut-off", "email": "cut@off.example",
                      "name": "Cut", "active": true,
                      "address": {"street": "s", "city": "c", "state": "CO", "country": "US", "postal_code": "1"}});
    request(Method::POST, "/api/v1/entities/create", Some("application/json"), body.to_string())
}

#[tokio::test]
async fn transaction_conflicts_are_retried_until_the_write_goes_through() {
    let app = TestApp::dynamodb().await;
    let conflicts = ConflictProxy::start(3).await;
    let deps = deps_behind(&app, &conflicts.url).await;
    let r = Reply::from_response(entities_create_like(&deps, cut_off_create()).await);
    assert_eq!(r.status(), "action-successful", "{}", r.body);
    assert_eq!(conflicts.transactions.load(SeqCst), 4, "three conflicts retried, the fourth attempt written");
    let id = r.body["data"]["id"].as_u64().unwrap();
    assert_eq!(dynamo(&app).entity_ids().await, [5, 6, id], "written once");
}

#[tokio::test]
async fn conflicts_past_the_retry_budget_answer_application_crash_and_write_nothing() {
    let app = TestApp::dynamodb().await;
    let conflicts = ConflictProxy::start(usize::MAX).await;
    let deps = deps_behind(&app, &conflicts.url).await;
    let started = Instant::now();
    let r = Reply::from_response(entities_create_like(&deps, cut_off_create()).await);
    assert_eq!((r.status(), r.code), ("application-crash", 500), "{}", r.body);
    assert!(started.elapsed() < Duration::from_secs(8), "within the request's deadline: {:?}", started.elapsed());
    assert!(conflicts.transactions.load(SeqCst) > 3, "it retried before giving up");
    assert_nothing_created(&app).await;
}

/// The create transaction as the route makes it, without depending on the function crate.
async fn entities_create_like(deps: &Deps, req: lambda_http::Request) -> lambda_http::Response<lambda_http::Body> {
    fn create(ctx: Context<'_>) -> BoxFuture<'_, RouteResult> {
        async move {
            let now = ctx.now;
            let draft = EntityDraft { now, ..draft("cut-off", "cut@off.example", 7) };
            let e = ctx.deps.store.create_entity_from(&draft, None, None).await?;
            Ok(json!({"id": e.id}))
        }
        .boxed()
    }
    handle(deps, RouteId::EntitiesCreate, create, req).await
}

/// A client update moves the email; another writer sets `bio` between the store's read of the
/// client and its transaction (counting the revision up, as every client write does). The
/// transaction, conditioned on the revision read, is refused and made again from a new read:
/// `data` is the record as stored, both changes show.
#[tokio::test]
async fn data_after_a_transactional_update_is_the_stored_record() {
    let app = TestApp::dynamodb().await;
    let other = dynamo(&app).clone();
    let concurrent: BoxFuture<'static, ()> = async move {
        let key = keys::client(100);
        let set = other.client().update_item().table_name(other.table()).set_key(Some(key));
        let set = set
            .update_expression("SET bio = :b, revision = if_not_exists(revision, :zero) + :one")
            .expression_attribute_values(":b", AttributeValue::S("by another".into()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        set.send().await.expect("the other writer's update");
    }
    .boxed();
    let proxy = ConflictProxy::with_write_before(0, Some(concurrent)).await;
    let deps = deps_behind(&app, &proxy.url).await;
    let body = json!({"token": "demo-employee-token", "id": 100, "email": "ada@moved.example", "view": "client_read"});
    let req = request(Method::PUT, "/api/v1/clients/update", Some("application/json"), test_support::base64(&body));
    let r = Reply::from_response(handle(&deps, RouteId::ClientsUpdate, update_email_like, req).await);
    assert_eq!(r.status(), "action-successful", "{}", r.body);
    assert_eq!(r.body["data"]["email"], "ada@moved.example");
    assert_eq!(r.body["data"]["bio"], "by another", "the other writer's change is not hidden: {}", r.body);
}

/// A client's old email guard that another client holds (a hand-loaded table) is left alone
/// when the client moves to a new email; the new guard is the client's.
#[tokio::test]
async fn an_email_move_releases_the_old_guard_only_if_it_is_the_clients_own() {
    let app = TestApp::dynamodb().await;
    let store = dynamo(&app);
    store
        .client()
        .put_item()
        .table_name(store.table())
        .set_item(Some(keys::guard(keys::client_email("ada@example.com"), 101)))
        .send()
        .await
        .unwrap();
    let body = json!({"token": "demo-employee-token", "id": 100, "email": "ada@moved.example"});
    let req = request(Method::PUT, "/api/v1/clients/update", Some("application/json"), test_support::base64(&body));
    let r = Reply::from_response(handle(&app.deps, RouteId::ClientsUpdate, update_email_like, req).await);
    assert_eq!(r.status(), "action-successful", "{}", r.body);
    let old = raw_item(store, keys::client_email("ada@example.com")).await.expect("the other client's guard is kept");
    assert_eq!(old[keys::OWNER], AttributeValue::N("101".into()));
    let new = raw_item(store, keys::client_email("ada@moved.example")).await.expect("the new guard");
    assert_eq!(new[keys::OWNER], AttributeValue::N("100".into()));
}

/// An email move of client 100 as the route makes it, without depending on the function crate.
fn update_email_like(ctx: Context<'_>) -> BoxFuture<'_, RouteResult> {
    async move {
        let email = ctx.body["email"].as_str().map(str::to_string);
        let patch =
            store::seam::ClientPatch { client_id: 100, email, fields: Vec::new(), password: None, now: ctx.now };
        let updated = ctx.deps.store.update_client_from(&patch, &store::seam::ClientScope::ANY, None, None).await?;
        Ok(domain::views::client_view(&updated.client, domain::views::ClientView::ClientRead, true, None))
    }
    .boxed()
}
