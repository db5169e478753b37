//! A user's count of own-password checks: one item per user, counted with conditional
//! `UpdateItem`s so that concurrent checks each count, deleted by TTL once its window has closed.

use aws_sdk_dynamodb::types::ReturnValue;
use time::OffsetDateTime;

use super::item::{condition_failed, epoch, instant, n, unavailable, ItemExt};
use super::keys;
use super::DynamoStore;
use crate::attempts::{PasswordAttempt, PASSWORD_WINDOW};
use crate::error::{StoreError, StoreResult};

const COUNT: &str = "attempts";
const OPENED: &str = "window_opened";

/// Counts one check: opens a window if none is open, else adds one to the open window's count.
pub async fn begin(store: &DynamoStore, user_id: u64, now: OffsetDateTime) -> StoreResult<PasswordAttempt> {
    // A window opened at or before this instant has closed.
    let closed = n(epoch(now - PASSWORD_WINDOW));
    for _ in 0..4 {
        let opened = store
            .client
            .update_item()
            .table_name(&store.table)
            .set_key(Some(keys::password_attempts(user_id)))
            .update_expression("SET #count = :one, #opened = :now, #ttl = :ttl")
            .condition_expression("attribute_not_exists(PK) OR #opened <= :closed")
            .expression_attribute_names("#count", COUNT)
            .expression_attribute_names("#opened", OPENED)
            .expression_attribute_names("#ttl", keys::TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(epoch(now)))
            .expression_attribute_values(":ttl", n(epoch(now + PASSWORD_WINDOW)))
            .expression_attribute_values(":closed", closed.clone())
            .send()
            .await;
        match opened {
            Ok(_) => return Ok(PasswordAttempt::Allowed),
            Err(e) if condition_failed(&e) => {} // a window is open: count in it
            Err(e) => return Err(unavailable(e)),
        }
        let counted = store
            .client
            .update_item()
            .table_name(&store.table)
            .set_key(Some(keys::password_attempts(user_id)))
            .update_expression("ADD #count :one")
            .condition_expression("#opened > :closed")
            .expression_attribute_names("#count", COUNT)
            .expression_attribute_names("#opened", OPENED)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":closed", closed.clone())
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let item = match counted {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(e) if condition_failed(&e) => continue, // the window closed or was cleared meanwhile
            Err(e) => return Err(unavailable(e)),
        };
        let number = |name| item.number(name).and_then(|v| v.parse::<i64>().ok());
        let (Some(count), Some(opened)) = (number(COUNT), number(OPENED)) else {
            return Err(StoreError::Corrupt("a password-attempts item without its count or window".into()));
        };
        return Ok(PasswordAttempt::nth(u64::try_from(count).unwrap_or(0), instant(opened)?));
    }
    Err(StoreError::Unavailable("the password-attempts window kept changing".into()))
}

pub async fn clear(store: &DynamoStore, user_id: u64) -> StoreResult<()> {
    store.delete(keys::password_attempts(user_id)).await
}
