//! CloudWatch Embedded Metric Format (EMF): a JSON log line that CloudWatch Logs turns into
//! metrics by itself, with no agent and no API call from the function.
//!
//! Written by hand: `metrics` 0.24 with `metrics_cloudwatch_embedded` 0.10 (no default
//! features) cannot write this line, and clients-update's `metrics.rs` tests fail with it. Its
//! document has one directive with one dimension set (all of a metric's labels), so a request
//! becomes three lines, one per dimension set here (827 bytes of log become 1,677 for a request
//! of `scripts/lambda_perf.py`). It drops a counter that stayed at zero (`emails_failed`,
//! `cold_start`) unless told to write zeros, and then writes every label set it has ever seen on
//! each flush (a second request wrote five lines). It writes `latency` as an array. Its counters
//! and properties (`request_id`) are the process's, not the request's, where `planocore serve`
//! runs requests side by side. Tried on clients-update, release build, 2026-12-04: +83 KB
//! (6,716,360 to 6,799,120 bytes), own init unchanged within noise (median of 5 runs of
//! `scripts/lambda_perf.py`: 5.2 ms against 5.3 ms ours; the runs ranged 4.2–9.0 ms).

use serde_json::{json, Value};

/// A CloudWatch unit of the request metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// The metrics of every request, with their units.
pub const REQUEST_METRICS: [(&str, Unit); 5] = [
    ("requests", Unit::Count),
    ("latency", Unit::Milliseconds),
    ("cold_start", Unit::Count),
    ("store_calls", Unit::Count),
    ("emails_failed", Unit::Count),
];

/// Each request is counted per route, and per route and status (the alarms read the second).
pub const DIMENSION_SETS: [&[&str]; 2] = [&["route"], &["route", "status"]];

/// `requests` alone is also counted per function version and status: the crash alarms that gate
/// a rollout read the new version's. One metric only: every version adds its series.
pub const VERSION_DIMENSIONS: [&str; 3] = ["function_name", "function_version", "status"];

/// What one request measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMetrics<'a> {
    /// A route name (`clients.update`), or `none` for a method and path that is no route.
    pub route: &'a str,
    /// The Lambda function's name and version (`AWS_LAMBDA_FUNCTION_*`), `none` outside Lambda.
    pub function_name: &'a str,
    pub function_version: &'a str,
    /// The status slug.
    pub status: &'a str,
    pub latency_ms: f64,
    pub cold_start: bool,
    pub store_calls: u64,
    pub emails_failed: u64,
}

/// The EMF metadata of one namespace, serialised once: every line repeats it.
#[derive(Debug, Clone)]
pub struct Emf {
    /// `"CloudWatchMetrics":[{"Namespace":…,"Dimensions":…,"Metrics":…}]`
    directive: String,
}

impl Emf {
    pub fn new(namespace: &str) -> Emf {
        let metrics: Vec<Value> =
            REQUEST_METRICS.iter().map(|(name, unit)| json!({"Name": name, "Unit": unit.name()})).collect();
        let requests = &metrics[..1];
        let directives = json!([
            {"Namespace": namespace, "Dimensions": DIMENSION_SETS, "Metrics": metrics},
            {"Namespace": namespace, "Dimensions": [VERSION_DIMENSIONS], "Metrics": requests},
        ]);
        Emf { directive: format!("\"CloudWatchMetrics\":{directives}") }
    }

    /// One request's EMF document, as one JSON line without its newline: the `_aws` metadata,
    /// every dimension and metric as a top-level key, then `properties` (searchable in Logs
    /// Insights, never metrics; one named like a dimension or metric is left out).
    pub fn line(&self, timestamp_ms: u64, m: &RequestMetrics<'_>, properties: &[(&str, &str)]) -> String {
        use std::fmt::Write;
        let mut out = String::with_capacity(self.directive.len() + 400);
        let _ = write!(out, "{{\"_aws\":{{\"Timestamp\":{timestamp_ms},{}}}", self.directive);
        let dimensions = [
            ("route", m.route),
            ("status", m.status),
            ("function_name", m.function_name),
            ("function_version", m.function_version),
        ];
        for (key, value) in dimensions {
            push_property(&mut out, key, value);
        }
        // Microsecond precision is plenty and keeps the line short.
        let _ = write!(
            out,
            ",\"requests\":1,\"latency\":{:.3},\"cold_start\":{},\"store_calls\":{},\"emails_failed\":{}",
            m.latency_ms,
            u8::from(m.cold_start),
            m.store_calls,
            m.emails_failed
        );
        let taken = |key: &str| {
            key == "_aws"
                || REQUEST_METRICS.iter().any(|(n, _)| *n == key)
                || DIMENSION_SETS[1].contains(&key)
                || VERSION_DIMENSIONS.contains(&key)
        };
        for (key, value) in properties.iter().filter(|(key, _)| !taken(key)) {
            push_property(&mut out, key, value);
        }
        out.push('}');
        out
    }
}

/// `,"key":"value"`, the value escaped as a JSON string (keys are the code's own names).
fn push_property(out: &mut String, key: &str, value: &str) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                use std::fmt::Write;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dimension_and_metric_is_a_top_level_key_and_properties_never_replace_one() {
        let m = RequestMetrics {
            route: "clients.update",
            function_name: "stack-ClientsUpdateFunction-1",
            function_version: "7",
            status: "action-successful",
            latency_ms: 12.345_678,
            cold_start: true,
            store_calls: 4,
            emails_failed: 0,
        };
        let properties =
            [("request_id", "r-\"1\"\\\n"), ("status", "forged"), ("requests", "9"), ("function_version", "8")];
        let line = Emf::new("PlanOcore").line(1_700_000_000_000, &m, &properties);
        let doc: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000u64);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "PlanOcore");
        assert_eq!(directive["Dimensions"], json!([["route"], ["route", "status"]]));
        for (name, unit) in REQUEST_METRICS {
            assert!(doc[name].is_number(), "{name}");
            assert!(directive["Metrics"].as_array().unwrap().contains(&json!({"Name": name, "Unit": unit.name()})));
        }
        let per_version = &doc["_aws"]["CloudWatchMetrics"][1];
        assert_eq!(per_version["Namespace"], "PlanOcore");
        assert_eq!(per_version["Dimensions"], json!([["function_name", "function_version", "status"]]));
        assert_eq!(per_version["Metrics"], json!([{"Name": "requests", "Unit": "Count"}]));
        assert_eq!(
            (doc["route"].as_str(), doc["status"].as_str()),
            (Some("clients.update"), Some("action-successful"))
        );
        assert_eq!(
            (doc["function_name"].as_str(), doc["function_version"].as_str()),
            (Some("stack-ClientsUpdateFunction-1"), Some("7"))
        );
        assert_eq!(
            (doc["latency"].as_f64(), doc["cold_start"].as_u64(), doc["requests"].as_u64()),
            (Some(12.346), Some(1), Some(1))
        );
        assert_eq!(doc["request_id"], "r-\"1\"\\\n", "escaped");
        assert!(!line.contains('\n'), "one line");
    }
}
