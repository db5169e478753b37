//! `template.yaml` against the code: the table is the one `planocore table create` makes; each
//! function may do exactly the DynamoDB actions its handler really performs (recorded on the
//! emulator), no more and no fewer; routes, runtime, timeout, secret and alarms are wired as
//! the code expects; the alarms' metric filters match the log line a crash really writes.

use std::collections::BTreeSet;
use std::io::{BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;

use lambda_http::http::Method;
use serde_json::{json, Value as Json};
use serde_norway::Value as Yaml;
use shared::store::dynamodb::{table_definition, DynamoStore};
use shared::RouteId;
use test_support::{
    base64, emulator, fresh_recorded_table, repo_root, request, seeded_table, CallRecorder, Reply, ServeProcess,
    TestApp,
};

// ---------------------------------------------------------------- reading the template

fn template() -> Yaml {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    serde_norway::from_str(&text).expect("template.yaml is YAML")
}

/// A CloudFormation intrinsic, in either spelling: `!GetAtt x` or `{"Fn::GetAtt": x}`.
fn intrinsic(v: &Yaml) -> Option<(String, &Yaml)> {
    match v {
        Yaml::Tagged(t) => Some((t.tag.to_string().trim_start_matches('!').to_string(), &t.value)),
        Yaml::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next()?;
            let k = k.as_str()?;
            (k == "Ref" || k.starts_with("Fn::")).then(|| (k.trim_start_matches("Fn::").to_string(), v))
        }
        _ => None,
    }
}

/// The logical id a value refers to: `!Ref X` is `X`, `!GetAtt X.Arn` is `X`, and
/// `!Sub "${X.Arn}/index/I"` is `X/index/I`.
fn target(v: &Yaml) -> String {
    match intrinsic(v) {
        Some((f, arg)) if f == "Ref" => arg.as_str().expect("Ref of a name").to_string(),
        Some((f, arg)) if f == "GetAtt" => {
            let (res, attr) = match arg {
                Yaml::String(s) => s.split_once('.').expect("GetAtt X.Attr"),
                Yaml::Sequence(s) => (s[0].as_str().unwrap(), s[1].as_str().unwrap()),
                other => panic!("unexpected GetAtt {other:?}"),
            };
            assert_eq!(attr, "Arn", "a policy resource is an ARN");
            res.to_string()
        }
        Some((f, arg)) if f == "Sub" => {
            let s = arg.as_str().expect("Sub of a plain string");
            let start = s.find("${").expect("Sub names a resource");
            let end = s[start..].find('}').expect("closed ${") + start;
            let inner = s[start + 2..end].trim_end_matches(".Arn");
            assert_eq!(start, 0, "the ARN is the start of {s}");
            format!("{inner}{}", &s[end + 1..])
        }
        _ => panic!("unexpected reference {v:?}"),
    }
}

fn str_list(v: &Yaml) -> Vec<String> {
    match v {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Sequence(items) => items.iter().map(|i| i.as_str().expect("a string").to_string()).collect(),
        other => panic!("expected a string or a list, got {other:?}"),
    }
}

struct FunctionSpec {
    logical_id: &'static str,
    binary: &'static str,
    route: Option<RouteId>,
}

const FUNCTIONS: [FunctionSpec; 3] = [
    FunctionSpec { logical_id: "ClientsUpdateFunction", binary: "clients-update", route: Some(RouteId::ClientsUpdate) },
    FunctionSpec {
        logical_id: "EntitiesCreateFunction",
        binary: "entities-create",
        route: Some(RouteId::EntitiesCreate),
    },
    FunctionSpec { logical_id: "RouteFallbackFunction", binary: "route-fallback", route: None },
];

/// A function's property, falling back to `Globals.Function` as SAM does.
fn function_prop<'a>(t: &'a Yaml, logical_id: &str, key: &str) -> &'a Yaml {
    let own = &t["Resources"][logical_id]["Properties"][key];
    if own.is_null() {
        &t["Globals"]["Function"][key]
    } else {
        own
    }
}

/// Every (action, resource) pair the function's policy statements allow, resources as
/// logical ids (`Table`, `Table/index/GSI1`, `MandrillSecret`).
fn allowed(t: &Yaml, logical_id: &str) -> BTreeSet<(String, String)> {
    let mut pairs = BTreeSet::new();
    let policies = &t["Resources"][logical_id]["Properties"]["Policies"];
    for policy in policies.as_sequence().map(Vec::as_slice).unwrap_or_default() {
        let statements =
            policy["Statement"].as_sequence().unwrap_or_else(|| panic!("{logical_id}: inline statements only"));
        for st in statements {
            assert_eq!(st["Effect"].as_str(), Some("Allow"), "{logical_id}");
            assert!(st["Condition"].is_null() && st["NotAction"].is_null(), "{logical_id}: plain statements only");
            let resources: Vec<String> = match &st["Resource"] {
                Yaml::Sequence(items) => items.iter().map(target).collect(),
                one => vec![target(one)],
            };
            for action in str_list(&st["Action"]) {
                assert!(!action.contains('*'), "{logical_id}: wildcard action {action}");
                for r in &resources {
                    pairs.insert((action.clone(), r.clone()));
                }
            }
        }
    }
    pairs
}

fn dynamodb_allowed(t: &Yaml, logical_id: &str) -> BTreeSet<(String, String)> {
    allowed(t, logical_id).into_iter().filter(|(a, _)| a.starts_with("dynamodb:")).collect()
}

// ---------------------------------------------------------------- the table

/// (index name, key schema, projection type), as in `TableDefinition::indexes`.
type Index = (String, Vec<(String, String)>, String);

/// The template's table as the code's `TableDefinition` pieces, plus TTL and PITR flags.
struct TemplateTable {
    attributes: BTreeSet<(String, String)>,
    key_schema: Vec<(String, String)>,
    indexes: Vec<Index>,
    billing_mode: String,
    ttl: (String, bool),
    point_in_time_recovery: bool,
}

fn key_schema(v: &Yaml) -> Vec<(String, String)> {
    v.as_sequence()
        .expect("a key schema")
        .iter()
        .map(|k| (k["AttributeName"].as_str().unwrap().to_string(), k["KeyType"].as_str().unwrap().to_string()))
        .collect()
}

fn template_table(t: &Yaml) -> TemplateTable {
    let table = &t["Resources"]["Table"];
    assert_eq!(table["Type"].as_str(), Some("AWS::DynamoDB::Table"));
    let p = &table["Properties"];
    assert!(
        p["LocalSecondaryIndexes"].is_null() && p["ProvisionedThroughput"].is_null(),
        "nothing planocore does not make"
    );
    TemplateTable {
        attributes: p["AttributeDefinitions"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| {
                (a["AttributeName"].as_str().unwrap().to_string(), a["AttributeType"].as_str().unwrap().to_string())
            })
            .collect(),
        key_schema: key_schema(&p["KeySchema"]),
        indexes: p["GlobalSecondaryIndexes"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|i| {
                assert!(i["ProvisionedThroughput"].is_null());
                (
                    i["IndexName"].as_str().unwrap().to_string(),
                    key_schema(&i["KeySchema"]),
                    i["Projection"]["ProjectionType"].as_str().unwrap().to_string(),
                )
            })
            .collect(),
        billing_mode: p["BillingMode"].as_str().unwrap().to_string(),
        ttl: (
            p["TimeToLiveSpecification"]["AttributeName"].as_str().unwrap().to_string(),
            p["TimeToLiveSpecification"]["Enabled"].as_bool().unwrap(),
        ),
        point_in_time_recovery: p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool()
            == Some(true),
    }
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn the_table_is_the_one_planocore_table_create_makes() {
    let t = template_table(&template());
    let def = table_definition();
    assert_eq!(t.attributes, owned(&def.attributes).into_iter().collect::<BTreeSet<_>>());
    assert_eq!(t.key_schema, owned(&def.key_schema));
    let indexes: Vec<_> = def.indexes.iter().map(|(n, k, p)| (n.to_string(), owned(k), p.to_string())).collect();
    assert_eq!(t.indexes, indexes);
    assert_eq!(t.billing_mode, def.billing_mode);
    assert_eq!(t.ttl, (def.ttl_attribute.to_string(), true));
    assert!(t.point_in_time_recovery, "point-in-time recovery is on");
}

/// What `create_table` really makes on the emulator, read back, against the template.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_template_table_matches_a_table_created_by_the_code() {
    let t = template_table(&template());
    let store = fresh_recorded_table(None).await;
    let desc = store.client().describe_table().table_name(store.table()).send().await.unwrap().table.unwrap();
    let attributes: BTreeSet<(String, String)> = desc
        .attribute_definitions()
        .iter()
        .map(|a| (a.attribute_name().to_string(), a.attribute_type().as_str().to_string()))
        .collect();
    assert_eq!(attributes, t.attributes);
    // The SDK's key schema as (attribute, HASH|RANGE) pairs.
    macro_rules! keys {
        ($ks:expr) => {
            $ks.iter().map(|k| (k.attribute_name().to_string(), k.key_type().as_str().to_string())).collect::<Vec<_>>()
        };
    }
    assert_eq!(keys!(desc.key_schema()), t.key_schema);
    let indexes: Vec<_> = desc
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            let projection = i.projection().and_then(|p| p.projection_type()).map(|p| p.as_str().to_string());
            (i.index_name().unwrap().to_string(), keys!(i.key_schema()), projection.unwrap_or_default())
        })
        .collect();
    assert_eq!(indexes, t.indexes);
    let billing = desc.billing_mode_summary().and_then(|b| b.billing_mode()).map(|b| b.as_str().to_string());
    assert_eq!(billing.as_deref(), Some(t.billing_mode.as_str()));
    let ttl = store.client().describe_time_to_live().table_name(store.table()).send().await.unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some(t.ttl.0.as_str()));
    assert_eq!(ttl.time_to_live_status().map(|s| s.as_str()), Some("ENABLED"));
}

// ---------------------------------------------------------------- IAM against real calls

/// The IAM actions (and resources) a recorded DynamoDB call needs. A transaction needs the
/// action of each of its items; a `Query` of an index needs the index's ARN.
fn needed(call: &str) -> Vec<(String, String)> {
    const TABLE: &str = "Table";
    let one = |action: &str, resource: &str| (format!("dynamodb:{action}"), resource.to_string());
    if let Some(items) = call.strip_prefix("TransactWriteItems[").and_then(|s| s.strip_suffix(']')) {
        return items
            .split(',')
            .map(|item| match item {
                "ConditionCheck" => one("ConditionCheckItem", TABLE),
                "Put" => one("PutItem", TABLE),
                "Update" => one("UpdateItem", TABLE),
                "Delete" => one("DeleteItem", TABLE),
                other => panic!("unknown transaction item {other}"),
            })
            .collect();
    }
    match call.split_once('@') {
        Some(("Query", index)) => vec![one("Query", &format!("{TABLE}/index/{index}"))],
        None if ["GetItem", "Query", "UpdateItem", "PutItem", "DeleteItem"].contains(&call) => vec![one(call, TABLE)],
        _ => panic!("no IAM mapping for the DynamoDB call {call}: add one here and the action to template.yaml"),
    }
}

/// A demo app on a fresh emulator table whose calls `recorder` notes (setup calls dropped).
async fn recorded_app() -> (TestApp, CallRecorder) {
    let recorder = CallRecorder::default();
    let store: DynamoStore = fresh_recorded_table(Some(recorder.clone())).await;
    let app = TestApp::on(Arc::new(store)).await;
    recorder.take();
    (app, recorder)
}

fn needed_by(calls: &[String]) -> BTreeSet<(String, String)> {
    calls.iter().flat_map(|c| needed(c)).collect()
}

async fn update(app: &TestApp, body: Json) -> Reply {
    let req = request(Method::PUT, RouteId::ClientsUpdate.path(), Some("application/json"), base64(&body));
    Reply::from_response(clients_update::handle(&app.deps, req).await)
}

async fn create(app: &TestApp, body: Json) -> Reply {
    create_keyed(app, body, None).await
}

/// With an `Idempotency-Key`, whose record adds its own calls.
async fn update_keyed(app: &TestApp, body: Json, key: &str) -> Reply {
    let mut req = request(Method::PUT, RouteId::ClientsUpdate.path(), Some("application/json"), base64(&body));
    req.headers_mut().insert("idempotency-key", key.parse().unwrap());
    Reply::from_response(clients_update::handle(&app.deps, req).await)
}

async fn create_keyed(app: &TestApp, body: Json, key: Option<&str>) -> Reply {
    let mut req = request(Method::POST, RouteId::EntitiesCreate.path(), Some("application/json"), body.to_string());
    if let Some(key) = key {
        req.headers_mut().insert("idempotency-key", key.parse().unwrap());
    }
    Reply::from_response(entities_create::handle(&app.deps, req).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_update_may_do_exactly_what_it_does() {
    let (app, recorder) = recorded_app().await;
    // Every kind of request that reaches a different store call.
    let requests = [
        ("plain field update", json!({"token": "demo-employee-token", "id": 100, "phone": "303-555-0111"})),
        ("email change", json!({"token": "demo-employee-token", "id": 102, "email": "alan.t@example.com"})),
        (
            "own password change: its check counted and cleared, other sessions revoked",
            json!({"token": "demo-client-token", "id": 100, "password": "a new long password",
                   "current_password": "correct horse battery"}),
        ),
        (
            "branding view reading the entity",
            json!({"token": "demo-app-token", "id": 101, "view": "planox_client_read_branding"}),
        ),
    ];
    let mut calls = Vec::new();
    for (what, body) in requests {
        let r = update(&app, body).await;
        assert_eq!(r.status(), "action-successful", "{what}: {}", r.body);
        calls.extend(recorder.take());
    }
    // A session last used over a minute ago is touched.
    app.clock.advance(time::Duration::minutes(5));
    let r = update(&app, json!({"token": "demo-employee-token", "id": 100, "phone": "303-555-0112"})).await;
    assert_eq!(r.status(), "action-successful", "{}", r.body);
    let touched = recorder.take();
    assert!(
        touched.iter().filter(|c| *c == "UpdateItem").count() >= 2,
        "the session touch and the update: {touched:?}"
    );
    calls.extend(touched);
    // An Idempotency-Key: claimed and answered, claimed and released (updates).
    let r =
        update_keyed(&app, json!({"token": "demo-employee-token", "id": 100, "phone": "303-555-0113"}), "iam-1").await;
    assert_eq!(r.status(), "action-successful", "{}", r.body);
    let r = update_keyed(&app, json!({"token": "demo-employee-token", "id": 999}), "iam-2").await;
    assert_eq!(r.status(), "invalid-param", "{}", r.body);
    calls.extend(recorder.take());

    for expected in ["DeleteItem", "TransactWriteItems[Update,Put,Delete]", "TransactWriteItems[Update,Update]"] {
        assert!(calls.iter().any(|c| c == expected), "{expected} was not exercised: {calls:?}");
    }
    assert_eq!(dynamodb_allowed(&template(), "ClientsUpdateFunction"), needed_by(&calls), "calls: {calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entities_create_may_do_exactly_what_it_does() {
    let (app, recorder) = recorded_app().await;
    let address =
        json!({"street": "5 Elm St", "city": "Denver", "state": "CO", "country": "US", "postal_code": "80203"});
    let r = create(
        &app,
        json!({"token": "demo-app-token", "integration_id": 7, "entity_slug": "iam-one", "email": "one@iam.example",
               "name": "One", "address": address, "active": true}),
    )
    .await;
    assert_eq!(r.status(), "action-successful", "{}", r.body);
    app.clock.advance(time::Duration::minutes(5)); // the employee's session gets touched
    let r = create(
        &app,
        json!({"token": "demo-employee-token", "integration_id": 8, "entity_slug": "iam-two", "email": "two@iam.example",
               "name": "Two", "address": address, "active": true}),
    )
    .await;
    assert_eq!(r.status(), "action-successful", "{}", r.body);
    // An Idempotency-Key: claimed and answered, then claimed and released (updates).
    let three = json!({"token": "demo-app-token", "integration_id": 7, "entity_slug": "iam-three",
                       "email": "three@iam.example", "name": "Three", "address": address, "active": true});
    assert_eq!(create_keyed(&app, three.clone(), Some("iam-3")).await.status(), "action-successful");
    assert_eq!(create_keyed(&app, three, Some("iam-4")).await.status(), "invalid-param");
    let calls = recorder.take();
    assert!(calls.iter().any(|c| c == "TransactWriteItems[ConditionCheck,Put,Put,Put]"), "{calls:?}");
    assert_eq!(dynamodb_allowed(&template(), "EntitiesCreateFunction"), needed_by(&calls), "calls: {calls:?}");
}

#[test]
fn each_function_reads_only_its_own_secret_and_the_fallback_nothing() {
    let t = template();
    for f in &FUNCTIONS {
        let other: BTreeSet<_> =
            allowed(&t, f.logical_id).into_iter().filter(|(a, _)| !a.starts_with("dynamodb:")).collect();
        let env = &function_prop(&t, f.logical_id, "Environment")["Variables"];
        let own_env = &t["Resources"][f.logical_id]["Properties"]["Environment"]["Variables"];
        if f.route.is_some() {
            let secret = BTreeSet::from([("secretsmanager:GetSecretValue".to_string(), "MandrillSecret".to_string())]);
            assert_eq!(other, secret, "{}", f.logical_id);
            assert_eq!(target(&own_env["TABLE_NAME"]), "Table", "{}", f.logical_id);
            assert_eq!(target(&own_env["MANDRILL_SECRET_ID"]), "MandrillSecret", "{}", f.logical_id);
            // Declared for `sam local invoke --env-vars` only; empty means the real DynamoDB.
            assert_eq!(own_env["DYNAMODB_ENDPOINT"].as_str(), Some(""), "{}", f.logical_id);
        } else {
            assert!(t["Resources"][f.logical_id]["Properties"]["Policies"].is_null(), "the fallback reads no store");
            assert!(own_env.is_null() && env["TABLE_NAME"].is_null(), "the fallback gets no table");
        }
    }
    let secret = &t["Resources"]["MandrillSecret"];
    assert_eq!(secret["Type"].as_str(), Some("AWS::SecretsManager::Secret"));
    assert!(secret["Properties"]["SecretString"].is_null(), "no secret value in the template");
    assert_eq!(secret["Properties"]["GenerateSecretString"]["GenerateStringKey"].as_str(), Some("mandrill_api_key"));
}

// ---------------------------------------------------------------- functions and routes

#[test]
fn functions_are_the_cargo_binaries_on_the_routes_they_handle() {
    let t = template();
    let mut binaries = BTreeSet::new();
    for f in &FUNCTIONS {
        let res = &t["Resources"][f.logical_id];
        assert_eq!(res["Type"].as_str(), Some("AWS::Serverless::Function"), "{}", f.logical_id);
        assert_eq!(res["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"), "{}", f.logical_id);
        assert_eq!(res["Metadata"]["BuildProperties"]["Binary"].as_str(), Some(f.binary), "{}", f.logical_id);
        let code_uri = res["Properties"]["CodeUri"].as_str().unwrap();
        assert_eq!(code_uri, format!("functions/{}", f.binary));
        let manifest = std::fs::read_to_string(repo_root().join(code_uri).join("Cargo.toml")).unwrap();
        assert!(manifest.contains(&format!("name = \"{}\"", f.binary)), "{code_uri} builds the binary {}", f.binary);
        assert_eq!(function_prop(&t, f.logical_id, "Runtime").as_str(), Some("provided.al2023"));
        assert_eq!(function_prop(&t, f.logical_id, "Handler").as_str(), Some("bootstrap"));
        let arch = function_prop(&t, f.logical_id, "Architectures").as_sequence().expect("Architectures");
        assert_eq!(arch.iter().map(target).collect::<Vec<_>>(), ["Architecture"], "{}", f.logical_id);
        let timeout = function_prop(&t, f.logical_id, "Timeout").as_u64().expect("Timeout");
        assert!(
            timeout > shared::pipeline::REQUEST_DEADLINE.as_secs(),
            "{}: the Lambda timeout must leave room for the code's own deadline",
            f.logical_id
        );

        let events = res["Properties"]["Events"].as_mapping().expect("Events");
        assert_eq!(events.len(), 1, "{}", f.logical_id);
        let event = events.values().next().unwrap();
        assert_eq!(event["Type"].as_str(), Some("HttpApi"));
        let p = &event["Properties"];
        assert_eq!(target(&p["ApiId"]), "HttpApi");
        assert_eq!(p["PayloadFormatVersion"].as_str(), Some("2.0"), "the events/ fixtures are payload 2.0");
        match f.route {
            Some(route) => {
                let (method, path) = (p["Method"].as_str().unwrap(), p["Path"].as_str().unwrap());
                assert_eq!(
                    RouteId::identify(&method.parse::<Method>().unwrap(), path),
                    Some(route),
                    "{}",
                    f.logical_id
                );
            }
            // No method and path: the API's $default route.
            None => assert!(p["Method"].is_null() && p["Path"].is_null(), "{}", f.logical_id),
        }
        binaries.insert(f.binary.to_string());
    }
    // `sam local invoke <Function> -e events/<binary>.*.json`: every event belongs to one.
    let prefixes: BTreeSet<String> = std::fs::read_dir(repo_root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().split('.').next().unwrap().to_string())
        .collect();
    assert_eq!(prefixes, binaries);

    let arch = &t["Parameters"]["Architecture"];
    assert_eq!(arch["Default"].as_str(), Some("arm64"), "arm64 for deployment");
    assert_eq!(str_list(&arch["AllowedValues"]), ["arm64", "x86_64"]);
}

#[test]
fn the_api_answers_preflights_and_throttles_every_route() {
    let t = template();
    let api = &t["Resources"]["HttpApi"]["Properties"];
    let cors = &api["CorsConfiguration"];
    assert_eq!(target(&cors["AllowOrigins"]), "AllowedOrigins");
    let methods: BTreeSet<String> = str_list(&cors["AllowMethods"]).into_iter().collect();
    let routes: BTreeSet<String> = RouteId::ALL.iter().map(|r| r.method().to_string()).collect();
    assert_eq!(methods, routes);
    assert!(str_list(&cors["AllowHeaders"]).contains(&"content-type".to_string()));
    assert!(str_list(&cors["ExposeHeaders"]).contains(&"x-request-id".to_string()));
    assert_eq!(target(&api["DefaultRouteSettings"]["ThrottlingRateLimit"]), "ThrottlingRateLimit");
    assert_eq!(target(&api["DefaultRouteSettings"]["ThrottlingBurstLimit"]), "ThrottlingBurstLimit");
    assert_eq!(target(&t["Outputs"]["TableName"]["Value"]), "Table");
    assert!(intrinsic(&t["Outputs"]["ApiUrl"]["Value"])
        .is_some_and(|(f, v)| f == "Sub" && v.as_str().unwrap().contains("${HttpApi}")));
}

/// `cargo lambda watch` routes as the deployed API does: its router in the workspace's
/// Cargo.toml (`[workspace.metadata.lambda.watch.router]`, read back through `cargo metadata`)
/// sends each route's method and path to that route's function and every other method on those
/// paths, and any other path, to the fallback.
#[test]
fn cargo_lambda_watch_routes_as_the_template_does() {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(repo_root())
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let metadata: Json = serde_json::from_slice(&out.stdout).unwrap();
    let lambda = &metadata["metadata"]["lambda"];
    let router = lambda["watch"]["router"].as_object().expect("[workspace.metadata.lambda.watch.router]");
    let fallback = FUNCTIONS.iter().find(|f| f.route.is_none()).unwrap().binary;
    for f in FUNCTIONS.iter().filter(|f| f.route.is_some()) {
        let route = f.route.unwrap();
        let entries = router[route.path()].as_array().unwrap_or_else(|| panic!("no router entry for {}", route.path()));
        let by_method: std::collections::BTreeMap<&str, &str> =
            entries.iter().map(|e| (e["method"].as_str().unwrap(), e["function"].as_str().unwrap())).collect();
        for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            let expected = if method == route.method().as_str() { f.binary } else { fallback };
            assert_eq!(by_method.get(method).copied(), Some(expected), "{method} {}", route.path());
        }
    }
    assert_eq!(router["/"].as_str(), Some(fallback));
    assert_eq!(router["/{*path}"].as_str(), Some(fallback), "any other path");
    assert_eq!(router.len(), RouteId::ALL.len() + 2);
    assert_eq!(lambda["env"]["TABLE_NAME"].as_str(), Some("planocore"));
    assert!(lambda["env"]["DYNAMODB_ENDPOINT"].as_str().is_some_and(|e| e.starts_with("http://127.0.0.1:")));
}

/// `planocore serve` answers a browser as the deployed API does: its preflight and its answers
/// carry exactly the template's `CorsConfiguration` (methods, headers, exposed headers, max age).
#[test]
fn serve_answers_cors_as_the_templates_http_api_does() {
    let t = template();
    let cors = &t["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"];
    let set = |v: &Yaml| -> BTreeSet<String> { str_list(v).into_iter().map(|s| s.to_ascii_lowercase()).collect() };
    let answered = |v: Option<&str>| -> BTreeSet<String> {
        v.unwrap_or_default().split(',').map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect()
    };
    let mut command = Command::new(env!("CARGO_BIN_EXE_planocore"));
    command.args(["serve", "--addr", "127.0.0.1:0"]).env_remove("PLANOCORE_CORS_ORIGINS").env("RUST_LOG", "warn");
    let mut server = ServeProcess::start(command);
    let mut out = server.take_stdout();
    // Read the demo banner to the end, or the server would fail writing it.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let addr = server.address().to_string();
    let origin = "http://localhost:5173";
    let requested_headers = str_list(&cors["AllowHeaders"]).join(", ");

    for route in RouteId::ALL {
        let method = route.method();
        let preflight = [
            ("origin", origin),
            ("access-control-request-method", method.as_str()),
            ("access-control-request-headers", requested_headers.as_str()),
        ];
        let r = test_support::http(&addr, "OPTIONS", route.path(), None, &preflight, b"");
        assert_eq!(r.code, 204, "{route:?}: {:?}", r.headers);
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));
        assert_eq!(answered(r.header("access-control-allow-methods")), set(&cors["AllowMethods"]));
        assert_eq!(answered(r.header("access-control-allow-headers")), set(&cors["AllowHeaders"]));
        let max_age = cors["MaxAge"].as_u64().expect("MaxAge is a number");
        assert_eq!(r.header("access-control-max-age"), Some(max_age.to_string().as_str()));
    }

    let r = test_support::http(
        &addr,
        "POST",
        RouteId::EntitiesCreate.path(),
        Some("application/json"),
        &[("origin", origin)],
        b"{}",
    );
    assert_eq!(r.body["status"], "no-params-decoded", "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some(origin));
    assert_eq!(answered(r.header("access-control-expose-headers")), set(&cors["ExposeHeaders"]));
    // The one list both sides are written from in the code (issue 16 adds a header to both).
    assert_eq!(set(&cors["AllowHeaders"]), planocore::cors::ALLOW_HEADERS.iter().map(|h| h.to_string()).collect());
}

// ---------------------------------------------------------------- logs and alarms

/// A CloudWatch Logs JSON filter of the one form the template uses, `{ $.a.b = "value" }`:
/// (path, value).
fn json_filter(pattern: &str) -> (Vec<String>, String) {
    let inner = pattern.trim().strip_prefix('{').and_then(|p| p.strip_suffix('}')).expect("a JSON filter").trim();
    let (path, value) = inner.split_once('=').expect("one equality");
    let path = path.trim().strip_prefix("$.").expect("a $. selector");
    let value = value.trim().strip_prefix('"').and_then(|v| v.strip_suffix('"')).expect("a quoted value");
    (path.split('.').map(str::to_string).collect(), value.to_string())
}

fn filter_matches(pattern: &str, line: &Json) -> bool {
    let (path, value) = json_filter(pattern);
    path.iter().fold(line, |v, key| &v[key.as_str()]) == value.as_str()
}

/// (log group, pattern, metric) of every metric filter.
fn metric_filters(t: &Yaml) -> Vec<(String, String, String)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Logs::MetricFilter"))
        .map(|r| {
            let p = &r["Properties"];
            let m = &p["MetricTransformations"][0];
            (
                target(&p["LogGroupName"]),
                p["FilterPattern"].as_str().unwrap().to_string(),
                m["MetricName"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn each_route_function_feeds_both_alarms() {
    let t = template();
    let filters = metric_filters(&t);
    for f in FUNCTIONS.iter().filter(|f| f.route.is_some()) {
        let group = target(&t["Resources"][f.logical_id]["Properties"]["LoggingConfig"]["LogGroup"]);
        let log_group = &t["Resources"][group.as_str()];
        assert_eq!(log_group["Type"].as_str(), Some("AWS::Logs::LogGroup"));
        assert_eq!(target(&log_group["Properties"]["RetentionInDays"]), "LogRetentionDays");
        for (field, slug, metric) in [
            ("status", "application-crash", "ApplicationCrash"),
            ("event", "mandrill-email-failed", "MandrillEmailFailed"),
        ] {
            let pattern = format!(r#"{{ $.fields.{field} = "{slug}" }}"#);
            assert!(
                filters.iter().any(|(g, p, m)| *g == group && json_filter(p) == json_filter(&pattern) && m == metric),
                "{}: no filter {pattern} -> {metric}",
                f.logical_id
            );
        }
    }
    for metric in ["ApplicationCrash", "MandrillEmailFailed"] {
        let alarm = t["Resources"].as_mapping().unwrap().values().find(|r| {
            r["Type"].as_str() == Some("AWS::CloudWatch::Alarm")
                && r["Properties"]["MetricName"].as_str() == Some(metric)
        });
        let p = &alarm.unwrap_or_else(|| panic!("no alarm on {metric}"))["Properties"];
        assert_eq!(p["Threshold"].as_u64(), Some(1), "{metric}: the first one alarms");
        assert_eq!(p["ComparisonOperator"].as_str(), Some("GreaterThanOrEqualToThreshold"));
    }
    for (group, _, _) in &filters {
        assert!(!group.starts_with("RouteFallback"), "the fallback logs neither");
    }
}

fn put(addr: &str, path: &str, body: &str) -> Json {
    test_support::http(addr, "PUT", path, Some("application/json"), &[], body.as_bytes()).body
}

/// The crash alarm's filter against the line a real crash logs: `planocore serve` (the same
/// handlers and JSON log format as the functions, on stderr) on a table that is deleted after
/// the registry was cached, so the next request fails at the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crash_filter_matches_the_line_a_crash_logs() {
    let store = seeded_table().await;
    let mut command = Command::new(env!("CARGO_BIN_EXE_planocore"));
    command
        .args(["serve", "--addr", "127.0.0.1:0", "--store", "dynamodb"])
        .env("TABLE_NAME", store.table())
        .env("DYNAMODB_ENDPOINT", emulator::endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("REGISTRY_CACHE_SECONDS", "3600")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped());
    let mut server = ServeProcess::start(command);
    let stderr = server.take_stderr();

    let body = base64(&json!({"token": "demo-employee-token", "id": 100, "phone": "1"}));
    let path = RouteId::ClientsUpdate.path();
    let addr = server.address().to_string();
    let ok = tokio::task::spawn_blocking(move || put(&addr, path, &body)).await.unwrap();
    assert_eq!(ok["status"], "action-successful", "{ok}");
    store.client().delete_table().table_name(store.table()).send().await.unwrap();
    let body = base64(&json!({"token": "demo-employee-token", "id": 100, "phone": "2"}));
    let addr = server.address().to_string();
    let crash = tokio::task::spawn_blocking(move || put(&addr, path, &body)).await.unwrap();
    assert_eq!(crash["status"], "application-crash", "{crash}");
    drop(server); // ends stderr

    let mut logs = String::new();
    BufReader::new(stderr).read_to_string(&mut logs).unwrap();
    let lines: Vec<Json> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let t = template();
    let crash_filter = metric_filters(&t).into_iter().find(|(_, _, m)| m == "ApplicationCrash").unwrap().1;
    let email_filter = metric_filters(&t).into_iter().find(|(_, _, m)| m == "MandrillEmailFailed").unwrap().1;
    let matching: Vec<&Json> = lines.iter().filter(|l| filter_matches(&crash_filter, l)).collect();
    assert_eq!(matching.len(), 1, "one crash, one matching line: {logs}");
    assert_eq!(matching[0]["fields"]["request_id"], crash["request_id"]);
    // The email filter reads the same place: fields named `event` land under "fields".
    let (email_path, _) = json_filter(&email_filter);
    let request_line =
        lines.iter().find(|l| l["fields"]["request_id"] == ok["request_id"]).expect("the request's line");
    assert_eq!(email_path.iter().fold(request_line, |v, k| &v[k.as_str()]), "request", "{request_line}");
    assert!(!lines.iter().any(|l| filter_matches(&email_filter, l)), "no email failed here");
}
