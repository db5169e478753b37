//! DynamoDB calls per request kind, counted by an SDK interceptor against the local emulator,
//! within the budgets of the performance issues (warm registry, warm sessions; the branding
//! view's entity read not counted), and for the routes' plain requests the sequential steps they
//! make, which set a request's latency: calls started while another is in flight share its step.

use std::sync::Arc;
use std::time::Duration;

use app::outbox_schedule::SWEEP_EVERY;
use app::registry::RegistryCache;
use lambda_http::http::Method;
use lambda_http::Request;
use serde_json::{json, Value};
use test_support::{base64, fresh_recorded_table, request, CallRecorder, Reply, TestApp};

pub(crate) fn update(body: Value) -> Request {
    request(Method::PUT, "/api/v1/clients/update", Some("application/json"), base64(&body))
}

pub(crate) fn create(token: &str, slug: &str) -> Request {
    let body = json!({"token": token, "integration_id": 7, "entity_slug": slug, "email": format!("{slug}@x.example"),
                      "name": "N", "active": true,
                      "address": {"street": "s", "city": "c", "state": "CO", "country": "US", "postal_code": "1"}});
    request(Method::POST, "/api/v1/entities/create", Some("application/json"), body.to_string())
}

async fn app() -> (TestApp, CallRecorder) {
    let recorder = CallRecorder::default();
    let store = Arc::new(fresh_recorded_table(Some(recorder.clone())).await);
    let mut app = TestApp::on(store).await;
    app.deps.registry = RegistryCache::new(Duration::from_secs(300));
    // Warm the registry cache, as a warm container has it, and the employee's session.
    clients_update::handle(&app.deps, update(json!({"token": "demo-employee-token", "id": 102}))).await;
    recorder.take();
    (app, recorder)
}

/// The calls one request makes, after checking it succeeded.
async fn calls(app: &TestApp, recorder: &CallRecorder, req: Request) -> Vec<String> {
    steps(app, recorder, req).await.concat()
}

/// The calls one request makes by sequential step, after checking it succeeded.
async fn steps(app: &TestApp, recorder: &CallRecorder, req: Request) -> Vec<Vec<String>> {
    let reply = Reply::from_response(planocore::handle(&app.deps, req).await);
    assert_eq!(reply.status(), "action-successful", "{}", reply.body);
    recorder.take_steps()
}

#[tokio::test]
async fn each_request_kind_stays_within_its_dynamodb_budget() {
    let (app, rec) = app().await;

    let plain = steps(&app, &rec, update(json!({"token": "demo-employee-token", "id": 100, "phone": "1"}))).await;
    assert_eq!(
        plain,
        [vec!["GetItem", "GetItem"], vec!["UpdateItem"]],
        "session and user, then the conditional update"
    );

    // A minute later the session's `last_used_at` moves, alongside the update: no step of its own.
    // (An application's request first takes that minute's outbox sweep, whose query would share
    // the steps.)
    app.clock.advance(time::Duration::minutes(5));
    calls(&app, &rec, update(json!({"token": "demo-app-token", "id": 102, "phone": "2"}))).await;
    let touched = steps(&app, &rec, update(json!({"token": "demo-employee-token", "id": 100, "phone": "2"}))).await;
    assert_eq!(touched, [vec!["GetItem", "GetItem"], vec!["UpdateItem", "UpdateItem"]], "the update, the touch");

    let email =
        steps(&app, &rec, update(json!({"token": "demo-employee-token", "id": 100, "email": "ada@budget.example"})))
            .await;
    // The client is read with the session, and no read follows the transaction: it is
    // conditioned on the client's revision as read, so `data` is known before the commit.
    let expected = [vec!["GetItem", "GetItem", "GetItem"], vec!["TransactWriteItems[Update,Put,Delete]"]];
    assert_eq!(email, expected, "session, user and client, then the move");

    // An own password change: its check counted then cleared, the hash and the revocation of
    // every other session in one transaction, whatever the number of sessions.
    let own_password = json!({"token": "demo-client-token", "id": 100, "password": "budget password",
                              "current_password": "correct horse battery"});
    let password = calls(&app, &rec, update(own_password)).await;
    let expected = ["GetItem", "GetItem", "UpdateItem", "GetItem", "GetItem", "UpdateItem", "DeleteItem", "GetItem"];
    assert_eq!(password[..8], expected, "session, user, touch, client, user, check count, client: {password:?}");
    assert_eq!(password[8..], ["TransactWriteItems[Update,Update]"], "then the client as read, changed");

    // The id counter is called while the caller is authenticated.
    let by_user = steps(&app, &rec, create("demo-employee-token", "by-user")).await;
    let create_txn = "TransactWriteItems[ConditionCheck,Put,Put,Put]";
    assert_eq!(by_user, [vec!["GetItem", "GetItem", "UpdateItem"], vec![create_txn]], "session, user, id; create");
    let by_app = steps(&app, &rec, create("demo-app-token", "by-app")).await;
    assert_eq!(by_app, [vec!["GetItem", "UpdateItem"], vec![create_txn]], "an application has no user read");
}

fn keyed(mut req: Request, key: &str) -> Request {
    req.headers_mut().insert("idempotency-key", key.parse().unwrap());
    req
}

/// With an `Idempotency-Key`: one conditional write to claim the key, the answer and its emails
/// (the outbox) in the route's own transaction, and, for a request with emails, one write
/// clearing the outbox once they are sent (or releasing the key of a refused request). A retry
/// is the claim alone, which returns the kept answer. Without the key (above) none is made.
#[tokio::test]
async fn an_idempotency_key_costs_the_claim_and_the_outbox_and_a_retry_one() {
    let (app, rec) = app().await;
    let first = calls(&app, &rec, keyed(create("demo-app-token", "keyed"), "k1")).await;
    assert_eq!(
        first,
        ["GetItem", "UpdateItem", "UpdateItem", "TransactWriteItems[ConditionCheck,Put,Put,Put,Update]", "UpdateItem"],
        "token, claim, id counter, create with the answer, the outbox cleared"
    );
    let reply =
        Reply::from_response(planocore::handle(&app.deps, keyed(create("demo-app-token", "keyed"), "k1")).await);
    assert_eq!(reply.headers["idempotent-replayed"], "true");
    assert_eq!(rec.take(), ["GetItem", "UpdateItem"], "token, then the claim that finds the answer");
    let taken = keyed(create("demo-app-token", "keyed"), "k2");
    assert_eq!(Reply::from_response(planocore::handle(&app.deps, taken).await).status(), "invalid-param");
    assert_eq!(
        rec.take(),
        ["GetItem", "UpdateItem", "UpdateItem", "TransactWriteItems[ConditionCheck,Put,Put,Put,Update]", "UpdateItem"],
        "a refused create: the key released"
    );

    // A plain update: the client is read for the answer, which the write keeps (no email).
    let plain = keyed(update(json!({"token": "demo-employee-token", "id": 100, "phone": "9"})), "k3");
    let plain = calls(&app, &rec, plain).await;
    assert_eq!(plain, ["GetItem", "GetItem", "UpdateItem", "GetItem", "TransactWriteItems[Update,Update]"]);
    let email = keyed(update(json!({"token": "demo-employee-token", "id": 100, "email": "ada@keyed.example"})), "k4");
    let email = calls(&app, &rec, email).await;
    assert_eq!(
        email,
        ["GetItem", "GetItem", "UpdateItem", "GetItem", "TransactWriteItems[Update,Put,Delete,Update]", "UpdateItem"],
        "session, user, claim, client, the move with the answer, the outbox cleared"
    );
    let own_password = json!({"token": "demo-client-token", "id": 100, "password": "keyed password",
                              "current_password": "correct horse battery"});
    let password = calls(&app, &rec, keyed(update(own_password), "k5")).await;
    assert_eq!(password.len(), 11, "{password:?}");
    assert_eq!(password[9..], ["TransactWriteItems[Update,Update,Update]", "UpdateItem"], "{password:?}");
}

#[tokio::test]
async fn the_registry_costs_nothing_while_cached_and_one_query_when_not() {
    let (mut app, rec) = app().await;
    let plain = || update(json!({"token": "demo-employee-token", "id": 100, "phone": "2"}));
    assert!(!calls(&app, &rec, plain()).await.iter().any(|c| c.starts_with("Query")));
    app.deps.registry = RegistryCache::new(Duration::ZERO);
    let cold = calls(&app, &rec, plain()).await;
    assert_eq!(cold.iter().filter(|c| c.starts_with("Query")).count(), 1, "{cold:?}");
}

#[tokio::test]
async fn a_revoked_session_or_role_is_seen_on_the_next_request() {
    // Fewer calls must never come from caching who the caller is.
    let (app, rec) = app().await;
    let own = || update(json!({"token": "demo-client-token", "id": 100, "phone": "3"}));
    calls(&app, &rec, own()).await;
    let r = Reply::from_response(
        clients_update::handle(
            &app.deps,
            update(json!({"token": "demo-employee-token", "id": 100, "password": "set by the employee"})),
        )
        .await,
    );
    assert_eq!(r.status(), "action-successful");
    let r = Reply::from_response(clients_update::handle(&app.deps, own()).await);
    assert_eq!(r.status(), "invalid-token");
}

/// The outbox sweep (docs/api.md#idempotency): at most once a minute per container, one `Query`
/// of the index, made alongside the request's own calls, which stay the same; with a dead
/// request's outbox due, its hand-over and its clearing (two updates) too.
#[tokio::test]
async fn the_outbox_sweep_adds_one_query_a_minute_beside_the_requests_own_calls() {
    use store::idempotency::{KeyClaim, KeyScope, Outbox, StoredAnswer};
    let (app, rec) = app().await; // its warm-up request swept
    let plain = || update(json!({"token": "demo-app-token", "id": 102, "phone": "4"}));
    let own = calls(&app, &rec, plain()).await;
    assert!(!own.iter().any(|c| c.starts_with("Query")), "{own:?}");
    let with = |extra: &[&str]| {
        let mut all: Vec<String> = own.iter().cloned().chain(extra.iter().map(|c| c.to_string())).collect();
        all.sort();
        all
    };
    let sorted = |mut calls: Vec<String>| {
        calls.sort();
        calls
    };
    app.clock.advance(SWEEP_EVERY);
    assert_eq!(sorted(calls(&app, &rec, plain()).await), with(&["Query@GSI1"]), "a minute later");
    assert_eq!(calls(&app, &rec, plain()).await, own, "then not again that minute");

    // What a request killed after its commit leaves: a kept answer with its emails.
    let now = app.deps.clock.now();
    let caller = domain::model::Actor { kind: domain::model::ActorKind::Application, id: 1 };
    let scope = KeyScope { route: domain::routes::RouteId::EntitiesCreate, caller, key: "dead".into() };
    let claim = KeyClaim { id: "dead".into(), at: now, expires_at: now + time::Duration::seconds(10) };
    app.deps.store.claim_key(&scope, &claim).await.unwrap();
    let email =
        domain::email::Email { to: "dead@x.example".into(), subject: "s".into(), text: "t".into(), html: "h".into() };
    let outbox = Outbox { holder: "dead".into(), due_at: now, emails: vec![email] };
    let answer = StoredAnswer {
        fingerprint: "f".into(),
        status: "action-successful".into(),
        http_code: 200,
        body: "{}".into(),
        expires_at: now + time::Duration::hours(24),
        outbox: Some(outbox),
    };
    assert!(app.deps.store.complete_key(&scope, "dead", &answer).await.unwrap());
    rec.take();
    app.clock.advance(SWEEP_EVERY);
    let swept = calls(&app, &rec, plain()).await;
    assert_eq!(sorted(swept), with(&["Query@GSI1", "UpdateItem", "UpdateItem"]), "the query, hand-over, clearing");
    assert_eq!(app.notifier.emails().len(), 1);
}

/// A container's first request makes its calls one after another: until then the store's pool
/// holds only the connection init opened, and a call alongside another would open a second (a
/// TLS handshake) while the caller waits. From its second request on, the id is read alongside
/// the token (docs/performance.md#store-round-trips).
#[tokio::test]
async fn a_containers_first_request_makes_no_call_alongside_another() {
    let recorder = CallRecorder::default();
    let store = Arc::new(fresh_recorded_table(Some(recorder.clone())).await);
    let mut app = TestApp::on(store).await;
    app.deps.registry = RegistryCache::new(Duration::from_secs(300));
    app.deps.prewarm_within(Duration::from_secs(10)).await; // as init does
    recorder.take();
    let first = steps(&app, &recorder, create("demo-app-token", "first-of-its-container")).await;
    assert!(first.iter().all(|step| step.len() == 1), "one call at a time: {first:?}");
    assert_eq!(first.len(), 3, "token, id, transaction: {first:?}");
    let second = steps(&app, &recorder, create("demo-app-token", "second-of-its-container")).await;
    assert_eq!(second.len(), 2, "token and id together, then the transaction: {second:?}");
}
