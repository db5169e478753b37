//! Idempotency-key items: claimed with one conditional `PutItem` that returns the live record
//! when it fails, completed with one `PutItem` and released with one `DeleteItem`, both
//! conditioned on the claim. The TTL only tidies: expiry is the `expires_at` condition.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::item::{condition_failed, epoch, instant, n, s, unavailable, ItemExt};
use super::keys::{self, Key};
use super::DynamoStore;
use crate::store::{Claim, KeyClaim, KeyRecord, KeyScope, StoreError, StoreResult, StoredAnswer};

const STATE: &str = "key_state";
const IN_PROGRESS: &str = "in_progress";
const COMPLETED: &str = "completed";
const CLAIM: &str = "claim_id";
const EXPIRES_AT: &str = "expires_at";
const FINGERPRINT: &str = "fingerprint";
const STATUS: &str = "answer_status";
const HTTP_CODE: &str = "http_code";
const BODY: &str = "answer_body";

/// The key's item in `state`, counting until `expires_at`.
fn item(scope: &KeyScope, state: &str, expires_at: time::OffsetDateTime) -> Key {
    let mut item = keys::request_key(scope);
    item.insert(STATE.to_string(), s(state));
    item.insert(EXPIRES_AT.to_string(), n(epoch(expires_at)));
    item.insert(keys::TTL_ATTRIBUTE.to_string(), n(epoch(expires_at)));
    item
}

pub async fn claim(store: &DynamoStore, scope: &KeyScope, claim: &KeyClaim) -> StoreResult<Claim> {
    let mut claimed = item(scope, IN_PROGRESS, claim.expires_at);
    claimed.insert(CLAIM.to_string(), s(&claim.id));
    let put = store
        .client
        .put_item()
        .table_name(&store.table)
        .set_item(Some(claimed))
        .condition_expression("attribute_not_exists(PK) OR #expires <= :now")
        .expression_attribute_names("#expires", EXPIRES_AT)
        .expression_attribute_values(":now", n(epoch(claim.at)))
        // A refused claim answers with the record that holds the key: no second read.
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match put {
        Ok(_) => Ok(Claim::Ours),
        Err(e) => match e.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(held)) => {
                Ok(Claim::Held(record(held.item().cloned().unwrap_or_default())?))
            }
            _ => Err(unavailable(e)),
        },
    }
}

fn record(item: Key) -> StoreResult<KeyRecord> {
    let corrupt = || StoreError::Corrupt("an idempotency-key item without its state or answer".into());
    let seconds = item.number(EXPIRES_AT).and_then(|v| v.parse().ok()).ok_or_else(corrupt)?;
    let expires_at = instant(seconds)?;
    match item.string(STATE) {
        Some(IN_PROGRESS) => Ok(KeyRecord::InProgress { expires_at }),
        Some(COMPLETED) => {
            let text = |name| item.string(name).map(str::to_string).ok_or_else(corrupt);
            Ok(KeyRecord::Completed(StoredAnswer {
                fingerprint: text(FINGERPRINT)?,
                status: text(STATUS)?,
                http_code: item.number(HTTP_CODE).and_then(|v| v.parse().ok()).ok_or_else(corrupt)?,
                body: text(BODY)?,
                expires_at,
            }))
        }
        _ => Err(corrupt()),
    }
}

pub async fn complete(
    store: &DynamoStore,
    scope: &KeyScope,
    claim_id: &str,
    answer: &StoredAnswer,
) -> StoreResult<bool> {
    let mut completed = item(scope, COMPLETED, answer.expires_at);
    completed.insert(FINGERPRINT.to_string(), s(&answer.fingerprint));
    completed.insert(STATUS.to_string(), s(&answer.status));
    completed.insert(HTTP_CODE.to_string(), n(u64::from(answer.http_code)));
    completed.insert(BODY.to_string(), s(&answer.body));
    let put = store
        .client
        .put_item()
        .table_name(&store.table)
        .set_item(Some(completed))
        .condition_expression("#claim = :claim")
        .expression_attribute_names("#claim", CLAIM)
        .expression_attribute_values(":claim", s(claim_id))
        .send()
        .await;
    match put {
        Ok(_) => Ok(true),
        Err(e) if condition_failed(&e) => Ok(false),
        Err(e) => Err(unavailable(e)),
    }
}

pub async fn release(store: &DynamoStore, scope: &KeyScope, claim_id: &str) -> StoreResult<()> {
    let delete = store
        .client
        .delete_item()
        .table_name(&store.table)
        .set_key(Some(keys::request_key(scope)))
        .condition_expression("#claim = :claim")
        .expression_attribute_names("#claim", CLAIM)
        .expression_attribute_values(":claim", s(claim_id))
        .send()
        .await;
    match delete {
        // Not ours any more (it expired and was claimed anew): nothing to release.
        Err(e) if condition_failed(&e) => Ok(()),
        other => other.map(drop).map_err(unavailable),
    }
}
