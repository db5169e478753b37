//! Clients Update's notifications through a fake Mandrill on a loopback socket, on every store.

use app::notify::mandrill::{MandrillConfig, MandrillNotifier};
use app::notify::secret::{KeySource, SecretKey};
use lambda_http::http::Method;
use serde_json::{json, Value};
use test_support::{base64, request, FakeMandrill, FakeReply, Reply, TestApp};

async fn update(app: &TestApp, body: Value) -> Reply {
    let req = request(Method::PUT, "/api/v1/clients/update", Some("application/json"), base64(&body));
    Reply::from_response(clients_update::handle(&app.deps, req).await)
}

async fn email_of(app: &TestApp, id: u64) -> Value {
    update(app, json!({"token": "demo-employee-token", "id": id})).await.body["data"]["email"].clone()
}

async fn an_email_change_is_sent_to_the_old_address(mut app: TestApp) {
    let fake = FakeMandrill::start(FakeReply::Recipients("sent")).await;
    app.deps.notifier = fake.notifier("md-key");
    let r = update(&app, json!({"token": "demo-employee-token", "id": 100, "email": "ada@new.example"})).await;
    assert_eq!(r.status(), "action-successful", "{}", r.body);
    let sent = fake.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1["key"], "md-key");
    assert_eq!(sent[0].1["message"]["to"], json!([{"email": "ada@example.com", "type": "to"}]));
    assert_eq!(sent[0].1["message"]["from_email"], "no-reply@planomatic.com");
    assert!(sent[0].1["message"]["text"].as_str().unwrap().contains("ada@new.example"));
}

async fn a_failed_send_keeps_the_saved_change(mut app: TestApp) {
    let fake = FakeMandrill::start(FakeReply::Http(500)).await;
    app.deps.notifier = fake.notifier("md-key");
    let r = update(&app, json!({"token": "demo-employee-token", "id": 100, "email": "ada@kept.example", "phone": "1"}))
        .await;
    assert_eq!((r.status(), r.code), ("mandrill-email-failed", 500));
    assert_eq!(r.body["data"]["email"], "ada@kept.example", "data holds the saved record");
    assert_eq!(email_of(&app, 100).await, "ada@kept.example");

    fake.set_reply(FakeReply::Recipients("rejected"));
    let r = update(
        &app,
        json!({"token": "demo-client-token", "id": 100, "password": "a newer password", "current_password": "correct horse battery"}),
    )
    .await;
    assert_eq!(r.status(), "mandrill-email-failed");
    fake.set_reply(FakeReply::Recipients("sent"));
    let r = update(
        &app,
        json!({"token": "demo-client-token", "id": 100, "password": "newest password!", "current_password": "a newer password"}),
    )
    .await;
    assert_eq!(r.status(), "action-successful", "the first password change was saved: {}", r.body);
}

async fn every_email_is_attempted_when_one_is_rejected(mut app: TestApp) {
    // An email change and a password change at once: the old address is told of the move and
    // the new one of the password, even though Mandrill rejects the first.
    let fake = FakeMandrill::start(FakeReply::Recipients("rejected")).await;
    app.deps.notifier = fake.notifier("md-key");
    let body = json!({"token": "demo-client-token", "id": 100, "email": "ada@escape.example",
                      "password": "a brand new secret", "current_password": "correct horse battery"});
    let r = update(&app, body).await;
    assert_eq!((r.status(), r.body["data"]["email"].clone()), ("mandrill-email-failed", json!("ada@escape.example")));
    assert!(r.body["session"].is_object(), "the caller's session is still in the answer: {}", r.body);
    let mut to: Vec<String> =
        fake.requests().iter().map(|(_, b)| b["message"]["to"][0]["email"].as_str().unwrap().to_string()).collect();
    to.sort();
    assert_eq!(to, ["ada@escape.example", "ada@example.com"], "both emails were attempted");
    let again = json!({"token": "demo-client-token", "id": 100, "password": "another new one",
                       "current_password": "a brand new secret"});
    fake.set_reply(FakeReply::Recipients("sent"));
    assert_eq!(update(&app, again).await.status(), "action-successful", "the password change was saved");
}

async fn secrets_manager_is_asked_only_when_an_email_is_sent(mut app: TestApp) {
    let fake = FakeMandrill::start(FakeReply::Recipients("sent")).await;
    let closed_port = test_support::settings_with(&[("SECRETSMANAGER_ENDPOINT", "http://127.0.0.1:9")]);
    let unreachable = SecretKey::new("prod/mandrill".into(), closed_port, std::time::Duration::from_secs(300));
    let config = MandrillConfig { api_url: fake.url.clone(), ..MandrillConfig::default() };
    app.deps.notifier = std::sync::Arc::new(MandrillNotifier::new(config, KeySource::Secret(unreachable)));
    let r = update(&app, json!({"token": "demo-employee-token", "id": 100, "phone": "720-555-0000"})).await;
    assert_eq!(r.status(), "action-successful", "no email, no key lookup");
    let r = update(&app, json!({"token": "demo-employee-token", "id": 100, "email": "ada@moved.example"})).await;
    assert_eq!((r.status(), r.body["data"]["email"].clone()), ("mandrill-email-failed", json!("ada@moved.example")));
    assert_eq!(email_of(&app, 100).await, "ada@moved.example");
    assert!(fake.requests().is_empty());
}

test_support::store_suite!(
    an_email_change_is_sent_to_the_old_address,
    a_failed_send_keeps_the_saved_change,
    every_email_is_attempted_when_one_is_rejected,
    secrets_manager_is_asked_only_when_an_email_is_sent,
);
