//! What only a first real deploy would show (issue 25), checked on the CloudFormation that
//! CloudFormation's SAM transform makes of `template.yaml` (samtranslator, offline: see
//! `sam_template/transformed.rs`), not on the YAML: preflights through the `$default` route, a
//! new version for every parameter that reaches a function, the table's fixed name, the alarms'
//! topic and what they count, the deploy commands of `docs/operations.md`, and the smaller points.

use std::collections::BTreeMap;

use crate::sam_template::transformed::*;
use domain::envelope::Status;
use lambda_http::http::Method;
use serde_json::{json, Value as Json};
use test_support::{repo_root, request, Reply};

// ---------------------------------------------------------------- 1. browser calls

/// A preflight as a browser sends it before a cross-origin PUT.
fn preflight_request(path: &str) -> lambda_http::Request {
    let mut req = request(Method::OPTIONS, path, None, "");
    let headers = req.headers_mut();
    headers.insert("origin", "https://app.planomatic.com".parse().unwrap());
    headers.insert("access-control-request-method", "PUT".parse().unwrap());
    headers.insert("access-control-request-headers", "content-type,idempotency-key".parse().unwrap());
    req
}

/// The API has CORS and a `$default` route to the fallback, so API Gateway sends it every
/// preflight (AWS: "Configuring CORS for an HTTP API with a $default route"); the fallback
/// answers it 2xx, or the browser refuses the call that was to follow.
#[test]
fn a_preflight_that_reaches_the_default_route_gets_a_204() {
    let body = &cloudformation()["Resources"]["HttpApi"]["Properties"]["Body"];
    assert!(body["x-amazon-apigateway-cors"].is_object(), "the API answers CORS: {body}");
    let default = &body["paths"]["$default"]["x-amazon-apigateway-any-method"];
    assert_eq!(default["isDefaultRoute"], true);
    let uri = default["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"].as_str().unwrap_or_default();
    assert!(uri.contains("${RouteFallbackFunctionAliaslive}"), "the $default route is the fallback's: {uri}");

    for path in ["/api/v1/clients/update", "/api/v1/entities/create", "/anything"] {
        let answer = route_fallback::handle(&preflight_request(path));
        assert_eq!(answer.status().as_u16(), 204, "{path}");
        assert!(answer.body().is_empty(), "{path}: API Gateway adds the CORS headers to an empty answer");
    }
    // Any other request, OPTIONS without a requested method included, is still route-non-existent.
    for (method, path) in [(Method::OPTIONS, "/api/v1/clients/update"), (Method::GET, "/")] {
        let r = Reply::from_response(route_fallback::handle(&request(method.clone(), path, None, "")));
        assert_eq!((r.status(), r.code), ("route-non-existent", 500), "{method} {path}");
    }
}

// ---------------------------------------------------------------- 2. parameter changes reach `live`

/// Another value for a parameter, allowed by the template.
fn other_value(p: &Json) -> String {
    let default = match &p["Default"] {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(allowed) = p["AllowedValues"].as_array() {
        return allowed
            .iter()
            .map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
            .find(|v| *v != default)
            .unwrap();
    }
    match p["Type"].as_str() {
        Some("Number") => (default.parse::<u64>().unwrap() + 1).to_string(),
        _ if default.is_empty() => "arn:aws:sns:us-east-1:123456789012:other".to_string(),
        _ => format!("{}x", &default[..default.len() - 1]),
    }
}

/// A function's version as CloudFormation sees it: its logical id and its create-only
/// properties resolved (a change to one of them replaces the version: a new one is published).
fn version_identity(t: &Json, function: &str, params: &BTreeMap<String, Json>) -> (String, Json) {
    let (id, version) = resource_with_prefix(t, "AWS::Lambda::Version", &format!("{function}Version"));
    let p = &version["Properties"];
    (id.to_string(), resolve(&json!([p["Description"], p["CodeSha256"], p["FunctionName"]]), params))
}

/// For every parameter: transformed with another value, each function whose configuration (its
/// resolved properties) changes gets a new version, so its `live` alias moves; one whose
/// configuration does not change keeps its version (no needless rollout).
#[test]
fn every_parameter_that_reaches_a_function_publishes_a_new_version() {
    let base = cloudformation();
    let names: Vec<String> = base["Parameters"].as_object().unwrap().keys().cloned().collect();
    let cases: Vec<Overrides> =
        names.iter().map(|n| overrides(&[(n.as_str(), other_value(&base["Parameters"][n]).as_str())])).collect();
    let changed = transform_each(&cases);
    let base_params = parameter_values(base, &Overrides::new());
    let functions: Vec<&str> = resources(base, "AWS::Lambda::Function").into_keys().collect();
    // The API's functions (one per route, the fallback) and the registry sync.
    assert_eq!(functions.len(), crate::sam_template::functions().len() + 1, "{functions:?}");
    let mut reaching = BTreeMap::<&str, Vec<&str>>::new();
    for ((name, case), t) in names.iter().zip(&cases).zip(&changed) {
        let params = parameter_values(t, case);
        for f in &functions {
            let config = |t: &Json, params| resolve(&t["Resources"][*f]["Properties"], params);
            let config_changed = config(base, &base_params) != config(t, &params);
            let new_version = version_identity(base, f, &base_params) != version_identity(t, f, &params);
            assert_eq!(
                new_version,
                config_changed,
                "{name}={}: {f}'s configuration {} but its version {}",
                case[name],
                if config_changed { "changes" } else { "stays" },
                if new_version { "is new" } else { "stays (the alias keeps the old settings)" }
            );
            if config_changed {
                reaching.entry(f).or_default().push(name);
            }
        }
    }
    // The ones the issue names, so that the test cannot pass by seeing no change at all.
    for f in &functions {
        let names = reaching.get(f).cloned().unwrap_or_default();
        for p in ["Architecture", "LogLevel", "MetricsNamespace"] {
            assert!(names.contains(&p), "{f}: {p} reaches it: {names:?}");
        }
    }
    assert!(reaching["ClientsUpdateFunction"].contains(&"MandrillFromEmail"));
}

/// A version's Description is at most 256 characters (Lambda refuses more): with every
/// parameter in it at its longest.
#[test]
fn the_versions_description_fits_with_the_longest_parameters() {
    let base = cloudformation();
    let params = base["Parameters"].as_object().unwrap();
    let longest: Overrides = params
        .iter()
        .filter_map(|(name, p)| p["MaxLength"].as_u64().map(|n| (name.clone(), "x".repeat(n as usize))))
        .chain([("Architecture".to_string(), "x86_64".to_string()), ("LogLevel".to_string(), "FATAL".to_string())])
        .collect();
    let values = parameter_values(base, &longest);
    for f in resources(base, "AWS::Lambda::Function").into_keys() {
        let (_, version) = resource_with_prefix(base, "AWS::Lambda::Version", &format!("{f}Version"));
        let description = resolve(&version["Properties"]["Description"], &values);
        let text = description["Fn::Sub"].as_str().unwrap_or_else(|| panic!("{f}: {description}"));
        assert!(!text.contains("${"), "{f}: only parameters in it: {text}");
        assert!(text.len() <= 256, "{f}: {} characters: {text}", text.len());
    }
}

// ---------------------------------------------------------------- 3. the table

/// A named table cannot be replaced by CloudFormation: an update that would need it fails and
/// rolls back, instead of pointing TABLE_NAME at a new, empty table.
#[test]
fn the_table_has_a_stack_scoped_name_so_it_is_never_replaced() {
    let t = cloudformation();
    let table = &t["Resources"]["Table"];
    assert_eq!(table["Properties"]["TableName"], json!({"Ref": "AWS::StackName"}), "{table}");
    assert_eq!((&table["DeletionPolicy"], &table["UpdateReplacePolicy"]), (&json!("Retain"), &json!("Retain")));
    let deploy = deploy_section();
    assert!(deploy.contains("TableName") && deploy.contains("replace"), "{OPERATIONS} says what a replacement does");
}

// ---------------------------------------------------------------- 4. alarms

/// Every alarm notifies the stack's own topic, and `AlarmActionArn` too when it is set; an
/// e-mail address subscribes to the topic when given.
#[test]
fn every_alarm_notifies_the_stacks_topic() {
    let t = cloudformation();
    let topic = &t["Resources"]["AlarmTopic"];
    assert_eq!(topic["Type"], "AWS::SNS::Topic");
    assert!(topic["Properties"]["KmsMasterKeyId"].is_null(), "CloudWatch cannot publish to the AWS-managed SNS key");
    let subscription = &t["Resources"]["AlarmEmailSubscription"];
    assert_eq!(subscription["Type"], "AWS::SNS::Subscription");
    assert_eq!(subscription["Condition"], "HasAlarmEmail");
    assert_eq!(subscription["Properties"]["Endpoint"], json!({"Ref": "AlarmEmail"}));
    assert_eq!(t["Conditions"]["HasAlarmEmail"], json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}));
    assert_eq!(t["Parameters"]["AlarmEmail"]["Default"], "");
    let alarms = resources(t, "AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 15, "{} alarms", alarms.len());
    let expected = json!([{"Ref": "AlarmTopic"}, {"Fn::If": ["HasAlarmAction", {"Ref": "AlarmActionArn"}, {"Ref": "AWS::NoValue"}]}]);
    for (name, alarm) in alarms {
        assert_eq!(alarm["Properties"]["AlarmActions"], expected, "{name}");
    }
}

/// No alarm counts the API's deliberate 500s (`route-non-existent`, `route-not-found`,
/// `mandrill-email-failed`): none reads API Gateway's 5xx, and the one on the functions'
/// answers counts `application-crash` only.
#[test]
fn no_alarm_counts_deliberate_answers() {
    let t = cloudformation();
    for status in [Status::RouteNonExistent, Status::RouteNotFound, Status::MandrillEmailFailed] {
        assert!(status.http_code() >= 500, "{status:?} is a deliberate 5xx");
    }
    for (name, alarm) in resources(t, "AWS::CloudWatch::Alarm") {
        let text = alarm["Properties"].to_string();
        assert!(!text.contains("AWS/ApiGateway"), "{name} counts API Gateway's answers, deliberate 500s included");
        if text.contains("SUM(requests)") {
            assert!(text.contains("WHERE status = 'application-crash'"), "{name}: {text}");
        }
    }
}

/// A Metrics Insights query's text (plain, `Fn::Sub` text, or `Fn::Sub` text with variables),
/// on one line.
fn query_text(expression: &Json) -> String {
    let sub = &expression["Fn::Sub"];
    let text = sub.as_str().or(sub[0].as_str()).or(expression.as_str()).unwrap_or_default();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The alarms that roll a rollout back watch the new version: `Errors` of the alias's new
/// version (ExecutedVersion), and the `application-crash` answers of that function's new version
/// (during a canary, the old version's crashes roll nothing back).
#[test]
fn the_alarms_that_gate_rollbacks_watch_the_new_version() {
    let t = cloudformation();
    for f in crate::sam_template::functions().iter().map(|f| &f.logical_id) {
        let group = &t["Resources"][format!("{f}DeploymentGroup").as_str()];
        let gates: Vec<&str> = group["Properties"]["AlarmConfiguration"]["Alarms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["Name"]["Ref"].as_str().unwrap())
            .collect();
        let (version, _) = resource_with_prefix(t, "AWS::Lambda::Version", &format!("{f}Version"));
        let (mut watched, mut crashes_watched) = (0, 0);
        for gate in gates {
            let p = &t["Resources"][gate]["Properties"];
            if p["MetricName"] == "Errors" {
                let dims: BTreeMap<&str, &Json> = p["Dimensions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| (d["Name"].as_str().unwrap(), &d["Value"]))
                    .collect();
                let dim = |name: &str| dims.get(name).copied().cloned().unwrap_or_default();
                assert_eq!(dim("FunctionName"), json!({"Ref": f}), "{gate}");
                assert_eq!(dim("Resource"), json!({"Fn::Sub": format!("${{{f}}}:live")}), "{gate}: the alias");
                assert_eq!(
                    dim("ExecutedVersion"),
                    json!({"Fn::GetAtt": [version, "Version"]}),
                    "{gate}: the new version"
                );
                watched += 1;
            } else {
                let expression = &p["Metrics"][0]["Expression"];
                let query = query_text(expression);
                let schema = "SCHEMA(\"${MetricsNamespace}\", function_name, function_version, status)";
                assert!(query.contains(schema), "{gate}: the functions' namespace, per version: {p}");
                for filter in [
                    "status = 'application-crash'".to_string(),
                    format!("function_name = '${{{f}}}'"),
                    "function_version = '${Version}'".to_string(),
                ] {
                    assert!(
                        query.contains(&format!("WHERE {filter}")) || query.contains(&format!("AND {filter}")),
                        "{gate}: {filter} in {query}"
                    );
                }
                assert_eq!(
                    expression["Fn::Sub"][1]["Version"],
                    json!({"Fn::GetAtt": [version, "Version"]}),
                    "{gate}: the new version"
                );
                crashes_watched += 1;
            }
        }
        assert_eq!(watched, 1, "{f}: its Errors alarm gates the rollout");
        assert_eq!(crashes_watched, 1, "{f}: its crash alarm gates the rollout");
    }
}

// ---------------------------------------------------------------- 5. the deploy commands

/// The page that says how to deploy.
const OPERATIONS: &str = "docs/operations.md";

/// Its "## Deploy" section, subsections included.
fn deploy_section() -> String {
    const HEADING: &str = "\n## Deploy\n";
    let page = std::fs::read_to_string(repo_root().join(OPERATIONS)).unwrap();
    let start = page.find(HEADING).unwrap_or_else(|| panic!("{OPERATIONS}: no {HEADING:?}"));
    let rest = &page[start + HEADING.len()..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
}

/// `samconfig.toml` as `[env.command.parameters]` tables of key = "value" (the only form it uses).
fn samconfig() -> BTreeMap<String, BTreeMap<String, String>> {
    let text = std::fs::read_to_string(repo_root().join("samconfig.toml")).unwrap();
    let mut tables = BTreeMap::<String, BTreeMap<String, String>>::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.to_string();
        } else if let Some((key, value)) = line.split_once('=') {
            tables.entry(current.clone()).or_default().insert(key.trim().into(), value.trim().trim_matches('"').into());
        }
    }
    tables
}

/// The Architecture a samconfig environment gives `sam <command>`: its command's parameter
/// overrides, else its global ones, else the template's default.
fn architecture(config: &BTreeMap<String, BTreeMap<String, String>>, env: &str, command: &str) -> String {
    let overrides = [format!("{env}.{command}.parameters"), format!("{env}.global.parameters")]
        .into_iter()
        .find_map(|table| config.get(&table).and_then(|t| t.get("parameter_overrides")).cloned())
        .unwrap_or_default();
    let default = cloudformation()["Parameters"]["Architecture"]["Default"].as_str().unwrap().to_string();
    overrides.split_whitespace().find_map(|o| o.strip_prefix("Architecture=")).map(str::to_string).unwrap_or(default)
}

/// Each `sam build` of the deploy section of `docs/operations.md` is followed by a `sam deploy`
/// of the same samconfig environment, and that environment deploys the architecture it built; no
/// command is `--guided` (its prompts' answers are in that section) and every environment can
/// deploy without prompts for parameters.
#[test]
fn the_documented_deploy_commands_deploy_what_they_built() {
    let section = deploy_section();
    let config = samconfig();
    // Commands in code blocks and in `inline code`, one per line or joined with `&&`.
    let commands: Vec<&str> = section
        .lines()
        .flat_map(|l| l.split(['`', '&']))
        .map(|c| c.split('#').next().unwrap().trim())
        .filter(|c| c.starts_with("sam build") || c.starts_with("sam deploy"))
        .collect();
    let env_of = |c: &str| {
        let words: Vec<&str> = c.split_whitespace().collect();
        words.windows(2).find(|w| w[0] == "--config-env").map(|w| w[1].to_string()).unwrap_or("default".into())
    };
    let builds: Vec<&str> = commands.iter().copied().filter(|c| c.starts_with("sam build")).collect();
    assert!(builds.len() >= 3, "{commands:?}");
    for build in builds {
        let env = env_of(build);
        let deploy = commands.iter().skip_while(|c| **c != build).find(|c| c.starts_with("sam deploy"));
        let deploy = deploy.unwrap_or_else(|| panic!("no sam deploy after {build}"));
        assert_eq!(env_of(deploy), env, "{build} is deployed with {deploy}");
        assert!(!deploy.contains("--guided"), "{deploy}");
        assert_eq!(architecture(&config, &env, "build"), architecture(&config, &env, "deploy"), "environment {env}");
        let deploy_table = &config[&format!("{env}.deploy.parameters")];
        for key in ["capabilities", "resolve_s3"] {
            assert!(deploy_table.contains_key(key), "{env}: {key} set, so `sam deploy` asks nothing");
        }
    }
    for prompt in ["--guided", "has no authentication", "Architecture"] {
        assert!(section.contains(prompt), "{OPERATIONS} says how to answer `sam deploy --guided` ({prompt})");
    }
}

// ---------------------------------------------------------------- 6. smaller points

/// Metrics Insights needs its reserved words quoted (`Operation` is one).
#[test]
fn metrics_insights_queries_quote_reserved_words() {
    let t = cloudformation();
    for (name, alarm) in resources(t, "AWS::CloudWatch::Alarm") {
        for metric in alarm["Properties"]["Metrics"].as_array().into_iter().flatten() {
            let query = query_text(&metric["Expression"]);
            if let Some(schema) = query.split("SCHEMA(").nth(1) {
                for word in schema.split(')').next().unwrap().split(',').skip(1).map(str::trim) {
                    let reserved = ["Operation", "Value", "Name", "Region"].contains(&word.trim_matches('"'));
                    assert!(!reserved || word.starts_with('"'), "{name}: quote {word} in {query}");
                }
            }
        }
    }
}

/// Lambda's REPORT line (duration, memory, init duration) is an INFO system log: kept.
#[test]
fn every_function_keeps_lambdas_report_lines() {
    for (name, f) in resources(cloudformation(), "AWS::Lambda::Function") {
        let level = &f["Properties"]["LoggingConfig"]["SystemLogLevel"];
        assert!(["INFO", "DEBUG"].contains(&level.as_str().unwrap_or_default()), "{name}: {level}");
    }
}

/// The secret is created empty and never given a value by the stack: a template value (or a
/// changed generator) would overwrite the real Mandrill key on the next deploy.
#[test]
fn the_stack_never_writes_the_mandrill_key() {
    let secret = &cloudformation()["Resources"]["MandrillSecret"];
    assert_eq!(secret["Type"], "AWS::SecretsManager::Secret");
    let p = &secret["Properties"];
    assert!(p["SecretString"].is_null() && p["GenerateSecretString"].is_null(), "{p}");
}
