//! The Mandrill client against a fake Mandrill on a loopback socket, and its key from Secrets
//! Manager on the local emulator.

use app::aws::SdkTimeouts;
use std::time::{Duration, Instant};

use app::error::RouteResult;
use app::notify::mandrill::{MandrillConfig, MandrillNotifier, SEND_DEADLINE};
use app::notify::secret::{KeySource, SecretKey};
use app::notify::Notifier;
use app::pipeline::handle;
use app::pipeline::Context;
use domain::email::Email;
use domain::routes::RouteId;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use lambda_http::http::Method;
use serde_json::{json, Value};
use test_support::{emulator, request, FakeMandrill, FakeReply, LogCapture, Reply, TestApp};

fn email() -> Email {
    Email {
        to: "ada@example.com".into(),
        subject: "Your PlanOmatic password was changed".into(),
        text: "Hello Ada,\n\nThe password was changed.".into(),
        html: "<p>Hello Ada,</p>".into(),
    }
}

#[tokio::test]
async fn sends_exactly_the_messages_send_request() {
    let fake = FakeMandrill::start(FakeReply::Recipients("sent")).await;
    let config = MandrillConfig {
        api_url: fake.url.clone(),
        from_email: "ops@planocore.example".into(),
        from_name: "PlanOcore Ops".into(),
        ..MandrillConfig::default()
    };
    let notifier = MandrillNotifier::new(config, KeySource::Static("md-test-key".into()));
    notifier.send(&email()).await.expect("sent");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].0, "/api/1.0/messages/send");
    assert_eq!(
        requests[0].1,
        json!({"key": "md-test-key", "message": {
            "to": [{"email": "ada@example.com", "type": "to"}],
            "subject": "Your PlanOmatic password was changed",
            "text": "Hello Ada,\n\nThe password was changed.",
            "html": "<p>Hello Ada,</p>",
            "from_email": "ops@planocore.example",
            "from_name": "PlanOcore Ops"}})
    );
}

#[tokio::test]
async fn sent_queued_and_scheduled_are_success() {
    for status in ["sent", "queued", "scheduled"] {
        let fake = FakeMandrill::start(FakeReply::Recipients(status)).await;
        assert!(fake.notifier("k").send(&email()).await.is_ok(), "{status}");
    }
}

#[tokio::test]
async fn every_failure_kind_is_a_failure() {
    for reply in [
        FakeReply::Recipients("rejected"),
        FakeReply::Recipients("invalid"),
        FakeReply::ErrorBody,
        FakeReply::Http(502),
        FakeReply::Http(201),
    ] {
        let fake = FakeMandrill::start(reply.clone()).await;
        let err = fake.notifier("secret-key-value").send(&email()).await.expect_err("a failure");
        assert!(!err.to_string().contains("secret-key-value"), "{reply:?}: {err}");
        assert_eq!(fake.requests().len(), 1, "{reply:?}");
    }
    // Nothing listens on port 9: a transport error.
    let config = MandrillConfig { api_url: "http://127.0.0.1:9/api/1.0".into(), ..MandrillConfig::default() };
    let err = MandrillNotifier::new(config, KeySource::Static("k".into())).send(&email()).await.unwrap_err();
    assert!(err.to_string().contains("transport"), "{err}");
}

#[tokio::test]
async fn one_deadline_bounds_the_whole_send() {
    assert_eq!(SEND_DEADLINE, Duration::from_secs(3));
    let fake = FakeMandrill::start(FakeReply::Slow(Duration::from_secs(5))).await;
    let config =
        MandrillConfig { api_url: fake.url.clone(), deadline: Duration::from_millis(300), ..MandrillConfig::default() };
    let started = Instant::now();
    let err = MandrillNotifier::new(config, KeySource::Static("k".into())).send(&email()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(err.to_string().contains("no answer within 300 ms"), "{err}");
}

async fn secrets_client() -> aws_sdk_secretsmanager::Client {
    let endpoint = Some(emulator::secretsmanager_endpoint());
    let sdk = app::aws::sdk_config(&test_support::settings(), endpoint, SdkTimeouts::LOCAL_EMULATOR).await;
    aws_sdk_secretsmanager::Client::new(&sdk)
}

async fn new_secret(client: &aws_sdk_secretsmanager::Client, key: &str) -> String {
    let name = format!("mandrill-{}", uuid::Uuid::new_v4().simple());
    client
        .create_secret()
        .name(&name)
        .secret_string(json!({"mandrill_api_key": key}).to_string())
        .send()
        .await
        .expect("secret created on the emulator");
    name
}

fn secret_notifier(fake: &FakeMandrill, key: SecretKey) -> MandrillNotifier {
    MandrillNotifier::new(
        MandrillConfig { api_url: fake.url.clone(), ..MandrillConfig::default() },
        KeySource::Secret(key),
    )
}

fn keys_sent(fake: &FakeMandrill) -> Vec<String> {
    fake.requests().iter().map(|(_, body)| body["key"].as_str().unwrap_or("").to_string()).collect()
}

#[tokio::test]
async fn the_key_comes_from_secrets_manager_and_is_cached() {
    let sm = secrets_client().await;
    let name = new_secret(&sm, "key-one").await;
    let fake = FakeMandrill::start(FakeReply::Recipients("sent")).await;
    let cached = secret_notifier(&fake, SecretKey::with_client(name.clone(), sm.clone(), Duration::from_secs(300)));
    let uncached = secret_notifier(&fake, SecretKey::with_client(name.clone(), sm.clone(), Duration::ZERO));
    cached.send(&email()).await.unwrap();
    sm.put_secret_value()
        .secret_id(&name)
        .secret_string(json!({"mandrill_api_key": "key-two"}).to_string())
        .send()
        .await
        .unwrap();
    cached.send(&email()).await.unwrap();
    uncached.send(&email()).await.unwrap();
    assert_eq!(
        keys_sent(&fake),
        ["key-one", "key-one", "key-two"],
        "a cached key is reused; an expired one is read again"
    );
}

#[tokio::test]
async fn a_secret_without_the_key_or_an_unreachable_secrets_manager_fails_the_send() {
    let sm = secrets_client().await;
    let fake = FakeMandrill::start(FakeReply::Recipients("sent")).await;
    let name = format!("mandrill-{}", uuid::Uuid::new_v4().simple());
    sm.create_secret().name(&name).secret_string(r#"{"other": "x"}"#).send().await.unwrap();
    let err =
        secret_notifier(&fake, SecretKey::with_client(name, sm, Duration::ZERO)).send(&email()).await.unwrap_err();
    assert!(err.to_string().contains("no mandrill_api_key"), "{err}");

    let closed_port = test_support::settings_with(&[("SECRETSMANAGER_ENDPOINT", "http://127.0.0.1:9")]);
    let unreachable = SecretKey::new("prod/mandrill".into(), closed_port, Duration::from_secs(300));
    let started = Instant::now();
    let err = secret_notifier(&fake, unreachable).send(&email()).await.unwrap_err();
    assert!(started.elapsed() <= SEND_DEADLINE + Duration::from_millis(500), "{:?}", started.elapsed());
    let err = err.to_string();
    assert!(err.contains("the Mandrill key could not be read from Secrets Manager"), "{err}");
    assert!(fake.requests().is_empty(), "no key, no send");
}

/// The demo app on the memory store, its emails sent to `fake` with `key`.
async fn app_sending_to(fake: &FakeMandrill, key: &str) -> TestApp {
    let mut app = TestApp::memory().await;
    app.deps.notifier = fake.notifier(key);
    app
}

/// An employee's Entities Create, for the test routes below to answer.
fn employee_create() -> lambda_http::Request {
    request(Method::POST, "/api/v1/entities/create", Some("application/json"), r#"{"token":"demo-employee-token"}"#)
}

fn notify_route(ctx: Context<'_>) -> BoxFuture<'_, RouteResult> {
    async move {
        let email = Email {
            to: "ada@example.com".into(),
            subject: "S".into(),
            text: "BODY-TEXT-MARKER".into(),
            html: "<p>BODY-HTML-MARKER</p>".into(),
        };
        ctx.notify(&[email], json!({"id": 100})).await
    }
    .boxed()
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_send_logs_one_error_line_for_the_alarm_without_body_or_key() {
    let captured = LogCapture::default();
    let _guard = captured.install();

    let fake = FakeMandrill::start(FakeReply::ErrorBody).await;
    let app = app_sending_to(&fake, "md-secret-key-123").await;
    let reply = Reply::from_response(handle(&app.deps, RouteId::EntitiesCreate, notify_route, employee_create()).await);
    assert_eq!((reply.status(), reply.code), ("mandrill-email-failed", 500));
    assert_eq!(reply.body["data"], json!({"id": 100}), "the saved record comes back");

    let (text, lines) = (captured.text(), captured.lines());
    let alarms: Vec<&Value> = lines.iter().filter(|l| l["fields"]["event"] == "mandrill-email-failed").collect();
    assert_eq!(alarms.len(), 1, "{text}");
    assert_eq!(alarms[0]["level"], "ERROR");
    assert_eq!(alarms[0]["fields"]["route"], "entities.create");
    assert_eq!(alarms[0]["fields"]["request_id"], reply.body["request_id"]);
    for secret in ["md-secret-key-123", "BODY-TEXT-MARKER", "BODY-HTML-MARKER", "demo-employee-token"] {
        assert!(!text.contains(secret), "{secret} in the logs: {text}");
    }
}

/// A write that used most of the request's deadline (a slow store), then a slow Mandrill: the
/// emails get what is left, minus a reserve, so the saved change is answered
/// `mandrill-email-failed` with its record, never `application-crash` at the deadline.
fn slow_write_then_notify(ctx: Context<'_>) -> BoxFuture<'_, RouteResult> {
    async move {
        tokio::time::sleep(app::request_id::REQUEST_DEADLINE - Duration::from_millis(1500)).await;
        let email = |to: &str| Email { to: to.into(), subject: "S".into(), text: "T".into(), html: "<p>T</p>".into() };
        ctx.notify(&[email("a@example.com"), email("b@example.com")], json!({"id": 100})).await
    }
    .boxed()
}

#[tokio::test]
async fn a_slow_store_then_a_slow_mandrill_is_mandrill_email_failed_within_the_deadline() {
    let fake = FakeMandrill::start(FakeReply::Slow(Duration::from_secs(10))).await;
    let app = app_sending_to(&fake, "md-key").await;
    let req = employee_create();
    let started = Instant::now();
    let reply = Reply::from_response(handle(&app.deps, RouteId::EntitiesCreate, slow_write_then_notify, req).await);
    assert_eq!((reply.status(), reply.body["data"].clone()), ("mandrill-email-failed", json!({"id": 100})));
    assert!(started.elapsed() < app::request_id::REQUEST_DEADLINE, "{:?}", started.elapsed());
    assert_eq!(fake.requests().len(), 2, "both emails were attempted, at once");
}
