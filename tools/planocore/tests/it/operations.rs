//! `template.yaml`'s operations against the code: every function logs JSON at the template's
//! level through Lambda's logging controls and is traced; the API functions roll out through
//! their alias, rolled back by their alarms; the API writes an access log with what an operator
//! needs; the crash and email alarms read the very metrics the functions write
//! (shared/app/src/emf.rs); the route registry is written at deploy. `first_deploy.rs` checks the
//! alarms' topic and the rollback alarms on the transformed template.

use std::collections::BTreeSet;

use crate::sam_template::*;
use app::emf::{Emf, RequestMetrics, REQUEST_METRICS};
use app::settings::{DEFAULT_METRICS_NAMESPACE, LAMBDA_LOG_LEVELS};
use domain::envelope::Status;
use serde_json::{Map, Value as Json};
use serde_norway::Value as Yaml;
use test_support::repo_root;

/// Every function of the template: the API's and the deploy's registry sync.
fn all_functions() -> Vec<String> {
    functions().into_iter().map(|f| f.logical_id).chain(["RegistrySyncFunction".to_string()]).collect()
}

fn resources_of_type<'a>(t: &'a Yaml, kind: &str) -> Vec<(&'a str, &'a Yaml)> {
    let resources = t["Resources"].as_mapping().unwrap();
    resources.iter().filter(|(_, r)| r["Type"].as_str() == Some(kind)).map(|(k, r)| (k.as_str().unwrap(), r)).collect()
}

/// A function's environment variable: its own, else the globals' (SAM merges the two maps).
fn env_var<'a>(t: &'a Yaml, logical_id: &str, name: &str) -> &'a Yaml {
    let own = &t["Resources"][logical_id]["Properties"]["Environment"]["Variables"][name];
    if own.is_null() {
        &t["Globals"]["Function"]["Environment"]["Variables"][name]
    } else {
        own
    }
}

// ---------------------------------------------------------------- logs and tracing

#[test]
fn every_function_logs_json_at_the_templates_level_and_is_traced() {
    let t = template();
    let level = &t["Parameters"]["LogLevel"];
    assert_eq!(str_list(&level["AllowedValues"]), LAMBDA_LOG_LEVELS, "Lambda's levels, as the code reads them");
    assert_eq!(level["Default"].as_str(), Some("INFO"));
    let namespace = &t["Parameters"]["MetricsNamespace"];
    assert_eq!(namespace["Default"].as_str(), Some(DEFAULT_METRICS_NAMESPACE));
    for logical_id in &all_functions() {
        let logging = &t["Resources"][logical_id]["Properties"]["LoggingConfig"];
        assert_eq!(logging["LogFormat"].as_str(), Some("JSON"), "{logical_id}");
        assert_eq!(target(&logging["ApplicationLogLevel"]), "LogLevel", "{logical_id}");
        assert_eq!(logging["SystemLogLevel"].as_str(), Some("INFO"), "{logical_id}: Lambda's REPORT lines");
        let group = &t["Resources"][target(&logging["LogGroup"]).as_str()];
        assert_eq!(group["Type"].as_str(), Some("AWS::Logs::LogGroup"), "{logical_id}");
        assert_eq!(target(&group["Properties"]["RetentionInDays"]), "LogRetentionDays", "{logical_id}");
        assert_eq!(function_prop(&t, logical_id, "Tracing").as_str(), Some("Active"), "{logical_id}");
        assert_eq!(target(env_var(&t, logical_id, "METRICS_NAMESPACE")), "MetricsNamespace", "{logical_id}");
        // Lambda's level is the one the template sets: no RUST_LOG to argue with it.
        assert!(env_var(&t, logical_id, "RUST_LOG").is_null(), "{logical_id}");
    }
}

#[test]
fn the_api_writes_a_json_access_log_with_what_an_operator_needs() {
    let t = template();
    let settings = &t["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"];
    assert_eq!(target(&settings["DestinationArn"]), "ApiAccessLogGroup");
    let group = &t["Resources"]["ApiAccessLogGroup"];
    assert_eq!(target(&group["Properties"]["RetentionInDays"]), "LogRetentionDays", "the functions' retention");
    let format: Map<String, Json> =
        serde_json::from_str(settings["Format"].as_str().unwrap()).expect("the access log format is one JSON object");
    for (key, variable) in [
        ("requestId", "$context.requestId"),
        ("routeKey", "$context.routeKey"),
        ("status", "$context.status"),
        ("integrationStatus", "$context.integrationStatus"),
        ("integrationErrorMessage", "$context.integrationErrorMessage"),
        ("responseLatency", "$context.responseLatency"),
        ("integrationLatency", "$context.integrationLatency"),
        ("sourceIp", "$context.identity.sourceIp"),
    ] {
        assert_eq!(format.get(key).and_then(Json::as_str), Some(variable), "{key}");
    }
}

// ---------------------------------------------------------------- rollouts

#[test]
fn the_api_functions_roll_out_through_their_alias_and_their_alarms_roll_them_back() {
    let t = template();
    let deployment = &t["Parameters"]["DeploymentType"];
    assert_eq!(deployment["Default"].as_str(), Some("Canary10Percent5Minutes"));
    assert!(str_list(&deployment["AllowedValues"]).contains(&"AllAtOnce".to_string()));
    for f in &functions() {
        let p = &t["Resources"][&f.logical_id]["Properties"];
        assert_eq!(p["AutoPublishAlias"].as_str(), Some("live"), "{}: the API integrates with the alias", f.logical_id);
        let preference = &p["DeploymentPreference"];
        assert_eq!(target(&preference["Type"]), "DeploymentType", "{}", f.logical_id);
        let alarms: BTreeSet<String> = preference["Alarms"].as_sequence().unwrap().iter().map(target).collect();
        let errors = lambda_alarm(&t, "Errors", &f.logical_id);
        assert!(alarms.contains(&errors), "{}: its Errors alarm rolls it back: {alarms:?}", f.logical_id);
        let crash = f.logical_id.replace("Function", "CrashAlarm");
        assert!(alarms.contains(&crash), "{}: so does a crash of its new version: {alarms:?}", f.logical_id);
        assert!(!alarms.contains("ApplicationCrashAlarm"), "{}: not another version's crash", f.logical_id);
    }
    // A dev stack takes a new version at once.
    let samconfig = std::fs::read_to_string(repo_root().join("samconfig.toml")).unwrap();
    let dev = samconfig.split("[dev.deploy.parameters]").nth(1).expect("a dev environment").split("\n[").next();
    assert!(dev.unwrap().contains("DeploymentType=AllAtOnce"), "{dev:?}");
}

// ---------------------------------------------------------------- alarms

/// The logical id of the `AWS/Lambda` alarm on `metric` of the function `logical_id`.
fn lambda_alarm(t: &Yaml, metric: &str, logical_id: &str) -> String {
    let found = resources_of_type(t, "AWS::CloudWatch::Alarm").into_iter().find(|(_, r)| {
        let p = &r["Properties"];
        let dimensions = p["Dimensions"].as_sequence().map(Vec::as_slice).unwrap_or_default();
        p["Namespace"].as_str() == Some("AWS/Lambda")
            && p["MetricName"].as_str() == Some(metric)
            && dimensions.first().is_some_and(|d| d["Name"].as_str() == Some("FunctionName"))
            && target(&dimensions[0]["Value"]) == logical_id
    });
    found.unwrap_or_else(|| panic!("no {metric} alarm on {logical_id}")).0.to_string()
}

#[test]
fn each_function_has_error_and_throttle_alarms_and_each_api_function_a_p99_alarm() {
    let t = template();
    for logical_id in &all_functions() {
        lambda_alarm(&t, "Errors", logical_id);
        lambda_alarm(&t, "Throttles", logical_id);
    }
    for f in &functions() {
        let alarm = &t["Resources"][lambda_alarm(&t, "Duration", &f.logical_id).as_str()]["Properties"];
        assert_eq!(alarm["ExtendedStatistic"].as_str(), Some("p99"), "{}", f.logical_id);
        assert_eq!(target(&alarm["Threshold"]), "DurationP99AlarmMs", "{}", f.logical_id);
    }
}

/// A Metrics Insights query of the one form the alarms use:
/// `SELECT SUM(m) FROM SCHEMA("namespace", d1, d2) [WHERE key = 'value' [AND key = 'value']…]`.
#[derive(Debug, PartialEq)]
struct Query {
    metric: String,
    namespace: String,
    dimensions: Vec<String>,
    filters: Vec<(String, String)>,
}

fn query(alarm: &Yaml) -> Query {
    let metrics = alarm["Properties"]["Metrics"].as_sequence().expect("a metric query");
    assert_eq!(metrics.len(), 1);
    assert_eq!(metrics[0]["Period"].as_u64(), Some(300));
    let expression = match intrinsic(&metrics[0]["Expression"]) {
        // `!Sub text`, or `!Sub [text, variables]`.
        Some((f, sub)) if f == "Sub" => sub.as_str().or(sub[0].as_str()).unwrap().to_string(),
        _ => metrics[0]["Expression"].as_str().unwrap().to_string(),
    };
    let text = expression.split_whitespace().collect::<Vec<_>>().join(" ");
    let rest = text.strip_prefix("SELECT SUM(").unwrap_or_else(|| panic!("{text}"));
    let (metric, rest) = rest.split_once(") FROM SCHEMA(").unwrap_or_else(|| panic!("{text}"));
    let (schema, rest) = rest.split_once(')').unwrap();
    let mut parts = schema.split(',').map(str::trim);
    let namespace = parts.next().unwrap().trim_matches('"').to_string();
    let dimensions = parts.map(|d| d.trim_matches('"').to_string()).collect();
    let conditions = rest.trim().strip_prefix("WHERE ").map(|w| w.split(" AND ").collect()).unwrap_or(Vec::new());
    let filters = conditions
        .into_iter()
        .map(|c| {
            let (key, value) = c.split_once(" = ").unwrap_or_else(|| panic!("{text}"));
            (key.to_string(), value.trim_matches('\'').to_string())
        })
        .collect();
    Query { metric: metric.to_string(), namespace, dimensions, filters }
}

/// The crash and email alarms against the EMF document a function writes for such a request:
/// the metric, its dimension set and the filtered values are those the code writes. A function's
/// own crash alarm filters on its name and its new version (`${Version}` in the query).
#[test]
fn the_crash_and_email_alarms_read_the_metrics_the_functions_write() {
    let t = template();
    let alarm = |name: &str| (name.to_string(), query(&t["Resources"][name]));
    let mut alarms = vec![alarm("ApplicationCrashAlarm"), alarm("MandrillEmailFailedAlarm")];
    alarms.extend(functions().iter().map(|f| alarm(&f.logical_id.replace("Function", "CrashAlarm"))));
    for (name, q) in &alarms {
        let function_name = format!("${{{}}}", name.replace("CrashAlarm", "Function"));
        let m = RequestMetrics {
            route: "clients.update",
            function_name: &function_name,
            function_version: "${Version}",
            status: Status::ApplicationCrash.slug(),
            latency_ms: 8000.0,
            cold_start: false,
            store_calls: 2,
            emails_failed: 1,
        };
        let doc: Json = serde_json::from_str(&Emf::new("${MetricsNamespace}").line(0, &m, &[])).unwrap();
        assert_eq!(q.namespace, "${MetricsNamespace}", "{name}: the namespace the functions get");
        assert!(REQUEST_METRICS.iter().any(|(metric, _)| *metric == q.metric), "{name}: {q:?}");
        let written = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap().iter().any(|directive| {
            directive["Dimensions"].as_array().unwrap().contains(&q.dimensions.clone().into())
                && directive["Metrics"].as_array().unwrap().iter().any(|m| m["Name"] == q.metric.as_str())
        });
        assert!(written, "{name}: a metric and dimension set the code writes: {q:?}");
        assert!(doc[q.metric.as_str()].as_u64().is_some_and(|n| n >= 1), "{name}: {doc}");
        for (key, value) in &q.filters {
            assert!(q.dimensions.contains(key), "{name}: {key} is a dimension of the schema");
            assert_eq!(doc[key.as_str()], value.as_str(), "{name}");
        }
        let p = &t["Resources"][name.as_str()]["Properties"];
        assert_eq!(p["Threshold"].as_u64(), Some(1), "{name}: the first one alarms ({q:?})");
        assert_eq!(p["ComparisonOperator"].as_str(), Some("GreaterThanOrEqualToThreshold"), "{name}");
        if name.ends_with("CrashAlarm") {
            assert_eq!(q.metric, "requests", "{name}");
            assert!(q.filters.contains(&("status".into(), "application-crash".into())), "{name}: {q:?}");
        }
    }
    let per_version = ["function_name", "function_version", "status"];
    for (name, q) in &alarms[2..] {
        assert_eq!(q.dimensions, per_version, "{name}: per function version");
        assert_eq!(q.filters.len(), 3, "{name}: its function's version only: {q:?}");
    }
    let (email, crash) = (&alarms[1].1, &alarms[0].1);
    assert_eq!((email.metric.as_str(), email.filters.len()), ("emails_failed", 0));
    assert_eq!(crash.filters.len(), 1, "every function and version: {crash:?}");
    assert!(resources_of_type(&t, "AWS::Logs::MetricFilter").is_empty(), "the metrics replace the log filters");
}

#[test]
fn the_dynamodb_alarms_watch_the_tables_throttles_and_system_errors() {
    let t = template();
    for (name, metric) in
        [("DynamoDbThrottlesAlarm", "ThrottledRequests"), ("DynamoDbSystemErrorsAlarm", "SystemErrors")]
    {
        let q = query(&t["Resources"][name]);
        assert_eq!((q.metric.as_str(), q.namespace.as_str()), (metric, "AWS/DynamoDB"), "{name}");
        assert_eq!(q.dimensions, ["Operation", "TableName"], "{name}: every operation");
        assert_eq!(q.filters, [("TableName".into(), "${Table}".into())], "{name}: this stack's table");
    }
}

// ---------------------------------------------------------------- the route registry at deploy

#[test]
fn the_route_registry_is_written_at_deploy_and_again_with_each_new_sync_code() {
    let t = template();
    let registry = &t["Resources"]["RouteRegistry"];
    assert_eq!(registry["Type"].as_str(), Some("Custom::RouteRegistry"));
    let p = &registry["Properties"];
    assert_eq!(target(&p["ServiceToken"]), "RegistrySyncFunction");
    assert_eq!(target(&p["TableName"]), "Table", "after the table");
    // A new version of the function (its code: the route catalogue) updates the resource.
    assert_eq!(target(&p["CodeVersion"]), "RegistrySyncFunction.Version");
    let function = &t["Resources"]["RegistrySyncFunction"];
    assert_eq!(function["Properties"]["AutoPublishAlias"].as_str(), Some("live"));
    assert!(function["Properties"]["DeploymentPreference"].is_null(), "nothing to shift");
    assert!(function["Properties"]["Events"].is_null(), "CloudFormation alone invokes it");
    assert_eq!(function["Metadata"]["BuildProperties"]["Binary"].as_str(), Some("registry-sync"));
    assert_eq!(function["Properties"]["CodeUri"].as_str(), Some("functions/registry-sync"));
    let timeout = function_prop(&t, "RegistrySyncFunction", "Timeout").as_u64().unwrap();
    assert!(timeout > registry_sync::ANSWER_RESERVE.as_secs() + 5, "time for the sync and the answer");
    let service_timeout = p["ServiceTimeout"].as_u64().expect("a ServiceTimeout");
    assert!(timeout < service_timeout && service_timeout < 3600, "a lost answer fails the stack in minutes");
    // No post-deploy step writes the registry by hand: the operations page says the deploy does.
    let page = std::fs::read_to_string(repo_root().join("docs/operations.md")).unwrap();
    assert!(page.contains("RouteRegistry"), "docs/operations.md says the deploy writes the registry");
}
