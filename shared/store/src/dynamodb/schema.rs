//! The table's schema: `planocore table create` makes it, `template.yaml` declares the same.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use super::item::{corrupt, unavailable};
use super::keys;
use crate::error::StoreResult;

/// (attribute, HASH|RANGE) pairs.
pub type KeySchema = Vec<(&'static str, &'static str)>;

/// The schema as plain data, so tests can compare it with the SAM template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    /// (attribute, type) pairs, all strings.
    pub attributes: Vec<(&'static str, &'static str)>,
    pub key_schema: KeySchema,
    /// (index name, key schema, projection type).
    pub indexes: Vec<(&'static str, KeySchema, &'static str)>,
    pub billing_mode: &'static str,
    pub ttl_attribute: &'static str,
}

pub fn table_definition() -> TableDefinition {
    TableDefinition {
        attributes: vec![(keys::PK, "S"), (keys::SK, "S"), (keys::GSI1PK, "S"), (keys::GSI1SK, "S")],
        key_schema: vec![(keys::PK, "HASH"), (keys::SK, "RANGE")],
        indexes: vec![(keys::GSI1, vec![(keys::GSI1PK, "HASH"), (keys::GSI1SK, "RANGE")], "KEYS_ONLY")],
        billing_mode: "PAY_PER_REQUEST",
        ttl_attribute: keys::TTL_ATTRIBUTE,
    }
}

fn key_schema(keys: &[(&str, &str)]) -> StoreResult<Vec<KeySchemaElement>> {
    keys.iter()
        .map(|(name, kind)| {
            KeySchemaElement::builder().attribute_name(*name).key_type(KeyType::from(*kind)).build().map_err(corrupt)
        })
        .collect()
}

/// Creates the table with its index and turns on TTL. Returns false if it already existed.
pub async fn create_table(client: &Client, table: &str) -> StoreResult<bool> {
    let def = table_definition();
    let mut create = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::from(def.billing_mode))
        .set_key_schema(Some(key_schema(&def.key_schema)?));
    for (name, kind) in &def.attributes {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(*name)
                .attribute_type(ScalarAttributeType::from(*kind))
                .build()
                .map_err(corrupt)?,
        );
    }
    for (name, index_keys, projection) in &def.indexes {
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(*name)
                .set_key_schema(Some(key_schema(index_keys)?))
                .projection(Projection::builder().projection_type(ProjectionType::from(*projection)).build())
                .build()
                .map_err(corrupt)?,
        );
    }
    match create.send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_in_use_exception()) => return Ok(false),
        Err(e) => return Err(unavailable(e)),
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(def.ttl_attribute)
                .build()
                .map_err(corrupt)?,
        )
        .send()
        .await
        .map_err(unavailable)?;
    Ok(true)
}
