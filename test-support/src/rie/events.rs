//! Every event of `events/` sent to a function binary under the emulator, as a warm container
//! gets them.

use std::path::Path;

use serde_json::Value;

use super::function::{Function, HttpAnswer};
use crate::emulator;
use crate::events::{event, events_with_prefix};
use crate::events::{replays, PREFLIGHT};
use crate::repo::repo_root;
use crate::tables::seeded_table;

/// Runs `binary` (the function `function`) under the emulator and sends it every
/// `events/<function>.*.json`, one after the other as a warm container gets them, checking the
/// status the file name gives, the HTTP code, the envelope headers, the echoed request id, the
/// request's JSON log line and its metrics line. With `store`, the function gets a freshly seeded DynamoDB Local
/// table; afterwards the table is deleted and a request must answer `application-crash` (an
/// envelope, never an invocation error) and log it. An event with an `Idempotency-Key` that wrote
/// is sent again and must be replayed. Returns the number of events.
pub fn check_events_on_binary(function: &str, binary: &str, store: bool) -> usize {
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let table = store.then(|| rt.block_on(seeded_table()));
    let mut env = vec![("AWS_REGION", "us-east-1".to_string()), ("RUST_LOG", "info".to_string())];
    if let Some(table) = &table {
        env.push(("TABLE_NAME", table.table().to_string()));
        env.push(("DYNAMODB_ENDPOINT", emulator::endpoint().to_string()));
        // Read once and kept, so that the registry outlives the table for the crash check.
        env.push(("REGISTRY_CACHE_SECONDS", "3600".to_string()));
    }
    let process = Function::start(Path::new(binary), function, &env);

    let names = events_with_prefix(&format!("{function}."));
    assert!(!names.is_empty(), "no events for {function}");
    for name in &names {
        let expected = name.split('.').nth(1).expect("<function>.<status>[.<variant>].json");
        let request_id = format!("evt-{}", name.trim_end_matches(".json").replace('.', "-"));
        let reply = process.invoke(&event_text(name));
        if expected == PREFLIGHT {
            assert_eq!(reply.code, 204, "{name}: {}\n{}", reply.body, process.output());
            assert_eq!(reply.body, Value::Null, "{name}: no body");
            continue;
        }
        check_reply(&reply, name, expected, &request_id, &process);
        process.wait_for_log(&format!("for {name}"), |l| is_request_line(l, &request_id, expected));
        process.wait_for_log(&format!("metrics for {name}"), |l| is_metrics_line(l, &request_id, expected));
        if replays(&event(name), domain::Status::from_slug(expected).expect("a status")) {
            let again = process.invoke(&event_text(name));
            assert_eq!(again.headers.get("idempotent-replayed").and_then(Value::as_str), Some("true"), "{name}");
            assert_eq!((again.code, &again.body), (reply.code, &reply.body), "{name}: the first answer, replayed");
        }
    }

    if let Some(table) = table {
        rt.block_on(table.client().delete_table().table_name(table.table()).send()).expect("table deleted");
        let name = names.iter().find(|n| n.contains(".action-successful")).expect("a successful event to replay");
        let request_id = format!("evt-{}", name.trim_end_matches(".json").replace('.', "-"));
        let reply = process.invoke(&event_text(name));
        check_reply(&reply, name, "application-crash", &request_id, &process);
        process.wait_for_log("for the crash", |l| is_request_line(l, &request_id, "application-crash"));
        // What template.yaml's ApplicationCrashAlarm counts.
        process.wait_for_log("metrics for the crash", |l| is_metrics_line(l, &request_id, "application-crash"));
    }
    names.len()
}

fn event_text(name: &str) -> String {
    let path = repo_root().join("events").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check_reply(reply: &HttpAnswer, name: &str, expected: &str, request_id: &str, process: &Function) {
    let status = domain::Status::from_slug(expected).unwrap_or_else(|| panic!("{name}: unknown status {expected}"));
    assert_eq!(reply.body["status"], expected, "{name}: {}\n{}", reply.body, process.output());
    assert_eq!(reply.code, status.http_code(), "{name}");
    assert_eq!(reply.body["request_id"], request_id, "{name}");
    assert_eq!(reply.headers.get("x-request-id").and_then(Value::as_str), Some(request_id), "{name}");
    assert_eq!(
        reply.headers.get("content-type").and_then(Value::as_str),
        Some("application/json; charset=utf-8"),
        "{name}"
    );
    assert_eq!(reply.headers.get("cache-control").and_then(Value::as_str), Some("no-store"), "{name}");
}

/// The one line every request logs (tracing-subscriber's JSON: the fields under "fields").
fn is_request_line(line: &Value, request_id: &str, status: &str) -> bool {
    let fields = &line["fields"];
    fields["event"] == "request" && fields["request_id"] == request_id && fields["status"] == status
}

/// The request's metrics line (CloudWatch Embedded Metric Format, shared/app/src/emf.rs): its
/// dimensions and the request id at the top level.
fn is_metrics_line(line: &Value, request_id: &str, status: &str) -> bool {
    line.get("_aws").is_some() && line["request_id"] == request_id && line["status"] == status
}
