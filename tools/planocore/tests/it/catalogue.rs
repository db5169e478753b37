//! Every route of the catalogue (`domain::RouteId::ALL`) is wired everywhere a route must be
//! (docs/architecture.md#how-to-add-a-route): a failure names the route and the missing piece.

use std::path::PathBuf;

use app::registry;
use domain::params::ParamSpec;
use domain::routes::RouteId;
use lambda_http::http::Method;
use serde_json::json;
use serde_norway::Value as Yaml;
use test_support::{base64, request, Reply, TestApp};

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
        let function: String =
            route.name().split('.').map(|w| w[..1].to_uppercase() + &w[1..]).chain(["Function".to_string()]).collect();
        let found = routes.iter().any(|(m, p, f)| m == route.method().as_str() && p == route.path() && *f == function);
        assert!(
            found,
            "{}: no HttpApi event {} {} in template.yaml: {routes:?}",
            route.name(),
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
        assert!(operation.is_mapping(), "{}: no {method} {} in docs/openapi.yaml", route.name(), route.path());
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
fn params_of(route: RouteId) -> &'static [ParamSpec] {
    match route {
        RouteId::ClientsUpdate => clients_update::handler::PARAMS,
        RouteId::EntitiesCreate => entities_create::handler::PARAMS,
    }
}

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
