//! Reading `template.yaml` for the template tests (`template.rs`, `operations.rs`): the YAML,
//! CloudFormation intrinsics, function properties with SAM's globals, IAM statements, and the
//! IAM actions a recorded DynamoDB call needs.

// Each test file uses a part of these.
#![allow(dead_code)]

use std::collections::BTreeSet;

use domain::routes::RouteId;
use serde_norway::Value as Yaml;
use test_support::repo_root;

pub fn template() -> Yaml {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    serde_norway::from_str(&text).expect("template.yaml is YAML")
}

/// A CloudFormation intrinsic, in either spelling: `!GetAtt x` or `{"Fn::GetAtt": x}`.
pub fn intrinsic(v: &Yaml) -> Option<(String, &Yaml)> {
    match v {
        Yaml::Tagged(t) => Some((t.tag.to_string().trim_start_matches('!').to_string(), &t.value)),
        Yaml::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next()?;
            let k = k.as_str()?;
            (k == "Ref" || k.starts_with("Fn::")).then(|| (k.trim_start_matches("Fn::").to_string(), v))
        }
        _ => None,
    }
}

/// The logical id a value refers to: `!Ref X` is `X`, `!GetAtt X.Arn` is `X`, and
/// `!Sub "${X.Arn}/index/I"` is `X/index/I`.
pub fn target(v: &Yaml) -> String {
    match intrinsic(v) {
        Some((f, arg)) if f == "Ref" => arg.as_str().expect("Ref of a name").to_string(),
        Some((f, arg)) if f == "GetAtt" => {
            let (res, attr) = match arg {
                Yaml::String(s) => s.split_once('.').expect("GetAtt X.Attr"),
                Yaml::Sequence(s) => (s[0].as_str().unwrap(), s[1].as_str().unwrap()),
                other => panic!("unexpected GetAtt {other:?}"),
            };
            assert_eq!(attr, "Arn", "a policy resource is an ARN");
            res.to_string()
        }
        Some((f, arg)) if f == "Sub" => {
            let s = arg.as_str().expect("Sub of a plain string");
            let start = s.find("${").expect("Sub names a resource");
            let end = s[start..].find('}').expect("closed ${") + start;
            let inner = s[start + 2..end].trim_end_matches(".Arn");
            assert_eq!(start, 0, "the ARN is the start of {s}");
            format!("{inner}{}", &s[end + 1..])
        }
        _ => panic!("unexpected reference {v:?}"),
    }
}

pub fn str_list(v: &Yaml) -> Vec<String> {
    match v {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Sequence(items) => items.iter().map(|i| i.as_str().expect("a string").to_string()).collect(),
        other => panic!("expected a string or a list, got {other:?}"),
    }
}

pub struct FunctionSpec {
    pub logical_id: String,
    pub binary: String,
    pub route: Option<RouteId>,
}

/// The fallback's binary: the API's `$default` route.
pub const FALLBACK: &str = "route-fallback";

/// The function that serves `route`, named from the catalogue: `clients.update` is the binary
/// `clients-update` (crate `functions/clients-update`) and `ClientsUpdateFunction` in the template.
pub fn route_function(route: RouteId) -> FunctionSpec {
    let binary = route.name().replace('.', "-");
    FunctionSpec { logical_id: logical_id(&binary), binary, route: Some(route) }
}

/// `clients-update` is `ClientsUpdateFunction`.
pub fn logical_id(binary: &str) -> String {
    binary.split('-').map(|w| w[..1].to_uppercase() + &w[1..]).chain(["Function".to_string()]).collect()
}

/// The API's functions: one per route of the catalogue, then the fallback.
pub fn functions() -> Vec<FunctionSpec> {
    let fallback = FunctionSpec { logical_id: logical_id(FALLBACK), binary: FALLBACK.to_string(), route: None };
    RouteId::ALL.into_iter().map(route_function).chain([fallback]).collect()
}

/// A function's property, falling back to `Globals.Function` as SAM does.
pub fn function_prop<'a>(t: &'a Yaml, logical_id: &str, key: &str) -> &'a Yaml {
    let own = &t["Resources"][logical_id]["Properties"][key];
    if own.is_null() {
        &t["Globals"]["Function"][key]
    } else {
        own
    }
}

/// The (action, resource) pairs IAM `statements` allow, resources as logical ids (`Table`,
/// `Table/index/GSI1`, `MandrillSecret`), for `who` (named in a failure).
pub fn allowed_by<'a>(who: &str, statements: impl Iterator<Item = &'a Yaml>) -> BTreeSet<(String, String)> {
    let mut pairs = BTreeSet::new();
    for st in statements {
        assert_eq!(st["Effect"].as_str(), Some("Allow"), "{who}");
        assert!(st["NotAction"].is_null() && st["NotResource"].is_null(), "{who}: plain statements only");
        // The one condition allowed narrows the items (`leading_keys`), never widens.
        assert!(
            st["Condition"].is_null() || leading_keys_of(st).is_some(),
            "{who}: a condition other than dynamodb:LeadingKeys"
        );
        let resources: Vec<String> = match &st["Resource"] {
            Yaml::Sequence(items) => items.iter().map(target).collect(),
            one => vec![target(one)],
        };
        for action in str_list(&st["Action"]) {
            assert!(!action.contains('*'), "{who}: wildcard action {action}");
            for r in &resources {
                pairs.insert((action.clone(), r.clone()));
            }
        }
    }
    pairs
}

/// The partition keys a statement limits its items to: `ForAllValues:StringEquals` on
/// `dynamodb:LeadingKeys` and nothing else.
fn leading_keys_of(statement: &Yaml) -> Option<Vec<String>> {
    let condition = statement["Condition"].as_mapping()?;
    let equals = &statement["Condition"]["ForAllValues:StringEquals"];
    let keys = &equals["dynamodb:LeadingKeys"];
    (condition.len() == 1 && equals.as_mapping()?.len() == 1 && !keys.is_null()).then(|| str_list(keys))
}

/// For each of the function's statements, the partition keys it is limited to (`None`: any).
pub fn leading_keys(t: &Yaml, logical_id: &str) -> Vec<Option<Vec<String>>> {
    let policies = &t["Resources"][logical_id]["Properties"]["Policies"];
    let statements = policies.as_sequence().into_iter().flatten().flat_map(|p| p["Statement"].as_sequence()).flatten();
    statements.map(leading_keys_of).collect()
}

/// The IAM actions (and resources) a recorded DynamoDB or Secrets Manager call needs. A
/// transaction needs the action of each of its items; a `Query` of an index needs the index's ARN.
pub fn needed(call: &str) -> Vec<(String, String)> {
    const TABLE: &str = "Table";
    let one = |action: &str, resource: &str| (format!("dynamodb:{action}"), resource.to_string());
    if let Some(items) = call.strip_prefix("TransactWriteItems[").and_then(|s| s.strip_suffix(']')) {
        return items
            .split(',')
            .map(|item| match item {
                "ConditionCheck" => one("ConditionCheckItem", TABLE),
                "Put" => one("PutItem", TABLE),
                "Update" => one("UpdateItem", TABLE),
                "Delete" => one("DeleteItem", TABLE),
                other => panic!("unknown transaction item {other}"),
            })
            .collect();
    }
    match call.split_once('@') {
        Some(("Query", index)) => vec![one("Query", &format!("{TABLE}/index/{index}"))],
        None if ["GetItem", "Query", "UpdateItem", "PutItem", "DeleteItem"].contains(&call) => vec![one(call, TABLE)],
        // The one secret the code reads: the Mandrill key (`MANDRILL_SECRET_ID`).
        None if call == "GetSecretValue" => vec![("secretsmanager:GetSecretValue".to_string(), "MandrillSecret".to_string())],
        _ => panic!("no IAM mapping for the call {call}: add one here (tests/sam_template/mod.rs) and the action to template.yaml"),
    }
}

pub fn needed_by(calls: &[String]) -> BTreeSet<(String, String)> {
    calls.iter().flat_map(|c| needed(c)).collect()
}

pub mod transformed;
