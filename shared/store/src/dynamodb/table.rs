//! The table's plain reads and writes: one item by key (strongly consistent), one whole
//! partition (the SDK's paginator), an update and a delete.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::Update;
use serde::de::DeserializeOwned;

use super::item::{from_item, s, unavailable};
use super::keys::Key;
use super::DynamoStore;
use crate::error::StoreResult;

impl DynamoStore {
    /// A strongly consistent read: a revoked session or a changed role must never act.
    pub(super) async fn get(&self, key: Key) -> StoreResult<Option<Key>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    pub(super) async fn get_record<T: DeserializeOwned>(&self, key: Key) -> StoreResult<Option<T>> {
        self.get(key).await?.map(from_item).transpose()
    }

    /// A transaction's `Update` item, to send on its own as one `UpdateItem`.
    pub(super) fn update_item(&self, update: Update) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(update.table_name)
            .set_key(Some(update.key))
            .update_expression(update.update_expression)
            .set_condition_expression(update.condition_expression)
            .set_expression_attribute_names(update.expression_attribute_names)
            .set_expression_attribute_values(update.expression_attribute_values)
    }

    pub(super) async fn delete(&self, key: Key) -> StoreResult<()> {
        self.client.delete_item().table_name(&self.table).set_key(Some(key)).send().await.map_err(unavailable)?;
        Ok(())
    }

    /// Every item whose `key` attribute is `value`, in the table or in `index`, page after page.
    /// Index reads cannot be strongly consistent; table reads are.
    pub(super) async fn query_partition(&self, index: Option<&str>, key: &str, value: &str) -> StoreResult<Vec<Key>> {
        self.client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_string))
            .consistent_read(index.is_none())
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", key)
            .expression_attribute_values(":pk", s(value))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<Key>, _>>()
            .await
            .map_err(unavailable)
    }
}
