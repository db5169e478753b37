//! Typed param readers that find every problem in one pass (stages 11–13 of docs/api.md#stages;
//! docs/api.md#param-types).
//!
//! A route declares its params as a table of [`ParamSpec`]s in the documented order; [`read`]
//! checks unknown params, then missing ones, then types and formats, and reports every error of
//! the first stage that fails, in table order (unknown params in body order).

use serde_json::{Map, Value};

use crate::envelope::{Outcome, ParamError, Status};
use crate::view_names::ViewName;

/// Largest integer id (2^53 − 1, the largest a JSON client can hold exactly).
pub const MAX_ID: u64 = (1 << 53) - 1;
pub const MAX_STRING: usize = 255;
pub const MAX_TEXT: usize = 10_000;
pub const MAX_EMAIL: usize = 254;
pub const MAX_EMAIL_LIST: usize = 20;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Checked by the pipeline before the params (stage 7); the reader leaves it alone.
    Token,
    /// 1 ..= 2^53 − 1, a JSON integer or a string of ASCII digits.
    Integer,
    Bool,
    /// A trimmed one-line string of at most `max` characters.
    Str {
        max: usize,
    },
    /// A trimmed string of at most `max` characters that may hold line breaks and tabs.
    Text {
        max: usize,
    },
    /// Taken exactly as sent (passwords): `min ..= max` characters.
    Secret {
        min: usize,
        max: usize,
    },
    Email,
    EmailList,
    /// Lowercase ASCII letters, digits, `-`, `_`; starts with a letter or digit.
    Slug {
        max: usize,
    },
    /// One of the listed names; absent or `null` means the route's default.
    View(&'static [&'static str]),
    Object(&'static [ParamSpec]),
}

/// One param of a route, as its table in docs/api.md lists it.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: Kind,
    /// Absent, `null` or `""` is `missing-param`.
    pub required: bool,
    /// `null` or `""` clears the field; otherwise they are `invalid-param` (required fields
    /// report `missing-param` first).
    pub clearable: bool,
    /// Accepted only with this other param: without it, an `invalid-param` of the type stage.
    pub requires: Option<&'static str>,
}

impl ParamSpec {
    pub const fn required(name: &'static str, kind: Kind) -> Self {
        ParamSpec { name, kind, required: true, clearable: false, requires: None }
    }
    pub const fn optional(name: &'static str, kind: Kind) -> Self {
        ParamSpec { name, kind, required: false, clearable: true, requires: None }
    }
    /// Optional to send, but may not be emptied (e.g. a client's `first_name` on update).
    pub const fn unclearable(name: &'static str, kind: Kind) -> Self {
        ParamSpec { name, kind, required: false, clearable: false, requires: None }
    }
}

/// `first` then `rest`: a route's control params before a record's, as one `&'static` table.
pub const fn concat<const N: usize>(first: &[ParamSpec], rest: &[ParamSpec]) -> [ParamSpec; N] {
    assert!(first.len() + rest.len() == N, "N must be the length of both tables");
    let mut out = [ParamSpec::optional("", Kind::Bool); N];
    let mut i = 0;
    while i < N {
        out[i] = if i < first.len() { first[i] } else { rest[i - first.len()] };
        i += 1;
    }
    out
}

/// An entity's fields as Entities Create takes them (docs/api.md#entities-create-params): the
/// route's params after its control params, and the fixture loader's rules for an entity.
pub mod entity {
    use super::{Kind, ParamSpec, MAX_STRING};

    const STR: Kind = Kind::Str { max: MAX_STRING };

    pub const ADDRESS: &[ParamSpec] = &[
        ParamSpec::required("street", STR),
        ParamSpec::optional("street2", STR),
        ParamSpec::required("city", STR),
        ParamSpec::required("state", STR),
        ParamSpec::required("country", STR),
        ParamSpec::required("postal_code", STR),
        ParamSpec::optional("service_area", STR),
    ];

    pub const FIELDS: &[ParamSpec] = &[
        ParamSpec::required("integration_id", Kind::Integer),
        ParamSpec::required("entity_slug", Kind::Slug { max: 100 }),
        ParamSpec::required("email", Kind::Email),
        ParamSpec::required("name", STR),
        ParamSpec::required("address", Kind::Object(ADDRESS)),
        ParamSpec::optional("operational_transaction_emails", Kind::EmailList),
        ParamSpec::optional("order_completion_emails", Kind::EmailList),
        ParamSpec::required("active", Kind::Bool),
    ];
}

/// A checked param value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// `null` or `""` sent for a clearable field.
    Clear,
    Int(u64),
    Bool(bool),
    Str(String),
    Emails(Vec<String>),
    Object(Params),
}

impl Param {
    /// The value as stored in a record: a cleared field is `null`.
    pub fn to_json(&self) -> Value {
        match self {
            Param::Clear => Value::Null,
            Param::Int(i) => Value::from(*i),
            Param::Bool(b) => Value::Bool(*b),
            Param::Str(s) => Value::String(s.clone()),
            Param::Emails(list) => Value::from(list.clone()),
            Param::Object(p) => Value::Object(p.iter().map(|(k, v)| (k.to_string(), v.to_json())).collect()),
        }
    }
}

/// The params that were sent, checked, in table order; `token` and unsent params are absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    values: Vec<(&'static str, Param)>,
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Param)> {
        self.values.iter().map(|(n, v)| (*n, v))
    }
    pub fn int(&self, name: &str) -> Option<u64> {
        match self.get(name) {
            Some(Param::Int(i)) => Some(*i),
            _ => None,
        }
    }
    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(Param::Bool(b)) => Some(*b),
            _ => None,
        }
    }
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Param::Str(s)) => Some(s),
            _ => None,
        }
    }
    pub fn emails(&self, name: &str) -> Option<&[String]> {
        match self.get(name) {
            Some(Param::Emails(list)) => Some(list),
            _ => None,
        }
    }
    pub fn object(&self, name: &str) -> Option<&Params> {
        match self.get(name) {
            Some(Param::Object(p)) => Some(p),
            _ => None,
        }
    }
    /// A view param, parsed (the reader accepted only its names); `default` when absent.
    pub fn view<V: ViewName>(&self, name: &str, default: V) -> V {
        self.str(name).and_then(V::from_name).unwrap_or(default)
    }
}

/// Stages 11–13 over a decoded body.
pub fn read(specs: &'static [ParamSpec], body: &Map<String, Value>) -> Result<Params, Outcome> {
    let mut unknown = Vec::new();
    collect_unknown(specs, body, "", &mut unknown);
    if !unknown.is_empty() {
        return Err(Outcome::params(Status::InvalidParam, unknown));
    }
    let mut missing = Vec::new();
    collect_missing(specs, body, "", &mut missing);
    if !missing.is_empty() {
        return Err(Outcome::params(Status::MissingParam, missing));
    }
    let mut invalid = Vec::new();
    let params = check_types(specs, body, "", &mut invalid);
    if !invalid.is_empty() {
        return Err(Outcome::params(Status::InvalidParam, invalid));
    }
    Ok(params)
}

fn qualified(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn find<'a>(specs: &'a [ParamSpec], name: &str) -> Option<&'a ParamSpec> {
    specs.iter().find(|s| s.name == name)
}

fn collect_unknown(specs: &[ParamSpec], body: &Map<String, Value>, prefix: &str, out: &mut Vec<ParamError>) {
    for (key, value) in body {
        match find(specs, key) {
            None => out.push(ParamError::new(qualified(prefix, key), "This param is not accepted by this route.")),
            Some(ParamSpec { kind: Kind::Object(sub), .. }) => {
                if let Value::Object(inner) = value {
                    collect_unknown(sub, inner, &qualified(prefix, key), out);
                }
            }
            Some(_) => {}
        }
    }
}

/// `null`, `""` (or only whitespace, for trimmed kinds).
fn is_empty(spec: &ParamSpec, value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => match spec.kind {
            Kind::Token | Kind::Secret { .. } => s.is_empty(),
            _ => s.trim().is_empty(),
        },
        _ => false,
    }
}

fn collect_missing(specs: &[ParamSpec], body: &Map<String, Value>, prefix: &str, out: &mut Vec<ParamError>) {
    for spec in specs {
        match body.get(spec.name) {
            Some(value) if !is_empty(spec, value) => {
                if let (Kind::Object(sub), Value::Object(inner)) = (spec.kind, value) {
                    collect_missing(sub, inner, &qualified(prefix, spec.name), out);
                }
            }
            _ if spec.required => out.push(ParamError::new(qualified(prefix, spec.name), "This param is required.")),
            _ => {}
        }
    }
}

fn check_types(
    specs: &'static [ParamSpec],
    body: &Map<String, Value>,
    prefix: &str,
    out: &mut Vec<ParamError>,
) -> Params {
    let mut params = Params::default();
    for spec in specs {
        let Some(value) = body.get(spec.name) else { continue };
        if matches!(spec.kind, Kind::Token) {
            continue;
        }
        if matches!(spec.kind, Kind::View(_)) && value.is_null() {
            continue;
        }
        if let Some(other) = spec.requires.filter(|other| body.get(*other).is_none_or(Value::is_null)) {
            out.push(ParamError::new(
                qualified(prefix, spec.name),
                format!("This param is accepted only with '{other}'."),
            ));
            continue;
        }
        if is_empty(spec, value) && !matches!(spec.kind, Kind::EmailList | Kind::View(_) | Kind::Bool) {
            if spec.clearable {
                params.values.push((spec.name, Param::Clear));
            } else {
                out.push(ParamError::new(qualified(prefix, spec.name), "This param cannot be empty."));
            }
            continue;
        }
        match check_value(spec, value, prefix, out) {
            Ok(param) => params.values.push((spec.name, param)),
            Err(message) => out.push(ParamError::new(qualified(prefix, spec.name), message)),
        }
    }
    params
}

/// One param's value; `prefix` names the object it sits in (for nested errors).
fn check_value(spec: &ParamSpec, value: &Value, prefix: &str, out: &mut Vec<ParamError>) -> Result<Param, String> {
    match spec.kind {
        Kind::Token => unreachable!("the token is checked by the pipeline"),
        Kind::Integer => integer(value).map(Param::Int),
        Kind::Bool => boolean(value).map(Param::Bool),
        Kind::Str { max } => string(value, max, false).map(Param::Str),
        Kind::Text { max } => string(value, max, true).map(Param::Str),
        Kind::Secret { min, max } => secret(value, min, max).map(Param::Str),
        Kind::Email => {
            let s = string(value, MAX_EMAIL, false)?;
            check_email(&s).map_err(|_| "This param must be a valid email address.".to_string())?;
            Ok(Param::Str(s))
        }
        Kind::EmailList => email_list(value).map(Param::Emails),
        Kind::Slug { max } => {
            let s = string(value, max, false)?;
            slug(&s)?;
            Ok(Param::Str(s))
        }
        Kind::View(names) => match value {
            Value::String(s) if names.contains(&s.trim()) => Ok(Param::Str(s.trim().to_string())),
            _ => Err(format!("This param must be one of: {}.", names.join(", "))),
        },
        Kind::Object(sub) => match value {
            Value::Object(inner) => Ok(Param::Object(check_types(sub, inner, &qualified(prefix, spec.name), out))),
            _ => Err("This param must be an object.".to_string()),
        },
    }
}

/// An id: a JSON integer or a string of ASCII digits, 1 ..= 2^53 − 1.
pub fn integer(value: &Value) -> Result<u64, String> {
    let n = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse::<u64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if (1..=MAX_ID).contains(&n) => Ok(n),
        _ => Err(format!("This param must be an integer from 1 to {MAX_ID}.")),
    }
}

fn boolean(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        _ => Err("This param must be true or false.".to_string()),
    }
}

fn string(value: &Value, max: usize, multiline: bool) -> Result<String, String> {
    let Value::String(s) = value else { return Err("This param must be a string.".to_string()) };
    let s = s.trim();
    // Stops counting at `max + 1` characters.
    if s.chars().nth(max).is_some() {
        return Err(format!("This param must be at most {max} characters."));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if s.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err("This param must not contain control characters.".to_string());
    }
    Ok(s.to_string())
}

fn secret(value: &Value, min: usize, max: usize) -> Result<String, String> {
    let Value::String(s) = value else { return Err("This param must be a string.".to_string()) };
    let len = s.chars().take(max + 1).count();
    if len < min || len > max {
        return Err(format!("This param must be {min} to {max} characters."));
    }
    if s.chars().any(char::is_control) {
        return Err("This param must not contain control characters.".to_string());
    }
    Ok(s.clone())
}

fn slug(s: &str) -> Result<(), String> {
    let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    let first_ok = s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if first_ok && s.chars().all(valid_char) {
        Ok(())
    } else {
        Err("This param must hold lowercase letters, digits, '-' and '_', starting with a letter or digit.".to_string())
    }
}

/// Not an email address by the rule of docs/api.md#param-types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid email address")]
pub struct InvalidEmail;

/// docs/api.md#param-types: a non-empty local part, one `@`, a dotted domain of non-empty labels,
/// no whitespace.
pub fn check_email(s: &str) -> Result<(), InvalidEmail> {
    if s.is_empty() || s.chars().nth(MAX_EMAIL).is_some() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(InvalidEmail);
    }
    let mut parts = s.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(InvalidEmail);
    };
    let labels: Vec<&str> = domain.split('.').collect();
    if local.is_empty() || labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return Err(InvalidEmail);
    }
    Ok(())
}

/// An array of emails or a comma-separated string; `null`, `""` and `[]` are the empty list.
/// Linear in the value: it stops at the first bad item or at the 21st distinct address, and the
/// duplicate check scans at most `MAX_EMAIL_LIST` kept addresses.
fn email_list(value: &Value) -> Result<Vec<String>, String> {
    let not_a_list = || "This param must be a list of email addresses.".to_string();
    let items: Box<dyn Iterator<Item = Option<&str>> + '_> = match value {
        Value::Null => Box::new(std::iter::empty()),
        Value::String(s) => Box::new(s.split(',').map(Some)),
        Value::Array(items) => Box::new(items.iter().map(Value::as_str)),
        _ => return Err(not_a_list()),
    };
    let mut list: Vec<String> = Vec::new();
    for item in items {
        let item = item.ok_or_else(not_a_list)?.trim();
        if item.is_empty() {
            continue;
        }
        if check_email(item).is_err() {
            let shown: String = item.chars().take(64).collect();
            return Err(format!("'{shown}' is not a valid email address."));
        }
        if list.iter().any(|e| e.eq_ignore_ascii_case(item)) {
            continue;
        }
        if list.len() == MAX_EMAIL_LIST {
            return Err(format!("This param must hold at most {MAX_EMAIL_LIST} email addresses."));
        }
        list.push(item.to_string());
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ADDRESS: &[ParamSpec] = &[
        ParamSpec::required("street", Kind::Str { max: MAX_STRING }),
        ParamSpec::required("city", Kind::Str { max: MAX_STRING }),
        ParamSpec::optional("note", Kind::Str { max: MAX_STRING }),
    ];
    const SPECS: &[ParamSpec] = &[
        ParamSpec::required("token", Kind::Token),
        ParamSpec {
            name: "view",
            kind: Kind::View(&["default", "full"]),
            required: false,
            clearable: false,
            requires: None,
        },
        ParamSpec::required("id", Kind::Integer),
        ParamSpec::unclearable("first_name", Kind::Str { max: 5 }),
        ParamSpec::optional("phone", Kind::Str { max: MAX_STRING }),
        ParamSpec::optional("bio", Kind::Text { max: 20 }),
        ParamSpec::optional("password", Kind::Secret { min: 8, max: 128 }),
        ParamSpec::optional("email", Kind::Email),
        ParamSpec::optional("cc", Kind::EmailList),
        ParamSpec::optional("active", Kind::Bool),
        ParamSpec::optional("slug", Kind::Slug { max: 10 }),
        ParamSpec::optional("address", Kind::Object(ADDRESS)),
    ];

    fn run(body: Value) -> Result<Params, Outcome> {
        read(SPECS, body.as_object().unwrap())
    }

    fn failed(body: Value) -> (Status, Vec<String>) {
        let o = run(body).expect_err("expected a failure");
        (o.status, o.errors.into_iter().map(|e| e.param).collect())
    }

    #[test]
    fn stages_run_in_order_and_report_everything_of_the_failing_stage() {
        // Unknown params win over missing and invalid ones, all named, in body order.
        let (s, names) = failed(json!({"token": "t", "zeta": 1, "first_name": 5, "alpha": 2}));
        assert_eq!((s, names), (Status::InvalidParam, vec!["zeta".into(), "alpha".into()]));
        // Missing before invalid.
        let (s, names) = failed(json!({"token": "t", "first_name": 5, "address": {"note": "x"}}));
        assert_eq!(
            (s, names),
            (Status::MissingParam, vec!["id".into(), "address.street".into(), "address.city".into()])
        );
        // Invalid: all of them, in table order regardless of body order.
        let (s, names) = failed(json!({"token": "t", "email": "nope", "id": "-3", "view": "x", "first_name": 5}));
        assert_eq!(
            (s, names),
            (Status::InvalidParam, vec!["view".into(), "id".into(), "first_name".into(), "email".into()])
        );
    }

    #[test]
    fn nested_unknown_and_invalid_names_use_dots() {
        let (s, names) =
            failed(json!({"token": "t", "id": 1, "address": {"street": "a", "city": "b", "colour": "red"}}));
        assert_eq!((s, names), (Status::InvalidParam, vec!["address.colour".into()]));
        let (s, names) = failed(json!({"token": "t", "id": 1, "address": {"street": 1, "city": "b"}}));
        assert_eq!((s, names), (Status::InvalidParam, vec!["address.street".into()]));
        let (s, names) = failed(json!({"token": "t", "id": 1, "address": "1 Main St"}));
        assert_eq!((s, names), (Status::InvalidParam, vec!["address".into()]));
    }

    #[test]
    fn integers() {
        for ok in [json!(12), json!("12"), json!("007"), json!(MAX_ID)] {
            assert!(integer(&ok).is_ok(), "{ok}");
        }
        for bad in [
            json!(12.5),
            json!("12.0"),
            json!("-3"),
            json!(" 7"),
            json!(0),
            json!(-1),
            json!(MAX_ID + 1),
            json!(true),
            json!(""),
        ] {
            assert!(integer(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn strings_are_trimmed_and_counted_in_characters() {
        let p = run(json!({"token": "t", "id": 1, "first_name": "  Zoë  ", "bio": "line\nbreak\tand tab"})).unwrap();
        assert_eq!(p.str("first_name"), Some("Zoë"));
        assert_eq!(p.str("bio"), Some("line\nbreak\tand tab"));
        assert_eq!(failed(json!({"token": "t", "id": 1, "first_name": "Zoëzoë"})).1, vec!["first_name"]);
        assert_eq!(failed(json!({"token": "t", "id": 1, "phone": "a\nb"})).1, vec!["phone"]);
        assert_eq!(failed(json!({"token": "t", "id": 1, "phone": 5551234})).1, vec!["phone"]);
        let p = run(json!({"token": "t", "id": 1, "password": "  spaced  "})).unwrap();
        assert_eq!(p.str("password"), Some("  spaced  "));
        assert_eq!(failed(json!({"token": "t", "id": 1, "password": "short"})).1, vec!["password"]);
    }

    #[test]
    fn clearing() {
        let p = run(json!({"token": "t", "id": 1, "phone": null, "bio": "  ", "cc": []})).unwrap();
        assert_eq!(p.get("phone"), Some(&Param::Clear));
        assert_eq!(p.get("bio"), Some(&Param::Clear));
        assert_eq!(p.emails("cc"), Some(&[][..]));
        assert_eq!(
            failed(json!({"token": "t", "id": 1, "first_name": ""})),
            (Status::InvalidParam, vec!["first_name".into()])
        );
        assert_eq!(
            failed(json!({"token": "t", "id": 1, "active": null})),
            (Status::InvalidParam, vec!["active".into()])
        );
        assert_eq!(failed(json!({"token": "t", "id": null})), (Status::MissingParam, vec!["id".into()]));
        let p = run(json!({"token": "t", "id": 1, "view": null})).unwrap();
        assert_eq!(p.view("view", crate::views::ClientView::Default), crate::views::ClientView::Default);
    }

    #[test]
    fn booleans() {
        let p = run(json!({"token": "t", "id": 1, "active": "false"})).unwrap();
        assert_eq!(p.bool("active"), Some(false));
        for bad in [json!("TRUE"), json!(1), json!("yes"), json!("")] {
            assert_eq!(failed(json!({"token": "t", "id": 1, "active": bad})).1, vec!["active"]);
        }
    }

    #[test]
    fn emails_and_email_lists() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org"] {
            assert!(check_email(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a", "a@b", "@b.co", "a@@b.co", "a@b..co", "a b@c.co", "a@b.co.", "a@.b.co"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        let p = run(json!({"token": "t", "id": 1, "cc": " a@b.co, ,A@B.CO,c@d.io "})).unwrap();
        assert_eq!(p.emails("cc").unwrap(), ["a@b.co", "c@d.io"]);
        let o = run(json!({"token": "t", "id": 1, "cc": ["a@b.co", "broken"]})).unwrap_err();
        assert!(o.errors[0].message.contains("'broken'"));
        let many: Vec<String> = (0..21).map(|i| format!("u{i}@x.io")).collect();
        assert_eq!(failed(json!({"token": "t", "id": 1, "cc": many})).1, vec!["cc"]);
    }

    #[test]
    fn email_lists_stop_at_the_21st_distinct_address() {
        // 20 distinct addresses repeated (in any case) are 20: duplicates do not count.
        let repeated: Vec<String> = (0..10_000).map(|i| format!("U{}@x.io", i % 20)).collect();
        assert_eq!(run(json!({"token": "t", "id": 1, "cc": repeated})).unwrap().emails("cc").unwrap().len(), 20);
        // The 21st distinct address is refused before the bad item after it is read.
        let mut many: Vec<Value> = (0..21).map(|i| json!(format!("u{i}@x.io"))).collect();
        many.push(json!(5));
        let o = run(json!({"token": "t", "id": 1, "cc": many})).unwrap_err();
        assert_eq!(o.errors[0].param, "cc");
        assert!(o.errors[0].message.contains("at most 20"), "{}", o.errors[0].message);
        let joined = (0..10_000).map(|i| format!("u{i}@x.io")).collect::<Vec<_>>().join(",");
        let o = run(json!({"token": "t", "id": 1, "cc": joined})).unwrap_err();
        assert!(o.errors[0].message.contains("at most 20"), "{}", o.errors[0].message);
    }

    #[test]
    fn slugs() {
        assert!(run(json!({"token": "t", "id": 1, "slug": "a-b_9"})).is_ok());
        for bad in ["-ab", "Ab", "a b", "ab!", "abcdefghijk"] {
            assert_eq!(failed(json!({"token": "t", "id": 1, "slug": bad})).1, vec!["slug"], "{bad}");
        }
    }
}
