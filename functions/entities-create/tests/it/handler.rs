//! Entities Create (`POST /api/v1/entities/create`) through the function's whole request path:
//! every rule of docs/api.md#entities-create and docs/api.md#permissions, as a caller sees it.
//! One suite for every store.

use std::collections::HashSet;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use domain::model::{Actor, ActorKind};
use lambda_http::http::Method;
use serde_json::{json, Value};
use test_support::{request, Reply, TestApp};

const PATH: &str = "/api/v1/entities/create";
const EMPLOYEE: &str = "demo-employee-token";
const APP: &str = "demo-app-token"; // application 1: entities.create, integration_ids [7]
const APP_NO_PERMISSION: &str = "demo-app-noperm-token"; // application 2: no permissions, [7, 8]
const CLIENT: &str = "demo-client-token";
const LIAISON: &str = "demo-liaison-token";
/// `test_support::NOW`, as every timestamp of the API shows it.
const NOW_TEXT: &str = "2026-11-23T12:00:00Z";
/// The largest entity id of the demo fixture.
const LAST_FIXTURE_ID: u64 = 6;
/// The demo fixture's entities.
const FIXTURE_ENTITY_IDS: [u64; 2] = [5, LAST_FIXTURE_ID];

// ----- helpers -------------------------------------------------------------------------------

/// A valid body for the employee: creates `pine-realty` on integration 7.
fn valid() -> Value {
    json!({
        "token": EMPLOYEE,
        "integration_id": 7,
        "entity_slug": "pine-realty",
        "email": "office@pine.example",
        "name": "Pine Realty",
        "address": {"street": "12 Pine St", "city": "Denver", "state": "CO", "country": "US", "postal_code": "80205"},
        "active": true
    })
}

/// `valid()` with the top-level keys of `changes` set (`null` sets `null`).
fn with(changes: Value) -> Value {
    let mut body = valid();
    for (key, value) in changes.as_object().expect("changes are an object") {
        body[key.as_str()] = value.clone();
    }
    body
}

/// `valid()` with the address keys of `changes` set.
fn with_address(changes: Value) -> Value {
    let mut body = valid();
    for (key, value) in changes.as_object().expect("changes are an object") {
        body["address"][key.as_str()] = value.clone();
    }
    body
}

/// `valid()` without the named params; `address.city` names an address key.
fn without(names: &[&str]) -> Value {
    let mut body = valid();
    for name in names {
        match name.split_once('.') {
            Some((outer, inner)) => body[outer].as_object_mut().unwrap().shift_remove(inner),
            None => body.as_object_mut().unwrap().shift_remove(*name),
        };
    }
    body
}

/// A valid body with a slug and email of its own: `pine-<n>`, `office<n>@pine.example`.
fn numbered(n: usize) -> Value {
    with(json!({"entity_slug": format!("pine-{n}"), "email": format!("office{n}@pine.example")}))
}

async fn create(app: &TestApp, body: Value) -> Reply {
    let req = request(Method::POST, PATH, Some("application/json"), body.to_string());
    Reply::from_response(entities_create::handle(&app.deps, req).await)
}

/// Sends every body at once (`test_support::at_once`).
async fn create_in_parallel(app: &Arc<TestApp>, bodies: Vec<Value>) -> Vec<Reply> {
    let app = app.clone();
    test_support::at_once(bodies, move |body| {
        let app = app.clone();
        async move { create(&app, body).await }
    })
    .await
}

/// A success: HTTP 200, no errors; returns `data`.
#[track_caller]
fn ok(r: &Reply) -> &Value {
    assert_eq!((r.status(), r.code), ("action-successful", 200), "{}", r.body);
    assert_eq!(r.body["message"], "The request was successful.");
    assert_eq!(r.body["errors"], json!([]));
    assert!(r.body["data"].is_object(), "{}", r.body);
    &r.body["data"]
}

fn id_of(r: &Reply) -> u64 {
    r.body["data"]["id"].as_u64().unwrap_or_else(|| panic!("no integer id in {}", r.body))
}

/// A refusal with `status`, naming exactly `params` in this order, with no data.
#[track_caller]
fn refused(r: &Reply, status: &str, params: &[&str]) {
    let code = if status == "permission-denied" { 403 } else { 400 };
    assert_eq!((r.status(), r.code), (status, code), "{}", r.body);
    assert_eq!(r.error_params(), params, "{}", r.body);
    let message = r.body["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("'{}'", params[0])), "the message names the first param: {message}");
    assert_eq!(r.body["data"], Value::Null);
}

/// No entity was written and no email sent (the first new id would be 7).
async fn nothing_created(app: &TestApp) {
    assert_eq!(app.entity_ids().await, FIXTURE_ENTITY_IDS, "an entity was written");
    assert_eq!(app.notifier.emails(), vec![], "an email was sent");
}

/// The sorted key list of a view, from a space-separated list.
fn keys(list: &str) -> Vec<String> {
    let mut keys: Vec<String> = list.split_whitespace().map(str::to_string).collect();
    keys.sort();
    keys
}

const ENTITY_VIEW_KEYS: &str = "id integration_id entity_slug email name address operational_transaction_emails \
                                order_completion_emails active created_at updated_at";

// ----- success -------------------------------------------------------------------------------

async fn an_employee_creates_an_entity(app: TestApp) {
    let r = create(&app, valid()).await;
    let data = ok(&r);
    assert_eq!(
        *data,
        json!({
            "id": LAST_FIXTURE_ID + 1,
            "integration_id": 7,
            "entity_slug": "pine-realty",
            "email": "office@pine.example",
            "name": "Pine Realty",
            "address": {"street": "12 Pine St", "street2": null, "city": "Denver", "state": "CO", "country": "US",
                        "postal_code": "80205", "service_area": null},
            "operational_transaction_emails": [],
            "order_completion_emails": [],
            "active": true,
            "created_at": NOW_TEXT,
            "updated_at": NOW_TEXT,
        })
    );
    assert_eq!(r.body["session"]["user_id"], 11, "the employee's session object");
    assert!(r.body.get("application").is_none());
}

async fn the_entity_is_stored_as_answered(app: TestApp) {
    let body = with(json!({
        "integration_id": 8,
        "active": false,
        "operational_transaction_emails": ["ops@pine.example"],
        "order_completion_emails": "done@pine.example",
        "address": {"street": "12 Pine St", "street2": "Unit 4", "city": "Denver", "state": "CO", "country": "US",
                    "postal_code": "80205", "service_area": "Metro"},
    }));
    let r = create(&app, body).await;
    ok(&r);
    let stored = app.deps.store.entity(id_of(&r)).await.unwrap().expect("the entity was stored");
    assert_eq!(stored.integration_id, 8);
    assert_eq!(
        (stored.entity_slug.as_str(), stored.email.as_str(), stored.name.as_str()),
        ("pine-realty", "office@pine.example", "Pine Realty")
    );
    assert_eq!(stored.address.street2.as_deref(), Some("Unit 4"));
    assert_eq!(stored.address.service_area.as_deref(), Some("Metro"));
    assert_eq!(stored.operational_transaction_emails, ["ops@pine.example"]);
    assert_eq!(stored.order_completion_emails, ["done@pine.example"]);
    assert!(!stored.active);
    assert_eq!((stored.created_at, stored.updated_at), (test_support::NOW, test_support::NOW));
    assert_eq!(stored.created_by, Some(Actor { kind: ActorKind::User, id: 11 }));
    // The fixture's entities are untouched.
    assert_eq!(app.deps.store.entity(5).await.unwrap().unwrap().entity_slug, "acme-realty");
}

async fn an_application_creates_for_its_integration(app: TestApp) {
    let r = create(&app, with(json!({"token": APP, "view": "planoadmin_company_read"}))).await;
    let data = ok(&r);
    assert_eq!(data["integration_id"], 7);
    assert_eq!(data["created_by"], json!({"kind": "application", "id": 1}));
    assert_eq!(r.body["application"]["id"], 1, "the application object");
    assert!(r.body.get("session").is_none());
    let stored = app.deps.store.entity(id_of(&r)).await.unwrap().unwrap();
    assert_eq!(stored.created_by, Some(Actor { kind: ActorKind::Application, id: 1 }));
}

async fn created_by_names_the_user_in_planoadmin_company_read(app: TestApp) {
    let r = create(&app, with(json!({"view": "planoadmin_company_read"}))).await;
    assert_eq!(ok(&r)["created_by"], json!({"kind": "user", "id": 11}));
}

async fn each_view_shows_exactly_its_keys(app: TestApp) {
    let views = [
        (None, ENTITY_VIEW_KEYS.to_string()),
        (Some(Value::Null), ENTITY_VIEW_KEYS.to_string()),
        (Some(json!("entity_view")), ENTITY_VIEW_KEYS.to_string()),
        (Some(json!("planox_company_read_profile")), "id name email entity_slug address active".to_string()),
        (
            Some(json!("planox_company_read_preferences")),
            "id operational_transaction_emails order_completion_emails".to_string(),
        ),
        (Some(json!("planoadmin_company_read")), format!("{ENTITY_VIEW_KEYS} created_by")),
    ];
    for (n, (view, expected)) in views.into_iter().enumerate() {
        let mut body = numbered(n);
        if let Some(view) = &view {
            body["view"] = view.clone();
        }
        let r = create(&app, body).await;
        ok(&r);
        assert_eq!(r.data_keys(), keys(&expected), "view {view:?}");
        assert_eq!(r.body["data"].get("created_by").is_some(), expected.contains("created_by"), "view {view:?}");
    }
}

async fn the_address_shows_all_seven_keys(app: TestApp) {
    let all_seven = keys("street street2 city state country postal_code service_area");
    for (n, view) in ["entity_view", "planox_company_read_profile", "planoadmin_company_read"].into_iter().enumerate() {
        let mut body = numbered(n);
        body["view"] = json!(view);
        let r = create(&app, body).await;
        let address = ok(&r)["address"].as_object().expect("address is an object").clone();
        let mut got: Vec<String> = address.keys().cloned().collect();
        got.sort();
        assert_eq!(got, all_seven, "{view}");
        assert_eq!(address["street2"], Value::Null);
        assert_eq!(address["service_area"], Value::Null);
    }
    // Given optional keys show their values; empty ones are null.
    let mut body = numbered(9);
    body["address"]["street2"] = json!("Unit 4");
    body["address"]["service_area"] = json!("");
    let r = create(&app, body).await;
    assert_eq!(ok(&r)["address"]["street2"], "Unit 4");
    assert_eq!(r.body["data"]["address"]["service_area"], Value::Null);
}

async fn strings_are_trimmed(app: TestApp) {
    let body = json!({
        "token": EMPLOYEE,
        "integration_id": 7,
        "entity_slug": "  pine-realty ",
        "email": " Office@Pine.Example\t",
        "name": "  Pine Realty  ",
        "address": {"street": " 12 Pine St ", "city": "Denver ", "state": " CO", "country": "US", "postal_code": " 80205 "},
        "active": true,
    });
    let r = create(&app, body).await;
    let data = ok(&r);
    assert_eq!(data["entity_slug"], "pine-realty");
    assert_eq!(data["email"], "Office@Pine.Example", "stored as given, trimmed");
    assert_eq!(data["name"], "Pine Realty");
    assert_eq!(data["address"]["street"], "12 Pine St");
    assert_eq!(data["address"]["city"], "Denver");
    assert_eq!(data["address"]["state"], "CO");
    assert_eq!(data["address"]["postal_code"], "80205");
    // The trimmed slug is the one that is taken.
    refused(&create(&app, with(json!({"email": "other@pine.example"}))).await, "invalid-param", &["entity_slug"]);
}

async fn timestamps_are_the_time_of_the_request(app: TestApp) {
    app.clock.advance(time::Duration::seconds(90));
    let r = create(&app, valid()).await;
    assert_eq!(ok(&r)["created_at"], "2026-11-23T12:01:30Z");
    assert_eq!(r.body["data"]["updated_at"], "2026-11-23T12:01:30Z");
}

// ----- params: unknown, missing, types -------------------------------------------------------

async fn a_token_alone_reports_every_required_param_missing(app: TestApp) {
    let r = create(&app, json!({"token": EMPLOYEE})).await;
    refused(&r, "missing-param", &["integration_id", "entity_slug", "email", "name", "address", "active"]);
    assert_eq!(r.body["message"], "The param 'integration_id' is missing.");
    nothing_created(&app).await;
}

async fn null_and_empty_required_params_are_missing(app: TestApp) {
    for param in ["integration_id", "entity_slug", "email", "name", "address", "active"] {
        for empty in [Value::Null, json!(""), json!("   ")] {
            let r = create(&app, with(json!({ param: empty }))).await;
            refused(&r, "missing-param", &[param]);
        }
        refused(&create(&app, without(&[param])).await, "missing-param", &[param]);
    }
    let r = create(&app, without(&["active", "name", "integration_id"])).await;
    refused(&r, "missing-param", &["integration_id", "name", "active"]);
    nothing_created(&app).await;
}

async fn missing_address_fields_are_named_with_dots(app: TestApp) {
    let r = create(&app, with(json!({"address": {}}))).await;
    refused(
        &r,
        "missing-param",
        &["address.street", "address.city", "address.state", "address.country", "address.postal_code"],
    );
    for field in ["street", "city", "state", "country", "postal_code"] {
        let name = format!("address.{field}");
        refused(&create(&app, without(&[name.as_str()])).await, "missing-param", &[name.as_str()]);
        for empty in [Value::Null, json!(""), json!(" ")] {
            refused(&create(&app, with_address(json!({ field: empty }))).await, "missing-param", &[name.as_str()]);
        }
    }
    // In the documented order with the top-level params around it.
    let r = create(&app, without(&["name", "address.city", "active", "email", "address.street"])).await;
    refused(&r, "missing-param", &["email", "name", "address.street", "address.city", "active"]);
    nothing_created(&app).await;
    // The optional keys may be absent or empty.
    ok(&create(&app, with_address(json!({"street2": null, "service_area": ""}))).await);
}

async fn address_must_be_an_object(app: TestApp) {
    for address in [json!("1 Main St, Denver"), json!(["1 Main St"]), json!(5), json!(true)] {
        refused(&create(&app, with(json!({ "address": address }))).await, "invalid-param", &["address"]);
    }
    nothing_created(&app).await;
}

async fn unknown_params_are_invalid_each_named(app: TestApp) {
    let r = create(&app, with(json!({"colour": "red", "id": 12}))).await;
    refused(&r, "invalid-param", &["colour", "id"]);
    assert_eq!(r.body["message"], "The param 'colour' is invalid.");
    refused(&create(&app, with_address(json!({"colour": "red"}))).await, "invalid-param", &["address.colour"]);
    // Unknown params are found before missing ones, and only they are reported.
    let mut body = without(&["name", "address.city"]);
    body["address"]["zip"] = json!("80205");
    body["nmae"] = json!("Pine Realty");
    body["email"] = json!("not an email");
    refused(&create(&app, body).await, "invalid-param", &["address.zip", "nmae"]);
    // A param of another route is unknown here.
    refused(&create(&app, with(json!({"first_name": "Ada"}))).await, "invalid-param", &["first_name"]);
    nothing_created(&app).await;
}

async fn every_invalid_param_is_reported_in_contract_order(app: TestApp) {
    // Sent in reverse order; reported in the order of docs/api.md#entities-create-params.
    let body = json!({
        "token": EMPLOYEE,
        "active": "yes",
        "order_completion_emails": "done@pine.example,nope",
        "operational_transaction_emails": ["broken"],
        "address": {"postal_code": 80205, "country": "US", "state": "CO", "city": ["Denver"], "street": "12 Pine St"},
        "name": 42,
        "email": "office-at-pine.example",
        "entity_slug": "Pine Realty",
        "integration_id": "7.0",
        "application_view": "full",
        "session_view": "full",
        "view": "everything",
    });
    let r = create(&app, body).await;
    refused(
        &r,
        "invalid-param",
        &[
            "view",
            "session_view",
            "application_view",
            "integration_id",
            "entity_slug",
            "email",
            "name",
            "address.city",
            "address.postal_code",
            "operational_transaction_emails",
            "order_completion_emails",
            "active",
        ],
    );
    assert_eq!(r.body["message"], "The param 'view' is invalid.");
    assert!(r.body.get("session").is_none(), "an invalid session_view means no session object");
    nothing_created(&app).await;
}

async fn integration_id_is_a_positive_integer_or_digit_string(app: TestApp) {
    for bad in [
        json!("7.0"),
        json!(7.5),
        json!(7.0),
        json!(-3),
        json!("-3"),
        json!(" 7"),
        json!("7 "),
        json!(0),
        json!("0x7"),
        json!(true),
        json!([7]),
        json!(9_007_199_254_740_992u64),
    ] {
        refused(&create(&app, with(json!({ "integration_id": bad }))).await, "invalid-param", &["integration_id"]);
    }
    nothing_created(&app).await;
    let r = create(&app, with(json!({"integration_id": "7"}))).await;
    assert_eq!(ok(&r)["integration_id"], json!(7), "returned as a JSON integer");
    let r =
        create(&app, with(json!({"integration_id": "0008", "entity_slug": "pine-2", "email": "b@pine.example"}))).await;
    assert_eq!(ok(&r)["integration_id"], json!(8));
}

async fn the_slug_has_its_format_and_at_most_100_characters(app: TestApp) {
    let longest = format!("a{}", "-".repeat(99));
    for (n, good) in ["p", "9lives", "pine_realty-2", longest.as_str()].into_iter().enumerate() {
        let r = create(&app, with(json!({"entity_slug": good, "email": format!("o{n}@pine.example")}))).await;
        assert_eq!(ok(&r)["entity_slug"], good);
    }
    let too_long = format!("a{}", "b".repeat(100));
    for bad in [
        json!(too_long),
        json!("-pine"),
        json!("_pine"),
        json!("Pine"),
        json!("pine realty"),
        json!("piné"),
        json!("pine.realty"),
        json!("pine/realty"),
        json!(42),
        json!(["pine"]),
    ] {
        refused(&create(&app, with(json!({ "entity_slug": bad }))).await, "invalid-param", &["entity_slug"]);
    }
}

async fn the_email_must_be_an_email(app: TestApp) {
    let at_limit = format!("{}@example.com", "a".repeat(242));
    assert_eq!(at_limit.chars().count(), 254);
    let r = create(&app, with(json!({ "email": at_limit }))).await;
    assert_eq!(ok(&r)["email"], at_limit.as_str());
    let over = format!("{}@example.com", "a".repeat(243));
    for bad in [
        json!(over),
        json!("pine"),
        json!("office@pine"),
        json!("@pine.example"),
        json!("a@@pine.example"),
        json!("a@pine..example"),
        json!("of fice@pine.example"),
        json!(12),
        json!(["office@pine.example"]),
    ] {
        let body = with(json!({"email": bad, "entity_slug": "other-slug"}));
        refused(&create(&app, body).await, "invalid-param", &["email"]);
    }
}

async fn name_and_address_fields_are_one_line_strings_of_at_most_255(app: TestApp) {
    // Counted in characters, not bytes.
    let longest = "\u{e9}".repeat(255);
    let r = create(&app, with(json!({ "name": longest }))).await;
    assert_eq!(ok(&r)["name"], longest.as_str());
    let refusals = [
        (with(json!({"name": "n".repeat(256)})), "name"),
        (with(json!({"name": 42})), "name"),
        (with(json!({"name": "Pine\nRealty"})), "name"),
        (with(json!({"name": "Pine\u{7}Realty"})), "name"),
        (with_address(json!({"street": "s".repeat(256)})), "address.street"),
        (with_address(json!({"street2": 4})), "address.street2"),
        (with_address(json!({"postal_code": 80205})), "address.postal_code"),
        (with_address(json!({"service_area": {"name": "Metro"}})), "address.service_area"),
        (with_address(json!({"city": "Den\u{0}ver"})), "address.city"),
    ];
    for (body, param) in refusals {
        let mut body = body;
        body["entity_slug"] = json!("other-slug");
        body["email"] = json!("other@pine.example");
        refused(&create(&app, body).await, "invalid-param", &[param]);
    }
}

async fn email_lists_take_arrays_and_comma_separated_strings(app: TestApp) {
    let cases = [
        (json!(["a@pine.example", " A@PINE.example ", "b@pine.example"]), json!(["a@pine.example", "b@pine.example"])),
        (json!("B@pine.example, ,b@PINE.example,c@pine.example,"), json!(["B@pine.example", "c@pine.example"])),
        (json!("single@pine.example"), json!(["single@pine.example"])),
        (Value::Null, json!([])),
        (json!(""), json!([])),
        (json!([]), json!([])),
    ];
    for (n, (sent, stored)) in cases.into_iter().enumerate() {
        let mut body = numbered(n);
        body["operational_transaction_emails"] = sent.clone();
        body["order_completion_emails"] = sent.clone();
        body["view"] = json!("planox_company_read_preferences");
        let r = create(&app, body).await;
        let data = ok(&r);
        assert_eq!(data["operational_transaction_emails"], stored, "{sent}");
        assert_eq!(data["order_completion_emails"], stored, "{sent}");
        let entity = app.deps.store.entity(id_of(&r)).await.unwrap().unwrap();
        assert_eq!(json!(entity.operational_transaction_emails), stored, "{sent}");
    }
    // Twenty distinct addresses are allowed, duplicates not counted.
    let mut twenty: Vec<String> = (0..20).map(|i| format!("u{i}@pine.example")).collect();
    twenty.push("U0@PINE.EXAMPLE".to_string());
    let mut body = numbered(20);
    body["order_completion_emails"] = json!(twenty);
    let r = create(&app, body).await;
    assert_eq!(ok(&r)["order_completion_emails"].as_array().unwrap().len(), 20);
}

async fn a_bad_email_list_is_invalid_and_names_the_item(app: TestApp) {
    for param in ["operational_transaction_emails", "order_completion_emails"] {
        let r = create(&app, with(json!({ param: ["a@pine.example", "broken-item"] }))).await;
        refused(&r, "invalid-param", &[param]);
        assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("broken-item"), "{}", r.body);
        let r = create(&app, with(json!({ param: "a@pine.example, also broken" }))).await;
        refused(&r, "invalid-param", &[param]);
        assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("also broken"), "{}", r.body);
        let twenty_one: Vec<String> = (0..21).map(|i| format!("u{i}@pine.example")).collect();
        for bad in [json!(twenty_one), json!([5]), json!([null]), json!(5), json!(true), json!({"a": "a@pine.example"})]
        {
            refused(&create(&app, with(json!({ param: bad }))).await, "invalid-param", &[param]);
        }
    }
    nothing_created(&app).await;
}

async fn active_is_a_boolean(app: TestApp) {
    for bad in [json!("yes"), json!("TRUE"), json!(" true"), json!(1), json!(0), json!(["true"])] {
        refused(&create(&app, with(json!({ "active": bad }))).await, "invalid-param", &["active"]);
    }
    nothing_created(&app).await;
    assert_eq!(ok(&create(&app, with(json!({"active": "false"}))).await)["active"], false);
    let r = create(&app, with(json!({"active": false, "entity_slug": "pine-2", "email": "b@pine.example"}))).await;
    assert_eq!(ok(&r)["active"], false);
    let r = create(&app, with(json!({"active": "true", "entity_slug": "pine-3", "email": "c@pine.example"}))).await;
    assert_eq!(ok(&r)["active"], true);
}

async fn views_are_validated_for_every_token_kind(app: TestApp) {
    refused(&create(&app, with(json!({"view": "default"}))).await, "invalid-param", &["view"]);
    refused(&create(&app, with(json!({"view": 1}))).await, "invalid-param", &["view"]);
    // session_view is checked for an application token, application_view for a session.
    refused(
        &create(&app, with(json!({"token": APP, "session_view": "full"}))).await,
        "invalid-param",
        &["session_view"],
    );
    refused(&create(&app, with(json!({"application_view": "full"}))).await, "invalid-param", &["application_view"]);
    nothing_created(&app).await;
    let r = create(&app, with(json!({"session_view": "default", "application_view": "default"}))).await;
    ok(&r);
    assert_eq!(r.body["session"]["user_id"], 11);
}

// ----- authorization (docs/api.md#permissions) ---------------------------------------------

async fn an_employee_may_use_any_integration(app: TestApp) {
    for (n, integration) in [7, 8].into_iter().enumerate() {
        let mut body = numbered(n);
        body["integration_id"] = json!(integration);
        assert_eq!(ok(&create(&app, body).await)["integration_id"], integration);
    }
}

async fn an_application_may_create_only_for_its_integrations(app: TestApp) {
    for integration in [json!(8), json!("8"), json!(99)] {
        let r = create(&app, with(json!({"token": APP, "integration_id": integration}))).await;
        refused(&r, "permission-denied", &["integration_id"]);
    }
    // Denied before uniqueness: only integration_id is named.
    let body =
        with(json!({"token": APP, "integration_id": 8, "entity_slug": "acme-realty", "email": "ops@acme.example"}));
    refused(&create(&app, body).await, "permission-denied", &["integration_id"]);
    nothing_created(&app).await;
    ok(&create(&app, with(json!({"token": APP, "integration_id": 7}))).await);
}

async fn an_application_without_the_permission_is_denied_on_token_only(app: TestApp) {
    let r = create(&app, with(json!({"token": APP_NO_PERMISSION}))).await;
    refused(&r, "permission-denied", &["token"]);
    assert_eq!(r.body["message"], "Permission denied for param 'token'.");
    // Nothing else is reported, even with a missing integration and taken names.
    let body = with(
        json!({"token": APP_NO_PERMISSION, "integration_id": 99, "entity_slug": "acme-realty", "email": "ops@acme.example"}),
    );
    refused(&create(&app, body).await, "permission-denied", &["token"]);
    nothing_created(&app).await;
    // The slug is still free.
    ok(&create(&app, valid()).await);
}

async fn clients_and_liaisons_are_denied_on_token(app: TestApp) {
    for token in [CLIENT, LIAISON] {
        let r = create(&app, with(json!({ "token": token }))).await;
        refused(&r, "permission-denied", &["token"]);
        assert!(r.body["session"]["user_id"].is_u64(), "authenticated: the session object is there");
        // The liaison's own entity's integration does not help either.
        let body = with(
            json!({"token": token, "integration_id": 7, "entity_slug": "acme-realty", "email": "ops@acme.example"}),
        );
        refused(&create(&app, body).await, "permission-denied", &["token"]);
    }
    nothing_created(&app).await;
}

async fn params_are_checked_before_the_caller_is(app: TestApp) {
    // Stages 11–13 come before stage 14: a caller who may not create still learns about its params.
    for token in [CLIENT, LIAISON, APP_NO_PERMISSION] {
        refused(
            &create(&app, json!({ "token": token })).await,
            "missing-param",
            &["integration_id", "entity_slug", "email", "name", "address", "active"],
        );
        refused(&create(&app, with(json!({"token": token, "colour": "red"}))).await, "invalid-param", &["colour"]);
        refused(
            &create(&app, with(json!({"token": token, "integration_id": "x"}))).await,
            "invalid-param",
            &["integration_id"],
        );
    }
    nothing_created(&app).await;
}

// ----- references and uniqueness -------------------------------------------------------------

async fn the_integration_must_exist(app: TestApp) {
    for missing in [json!(9), json!(99), json!("100")] {
        let r = create(&app, with(json!({ "integration_id": missing }))).await;
        refused(&r, "invalid-param", &["integration_id"]);
    }
    // Existence is checked before uniqueness.
    let body = with(json!({"integration_id": 99, "entity_slug": "acme-realty", "email": "ops@acme.example"}));
    refused(&create(&app, body).await, "invalid-param", &["integration_id"]);
    nothing_created(&app).await;
}

async fn the_slug_must_be_unique(app: TestApp) {
    let r = create(&app, with(json!({"entity_slug": "acme-realty"}))).await;
    refused(&r, "invalid-param", &["entity_slug"]);
    refused(&create(&app, with(json!({"entity_slug": "summit-homes"}))).await, "invalid-param", &["entity_slug"]);
    nothing_created(&app).await;
    ok(&create(&app, valid()).await);
    // Taken once created, whatever the integration or the caller.
    let again = with(json!({"token": APP, "email": "another@pine.example"}));
    refused(&create(&app, again).await, "invalid-param", &["entity_slug"]);
    let again = with(json!({"integration_id": 8, "email": "another@pine.example"}));
    refused(&create(&app, again).await, "invalid-param", &["entity_slug"]);
    assert_eq!(app.notifier.emails().len(), 1, "only the create that succeeded sent an email");
}

async fn the_email_is_unique_ignoring_ascii_case(app: TestApp) {
    for taken in ["ops@acme.example", "OPS@Acme.Example", " ops@ACME.example ", "Hello@Summit.Example"] {
        let r = create(&app, with(json!({ "email": taken }))).await;
        refused(&r, "invalid-param", &["email"]);
    }
    nothing_created(&app).await;
    let r = create(&app, with(json!({"email": "Office@Pine.Example"}))).await;
    ok(&r);
    let again = with(json!({"entity_slug": "pine-2", "email": "OFFICE@pine.example"}));
    refused(&create(&app, again).await, "invalid-param", &["email"]);
    // Unique among entities only: a client's email is free for an entity.
    let r = create(&app, with(json!({"entity_slug": "pine-3", "email": "ada@example.com"}))).await;
    assert_eq!(ok(&r)["email"], "ada@example.com");
    // Only ASCII letters fold: these two are different addresses.
    ok(&create(&app, with(json!({"entity_slug": "pine-4", "email": "\u{d6}rs@pine.example"}))).await);
    ok(&create(&app, with(json!({"entity_slug": "pine-5", "email": "\u{f6}rs@pine.example"}))).await);
}

async fn a_collision_on_slug_and_email_names_both(app: TestApp) {
    // Slug of entity 5, email of entity 6: both named, entity_slug first.
    let body = with(json!({"email": "HELLO@summit.example", "entity_slug": "acme-realty"}));
    let r = create(&app, body).await;
    refused(&r, "invalid-param", &["entity_slug", "email"]);
    assert_eq!(r.body["message"], "The param 'entity_slug' is invalid.");
    // Same order when both belong to one entity.
    let body = json!({
        "email": "ops@acme.example",
        "entity_slug": "acme-realty",
        "token": EMPLOYEE,
        "integration_id": 7,
        "name": "Acme Again",
        "address": {"street": "1 Main St", "city": "Denver", "state": "CO", "country": "US", "postal_code": "80202"},
        "active": true,
    });
    refused(&create(&app, body).await, "invalid-param", &["entity_slug", "email"]);
    nothing_created(&app).await;
}

// ----- ids ---------------------------------------------------------------------------------

async fn ids_follow_the_fixture_and_never_repeat(app: TestApp) {
    let first = id_of(&create(&app, numbered(0)).await);
    assert_eq!(first, LAST_FIXTURE_ID + 1, "the next id after the fixture's largest");
    // Failed creates in between never lead to a reused id.
    refused(&create(&app, numbered(0)).await, "invalid-param", &["entity_slug", "email"]);
    let mut ids = vec![first];
    for n in 1..5 {
        let r = create(&app, numbered(n)).await;
        ok(&r);
        ids.push(id_of(&r));
    }
    let distinct: HashSet<u64> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "each create gets the next id: {ids:?}");
    for (n, id) in ids.iter().enumerate() {
        let stored = app.deps.store.entity(*id).await.unwrap().expect("stored under its id");
        assert_eq!(stored.entity_slug, format!("pine-{n}"));
    }
}

// ----- notification --------------------------------------------------------------------------

async fn the_new_entity_is_told_at_its_email(app: TestApp) {
    let r = create(&app, with(json!({"email": " Office@Pine.Example "}))).await;
    ok(&r);
    let emails = app.notifier.emails();
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0].to, "Office@Pine.Example");
    assert!(emails[0].subject.to_lowercase().contains("created"), "{}", emails[0].subject);
    assert!(emails[0].text.contains("Pine Realty"), "{}", emails[0].text);
}

async fn request_values_are_escaped_in_the_email_html(app: TestApp) {
    let r = create(&app, with(json!({"name": "<b>Pine</b> & Co"}))).await;
    ok(&r);
    let html = &app.notifier.emails()[0].html;
    assert!(html.contains("&lt;b&gt;Pine&lt;/b&gt; &amp; Co"), "{html}");
    assert!(!html.contains("<b>Pine"), "{html}");
}

async fn a_failed_email_is_mandrill_email_failed_with_the_saved_entity(app: TestApp) {
    app.notifier.fail.store(true, SeqCst);
    let r = create(&app, with(json!({"view": "planoadmin_company_read"}))).await;
    assert_eq!((r.status(), r.code), ("mandrill-email-failed", 500), "{}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("saved"), "{}", r.body["message"]);
    assert_eq!(r.body["errors"], json!([]));
    let data = &r.body["data"];
    assert_eq!(r.data_keys(), keys(&format!("{ENTITY_VIEW_KEYS} created_by")), "the requested view");
    assert_eq!(data["entity_slug"], "pine-realty");
    assert_eq!(data["created_by"], json!({"kind": "user", "id": 11}));
    assert_eq!(data["created_at"], NOW_TEXT);
    // It really was saved.
    let id = id_of(&r);
    assert!(id > LAST_FIXTURE_ID);
    let stored = app.deps.store.entity(id).await.unwrap().expect("the entity was saved");
    assert_eq!((stored.entity_slug.as_str(), stored.email.as_str()), ("pine-realty", "office@pine.example"));
    // So the same request again collides, and does not send anything either.
    app.notifier.fail.store(false, SeqCst);
    refused(&create(&app, valid()).await, "invalid-param", &["entity_slug", "email"]);
    assert_eq!(app.notifier.emails(), vec![]);
}

async fn refused_requests_send_no_email(app: TestApp) {
    refused(&create(&app, with(json!({"entity_slug": "acme-realty"}))).await, "invalid-param", &["entity_slug"]);
    refused(&create(&app, with(json!({"integration_id": 99}))).await, "invalid-param", &["integration_id"]);
    refused(&create(&app, with(json!({"token": CLIENT}))).await, "permission-denied", &["token"]);
    refused(&create(&app, without(&["name"])).await, "missing-param", &["name"]);
    nothing_created(&app).await;
}

// ----- concurrency -------------------------------------------------------------------------

/// How many times each race runs: a double claim or a repeated id that shows only in some
/// interleavings has that many chances to show.
const RACE_ROUNDS: usize = 6;

async fn parallel_creates_with_one_slug_let_exactly_one_succeed(app: TestApp) {
    let app = Arc::new(app);
    let mut emails_sent = 0;
    for round in 0..RACE_ROUNDS {
        let slug = format!("pine-{round}");
        let bodies = (0..20)
            .map(|n| with(json!({"entity_slug": slug, "email": format!("office{n}-{round}@pine.example")})))
            .collect();
        let replies = create_in_parallel(&app, bodies).await;
        let winners: Vec<&Reply> = replies.iter().filter(|r| r.status() == "action-successful").collect();
        assert_eq!(winners.len(), 1, "round {round}: {:?}", replies.iter().map(Reply::status).collect::<Vec<_>>());
        for r in replies.iter().filter(|r| r.status() != "action-successful") {
            refused(r, "invalid-param", &["entity_slug"]);
        }
        let winner = &winners[0].body["data"];
        let stored = app.deps.store.entity(id_of(winners[0])).await.unwrap().expect("the winner was stored");
        assert_eq!(stored.email, winner["email"].as_str().unwrap());
        let emails = app.notifier.emails();
        emails_sent += 1;
        assert_eq!(emails.len(), emails_sent, "round {round}: one email per entity");
        assert_eq!(emails[emails_sent - 1].to, winner["email"].as_str().unwrap());
    }
    assert_eq!(app.entity_ids().await.len(), FIXTURE_ENTITY_IDS.len() + RACE_ROUNDS, "one entity per round");
}

async fn parallel_creates_with_one_email_let_exactly_one_succeed(app: TestApp) {
    let app = Arc::new(app);
    for round in 0..RACE_ROUNDS {
        let bodies = (0..20)
            .map(|n| {
                let email = if n % 2 == 0 {
                    format!("office-{round}@pine.example")
                } else {
                    format!("OFFICE-{round}@Pine.Example")
                };
                with(json!({"entity_slug": format!("pine-{n}-{round}"), "email": email}))
            })
            .collect();
        let replies = create_in_parallel(&app, bodies).await;
        let winners = replies.iter().filter(|r| r.status() == "action-successful").count();
        assert_eq!(winners, 1, "round {round}: {:?}", replies.iter().map(Reply::status).collect::<Vec<_>>());
        for r in replies.iter().filter(|r| r.status() != "action-successful") {
            refused(r, "invalid-param", &["email"]);
        }
        assert_eq!(app.notifier.emails().len(), round + 1);
    }
    assert_eq!(app.entity_ids().await.len(), FIXTURE_ENTITY_IDS.len() + RACE_ROUNDS, "one entity per round");
}

async fn parallel_creates_get_distinct_ids(app: TestApp) {
    let app = Arc::new(app);
    let mut ids = HashSet::new();
    for round in 0..RACE_ROUNDS {
        let bodies = (0..20).map(|n| numbered(round * 100 + n)).collect();
        for r in &create_in_parallel(&app, bodies).await {
            ok(r);
            let id = id_of(r);
            assert!(id > LAST_FIXTURE_ID, "{id} repeats a fixture id");
            assert!(ids.insert(id), "round {round}: id {id} given twice");
            let stored = app.deps.store.entity(id).await.unwrap().expect("stored under its id");
            assert_eq!(stored.entity_slug, r.body["data"]["entity_slug"].as_str().unwrap());
        }
    }
    assert_eq!(ids.len(), 20 * RACE_ROUNDS);
    assert_eq!(app.notifier.emails().len(), 20 * RACE_ROUNDS);
    // And the next one still gets an id of its own.
    let next = id_of(&create(&app, numbered(99_999)).await);
    assert!(!ids.contains(&next) && next > LAST_FIXTURE_ID);
    let mut stored: Vec<u64> = ids.into_iter().chain([next]).chain(FIXTURE_ENTITY_IDS).collect();
    stored.sort_unstable();
    assert_eq!(app.entity_ids().await, stored, "every acknowledged create is stored, nothing else");
}

test_support::store_suite!(
    an_employee_creates_an_entity,
    the_entity_is_stored_as_answered,
    an_application_creates_for_its_integration,
    created_by_names_the_user_in_planoadmin_company_read,
    each_view_shows_exactly_its_keys,
    the_address_shows_all_seven_keys,
    strings_are_trimmed,
    timestamps_are_the_time_of_the_request,
    a_token_alone_reports_every_required_param_missing,
    null_and_empty_required_params_are_missing,
    missing_address_fields_are_named_with_dots,
    address_must_be_an_object,
    unknown_params_are_invalid_each_named,
    every_invalid_param_is_reported_in_contract_order,
    integration_id_is_a_positive_integer_or_digit_string,
    the_slug_has_its_format_and_at_most_100_characters,
    the_email_must_be_an_email,
    name_and_address_fields_are_one_line_strings_of_at_most_255,
    email_lists_take_arrays_and_comma_separated_strings,
    a_bad_email_list_is_invalid_and_names_the_item,
    active_is_a_boolean,
    views_are_validated_for_every_token_kind,
    an_employee_may_use_any_integration,
    an_application_may_create_only_for_its_integrations,
    an_application_without_the_permission_is_denied_on_token_only,
    clients_and_liaisons_are_denied_on_token,
    params_are_checked_before_the_caller_is,
    the_integration_must_exist,
    the_slug_must_be_unique,
    the_email_is_unique_ignoring_ascii_case,
    a_collision_on_slug_and_email_names_both,
    ids_follow_the_fixture_and_never_repeat,
    the_new_entity_is_told_at_its_email,
    request_values_are_escaped_in_the_email_html,
    a_failed_email_is_mandrill_email_failed_with_the_saved_entity,
    refused_requests_send_no_email,
    parallel_creates_with_one_slug_let_exactly_one_succeed,
    parallel_creates_with_one_email_let_exactly_one_succeed,
    parallel_creates_get_distinct_ids,
);
