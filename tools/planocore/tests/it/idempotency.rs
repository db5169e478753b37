//! Retry-safe writes (docs/api.md#idempotency): a request sent again with its `Idempotency-Key`
//! gets the first answer back and changes nothing; on every store, through both routes.

use std::sync::Arc;

use app::deps::Deps;
use app::outbox_schedule::SWEEP_EVERY;
use app::outbox_sweep::SWEEP_AFTER;
use domain::credentials::verify_password;
use domain::routes::RouteId;
use lambda_http::http::{HeaderValue, Method};
use lambda_http::Request;
use serde_json::{json, Value};
use store::idempotency::{Claim, DueOutbox, KeyClaim, KeyCommit, KeyRecord, KeyScope, StoredAnswer};
use test_support::{base64, request, FakeMandrill, FakeReply, Reply, StallAfterCommit, TestApp, NOW};

const APP: &str = "demo-app-token"; // application 1
const EMPLOYEE: &str = "demo-employee-token"; // user 11
const EMPLOYEE_REMEMBERED: &str = "demo-remember-token"; // user 11's other session
const ADA: &str = "demo-client-token"; // user 10, client 100
const ADA_PASSWORD: &str = "correct horse battery";

fn entity(token: &str, slug: &str) -> Value {
    json!({"token": token, "integration_id": 7, "entity_slug": slug, "email": format!("{slug}@co.example"),
           "name": "Pine", "active": true,
           "address": {"street": "1 Pine St", "city": "Denver", "state": "CO", "country": "US", "postal_code": "80202"}})
}

fn with_key(mut req: Request, key: Option<&str>) -> Request {
    if let Some(key) = key {
        req.headers_mut().insert("idempotency-key", HeaderValue::from_str(key).expect("a header value"));
    }
    req
}

fn create_request(body: &Value, key: Option<&str>) -> Request {
    with_key(request(Method::POST, "/api/v1/entities/create", Some("application/json"), body.to_string()), key)
}

fn update_request(body: &Value, key: Option<&str>) -> Request {
    with_key(request(Method::PUT, "/api/v1/clients/update", Some("application/json"), base64(body)), key)
}

async fn create(app: &TestApp, body: &Value, key: Option<&str>) -> Reply {
    Reply::from_response(planocore::handle(&app.deps, create_request(body, key)).await)
}

async fn update(app: &TestApp, body: &Value, key: Option<&str>) -> Reply {
    Reply::from_response(planocore::handle(&app.deps, update_request(body, key)).await)
}

/// The caller `APP` is, as the pipeline identifies it: the owner of idempotency keys it sends.
async fn app_caller(app: &TestApp) -> domain::credentials::Caller {
    match app.deps.store.token(&domain::credentials::token_hash(APP)).await {
        Ok(Some(store::seam::TokenOwner::Application(a))) => domain::credentials::Caller::Application(a),
        other => panic!("{other:?}"),
    }
}

fn replayed(r: &Reply) -> bool {
    match r.headers.get("idempotent-replayed") {
        Some(v) => v == "true",
        None => false,
    }
}

/// The first answer, sent again: the same status and body, its request id included.
#[track_caller]
fn assert_replay_of(retry: &Reply, first: &Reply) {
    assert!(replayed(retry), "{}", retry.body);
    assert!(!replayed(first));
    assert_eq!((retry.code, &retry.body), (first.code, &first.body));
    assert_eq!(retry.headers["x-request-id"], first.headers["x-request-id"]);
}

async fn a_retried_create_replays_the_same_entity_and_creates_nothing(app: TestApp) {
    let before = app.entity_ids().await;
    let body = entity(APP, "pine");
    let first = create(&app, &body, Some("create-pine-1")).await;
    assert_eq!(first.status(), "action-successful", "{}", first.body);
    let retry = create(&app, &body, Some("create-pine-1")).await;
    assert_replay_of(&retry, &first);
    assert_eq!(app.entity_ids().await.len(), before.len() + 1, "exactly one entity was created");
    assert_eq!(app.notifier.emails().len(), 1, "one email");
    // Without the key, the slug is taken: by that one entity.
    let again = create(&app, &body, None).await;
    assert_eq!((again.status(), again.error_params()), ("invalid-param", vec!["entity_slug".into(), "email".into()]));
    assert_eq!(app.entity_ids().await.len(), before.len() + 1);
}

async fn a_replay_shows_the_current_session_never_the_first(app: TestApp) {
    // User 11's two sessions: the key is the user's, whichever session sends it.
    let first = create(&app, &entity(EMPLOYEE, "cedar"), Some("cedar")).await;
    assert_eq!(first.status(), "action-successful", "{}", first.body);
    assert_eq!(first.body["session"]["remember_me"], false);
    let retry = create(&app, &entity(EMPLOYEE_REMEMBERED, "cedar"), Some("cedar")).await;
    assert!(replayed(&retry));
    assert_eq!((&retry.body["data"], &retry.body["request_id"]), (&first.body["data"], &first.body["request_id"]));
    assert_eq!(retry.body["session"]["remember_me"], true, "the session that sent the retry: {}", retry.body);
    assert_eq!(retry.body["session"]["expires_at"], Value::Null);
    // An invalid session_view on the retry is another request (its params differ).
    let mut other_view = entity(EMPLOYEE_REMEMBERED, "cedar");
    other_view["session_view"] = json!("none");
    let other = create(&app, &other_view, Some("cedar")).await;
    assert_eq!(other.status(), "idempotency-key-reused");
    assert!(other.body.get("session").is_none(), "no session object for an invalid view: {}", other.body);
}

async fn sixteen_requests_with_one_key_run_once(app: TestApp) {
    let app = Arc::new(app);
    let before = app.entity_ids().await.len();
    let shared = app.clone();
    let replies = test_support::at_once((0..16).collect(), move |_| {
        let app = shared.clone();
        async move { create(&app, &entity(APP, "spruce"), Some("spruce-once")).await }
    })
    .await;
    let ran: Vec<&Reply> = replies.iter().filter(|r| !replayed(r) && r.status() == "action-successful").collect();
    assert_eq!(ran.len(), 1, "{:?}", replies.iter().map(|r| r.status()).collect::<Vec<_>>());
    for r in &replies {
        match r.status() {
            "request-in-progress" => {
                assert_eq!((r.code, &r.headers["retry-after"]), (409, &HeaderValue::from_static("1")));
            }
            "action-successful" if replayed(r) => assert_eq!(r.body, ran[0].body),
            "action-successful" => {}
            other => panic!("{other}: {}", r.body),
        }
    }
    assert_eq!(app.entity_ids().await.len(), before + 1);
    assert_eq!(app.notifier.emails().len(), 1);
}

async fn the_same_key_with_other_params_is_refused(app: TestApp) {
    let before = app.entity_ids().await.len();
    assert_eq!(create(&app, &entity(APP, "birch"), Some("k-1")).await.status(), "action-successful");
    let other = create(&app, &entity(APP, "maple"), Some("k-1")).await;
    assert_eq!((other.status(), other.code), ("idempotency-key-reused", 422));
    assert_eq!(other.error_params(), ["Idempotency-Key"]);
    assert_eq!(other.body["data"], Value::Null);
    assert!(!replayed(&other));
    assert_eq!(app.entity_ids().await.len(), before + 1, "maple was not created");
    // A token refresh is the same request: the token is not part of the fingerprint.
    let mut refreshed = entity(APP, "birch");
    refreshed["token"] = json!(APP);
    assert!(replayed(&create(&app, &refreshed, Some("k-1")).await));
}

async fn another_callers_key_is_another_key(app: TestApp) {
    let before = app.entity_ids().await.len();
    let by_app = create(&app, &entity(APP, "aspen"), Some("shared-key")).await;
    let by_employee = create(&app, &entity(EMPLOYEE, "alder"), Some("shared-key")).await;
    assert_eq!((by_app.status(), by_employee.status()), ("action-successful", "action-successful"));
    assert!(!replayed(&by_employee));
    assert_ne!(by_app.body["data"]["id"], by_employee.body["data"]["id"]);
    // The same caller's key on the other route is another key too.
    let on_update = update(&app, &json!({"token": APP, "id": 102, "phone": "720-555-0111"}), Some("shared-key")).await;
    assert_eq!(on_update.status(), "action-successful");
    assert!(!replayed(&on_update));
    assert_eq!(app.entity_ids().await.len(), before + 2);
}

async fn a_refused_request_releases_its_key(app: TestApp) {
    let before = app.entity_ids().await.len();
    let mut incomplete = entity(APP, "larch");
    incomplete.as_object_mut().unwrap().remove("name");
    let refused = create(&app, &incomplete, Some("larch")).await;
    assert_eq!(refused.error_params(), ["name"]);
    let corrected = create(&app, &entity(APP, "larch"), Some("larch")).await;
    assert_eq!(corrected.status(), "action-successful", "{}", corrected.body);
    assert!(!replayed(&corrected));
    assert_eq!(app.entity_ids().await.len(), before + 1);
}

async fn a_bad_key_is_invalid_param_after_authentication(app: TestApp) {
    let before = app.entity_ids().await.len();
    for bad in [" spaced key", &"k".repeat(256), ""] {
        let r = create(&app, &entity(APP, "elm"), Some(bad)).await;
        assert_eq!((r.status(), r.error_params()), ("invalid-param", vec!["Idempotency-Key".to_string()]), "{bad:?}");
    }
    // Stage 10a comes after the token's checks and before the params'.
    let r = create(&app, &entity("no-such-token", "elm"), Some("")).await;
    assert_eq!(r.status(), "invalid-token");
    let r = create(&app, &json!({"token": APP, "colour": "red"}), Some("")).await;
    assert_eq!(r.error_params(), ["Idempotency-Key"]);
    assert_eq!(app.entity_ids().await.len(), before);
}

/// `app` whose store stalls each write once it has committed, and the trap to disarm.
fn trapped(mut app: TestApp) -> (Arc<TestApp>, Arc<StallAfterCommit>) {
    let trap = Arc::new(StallAfterCommit::new(app.deps.store.clone()));
    app.deps.store = trap.clone();
    (Arc::new(app), trap)
}

/// Sends `req` and drops it once its write has committed, before it answers or sends an email:
/// what a process killed there leaves (its store kept). The trap is disarmed for the retries.
async fn kill_after_commit(app: &Arc<TestApp>, trap: &StallAfterCommit, req: Request) {
    let running = tokio::spawn({
        let app = app.clone();
        async move { drop(planocore::handle(&app.deps, req).await) }
    });
    trap.wait_committed().await;
    running.abort();
    assert!(running.await.unwrap_err().is_cancelled());
    trap.arm(false);
}

/// [`kill_after_commit`] once more, on the same trapped app.
async fn kill_again(app: &Arc<TestApp>, trap: &StallAfterCommit, req: Request) {
    trap.arm(true);
    kill_after_commit(app, trap, req).await;
}

/// A replay of the answer the dead request would have sent: `idempotent-replayed`, its own
/// `request_id` (the same on every replay), never the retry's.
#[track_caller]
fn assert_replayed_answer(retry: &Reply, again: &Reply) {
    assert!(replayed(retry) && replayed(again), "{}", retry.body);
    assert_eq!((retry.status(), retry.code), ("action-successful", 200), "{}", retry.body);
    assert_eq!((&again.body["data"], &again.body["request_id"]), (&retry.body["data"], &retry.body["request_id"]));
    assert_eq!(retry.headers["x-request-id"], retry.body["request_id"].as_str().unwrap());
}

async fn a_create_killed_after_its_commit_is_replayed_with_its_id_and_its_email_sent(app: TestApp) {
    let before = app.entity_ids().await;
    let (app, trap) = trapped(app);
    let body = entity(APP, "oak");
    kill_after_commit(&app, &trap, create_request(&body, Some("oak"))).await;
    let after = app.entity_ids().await;
    assert_eq!(after.len(), before.len() + 1, "the entity is written");
    assert!(app.notifier.emails().is_empty(), "the process died before its email");

    // At once, as the clock has not moved: the retry waits out the dead request's lease.
    let retry = create(&app, &body, Some("oak")).await;
    let again = create(&app, &body, Some("oak")).await;
    assert_replayed_answer(&retry, &again);
    let id = after.iter().find(|id| !before.contains(id)).unwrap();
    assert_eq!((&retry.body["data"]["id"], &retry.body["data"]["entity_slug"]), (&json!(id), &json!("oak")));
    assert_eq!(app.entity_ids().await, after, "one record");
    let emails = app.notifier.emails();
    assert_eq!(emails.iter().map(|e| e.to.as_str()).collect::<Vec<_>>(), ["oak@co.example"], "sent once");
}

async fn an_email_change_killed_after_its_commit_is_replayed_and_notified_once(app: TestApp) {
    let (app, trap) = trapped(app);
    let body = json!({"token": EMPLOYEE, "id": 100, "email": "ada@moved.example", "view": "client_read"});
    kill_after_commit(&app, &trap, update_request(&body, Some("move-ada"))).await;
    let stored = app.deps.store.client(100).await.unwrap().unwrap();
    assert_eq!(stored.email, "ada@moved.example");
    assert!(app.notifier.emails().is_empty());

    app.clock.advance(time::Duration::seconds(5)); // the dead request's lease is over
    let retry = update(&app, &body, Some("move-ada")).await;
    let again = update(&app, &body, Some("move-ada")).await;
    assert_replayed_answer(&retry, &again);
    assert_eq!(retry.body["data"]["email"], "ada@moved.example");
    assert_eq!(retry.body["data"]["updated_at"], "2026-11-23T12:00:00Z", "the record as the write left it");
    let emails = app.notifier.emails();
    assert_eq!(emails.iter().map(|e| e.to.as_str()).collect::<Vec<_>>(), ["ada@example.com"], "to the old address");
    assert!(emails[0].text.contains("ada@moved.example"));
}

async fn an_own_password_change_killed_after_its_commit_is_replayed_without_a_guess(app: TestApp) {
    let (app, trap) = trapped(app);
    let body = json!({"token": ADA, "id": 100, "password": "brand new secret", "current_password": ADA_PASSWORD});
    kill_after_commit(&app, &trap, update_request(&body, Some("new-password"))).await;
    let hash = app.deps.store.user(10).await.unwrap().unwrap().password_hash.unwrap();
    assert!(verify_password("brand new secret", &hash), "the change is written");

    app.clock.advance(time::Duration::seconds(5));
    let retry = update(&app, &body, Some("new-password")).await;
    let again = update(&app, &body, Some("new-password")).await;
    assert_replayed_answer(&retry, &again);
    assert_eq!(app.deps.store.user(10).await.unwrap().unwrap().password_hash.unwrap(), hash, "not written again");
    let emails = app.notifier.emails();
    assert_eq!(emails.len(), 1, "one password-changed email: {emails:?}");
    assert_eq!(
        (emails[0].to.as_str(), emails[0].subject.as_str()),
        ("ada@example.com", "Your PlanOmatic password was changed")
    );
    // No guess was counted by the retries: the whole window of checks is still open.
    for _ in 0..store::attempts::PASSWORD_ATTEMPTS {
        let attempt = app.deps.store.begin_password_attempt(10, app.deps.clock.now()).await.unwrap();
        assert_eq!(attempt, store::attempts::PasswordAttempt::Allowed);
    }
    let sixth = app.deps.store.begin_password_attempt(10, app.deps.clock.now()).await.unwrap();
    assert!(matches!(sixth, store::attempts::PasswordAttempt::Locked { .. }));
}

/// A write whose claim expired and was claimed anew by another request writes nothing: the
/// answer is conditioned on the claim in the same transaction.
async fn a_write_whose_claim_was_lost_writes_nothing(app: TestApp) {
    let before = app.entity_ids().await;
    let caller = app_caller(&app).await;
    let scope = KeyScope::new(RouteId::EntitiesCreate, &caller, "lost");
    let first = KeyClaim { id: "first".into(), at: NOW, expires_at: NOW + time::Duration::seconds(10) };
    assert_eq!(app.deps.store.claim_key(&scope, &first).await.unwrap(), Claim::Ours);
    let later = NOW + time::Duration::seconds(10);
    let second = KeyClaim { id: "second".into(), at: later, expires_at: later + time::Duration::seconds(10) };
    assert_eq!(app.deps.store.claim_key(&scope, &second).await.unwrap(), Claim::Ours);
    let answer = |_: &domain::model::Entity| {
        Ok(StoredAnswer {
            fingerprint: "f".into(),
            status: "action-successful".into(),
            http_code: 200,
            body: "{}".into(),
            expires_at: later + time::Duration::hours(24),
            outbox: None,
        })
    };
    let commit = KeyCommit { scope: &scope, claim_id: "first", answer: Box::new(answer) };
    let draft = store::seam::EntityDraft {
        integration_id: 7,
        entity_slug: "lost".into(),
        email: "lost@co.example".into(),
        name: "Lost".into(),
        address: Default::default(),
        operational_transaction_emails: Vec::new(),
        order_completion_emails: Vec::new(),
        active: true,
        created_by: caller.actor(),
        now: later,
    };
    let refused = app.deps.store.create_entity_from(&draft, None, Some(&commit)).await;
    assert!(matches!(refused, Err(store::seam::CreateError::Store(_))), "{refused:?}");
    assert_eq!(app.entity_ids().await, before, "nothing written");
    let probe = KeyClaim { id: "probe".into(), at: later, expires_at: later };
    let held = app.deps.store.claim_key(&scope, &probe).await.unwrap();
    assert!(matches!(held, Claim::Held(KeyRecord::InProgress { .. })), "still the second claim's: {held:?}");
}

async fn a_retried_password_change_replays_instead_of_failing(app: TestApp) {
    let body = json!({"token": ADA, "id": 100, "password": "brand new secret", "current_password": ADA_PASSWORD});
    let first = update(&app, &body, Some("new-password")).await;
    assert_eq!(first.status(), "action-successful", "{}", first.body);
    let hash = app.deps.store.user(10).await.unwrap().unwrap().password_hash.unwrap();
    let retry = update(&app, &body, Some("new-password")).await;
    assert_replay_of(&retry, &first);
    assert_eq!(app.deps.store.user(10).await.unwrap().unwrap().password_hash.unwrap(), hash, "not written again");
    assert!(verify_password("brand new secret", &hash));
    assert_eq!(app.notifier.emails().len(), 1, "one password-changed email");
    // Without the key, the retry fails as before: the current password is the new one now.
    assert_eq!(update(&app, &body, None).await.error_params(), ["current_password"]);

    // What the record keeps: the answer as shown, and no fast test of the password.
    let user = domain::credentials::Caller::Session {
        session: domain::model::Session {
            token_hash: domain::credentials::token_hash(ADA),
            user_id: 10,
            created_at: NOW,
            last_used_at: NOW,
            remember_me: false,
        },
        user: app.deps.store.user(10).await.unwrap().unwrap(),
    };
    let scope = KeyScope::new(RouteId::ClientsUpdate, &user, "new-password");
    let look = KeyClaim { id: "look".into(), at: NOW, expires_at: NOW };
    let Ok(Claim::Held(KeyRecord::Completed(kept))) = app.deps.store.claim_key(&scope, &look).await else {
        panic!("the answer is kept")
    };
    assert!(kept.fingerprint.starts_with("$argon2id$"), "{}", kept.fingerprint);
    assert!(!kept.body.contains("brand new secret") && !kept.body.contains(ADA_PASSWORD));
    assert!(!kept.body.contains("\"session\""), "the session object is rendered per answer");
    assert_eq!((kept.status.as_str(), kept.http_code), ("action-successful", 200));
}

async fn a_failed_email_then_a_retry_replays_without_a_second_email_or_write(mut app: TestApp) {
    let fake = FakeMandrill::start(FakeReply::ErrorBody).await;
    app.deps.notifier = fake.notifier("md-key");
    let before = app.entity_ids().await.len();
    let body = entity(APP, "willow");
    let first = create(&app, &body, Some("willow")).await;
    assert_eq!((first.status(), first.code), ("mandrill-email-failed", 500));
    fake.set_reply(FakeReply::Recipients("sent"));
    let retry = create(&app, &body, Some("willow")).await;
    assert_replay_of(&retry, &first);
    assert_eq!(fake.requests().len(), 1, "no second email");
    assert_eq!(app.entity_ids().await.len(), before + 1, "no second entity");
}

async fn an_expired_record_is_claimed_anew_by_exactly_one_request(app: TestApp) {
    let caller = app_caller(&app).await;
    let scope = KeyScope::new(RouteId::EntitiesCreate, &caller, "raced");
    let first = KeyClaim { id: "first".into(), at: NOW, expires_at: NOW + time::Duration::seconds(10) };
    assert_eq!(app.deps.store.claim_key(&scope, &first).await.unwrap(), Claim::Ours);
    let later = NOW + time::Duration::seconds(10);
    let store = app.deps.store.clone();
    let claims = test_support::at_once((0..16).collect(), move |i: usize| {
        let (store, scope) = (store.clone(), scope.clone());
        async move {
            let claim = KeyClaim { id: format!("c{i}"), at: later, expires_at: later + time::Duration::seconds(10) };
            store.claim_key(&scope, &claim).await.unwrap()
        }
    })
    .await;
    assert_eq!(claims.iter().filter(|c| **c == Claim::Ours).count(), 1, "{claims:?}");
    // The dead request's late release does not free the new claim.
    let scope = KeyScope::new(RouteId::EntitiesCreate, &caller, "raced");
    app.deps.store.release_key(&scope, "first", later).await.unwrap();
    let probe = KeyClaim { id: "probe".into(), at: later, expires_at: later };
    assert!(matches!(
        app.deps.store.claim_key(&scope, &probe).await.unwrap(),
        Claim::Held(KeyRecord::InProgress { .. })
    ));
}

/// Another container of the same deployment (the same store, clock and mail, its own sweep),
/// after its first request: it sweeps from a minute later on. (Made before the app's store is
/// trapped: only the request that dies goes through the trap.)
async fn another_container(app: &TestApp) -> Deps {
    let deps = Deps {
        store: app.deps.store.clone(),
        clock: app.deps.clock.clone(),
        notifier: app.deps.notifier.clone(),
        registry: app::registry::RegistryCache::new(std::time::Duration::ZERO),
        outbox_sweep: Default::default(),
        served: Default::default(),
    };
    unrelated_request(&deps).await;
    deps
}

/// A request of another caller, without a key and without an email of its own, through `deps`.
async fn unrelated_request(deps: &Deps) {
    let body = json!({"token": EMPLOYEE, "id": 102, "phone": "720-555-0199"});
    let reply = Reply::from_response(planocore::handle(deps, update_request(&body, None)).await);
    assert_eq!(reply.status(), "action-successful", "{}", reply.body);
}

/// The recipients of every email sent so far.
fn recipients(app: &TestApp) -> Vec<String> {
    app.notifier.emails().into_iter().map(|e| e.to).collect()
}

/// Waits (at most 10 s) until `app` has sent `count` emails, and returns their recipients.
async fn sent(app: &TestApp, count: usize) -> Vec<String> {
    let what = format!("{count} email(s) sent");
    let shown = || format!("{:?}", recipients(app));
    test_support::wait::until_async(&what, std::time::Duration::from_secs(10), shown, || async {
        let sent = recipients(app);
        (sent.len() >= count).then_some(sent)
    })
    .await
}

/// No retry with the key comes: the next request of any caller that sweeps once the outbox has
/// been due for a request's deadline sends it, once; a sweep a second before then leaves it.
async fn a_dead_requests_emails_are_sent_by_the_next_request_that_finds_them_due(app: TestApp) {
    let early = another_container(&app).await; // sweeps at NOW + 1 min
    app.clock.advance(time::Duration::seconds(1));
    let on_time = another_container(&app).await; // a second later
    let (app, trap) = trapped(app);
    let lease = app::idempotency::OUTBOX_LEASE;
    // Killed so that the outbox is due for a sweep at NOW + 1 min + 1 s.
    app.clock.set(NOW + SWEEP_EVERY + time::Duration::seconds(1) - SWEEP_AFTER - lease);
    let body = entity(APP, "rowan");
    kill_after_commit(&app, &trap, create_request(&body, Some("rowan"))).await;

    app.clock.set(NOW + SWEEP_EVERY);
    unrelated_request(&early).await;
    assert!(app.notifier.emails().is_empty(), "its holder may still be sending: left");
    app.clock.advance(time::Duration::seconds(1));
    unrelated_request(&on_time).await;
    assert_eq!(sent(&app, 1).await, ["rowan@co.example"], "sent by the sweep");
    app.clock.advance(SWEEP_EVERY);
    unrelated_request(&early).await;
    unrelated_request(&on_time).await;
    assert_eq!(recipients(&app), ["rowan@co.example"], "cleared: sent once");

    // A retry with the key, however late, replays the answer and sends nothing more.
    let retry = create(&app, &body, Some("rowan")).await;
    assert!(replayed(&retry), "{}", retry.body);
    assert_eq!(recipients(&app), ["rowan@co.example"]);
}

async fn sweeps_of_many_containers_at_once_send_the_emails_once(app: TestApp) {
    let mut containers = Vec::new();
    for _ in 0..8 {
        containers.push(Arc::new(another_container(&app).await));
    }
    let (app, trap) = trapped(app);
    kill_after_commit(&app, &trap, create_request(&entity(APP, "hemlock"), Some("hemlock"))).await;
    app.clock.advance(SWEEP_EVERY);
    let at_once = containers.clone();
    test_support::at_once(at_once, |deps| async move { unrelated_request(&deps).await }).await;
    assert_eq!(sent(&app, 1).await, ["hemlock@co.example"]);
    // Later sweeps find nothing left.
    app.clock.advance(SWEEP_EVERY);
    unrelated_request(&containers[0]).await;
    assert_eq!(recipients(&app), ["hemlock@co.example"], "sent once");
}

async fn a_sweep_whose_sending_fails_leaves_the_emails_to_the_next(app: TestApp) {
    use std::sync::atomic::Ordering::SeqCst;
    let container = another_container(&app).await;
    let (app, trap) = trapped(app);
    kill_after_commit(&app, &trap, create_request(&entity(APP, "juniper"), Some("juniper"))).await;
    app.notifier.fail.store(true, SeqCst);
    app.clock.advance(SWEEP_EVERY);
    unrelated_request(&container).await;
    assert!(app.notifier.emails().is_empty());

    app.notifier.fail.store(false, SeqCst);
    app.clock.advance(SWEEP_EVERY);
    unrelated_request(&container).await;
    assert_eq!(sent(&app, 1).await, ["juniper@co.example"], "the next sweep sent them");
}

/// The store's list of due outboxes (the index, on DynamoDB) follows the commit, the hand-over
/// and the clearing: the longest due first, none before its instant.
async fn due_outboxes_follow_their_commit_hand_over_and_clearing(app: TestApp) {
    let (app, trap) = trapped(app);
    let store = &app.deps.store;
    kill_after_commit(&app, &trap, create_request(&entity(APP, "fir"), Some("fir"))).await;
    app.clock.advance(time::Duration::seconds(1));
    kill_again(&app, &trap, create_request(&entity(APP, "yew"), Some("yew"))).await;
    let caller = app_caller(&app).await;
    let scope = |key: &str| KeyScope::new(RouteId::EntitiesCreate, &caller, key);
    let lease = app::idempotency::OUTBOX_LEASE;
    let fir_due = NOW + lease;
    assert_eq!(store.due_outboxes(fir_due - time::Duration::seconds(1), 5).await.unwrap(), []);
    let due = store.due_outboxes(fir_due + time::Duration::seconds(1), 5).await.unwrap();
    assert_eq!(due.iter().map(|d| &d.scope).collect::<Vec<_>>(), [&scope("fir"), &scope("yew")]);
    assert_eq!(store.due_outboxes(fir_due + time::Duration::seconds(1), 1).await.unwrap().len(), 1);

    let handed = store.hand_over_outbox(&due[0].scope, &due[0].holder, "sweeper", fir_due + lease).await.unwrap();
    assert_eq!(handed.unwrap().iter().map(|e| e.to.as_str()).collect::<Vec<_>>(), ["fir@co.example"]);
    let again = store.hand_over_outbox(&due[0].scope, &due[0].holder, "another", fir_due + lease).await.unwrap();
    assert_eq!(again, None, "it is the sweeper's now");
    let now_due = store.due_outboxes(fir_due + time::Duration::seconds(1), 5).await.unwrap();
    assert_eq!(now_due, [due[1].clone()], "fir is due again only when the sweeper's lease is over");
    let later = store.due_outboxes(fir_due + lease, 5).await.unwrap();
    assert_eq!(later, [due[1].clone(), DueOutbox { scope: scope("fir"), holder: "sweeper".into() }]);

    assert!(store.settle_outbox(&scope("fir"), "sweeper", None).await.unwrap());
    assert_eq!(store.due_outboxes(NOW + time::Duration::days(2), 5).await.unwrap(), [due[1].clone()]);
}

test_support::store_suite!(
    a_dead_requests_emails_are_sent_by_the_next_request_that_finds_them_due,
    sweeps_of_many_containers_at_once_send_the_emails_once,
    a_sweep_whose_sending_fails_leaves_the_emails_to_the_next,
    due_outboxes_follow_their_commit_hand_over_and_clearing,
    a_retried_create_replays_the_same_entity_and_creates_nothing,
    a_replay_shows_the_current_session_never_the_first,
    sixteen_requests_with_one_key_run_once,
    the_same_key_with_other_params_is_refused,
    another_callers_key_is_another_key,
    a_refused_request_releases_its_key,
    a_bad_key_is_invalid_param_after_authentication,
    a_create_killed_after_its_commit_is_replayed_with_its_id_and_its_email_sent,
    an_email_change_killed_after_its_commit_is_replayed_and_notified_once,
    an_own_password_change_killed_after_its_commit_is_replayed_without_a_guess,
    a_write_whose_claim_was_lost_writes_nothing,
    a_retried_password_change_replays_instead_of_failing,
    a_failed_email_then_a_retry_replays_without_a_second_email_or_write,
    an_expired_record_is_claimed_anew_by_exactly_one_request,
);

/// The emails were sent but their outbox could not be cleared: the answer (kept with the
/// change) is given, and a retry, which cannot tell a request that sent them from one that died
/// first, sends them again once the lease is over (the second copy docs/api.md#idempotency names).
#[tokio::test(flavor = "current_thread")]
async fn an_outbox_that_cannot_be_cleared_is_sent_again_by_a_retry() {
    use std::sync::atomic::Ordering::SeqCst;
    let store = Arc::new(test_support::FaultyStore::default());
    let app = TestApp::on(store.clone()).await;
    store.answers_down.store(true, SeqCst);
    let captured = test_support::LogCapture::default();
    let _guard = captured.install();
    let body = entity(APP, "hazel");
    let first = create(&app, &body, Some("hazel")).await;
    assert_eq!(first.status(), "action-successful", "the saved change is answered as it is");
    assert!(
        captured.lines().iter().any(|l| l["fields"]["event"] == "idempotency-record-failed"),
        "{}",
        captured.text()
    );
    store.answers_down.store(false, SeqCst);
    app.clock.advance(time::Duration::seconds(5));
    assert_replay_of(&create(&app, &body, Some("hazel")).await, &first);
    assert_eq!(app.notifier.emails().len(), 2, "at least once: the retry sent it again");
    assert_replay_of(&create(&app, &body, Some("hazel")).await, &first);
    assert_eq!(app.notifier.emails().len(), 2, "and cleared it");
}
