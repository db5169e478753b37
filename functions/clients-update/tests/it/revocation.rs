//! A password change revokes every other session of its user in the same write as the new hash
//! (docs/api.md#clients-update-rules), on every store: with thousands of sessions at a constant
//! cost, never half done when the write fails, never written over a password changed since it
//! was checked.

use std::sync::Arc;

use domain::credentials::{token_hash, verify_password};
use domain::fixture::Fixture;
use domain::model::Session;
use futures_util::{stream, StreamExt};
use lambda_http::http::Method;
use serde_json::{json, Value};
use store::seam::{ClientPatch, ClientScope, PasswordChange, PatchError};
use test_support::{
    base64, fresh_table_with, request, CallFault, CallRecorder, FaultPoint, FaultyStore, Reply, TestApp, NOW,
};
use time::Duration;

const ADA: &str = "demo-client-token";
const ADA_PHONE: &str = "demo-client-phone-token";
const OLD: &str = "correct horse battery";
const NEW: &str = "brand new secret";
const PLANTED: usize = 2_000;

async fn update(app: &TestApp, body: Value) -> Reply {
    let req = request(Method::PUT, "/api/v1/clients/update", Some("application/json"), base64(&body));
    Reply::from_response(clients_update::handle(&app.deps, req).await)
}

/// The status a token's next request answers.
async fn status_of(app: &TestApp, token: &str) -> String {
    update(app, json!({"token": token, "id": 100})).await.status().to_string()
}

fn change(current: &str) -> Value {
    json!({"token": ADA, "id": 100, "password": NEW, "current_password": current})
}

fn planted_token(i: usize) -> String {
    format!("planted-session-{i}")
}

/// `count` sessions of Ada's user (10), written straight to the store, last used 30 minutes ago
/// (so that their next request touches them).
async fn plant_sessions(app: &TestApp, count: usize) {
    let sessions = (0..count)
        .map(|i| Session {
            token_hash: token_hash(&planted_token(i)),
            user_id: 10,
            created_at: NOW - Duration::hours(2),
            last_used_at: NOW - Duration::minutes(30),
            remember_me: i % 2 == 0,
        })
        .collect();
    app.deps
        .store
        .load_fixture(&Fixture { sessions, ..Fixture::default() }, store::seed::SeedMode::KeepExisting)
        .await
        .expect("sessions planted");
}

/// The status of each planted session's next request, 16 at a time.
async fn planted_statuses(app: &Arc<TestApp>, count: usize) -> Vec<String> {
    let next = |i| {
        let app = app.clone();
        async move { status_of(&app, &planted_token(i)).await }
    };
    stream::iter(0..count).map(next).buffer_unordered(16).collect().await
}

async fn thousands_of_sessions_are_revoked_at_a_constant_cost(app: TestApp, recorder: Option<CallRecorder>) {
    plant_sessions(&app, PLANTED).await;
    let app = Arc::new(app);
    assert_eq!(status_of(&app, &planted_token(PLANTED - 1)).await, "action-successful");
    if let Some(r) = &recorder {
        r.take();
    }
    let r = update(&app, change(OLD)).await;
    assert_eq!(r.status(), "action-successful", "{}", r.body);
    if let Some(r) = &recorder {
        // The same calls with 2 sessions or 2,000: registry, token, user, client, user, the
        // check count (update, then delete: it was right), client, one transaction (conditioned
        // on the client as read: `data` is what it stores); and the session's touch, which goes
        // out alongside the route's calls, so its place among them varies.
        let expected = ["Query", "GetItem", "GetItem", "GetItem", "GetItem", "UpdateItem", "DeleteItem", "GetItem"];
        let mut expected = expected.map(String::from).to_vec();
        expected.push("TransactWriteItems[Update,Update]".into());
        let mut calls = r.take();
        let touch = calls.iter().position(|c| c == "UpdateItem").expect("the session's touch");
        calls.remove(touch);
        assert_eq!(calls, expected);
    }
    let statuses = planted_statuses(&app, PLANTED).await;
    let survivors = statuses.iter().filter(|s| *s != "invalid-token").count();
    assert_eq!(survivors, 0, "{survivors} of {PLANTED} planted sessions survived the change");
    assert_eq!(status_of(&app, ADA_PHONE).await, "invalid-token");
    assert_eq!(status_of(&app, ADA).await, "action-successful", "the caller's own session stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_thousands_of_sessions_are_revoked_at_a_constant_cost() {
    thousands_of_sessions_are_revoked_at_a_constant_cost(TestApp::memory().await, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_thousands_of_sessions_are_revoked_at_a_constant_cost() {
    let recorder = CallRecorder::default();
    let store = fresh_table_with(Some(recorder.clone()), None).await;
    thousands_of_sessions_are_revoked_at_a_constant_cost(TestApp::on(Arc::new(store)).await, Some(recorder)).await;
}

/// Requests that touch sessions (`last_used_at`) while the change is written: none survive it.
async fn sessions_touched_during_the_change_are_revoked(app: TestApp) {
    const RACERS: usize = 8;
    plant_sessions(&app, RACERS).await;
    let app = Arc::new(app);
    let racing = (0..RACERS).map(|i| {
        let app = app.clone();
        tokio::spawn(async move { status_of(&app, &planted_token(i)).await })
    });
    let racing: Vec<_> = racing.collect();
    let r = update(&app, change(OLD)).await;
    assert_eq!(r.status(), "action-successful", "{}", r.body);
    for request in racing {
        request.await.expect("the racing request finished");
    }
    assert!(planted_statuses(&app, RACERS).await.iter().all(|s| s == "invalid-token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_sessions_touched_during_the_change_are_revoked() {
    sessions_touched_during_the_change_are_revoked(TestApp::memory().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_sessions_touched_during_the_change_are_revoked() {
    sessions_touched_during_the_change_are_revoked(TestApp::dynamodb().await).await;
}

/// After a password write that failed at `point`: the old state or the new one, never a mix.
async fn a_failed_write_leaves_the_old_state_or_the_new(app: &TestApp, point: FaultPoint) {
    let r = update(app, change(OLD)).await;
    assert_eq!(r.status(), "application-crash", "{}", r.body);
    let hash = app.deps.store.user(10).await.unwrap().unwrap().password_hash.unwrap();
    let (old_works, new_works) = (verify_password(OLD, &hash), verify_password(NEW, &hash));
    let other_session = status_of(app, ADA_PHONE).await;
    match point {
        FaultPoint::BeforeSend => {
            assert!(old_works && !new_works, "nothing was written");
            assert_eq!(other_session, "action-successful", "the old password and the old sessions");
        }
        FaultPoint::AfterCommit => {
            assert!(new_works && !old_works, "the write happened, its answer was lost");
            assert_eq!(other_session, "invalid-token", "the new password and the other sessions revoked");
        }
    }
    assert_eq!(status_of(app, ADA).await, "action-successful", "the caller's own session stays either way");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_a_failed_password_write_is_all_or_nothing() {
    for point in [FaultPoint::BeforeSend, FaultPoint::AfterCommit] {
        let store = Arc::new(FaultyStore::default());
        let app = TestApp::on(store.clone()).await;
        *store.update_fault.lock().unwrap() = Some(point);
        a_failed_write_leaves_the_old_state_or_the_new(&app, point).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_a_failed_password_write_is_all_or_nothing() {
    for point in [FaultPoint::BeforeSend, FaultPoint::AfterCommit] {
        let fault = CallFault::new("TransactWriteItems", point);
        let store = fresh_table_with(None, Some(fault.clone())).await;
        let app = TestApp::on(Arc::new(store)).await;
        fault.arm(true);
        a_failed_write_leaves_the_old_state_or_the_new(&app, point).await;
    }
}

/// A change checked against a hash that has since been replaced (another change landed between
/// the check and the write) writes nothing: the later session cut and password stand.
async fn a_change_checked_against_a_replaced_hash_writes_nothing(app: TestApp) {
    let stale = app.deps.store.user(10).await.unwrap().unwrap().password_hash.unwrap();
    let r = update(&app, json!({"token": "demo-employee-token", "id": 100, "password": "set by the office"})).await;
    assert_eq!(r.status(), "action-successful");
    let password = PasswordChange {
        user_id: 10,
        password_hash: "$argon2id$never-written".into(),
        keep_session: Some(token_hash(ADA)),
        checked_hash: Some(stale),
    };
    let patch = ClientPatch { client_id: 100, email: None, fields: Vec::new(), password: Some(password), now: NOW };
    let refused = app.deps.store.update_client_from(&patch, &ClientScope::ANY, None, None).await;
    assert!(matches!(refused, Err(PatchError::PasswordChanged)), "{refused:?}");
    let user = app.deps.store.user(10).await.unwrap().unwrap();
    assert!(verify_password("set by the office", &user.password_hash.unwrap()));
    assert_eq!(status_of(&app, ADA).await, "invalid-token", "the office's change revoked Ada's session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_a_change_checked_against_a_replaced_hash_writes_nothing() {
    a_change_checked_against_a_replaced_hash_writes_nothing(TestApp::memory().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_a_change_checked_against_a_replaced_hash_writes_nothing() {
    a_change_checked_against_a_replaced_hash_writes_nothing(TestApp::dynamodb().await).await;
}
