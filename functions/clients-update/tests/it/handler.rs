//! Clients Update (docs/api.md#clients-update, docs/api.md#permissions) against the demo
//! fixture, on every store.
//!
//! Fixture: client 100 (Ada, user 10, entity 5, tokens demo-client-token and
//! demo-client-phone-token), client 101 (Grace, user 14, entity 6, parent branding), client 102
//! (Alan, no user, entity 5). The liaison (demo-liaison-token) covers entity 5.

use std::sync::atomic::Ordering::SeqCst;

use lambda_http::http::Method;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;
use test_support::{base64, request, Reply, TestApp, RACING_CLIENT_FIELDS};
use time::Duration;

async fn update(app: &TestApp, body: Value) -> Reply {
    let req = request(Method::PUT, "/api/v1/clients/update", Some("application/json"), base64(&body));
    Reply::from_response(clients_update::handle(&app.deps, req).await)
}

/// `body` with the token and id added.
fn as_(token: &str, id: u64, fields: Value) -> Value {
    let mut body = json!({"token": token, "id": id});
    body.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    body
}

const EMPLOYEE: &str = "demo-employee-token";
const LIAISON: &str = "demo-liaison-token";
const ADA: &str = "demo-client-token";
const APP: &str = "demo-app-token";

async fn read(app: &TestApp, id: u64) -> Value {
    let r = update(app, as_(EMPLOYEE, id, json!({"view": "client_read"}))).await;
    assert_eq!(r.status(), "action-successful", "{}", r.body);
    r.body["data"].clone()
}

// ------------------------------------------------- authorization (docs/api.md#permissions)

async fn every_role_updates_what_it_may(app: TestApp) {
    for (token, id) in [(EMPLOYEE, 101), (LIAISON, 100), (LIAISON, 102), (ADA, 100), (APP, 102)] {
        let r = update(&app, as_(token, id, json!({"phone": format!("555-{id}")}))).await;
        assert_eq!(r.status(), "action-successful", "{token} on {id}: {}", r.body);
        assert_eq!(r.body["data"]["phone"], format!("555-{id}"));
    }
}

async fn someone_elses_client_answers_like_a_missing_one(app: TestApp) {
    let missing = update(&app, as_(ADA, 999_999, json!({"phone": "1"}))).await;
    assert_eq!((missing.status(), missing.error_params()), ("invalid-param", vec!["id".to_string()]));
    for (token, id) in [(ADA, 101), (ADA, 102), (LIAISON, 101), ("demo-grace-token", 100)] {
        let r = update(&app, as_(token, id, json!({"phone": "1"}))).await;
        assert_eq!(r.code, missing.code, "{token} on {id}");
        assert_eq!(r.body["status"], missing.body["status"]);
        assert_eq!(r.body["message"], missing.body["message"]);
        assert_eq!(r.body["errors"], missing.body["errors"]);
        assert_eq!(r.body["data"], Value::Null);
    }
    assert_eq!(read(&app, 101).await["phone"], Value::Null, "nothing was written");
}

async fn application_needs_the_route_permission(app: TestApp) {
    let r = update(&app, as_("demo-app-noperm-token", 100, json!({"phone": "1", "bogus": 1}))).await;
    // Unknown params are stage 11, before the route permission (stage 14).
    assert_eq!((r.status(), r.error_params()), ("invalid-param", vec!["bogus".to_string()]));
    let r = update(&app, as_("demo-app-noperm-token", 100, json!({"phone": "1"}))).await;
    assert_eq!((r.status(), r.code, r.error_params()), ("permission-denied", 403, vec!["token".to_string()]));
    assert_eq!(r.body["message"], "Permission denied for param 'token'.");
}

async fn roles_may_not_write_some_params(app: TestApp) {
    let r = update(&app, as_(ADA, 100, json!({"employee_notes": "x", "phone": "1", "active": false}))).await;
    assert_eq!(
        (r.status(), r.error_params()),
        ("permission-denied", vec!["active".to_string(), "employee_notes".to_string()])
    );
    let r =
        update(&app, as_(LIAISON, 100, json!({"password": "new password 1", "active": true, "employee_notes": "x"})))
            .await;
    assert_eq!(
        (r.status(), r.error_params()),
        ("permission-denied", vec!["password".to_string(), "active".to_string(), "employee_notes".to_string()])
    );
    // Denials come before the record lookup: a missing id still says permission-denied.
    let r = update(&app, as_(LIAISON, 999, json!({"active": true}))).await;
    assert_eq!(r.status(), "permission-denied");
    let unchanged = read(&app, 100).await;
    assert_eq!(unchanged["phone"], "303-555-0100");
    assert_eq!(unchanged["employee_notes"], "Prefers morning shoots.");
    for token in [EMPLOYEE, APP] {
        let r = update(&app, as_(token, 100, json!({"employee_notes": token, "active": false}))).await;
        assert_eq!(r.status(), "action-successful", "{token}");
    }
}

async fn a_user_with_two_roles_writes_with_the_roles_that_see_the_client(app: TestApp) {
    // User 15 is client 103 (entity 6) and a liaison for entity 5.
    const TWO: &str = "demo-two-roles-token";
    let r =
        update(&app, as_(TWO, 103, json!({"password": "new two hats", "current_password": "two hats password"}))).await;
    assert_eq!(r.status(), "action-successful", "as the client: {}", r.body);
    let r = update(&app, as_(TWO, 100, json!({"password": "not yours to set"}))).await;
    assert_eq!((r.status(), r.error_params()), ("permission-denied", vec!["password".to_string()]), "as the liaison");
    assert_eq!(update(&app, as_(TWO, 100, json!({"phone": "1"}))).await.status(), "action-successful");
    assert_eq!(
        update(&app, as_(TWO, 101, json!({"phone": "1"}))).await.error_params(),
        ["id"],
        "neither role sees 101"
    );
    let r = update(&app, as_(TWO, 103, json!({"active": false}))).await;
    assert_eq!((r.status(), r.error_params()), ("permission-denied", vec!["active".to_string()]));
}

// --------------------------- params (docs/api.md#param-types, docs/api.md#clients-update-params)

async fn unknown_missing_and_invalid_params_are_all_named(app: TestApp) {
    let r = update(&app, json!({"token": EMPLOYEE, "nickname": "x", "first_name": 3, "colour": "red"})).await;
    assert_eq!((r.status(), r.error_params()), ("invalid-param", vec!["nickname".to_string(), "colour".to_string()]));
    let r = update(&app, json!({"token": EMPLOYEE, "first_name": 3})).await;
    assert_eq!((r.status(), r.error_params()), ("missing-param", vec!["id".to_string()]));
    assert_eq!(r.body["message"], "The param 'id' is missing.");
    let r = update(
        &app,
        json!({"token": EMPLOYEE, "id": "100", "bio": "x".repeat(10_001), "email": "not-an-email", "first_name": 3,
               "view": "everything", "active": "yes", "assistant_emails": ["a@b.co", "broken@"],
               "session_view": "full", "phone": "x".repeat(256), "use_display_name": null}),
    )
    .await;
    assert_eq!(
        (r.status(), r.error_params()),
        (
            "invalid-param",
            [
                "view",
                "session_view",
                "first_name",
                "email",
                "phone",
                "active",
                "assistant_emails",
                "bio",
                "use_display_name"
            ]
            .map(String::from)
            .to_vec()
        )
    );
    assert_eq!(r.body["message"], "The param 'view' is invalid.");
    assert!(r.body.get("session").is_none(), "an invalid session_view gives no session object");
    let item = &r.body["errors"][6]["message"];
    assert!(item.as_str().unwrap().contains("broken@"), "{item}");
}

async fn ids_follow_the_integer_rules(app: TestApp) {
    for id in [json!("100"), json!(100)] {
        assert_eq!(update(&app, json!({"token": EMPLOYEE, "id": id})).await.status(), "action-successful");
    }
    for id in [json!(12.5), json!("12.0"), json!("-3"), json!(" 7"), json!(0), json!(true)] {
        let r = update(&app, json!({"token": EMPLOYEE, "id": id})).await;
        assert_eq!((r.status(), r.error_params()), ("invalid-param", vec!["id".to_string()]), "{id}");
    }
}

async fn lengths_count_characters_and_text_fields_allow_line_breaks(app: TestApp) {
    let r = update(&app, as_(EMPLOYEE, 100, json!({"first_name": "é".repeat(255), "bio": "a\nb\tc\r\n"}))).await;
    assert_eq!(r.status(), "action-successful", "{}", r.body);
    let r = update(&app, as_(EMPLOYEE, 100, json!({"first_name": "é".repeat(256)}))).await;
    assert_eq!(r.error_params(), ["first_name"]);
    let r = update(&app, as_(EMPLOYEE, 100, json!({"phone": "1\n2"}))).await;
    assert_eq!(r.error_params(), ["phone"]);
    let r =
        update(&app, as_(EMPLOYEE, 100, json!({"first_name": "  Ada  ", "employee_notes": "x".repeat(10_000)}))).await;
    assert_eq!(r.body["data"]["first_name"], "Ada", "strings are trimmed");
}

async fn null_or_empty_clears_optional_fields_only(app: TestApp) {
    let r = update(
        &app,
        as_(
            EMPLOYEE,
            100,
            json!({"phone": null, "realtor_license": "", "bio": "  ", "assistant_emails": "a@b.co",
                                  "view": "client_read"}),
        ),
    )
    .await;
    let d = &r.body["data"];
    assert_eq!(
        (d["phone"].clone(), d["realtor_license"].clone(), d["bio"].clone()),
        (Value::Null, Value::Null, Value::Null)
    );
    for clear in [json!(null), json!(""), json!([])] {
        let r = update(&app, as_(EMPLOYEE, 100, json!({"assistant_emails": clear, "view": "client_read"}))).await;
        assert_eq!(r.body["data"]["assistant_emails"], json!([]), "{clear}");
    }
    let r = update(&app, as_(EMPLOYEE, 100, json!({"first_name": "", "last_name": null, "email": " "}))).await;
    assert_eq!(
        (r.status(), r.error_params()),
        ("invalid-param", vec!["first_name".to_string(), "last_name".to_string(), "email".to_string()])
    );
}

async fn email_lists_take_arrays_or_comma_strings(app: TestApp) {
    let r = update(
        &app,
        as_(
            EMPLOYEE,
            100,
            json!({"assistant_emails": " Desk@Ada.example, ,desk@ada.example,help@ada.example ",
                                  "additional_emails": ["x@y.io", "X@Y.IO"], "view": "planox_client_read_preferences"}),
        ),
    )
    .await;
    assert_eq!(r.body["data"]["assistant_emails"], json!(["Desk@Ada.example", "help@ada.example"]));
    assert_eq!(r.body["data"]["additional_emails"], json!(["x@y.io"]));
    let many: Vec<String> = (0..21).map(|i| format!("cc{i}@ada.example")).collect();
    let r = update(&app, as_(EMPLOYEE, 100, json!({"additional_emails": many}))).await;
    assert_eq!(r.error_params(), ["additional_emails"]);
}

// ---------------------------------------------------------------- partial update

async fn only_sent_fields_change(app: TestApp) {
    let before = read(&app, 100).await;
    app.clock.advance(Duration::minutes(5));
    let r =
        update(&app, as_(EMPLOYEE, 100, json!({"bio": "New bio", "use_display_phone": "true", "view": "client_read"})))
            .await;
    let after = &r.body["data"];
    for (key, value) in before.as_object().unwrap() {
        match key.as_str() {
            "bio" => assert_eq!(after[key], "New bio"),
            "use_display_phone" => assert_eq!(after[key], true),
            "updated_at" => assert_eq!(after[key], "2026-11-23T12:05:00Z"),
            _ => assert_eq!(&after[key], value, "{key} must not change"),
        }
    }
}

async fn no_field_params_write_nothing(app: TestApp) {
    let before = read(&app, 102).await;
    app.clock.advance(Duration::hours(1));
    let r = update(&app, json!({"token": EMPLOYEE, "id": 102, "view": "client_read"})).await;
    assert_eq!(r.status(), "action-successful");
    assert_eq!(r.body["data"], before, "updated_at does not move");
    assert!(app.notifier.emails().is_empty());
}

/// How many times each race runs: a lost update or a double claim that shows only in some
/// interleavings has that many chances to show.
const RACE_ROUNDS: usize = 8;

/// Sends every body at once (`test_support::at_once`).
async fn update_in_parallel(app: &Arc<TestApp>, bodies: Vec<Value>) -> Vec<Reply> {
    let app = app.clone();
    test_support::at_once(bodies, move |body| {
        let app = app.clone();
        async move { update(&app, body).await }
    })
    .await
}

async fn concurrent_updates_of_different_fields_all_survive(app: TestApp) {
    let app = Arc::new(app);
    for round in 0..RACE_ROUNDS {
        let bodies =
            RACING_CLIENT_FIELDS.iter().map(|f| as_(EMPLOYEE, 100, json!({ (*f): format!("{f}-{round}") }))).collect();
        for r in update_in_parallel(&app, bodies).await {
            assert_eq!(r.status(), "action-successful", "{}", r.body);
        }
        let after = read(&app, 100).await;
        for f in RACING_CLIENT_FIELDS {
            assert_eq!(after[f], format!("{f}-{round}"), "round {round}: {f} was lost");
        }
    }
}

async fn a_liaison_of_150_entities_reaches_the_clients_of_every_one(app: TestApp) {
    // Entity 5 (client 100's) comes last, past DynamoDB's 100 operands of `IN`.
    let entities: Vec<u64> = (1000..1149).chain([5]).collect();
    let fixture = json!({
        "users": [{"id": 90, "liaison_id": 690, "liaison_entity_ids": entities}],
        "sessions": [{"token": "wide-liaison-token", "user_id": 90, "created_at": "-1h", "last_used_at": "-5m"}],
    });
    let fixture = domain::fixture::parse(&fixture.to_string(), test_support::NOW).unwrap();
    app.deps.store.load_fixture(&fixture, store::seed::SeedMode::KeepExisting).await.unwrap();
    let r = update(&app, as_("wide-liaison-token", 100, json!({"phone": "555-0150"}))).await;
    assert_eq!((r.status(), r.body["data"]["phone"].clone()), ("action-successful", json!("555-0150")), "{}", r.body);
    let r = update(&app, as_("wide-liaison-token", 101, json!({"phone": "555-0151"}))).await;
    assert_eq!((r.status(), r.error_params()), ("invalid-param", vec!["id".to_string()]), "entity 6 is not its");
    assert_eq!(read(&app, 101).await["phone"], Value::Null);
}

// ---------------------------------------------------------------- email

async fn email_is_unique_case_insensitively_and_the_old_one_is_freed(app: TestApp) {
    let r = update(&app, as_(EMPLOYEE, 100, json!({"email": "GRACE@Example.com", "phone": "1"}))).await;
    assert_eq!((r.status(), r.error_params()), ("invalid-param", vec!["email".to_string()]));
    assert_eq!(read(&app, 100).await["phone"], "303-555-0100", "a refused update writes nothing");
    // Changing only the case of one's own email is allowed and is not a change to notify.
    let r = update(&app, as_(ADA, 100, json!({"email": "ADA@example.com"}))).await;
    assert_eq!((r.status(), r.body["data"]["email"].clone()), ("action-successful", json!("ADA@example.com")));
    assert!(app.notifier.emails().is_empty());
    let r = update(&app, as_(ADA, 100, json!({"email": "ada@lovelace.example"}))).await;
    assert_eq!(r.status(), "action-successful");
    let r = update(&app, as_(EMPLOYEE, 101, json!({"email": "Ada@Example.com"}))).await;
    assert_eq!(r.status(), "action-successful", "the old email is free again: {}", r.body);
}

async fn parallel_claims_of_one_email_have_one_winner(app: TestApp) {
    let app = Arc::new(app);
    let clients = [100, 101, 102];
    for round in 0..RACE_ROUNDS {
        // Sixteen claims of one new address, spread over the three clients (one client may
        // claim it more than once: its own address again is no conflict).
        let email = format!("shared-{round}@claim.example");
        let bodies = (0..16).map(|n| as_(EMPLOYEE, clients[n % 3], json!({"email": email}))).collect();
        let replies = update_in_parallel(&app, bodies).await;
        let winners: HashSet<u64> = replies
            .iter()
            .filter(|r| r.status() == "action-successful")
            .map(|r| r.body["data"]["id"].as_u64().expect("the updated client's id"))
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {:?}", replies.iter().map(Reply::status).collect::<Vec<_>>());
        assert!(replies.iter().filter(|r| r.status() != "action-successful").all(|r| r.error_params() == ["email"]));
        let mut holders = Vec::new();
        for id in clients {
            if read(&app, id).await["email"] == email.as_str() {
                holders.push(id);
            }
        }
        assert_eq!(holders, winners.into_iter().collect::<Vec<_>>(), "round {round}: exactly the winner holds it");
    }
}

async fn an_email_change_notifies_the_old_address(app: TestApp) {
    update(&app, as_(EMPLOYEE, 100, json!({"email": "ada@new.example", "first_name": "<b>Ada</b>"}))).await;
    let sent = app.notifier.emails();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "ada@example.com");
    assert!(sent[0].text.contains("ada@new.example"));
    assert!(sent[0].html.contains("&lt;b&gt;Ada&lt;/b&gt;") && !sent[0].html.contains("<b>Ada"));
}

// ---------------------------------------------------------------- password

async fn current_password_without_password_is_reported_with_the_other_invalid_params(app: TestApp) {
    // One answer names every invalid param of the stage, in the documented order.
    let long = "x".repeat(256);
    let r =
        update(&app, as_(ADA, 100, json!({"current_password": "correct horse battery", "phone": long, "bio": "ok"})))
            .await;
    assert_eq!(
        (r.status(), r.error_params()),
        ("invalid-param", vec!["phone".to_string(), "current_password".to_string()])
    );
    assert!(r.body["errors"][1]["message"].as_str().unwrap().contains("only with 'password'"), "{}", r.body);
    assert_eq!(read(&app, 100).await["bio"], Value::Null, "nothing was written");
}

async fn own_password_change_needs_the_current_password(app: TestApp) {
    let r = update(&app, as_(ADA, 100, json!({"password": "brand new secret"}))).await;
    assert_eq!((r.status(), r.error_params()), ("missing-param", vec!["current_password".to_string()]));
    let r =
        update(&app, as_(ADA, 100, json!({"password": "brand new secret", "current_password": "wrong guess"}))).await;
    assert_eq!((r.status(), r.error_params()), ("invalid-param", vec!["current_password".to_string()]));
    let r = update(&app, as_(ADA, 100, json!({"current_password": "correct horse battery"}))).await;
    assert_eq!((r.status(), r.error_params()), ("invalid-param", vec!["current_password".to_string()]));
    assert!(app.notifier.emails().is_empty());
    let r = update(
        &app,
        as_(ADA, 100, json!({"password": "brand new secret", "current_password": "correct horse battery"})),
    )
    .await;
    assert_eq!(r.status(), "action-successful", "{}", r.body);
    assert!(!r.body.to_string().contains("brand new secret") && !r.body.to_string().contains("argon2"));
    // The new password is now the current one.
    let r =
        update(&app, as_(ADA, 100, json!({"password": "third secret!", "current_password": "brand new secret"}))).await;
    assert_eq!(r.status(), "action-successful");
}

async fn password_rules(app: TestApp) {
    for bad in ["short", &"x".repeat(129)] {
        let r = update(&app, as_(EMPLOYEE, 100, json!({"password": bad}))).await;
        assert_eq!((r.status(), r.error_params()), ("invalid-param", vec!["password".to_string()]));
    }
    let r = update(&app, as_(EMPLOYEE, 102, json!({"password": "a fine password"}))).await;
    assert_eq!(
        (r.status(), r.error_params()),
        ("invalid-param", vec!["password".to_string()]),
        "client 102 has no user"
    );
    for token in [EMPLOYEE, APP] {
        let r = update(&app, as_(token, 101, json!({"password": format!("set by {token}")}))).await;
        assert_eq!(r.status(), "action-successful", "{token} needs no current password");
    }
}

async fn a_password_change_revokes_every_other_session_of_the_user(app: TestApp) {
    let r = update(
        &app,
        as_(ADA, 100, json!({"password": "brand new secret", "current_password": "correct horse battery"})),
    )
    .await;
    assert_eq!(r.status(), "action-successful");
    assert_eq!(update(&app, as_("demo-client-phone-token", 100, json!({}))).await.status(), "invalid-token");
    assert_eq!(
        update(&app, as_(ADA, 100, json!({}))).await.status(),
        "action-successful",
        "the caller's own session stays"
    );
    let sent = app.notifier.emails();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "ada@example.com");
    assert!(!sent[0].text.contains("brand new secret") && !sent[0].html.contains("brand new secret"));
    // An employee's change revokes all of the user's sessions, the caller being someone else.
    let r = update(&app, as_(EMPLOYEE, 100, json!({"password": "employee chosen"}))).await;
    assert_eq!(r.status(), "action-successful");
    assert_eq!(update(&app, as_(ADA, 100, json!({}))).await.status(), "invalid-token");
    assert_eq!(update(&app, as_(EMPLOYEE, 100, json!({}))).await.status(), "action-successful");
}

async fn email_and_password_change_send_both_messages(app: TestApp) {
    let r =
        update(&app, as_(EMPLOYEE, 101, json!({"email": "grace@navy.example", "password": "a new password"}))).await;
    assert_eq!(r.status(), "action-successful");
    let to: Vec<String> = app.notifier.emails().into_iter().map(|e| e.to).collect();
    assert_eq!(to, ["grace@example.com", "grace@navy.example"]);
}

async fn a_failed_notification_keeps_the_change(app: TestApp) {
    app.notifier.fail.store(true, SeqCst);
    let r = update(&app, as_(EMPLOYEE, 100, json!({"email": "ada@kept.example", "view": "contract_type_view"}))).await;
    assert_eq!((r.status(), r.code), ("mandrill-email-failed", 500));
    assert_eq!(r.body["data"], json!({"id": 100, "contract_type": "standard", "entity_id": 5}));
    app.notifier.fail.store(false, SeqCst);
    assert_eq!(read(&app, 100).await["email"], "ada@kept.example");
    // Plain field changes send nothing, so they cannot fail on email.
    app.notifier.fail.store(true, SeqCst);
    assert_eq!(update(&app, as_(EMPLOYEE, 100, json!({"phone": "2"}))).await.status(), "action-successful");
}

// ---------------------------------------------------------------- views

fn keys(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

const EVERY_CLIENT_FIELD: &[&str] = &[
    "id",
    "user_id",
    "entity_id",
    "contract_type",
    "first_name",
    "last_name",
    "email",
    "phone",
    "active",
    "assistant_first_name",
    "assistant_last_name",
    "assistant_phone",
    "assistant_emails",
    "additional_emails",
    "employee_notes",
    "realtor_license",
    "bio",
    "display_name",
    "use_display_name",
    "display_email",
    "use_display_email",
    "display_phone",
    "use_display_phone",
    "branding_name",
    "branding_website",
    "branding_notes",
    "branding_phone",
    "branding_address",
    "branding_address2",
    "branding_city",
    "branding_province_iso",
    "branding_postal_code",
    "use_parent_branding",
    "created_at",
    "updated_at",
];

async fn each_view_has_exactly_its_fields(app: TestApp) {
    let cases: &[(&str, &[&str])] = &[
        (
            "default",
            &["id", "first_name", "last_name", "email", "phone", "active", "entity_id", "created_at", "updated_at"],
        ),
        ("client_read", EVERY_CLIENT_FIELD),
        (
            "planox_client_read_profile",
            &[
                "id",
                "first_name",
                "last_name",
                "email",
                "phone",
                "realtor_license",
                "bio",
                "assistant_first_name",
                "assistant_last_name",
                "assistant_phone",
            ],
        ),
        (
            "planox_client_read_tours",
            &[
                "id",
                "display_name",
                "use_display_name",
                "display_email",
                "use_display_email",
                "display_phone",
                "use_display_phone",
                "tour_contact",
            ],
        ),
        (
            "planox_client_read_branding",
            &[
                "id",
                "branding_name",
                "branding_website",
                "branding_notes",
                "branding_phone",
                "branding_address",
                "branding_address2",
                "branding_city",
                "branding_province_iso",
                "branding_postal_code",
                "use_parent_branding",
                "branding",
            ],
        ),
        (
            "planox_client_read_preferences",
            &[
                "id",
                "assistant_emails",
                "additional_emails",
                "use_display_name",
                "use_display_email",
                "use_display_phone",
                "use_parent_branding",
            ],
        ),
        ("contract_type_view", &["id", "contract_type", "entity_id"]),
    ];
    for (view, fields) in cases {
        let r = update(&app, as_(EMPLOYEE, 100, json!({"view": view}))).await;
        assert_eq!(r.data_keys(), keys(fields), "{view}");
    }
    let r = update(&app, json!({"token": EMPLOYEE, "id": 100})).await;
    assert_eq!(r.data_keys(), keys(cases[0].1), "absent view is default");
    let r = update(&app, json!({"token": EMPLOYEE, "id": 100, "view": null})).await;
    assert_eq!(r.data_keys(), keys(cases[0].1), "null view is default");
}

async fn employee_notes_are_for_employees_and_applications(app: TestApp) {
    for (token, shown) in [(EMPLOYEE, true), (APP, true), (ADA, false), (LIAISON, false)] {
        let r = update(&app, as_(token, 100, json!({"view": "client_read"}))).await;
        assert_eq!(r.body["data"].get("employee_notes").is_some(), shown, "{token}");
        assert_eq!(r.body["data"].as_object().unwrap().len(), EVERY_CLIENT_FIELD.len() - usize::from(!shown));
    }
}

async fn timestamps_and_absent_values(app: TestApp) {
    let r = update(&app, as_(EMPLOYEE, 102, json!({"view": "client_read"}))).await;
    let d = &r.body["data"];
    assert_eq!(d["created_at"], "2026-08-15T12:00:00Z");
    assert_eq!(d["user_id"], Value::Null);
    assert_eq!(d["assistant_emails"], json!([]));
    assert_eq!(d["contract_type"], "enterprise");
    assert_eq!(d["active"], false);
}

async fn tour_contact_prefers_display_values_that_are_on_and_set(app: TestApp) {
    // Ada: use_display_name on with "Ada L."; use_display_email on but no display_email.
    let r = update(&app, as_(EMPLOYEE, 100, json!({"view": "planox_client_read_tours"}))).await;
    assert_eq!(
        r.body["data"]["tour_contact"],
        json!({"name": "Ada L.", "email": "ada@example.com", "phone": "303-555-0100"})
    );
    let r = update(
        &app,
        as_(
            EMPLOYEE,
            100,
            json!({"view": "planox_client_read_tours", "display_email": "tours@ada.example",
                                  "display_phone": "720-555-0000", "use_display_name": false}),
        ),
    )
    .await;
    assert_eq!(
        r.body["data"]["tour_contact"],
        json!({"name": "Ada Lovelace", "email": "tours@ada.example", "phone": "303-555-0100"}),
        "display_phone is set but its flag is off"
    );
}

async fn branding_comes_from_the_entity_or_the_client(app: TestApp) {
    let r = update(&app, as_(EMPLOYEE, 101, json!({"view": "planox_client_read_branding"}))).await;
    assert_eq!(
        r.body["data"]["branding"],
        json!({"source": "entity", "name": "Summit Homes", "website": null, "notes": null, "phone": null,
               "address": "9 Peak Rd", "address2": "Suite 2", "city": "Boulder", "province_iso": "CO",
               "postal_code": "80301"})
    );
    let r = update(&app, as_(EMPLOYEE, 100, json!({"view": "planox_client_read_branding", "branding_city": "Golden"})))
        .await;
    let b = &r.body["data"]["branding"];
    assert_eq!(
        (b["source"].clone(), b["name"].clone(), b["city"].clone()),
        (json!("client"), json!("Ada Homes"), json!("Golden"))
    );
    // Switching parent branding on takes effect in the same response.
    let r =
        update(&app, as_(EMPLOYEE, 102, json!({"view": "planox_client_read_branding", "use_parent_branding": true})))
            .await;
    assert_eq!(
        (r.body["data"]["branding"]["source"].clone(), r.body["data"]["branding"]["name"].clone()),
        (json!("entity"), json!("Acme Realty"))
    );
}

test_support::store_suite!(
    every_role_updates_what_it_may,
    someone_elses_client_answers_like_a_missing_one,
    application_needs_the_route_permission,
    roles_may_not_write_some_params,
    a_user_with_two_roles_writes_with_the_roles_that_see_the_client,
    unknown_missing_and_invalid_params_are_all_named,
    ids_follow_the_integer_rules,
    lengths_count_characters_and_text_fields_allow_line_breaks,
    null_or_empty_clears_optional_fields_only,
    email_lists_take_arrays_or_comma_strings,
    only_sent_fields_change,
    no_field_params_write_nothing,
    concurrent_updates_of_different_fields_all_survive,
    email_is_unique_case_insensitively_and_the_old_one_is_freed,
    parallel_claims_of_one_email_have_one_winner,
    a_liaison_of_150_entities_reaches_the_clients_of_every_one,
    an_email_change_notifies_the_old_address,
    current_password_without_password_is_reported_with_the_other_invalid_params,
    own_password_change_needs_the_current_password,
    password_rules,
    a_password_change_revokes_every_other_session_of_the_user,
    email_and_password_change_send_both_messages,
    a_failed_notification_keeps_the_change,
    each_view_has_exactly_its_fields,
    employee_notes_are_for_employees_and_applications,
    timestamps_and_absent_values,
    tour_contact_prefers_display_values_that_are_on_and_set,
    branding_comes_from_the_entity_or_the_client,
);
