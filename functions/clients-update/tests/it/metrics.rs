//! The `clients-update` binary under AWS's Runtime Interface Emulator, as Lambda runs it: each
//! request writes one CloudWatch Embedded Metric Format line next to its log line, and the
//! lines hold to the EMF specification; `AWS_LAMBDA_LOG_LEVEL=WARN` silences the INFO lines
//! (the request lines) and leaves the metrics.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use test_support::rie::Function;
use test_support::{emulator, repo_root, seeded_table};

const BINARY: &str = env!("CARGO_BIN_EXE_clients-update");
const NAMESPACE: &str = "PlanOcore/test";
const TRACE: &str = "Root=1-67891233-abcdef012345678912345678;Sampled=1";

/// The units CloudWatch accepts (the `Unit` of a metric definition).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Checks `doc` against the EMF specification: `_aws` with an epoch-millisecond `Timestamp`
/// and `CloudWatchMetrics` directives (`Namespace`, `Dimensions` as sets of at most 30 names,
/// `Metrics` with a `Name` and a valid `Unit`), every dimension a top-level string and every
/// metric a top-level number. Returns the metric names and units.
fn check_emf(doc: &Value) -> Vec<(String, String)> {
    let aws = doc["_aws"].as_object().unwrap_or_else(|| panic!("no _aws object: {doc}"));
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let timestamp = aws["Timestamp"].as_u64().unwrap_or_else(|| panic!("Timestamp is not an integer: {doc}"));
    assert!(now_ms - 120_000 < timestamp && timestamp <= now_ms, "Timestamp {timestamp} is not now in ms");
    let directives = aws["CloudWatchMetrics"].as_array().expect("CloudWatchMetrics is an array");
    assert!(!directives.is_empty());
    let mut metrics = Vec::new();
    for directive in directives {
        let namespace = directive["Namespace"].as_str().expect("a Namespace");
        assert!((1..=255).contains(&namespace.len()) && !namespace.trim().is_empty());
        assert_eq!(namespace, NAMESPACE);
        for set in directive["Dimensions"].as_array().expect("Dimensions is an array") {
            let set = set.as_array().expect("a dimension set is an array");
            assert!(!set.is_empty() && set.len() <= 30);
            for name in set {
                let name = name.as_str().expect("a dimension name");
                assert!(doc[name].as_str().is_some_and(|v| !v.is_empty()), "dimension {name} is no top-level string");
            }
        }
        let definitions = directive["Metrics"].as_array().expect("Metrics is an array");
        assert!(!definitions.is_empty() && definitions.len() <= 100);
        for definition in definitions {
            let name = definition["Name"].as_str().expect("a metric Name");
            let unit = definition["Unit"].as_str().unwrap_or("None");
            assert!(UNITS.contains(&unit), "{name}: unit {unit}");
            assert!(doc[name].is_number(), "metric {name} is no top-level number: {doc}");
            metrics.push((name.to_string(), unit.to_string()));
        }
    }
    metrics
}

fn event(name: &str, trace: Option<&str>) -> String {
    let text = std::fs::read_to_string(repo_root().join("events").join(name)).unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    if let Some(trace) = trace {
        event["headers"]["x-amzn-trace-id"] = trace.into();
    }
    event.to_string()
}

fn request_id(name: &str) -> String {
    format!("evt-{}", name.trim_end_matches(".json").replace('.', "-"))
}

fn emf_line(function: &Function, request_id: &str) -> Value {
    function
        .wait_for_log(&format!("EMF for {request_id}"), |l| l.get("_aws").is_some() && l["request_id"] == request_id)
}

fn start(table: &str, extra: &[(&str, &str)]) -> Function {
    let mut env = vec![
        ("AWS_REGION", "us-east-1".to_string()),
        ("TABLE_NAME", table.to_string()),
        ("DYNAMODB_ENDPOINT", emulator::endpoint().to_string()),
        ("METRICS_NAMESPACE", NAMESPACE.to_string()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    Function::start(Path::new(BINARY), "clients-update", &env)
}

const EVENTS: [&str; 3] = [
    "clients-update.action-successful.json",
    "clients-update.invalid-token.json",
    "clients-update.route-non-existent.json",
];

#[test]
fn each_request_writes_one_emf_line_that_holds_to_the_specification() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let table = rt.block_on(seeded_table());
    let function = start(table.table(), &[("RUST_LOG", "info")]);
    for (i, name) in EVENTS.iter().enumerate() {
        let reply = function.invoke(&event(name, (i == 0).then_some(TRACE)));
        let status = name.split('.').nth(1).unwrap();
        assert_eq!(reply.body["status"], status, "{name}");
        let id = request_id(name);
        let doc = emf_line(&function, &id);
        let metrics: BTreeSet<(String, String)> = check_emf(&doc).into_iter().collect();
        let expected: BTreeSet<(String, String)> =
            app::emf::REQUEST_METRICS.iter().map(|(n, u)| (n.to_string(), u.name().to_string())).collect();
        assert_eq!(metrics, expected, "{doc}");
        let directives = &doc["_aws"]["CloudWatchMetrics"];
        assert_eq!(directives[0]["Dimensions"], serde_json::json!([["route"], ["route", "status"]]));
        // `requests` per version too, for the crash alarm that gates a rollout.
        let per_version = [["function_name", "function_version", "status"]];
        assert_eq!(directives[1]["Dimensions"], serde_json::json!(per_version));
        assert_eq!(directives[1]["Metrics"], serde_json::json!([{"Name": "requests", "Unit": "Count"}]));
        assert_eq!(doc["status"], status);
        assert_eq!(doc["route"], if status == "route-non-existent" { "none" } else { "clients.update" });
        assert_eq!((doc["requests"].as_u64(), doc["cold_start"].as_u64()), (Some(1), Some(u64::from(i == 0))));
        assert_eq!(
            (doc["function_name"].as_str(), doc["function_version"].as_str()),
            (Some("clients-update"), Some("$LATEST"))
        );
        assert!(doc["latency"].as_f64().is_some_and(|l| l >= 0.0));
        if status == "action-successful" {
            // Registry, token, update at least (the session touch and the branding read may add).
            assert!(doc["store_calls"].as_u64().is_some_and(|n| n >= 3), "{doc}");
            assert_eq!(doc["trace_id"], TRACE);
        }
        assert_eq!(doc["emails_failed"], 0);

        // Its request line carries the same, and one EMF line per request.
        let line = function.wait_for_log(&format!("request line {id}"), |l| l["fields"]["request_id"] == id.as_str());
        let f = &line["fields"];
        assert_eq!(f["cold_start"], i == 0, "{line}");
        assert_eq!(
            (f["function_name"].as_str(), f["function_version"].as_str()),
            (Some("clients-update"), Some("$LATEST"))
        );
        assert_eq!(f["store_calls"], doc["store_calls"]);
        if i == 0 {
            assert_eq!(f["trace_id"], TRACE);
        }
        let emf_lines = function.log_lines().into_iter().filter(|l| l["request_id"] == id.as_str()).count();
        assert_eq!(emf_lines, 1, "{}", function.output());
    }
    for secret in ["demo-employee-token", "password", "mandrill_api_key"] {
        assert!(!function.output().contains(secret), "{secret} in the output");
    }
}

#[test]
fn lambdas_log_level_warn_silences_the_info_lines_and_keeps_the_metrics() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let table = rt.block_on(seeded_table());
    // RUST_LOG says info; Lambda's level, from the template's LoggingConfig, takes precedence.
    let function = start(
        table.table(),
        &[("RUST_LOG", "info"), ("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("AWS_LAMBDA_LOG_FORMAT", "JSON")],
    );
    for name in &EVENTS[..2] {
        function.invoke(&event(name, None));
        let doc = emf_line(&function, &request_id(name));
        check_emf(&doc);
        // Lambda's filter reads a JSON line without a level as INFO: the metrics carry WARN.
        assert_eq!(doc["level"], "WARN", "{doc}");
        assert!(doc["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{doc}");
    }
    // A request's log line is written before its EMF line, on the same stdout by the same
    // thread, and read off the pipe in order: with both EMF lines seen, any such line is here.
    let lines = function.log_lines();
    let info: Vec<&Value> = lines.iter().filter(|l| l["level"] == "INFO").collect();
    assert!(info.is_empty(), "INFO lines at WARN: {info:?}");
    assert!(!lines.iter().any(|l| l["fields"]["event"] == "request"), "{}", function.output());
    assert_eq!(lines.iter().filter(|l| l.get("_aws").is_some()).count(), 2);
}
