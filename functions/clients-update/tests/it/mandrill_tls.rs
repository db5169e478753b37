//! The Mandrill client's HTTPS path, as in production: the `clients-update` binary under AWS's
//! Runtime Interface Emulator sends its notification to a fake Mandrill over TLS, trusting a
//! throwaway certificate authority through `SSL_CERT_FILE` (the setting the functions read
//! in production). A certificate the bundle does not vouch for, or one for another name, is
//! refused: the change is saved and the answer is `mandrill-email-failed`, with nothing sent.

use std::path::Path;

use serde_json::{json, Value};
use store::dynamodb::DynamoStore;
use test_support::rie::{Function, HttpAnswer};
use test_support::{base64, emulator, repo_root, seeded_table, FakeMandrill, FakeReply, TestCa};

const KEY: &str = "md-key-over-tls";

/// The binary with the seeded table, Mandrill at `mandrill_url` and `ca` as its only CA bundle.
fn function(table: &DynamoStore, mandrill_url: &str, ca: &TestCa) -> Function {
    let env = [
        ("AWS_REGION", "us-east-1".to_string()),
        ("RUST_LOG", "info".to_string()),
        ("TABLE_NAME", table.table().to_string()),
        ("DYNAMODB_ENDPOINT", emulator::endpoint().to_string()),
        ("MANDRILL_API_KEY", KEY.to_string()),
        ("MANDRILL_API_URL", mandrill_url.to_string()),
        ("SSL_CERT_FILE", ca.bundle().display().to_string()),
    ];
    Function::start(Path::new(env!("CARGO_BIN_EXE_clients-update")), "clients-update", &env)
}

/// An API Gateway event changing client 100's email to `new_email` (one notification, to the
/// old address).
fn email_change(request_id: &str, new_email: &str) -> String {
    let path = repo_root().join("events/clients-update.action-successful.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["body"] = base64(&json!({"token": "demo-employee-token", "id": 100, "email": new_email})).into();
    event["requestContext"]["requestId"] = request_id.into();
    event.to_string()
}

fn change_email(process: &Function, request_id: &str, new_email: &str) -> HttpAnswer {
    let answer = process.invoke(&email_change(request_id, new_email));
    assert_eq!(answer.body["data"]["email"], new_email, "the change is saved: {}\n{}", answer.body, process.output());
    answer
}

#[test]
fn notifications_go_over_https_to_a_certificate_the_ca_bundle_vouches_for() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let table = rt.block_on(seeded_table());
    let ca = TestCa::new("trusted");
    let mandrill =
        rt.block_on(FakeMandrill::start_tls(FakeReply::Recipients("sent"), &ca.server_identity(&["127.0.0.1"])));
    assert!(mandrill.url.starts_with("https://"));

    let process = function(&table, &mandrill.url, &ca);
    let answer = change_email(&process, "tls-trusted", "ada@tls.example");
    assert_eq!(answer.body["status"], "action-successful", "{}\n{}", answer.body, process.output());

    let sent = mandrill.requests();
    assert_eq!(sent.len(), 1, "one notification over TLS");
    assert_eq!(sent[0].0, "/api/1.0/messages/send");
    assert_eq!(sent[0].1["key"], KEY);
    assert_eq!(sent[0].1["message"]["to"][0]["email"], "ada@example.com", "to the old address");
    assert_eq!(mandrill.refused_handshakes(), 0);
}

#[test]
fn a_certificate_from_another_authority_or_for_another_name_is_refused() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let table = rt.block_on(seeded_table());
    let trusted = TestCa::new("trusted");
    let stranger = TestCa::new("stranger");
    let cases = [
        ("tls-unknown-issuer", "ada@unknown-issuer.example", stranger.server_identity(&["127.0.0.1"])),
        ("tls-wrong-name", "ada@wrong-name.example", trusted.server_identity(&["mandrillapp.com"])),
    ];
    for (request_id, new_email, identity) in cases {
        let mandrill = rt.block_on(FakeMandrill::start_tls(FakeReply::Recipients("sent"), &identity));
        let process = function(&table, &mandrill.url, &trusted);
        let answer = change_email(&process, request_id, new_email);
        assert_eq!(
            (answer.body["status"].as_str(), answer.code),
            (Some("mandrill-email-failed"), 500),
            "{request_id}: {}\n{}",
            answer.body,
            process.output()
        );
        mandrill.wait_for_refused_handshakes(1, || format!("{request_id}: {}", process.output()));
        assert!(mandrill.requests().is_empty(), "{request_id}: no request reached the server");
        process.wait_for_log(&format!("for {request_id}"), |l| {
            l["fields"]["request_id"] == request_id && l["fields"]["status"] == "mandrill-email-failed"
        });
        assert!(!process.output().contains(KEY), "{request_id}: the key is never logged");
    }
}
