//! `docs/openapi.yaml` against the code.
//!
//! - The routes of the spec are the routes of `domain::routes`, each with its body: the params
//!   object, or on a sensitive route a base64 string whose `contentSchema` is that object.
//! - Each route's decoded params schema matches the route's `PARAMS` table: names in order,
//!   required-ness, and for every param the schema its kind and limits call for (max lengths,
//!   integers, booleans, emails, email lists, slugs, passwords, view enums equal to the lists in
//!   `domain::views`, nested objects), with `null`/blank allowed exactly where the reader allows it.
//! - Over a corpus of values, every param's schema accepts exactly what `domain::params::read`
//!   accepts, so the spec's patterns describe the code's rules (trimming, control characters,
//!   email syntax, digit strings).
//! - Every `domain::envelope::Status` is in the catalogue with its HTTP code, each operation lists every
//!   status a route can answer under that code and no other, and the envelopes the code builds
//!   (and their headers) validate against the response schemas; the views rendered from the demo
//!   fixture validate against their view schemas, each against exactly one.
//!
//! The schemas are checked with a small JSON Schema evaluator below that knows every keyword the
//! spec uses and refuses any other, so that a new constraint cannot be silently ignored.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;

use domain::envelope::Envelope;
use domain::model::{Actor, ActorKind, Client, Entity};
use domain::params;
use domain::params::{Kind, ParamSpec, MAX_EMAIL, MAX_EMAIL_LIST, MAX_ID};
use domain::views;
use domain::views::{ApplicationView, ClientView, EntityView, SessionView, ViewName};
use lambda_http::{Body, Response};
use serde_json::{json, Map, Value};

const CLIENT_VIEWS: &[&str] = ClientView::NAMES;
const ENTITY_VIEWS: &[&str] = EntityView::NAMES;
const SESSION_VIEWS: &[&str] = SessionView::NAMES;
const APPLICATION_VIEWS: &[&str] = ApplicationView::NAMES;
use domain::envelope::{Outcome, ParamError, Status};
use domain::routes::RouteId;
use planocore::params_of;

// ---------------------------------------------------------------------------------------------
// The spec, with `$ref`s inlined.

/// Keywords that only document a schema.
const ANNOTATIONS: &[&str] = &["description", "title", "examples", "example", "default", "$comment", "format"];

struct Spec {
    root: Value,
    regexes: RefCell<HashMap<String, regex_lite::Regex>>,
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spec() -> Spec {
    let path = manifest_dir().join("../../docs/openapi.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let root: Value = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("docs/openapi.yaml: {e}"));
    assert_eq!(root["openapi"], "3.1.0");
    Spec { root, regexes: RefCell::new(HashMap::new()) }
}

impl Spec {
    fn pointer(&self, reference: &str) -> &Value {
        let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("external $ref {reference}"));
        self.root.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {reference}"))
    }

    fn component(&self, name: &str) -> &Value {
        self.pointer(&format!("#/components/schemas/{name}"))
    }

    /// A schema with every `$ref` inlined (its siblings kept) and its annotations dropped.
    fn resolve(&self, schema: &Value) -> Value {
        let map = match schema {
            Value::Object(map) => map,
            Value::Array(items) => return Value::Array(items.iter().map(|item| self.resolve(item)).collect()),
            other => return other.clone(),
        };
        let mut out = Map::new();
        if let Some(reference) = map.get("$ref") {
            let reference = reference.as_str().expect("$ref is a string");
            match self.resolve(self.pointer(reference)) {
                Value::Object(target) => out.extend(target),
                other => return other,
            }
        }
        for (key, value) in map {
            if key == "$ref" || ANNOTATIONS.contains(&key.as_str()) || key.starts_with("x-") {
                continue;
            }
            let value = match key.as_str() {
                // Data, not schemas.
                "enum" | "const" | "required" => value.clone(),
                // Maps from names (which may start with `x-`) to schemas or objects.
                "properties" | "headers" | "content" => Value::Object(
                    value.as_object().expect("properties").iter().map(|(k, v)| (k.clone(), self.resolve(v))).collect(),
                ),
                _ => self.resolve(value),
            };
            out.insert(key.clone(), value);
        }
        Value::Object(out)
    }

    fn operation(&self, route: RouteId) -> &Value {
        let method = route.method().as_str().to_ascii_lowercase();
        let op = &self.root["paths"][route.path()][&method];
        assert!(op.is_object(), "the spec has no {} {}", route.method(), route.path());
        op
    }

    /// The request body's schema as sent (resolved).
    fn body_schema(&self, route: RouteId) -> Value {
        let content = &self.operation(route)["requestBody"]["content"];
        let keys: Vec<_> = content.as_object().expect("content").keys().collect();
        assert_eq!(keys, ["application/json"], "{}: request media types", route.name());
        self.resolve(&content["application/json"]["schema"])
    }

    /// The decoded params object of a route.
    fn params_schema(&self, route: RouteId) -> Value {
        let body = self.body_schema(route);
        if route.sensitive() {
            body["contentSchema"].clone()
        } else {
            body
        }
    }

    fn response(&self, route: RouteId, code: u16) -> Value {
        let response = &self.operation(route)["responses"][code.to_string()];
        assert!(response.is_object(), "{}: no {code} response", route.name());
        self.resolve(response)
    }

    fn response_schema(&self, route: RouteId, code: u16) -> Value {
        self.response(route, code)["content"]["application/json"]["schema"].clone()
    }

    fn regex(&self, pattern: &str) -> regex_lite::Regex {
        self.regexes
            .borrow_mut()
            .entry(pattern.to_string())
            .or_insert_with(|| regex_lite::Regex::new(pattern).unwrap_or_else(|e| panic!("pattern {pattern}: {e}")))
            .clone()
    }

    // -----------------------------------------------------------------------------------------
    // A JSON Schema evaluator for the keywords the spec uses.

    fn accepts(&self, schema: &Value, value: &Value) -> bool {
        let map = match schema {
            Value::Bool(b) => return *b,
            Value::Object(map) => map,
            other => panic!("not a schema: {other}"),
        };
        map.iter().all(|(keyword, arg)| self.keyword(map, keyword, arg, value))
    }

    fn keyword(&self, schema: &Map<String, Value>, keyword: &str, arg: &Value, value: &Value) -> bool {
        let int = |v: &Value| v.as_u64().map(|n| n as usize).expect("a count");
        match keyword {
            "type" => match arg {
                Value::String(t) => has_type(value, t),
                Value::Array(types) => types.iter().any(|t| has_type(value, t.as_str().expect("type name"))),
                other => panic!("type {other}"),
            },
            "enum" => arg.as_array().expect("enum").contains(value),
            "const" => arg == value,
            "minLength" => value.as_str().is_none_or(|s| s.chars().count() >= int(arg)),
            "maxLength" => value.as_str().is_none_or(|s| s.chars().count() <= int(arg)),
            "pattern" => value.as_str().is_none_or(|s| self.regex(arg.as_str().expect("pattern")).is_match(s)),
            "minimum" => number(value).is_none_or(|n| n >= arg.as_f64().expect("minimum")),
            "maximum" => number(value).is_none_or(|n| n <= arg.as_f64().expect("maximum")),
            "minItems" => value.as_array().is_none_or(|a| a.len() >= int(arg)),
            "maxItems" => value.as_array().is_none_or(|a| a.len() <= int(arg)),
            "items" => value.as_array().is_none_or(|a| a.iter().all(|item| self.accepts(arg, item))),
            "required" => value.as_object().is_none_or(|o| {
                arg.as_array().expect("required").iter().all(|k| o.contains_key(k.as_str().expect("name")))
            }),
            "properties" => value.as_object().is_none_or(|o| {
                arg.as_object().expect("properties").iter().all(|(k, s)| o.get(k).is_none_or(|v| self.accepts(s, v)))
            }),
            "additionalProperties" => value.as_object().is_none_or(|o| {
                let declared = schema.get("properties").and_then(Value::as_object);
                o.iter()
                    .filter(|(k, _)| declared.is_none_or(|d| !d.contains_key(*k)))
                    .all(|(_, v)| self.accepts(arg, v))
            }),
            "anyOf" => arg.as_array().expect("anyOf").iter().any(|s| self.accepts(s, value)),
            "oneOf" => arg.as_array().expect("oneOf").iter().filter(|s| self.accepts(s, value)).count() == 1,
            "allOf" => arg.as_array().expect("allOf").iter().all(|s| self.accepts(s, value)),
            "not" => !self.accepts(arg, value),
            // Annotations in OpenAPI 3.1's dialect: the base64 body is checked through its
            // decoded `contentSchema` separately.
            "contentEncoding" | "contentMediaType" | "contentSchema" => true,
            other => panic!("the evaluator does not know the keyword {other:?}: teach it before using it in the spec"),
        }
    }
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        // JSON Schema: any number with a zero fractional part.
        "integer" => value.as_f64().is_some_and(|f| f.fract() == 0.0) || value.is_i64() || value.is_u64(),
        other => panic!("unknown type {other}"),
    }
}

fn number(value: &Value) -> Option<f64> {
    value.as_f64()
}

// ---------------------------------------------------------------------------------------------
// The routes and their params tables.

#[test]
fn the_spec_has_exactly_the_routes_of_the_code() {
    let spec = spec();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in spec.root["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            documented.push((method.to_ascii_uppercase(), path.clone()));
        }
    }
    let mut routes: Vec<(String, String)> =
        RouteId::ALL.iter().map(|r| (r.method().as_str().to_string(), r.path().to_string())).collect();
    documented.sort();
    routes.sort();
    assert_eq!(documented, routes);

    for route in RouteId::ALL {
        let body = spec.body_schema(route);
        if route.sensitive() {
            assert_eq!(body["type"], "string", "{}: a sensitive route's body is a base64 string", route.name());
            assert_eq!(body["contentEncoding"], "base64", "{}", route.name());
            assert_eq!(body["contentMediaType"], "application/json", "{}", route.name());
            assert!(body["contentSchema"].is_object(), "{}: the decoded params need a contentSchema", route.name());
        } else {
            assert_eq!(body["type"], "object", "{}: the body is the params object", route.name());
        }
        assert_eq!(spec.operation(route)["requestBody"]["required"], true, "{}", route.name());
    }
}

/// The pattern of a named component (the spec states each rule once).
fn pattern(spec: &Spec, component: &str) -> Value {
    let p = &spec.component(component)["pattern"];
    assert!(p.is_string(), "components.schemas.{component} has no pattern");
    p.clone()
}

/// The schema a param of this kind must have (before `null`/blank alternatives).
fn expected_kind(spec: &Spec, kind: Kind) -> Value {
    let blank = json!({"type": "string", "pattern": spec.resolve(spec.component("Clear"))["anyOf"][1]["pattern"]});
    match kind {
        Kind::Token => json!({"type": "string", "minLength": 1}),
        Kind::Integer => json!({"oneOf": [
            {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            {"type": "string", "pattern": spec.component("Id")["oneOf"][1]["pattern"]},
        ]}),
        Kind::Bool => json!({"oneOf": [{"type": "boolean"}, {"type": "string", "enum": ["true", "false"]}]}),
        Kind::Str { max } => json!({"type": "string", "maxLength": max, "pattern": pattern(spec, "Line")}),
        Kind::Text { max } => json!({"type": "string", "maxLength": max, "pattern": pattern(spec, "Text")}),
        Kind::Secret { min, max } => json!({
            "type": "string", "minLength": min, "maxLength": max, "pattern": pattern(spec, "Password"),
        }),
        Kind::Email => json!({"type": "string", "maxLength": MAX_EMAIL, "pattern": pattern(spec, "Email")}),
        Kind::EmailList => json!({"oneOf": [
            {"type": "array", "maxItems": MAX_EMAIL_LIST, "items": {"anyOf": [expected_kind(spec, Kind::Email), blank]}},
            {"type": "string", "pattern": spec.component("EmailList")["oneOf"][1]["pattern"]},
        ]}),
        Kind::Slug { max } => json!({"type": "string", "maxLength": max, "pattern": pattern(spec, "Slug")}),
        Kind::View(names) => json!({"type": "string", "enum": names}),
        Kind::Object(sub) => expected_object(spec, sub),
    }
}

/// What `params::read` does with `null`: nothing for a required param (missing), the default
/// for a view, the empty list for an email list, an error for a boolean, clearing otherwise.
fn expected_param(spec: &Spec, p: &ParamSpec) -> Value {
    let base = expected_kind(spec, p.kind);
    if p.required {
        return base;
    }
    match p.kind {
        Kind::View(_) | Kind::EmailList => json!({"anyOf": [base, {"type": "null"}]}),
        Kind::Bool | Kind::Token | Kind::Object(_) => base,
        _ if p.clearable => json!({"anyOf": [base, spec.resolve(spec.component("Clear"))]}),
        _ => base,
    }
}

fn expected_object(spec: &Spec, table: &[ParamSpec]) -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": table.iter().filter(|p| p.required).map(|p| p.name).collect::<Vec<_>>(),
        "properties": table.iter().map(|p| (p.name.to_string(), expected_param(spec, p))).collect::<Map<_, _>>(),
    })
}

fn names(schema: &Value) -> Vec<String> {
    schema["properties"].as_object().expect("properties").keys().cloned().collect()
}

fn compare_object(spec: &Spec, route: &str, prefix: &str, table: &[ParamSpec], schema: &Value) {
    let code_names: Vec<String> = table.iter().map(|p| p.name.to_string()).collect();
    assert_eq!(names(schema), code_names, "{route}: params of {prefix} (in order)");
    assert_eq!(schema["type"], "object", "{route} {prefix}");
    assert_eq!(schema["additionalProperties"], false, "{route} {prefix}: unknown params are refused");
    let required: Vec<&str> = table.iter().filter(|p| p.required).map(|p| p.name).collect();
    assert_eq!(schema["required"], json!(required), "{route}: required params of {prefix} (in order)");
    for p in table {
        let documented = &schema["properties"][p.name];
        if let Kind::Object(sub) = p.kind {
            compare_object(spec, route, &format!("{prefix}{}.", p.name), sub, documented);
        }
        assert_eq!(
            documented,
            &expected_param(spec, p),
            "{route}: param {prefix}{} ({:?}, required {}, clearable {}) is documented differently",
            p.name,
            p.kind,
            p.required,
            p.clearable
        );
    }
}

#[test]
fn every_params_table_matches_the_spec() {
    let spec = spec();
    for route in RouteId::ALL {
        compare_object(&spec, route.name(), "", params_of(route), &spec.params_schema(route));
    }
    // The view enums are the code's lists, whichever route lists them.
    for (component, list) in [
        ("ClientViewName", CLIENT_VIEWS),
        ("EntityViewName", ENTITY_VIEWS),
        ("SessionViewName", SESSION_VIEWS),
        ("ApplicationViewName", APPLICATION_VIEWS),
    ] {
        assert_eq!(spec.component(component)["enum"], json!(list), "{component}");
    }
}

// ---------------------------------------------------------------------------------------------
// The patterns against the reader.

fn corpus() -> Vec<Value> {
    let mut strings: Vec<String> = [
        "",
        " ",
        "\t",
        "\n",
        "\r\n",
        "\u{b}",
        "\u{85}",
        "\u{a0}",
        "\u{2028}",
        "\u{3000}",
        "a",
        " a ",
        "\ta\n",
        "\u{a0}a\u{3000}",
        "a b",
        "a\tb",
        "a\nb",
        "a\r\nb",
        "\u{1}",
        "a\u{1}",
        "\u{7f}",
        "a\u{9f}b",
        "a\u{b}b",
        "a\u{2028}b",
        "\u{200b}",
        "\u{feff}x",
        "é",
        "日本",
        "🙂",
        "line one\nline two\n",
        "\tindented\ttext",
        // emails
        "a@b.co",
        " a@b.co ",
        "A@B.CO",
        "first.last+tag@sub.example.org",
        "a@b",
        "@b.co",
        "a@",
        "a@@b.co",
        "a@b..co",
        "a b@c.co",
        "a@b.co.",
        "a@.b.co",
        ".a@b.co",
        "a\u{a0}b@c.co",
        "a,b@c.co",
        "a@b,c.co",
        "ü@ü.ü",
        "a@b.c\u{1}",
        "a@b.co\n",
        // email lists as strings
        "a@b.co, c@d.io",
        "a@b.co,,c@d.io",
        " , ",
        ",",
        "a@b.co;c@d.io",
        "a@b.co, broken",
        "a@b.co,A@B.CO",
        // slugs
        "a-b_9",
        "-ab",
        "_a",
        "Ab",
        "ab!",
        "9",
        " ab ",
        "ab\n",
        "peak-realty",
        // passwords
        "12345678",
        "1234567",
        " spaced  ",
        "password\t1",
        "pässwörd",
        "correct horse battery",
        // digit strings
        "1",
        "007",
        "0",
        "00",
        "-3",
        " 7",
        "7 ",
        "+7",
        "12.0",
        "1e3",
        "1a",
        "\u{663}",
        "9007199254740991",
        "09007199254740991",
        "9007199254740992",
        "18446744073709551616",
        // booleans and views
        "true",
        "false",
        "TRUE",
        "yes",
        "null",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    strings.extend(CLIENT_VIEWS.iter().chain(ENTITY_VIEWS).map(|s| s.to_string()));
    for (unit, lengths) in
        [("a", [99, 100, 101, 127, 128, 129, 254, 255, 256]), ("é", [8, 100, 101, 128, 129, 255, 256, 254, 253])]
    {
        strings.extend(lengths.iter().map(|n| unit.repeat(*n)));
    }
    strings.extend([
        format!("{}@b.co", "a".repeat(249)),
        format!("{}@b.co", "a".repeat(250)),
        "a".repeat(10_000),
        "a".repeat(10_001),
        format!("{}\n", "ab\n".repeat(3333)),
        (1..=20).map(|i| format!("u{i}@x.io")).collect::<Vec<_>>().join(","),
        (1..=21).map(|i| format!("u{i}@x.io")).collect::<Vec<_>>().join(","),
    ]);
    // The spec is deliberately stricter than the reader on a few forms, which are left out here:
    // lengths count the string as sent where the reader counts it trimmed (a value over the limit
    // only through surrounding whitespace), view names with surrounding whitespace, and email
    // lists over 20 items only through empty or duplicate items.
    let mut values: Vec<Value> = strings.into_iter().map(Value::String).collect();
    let twenty: Vec<String> = (1..=20).map(|i| format!("u{i}@x.io")).collect();
    let twenty_one: Vec<String> = (1..=21).map(|i| format!("u{i}@x.io")).collect();
    values.extend([
        Value::Null,
        json!(true),
        json!(false),
        json!(0),
        json!(1),
        json!(7),
        json!(-1),
        json!(12.5),
        json!(MAX_ID),
        json!(MAX_ID + 1),
        json!(u64::MAX),
        json!([]),
        json!([""]),
        json!(["a@b.co"]),
        json!(["a@b.co", " ", "c@d.io"]),
        json!(["a@b.co", "broken"]),
        json!([1]),
        json!([null]),
        json!(twenty),
        json!(twenty_one),
        json!({}),
        json!({"street": "1 Main St", "city": "Denver", "state": "CO", "country": "US", "postal_code": "80202"}),
        json!({"street": " 1 Main St ", "street2": null, "city": "Denver", "state": "CO", "country": "US",
               "postal_code": "80202", "service_area": ""}),
        json!({"street": "1 Main St", "street2": "Suite 2", "city": "Denver", "state": "CO", "country": "US",
               "postal_code": "80202", "service_area": "Front Range"}),
        json!({"street": "1 Main St", "city": "Denver", "state": "CO", "country": "US"}),
        json!({"street": "", "city": "Denver", "state": "CO", "country": "US", "postal_code": "80202"}),
        json!({"street": null, "city": "Denver", "state": "CO", "country": "US", "postal_code": "80202"}),
        json!({"street": 5, "city": "Denver", "state": "CO", "country": "US", "postal_code": "80202"}),
        json!({"street": "1 Main St", "city": "Denver", "state": "CO", "country": "US", "postal_code": "80202",
               "colour": "red"}),
        json!({"street": "1 Main St\n2nd floor", "city": "Denver", "state": "CO", "country": "US", "postal_code": "80202"}),
    ]);
    values
}

/// A comma-separated email list with an item over 254 characters.
fn has_overlong_item(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.split(',').any(|item| item.trim().chars().count() > MAX_EMAIL))
}

/// Whether the reader accepts `value` for this one param.
fn code_accepts(p: &ParamSpec, value: &Value) -> bool {
    // The value's own rules: a param needing another (`requires`) is a rule between params.
    let table: &'static [ParamSpec] = Box::leak(Box::new([ParamSpec { requires: None, ..*p }]));
    let mut body = Map::new();
    body.insert(p.name.to_string(), value.clone());
    params::read(table, &body).is_ok()
}

#[test]
fn every_param_schema_accepts_exactly_what_the_reader_accepts() {
    let spec = spec();
    let corpus = corpus();
    let mut checked = 0;
    for route in RouteId::ALL {
        let schema = spec.params_schema(route);
        for p in params_of(route) {
            // The token is checked by the pipeline (stage 7), not by the params reader.
            if matches!(p.kind, Kind::Token) {
                continue;
            }
            let documented = &schema["properties"][p.name];
            let mut mismatches = Vec::new();
            for value in &corpus {
                let (by_spec, by_code) = (spec.accepts(documented, value), code_accepts(p, value));
                if matches!(p.kind, Kind::EmailList) && has_overlong_item(value) {
                    // The string form's pattern cannot bound an item's length (the spec says so
                    // in words); the reader refuses such an item.
                    assert!(!by_code, "{} {}: {value:.80}", route.name(), p.name);
                    continue;
                }
                if by_spec != by_code {
                    mismatches.push(format!("{value:.80}: spec {by_spec}, code {by_code}"));
                }
                checked += 1;
            }
            assert!(mismatches.is_empty(), "{} param {}:\n{}", route.name(), p.name, mismatches.join("\n"));
        }
    }
    assert!(checked > 2_000, "the corpus ran over every param ({checked} checks)");
}

#[test]
fn the_evaluator_and_the_reader_disagree_on_a_broken_pattern() {
    // The comparison above can fail: a Line pattern that forgot control characters would let
    // "a\u{1}" through while the reader refuses it.
    let spec = spec();
    let loose = json!({"type": "string", "maxLength": 255, "pattern": "^.*[^ ].*$"});
    let p = ParamSpec::required("name", Kind::Str { max: 255 });
    let value = json!("a\u{1}");
    assert!(spec.accepts(&loose, &value));
    assert!(!code_accepts(&p, &value));
    assert!(!spec.accepts(&spec.resolve(spec.component("Line")), &value));
}

#[test]
fn the_request_examples_are_valid() {
    let spec = spec();
    for route in RouteId::ALL {
        let body = spec.body_schema(route);
        let params = spec.params_schema(route);
        let examples = &spec.operation(route)["requestBody"]["content"]["application/json"]["examples"];
        let examples = examples.as_object().expect("each route has request examples");
        assert!(!examples.is_empty());
        for (name, example) in examples {
            let value = &example["value"];
            assert!(spec.accepts(&body, value), "{} example {name} does not match the body schema", route.name());
            let decoded = if route.sensitive() {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD.decode(value.as_str().unwrap()).unwrap();
                serde_json::from_slice(&bytes).unwrap()
            } else {
                value.clone()
            };
            assert!(spec.accepts(&params, &decoded), "{} example {name}: {decoded}", route.name());
            let map = domain::request::decode_params(
                &if route.sensitive() {
                    value.as_str().unwrap().as_bytes().to_vec()
                } else {
                    serde_json::to_vec(value).unwrap()
                },
                route.sensitive(),
            )
            .unwrap_or_else(|o| panic!("{} example {name} does not decode: {o:?}", route.name()));
            params::read(params_of(route), &map).unwrap_or_else(|o| panic!("{} example {name}: {o:?}", route.name()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statuses, envelopes and headers.

/// Every status slug named by a schema (`status` properties' `const` and `enum`), recursively.
fn status_slugs(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(status) = map.get("properties").and_then(|p| p.get("status")) {
                if let Some(s) = status.get("const").and_then(Value::as_str) {
                    out.push(s.to_string());
                }
                for s in status.get("enum").and_then(Value::as_array).into_iter().flatten() {
                    out.push(s.as_str().expect("slug").to_string());
                }
            }
            for (key, value) in map {
                if key != "properties" {
                    status_slugs(value, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| status_slugs(v, out)),
        _ => {}
    }
}

#[test]
fn the_status_catalogue_has_every_status_with_its_http_code() {
    let spec = spec();
    let catalogue = spec.component("Status")["oneOf"].as_array().expect("Status is a oneOf of consts");
    let documented: Vec<(String, u16)> = catalogue
        .iter()
        .map(|s| {
            (
                s["const"].as_str().expect("const").to_string(),
                s["x-http-status"].as_u64().expect("x-http-status") as u16,
            )
        })
        .collect();
    let code: Vec<(String, u16)> = Status::ALL.iter().map(|s| (s.slug().to_string(), s.http_code())).collect();
    assert_eq!(documented, code);
}

/// The HTTP codes of the envelopes this project's code answers a route's request with.
const ENVELOPE_CODES: [u16; 7] = [200, 400, 401, 403, 409, 422, 500];

#[test]
fn every_operation_lists_every_status_under_its_http_code() {
    let spec = spec();
    for route in RouteId::ALL {
        let responses = spec.operation(route)["responses"].as_object().expect("responses");
        let mut codes: Vec<u16> = responses.keys().map(|k| k.parse().expect("numeric response codes")).collect();
        codes.sort();
        assert_eq!(codes, [200, 400, 401, 403, 409, 413, 422, 429, 500, 503, 504], "{}: response codes", route.name());
        for code in ENVELOPE_CODES {
            let mut listed = Vec::new();
            status_slugs(&spec.response_schema(route, code), &mut listed);
            listed.sort();
            listed.dedup();
            // `route-non-existent` is never the answer to a route's own method and path.
            let mut expected: Vec<String> = Status::ALL
                .iter()
                .filter(|s| s.http_code() == code && **s != Status::RouteNonExistent)
                .map(|s| s.slug().to_string())
                .collect();
            expected.sort();
            assert_eq!(listed, expected, "{} {code}: statuses", route.name());
        }
        // API Gateway's own answers: documented, and not envelopes.
        for code in [413, 429, 503, 504] {
            let schema = spec.response_schema(route, code);
            assert_eq!(schema["required"], json!(["message"]), "{} {code}", route.name());
            assert!(spec.accepts(&schema, &json!({"message": "Too Many Requests"})));
            assert!(spec.response(route, code).get("headers").is_none());
        }
    }
    let mut listed = Vec::new();
    status_slugs(&spec.resolve(&spec.root["components"]["responses"]["RouteNonExistent"]), &mut listed);
    assert_eq!(listed, [Status::RouteNonExistent.slug()]);
}

fn demo_fixture() -> domain::fixture::Fixture {
    let text = std::fs::read_to_string(manifest_dir().join("demo-fixture.json")).expect("demo fixture");
    domain::fixture::parse(&text, time::OffsetDateTime::now_utc()).expect("demo fixture parses")
}

fn entity_of<'a>(fx: &'a domain::fixture::Fixture, client: &Client) -> Option<&'a Entity> {
    fx.entities.iter().find(|e| Some(e.id) == client.entity_id)
}

/// The record a route's successful answer carries, in its default view.
fn record(route: RouteId, fx: &domain::fixture::Fixture) -> Value {
    match route {
        RouteId::ClientsUpdate => views::client_view(&fx.clients[0], ClientView::Default, true, None),
        RouteId::EntitiesCreate => views::entity_view(&fx.entities[0], EntityView::Entity),
    }
}

fn body_of(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).expect("a JSON body")
}

/// The headers of a response against the spec's response object.
fn check_headers(spec: &Spec, documented: &Value, response: &Response<Body>, context: &str) {
    let content: Vec<_> = documented["content"].as_object().expect("content").keys().collect();
    assert_eq!(content, ["application/json"], "{context}");
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert_eq!(content_type.split(';').next().unwrap(), "application/json", "{context}");
    let headers = documented["headers"].as_object().unwrap_or_else(|| panic!("{context}: no headers documented"));
    for name in ["cache-control", "x-content-type-options", "x-request-id"] {
        assert_eq!(headers[name]["required"], true, "{context}: {name}");
    }
    for (name, header) in headers {
        let Some(sent) = response.headers().get(name) else {
            assert_ne!(header["required"], true, "{context}: {name} not sent");
            continue;
        };
        let sent = json!(sent.to_str().unwrap());
        assert!(spec.accepts(&header["schema"], &sent), "{context}: {name}: {sent}");
    }
    for name in response.headers().keys().filter(|n| *n != "content-type") {
        assert!(headers.contains_key(name.as_str()), "{context}: {name} is sent but not documented");
    }
}

#[test]
fn every_envelope_the_code_builds_matches_its_response_and_no_other() {
    let spec = spec();
    let fx = demo_fixture();
    let session = &fx.sessions[0];
    let user = fx.users.iter().find(|u| u.id == session.user_id).unwrap();
    for route in RouteId::ALL {
        for status in Status::ALL.into_iter().filter(|s| *s != Status::RouteNonExistent) {
            let outcome = match status {
                Status::ActionSuccessful => Outcome::success(record(route, &fx)),
                Status::MandrillEmailFailed => Outcome { data: record(route, &fx), ..Outcome::status(status) },
                Status::MissingParam | Status::InvalidParam | Status::PermissionDenied => Outcome::params(
                    status,
                    vec![ParamError::new("token", "why"), ParamError::new("address.city", "why")],
                ),
                Status::IdempotencyKeyReused => Outcome::param(status, "Idempotency-Key", "why"),
                Status::RequestInProgress => Outcome { retry_after: Some(1), ..Outcome::status(status) },
                _ => Outcome::status(status),
            };
            let mut envelope = Envelope::new(outcome, "c6af9ac6-7b61-11e6-9a41-93e8deadbeef");
            if status == Status::ClientRequired {
                envelope.session = Some(views::session_view(session, user));
            }
            let code = envelope.http_code();
            let response = app::pipeline::response(envelope);
            assert_eq!(response.status().as_u16(), code);
            let body = body_of(&response);
            let context = format!("{} {} ({code})", route.name(), status.slug());
            assert!(spec.accepts(&spec.response_schema(route, code), &body), "{context}: {body}");
            for other in ENVELOPE_CODES.iter().filter(|c| **c != code) {
                assert!(!spec.accepts(&spec.response_schema(route, *other), &body), "{context} also fits {other}");
            }
            check_headers(&spec, &spec.response(route, code), &response, &context);
        }
        // Clients Update's locked password change: its 400 documents `Retry-After`.
        if route == RouteId::ClientsUpdate {
            let locked =
                Outcome { retry_after: Some(840), ..Outcome::param(Status::InvalidParam, "current_password", "x") };
            let response = app::pipeline::response(Envelope::new(locked, "r0"));
            assert!(response.headers().contains_key("retry-after"));
            check_headers(&spec, &spec.response(route, 400), &response, "clients.update locked");
        }
        // A replayed answer (`Idempotency-Key`): its 200 or 500 documents `idempotent-replayed`.
        for (status, code) in [(Status::ActionSuccessful, 200), (Status::MandrillEmailFailed, 500)] {
            let mut replayed = Envelope::new(Outcome { data: record(route, &fx), ..Outcome::status(status) }, "r5");
            replayed.replayed = true;
            let response = app::pipeline::response(replayed);
            assert_eq!(response.headers()["idempotent-replayed"], "true");
            check_headers(&spec, &spec.response(route, code), &response, "replayed");
        }
        // The caller's object after authentication: `session` or `application`, on any status.
        let mut with_session = Envelope::new(Outcome::success(record(route, &fx)), "r1");
        with_session.session = Some(views::session_view(session, user));
        let mut with_app = Envelope::new(Outcome::param(Status::InvalidParam, "view", "why"), "r2");
        with_app.application = Some(views::application_view(&fx.applications[0]));
        for (envelope, code) in [(with_session, 200), (with_app, 400)] {
            let body = body_of(&app::pipeline::response(envelope));
            assert!(spec.accepts(&spec.response_schema(route, code), &body), "{}: {body}", route.name());
        }
        // What the API rules out (docs/api.md#envelope) is refused: a 401 without its session
        // object, a missing request id, an unknown key.
        let mut bad = body_of(&app::pipeline::response(Envelope::new(Outcome::status(Status::ClientRequired), "r3")));
        assert!(!spec.accepts(&spec.response_schema(route, 401), &bad));
        bad["session"] = views::session_view(session, user);
        assert!(spec.accepts(&spec.response_schema(route, 401), &bad));
        bad.as_object_mut().unwrap().remove("request_id");
        assert!(!spec.accepts(&spec.response_schema(route, 401), &bad));
        let mut extra = body_of(&app::pipeline::response(Envelope::new(Outcome::status(Status::InvalidToken), "r4")));
        extra["stack"] = json!("at main.rs:1");
        assert!(!spec.accepts(&spec.response_schema(route, 401), &extra));
    }
}

#[test]
fn the_fallback_answer_matches_route_non_existent() {
    let spec = spec();
    let request =
        lambda_http::http::Request::builder().method("GET").uri("/api/v1/clients/update/").body(Body::Empty).unwrap();
    let response = route_fallback::handle(&request);
    assert_eq!(response.status().as_u16(), Status::RouteNonExistent.http_code());
    let documented = spec.resolve(&spec.root["components"]["responses"]["RouteNonExistent"]);
    let body = body_of(&response);
    assert!(spec.accepts(&documented["content"]["application/json"]["schema"], &body), "{body}");
    check_headers(&spec, &documented, &response, "route-non-existent");
}

// ---------------------------------------------------------------------------------------------
// Views.

/// The view schemas of a `oneOf` data schema, by view name (from their `view=NAME` titles).
fn view_schemas(spec: &Spec, data: &str) -> Vec<(String, Value)> {
    spec.component(data)["oneOf"]
        .as_array()
        .expect("a oneOf of views")
        .iter()
        .map(|branch| {
            let raw = spec.pointer(branch["$ref"].as_str().expect("views are named schemas"));
            let title = raw["title"].as_str().expect("a view schema's title is view=NAME");
            (title.strip_prefix("view=").expect("view=NAME").to_string(), spec.resolve(raw))
        })
        .collect()
}

fn check_view(spec: &Spec, schemas: &[(String, Value)], data: &Value, view: &str, rendered: &Value, context: &str) {
    let fitting: Vec<&str> =
        schemas.iter().filter(|(_, schema)| spec.accepts(schema, rendered)).map(|(name, _)| name.as_str()).collect();
    assert_eq!(fitting, [view], "{context}: {rendered}");
    assert!(spec.accepts(data, rendered), "{context}");
}

#[test]
fn every_view_the_code_renders_matches_its_view_schema_and_no_other() {
    let spec = spec();
    let mut fx = demo_fixture();

    let schemas = view_schemas(&spec, "ClientData");
    let documented: Vec<&str> = schemas.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(documented, CLIENT_VIEWS);
    let data = spec.resolve(spec.component("ClientData"));
    let mut full = fx.clients[0].clone();
    full.assistant_emails = vec!["a@b.co".into()];
    full.bio = Some("two\nlines".into());
    full.use_display_phone = true;
    full.display_phone = Some("555".into());
    let clients: Vec<Client> = fx.clients.iter().cloned().chain([full]).collect();
    for client in &clients {
        for view in CLIENT_VIEWS {
            for show_notes in [true, false] {
                let rendered = views::client_view(
                    client,
                    ClientView::from_name(view).unwrap(),
                    show_notes,
                    entity_of(&fx, client),
                );
                check_view(&spec, &schemas, &data, view, &rendered, &format!("client {} view {view}", client.id));
            }
        }
    }

    let schemas = view_schemas(&spec, "EntityData");
    let documented: Vec<&str> = schemas.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(documented, ENTITY_VIEWS);
    let data = spec.resolve(spec.component("EntityData"));
    let mut created = fx.entities[1].clone();
    created.created_by = Some(Actor { kind: ActorKind::Application, id: 1 });
    created.operational_transaction_emails = vec!["ops@x.io".into(), "desk@x.io".into()];
    fx.entities.push(created);
    for entity in &fx.entities {
        for view in ENTITY_VIEWS {
            let rendered = views::entity_view(entity, EntityView::from_name(view).unwrap());
            check_view(&spec, &schemas, &data, view, &rendered, &format!("entity {} view {view}", entity.id));
        }
    }

    let session_schema = spec.resolve(spec.component("SessionView"));
    for session in &fx.sessions {
        let user = fx.users.iter().find(|u| u.id == session.user_id).unwrap();
        let rendered = views::session_view(session, user);
        assert!(spec.accepts(&session_schema, &rendered), "{rendered}");
    }
    let app_schema = spec.resolve(spec.component("ApplicationView"));
    for app in &fx.applications {
        let rendered = views::application_view(app);
        assert!(spec.accepts(&app_schema, &rendered), "{rendered}");
    }
}

// ---------------------------------------------------------------------------------------------
// Headers a request may send.

#[test]
fn both_operations_take_the_idempotency_key_header_as_the_code_reads_it() {
    use lambda_http::http::{HeaderMap, HeaderValue};
    let spec = spec();
    for route in RouteId::ALL {
        let parameters = spec.resolve(&spec.operation(route)["parameters"]);
        let [header] = parameters.as_array().expect("parameters").as_slice() else {
            panic!("{}: one parameter, the header", route.name())
        };
        assert_eq!(
            (&header["name"], &header["in"], &header["required"]),
            (&json!("Idempotency-Key"), &json!("header"), &json!(false))
        );
        let long = "k".repeat(255);
        let too_long = "k".repeat(256);
        for key in [
            "a",
            "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            "~!#$%&'*+.^_`|",
            &long,
            "",
            &too_long,
            "two words",
            " a",
            "tab\there",
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(app::idempotency::HEADER, HeaderValue::from_str(key).unwrap());
            let code = app::idempotency::requested_key(&headers).is_ok();
            assert_eq!(spec.accepts(&header["schema"], &json!(key)), code, "{}: {key:?}", route.name());
        }
    }
}
