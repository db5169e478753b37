//! CloudWatch Embedded Metric Format (EMF): a JSON log line that CloudWatch Logs turns into
//! metrics by itself, with no agent and no API call from the function.
//!
//! Written by hand with serde_json: the document is a dozen keys, and a crate for it would
//! bring a metrics facade and a flush cycle (or go unmaintained) for what one function does here.

use serde_json::{json, Map, Value};

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

/// What one request measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMetrics<'a> {
    /// A route name (`clients.update`), or `none` for a method and path that is no route.
    pub route: &'a str,
    /// The status slug.
    pub status: &'a str,
    pub latency_ms: f64,
    pub cold_start: bool,
    pub store_calls: u64,
    pub emails_failed: u64,
}

/// The EMF document of one request: the `_aws` metadata, every dimension and metric as a
/// top-level key, then `properties` (searchable in Logs Insights, never metrics).
pub fn document(namespace: &str, timestamp_ms: u64, m: &RequestMetrics<'_>, properties: Map<String, Value>) -> Value {
    let metrics: Vec<Value> =
        REQUEST_METRICS.iter().map(|(name, unit)| json!({"Name": name, "Unit": unit.name()})).collect();
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": DIMENSION_SETS, "Metrics": metrics}],
        }),
    );
    doc.insert("route".into(), m.route.into());
    doc.insert("status".into(), m.status.into());
    doc.insert("requests".into(), 1.into());
    // Microsecond precision is plenty and keeps the line short.
    doc.insert("latency".into(), json!((m.latency_ms * 1000.0).round() / 1000.0));
    doc.insert("cold_start".into(), u64::from(m.cold_start).into());
    doc.insert("store_calls".into(), m.store_calls.into());
    doc.insert("emails_failed".into(), m.emails_failed.into());
    for (key, value) in properties {
        doc.entry(key).or_insert(value);
    }
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dimension_and_metric_is_a_top_level_key_and_properties_never_replace_one() {
        let m = RequestMetrics {
            route: "clients.update",
            status: "action-successful",
            latency_ms: 12.345_678,
            cold_start: true,
            store_calls: 4,
            emails_failed: 0,
        };
        let mut properties = Map::new();
        properties.insert("request_id".into(), "r-1".into());
        properties.insert("status".into(), "forged".into());
        let doc = document("PlanOcore", 1_700_000_000_000, &m, properties);
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000u64);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "PlanOcore");
        assert_eq!(directive["Dimensions"], json!([["route"], ["route", "status"]]));
        for (name, unit) in REQUEST_METRICS {
            assert!(doc[name].is_number(), "{name}");
            assert!(directive["Metrics"].as_array().unwrap().contains(&json!({"Name": name, "Unit": unit.name()})));
        }
        assert_eq!(
            (doc["route"].as_str(), doc["status"].as_str()),
            (Some("clients.update"), Some("action-successful"))
        );
        assert_eq!((doc["latency"].as_f64(), doc["cold_start"].as_u64()), (Some(12.346), Some(1)));
        assert_eq!(doc["request_id"], "r-1");
    }
}
