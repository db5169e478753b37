//! `template.yaml` as CloudFormation gets it: transformed offline by samtranslator
//! (`scripts/sam-transform.py` under `.venv-sam`'s Python, which `scripts/test` names in
//! `PLANOCORE_TEST_SAM_PYTHON`), with the template's defaults or other parameter values; and
//! the parameter references in it resolved, as CloudFormation resolves them at deploy.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{json, Value as Json};
use test_support::repo_root;

/// Where `scripts/test` names the Python that has samtranslator (`.venv-sam/bin/python`).
pub const SAM_PYTHON_VAR: &str = "PLANOCORE_TEST_SAM_PYTHON";

/// Parameter values by name; the ones not given keep the template's defaults.
pub type Overrides = BTreeMap<String, String>;

/// The template transformed once per set of `overrides`, in one run of the script.
pub fn transform_each(cases: &[Overrides]) -> Vec<Json> {
    let python = std::env::var_os(SAM_PYTHON_VAR).filter(|p| !p.is_empty()).unwrap_or_else(|| {
        panic!(
            "The template tests transform template.yaml with samtranslator and need {SAM_PYTHON_VAR}\n\
             (the Python of .venv-sam, where ./scripts/test installs aws-sam-cli). Run them with\n\
             ./scripts/test, or set {SAM_PYTHON_VAR}=$PWD/.venv-sam/bin/python."
        )
    });
    let mut child = Command::new(python)
        .arg(repo_root().join("scripts/sam-transform.py"))
        .arg("--batch")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{SAM_PYTHON_VAR} does not run: {e}"));
    child.stdin.take().unwrap().write_all(json!(cases).to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "scripts/sam-transform.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let templates: Vec<Json> = serde_json::from_slice(&out.stdout).expect("a JSON list of templates");
    assert_eq!(templates.len(), cases.len());
    templates
}

/// The template transformed with its defaults (once per test binary).
pub fn cloudformation() -> &'static Json {
    static DEFAULTS: OnceLock<Json> = OnceLock::new();
    DEFAULTS.get_or_init(|| transform_each(&[Overrides::new()]).remove(0))
}

pub fn overrides(pairs: &[(&str, &str)]) -> Overrides {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The resources of one CloudFormation type, by logical id.
pub fn resources<'a>(t: &'a Json, kind: &str) -> BTreeMap<&'a str, &'a Json> {
    let all = t["Resources"].as_object().expect("Resources");
    all.iter().filter(|(_, r)| r["Type"] == kind).map(|(k, r)| (k.as_str(), r)).collect()
}

/// The one resource of `kind` whose logical id starts with `prefix` (SAM appends a hash to a
/// version's id).
pub fn resource_with_prefix<'a>(t: &'a Json, kind: &str, prefix: &str) -> (&'a str, &'a Json) {
    let found: Vec<_> = resources(t, kind).into_iter().filter(|(id, _)| id.starts_with(prefix)).collect();
    assert_eq!(found.len(), 1, "one {kind} {prefix}*: {:?}", found.iter().map(|(id, _)| id).collect::<Vec<_>>());
    found[0]
}

/// The value each parameter has with `overrides`: CloudFormation's `Ref` of it (a
/// `CommaDelimitedList` is a list).
pub fn parameter_values(t: &Json, overrides: &Overrides) -> BTreeMap<String, Json> {
    let params = t["Parameters"].as_object().expect("Parameters");
    params
        .iter()
        .map(|(name, p)| {
            let text = overrides.get(name).cloned().unwrap_or_else(|| match &p["Default"] {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            });
            let value = if p["Type"] == "CommaDelimitedList" {
                json!(text.split(',').map(str::trim).collect::<Vec<_>>())
            } else {
                json!(text)
            };
            (name.clone(), value)
        })
        .collect()
}

/// `v` with every reference to a parameter replaced by its value (`Ref` and `${Name}` in
/// `Fn::Sub`); references to resources stay as they are.
pub fn resolve(v: &Json, params: &BTreeMap<String, Json>) -> Json {
    match v {
        Json::Object(m) if m.len() == 1 && m.contains_key("Ref") => {
            m["Ref"].as_str().and_then(|name| params.get(name)).cloned().unwrap_or_else(|| v.clone())
        }
        Json::Object(m) if m.len() == 1 && m.get("Fn::Sub").is_some_and(Json::is_string) => {
            let mut text = m["Fn::Sub"].as_str().unwrap().to_string();
            for (name, value) in params {
                if let Some(s) = value.as_str() {
                    text = text.replace(&format!("${{{name}}}"), s);
                }
            }
            json!({ "Fn::Sub": text })
        }
        Json::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), resolve(v, params))).collect()),
        Json::Array(items) => Json::Array(items.iter().map(|i| resolve(i, params)).collect()),
        other => other.clone(),
    }
}

/// The (action, resource) pairs the inline policies of `function`'s role allow in the
/// transformed template `t` (SAM writes a function's `Policies` into its role), and the role's
/// managed policies, which must grant nothing of DynamoDB or Secrets Manager.
pub fn role_allowed(t: &Json, function: &str) -> std::collections::BTreeSet<(String, String)> {
    let role = &t["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0];
    let role = &t["Resources"][role.as_str().unwrap_or_else(|| panic!("{function}: no role of its own"))]["Properties"];
    for arn in role["ManagedPolicyArns"].as_array().into_iter().flatten() {
        let arn = arn.as_str().unwrap_or_default();
        assert!(
            !arn.contains("DynamoDB") && !arn.contains("SecretsManager"),
            "{function}: the managed policy {arn} grants what its own statements must say"
        );
    }
    let statements: Vec<serde_norway::Value> = role["Policies"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().cloned().unwrap_or_default())
        .map(|st| serde_norway::to_value(st).expect("a statement as YAML"))
        .collect();
    super::allowed_by(function, statements.iter())
}
