//! The expressions of a client update: `SET` over the writable fields the patch sends (and the
//! client's revision), the condition that keeps a caller to the clients in its scope, and the
//! ones that the email, or the whole record, is still the one read before.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Update};

use super::item::{corrupt, n, s};
use super::keys::{self, Key};
use super::DynamoStore;
use crate::error::{StoreError, StoreResult};
use crate::seam::{ClientPatch, ClientScope};
use domain::client_fields::ClientField;
use domain::model::{timestamp, Client};

/// Each field the patch sets, as `(attribute, value)`; a field the client-field table does not
/// mark writable is refused (a patch is typed, so this guards the table's own rows).
fn field_values(patch: &ClientPatch) -> StoreResult<Vec<(&'static str, AttributeValue)>> {
    let mut values = Vec::with_capacity(patch.fields.len() + 1);
    for (field, value) in patch.sets() {
        if !ClientField::named(field).is_some_and(ClientField::writable) {
            return Err(StoreError::Corrupt(format!("client field '{field}' is not writable").into()));
        }
        values.push((field, serde_dynamo::to_attribute_value(&value).map_err(corrupt)?));
    }
    Ok(values)
}

/// The client item's revision, counted up by every update: a transaction conditioned on it
/// writes over exactly the record it read, so its result is known before the commit. Not a
/// field of the record (an item written without it, by the fixture loader, is revision 0).
pub const REVISION: &str = "revision";

/// `SET` over the fields of `patch`, plus `updated_at` and the revision, under `condition`.
pub fn update_expression(
    store: &DynamoStore,
    patch: &ClientPatch,
    condition: String,
    mut values: Key,
) -> StoreResult<Update> {
    let mut names = HashMap::new();
    let mut sets = Vec::new();
    for (i, (field, value)) in field_values(patch)?.into_iter().enumerate() {
        names.insert(format!("#f{i}"), field.to_string());
        values.insert(format!(":f{i}"), value);
        sets.push(format!("#f{i} = :f{i}"));
    }
    names.insert("#updated_at".into(), "updated_at".into());
    values.insert(":now".into(), s(timestamp::format(patch.now)));
    sets.push("#updated_at = :now".into());
    names.insert("#revision".into(), REVISION.into());
    values.insert(":one".into(), n(1));
    values.insert(":zero".into(), n(0));
    sets.push("#revision = if_not_exists(#revision, :zero) + :one".into());
    Update::builder()
        .table_name(&store.table)
        .set_key(Some(keys::client(patch.client_id)))
        .update_expression(format!("SET {}", sets.join(", ")))
        .condition_expression(condition)
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .build()
        .map_err(corrupt)
}

/// DynamoDB's limit on the operands of `IN`.
const IN_LIMIT: usize = 100;

/// How a plain update keeps a caller to the clients in its scope.
pub enum ScopeCheck {
    /// The condition that the client exists and is in the scope.
    Condition(String, Key),
    /// The scope is too large for one condition: read the client and check it first.
    ReadFirst,
    /// No client of this id can be in the scope.
    NoClient,
}

pub fn scope_condition(client_id: u64, scope: &ClientScope) -> ScopeCheck {
    let exists = "attribute_exists(PK)".to_string();
    if scope.any || scope.own_client == Some(client_id) {
        return ScopeCheck::Condition(exists, Key::new());
    }
    match scope.entity_ids.len() {
        0 => return ScopeCheck::NoClient,
        n if n > IN_LIMIT => return ScopeCheck::ReadFirst,
        _ => {}
    }
    let mut values = Key::new();
    let placeholders: Vec<String> = (scope.entity_ids.iter().enumerate())
        .map(|(i, id)| {
            values.insert(format!(":e{i}"), n(*id));
            format!(":e{i}")
        })
        .collect();
    ScopeCheck::Condition(format!("{exists} AND entity_id IN ({})", placeholders.join(", ")), values)
}

/// The condition that the client is still in the entity read before.
pub fn entity_unchanged(current: &Client) -> (String, Key) {
    let entity = current.entity_id.map_or(AttributeValue::Null(true), n);
    ("attribute_exists(PK) AND entity_id = :entity".into(), Key::from([(":entity".to_string(), entity)]))
}

/// The condition that the client's email is still the one read before.
pub fn email_unchanged(current: &Client) -> (String, Key) {
    (
        "attribute_exists(PK) AND email = :old_email".into(),
        Key::from([(":old_email".to_string(), s(current.email.clone()))]),
    )
}

/// The condition that the client is still exactly the record read before, at `revision`.
pub fn record_unchanged(revision: u64) -> (String, Key) {
    let condition = match revision {
        0 => "attribute_exists(PK) AND attribute_not_exists(#revision)",
        _ => "attribute_exists(PK) AND #revision = :revision",
    };
    let values = match revision {
        0 => Key::new(),
        r => Key::from([(":revision".to_string(), n(r))]),
    };
    (condition.into(), values)
}
