//! Stages 1–10 and 10a of docs/api.md#stages, through the shared pipeline with a stand-in route
//! handler.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use app::error::{RouteError, RouteResult};
use app::pipeline::handle;
use app::pipeline::Context;
use app::registry;
use app::registry::RegistryCache;
use domain::credentials::token_hash;
use domain::routes::RouteId;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use lambda_http::http::Method;
use lambda_http::{Body, Request};
use serde_json::{json, Value};
use store::seam::RecordKind;
use test_support::{base64, request, FaultyStore, Reply, TestApp, NOW};
use time::Duration;

/// Answers success with the caller's id: everything after authentication is the route's.
fn echo(ctx: Context<'_>) -> BoxFuture<'_, RouteResult> {
    async move { Ok(json!({"caller": ctx.caller.actor_id()})) }.boxed()
}

/// Reads a client; lets the fault injection reach a handler.
fn read_client(ctx: Context<'_>) -> BoxFuture<'_, RouteResult> {
    async move {
        let c = ctx.deps.store.client(100).await?;
        Ok(json!({"found": c.is_some()}))
    }
    .boxed()
}

/// A bug in a route's own code: panics when polled.
fn panics(_ctx: Context<'_>) -> BoxFuture<'_, RouteResult> {
    futures_util::future::lazy(|_| -> RouteResult { panic!("a bug in the route") }).boxed()
}

fn create_request(body: &Value) -> Request {
    request(Method::POST, "/api/v1/entities/create", Some("application/json"), body.to_string())
}

fn update_request(body: &Value) -> Request {
    request(Method::PUT, "/api/v1/clients/update", Some("application/json"), base64(body))
}

async fn call(app: &TestApp, req: Request) -> Reply {
    Reply::from_response(handle(&app.deps, RouteId::EntitiesCreate, echo, req).await)
}

async fn call_update(app: &TestApp, req: Request) -> Reply {
    Reply::from_response(handle(&app.deps, RouteId::ClientsUpdate, echo, req).await)
}

#[tokio::test]
async fn only_the_exact_method_and_path_reach_the_route() {
    let app = TestApp::memory().await;
    let body = json!({"token": "demo-employee-token"});
    for (method, path) in [
        (Method::GET, "/api/v1/entities/create"),
        (Method::POST, "/api/v1/entities/create/"),
        (Method::POST, "/api/v1/clients/update"),
    ] {
        let r = call(&app, request(method.clone(), path, Some("application/json"), body.to_string())).await;
        assert_eq!((r.status(), r.code), ("route-non-existent", 500), "{method} {path}");
    }
    let r =
        call(&app, request(Method::POST, "/api/v1/entities/create?x=1", Some("application/json"), body.to_string()))
            .await;
    assert_eq!(r.status(), "action-successful", "the query string is ignored");
}

#[tokio::test]
async fn every_response_has_the_envelope_and_headers() {
    let app = TestApp::memory().await;
    for req in [
        create_request(&json!({"token": "demo-employee-token"})),
        create_request(&json!({"token": "nope"})),
        request(Method::GET, "/x", None, Body::Empty),
    ] {
        let r = call(&app, req).await;
        let keys: Vec<&str> = r.body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(&keys[..5], ["status", "message", "data", "errors", "request_id"]);
        assert_eq!(r.headers["content-type"], "application/json; charset=utf-8");
        assert_eq!(r.headers["cache-control"], "no-store");
        assert_eq!(r.headers["x-content-type-options"], "nosniff");
        assert_eq!(r.headers["x-request-id"], r.body["request_id"].as_str().unwrap());
        assert!(uuid::Uuid::parse_str(r.body["request_id"].as_str().unwrap()).is_ok(), "local requests get a UUID");
    }
}

#[tokio::test]
async fn registry_records_gate_the_route_then_the_service() {
    let app = TestApp::memory().await;
    let body = json!({"token": "demo-employee-token"});
    registry::set_deployed(app.deps.store.as_ref(), RecordKind::Service, "entities", false).await.unwrap();
    assert_eq!(call(&app, create_request(&body)).await.status(), "service-not-found");
    registry::set_deployed(app.deps.store.as_ref(), RecordKind::Route, "entities.create", false).await.unwrap();
    assert_eq!(call(&app, create_request(&body)).await.status(), "route-not-found");
    // The other route and service are untouched.
    assert_eq!(
        call_update(&app, update_request(&json!({"token": "demo-employee-token"}))).await.status(),
        "action-successful"
    );
    registry::set_deployed(app.deps.store.as_ref(), RecordKind::Route, "entities.create", true).await.unwrap();
    registry::set_deployed(app.deps.store.as_ref(), RecordKind::Service, "entities", true).await.unwrap();
    assert_eq!(call(&app, create_request(&body)).await.status(), "action-successful");
}

#[tokio::test]
async fn sync_creates_missing_records_and_never_reenables_without_force() {
    let app = TestApp::memory().await;
    let store = app.deps.store.as_ref();
    registry::set_deployed(store, RecordKind::Route, "entities.create", false).await.unwrap();
    assert_eq!(registry::sync(store, false).await.unwrap(), 0);
    let body = json!({"token": "demo-employee-token"});
    assert_eq!(call(&app, create_request(&body)).await.status(), "route-not-found");
    assert_eq!(registry::sync(store, true).await.unwrap(), registry_records());
    assert_eq!(call(&app, create_request(&body)).await.status(), "action-successful");
}

#[tokio::test]
async fn a_route_without_records_is_not_found() {
    let deps = app::Deps::new(Arc::new(store::memory::MemoryStore::new()), &test_support::settings());
    let r = Reply::from_response(
        handle(&deps, RouteId::EntitiesCreate, echo, create_request(&json!({"token": "x"}))).await,
    );
    assert_eq!(r.status(), "route-not-found");
}

#[tokio::test]
async fn the_registry_is_cached_for_its_period() {
    let mut app = TestApp::memory().await;
    app.deps.registry = RegistryCache::new(std::time::Duration::from_secs(30));
    let body = json!({"token": "demo-employee-token"});
    assert_eq!(call(&app, create_request(&body)).await.status(), "action-successful");
    registry::set_deployed(app.deps.store.as_ref(), RecordKind::Route, "entities.create", false).await.unwrap();
    assert_eq!(call(&app, create_request(&body)).await.status(), "action-successful", "still cached");
    app.deps.registry = RegistryCache::new(std::time::Duration::ZERO);
    assert_eq!(call(&app, create_request(&body)).await.status(), "route-not-found");
}

#[tokio::test]
async fn store_faults_answer_identify_request_error_or_application_crash() {
    let store = Arc::new(FaultyStore::default());
    let app = TestApp::on(store.clone()).await;
    let body = json!({"token": "demo-employee-token"});
    store.registry_down.store(true, SeqCst);
    let r = call(&app, create_request(&body)).await;
    assert_eq!((r.status(), r.code), ("identify-request-error", 500));
    store.registry_down.store(false, SeqCst);
    store.data_down.store(true, SeqCst);
    let r = call(&app, create_request(&body)).await;
    assert_eq!((r.status(), r.code), ("application-crash", 500));
    assert!(!r.body.to_string().contains("injected"), "internal details never reach the response");
    store.data_down.store(false, SeqCst);
    assert_eq!(call(&app, create_request(&body)).await.status(), "action-successful");
}

#[tokio::test]
async fn a_panic_in_a_handler_is_application_crash_and_serving_goes_on() {
    let store = Arc::new(FaultyStore::default());
    let app = TestApp::on(store.clone()).await;
    let body = json!({"token": "demo-employee-token"});
    store.panic_on_client_read.store(true, SeqCst);
    let r = Reply::from_response(handle(&app.deps, RouteId::EntitiesCreate, read_client, create_request(&body)).await);
    assert_eq!((r.status(), r.code), ("application-crash", 500));
    store.panic_on_client_read.store(false, SeqCst);
    let r = Reply::from_response(handle(&app.deps, RouteId::EntitiesCreate, read_client, create_request(&body)).await);
    assert_eq!(r.status(), "action-successful");
    assert_eq!(r.body["data"]["found"], true);
}

#[tokio::test]
async fn a_panicking_route_is_application_crash_and_the_next_request_is_served() {
    let app = TestApp::memory().await;
    let body = json!({"token": "demo-employee-token"});
    let r = Reply::from_response(handle(&app.deps, RouteId::EntitiesCreate, panics, create_request(&body)).await);
    assert_eq!((r.status(), r.code), ("application-crash", 500));
    assert_eq!(r.headers["x-request-id"], r.body["request_id"].as_str().expect("an envelope with its request id"));
    assert!(!r.body.to_string().contains("a bug in the route"), "the panic's message never reaches the response");
    assert_eq!(call(&app, create_request(&body)).await.status(), "action-successful");
}

#[tokio::test]
async fn content_type_is_checked_before_the_body() {
    let app = TestApp::memory().await;
    for ct in [
        None,
        Some("text/plain"),
        Some("application/json; charset=iso-8859-1"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let r = call(&app, request(Method::POST, "/api/v1/entities/create", ct, "not even json")).await;
        assert_eq!((r.status(), r.code), ("invalid-content-type", 400), "{ct:?}");
    }
    let r = call(
        &app,
        request(
            Method::POST,
            "/api/v1/entities/create",
            Some("APPLICATION/JSON; Charset=UTF-8"),
            r#"{"token":"demo-employee-token"}"#,
        ),
    )
    .await;
    assert_eq!(r.status(), "action-successful");
}

#[tokio::test]
async fn bodies_over_256_kib_are_invalid_param_body() {
    let app = TestApp::memory().await;
    let limit = domain::request::MAX_BODY_BYTES;
    let exact = format!(r#"{{"token":"demo-employee-token","pad":"{}"}}"#, "x".repeat(limit - 40));
    let exact = format!("{exact}{}", " ".repeat(limit - exact.len()));
    assert_eq!(exact.len(), limit);
    assert_eq!(call(&app, create_request_raw(&exact)).await.status(), "action-successful");
    let over = format!("{exact} ");
    let r = call(&app, create_request_raw(&over)).await;
    assert_eq!((r.status(), r.error_params()), ("invalid-param", vec!["body".to_string()]));
}

fn create_request_raw(body: &str) -> Request {
    request(Method::POST, "/api/v1/entities/create", Some("application/json"), body.to_string())
}

#[tokio::test]
async fn decoding_failures() {
    let app = TestApp::memory().await;
    for (body, status) in [
        ("", "no-params-decoded"),
        ("{}", "no-params-decoded"),
        ("[{\"token\":\"x\"}]", "no-params-decoded"),
        ("42", "no-params-decoded"),
        ("{\"token\":", "invalid-encoded-params"),
        ("{\"token\":\"a\",\"token\":\"b\"}", "invalid-encoded-params"),
    ] {
        assert_eq!(call(&app, create_request_raw(body)).await.status(), status, "{body:?}");
    }
    let binary = request(
        Method::POST,
        "/api/v1/entities/create",
        Some("application/json"),
        Body::Binary(vec![0xff, 0x00, 0xc3]),
    );
    assert_eq!(call(&app, binary).await.status(), "invalid-encoded-params");
    // Sensitive route: a plain JSON object is refused, base64 of it is accepted.
    let plain =
        request(Method::PUT, "/api/v1/clients/update", Some("application/json"), r#"{"token":"demo-employee-token"}"#);
    assert_eq!(call_update(&app, plain).await.status(), "invalid-encoded-params");
    assert_eq!(
        call_update(&app, update_request(&json!({"token": "demo-employee-token"}))).await.status(),
        "action-successful"
    );
}

#[tokio::test]
async fn token_must_be_present_and_a_string() {
    let app = TestApp::memory().await;
    for (body, status) in [
        (json!({"id": 1}), "missing-param"),
        (json!({"token": null}), "missing-param"),
        (json!({"token": ""}), "missing-param"),
        (json!({"token": 12}), "invalid-param"),
        (json!({"token": ["demo-employee-token"]}), "invalid-param"),
    ] {
        let r = call(&app, create_request(&body)).await;
        assert_eq!((r.status(), r.error_params()), (status, vec!["token".to_string()]), "{body}");
        assert_eq!(
            r.body["message"],
            if status == "missing-param" { "The param 'token' is missing." } else { "The param 'token' is invalid." }
        );
    }
}

#[tokio::test]
async fn unknown_inactive_and_expired_tokens() {
    let app = TestApp::memory().await;
    for (token, status) in [
        ("no-such-token", "invalid-token"),
        ("demo-app-inactive-token", "invalid-token"),
        ("demo-expired-token", "session-expired"),
        ("demo-idle-token", "session-expired"),
        ("demo-remember-token", "action-successful"),
        ("demo-app-token", "action-successful"),
    ] {
        let r = call(&app, create_request(&json!({"token": token}))).await;
        assert_eq!(r.status(), status, "{token}");
        assert!(!r.body.to_string().contains(token) || status == "action-successful", "the token is never echoed");
        if status != "action-successful" {
            assert_eq!(r.code, 401);
            assert!(r.body.get("session").is_none() && r.body.get("application").is_none());
        }
    }
}

#[tokio::test]
async fn session_expiry_boundaries_through_the_pipeline() {
    let body = json!({"token": "demo-client-phone-token"}); // created NOW-2d, last used NOW-1d
    let idle_limit = NOW - Duration::days(1) + Duration::hours(72);
    let app = TestApp::memory().await;
    app.clock.set(idle_limit + Duration::seconds(1));
    assert_eq!(call(&app, create_request(&body)).await.status(), "session-expired");

    let app = TestApp::memory().await;
    app.clock.set(idle_limit);
    assert_eq!(call(&app, create_request(&body)).await.status(), "action-successful");
    // That request moved last_used_at, so only the 7-day rule can end the session now.
    let age_limit = NOW - Duration::days(2) + Duration::days(7);
    app.clock.set(age_limit);
    assert_eq!(call(&app, create_request(&body)).await.status(), "action-successful");
    app.clock.advance(Duration::seconds(1));
    assert_eq!(call(&app, create_request(&body)).await.status(), "session-expired");
}

#[tokio::test]
async fn client_required_carries_the_session() {
    let app = TestApp::memory().await;
    let r = call(&app, create_request(&json!({"token": "demo-norole-token", "session_view": "bogus"}))).await;
    assert_eq!((r.status(), r.code), ("client-required", 401));
    let s = &r.body["session"];
    assert_eq!(s["user_id"], 13);
    assert_eq!(s["roles"], json!({"client_id": null, "employee_id": null, "liaison_id": null}));
    assert!(s.get("token").is_none() && s.get("token_hash").is_none());
}

#[tokio::test]
async fn session_and_application_objects() {
    let app = TestApp::memory().await;
    let r = call(&app, create_request(&json!({"token": "demo-employee-token"}))).await;
    let mut keys: Vec<_> = r.body["session"].as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["created_at", "expires_at", "last_used_at", "remember_me", "roles", "user_id"]);
    assert_eq!(r.body["session"]["roles"]["employee_id"], 500);
    assert!(r.body.get("application").is_none());
    assert!(!r.body.to_string().contains(&token_hash("demo-employee-token")));

    let r = call(&app, create_request(&json!({"token": "demo-employee-token", "session_view": "nope"}))).await;
    assert!(r.body.get("session").is_none(), "an invalid session_view means no session object");

    let r = call(
        &app,
        create_request(&json!({"token": "demo-app-token", "application_view": "default", "session_view": "x"})),
    )
    .await;
    assert_eq!(
        r.body["application"],
        json!({"id": 1, "name": "PlanOx", "slug": "planox2", "permissions": ["clients.update", "entities.create"], "integration_ids": [7]})
    );
    assert!(r.body.get("session").is_none());

    let r = call(&app, create_request(&json!({"token": "demo-remember-token"}))).await;
    assert_eq!(r.body["session"]["expires_at"], Value::Null);
    assert_eq!(r.body["session"]["remember_me"], true);
}

#[tokio::test]
async fn last_used_at_moves_at_most_once_a_minute() {
    let app = TestApp::memory().await;
    let store = app.deps.store.as_ref();
    let hash = token_hash("demo-employee-token"); // last used 30 s before NOW
    let before = last_used(store, &hash).await;
    call(&app, create_request(&json!({"token": "demo-employee-token"}))).await;
    assert_eq!(last_used(store, &hash).await, before, "under a minute: no write");
    app.clock.advance(Duration::seconds(30));
    let r = call(&app, create_request(&json!({"token": "demo-employee-token"}))).await;
    let after = last_used(store, &hash).await;
    assert_eq!(after, NOW + Duration::seconds(30));
    assert_eq!(r.body["session"]["last_used_at"], "2026-11-23T12:00:30Z");
    assert_eq!(r.body["session"]["expires_at"], "2026-11-26T12:00:30Z");
}

async fn last_used(store: &dyn store::seam::Store, hash: &str) -> time::OffsetDateTime {
    match store.token(hash).await.unwrap() {
        Some(store::seam::TokenOwner::Session(s)) => s.last_used_at,
        other => panic!("not a session: {other:?}"),
    }
}

fn fails_in_the_store(_ctx: Context<'_>) -> BoxFuture<'_, RouteResult> {
    async move { Err(store::error::StoreError::Unavailable("the store went away".into()).into()) }.boxed()
}

fn email_fails(_ctx: Context<'_>) -> BoxFuture<'_, RouteResult> {
    async move {
        let source = app::notify::NotifyError("Mandrill rejected it".into());
        Err(RouteError::NotificationFailed { data: json!({"id": 1}), source })
    }
    .boxed()
}

/// Once the caller is known, every answer carries its `session` or `application` object: a
/// store failure, a failed email and a panic included (docs/api.md#envelope).
#[tokio::test]
async fn after_authentication_every_answer_carries_the_callers_object() {
    let app = TestApp::memory().await;
    let routes: [(app::pipeline::RouteFn, &str); 3] = [
        (fails_in_the_store, "application-crash"),
        (email_fails, "mandrill-email-failed"),
        (panics, "application-crash"),
    ];
    for (route, status) in routes {
        for (token, object, absent) in
            [("demo-employee-token", "session", "application"), ("demo-app-token", "application", "session")]
        {
            let req = create_request(&json!({"token": token}));
            let r = Reply::from_response(handle(&app.deps, RouteId::EntitiesCreate, route, req).await);
            assert_eq!(r.status(), status, "{token}: {}", r.body);
            assert!(r.body[object].is_object(), "{status} for {token} carries `{object}`: {}", r.body);
            assert!(r.body.get(absent).is_none(), "{status} for {token}: no `{absent}`: {}", r.body);
        }
    }
}

/// Never answers: a request that runs into the deadline.
fn hangs(_ctx: Context<'_>) -> BoxFuture<'_, RouteResult> {
    futures_util::future::pending().boxed()
}

fn keyed(mut req: Request, key: &str) -> Request {
    req.headers_mut().insert("idempotency-key", key.parse().unwrap());
    req
}

/// With an `Idempotency-Key` (stage 10a), a route that wrote is not run again: its answer is;
/// a route that crashed, panicked or ran out of time released the key, so the next request
/// with it runs. The handler's deadline keeps a reserve for that release (this test waits the
/// 7 s it takes).
#[tokio::test]
async fn a_keyed_request_runs_once_if_it_wrote_and_frees_its_key_if_it_crashed() {
    let app = TestApp::memory().await;
    let body = json!({"token": "demo-app-token"});
    let run = |route: app::pipeline::RouteFn, key: &str| {
        let req = keyed(create_request(&body), key);
        let deps = &app.deps;
        async move { Reply::from_response(handle(deps, RouteId::EntitiesCreate, route, req).await) }
    };
    let saved = run(email_fails, "saved").await;
    assert_eq!(saved.status(), "mandrill-email-failed");
    let again = run(echo, "saved").await;
    assert_eq!((again.status(), &again.body), ("mandrill-email-failed", &saved.body), "not run again");
    assert_eq!(again.headers["idempotent-replayed"], "true");

    for (route, key) in [(panics as app::pipeline::RouteFn, "panicked"), (fails_in_the_store, "crashed")] {
        let r = run(route, key).await;
        assert_eq!(r.status(), "application-crash");
        assert!(r.body["application"].is_object(), "{}", r.body);
        let next = run(echo, key).await;
        assert_eq!((next.status(), &next.body["data"]["caller"]), ("action-successful", &json!(1)), "{key}");
    }

    let started = std::time::Instant::now();
    let r = run(hangs, "timed-out").await;
    assert_eq!(r.status(), "application-crash");
    let took = started.elapsed();
    let handler_deadline = app::request_id::REQUEST_DEADLINE - app::idempotency::RECORD_RESERVE;
    assert!(took >= handler_deadline && took < app::request_id::REQUEST_DEADLINE, "{took:?}");
    assert_eq!(run(echo, "timed-out").await.status(), "action-successful", "the key was released in time");
}

/// A record per route of the catalogue and per service: what a sync of an empty registry writes.
pub(crate) fn registry_records() -> usize {
    RouteId::ALL.len() + domain::routes::services().len()
}
