//! Entities: the id counter, and a create that writes the entity with its unique slug and email
//! guards in one transaction, conditioned on its integration.

use aws_sdk_dynamodb::types::{ConditionCheck, Put, ReturnValue, TransactWriteItem};

use super::idempotency::answer_update;
use super::item::{condition_failed, corrupt, n, to_item, unavailable, ItemExt};
use super::keys::{self, Key};
use super::txn::{self, CreateFailure, CreateRole, Transaction, TxError};
use super::DynamoStore;
use crate::error::{StoreError, StoreResult};
use crate::idempotency::claim_lost;
use crate::idempotency::KeyCommit;
use crate::seam::{CreateError, EntityDraft};
use domain::model::Entity;
use domain::unique::Guard;

/// The next entity id from the atomic counter.
pub async fn next_id(store: &DynamoStore) -> StoreResult<u64> {
    let out = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(keys::entity_counter()))
        .update_expression("ADD #v :one")
        .expression_attribute_names("#v", keys::COUNTER_VALUE)
        .expression_attribute_values(":one", n(1))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(unavailable)?;
    match out.attributes.as_ref().and_then(|a| a.number(keys::COUNTER_VALUE)) {
        Some(v) => v.parse().map_err(corrupt),
        None => Err(StoreError::Corrupt("the entity counter returned no value".into())),
    }
}

/// Raises the entity counter to at least `floor` (never lowers it).
pub async fn raise_counter(store: &DynamoStore, floor: u64) -> StoreResult<()> {
    let result = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(keys::entity_counter()))
        .update_expression("SET #v = :floor")
        .condition_expression("attribute_not_exists(#v) OR #v < :floor")
        .expression_attribute_names("#v", keys::COUNTER_VALUE)
        .expression_attribute_values(":floor", n(floor))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if condition_failed(&e) => Ok(()),
        Err(e) => Err(unavailable(e)),
    }
}

/// The integration check, the entity and its two guards, each new item refused if its key
/// exists, and with `key` the key's answer for this entity.
fn create_transaction(
    store: &DynamoStore,
    entity: &Entity,
    key: Option<&KeyCommit<'_, Entity>>,
) -> StoreResult<Transaction<CreateRole>> {
    let must_be_new = |item: Key| -> StoreResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&store.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(corrupt)?;
        Ok(TransactWriteItem::builder().put(put).build())
    };
    let integration_exists = ConditionCheck::builder()
        .table_name(&store.table)
        .set_key(Some(keys::integration(entity.integration_id)))
        .condition_expression("attribute_exists(PK)")
        .build()
        .map_err(corrupt)?;
    let guard = |g: Guard| must_be_new(keys::guard(keys::guard_key(&g), entity.id));
    let mut txn = Transaction::new();
    txn.push(CreateRole::Integration, TransactWriteItem::builder().condition_check(integration_exists).build());
    txn.push(CreateRole::Entity, must_be_new(to_item(entity, keys::entity(entity.id))?)?);
    txn.push(CreateRole::SlugGuard, guard(Guard::entity_slug(&entity.entity_slug))?);
    txn.push(CreateRole::EmailGuard, guard(Guard::entity_email(&entity.email))?);
    if let Some(key) = key {
        let answer = answer_update(store, key.scope, key.claim_id, &(key.answer)(entity)?)?;
        txn.push(CreateRole::Key, TransactWriteItem::builder().update(answer).build());
    }
    Ok(txn)
}

pub async fn create(
    store: &DynamoStore,
    draft: &EntityDraft,
    mut reserved: Option<u64>,
    key: Option<&KeyCommit<'_, Entity>>,
) -> Result<Entity, CreateError> {
    // An id already taken (a counter behind hand-loaded data) is skipped, not reused.
    for _ in 0..5 {
        let id = match reserved.take() {
            Some(id) => id,
            None => next_id(store).await?,
        };
        let entity = draft.to_entity(id);
        match txn::write(&store.client, create_transaction(store, &entity, key)?).await {
            Ok(()) => return Ok(entity),
            Err(TxError::Cancelled(cancelled)) => match txn::create_failure(&cancelled) {
                CreateFailure::IntegrationNotFound => return Err(CreateError::IntegrationNotFound),
                CreateFailure::Taken { slug_taken, email_taken } => {
                    return Err(CreateError::Taken { slug_taken, email_taken })
                }
                CreateFailure::IdTaken => continue,
                CreateFailure::ClaimLost => return Err(CreateError::Store(claim_lost())),
                CreateFailure::Other => {
                    return Err(CreateError::Store(StoreError::Unavailable(
                        format!("transaction cancelled: {cancelled:?}").into(),
                    )))
                }
            },
            Err(TxError::Store(e)) => return Err(CreateError::Store(e)),
        }
    }
    Err(CreateError::Store(StoreError::Unavailable("no free entity id after 5 tries".into())))
}
