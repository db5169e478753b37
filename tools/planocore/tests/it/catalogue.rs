//! Every route of the catalogue (`domain::RouteId::ALL`) is wired everywhere a route must be
//! (docs/architecture.md#how-to-add-a-route): a failure names the route, the missing piece and
//! the `file:line` to change. The places a route needs and no test here names are derived from
//! the catalogue (the fuzz target, the log filter's crates, the template tests' functions) or
//! from template.yaml (the scripts' function lists, scripts/lib/template_functions.py), or the
//! compiler names them (`planocore::handle_route`, `planocore::params_of`, a store error's `From` in
//! app's error.rs); `template.rs` checks each function's IAM policy against its calls.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use crate::sam_template::route_function;
use app::registry;
use app::settings::LogFilter;
use domain::routes::RouteId;
use lambda_http::http::Method;
use planocore::params_of;
use serde_json::{json, Value as Json};
use serde_norway::Value as Yaml;
use test_support::{base64, line_of, repo_root, request, rust_line_of, Reply, TestApp};

fn repo_file(path: &str) -> Yaml {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (method, path, logical id) of every HttpApi event of every function in template.yaml.
fn template_routes() -> Vec<(String, String, String)> {
    let template = repo_file("template.yaml");
    let mut routes = Vec::new();
    for (id, resource) in template["Resources"].as_mapping().expect("Resources") {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        for event in resource["Properties"]["Events"].as_mapping().into_iter().flat_map(|m| m.values()) {
            if event["Type"].as_str() == Some("HttpApi") {
                let p = &event["Properties"];
                let method = p["Method"].as_str().unwrap_or("").to_ascii_uppercase();
                let path = p["Path"].as_str().unwrap_or("").to_string();
                routes.push((method, path, id.as_str().unwrap_or("").to_string()));
            }
        }
    }
    routes
}

#[test]
fn every_route_is_in_the_template() {
    let routes = template_routes();
    for route in RouteId::ALL {
        // `clients.update` is served by `ClientsUpdateFunction`.
        let function = route_function(route).logical_id;
        let found = routes.iter().any(|(m, p, f)| m == route.method().as_str() && p == route.path() && *f == function);
        assert!(
            found,
            "{}: add {function} with its HttpApi event {} {} before the fallback's: {routes:?}",
            line_of("template.yaml", "  RouteFallbackFunction:"),
            route.method(),
            route.path()
        );
    }
}

#[test]
fn every_route_is_in_the_openapi_document() {
    let spec = repo_file("docs/openapi.yaml");
    for route in RouteId::ALL {
        let method = route.method().as_str().to_ascii_lowercase();
        let operation = &spec["paths"][route.path()][method.as_str()];
        assert!(
            operation.is_mapping(),
            "{}: add the path {} with its operation {method} ({})",
            line_of("docs/openapi.yaml", "paths:"),
            route.path(),
            route.name()
        );
    }
}

#[tokio::test]
async fn registry_sync_creates_every_route_and_its_service() {
    let app = TestApp::memory().await;
    registry::sync(app.deps.store.as_ref(), false).await.unwrap();
    let snapshot = app.deps.store.registry().await.unwrap();
    for route in RouteId::ALL {
        assert!(
            snapshot.routes.iter().any(|r| r.name == route.name() && r.deployed),
            "{}: no route record",
            route.name()
        );
        assert!(
            snapshot.services.iter().any(|s| s.name == route.service() && s.deployed),
            "{}: no service record",
            route.name()
        );
    }
}

/// The route's own params table: which handler answered shows in the params it misses.
#[tokio::test]
async fn planocore_serve_answers_every_route_with_its_own_handler() {
    let app = TestApp::memory().await;
    for route in RouteId::ALL {
        // An employee with no other param: the route's handler names its own required params.
        let body = json!({"token": "demo-employee-token"});
        let body = if route.sensitive() { base64(&body) } else { body.to_string() };
        let req = request(route.method(), route.path(), Some("application/json"), body);
        let reply = Reply::from_response(planocore::handle(&app.deps, req).await);
        let required: Vec<String> =
            params_of(route).iter().filter(|p| p.required && p.name != "token").map(|p| p.name.to_string()).collect();
        assert_eq!(
            (reply.status(), reply.error_params()),
            ("missing-param", required),
            "{}: planocore::handle does not route it to its own handler",
            route.name()
        );
    }
    let reply = Reply::from_response(planocore::handle(&app.deps, request(Method::GET, "/nowhere", None, "")).await);
    assert_eq!(reply.status(), "route-non-existent");
}

/// The workspace as `cargo metadata` reads it (its members, their dependencies, its metadata).
fn cargo_metadata() -> Json {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(repo_root())
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `cargo lambda watch` routes as the deployed API does: its router in the workspace's
/// Cargo.toml (`[workspace.metadata.lambda.watch.router]`, read back through `cargo metadata`)
/// sends each route's method and path to that route's function and every other method on those
/// paths, and any other path, to the fallback.
#[test]
fn cargo_lambda_watch_routes_as_the_template_does() {
    let metadata = cargo_metadata();
    let lambda = &metadata["metadata"]["lambda"];
    let router = lambda["watch"]["router"].as_object().expect("[workspace.metadata.lambda.watch.router]");
    let fallback = crate::sam_template::FALLBACK;
    let here = line_of("Cargo.toml", "[workspace.metadata.lambda.watch.router]");
    for route in RouteId::ALL {
        let f = route_function(route);
        let entries = router.get(route.path()).and_then(Json::as_array).unwrap_or_else(|| {
            panic!("{here}: add \"{}\" (its method to {}, every other to {fallback})", route.path(), f.binary)
        });
        let by_method: BTreeMap<&str, &str> =
            entries.iter().map(|e| (e["method"].as_str().unwrap(), e["function"].as_str().unwrap())).collect();
        for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            let expected = if method == route.method().as_str() { f.binary.as_str() } else { fallback };
            assert_eq!(
                by_method.get(method).copied(),
                Some(expected),
                "{here}: {method} {} goes to {expected}",
                route.path()
            );
        }
    }
    assert_eq!(router["/"].as_str(), Some(fallback));
    assert_eq!(router["/{*path}"].as_str(), Some(fallback), "any other path");
    assert_eq!(router.len(), RouteId::ALL.len() + 2, "{here}: one entry per route, `/` and `/{{*path}}`");
    assert_eq!(lambda["env"]["TABLE_NAME"].as_str(), Some("planocore"));
    assert!(lambda["env"]["DYNAMODB_ENDPOINT"].as_str().is_some_and(|e| e.starts_with("http://127.0.0.1:")));
}

/// A bare `RUST_LOG=info` lets through the INFO logs of every crate a deployed binary (each
/// function of template.yaml) or `planocore` links: the project's own crates, as the workspace
/// lists them, wherever a split puts them.
#[test]
fn a_bare_log_level_reaches_every_crate_a_binary_links() {
    let metadata = cargo_metadata();
    let packages: BTreeMap<&str, &Json> =
        metadata["packages"].as_array().unwrap().iter().map(|p| (p["name"].as_str().unwrap(), p)).collect();
    let template = repo_file("template.yaml");
    let functions = template["Resources"].as_mapping().unwrap().values();
    let binaries = functions
        .filter(|r| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_string());
    let mut todo: Vec<String> = binaries.chain(["planocore".to_string()]).collect();
    let mut linked = BTreeSet::new();
    while let Some(name) = todo.pop() {
        let package = packages.get(name.as_str()).unwrap_or_else(|| panic!("{name} is no workspace member"));
        if linked.insert(name) {
            // Normal dependencies on the workspace's own crates (a path), not dev or build ones.
            let own = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null() && d["path"].is_string());
            todo.extend(own.map(|d| d["name"].as_str().unwrap().to_string()));
        }
    }
    let targets = LogFilter::parse(Some("info")).targets();
    let dropped: Vec<String> = linked
        .iter()
        .map(|name| name.replace('-', "_"))
        .filter(|krate| !targets.would_enable(krate, &tracing::Level::INFO))
        .collect();
    assert!(
        dropped.is_empty(),
        "{}: add {dropped:?} to OWN_CRATES: a bare RUST_LOG=info drops their INFO logs",
        rust_line_of("const OWN_CRATES")
    );
}

/// Every route has its events (`sam local invoke -e`, the events tests, the IAM test, the fuzz
/// corpus, sam local start-api's request), written by scripts/make-events.py: at least an
/// `action-successful` one, on the route's method and path.
#[test]
fn every_route_has_its_events() {
    for route in RouteId::ALL {
        let name = format!("{}.action-successful.json", route_function(route).binary);
        let text = std::fs::read_to_string(repo_root().join("events").join(&name)).unwrap_or_else(|_| {
            panic!(
                "{}: write events/{name} (and one per status the route answers), then run scripts/make-events.py",
                line_of("scripts/make-events.py", "def main():")
            )
        });
        let event: Json = serde_json::from_str(&text).unwrap();
        let key = format!("{} {}", route.method(), route.path());
        assert_eq!(
            event["routeKey"].as_str(),
            Some(key.as_str()),
            "{}: events/{name}: name the route's method and path next to UPDATE and CREATE (its route key)",
            line_of("scripts/make-events.py", "UPDATE = (")
        );
    }
}

/// scripts/lambda_perf.py measures every function of the template (it reads them there) with a
/// request of each route's own that succeeds and writes.
#[test]
fn lambda_perf_has_a_request_for_every_route() {
    let script = std::fs::read_to_string(repo_root().join("scripts/lambda_perf.py")).unwrap();
    for route in RouteId::ALL {
        let binary = route_function(route).binary;
        assert!(
            script.contains(&format!("if function == \"{binary}\":")),
            "{}: add a request of {binary} ({} {}) to event_for",
            line_of("scripts/lambda_perf.py", "def event_for("),
            route.method(),
            route.path()
        );
    }
}

/// docs/api.md's table of routes is the catalogue's, row by row; the README names every route.
#[test]
fn every_route_is_in_the_docs() {
    let api = std::fs::read_to_string(repo_root().join("docs/api.md")).unwrap();
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let first = RouteId::ALL[0];
    let first = format!("`{} {}`", first.method(), first.path());
    for route in RouteId::ALL {
        let named = format!("`{} {}`", route.method(), route.path());
        let row = format!(
            "| {named} | `{}` | `{}` | {} | `functions/{}` |",
            route.name(),
            route.service(),
            if route.sensitive() { "yes" } else { "no" },
            route_function(route).binary
        );
        assert!(
            api.lines().any(|line| line.ends_with(&row)),
            "{}: the routes table needs the row ending {row}",
            line_of("docs/api.md", "| anything else |")
        );
        assert!(readme.contains(&named), "{}: name {named} with the other routes", line_of("README.md", &first));
    }
}
