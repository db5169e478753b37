//! Items as records and records as items (serde_dynamo), attribute values and reads of single
//! attributes, and the classification of SDK failures into [`StoreError`]s.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;
use time::OffsetDateTime;

use super::keys::Key;
use crate::error::{StoreError, StoreResult};

/// Any SDK failure, its source kept: logged by the caller, never shown to API users.
pub fn unavailable<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

/// A write refused by its condition expression: an expected outcome, not a failure.
pub fn condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().and_then(|se| se.code()) == Some("ConditionalCheckFailedException")
}

pub fn corrupt<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Corrupt(Box::new(e))
}

/// `record`'s attributes under `key`.
pub fn to_item<T: Serialize>(record: &T, key: Key) -> StoreResult<Key> {
    let mut item: Key = serde_dynamo::to_item(record).map_err(corrupt)?;
    item.extend(key);
    Ok(item)
}

pub fn from_item<T: DeserializeOwned>(item: Key) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(corrupt)
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// An instant as epoch seconds (the unit of the table's TTL attribute).
pub fn epoch(t: OffsetDateTime) -> u64 {
    u64::try_from(t.unix_timestamp()).unwrap_or(0)
}

/// Epoch seconds read back as an instant.
pub fn instant(seconds: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(seconds).map_err(corrupt)
}

/// Typed reads of one attribute of an item; a missing or differently typed attribute is `None`.
pub trait ItemExt {
    fn string(&self, name: &str) -> Option<&str>;
    fn number(&self, name: &str) -> Option<&str>;
    fn boolean(&self, name: &str) -> Option<bool>;
}

impl ItemExt for Key {
    fn string(&self, name: &str) -> Option<&str> {
        self.get(name)?.as_s().ok().map(String::as_str)
    }

    fn number(&self, name: &str) -> Option<&str> {
        self.get(name)?.as_n().ok().map(String::as_str)
    }

    fn boolean(&self, name: &str) -> Option<bool> {
        self.get(name)?.as_bool().ok().copied()
    }
}
