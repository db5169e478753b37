//! An email list of 10,000 addresses is refused on the list param that holds it, on both routes
//! (docs/api.md#param-types: at most 20); its cost is in benches/worst_bodies.rs.

use lambda_http::http::Method;
use serde_json::{json, Value};
use test_support::{base64, request, Reply, TestApp};

fn addresses(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("u{i}@x.io")).collect()
}

fn new_entity(list_param: &str, list: Value) -> Value {
    let mut body = json!({"token": "demo-employee-token", "integration_id": 7, "entity_slug": "listed",
        "email": "listed@x.example", "name": "Listed", "active": true,
        "address": {"street": "s", "city": "c", "state": "CO", "country": "US", "postal_code": "1"}});
    body[list_param] = list;
    body
}

fn assert_refused_on(reply: &Reply, param: &str) {
    assert_eq!(reply.status(), "invalid-param", "{}", reply.body);
    assert_eq!(reply.error_params(), [param]);
    let message = reply.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("at most 20"), "{message}");
}

#[tokio::test]
async fn ten_thousand_addresses_are_refused_on_the_list_param_of_both_routes() {
    let app = TestApp::memory().await;
    let as_array = Value::from(addresses(10_000));
    let as_string = Value::from(addresses(10_000).join(","));
    for param in ["operational_transaction_emails", "order_completion_emails"] {
        for list in [&as_array, &as_string] {
            let body = new_entity(param, list.clone()).to_string();
            let req = request(Method::POST, "/api/v1/entities/create", Some("application/json"), body);
            assert_refused_on(&Reply::from_response(entities_create::handle(&app.deps, req).await), param);
        }
    }
    for param in ["assistant_emails", "additional_emails"] {
        for list in [&as_array, &as_string] {
            let body = base64(&json!({"token": "demo-employee-token", "id": 100, param: list}));
            let req = request(Method::PUT, "/api/v1/clients/update", Some("application/json"), body);
            assert_refused_on(&Reply::from_response(clients_update::handle(&app.deps, req).await), param);
        }
    }
    assert_eq!(app.entity_ids().await, [5, 6], "nothing was created");
}
