//! Idempotency-key items, each written with one conditional `UpdateItem` (the operation the
//! functions already make, so no other one is linked in): the claim, which returns the live
//! record when it is refused; the answer, and the release, both conditioned on the claim. The
//! TTL only tidies: expiry is the `expires_at` condition.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use time::OffsetDateTime;

use super::item::{epoch, instant, n, s, unavailable, ItemExt};
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

/// An update of the key's item that also moves its expiry (and TTL) to `expires_at`, with the
/// attribute names its expressions use (beside `#expires` and `#ttl`).
fn update(
    store: &DynamoStore,
    scope: &KeyScope,
    expires_at: OffsetDateTime,
    names: &[(&str, &str)],
) -> UpdateItemFluentBuilder {
    let mut update = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(keys::request_key(scope)))
        .expression_attribute_values(":expires", n(epoch(expires_at)));
    for (name, attribute) in [("#expires", EXPIRES_AT), ("#ttl", keys::TTL_ATTRIBUTE)].iter().chain(names) {
        update = update.expression_attribute_names(*name, *attribute);
    }
    update
}

/// Sends an update: `Err` with the item that held the key (when asked for) if its condition
/// failed. One call site for the three writes keeps the binaries small.
async fn send(update: UpdateItemFluentBuilder) -> StoreResult<Result<(), Option<Key>>> {
    match update.send().await {
        Ok(_) => Ok(Ok(())),
        Err(e) => match e.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(held)) => Ok(Err(held.item().cloned())),
            _ => Err(unavailable(e)),
        },
    }
}

const ANSWER_NAMES: [(&str, &str); 5] =
    [("#state", STATE), ("#fingerprint", FINGERPRINT), ("#status", STATUS), ("#code", HTTP_CODE), ("#body", BODY)];

pub async fn claim(store: &DynamoStore, scope: &KeyScope, claim: &KeyClaim) -> StoreResult<Claim> {
    let claimed = update(store, scope, claim.expires_at, &ANSWER_NAMES)
        // Over an expired record: its answer, if any, goes.
        .update_expression(
            "SET #state = :in_progress, #claim = :claim, #expires = :expires, #ttl = :expires \
             REMOVE #fingerprint, #status, #code, #body",
        )
        .condition_expression("attribute_not_exists(PK) OR #expires <= :now")
        .expression_attribute_names("#claim", CLAIM)
        .expression_attribute_values(":in_progress", s(IN_PROGRESS))
        .expression_attribute_values(":claim", s(&claim.id))
        .expression_attribute_values(":now", n(epoch(claim.at)))
        // A refused claim answers with the record that holds the key: no second read.
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    match send(claimed).await? {
        Ok(()) => Ok(Claim::Ours),
        Err(held) => Ok(Claim::Held(record(held.unwrap_or_default())?)),
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

/// Runs an update conditioned on the claim `claim_id`: `false` if the key is no longer its.
async fn as_claim(update: UpdateItemFluentBuilder, claim_id: &str) -> StoreResult<bool> {
    let update = update
        .condition_expression("#claim = :claim")
        .expression_attribute_names("#claim", CLAIM)
        .expression_attribute_values(":claim", s(claim_id));
    Ok(send(update).await?.is_ok())
}

pub async fn complete(
    store: &DynamoStore,
    scope: &KeyScope,
    claim_id: &str,
    answer: &StoredAnswer,
) -> StoreResult<bool> {
    let completed = update(store, scope, answer.expires_at, &ANSWER_NAMES)
        .update_expression(
            "SET #state = :completed, #expires = :expires, #ttl = :expires, #fingerprint = :fingerprint, \
             #status = :status, #code = :code, #body = :body REMOVE #claim",
        )
        .expression_attribute_values(":completed", s(COMPLETED))
        .expression_attribute_values(":fingerprint", s(&answer.fingerprint))
        .expression_attribute_values(":status", s(&answer.status))
        .expression_attribute_values(":code", n(u64::from(answer.http_code)))
        .expression_attribute_values(":body", s(&answer.body));
    as_claim(completed, claim_id).await
}

/// Marks the claim expired at `now`, which frees the key at once (and lets the TTL delete it).
pub async fn release(store: &DynamoStore, scope: &KeyScope, claim_id: &str, now: OffsetDateTime) -> StoreResult<()> {
    let released =
        update(store, scope, now, &[]).update_expression("SET #expires = :expires, #ttl = :expires REMOVE #claim");
    // Not ours any more (it expired and was claimed anew): nothing to release.
    as_claim(released, claim_id).await.map(drop)
}
