//! The JSON log lines of every route and every status: one line per request with its id, route,
//! status, latency and caller, and never a token, a password, a password hash or a Mandrill key.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use app::registry;
use domain::credentials::token_hash;
use domain::envelope::Status;
use domain::model::{Actor, ActorKind};
use domain::routes::RouteId;
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use store::idempotency::{Claim, KeyClaim, KeyScope};
use store::seam::{RecordKind, TokenOwner};
use test_support::{
    base64, demo_fixture_text, request, FakeMandrill, FakeReply, FaultyStore, LogCapture, Reply, TestApp, NOW,
};

fn update_req(body: Value) -> Request {
    request(Method::PUT, "/api/v1/clients/update", Some("application/json"), base64(&body))
}

fn create_req(body: Value) -> Request {
    request(Method::POST, "/api/v1/entities/create", Some("application/json"), body.to_string())
}

async fn route(app: &TestApp, req: Request) -> Response<Body> {
    planocore::handle(&app.deps, req).await
}

const NEW_PASSWORD: &str = "fresh secret phrase";
const MANDRILL_KEY: &str = "md-live-key-0042";

fn entity(slug: &str) -> Value {
    entity_as("demo-app-token", slug)
}

fn entity_as(token: &str, slug: &str) -> Value {
    json!({"token": token, "integration_id": 7, "entity_slug": slug, "email": format!("{slug}@x.example"),
           "name": "N", "active": true, "address": {"street": "s", "city": "c", "state": "CO", "country": "US", "postal_code": "1"}})
}

#[tokio::test(flavor = "current_thread")]
async fn every_status_logs_one_line_without_secrets() {
    let captured = LogCapture::default();
    let _guard = captured.install();

    let faulty = Arc::new(FaultyStore::default());
    let mut app = TestApp::on(faulty.clone()).await;
    let fake = FakeMandrill::start(FakeReply::Recipients("sent")).await;
    app.deps.notifier = fake.notifier(MANDRILL_KEY);

    let mut seen = BTreeSet::new();
    let mut request_ids = Vec::new();
    let mut send = |reply: Reply| {
        seen.insert(reply.status().to_string());
        request_ids.push(reply.body["request_id"].as_str().unwrap().to_string());
    };
    let employee = "demo-employee-token";
    let cases: Vec<Request> = vec![
        // Before the password change below revokes user 10's other sessions.
        update_req(json!({"token": "demo-expired-token", "id": 100})),
        update_req(
            json!({"token": "demo-client-token", "id": 100, "password": NEW_PASSWORD, "current_password": "correct horse battery"}),
        ),
        update_req(json!({"token": employee, "id": 101, "email": "grace@moved.example"})),
        create_req(entity("logged")),
        update_req(json!({"token": "not-a-real-token-xyz", "id": 100})),
        create_req(json!({"token": "demo-norole-token"})),
        create_req(entity_as("demo-client-token", "denied")),
        update_req(json!({"token": employee})),
        update_req(json!({"token": employee, "id": 100, "password": "short"})),
        request(Method::POST, "/api/v1/entities/create", Some("text/plain"), "{}"),
        request(Method::POST, "/api/v1/entities/create", Some("application/json"), "[]"),
        request(
            Method::PUT,
            "/api/v1/clients/update",
            Some("application/json"),
            r#"{"token":"demo-app-token","password":"in the clear"}"#,
        ),
        request(Method::GET, "/api/v1/nowhere", None, Body::Empty),
    ];
    for req in cases {
        send(Reply::from_response(route(&app, req).await));
    }
    // A key claimed by a request still running is in progress; a kept one refuses other params.
    let keyed = |body: Value, key: &str| {
        let mut req = create_req(body);
        req.headers_mut().insert("idempotency-key", key.parse().unwrap());
        req
    };
    let application = Actor { kind: ActorKind::Application, id: 1 };
    let held = KeyScope { route: RouteId::EntitiesCreate, caller: application, key: "held".into() };
    let running = KeyClaim { id: "running".into(), at: NOW, expires_at: NOW + time::Duration::seconds(10) };
    assert_eq!(app.deps.store.claim_key(&held, &running).await.unwrap(), Claim::Ours);
    send(Reply::from_response(route(&app, keyed(entity("held"), "held")).await));
    send(Reply::from_response(route(&app, keyed(entity("kept"), "kept")).await));
    send(Reply::from_response(route(&app, keyed(entity("other"), "kept")).await));
    fake.set_reply(FakeReply::ErrorBody);
    send(Reply::from_response(
        route(&app, update_req(json!({"token": employee, "id": 102, "email": "alan@moved.example"}))).await,
    ));
    faulty.data_down.store(true, SeqCst);
    send(Reply::from_response(route(&app, create_req(entity("down"))).await));
    faulty.data_down.store(false, SeqCst);
    faulty.registry_down.store(true, SeqCst);
    send(Reply::from_response(route(&app, create_req(entity("lost"))).await));
    faulty.registry_down.store(false, SeqCst);
    registry::set_deployed(app.deps.store.as_ref(), RecordKind::Service, "entities", false).await.unwrap();
    send(Reply::from_response(route(&app, create_req(entity("svc"))).await));
    registry::set_deployed(app.deps.store.as_ref(), RecordKind::Route, "clients.update", false).await.unwrap();
    send(Reply::from_response(route(&app, update_req(json!({"token": employee, "id": 100}))).await));

    let all: BTreeSet<String> = Status::ALL.iter().map(|s| s.slug().to_string()).collect();
    assert_eq!(seen, all, "every status was driven");

    let (text, lines) = (captured.text(), captured.lines());
    let requests: Vec<&Value> = lines.iter().filter(|l| l["fields"]["event"] == "request").collect();
    assert_eq!(requests.len(), request_ids.len(), "one request line per request");
    for (line, id) in requests.iter().zip(&request_ids) {
        let f = &line["fields"];
        assert_eq!(f["request_id"], id.as_str());
        for key in ["route", "status", "latency_ms", "caller_kind"] {
            assert!(!f[key].is_null(), "{key} missing in {line}");
        }
    }
    let first = &requests[1]["fields"];
    assert_eq!(
        (first["route"].clone(), first["status"].clone()),
        (json!("clients.update"), json!("action-successful"))
    );
    assert_eq!((first["caller_kind"].clone(), first["caller_id"].clone()), (json!("user"), json!(10)));

    // Everything secret that passed through: tokens, their hashes, passwords, hashes, the key.
    let fixture: Value = serde_json::from_str(&demo_fixture_text()).unwrap();
    let mut secrets: Vec<String> = vec![
        NEW_PASSWORD.into(),
        "in the clear".into(),
        MANDRILL_KEY.into(),
        "not-a-real-token-xyz".into(),
        "$argon2id$".into(),
    ];
    for item in fixture["sessions"].as_array().unwrap().iter().chain(fixture["applications"].as_array().unwrap()) {
        let token = item["token"].as_str().unwrap();
        secrets.push(token.into());
        secrets.push(token_hash(token));
    }
    for user in fixture["users"].as_array().unwrap() {
        if let Some(p) = user["password"].as_str() {
            secrets.push(p.into());
        }
    }
    let stored = app.deps.store.user(10).await.unwrap().unwrap().password_hash.unwrap();
    secrets.push(stored.split('$').next_back().unwrap().to_string());
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "'{secret}' appears in the logs");
    }
    assert!(matches!(
        app.deps.store.token(&token_hash("demo-client-token")).await.unwrap(),
        Some(TokenOwner::Session(_))
    ));
}
