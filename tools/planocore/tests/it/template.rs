//! `template.yaml` against the code: the table is the one `planocore table create` makes; each
//! function may do exactly the DynamoDB actions its handler (or the registry sync) really
//! performs (recorded on the emulator), no more and no fewer; routes, runtime, timeout and
//! secret are wired as the code expects. `operations.rs` checks logs, metrics, alarms and rollouts.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;

use crate::sam_template::*;
use domain::routes::RouteId;
use lambda_http::http::Method;
use serde_json::{json, Value as Json};
use serde_norway::Value as Yaml;
use store::dynamodb::{keys, table_definition, DynamoStore};
use test_support::{base64, fresh_recorded_table, repo_root, request, CallRecorder, Reply, ServeProcess, TestApp};

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
    deletion_protection: bool,
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
        deletion_protection: p["DeletionProtectionEnabled"].as_bool() == Some(true),
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
    assert!(t.deletion_protection, "deletion protection is on");
    let table = &template()["Resources"]["Table"];
    assert_eq!(
        (table["DeletionPolicy"].as_str(), table["UpdateReplacePolicy"].as_str()),
        (Some("Retain"), Some("Retain"))
    );
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

/// A demo app on a fresh emulator table whose calls `recorder` notes (setup calls dropped).
async fn recorded_app() -> (TestApp, CallRecorder) {
    let recorder = CallRecorder::default();
    let store: DynamoStore = fresh_recorded_table(Some(recorder.clone())).await;
    let app = TestApp::on(Arc::new(store)).await;
    recorder.take();
    (app, recorder)
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

/// The deploy's registry sync: exactly the puts `app::registry::sync` makes, only in the
/// registry's partition, and nothing else (no secret).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_sync_may_do_exactly_what_the_sync_does() {
    let recorder = CallRecorder::default();
    let store = fresh_recorded_table(Some(recorder.clone())).await;
    recorder.take();
    app::registry::sync(&store, false).await.unwrap();
    app::registry::sync(&store, false).await.unwrap(); // every record there: conditional puts fail
    let calls = recorder.take();
    let t = template();
    assert_eq!(allowed(&t, "RegistrySyncFunction"), needed_by(&calls), "calls: {calls:?}");
    let registry_pk = keys::registry(store::seam::RecordKind::Route, "any")[keys::PK].as_s().unwrap().clone();
    assert_eq!(leading_keys(&t, "RegistrySyncFunction"), [Some(vec![registry_pk])], "the registry's partition only");
    let env = &t["Resources"]["RegistrySyncFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(target(&env["TABLE_NAME"]), "Table");
    assert!(env["MANDRILL_SECRET_ID"].is_null(), "it sends no email");
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
            timeout > app::request_id::REQUEST_DEADLINE.as_secs(),
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
    // `sam local invoke <Function> -e events/<binary>.*.json`: every API event belongs to one
    // (events/cloudformation/ holds the registry-sync function's CloudFormation requests).
    let prefixes: BTreeSet<String> = std::fs::read_dir(repo_root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .map(|name| name.split('.').next().unwrap().to_string())
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
