//! Entities Create's notification through a fake Mandrill on a loopback socket, on every store.

use lambda_http::http::Method;
use serde_json::{json, Value};
use test_support::{request, FakeMandrill, FakeReply, Reply, TestApp};

fn body(slug: &str) -> Value {
    json!({"token": "demo-app-token", "integration_id": 7, "entity_slug": slug, "email": format!("{slug}@co.example"),
           "name": "Pine & <Co>", "active": true,
           "address": {"street": "1 Pine St", "city": "Denver", "state": "CO", "country": "US", "postal_code": "80202"}})
}

async fn create(app: &TestApp, body: Value) -> Reply {
    let req = request(Method::POST, "/api/v1/entities/create", Some("application/json"), body.to_string());
    Reply::from_response(entities_create::handle(&app.deps, req).await)
}

async fn the_new_entity_is_told_at_its_email(mut app: TestApp) {
    let fake = FakeMandrill::start(FakeReply::Recipients("queued")).await;
    app.deps.notifier = fake.notifier("md-key");
    assert_eq!(create(&app, body("pine")).await.status(), "action-successful");
    let sent = fake.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1["message"]["to"], json!([{"email": "pine@co.example", "type": "to"}]));
    let html = sent[0].1["message"]["html"].as_str().unwrap();
    assert!(html.contains("Pine &amp; &lt;Co&gt;") && !html.contains("<Co>"), "{html}");
}

async fn a_failed_send_keeps_the_new_entity(mut app: TestApp) {
    let fake = FakeMandrill::start(FakeReply::ErrorBody).await;
    app.deps.notifier = fake.notifier("md-key");
    let r = create(&app, body("spruce")).await;
    assert_eq!((r.status(), r.code), ("mandrill-email-failed", 500));
    let id = r.body["data"]["id"].as_u64().expect("data holds the saved entity");
    let stored = app.deps.store.entity(id).await.unwrap().expect("saved");
    assert_eq!(stored.entity_slug, "spruce");
    fake.set_reply(FakeReply::Recipients("sent"));
    assert_eq!(
        create(&app, body("spruce")).await.error_params(),
        ["entity_slug", "email"],
        "do not retry: it was saved"
    );
}

async fn a_slow_mandrill_is_given_up_on_after_three_seconds(mut app: TestApp) {
    let fake = FakeMandrill::start(FakeReply::Slow(std::time::Duration::from_secs(20))).await;
    app.deps.notifier = fake.notifier("md-key");
    let started = std::time::Instant::now();
    let r = create(&app, body("slow")).await;
    let took = started.elapsed();
    assert_eq!(r.status(), "mandrill-email-failed");
    assert!(took >= std::time::Duration::from_secs(3) && took < std::time::Duration::from_secs(6), "{took:?}");
    assert!(app.deps.store.entity(r.body["data"]["id"].as_u64().unwrap()).await.unwrap().is_some());
}

test_support::store_suite!(
    the_new_entity_is_told_at_its_email,
    a_failed_send_keeps_the_new_entity,
    a_slow_mandrill_is_given_up_on_after_three_seconds,
);
