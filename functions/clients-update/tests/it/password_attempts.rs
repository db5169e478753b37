//! The limit on `current_password` checks (docs/api.md#clients-update-rules), on every store:
//! 5 wrong values per user in 15 minutes, then refused with `Retry-After` until the window closes.

use std::sync::Arc;

use lambda_http::http::Method;
use serde_json::{json, Value};
use test_support::{base64, request, Reply, TestApp};
use time::Duration;

const ADA: &str = "demo-client-token";
const RIGHT: &str = "correct horse battery";

async fn update(app: &TestApp, body: Value) -> Reply {
    let req = request(Method::PUT, "/api/v1/clients/update", Some("application/json"), base64(&body));
    Reply::from_response(clients_update::handle(&app.deps, req).await)
}

/// Ada's own password change to `new`, sent with `current`.
fn ada_change(current: &str, new: &str) -> Value {
    json!({"token": ADA, "id": 100, "password": new, "current_password": current})
}

/// The refusal of a locked user: `invalid-param` on `current_password` with the wait in seconds.
fn assert_locked(r: &Reply, seconds: u64) {
    assert_eq!((r.status(), r.code, r.error_params()), ("invalid-param", 400, vec!["current_password".to_string()]));
    assert_eq!(r.body["errors"][0]["message"], "Too many attempts; try again later.");
    assert_eq!(r.headers.get("retry-after").map(|v| v.to_str().unwrap().to_string()), Some(seconds.to_string()));
}

fn assert_wrong(r: &Reply) {
    assert_eq!((r.status(), r.error_params()), ("invalid-param", vec!["current_password".to_string()]));
    assert_eq!(r.body["errors"][0]["message"], "This is not the current password.");
    assert!(r.headers.get("retry-after").is_none());
}

/// Sends every body at once (`test_support::at_once`).
async fn in_parallel(app: &Arc<TestApp>, bodies: Vec<Value>) -> Vec<Reply> {
    let app = app.clone();
    test_support::at_once(bodies, move |body| {
        let app = app.clone();
        async move { update(&app, body).await }
    })
    .await
}

async fn six_parallel_guesses_lock_the_user_until_the_window_closes(app: TestApp) {
    let app = Arc::new(app);
    let guesses = (0..6).map(|i| ada_change(&format!("wrong guess {i}"), "never set 1")).collect();
    let replies = in_parallel(&app, guesses).await;
    assert!(replies.iter().all(|r| r.error_params() == ["current_password"]), "every guess is refused");
    // Each guess is counted before it is checked: five are checked, the sixth is refused unchecked.
    let locked = replies.iter().filter(|r| r.headers.contains_key("retry-after")).count();
    assert_eq!(locked, 1, "{:?}", replies.iter().map(|r| &r.body["errors"]).collect::<Vec<_>>());
    // The right password is refused too, until 15 minutes after the first failure.
    assert_locked(&update(&app, ada_change(RIGHT, "new password 1")).await, 900);
    app.clock.advance(Duration::minutes(14));
    assert_locked(&update(&app, ada_change(RIGHT, "new password 1")).await, 60);
    app.clock.advance(Duration::seconds(59));
    assert_locked(&update(&app, ada_change(RIGHT, "new password 1")).await, 1);
    app.clock.advance(Duration::seconds(1));
    let r = update(&app, ada_change(RIGHT, "new password 1")).await;
    assert_eq!(r.status(), "action-successful", "the window has closed: {}", r.body);
    assert!(app.notifier.emails().iter().all(|e| !e.text.contains("wrong guess")));
}

async fn a_right_password_clears_the_count(app: TestApp) {
    let mut current = RIGHT.to_string();
    for round in 0..3 {
        for i in 0..4 {
            assert_wrong(&update(&app, ada_change(&format!("wrong {round}.{i}"), "never set 2")).await);
        }
        let new = format!("new password round {round}");
        let r = update(&app, ada_change(&current, &new)).await;
        assert_eq!(r.status(), "action-successful", "round {round}: {}", r.body);
        current = new;
    }
}

async fn the_limit_is_per_user_and_on_own_changes_only(app: TestApp) {
    for i in 0..6 {
        update(&app, ada_change(&format!("wrong {i}"), "never set 3")).await;
    }
    assert_locked(&update(&app, ada_change(RIGHT, "new password 3")).await, 900);
    // Grace (user 14) changes her own password as usual.
    let grace = json!({"token": "demo-grace-token", "id": 101, "password": "grace new one",
                       "current_password": "summit password"});
    assert_eq!(update(&app, grace).await.status(), "action-successful");
    // An employee still sets Ada's password (no current one is checked).
    let employee = json!({"token": "demo-employee-token", "id": 100, "password": "set by the office"});
    assert_eq!(update(&app, employee).await.status(), "action-successful");
}

test_support::store_suite!(
    six_parallel_guesses_lock_the_user_until_the_window_closes,
    a_right_password_clears_the_count,
    the_limit_is_per_user_and_on_own_changes_only,
);
