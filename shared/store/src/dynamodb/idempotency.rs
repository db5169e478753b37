//! Idempotency-key items, each written with one conditional `UpdateItem` (the operation the
//! functions already make, so no other one is linked in): the claim, which returns the live
//! record when it is refused; the release, conditioned on the claim; the answer, conditioned on
//! the claim, alone or as one item of the route's own transaction; and the outbox's hand-over
//! and removal, conditioned on its holder. The TTL only tidies: expiry is the `expires_at`
//! condition. A record with an outbox is in the GSI's `OUTBOX` partition ([`keys`]) until the
//! outbox is removed: one `Query` of it finds the outboxes a sweep takes over.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure, Update};
use time::OffsetDateTime;

use super::item::{corrupt, epoch, instant, n, s, unavailable, ItemExt};
use super::keys::{self, Key};
use super::DynamoStore;
use crate::error::{StoreError, StoreResult};
use crate::idempotency::{Claim, DueOutbox, KeyClaim, KeyRecord, KeyScope, Outbox, StoredAnswer};
use domain::email::Email;

const STATE: &str = "key_state";
const IN_PROGRESS: &str = "in_progress";
const COMPLETED: &str = "completed";
const CLAIM: &str = "claim_id";
const EXPIRES_AT: &str = "expires_at";
const FINGERPRINT: &str = "fingerprint";
const STATUS: &str = "answer_status";
const HTTP_CODE: &str = "http_code";
const BODY: &str = "answer_body";
const OUTBOX: &str = "outbox_emails";
const OUTBOX_HOLDER: &str = "outbox_holder";
const OUTBOX_DUE: &str = "outbox_due_at";

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

/// Sends an update: the item it returns (when asked for), or `Err` with the item that held the
/// key (when asked for) if its condition failed. One call site for the key's writes keeps the
/// binaries small.
async fn send(update: UpdateItemFluentBuilder) -> StoreResult<Result<Option<Key>, Option<Key>>> {
    match update.send().await {
        Ok(written) => Ok(Ok(written.attributes)),
        Err(e) => match e.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(held)) => Ok(Err(held.item().cloned())),
            _ => Err(unavailable(e)),
        },
    }
}

const ANSWER_NAMES: [(&str, &str); 10] = [
    ("#state", STATE),
    ("#fingerprint", FINGERPRINT),
    ("#status", STATUS),
    ("#code", HTTP_CODE),
    ("#body", BODY),
    ("#outbox", OUTBOX),
    ("#holder", OUTBOX_HOLDER),
    ("#due", OUTBOX_DUE),
    ("#gpk", keys::GSI1PK),
    ("#gsk", keys::GSI1SK),
];

pub async fn claim(store: &DynamoStore, scope: &KeyScope, claim: &KeyClaim) -> StoreResult<Claim> {
    let claimed = update(store, scope, claim.expires_at, &ANSWER_NAMES)
        // Over an expired record: its answer, if any, goes.
        .update_expression(
            "SET #state = :in_progress, #claim = :claim, #expires = :expires, #ttl = :expires \
             REMOVE #fingerprint, #status, #code, #body, #outbox, #holder, #due, #gpk, #gsk",
        )
        .condition_expression("attribute_not_exists(PK) OR #expires <= :now")
        .expression_attribute_names("#claim", CLAIM)
        .expression_attribute_values(":in_progress", s(IN_PROGRESS))
        .expression_attribute_values(":claim", s(&claim.id))
        .expression_attribute_values(":now", n(epoch(claim.at)))
        // A refused claim answers with the record that holds the key: no second read.
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    match send(claimed).await? {
        Ok(_) => Ok(Claim::Ours),
        Err(held) => Ok(Claim::Held(record(held.unwrap_or_default())?)),
    }
}

fn record(item: Key) -> StoreResult<KeyRecord> {
    let corrupt_item = || StoreError::Corrupt("an idempotency-key item without its state or answer".into());
    let epoch_of = |name| -> StoreResult<OffsetDateTime> {
        instant(item.number(name).and_then(|v| v.parse().ok()).ok_or_else(corrupt_item)?)
    };
    let expires_at = epoch_of(EXPIRES_AT)?;
    match item.string(STATE) {
        Some(IN_PROGRESS) => Ok(KeyRecord::InProgress { expires_at }),
        Some(COMPLETED) => {
            let text = |name| item.string(name).map(str::to_string).ok_or_else(corrupt_item);
            let outbox = match item.string(OUTBOX) {
                None => None,
                Some(emails) => Some(Outbox {
                    holder: text(OUTBOX_HOLDER)?,
                    due_at: epoch_of(OUTBOX_DUE)?,
                    emails: serde_json::from_str(emails).map_err(corrupt)?,
                }),
            };
            Ok(KeyRecord::Completed(StoredAnswer {
                fingerprint: text(FINGERPRINT)?,
                status: text(STATUS)?,
                http_code: item.number(HTTP_CODE).and_then(|v| v.parse().ok()).ok_or_else(corrupt_item)?,
                body: text(BODY)?,
                expires_at,
                outbox,
            }))
        }
        _ => Err(corrupt_item()),
    }
}

/// The update that replaces the claim `claim_id` with `answer` (its outbox included), refused
/// if the key is no longer that claim's: alone, or as an item of the route's transaction.
pub fn answer_update(
    store: &DynamoStore,
    scope: &KeyScope,
    claim_id: &str,
    answer: &StoredAnswer,
) -> StoreResult<Update> {
    let mut sets = String::from(
        "SET #state = :completed, #expires = :expires, #ttl = :expires, #fingerprint = :fingerprint, \
         #status = :status, #code = :code, #body = :body",
    );
    let mut update = Update::builder()
        .table_name(&store.table)
        .set_key(Some(keys::request_key(scope)))
        .condition_expression("#claim = :claim")
        .expression_attribute_names("#claim", CLAIM)
        .expression_attribute_values(":claim", s(claim_id))
        .expression_attribute_values(":expires", n(epoch(answer.expires_at)))
        .expression_attribute_values(":completed", s(COMPLETED))
        .expression_attribute_values(":fingerprint", s(&answer.fingerprint))
        .expression_attribute_values(":status", s(&answer.status))
        .expression_attribute_values(":code", n(u64::from(answer.http_code)))
        .expression_attribute_values(":body", s(&answer.body));
    let mut names = vec![("#expires", EXPIRES_AT), ("#ttl", keys::TTL_ATTRIBUTE)];
    names.extend(&ANSWER_NAMES[..5]);
    if let Some(outbox) = &answer.outbox {
        sets.push_str(", #outbox = :outbox, #holder = :holder, #due = :due, #gpk = :gpk, #gsk = :gsk");
        names.extend(&ANSWER_NAMES[5..]);
        update = update
            .expression_attribute_values(":outbox", s(serde_json::to_string(&outbox.emails).map_err(corrupt)?))
            .expression_attribute_values(":holder", s(&outbox.holder))
            .expression_attribute_values(":due", n(epoch(outbox.due_at)))
            .expression_attribute_values(":gpk", s(keys::OUTBOX_PK))
            .expression_attribute_values(":gsk", s(keys::outbox_sk(epoch(outbox.due_at), &outbox.holder)));
    }
    for (name, attribute) in names {
        update = update.expression_attribute_names(name, attribute);
    }
    update.update_expression(format!("{sets} REMOVE #claim")).build().map_err(corrupt)
}

pub async fn complete(
    store: &DynamoStore,
    scope: &KeyScope,
    claim_id: &str,
    answer: &StoredAnswer,
) -> StoreResult<bool> {
    let completed = store.update_item(answer_update(store, scope, claim_id, answer)?);
    Ok(send(completed).await?.is_ok())
}

/// Runs an update conditioned on the claim `claim_id`: `false` if the key is no longer its.
async fn as_claim(update: UpdateItemFluentBuilder, claim_id: &str) -> StoreResult<bool> {
    let update = update
        .condition_expression("#claim = :claim")
        .expression_attribute_names("#claim", CLAIM)
        .expression_attribute_values(":claim", s(claim_id));
    Ok(send(update).await?.is_ok())
}

/// Marks the claim expired at `now`, which frees the key at once (and lets the TTL delete it).
pub async fn release(store: &DynamoStore, scope: &KeyScope, claim_id: &str, now: OffsetDateTime) -> StoreResult<()> {
    let released =
        update(store, scope, now, &[]).update_expression("SET #expires = :expires, #ttl = :expires REMOVE #claim");
    // Not ours any more (it expired and was claimed anew): nothing to release.
    as_claim(released, claim_id).await.map(drop)
}

/// An update of the key's outbox and its index entry, conditioned on `holder` holding it.
fn as_holder(store: &DynamoStore, scope: &KeyScope, holder: &str) -> UpdateItemFluentBuilder {
    store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(keys::request_key(scope)))
        .condition_expression("attribute_exists(#outbox) AND #holder = :holder")
        .expression_attribute_names("#outbox", OUTBOX)
        .expression_attribute_names("#holder", OUTBOX_HOLDER)
        .expression_attribute_names("#due", OUTBOX_DUE)
        .expression_attribute_names("#gsk", keys::GSI1SK)
        .expression_attribute_values(":holder", s(holder))
}

pub async fn hand_over_outbox(
    store: &DynamoStore,
    scope: &KeyScope,
    holder: &str,
    to: &str,
    due_at: OffsetDateTime,
) -> StoreResult<Option<Vec<Email>>> {
    let handed = as_holder(store, scope, holder)
        .update_expression("SET #holder = :to, #due = :due, #gsk = :gsk")
        .expression_attribute_values(":to", s(to))
        .expression_attribute_values(":due", n(epoch(due_at)))
        .expression_attribute_values(":gsk", s(keys::outbox_sk(epoch(due_at), to)))
        // The emails come back with the hand-over: no read before it.
        .return_values(ReturnValue::AllNew);
    let Ok(item) = send(handed).await? else { return Ok(None) };
    let emails = item.as_ref().and_then(|item| item.string(OUTBOX));
    let emails = emails.ok_or_else(|| StoreError::Corrupt("an outbox handed over without its emails".into()))?;
    serde_json::from_str(emails).map(Some).map_err(corrupt)
}

pub async fn settle_outbox(
    store: &DynamoStore,
    scope: &KeyScope,
    holder: &str,
    replaced: Option<&StoredAnswer>,
) -> StoreResult<bool> {
    let mut settled = as_holder(store, scope, holder).expression_attribute_names("#gpk", keys::GSI1PK);
    settled = match replaced {
        None => settled.update_expression("REMOVE #outbox, #holder, #due, #gpk, #gsk"),
        // The failure of the first request's emails, answered: its status and body kept.
        Some(answer) => settled
            .update_expression(
                "SET #status = :status, #code = :code, #body = :body REMOVE #outbox, #holder, #due, #gpk, #gsk",
            )
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_names("#code", HTTP_CODE)
            .expression_attribute_names("#body", BODY)
            .expression_attribute_values(":status", s(&answer.status))
            .expression_attribute_values(":code", n(u64::from(answer.http_code)))
            .expression_attribute_values(":body", s(&answer.body)),
    };
    Ok(send(settled).await?.is_ok())
}

/// One page of the GSI's `OUTBOX` partition, up to the sort key of `due_by`: the longest due
/// first. The index holds keys only, which name the scope and the holder.
pub async fn due_outboxes(store: &DynamoStore, due_by: OffsetDateTime, limit: usize) -> StoreResult<Vec<DueOutbox>> {
    let page = store
        .client
        .query()
        .table_name(&store.table)
        .index_name(keys::GSI1)
        .key_condition_expression("#pk = :pk AND #sk < :due_by")
        .expression_attribute_names("#pk", keys::GSI1PK)
        .expression_attribute_names("#sk", keys::GSI1SK)
        .expression_attribute_values(":pk", s(keys::OUTBOX_PK))
        .expression_attribute_values(":due_by", s(keys::outboxes_due_by(epoch(due_by))))
        .limit(i32::try_from(limit).unwrap_or(i32::MAX))
        .send()
        .await
        .map_err(unavailable)?;
    let entry = |item: &Key| {
        let scope = item.string(keys::PK).and_then(keys::request_key_scope)?;
        let holder = item.string(keys::GSI1SK).and_then(keys::outbox_holder)?;
        Some(DueOutbox { scope, holder: holder.to_string() })
    };
    let unreadable = || StoreError::Corrupt("an outbox index entry that names no key or holder".into());
    page.items().iter().map(|item| entry(item).ok_or_else(unreadable)).collect()
}
