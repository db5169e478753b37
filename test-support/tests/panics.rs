//! A panic in a handler is answered `application-crash` in the envelope and the process goes
//! on: over a socket and under the Runtime Interface Emulator, through the test-only binaries
//! of `src/bin` (the shipped binaries carry no fault injection). Both serve the real handlers on
//! the demo fixture in a store that panics whenever a client is read.

use std::path::Path;

use serde_json::{json, Value};
use test_support::rie::Function;
use test_support::{base64, http, ServeProcess};

/// Clients Update without fields reads the client (and answers it as it is): the store panics
/// there, after authentication.
fn update_body() -> String {
    base64(&json!({"token": "demo-employee-token", "id": 100}))
}

#[test]
fn a_panic_in_a_handler_is_application_crash_and_the_server_goes_on() {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_panicking-serve"));
    command.env("RUST_LOG", "warn");
    let server = ServeProcess::start(command);
    let r = http(
        server.address(),
        "PUT",
        "/api/v1/clients/update",
        Some("application/json"),
        &[],
        update_body().as_bytes(),
    );
    assert_eq!((r.code, r.body["status"].as_str()), (500, Some("application-crash")), "{}", r.body);
    assert_eq!(r.header("x-request-id"), r.body["request_id"].as_str(), "an envelope, with its request id");
    let body = br#"{"token":"demo-employee-token","integration_id":8}"#;
    let r = http(server.address(), "POST", "/api/v1/entities/create", Some("application/json"), &[], body);
    assert_eq!(r.body["status"], "missing-param", "the same process answers the next request");
    let r = http(
        server.address(),
        "PUT",
        "/api/v1/clients/update",
        Some("application/json"),
        &[],
        update_body().as_bytes(),
    );
    assert_eq!(r.body["status"], "application-crash", "and the next panic too");
}

/// An API Gateway event of `events/`, with `body` in place of its own.
fn update_event(name: &str, body: String) -> String {
    let path = test_support::repo_root().join("events").join(name);
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("the event")).expect("JSON");
    event["body"] = Value::String(body);
    event.to_string()
}

#[test]
fn a_panic_under_the_runtime_interface_emulator_is_application_crash_and_the_function_goes_on() {
    let binary = Path::new(env!("CARGO_BIN_EXE_panicking-function"));
    let env = [("AWS_REGION", "us-east-1".to_string()), ("RUST_LOG", "info".to_string())];
    let function = Function::start(binary, "panicking-function", &env);

    let reply = function.invoke(&update_event("clients-update.action-successful.json", update_body()));
    assert_eq!((reply.code, reply.body["status"].as_str()), (500, Some("application-crash")), "{}", function.output());
    assert_eq!(
        reply.body["request_id"], "evt-clients-update-action-successful",
        "an envelope, never an invocation error"
    );
    function.wait_for_log("for the panic", |l| {
        l["fields"]["event"] == "request" && l["fields"]["status"] == "application-crash"
    });

    let next = base64(&json!({"token": "demo-employee-token", "first_name": "Ada"}));
    let reply = function.invoke(&update_event("clients-update.missing-param.json", next));
    assert_eq!(
        reply.body["status"],
        "missing-param",
        "the same process answers the next invocation: {}",
        function.output()
    );
    assert_eq!(reply.body["request_id"], "evt-clients-update-missing-param");
}
