//! `template.yaml` against the code: the table is the one `planocore table create` makes; each
//! function may do exactly the DynamoDB actions its handler (or the registry sync) really
//! performs (recorded on the emulator), no more and no fewer; routes, runtime, timeout and
//! secret are wired as the code expects. `operations.rs` checks logs, metrics, alarms and rollouts.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;

use crate::sam_template::*;
use app::notify::mandrill::{MandrillConfig, MandrillNotifier};
use app::notify::secret::{KeySource, SecretKey, KEY_CACHE};
use domain::routes::RouteId;
use lambda_http::http::Method;
use serde_json::{json, Value as Json};
use serde_norway::Value as Yaml;
use store::dynamodb::{keys, table_definition, DynamoStore};
use test_support::{
    base64, event, events_with_prefix, fresh_recorded_table, replays, repo_root, request, CallRecorder, FakeMandrill,
    FakeReply, Reply, ServeProcess, TestApp, PREFLIGHT,
};

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
    let store = test_support::table_as_created(None, None).await;
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

/// A Mandrill key in a fresh Secrets Manager secret on moto, and a client of moto whose calls
/// `recorder` notes.
async fn recorded_secret(recorder: &CallRecorder) -> (String, aws_sdk_secretsmanager::Client) {
    let endpoint = Some(test_support::emulator::secretsmanager_endpoint());
    let limits = app::aws::SdkTimeouts::LOCAL_EMULATOR;
    let sdk = app::aws::sdk_config(&test_support::settings(), endpoint, limits).await;
    let name = format!("mandrill-{}", uuid::Uuid::new_v4().simple());
    let setup = aws_sdk_secretsmanager::Client::new(&sdk);
    let secret = json!({"mandrill_api_key": "iam-key"}).to_string();
    setup.create_secret().name(&name).secret_string(secret).send().await.expect("secret created on moto");
    let config = aws_sdk_secretsmanager::config::Builder::from(&sdk).interceptor(recorder.clone()).build();
    (name, aws_sdk_secretsmanager::Client::from_conf(config))
}

/// A demo app on a fresh emulator table as the function runs in Lambda: its DynamoDB and
/// Secrets Manager calls noted by `recorder` (the setup's dropped), its emails sent to
/// `mandrill` with the key read from a secret.
async fn recorded_app(recorder: &CallRecorder, mandrill: &FakeMandrill) -> TestApp {
    let store: DynamoStore = fresh_recorded_table(Some(recorder.clone())).await;
    let mut app = TestApp::on(Arc::new(store)).await;
    let (secret, client) = recorded_secret(recorder).await;
    let key = KeySource::Secret(SecretKey::with_client(secret, client, KEY_CACHE));
    let config = MandrillConfig { api_url: mandrill.url.clone(), ..MandrillConfig::default() };
    app.deps.notifier = Arc::new(MandrillNotifier::new(config, key));
    recorder.take();
    app
}

/// Requests of a route that no `events/` fixture makes and that reach other store calls (the
/// catalogue's cases): each must answer `action-successful`. A route's fixtures cover the rest.
fn catalogue_cases(route: RouteId) -> Vec<(&'static str, Json)> {
    match route {
        RouteId::ClientsUpdate => vec![
            (
                "email change: the transaction with the new email's guard, the old one's delete, an email",
                json!({"token": "demo-employee-token", "id": 102, "email": "alan.t@example.com"}),
            ),
            (
                "own password change: its check counted and cleared, other sessions revoked, an email",
                json!({"token": "demo-client-token", "id": 100, "password": "a new long password",
                       "current_password": "correct horse battery"}),
            ),
        ],
        _ => Vec::new(),
    }
}

/// Every call the function of `route` makes: each of its `events/<binary>.*.json` on a fresh
/// app (answering the status its name gives, sent again when it must replay), then again with
/// an `Idempotency-Key` on a session last used minutes ago (the touch, the key's claim, its
/// answer or release); then the route's catalogue cases.
async fn route_calls(route: RouteId) -> Vec<String> {
    let f = route_function(route);
    let recorder = CallRecorder::default();
    let mandrill = FakeMandrill::start(FakeReply::Recipients("sent")).await;
    let names = events_with_prefix(&format!("{}.", f.binary));
    assert!(!names.is_empty(), "{}: no events/{}.*.json", f.logical_id, f.binary);
    let mut calls = Vec::new();
    for name in &names {
        let app = recorded_app(&recorder, &mandrill).await;
        let expected = name.split('.').nth(1).expect("<function>.<status>[.<variant>].json");
        let answer = planocore::handle_route(&app.deps, route, event(name)).await;
        if expected == PREFLIGHT {
            assert_eq!(answer.status().as_u16(), 204, "{name}");
        } else {
            let reply = Reply::from_response(answer);
            assert_eq!(reply.status(), expected, "{name}: {}", reply.body);
            if replays(&event(name), domain::Status::from_slug(expected).unwrap()) {
                planocore::handle_route(&app.deps, route, event(name)).await;
            }
        }
        app.clock.advance(time::Duration::minutes(5));
        let mut keyed = event(name);
        let key = format!("iam-{name}").parse().unwrap();
        keyed.headers_mut().entry(app::idempotency::HEADER).or_insert(key);
        planocore::handle_route(&app.deps, route, keyed).await;
        calls.extend(recorder.take());
    }
    for (what, body) in catalogue_cases(route) {
        let app = recorded_app(&recorder, &mandrill).await;
        let body = if route.sensitive() { base64(&body) } else { body.to_string() };
        let req = request(route.method(), route.path(), Some("application/json"), body);
        let reply = Reply::from_response(planocore::handle_route(&app.deps, route, req).await);
        assert_eq!(reply.status(), "action-successful", "{}: {what}: {}", f.logical_id, reply.body);
        calls.extend(recorder.take());
    }
    calls
}

/// The deploy's registry sync on a fresh table, then again with every record there (the
/// conditional puts fail).
async fn registry_sync_calls() -> Vec<String> {
    let recorder = CallRecorder::default();
    let store = fresh_recorded_table(Some(recorder.clone())).await;
    recorder.take();
    app::registry::sync(&store, false).await.unwrap();
    app::registry::sync(&store, false).await.unwrap();
    recorder.take()
}

/// Each function of the transformed template is granted exactly the DynamoDB and Secrets
/// Manager actions (and resources) its code performs, recorded on DynamoDB Local and moto: a
/// route's function over its `events/` fixtures and the catalogue's cases, the fallback over its
/// fixtures (it has no store), the registry sync over a create and an update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_may_do_exactly_what_it_does() {
    let t = transformed::cloudformation();
    let mut problems = Vec::new();
    for (id, function) in transformed::resources(t, "AWS::Lambda::Function") {
        let binary = function["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap_or_default();
        let route = RouteId::ALL.into_iter().find(|r| route_function(*r).binary == binary);
        let calls = match route {
            Some(route) => route_calls(route).await,
            None if binary == FALLBACK => {
                for name in events_with_prefix(&format!("{FALLBACK}.")) {
                    route_fallback::handle(&event(&name));
                }
                Vec::new()
            }
            None if binary == "registry-sync" => registry_sync_calls().await,
            None => panic!(
                "{id} (binary {binary:?}): no route of shared/domain/src/routes.rs names it; add its run to \
                 tools/planocore/tests/template.rs (each_function_may_do_exactly_what_it_does)"
            ),
        };
        let used = needed_by(&calls);
        let granted = transformed::role_allowed(t, id);
        let here = policies_line(id);
        let exercise = match route {
            Some(_) => format!("events/{binary}.*.json via scripts/make-events.py, or catalogue_cases in tools/planocore/tests/template.rs"),
            None => "its run in tools/planocore/tests/template.rs".to_string(),
        };
        for (action, resource) in used.difference(&granted) {
            problems.push(format!(
                "{id}: {action} on {resource} is used but not granted: {here}: add it to {id}'s Policies"
            ));
        }
        for (action, resource) in granted.difference(&used) {
            problems.push(format!(
                "{id}: {action} on {resource} is granted but never used: {here}: remove it from {id}'s Policies, \
                 or add the request that needs it ({exercise})"
            ));
        }
        if problems.iter().any(|p| p.starts_with(&format!("{id}:"))) {
            let distinct: BTreeSet<&String> = calls.iter().collect();
            problems.push(format!("{id}: its recorded calls: {distinct:?}"));
        }
    }
    assert!(problems.is_empty(), "IAM policies against the recorded calls:\n{}", problems.join("\n"));
}

/// `template.yaml:N` of the function's `Policies:` (of the function itself when it has none).
fn policies_line(function: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| *l == format!("  {function}:")).expect("the function in template.yaml");
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map_or(lines.len(), |n| start + 1 + n);
    let policies = lines[start..end].iter().position(|l| l.trim() == "Policies:").map_or(start, |n| start + n);
    format!("template.yaml:{}", policies + 1)
}

/// The registry sync writes only in the registry's partition, and sends no email.
#[test]
fn registry_sync_writes_only_the_registry_partition() {
    let t = template();
    let registry_pk = keys::registry(store::seam::RecordKind::Route, "any")[keys::PK].as_s().unwrap().clone();
    assert_eq!(leading_keys(&t, "RegistrySyncFunction"), [Some(vec![registry_pk])], "the registry's partition only");
    let env = &t["Resources"]["RegistrySyncFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(target(&env["TABLE_NAME"]), "Table");
    assert!(env["MANDRILL_SECRET_ID"].is_null(), "it sends no email");
}

#[test]
/// The secret's and the table's names reach the route functions (what each may do with them:
/// `each_function_may_do_exactly_what_it_does`); the fallback gets neither.
fn each_function_gets_its_table_and_secret_and_the_fallback_nothing() {
    let t = template();
    for f in &functions() {
        let env = &function_prop(&t, &f.logical_id, "Environment")["Variables"];
        let own_env = &t["Resources"][&f.logical_id]["Properties"]["Environment"]["Variables"];
        if f.route.is_some() {
            assert_eq!(target(&own_env["TABLE_NAME"]), "Table", "{}", f.logical_id);
            assert_eq!(target(&own_env["MANDRILL_SECRET_ID"]), "MandrillSecret", "{}", f.logical_id);
            // Declared for `sam local invoke --env-vars` only; empty means the real DynamoDB.
            assert_eq!(own_env["DYNAMODB_ENDPOINT"].as_str(), Some(""), "{}", f.logical_id);
        } else {
            assert!(t["Resources"][&f.logical_id]["Properties"]["Policies"].is_null(), "the fallback reads no store");
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
    for f in &functions() {
        let res = &t["Resources"][&f.logical_id];
        assert_eq!(res["Type"].as_str(), Some("AWS::Serverless::Function"), "{}", f.logical_id);
        assert_eq!(res["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"), "{}", f.logical_id);
        assert_eq!(res["Metadata"]["BuildProperties"]["Binary"].as_str(), Some(f.binary.as_str()), "{}", f.logical_id);
        let code_uri = res["Properties"]["CodeUri"].as_str().unwrap();
        assert_eq!(code_uri, format!("functions/{}", f.binary));
        let manifest = std::fs::read_to_string(repo_root().join(code_uri).join("Cargo.toml")).unwrap();
        assert!(manifest.contains(&format!("name = \"{}\"", f.binary)), "{code_uri} builds the binary {}", f.binary);
        assert_eq!(function_prop(&t, &f.logical_id, "Runtime").as_str(), Some("provided.al2023"));
        assert_eq!(function_prop(&t, &f.logical_id, "Handler").as_str(), Some("bootstrap"));
        let arch = function_prop(&t, &f.logical_id, "Architectures").as_sequence().expect("Architectures");
        assert_eq!(arch.iter().map(target).collect::<Vec<_>>(), ["Architecture"], "{}", f.logical_id);
        let timeout = function_prop(&t, &f.logical_id, "Timeout").as_u64().expect("Timeout");
        assert!(
            timeout > app::request_id::REQUEST_DEADLINE.as_secs(),
            "{}: the Lambda timeout must leave room for the code's own deadline",
            &f.logical_id
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
                    &f.logical_id
                );
            }
            // No method and path: the API's $default route.
            None => assert!(p["Method"].is_null() && p["Path"].is_null(), "{}", f.logical_id),
        }
        binaries.insert(f.binary.as_str().to_string());
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

/// The scripts that run every function (scripts/sam-local, scripts/check-artifacts,
/// scripts/lambda_perf.py) take the list from scripts/lib/template_functions.py, which reads
/// template.yaml without a YAML library: it reads the template's functions, in its order.
#[test]
fn the_scripts_read_the_templates_functions() {
    let t = template();
    let resources = t["Resources"].as_mapping().unwrap();
    let listed = |api_only: bool| -> Vec<String> {
        resources
            .iter()
            .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
            .filter(|(_, r)| {
                let events = r["Properties"]["Events"].as_mapping().into_iter().flat_map(|m| m.values());
                !api_only || events.into_iter().any(|e| e["Type"].as_str() == Some("HttpApi"))
            })
            .map(|(id, r)| {
                format!("{}:{}", id.as_str().unwrap(), r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap())
            })
            .collect()
    };
    for (args, api_only) in [(&[][..], false), (&["--api"][..], true)] {
        let out = Command::new("python3")
            .arg(repo_root().join("scripts/lib/template_functions.py"))
            .args(args)
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let read: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
        assert_eq!(read, listed(api_only), "scripts/lib/template_functions.py {args:?}");
    }
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
