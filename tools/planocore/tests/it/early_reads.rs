//! The store calls a request makes while its caller is being authenticated (issue 26): the
//! client an email change reads, the next entity id. What they bring is used only once the
//! caller is known and allowed; a refused request shows none of it, and ids never repeat.

use std::sync::Arc;

use lambda_http::Request;
use serde_json::{json, Value};
use test_support::{Reply, TestApp};

use crate::round_trips::{create, update};

const ADA: &str = "demo-client-token"; // user 10, client 100 only

async fn send(app: &TestApp, req: Request) -> Reply {
    Reply::from_response(planocore::handle(&app.deps, req).await)
}

async fn client_email(app: &TestApp, id: u64) -> String {
    app.deps.store.client(id).await.unwrap().expect("the client exists").email
}

#[tokio::test]
async fn an_email_change_shows_nothing_of_a_client_the_caller_may_not_see() {
    let app = TestApp::dynamodb().await;
    let other = client_email(&app, 101).await;
    let missing = send(&app, update(json!({"token": ADA, "id": 999_999, "email": "x@early.example"}))).await;
    assert_eq!((missing.status(), missing.error_params()), ("invalid-param", vec!["id".to_string()]));
    let refusals = [
        (ADA, "invalid-param"), // someone else's client: as if it did not exist
        ("no-such-token", "invalid-token"),
        ("demo-expired-token", "session-expired"),
        ("demo-norole-token", "client-required"),
    ];
    for (token, status) in refusals {
        let r = send(&app, update(json!({"token": token, "id": 101, "email": "taken-over@early.example"}))).await;
        assert_eq!(r.status(), status, "{token}: {}", r.body);
        assert_eq!(r.body["data"], Value::Null, "{token}");
        assert!(!r.body.to_string().contains(&other), "{token} saw client 101's email: {}", r.body);
        if status == "invalid-param" {
            assert_eq!(
                (r.body["message"].clone(), r.body["errors"].clone()),
                (missing.body["message"].clone(), missing.body["errors"].clone())
            );
        }
    }
    assert_eq!(client_email(&app, 101).await, other, "nothing was written");
    // The caller's own client, read the same way, changes.
    let own = send(&app, update(json!({"token": ADA, "id": 100, "email": "ada@early.example"}))).await;
    assert_eq!(own.status(), "action-successful", "{}", own.body);
    assert_eq!(own.body["data"]["email"], "ada@early.example");
    assert_eq!(client_email(&app, 100).await, "ada@early.example");
}

#[tokio::test]
async fn entity_ids_never_repeat_when_refused_creates_take_one() {
    let app = TestApp::dynamodb().await;
    let first = send(&app, create("demo-app-token", "early-first")).await;
    assert_eq!(first.status(), "action-successful", "{}", first.body);
    // Refused after their id was taken: a wrong token, an application without the permission,
    // a slug already taken.
    let refused = [
        ("no-such-token", "early-refused-1", "invalid-token"),
        ("demo-app-noperm-token", "early-refused-2", "permission-denied"),
        ("demo-app-token", "early-first", "invalid-param"),
    ];
    for (token, slug, status) in refused {
        assert_eq!(send(&app, create(token, slug)).await.status(), status, "{token} {slug}");
    }
    // Accepted and refused creates at once.
    let requests = (0..12).map(|i| {
        let token = if i % 3 == 0 { "no-such-token" } else { "demo-app-token" };
        create(token, &format!("early-{i}"))
    });
    let app = Arc::new(app);
    let mut sent = tokio::task::JoinSet::new();
    for req in requests {
        let app = app.clone();
        sent.spawn(async move { send(&app, req).await });
    }
    let replies: Vec<Reply> = sent.join_all().await;
    let created: Vec<u64> = replies
        .iter()
        .filter(|r| r.status() == "action-successful")
        .map(|r| r.body["data"]["id"].as_u64().expect("an id"))
        .collect();
    assert_eq!(created.len(), 8, "{:?}", replies.iter().map(Reply::status).collect::<Vec<_>>());
    let first_id = first.body["data"]["id"].as_u64().unwrap();
    assert!(created.iter().all(|id| *id > first_id), "{created:?} after {first_id}");
    let mut distinct = created.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), created.len(), "no id was given twice: {created:?}");
    let stored = app.entity_ids().await;
    assert!(created.iter().all(|id| stored.contains(id)), "every answered entity is stored: {created:?}");
}
