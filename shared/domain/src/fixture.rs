//! The fixture format (docs/api.md#fixture-format): parsed, checked, tokens and passwords hashed.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::{json, Map, Value};
use time::{Duration, OffsetDateTime};

use crate::client_fields::{params_after, WRITTEN_COUNT};
use crate::credentials::{hash_password, token_hash};
use crate::model::{timestamp, Application, Client, Entity, Integration, Session, User};
use crate::params::{self, Kind, ParamSpec, MAX_ID, MAX_STRING, MAX_TEXT};
use crate::routes::RouteId;
use crate::unique::email_key;

const STR: Kind = Kind::Str { max: MAX_STRING };

/// A client's fields by Clients Update's rules, and `contract_type`, which only fixtures write.
const CLIENT: &[ParamSpec] = &params_after::<{ 1 + WRITTEN_COUNT }>(&[ParamSpec::optional("contract_type", STR)]);
const INTEGRATION: &[ParamSpec] = &[ParamSpec::required("name", STR)];
const APPLICATION: &[ParamSpec] = &[
    ParamSpec::required("name", STR),
    ParamSpec::required("slug", Kind::Slug { max: 100 }),
    ParamSpec::required("token", TOKEN),
];
/// A new password by Clients Update's rule.
const USER: &[ParamSpec] = &[ParamSpec::optional("password", Kind::Secret { min: 8, max: 128 })];
const SESSION: &[ParamSpec] = &[ParamSpec::required("token", TOKEN)];
/// Tokens are taken as sent: not empty, no control characters.
const TOKEN: Kind = Kind::Secret { min: 1, max: MAX_TEXT };

/// A checked fixture, ready to be written to a store.
#[derive(Debug, Clone, Default)]
pub struct Fixture {
    pub integrations: Vec<Integration>,
    pub applications: Vec<Application>,
    pub users: Vec<User>,
    pub sessions: Vec<Session>,
    pub clients: Vec<Client>,
    pub entities: Vec<Entity>,
}

impl Fixture {
    pub fn max_entity_id(&self) -> u64 {
        self.entities.iter().map(|e| e.id).max().unwrap_or(0)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("fixture: {0}")]
pub struct FixtureError(String);

fn fail<T>(msg: impl Into<String>) -> Result<T, FixtureError> {
    Err(FixtureError(msg.into()))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFixture {
    #[serde(default)]
    integrations: Vec<Integration>,
    #[serde(default)]
    applications: Vec<RawApplication>,
    #[serde(default)]
    users: Vec<RawUser>,
    #[serde(default)]
    sessions: Vec<RawSession>,
    #[serde(default)]
    clients: Vec<Map<String, Value>>,
    #[serde(default)]
    entities: Vec<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApplication {
    id: u64,
    name: String,
    slug: String,
    token: String,
    #[serde(default = "yes")]
    active: bool,
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    integration_ids: Vec<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    id: u64,
    client_id: Option<u64>,
    employee_id: Option<u64>,
    liaison_id: Option<u64>,
    #[serde(default)]
    liaison_entity_ids: Vec<u64>,
    password: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSession {
    token: String,
    user_id: u64,
    created_at: Option<String>,
    last_used_at: Option<String>,
    #[serde(default)]
    remember_me: bool,
}

fn yes() -> bool {
    true
}

/// `values` by the API's param rules (docs/api.md#param-types), each error named
/// `item.param`; the checked values (trimmed, lists deduplicated), by name.
fn checked(item: &str, specs: &'static [ParamSpec], values: Value) -> Result<Map<String, Value>, FixtureError> {
    let Value::Object(values) = values else { return fail(format!("{item}: must be an object")) };
    match params::read(specs, &values) {
        Ok(params) => Ok(params.iter().map(|(name, p)| (name.to_string(), p.to_json())).collect()),
        Err(outcome) => {
            let errors: Vec<String> = outcome
                .errors
                .iter()
                .map(|e| match e.message.as_str() {
                    "This param is not accepted by this route." => format!("{item}.{}: unknown field", e.param),
                    message => format!("{item}.{}: {}", e.param, message.trim_end_matches('.')),
                })
                .collect();
            fail(errors.join("; "))
        }
    }
}

/// The fields of `fields` that `specs` names.
fn subset(specs: &[ParamSpec], fields: &Map<String, Value>) -> Value {
    Value::Object(specs.iter().filter_map(|s| fields.get(s.name).map(|v| (s.name.to_string(), v.clone()))).collect())
}

/// An RFC 3339 timestamp, or one relative to `now` like `-73h`, `-8d`, `30m` (`-?\d+[smhd]`).
pub fn resolve_time(text: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
    if let Some(t) = timestamp::parse(text) {
        return Some(t.to_offset(time::UtcOffset::UTC));
    }
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let unit = rest.chars().last()?;
    let digits = &rest[..rest.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    let unit_seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    // Checked: an absurd count is no timestamp, not an overflow.
    let seconds = n.checked_mul(unit_seconds)?;
    now.checked_add(Duration::seconds(if negative { -seconds } else { seconds }))
}

/// Parses and checks a fixture; `now` anchors relative timestamps and absent ones.
pub fn parse(text: &str, now: OffsetDateTime) -> Result<Fixture, FixtureError> {
    let raw: RawFixture = serde_json::from_str(text).or_else(|e| fail(e.to_string()))?;
    let mut fx = Fixture { integrations: raw.integrations, ..Fixture::default() };
    for (i, integration) in fx.integrations.iter().enumerate() {
        checked(&format!("integrations[{i}]"), INTEGRATION, json!({"name": integration.name}))?;
    }
    for (i, a) in raw.applications.into_iter().enumerate() {
        let item = format!("applications[{i}]");
        checked(&item, APPLICATION, json!({"name": a.name, "slug": a.slug, "token": a.token}))?;
        if let Some(p) = a.permissions.iter().find(|p| RouteId::from_name(p).is_none()) {
            let routes: Vec<&str> = RouteId::ALL.iter().map(|r| r.name()).collect();
            return fail(format!("{item}.permissions: '{p}' is not a route (routes: {})", routes.join(", ")));
        }
        fx.applications.push(Application {
            id: a.id,
            name: a.name,
            slug: a.slug,
            token_hash: token_hash(&a.token),
            active: a.active,
            permissions: a.permissions,
            integration_ids: a.integration_ids,
        });
    }
    for (i, u) in raw.users.into_iter().enumerate() {
        checked(&format!("users[{i}]"), USER, json!({"password": u.password}))?;
        fx.users.push(User {
            id: u.id,
            client_id: u.client_id,
            employee_id: u.employee_id,
            liaison_id: u.liaison_id,
            liaison_entity_ids: u.liaison_entity_ids,
            password_hash: u.password.as_deref().map(hash_password),
            revocation: None,
        });
    }
    for (i, s) in raw.sessions.into_iter().enumerate() {
        checked(&format!("sessions[{i}]"), SESSION, json!({"token": s.token}))?;
        let at = |field: &str, v: Option<String>| match v {
            None => Ok(now),
            Some(text) => resolve_time(&text, now)
                .map_or_else(|| fail(format!("sessions[{i}].{field}: '{text}' is not a timestamp")), Ok),
        };
        fx.sessions.push(Session {
            token_hash: token_hash(&s.token),
            user_id: s.user_id,
            created_at: at("created_at", s.created_at)?,
            last_used_at: at("last_used_at", s.last_used_at)?,
            remember_me: s.remember_me,
        });
    }
    let client_defaults = json!({"contract_type": "standard", "active": true, "assistant_emails": [],
        "additional_emails": [], "use_display_name": false, "use_display_email": false,
        "use_display_phone": false, "use_parent_branding": false});
    for (i, c) in raw.clients.into_iter().enumerate() {
        fx.clients.push(record(&format!("clients[{i}]"), c, &client_defaults, CLIENT, now)?);
    }
    let entity_defaults = json!({"active": true, "operational_transaction_emails": [],
        "order_completion_emails": [], "created_by": null});
    for (i, e) in raw.entities.into_iter().enumerate() {
        fx.entities.push(record(&format!("entities[{i}]"), e, &entity_defaults, params::entity::FIELDS, now)?);
    }
    check(&fx)?;
    Ok(fx)
}

/// One client or entity: defaults filled in, timestamps resolved, the fields a route writes
/// checked by that route's `specs` and kept as it would store them, unknown fields refused.
fn record<T: serde::de::DeserializeOwned + serde::Serialize>(
    item: &str,
    mut fields: Map<String, Value>,
    defaults: &Value,
    specs: &'static [ParamSpec],
    now: OffsetDateTime,
) -> Result<T, FixtureError> {
    for (k, v) in defaults.as_object().into_iter().flatten() {
        if fields.get(k).is_none_or(Value::is_null) {
            fields.insert(k.clone(), v.clone());
        }
    }
    for field in ["created_at", "updated_at"] {
        let resolved = match fields.get(field) {
            None | Some(Value::Null) => now,
            Some(Value::String(s)) => match resolve_time(s, now) {
                Some(t) => t,
                None => return fail(format!("{item}.{field}: '{s}' is not a timestamp")),
            },
            Some(_) => return fail(format!("{item}.{field}: must be a timestamp string")),
        };
        fields.insert(field.to_string(), Value::String(timestamp::format(resolved)));
    }
    let values = checked(item, specs, subset(specs, &fields))?;
    fields.extend(values);
    let value: T = serde_json::from_value(Value::Object(fields.clone())).or_else(|e| fail(format!("{item}: {e}")))?;
    // Refuse unknown fields: every key sent must be a field of the record.
    let known = serde_json::to_value(&value).or_else(|e| fail(format!("{item}: {e}")))?;
    if let Some(unknown) = fields.keys().find(|k| known.get(k.as_str()).is_none()) {
        return fail(format!("{item}: unknown field '{unknown}'"));
    }
    Ok(value)
}

fn unique_ids(kind: &str, ids: impl Iterator<Item = u64>) -> Result<(), FixtureError> {
    let mut seen = HashSet::new();
    for id in ids {
        if id == 0 || id > MAX_ID {
            return fail(format!("{kind} id {id} is out of range"));
        }
        if !seen.insert(id) {
            return fail(format!("{kind} id {id} appears twice"));
        }
    }
    Ok(())
}

/// The references and values of docs/api.md#fixture-format: they must agree, or the fixture is
/// refused.
fn check(fx: &Fixture) -> Result<(), FixtureError> {
    unique_ids("integration", fx.integrations.iter().map(|i| i.id))?;
    unique_ids("application", fx.applications.iter().map(|a| a.id))?;
    unique_ids("user", fx.users.iter().map(|u| u.id))?;
    unique_ids("client", fx.clients.iter().map(|c| c.id))?;
    unique_ids("entity", fx.entities.iter().map(|e| e.id))?;
    let users: HashMap<u64, &User> = fx.users.iter().map(|u| (u.id, u)).collect();
    let clients: HashMap<u64, &Client> = fx.clients.iter().map(|c| (c.id, c)).collect();
    let integrations: HashSet<u64> = fx.integrations.iter().map(|i| i.id).collect();

    let mut tokens = HashSet::new();
    for a in &fx.applications {
        if !tokens.insert(&a.token_hash) {
            return fail(format!("application {}: its token is used twice", a.id));
        }
        if let Some(missing) = a.integration_ids.iter().find(|id| !integrations.contains(id)) {
            return fail(format!("application {}: integration {missing} does not exist", a.id));
        }
    }
    for (i, s) in fx.sessions.iter().enumerate() {
        if !tokens.insert(&s.token_hash) {
            return fail(format!("sessions[{i}]: its token is used twice"));
        }
        if !users.contains_key(&s.user_id) {
            return fail(format!("sessions[{i}]: user {} does not exist", s.user_id));
        }
    }
    for u in &fx.users {
        if let Some(cid) = u.client_id {
            match clients.get(&cid) {
                Some(c) if c.user_id == Some(u.id) => {}
                Some(_) => return fail(format!("user {}: client {cid} does not name this user as its user_id", u.id)),
                None => return fail(format!("user {}: client {cid} does not exist", u.id)),
            }
        }
    }
    let mut client_emails = HashSet::new();
    for c in &fx.clients {
        let item = format!("client {}", c.id);
        if let Some(uid) = c.user_id {
            match users.get(&uid) {
                Some(u) if u.client_id == Some(c.id) => {}
                Some(_) => return fail(format!("{item}: user {uid} does not name this client as its client_id")),
                None => return fail(format!("{item}: user {uid} does not exist")),
            }
        }
        if !client_emails.insert(email_key(&c.email)) {
            return fail(format!("{item}: email '{}' is used by another client", c.email));
        }
    }
    let (mut slugs, mut emails) = (HashSet::new(), HashSet::new());
    for e in &fx.entities {
        let item = format!("entity {}", e.id);
        if !integrations.contains(&e.integration_id) {
            return fail(format!("{item}: integration {} does not exist", e.integration_id));
        }
        if !slugs.insert(e.entity_slug.clone()) || !emails.insert(email_key(&e.email)) {
            return fail(format!("{item}: its slug or email is used by another entity"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

    #[test]
    fn relative_times() {
        assert_eq!(resolve_time("-73h", NOW), Some(NOW - Duration::hours(73)));
        assert_eq!(resolve_time("-8d", NOW), Some(NOW - Duration::days(8)));
        assert_eq!(resolve_time("30m", NOW), Some(NOW + Duration::minutes(30)));
        assert_eq!(resolve_time("-5s", NOW), Some(NOW - Duration::seconds(5)));
        assert_eq!(resolve_time("2026-01-02T03:04:05Z", NOW), Some(datetime!(2026-01-02 3:04:05 UTC)));
        for bad in ["", "-h", "5", "5x", "--5h", "5.5h", "h5"] {
            assert_eq!(resolve_time(bad, NOW), None, "{bad}");
        }
    }

    #[test]
    fn the_contract_example_loads_with_defaults() {
        let fx = parse(include_str!("../../../tools/planocore/demo-fixture.json"), NOW).unwrap();
        assert!(!fx.clients.is_empty());
        let text = r#"{"integrations":[{"id":7,"name":"Acme MLS"}],
          "users":[{"id":10,"client_id":100,"employee_id":null,"liaison_id":null,"liaison_entity_ids":[]}],
          "sessions":[{"token":"s","user_id":10,"created_at":"-1h","last_used_at":"-5m","remember_me":false}],
          "clients":[{"id":100,"user_id":10,"entity_id":5,"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com"}],
          "entities":[{"id":5,"integration_id":7,"entity_slug":"acme-realty","email":"ops@acme.example","name":"Acme Realty",
                       "address":{"street":"1 Main St","city":"Denver","state":"CO","country":"US","postal_code":"80202"}}]}"#;
        let fx = parse(text, NOW).unwrap();
        let c = &fx.clients[0];
        assert_eq!(c.contract_type.as_deref(), Some("standard"));
        assert!(c.active && !c.use_parent_branding && c.assistant_emails.is_empty() && c.phone.is_none());
        assert_eq!(c.created_at, NOW);
        assert_eq!(fx.sessions[0].created_at, NOW - Duration::hours(1));
        assert_eq!(fx.sessions[0].token_hash, token_hash("s"));
        assert_eq!(fx.entities[0].address.street2, None);
        assert!(fx.entities[0].active);
    }

    fn refused(text: &str) -> String {
        parse(text, NOW).unwrap_err().to_string()
    }

    /// `base` with the JSON members `fields` (`"k": v, ...`) added or replaced.
    fn with(mut base: Value, fields: &str) -> Value {
        let extra: Map<String, Value> = serde_json::from_str(&format!("{{{fields}}}")).unwrap();
        base.as_object_mut().unwrap().extend(extra);
        base
    }

    /// A fixture of one entity of integration 7 (which it does not hold) with `fields`.
    fn entity(fields: &str) -> String {
        let e = json!({"id": 1, "integration_id": 7, "entity_slug": "x", "email": "a@b.co", "name": "n",
            "address": {"street": "s", "city": "c", "state": "CO", "country": "US", "postal_code": "1"}});
        json!({"entities": [with(e, fields)]}).to_string()
    }

    /// A fixture of one client with `fields`.
    fn client(fields: &str) -> String {
        let c = json!({"id": 1, "first_name": "A", "last_name": "B", "email": "a@b.co"});
        json!({"clients": [with(c, fields)]}).to_string()
    }

    #[test]
    fn values_are_checked_by_the_api_rules_naming_the_item_and_field() {
        let long = "x".repeat(MAX_STRING + 1);
        let cases = [
            (entity(r#""entity_slug":"Bad Slug""#), "entities[0].entity_slug: This param must hold lowercase"),
            (entity(&format!(r#""name":"{long}""#)), "entities[0].name: This param must be at most 255 characters"),
            (entity(r#""name":"  ""#), "entities[0].name: This param is required"),
            (entity(r#""email":"nope""#), "entities[0].email: This param must be a valid email address"),
            (entity(r#""order_completion_emails":["ok@x.io","bad"]"#), "entities[0].order_completion_emails: 'bad'"),
            (client(r#""first_name":"""#), "clients[0].first_name: This param cannot be empty"),
            (client(r#""phone":"a\nb""#), "clients[0].phone: This param must not contain control characters"),
            (
                client(&format!(r#""bio":"{}""#, "b".repeat(MAX_TEXT + 1))),
                "clients[0].bio: This param must be at most 10000",
            ),
            (client(r#""display_email":"nope""#), "clients[0].display_email: This param must be a valid email"),
            (client(r#""contract_type":"a\u0000b""#), "clients[0].contract_type: This param must not contain control"),
            (r#"{"integrations":[{"id":7,"name":""}]}"#.into(), "integrations[0].name: This param is required"),
            (r#"{"users":[{"id":1,"password":"short"}]}"#.into(), "users[0].password: This param must be 8 to 128"),
            (
                r#"{"sessions":[{"token":"","user_id":1}],"users":[{"id":1}]}"#.into(),
                "sessions[0].token: This param is required",
            ),
        ];
        for (text, expected) in cases {
            let err = refused(&text);
            assert!(err.contains(expected), "{expected}\n{err}");
        }
    }

    #[test]
    fn address_keys_are_entities_creates() {
        let err = refused(&entity(
            r#""address":{"street":"s","city":"c","state":"CO","country":"US","postal_code":"1","colour":"red"}"#,
        ));
        assert!(err.contains("entities[0].address.colour: unknown field"), "{err}");
        let err = refused(&entity(r#""address":{"street":"s"}"#));
        assert!(err.contains("entities[0].address.city: This param is required"), "{err}");
        let err = refused(&entity(r#""address":null"#));
        assert!(err.contains("entities[0].address: This param is required"), "{err}");
        let text = r#"{"integrations":[{"id":7,"name":"I"}],"entities":[{"id":1,"integration_id":7,"entity_slug":"x",
            "email":"a@b.co","name":" Trimmed ","order_completion_emails":"a@b.co, A@B.CO",
            "address":{"street":"s","city":"c","state":"CO","country":"US","postal_code":"1"}}]}"#;
        let fx = parse(text, NOW).unwrap();
        assert_eq!(fx.entities[0].name, "Trimmed", "stored as the API would store it");
        assert_eq!(fx.entities[0].order_completion_emails, ["a@b.co"]);
    }

    #[test]
    fn permissions_are_route_names() {
        let app = |perms: &str| {
            format!(r#"{{"applications":[{{"id":1,"name":"A","slug":"a","token":"t","permissions":{perms}}}]}}"#)
        };
        assert!(parse(&app(r#"["clients.update","entities.create"]"#), NOW).is_ok());
        let err = refused(&app(r#"["clients.update","clients.delete"]"#));
        assert!(err.contains("applications[0].permissions: 'clients.delete' is not a route"), "{err}");
        assert!(err.contains("clients.update, entities.create"), "{err}");
        let err = refused(r#"{"applications":[{"id":1,"name":"A","slug":"Not A Slug","token":"t"}]}"#);
        assert!(err.contains("applications[0].slug"), "{err}");
    }

    #[test]
    fn an_absurd_relative_time_is_an_error_not_a_panic() {
        for absurd in ["-99999999999999999d", "99999999999999999d", "-9223372036854775807s", "9223372036854775807h"] {
            assert_eq!(resolve_time(absurd, NOW), None, "{absurd}");
            let text =
                format!(r#"{{"users":[{{"id":1}}],"sessions":[{{"token":"s","user_id":1,"created_at":"{absurd}"}}]}}"#);
            let err = refused(&text);
            assert!(err.contains("sessions[0].created_at") && err.contains(absurd), "{err}");
            let err = refused(&client(&format!(r#""updated_at":"{absurd}""#)));
            assert!(err.contains("clients[0].updated_at"), "{err}");
        }
    }

    #[test]
    fn disagreeing_references_are_refused_by_name() {
        let err = refused(
            r#"{"users":[{"id":10,"client_id":100}],
            "clients":[{"id":100,"user_id":11,"first_name":"A","last_name":"B","email":"a@b.co"}]}"#,
        );
        assert!(err.contains("user 10"), "{err}");
        let err = refused(r#"{"sessions":[{"token":"s","user_id":99}]}"#);
        assert!(err.contains("sessions[0]") && err.contains("99"), "{err}");
        let err = refused(&entity(""));
        assert!(err.contains("entity 1") && err.contains("integration 7"), "{err}");
        let err = refused(r#"{"clients":[{"id":1,"first_name":"A","last_name":"B","email":"a@b.co","colour":"red"}]}"#);
        assert!(err.contains("colour"), "{err}");
        let err = refused(r#"{"sessions":[{"token":"s","user_id":1,"created_at":"yesterday"}],"users":[{"id":1}]}"#);
        assert!(err.contains("yesterday"), "{err}");
    }
}
