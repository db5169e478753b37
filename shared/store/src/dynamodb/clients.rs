//! Client updates, written in place, or in one transaction when the email's guard moves, the
//! password changes or an idempotency key's answer is kept with the change (expressions in
//! [`super::client_expressions`]).

use aws_sdk_dynamodb::types::{Delete, Put, ReturnValue, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::client_expressions::{
    email_unchanged, entity_unchanged, record_unchanged, scope_condition, update_expression, ScopeCheck, REVISION,
};
use super::idempotency::answer_update;
use super::item::{condition_failed, corrupt, from_item, n, s, unavailable, ItemExt};
use super::keys::{self, Key};
use super::txn::{self, PatchFailure, PatchRole, Transaction, TxError};
use super::DynamoStore;

use crate::error::{StoreError, StoreResult};
use crate::idempotency::claim_lost;
use crate::idempotency::KeyCommit;
use crate::seam::{ClientPatch, ClientRead, ClientScope, PasswordChange, PatchError, UpdatedClient};
use domain::model::{Client, Revocation};
use domain::unique::Guard;

pub async fn update(
    store: &DynamoStore,
    patch: &ClientPatch,
    scope: &ClientScope,
    read: Option<ClientRead>,
    key: Option<&KeyCommit<'_, UpdatedClient>>,
) -> Result<UpdatedClient, PatchError> {
    if patch.new_email().is_some() || patch.password.is_some() || key.is_some() {
        return update_in_transaction(store, patch, scope, read, key).await;
    }
    let client = match scope_condition(patch.client_id, scope) {
        ScopeCheck::Condition(condition, values) => update_in_place(store, patch, condition, values).await?,
        ScopeCheck::ReadFirst => update_read_first(store, patch, scope).await?,
        ScopeCheck::NoClient => return Err(PatchError::ClientNotFound),
    };
    let previous_email = client.email.clone();
    Ok(UpdatedClient { client, previous_email })
}

/// A scope too large for one condition (a liaison of more than 100 entities): the client is
/// read and checked here, then written on condition that its entity is still the one read.
async fn update_read_first(
    store: &DynamoStore,
    patch: &ClientPatch,
    scope: &ClientScope,
) -> Result<Client, PatchError> {
    for _ in 0..5 {
        let current: Client = (store.get_record(keys::client(patch.client_id)).await?)
            .filter(|c| scope.allows(c))
            .ok_or(PatchError::ClientNotFound)?;
        let (condition, values) = entity_unchanged(&current);
        match update_in_place(store, patch, condition, values).await {
            Err(PatchError::ClientNotFound) => continue, // it moved to another entity meanwhile
            result => return result,
        }
    }
    Err(PatchError::Store(StoreError::Unavailable("the client kept changing during the update".into())))
}

/// A plain update: one conditional `UpdateItem` that returns the new record.
async fn update_in_place(
    store: &DynamoStore,
    patch: &ClientPatch,
    condition: String,
    values: Key,
) -> Result<Client, PatchError> {
    let update = update_expression(store, patch, condition, values)?;
    let result = store.update_item(update).return_values(ReturnValue::AllNew).send().await;
    match result {
        Ok(out) => Ok(from_item(out.attributes.unwrap_or_default())?),
        Err(e) if condition_failed(&e) => Err(PatchError::ClientNotFound),
        Err(e) => Err(PatchError::Store(unavailable(e))),
    }
}

/// The client as stored, with its revision.
pub async fn read_client(store: &DynamoStore, id: u64) -> StoreResult<Option<ClientRead>> {
    let Some(item) = store.get(keys::client(id)).await? else { return Ok(None) };
    let revision = item.number(REVISION).map_or(Ok(0), str::parse).map_err(corrupt)?;
    Ok(Some(ClientRead { client: from_item(item)?, revision }))
}

/// The patch's client with its revision, if `scope` may see it: `early` (read ahead of the
/// update) when it is that client, else read now.
async fn read_in_scope(
    store: &DynamoStore,
    patch: &ClientPatch,
    scope: &ClientScope,
    early: Option<ClientRead>,
) -> Result<(Client, u64), PatchError> {
    let read = match early.filter(|r| r.client.id == patch.client_id) {
        Some(read) => read,
        None => read_client(store, patch.client_id).await?.ok_or(PatchError::ClientNotFound)?,
    };
    if !scope.allows(&read.client) {
        return Err(PatchError::ClientNotFound);
    }
    Ok((read.client, read.revision))
}

/// An email move, a password change or a keyed update: the client, its guards, the user and the
/// key's answer in one transaction, conditioned on the record read just before (`early`, or
/// read here; a race retries from a new read), so that the record it leaves, `data`, is known
/// before the commit.
async fn update_in_transaction(
    store: &DynamoStore,
    patch: &ClientPatch,
    scope: &ClientScope,
    mut early: Option<ClientRead>,
    key: Option<&KeyCommit<'_, UpdatedClient>>,
) -> Result<UpdatedClient, PatchError> {
    let mut release_old_guard = true;
    for _ in 0..5 {
        let (current, revision) = read_in_scope(store, patch, scope, early.take()).await?;
        let new_guard =
            patch.new_email().map(Guard::client_email).filter(|g| *g != Guard::client_email(&current.email));
        if new_guard.is_none() && patch.password.is_none() && key.is_none() {
            let (condition, values) = email_unchanged(&current);
            match update_in_place(store, patch, condition, values).await {
                Ok(client) => return Ok(UpdatedClient { client, previous_email: current.email }),
                Err(PatchError::ClientNotFound) => continue, // the email moved meanwhile
                Err(e) => return Err(e),
            }
        }
        let written = UpdatedClient { client: patch.apply_to(&current)?, previous_email: current.email.clone() };
        let old_guard = release_old_guard.then(|| Guard::client_email(&current.email));
        let mut txn = patch_transaction(store, patch, revision, new_guard, old_guard)?;
        if let Some(key) = key {
            let answer = answer_update(store, key.scope, key.claim_id, &(key.answer)(&written)?)?;
            txn.push(PatchRole::Key, TransactWriteItem::builder().update(answer).build());
        }
        match txn::write(&store.client, txn).await {
            Ok(()) => return Ok(written),
            Err(TxError::Cancelled(cancelled)) => match txn::patch_failure(&cancelled) {
                PatchFailure::RecordChanged => continue,
                PatchFailure::OldGuardNotOurs => {
                    release_old_guard = false;
                    continue;
                }
                PatchFailure::EmailTaken => return Err(PatchError::EmailTaken),
                PatchFailure::UserChanged => return Err(user_changed(patch)),
                PatchFailure::ClaimLost => return Err(PatchError::Store(claim_lost())),
                PatchFailure::Other => {
                    return Err(PatchError::Store(StoreError::Unavailable(
                        format!("transaction cancelled: {cancelled:?}").into(),
                    )))
                }
            },
            Err(TxError::Store(e)) => return Err(PatchError::Store(e)),
        }
    }
    Err(PatchError::Store(StoreError::Unavailable("the client kept changing during the update".into())))
}

/// The client's update over the record at `revision`, with a moved email the new guard (refused
/// if taken) and `old_guard`'s delete (refused if another client owns it), with a password
/// change the user's new hash (refused if the user is gone).
fn patch_transaction(
    store: &DynamoStore,
    patch: &ClientPatch,
    revision: u64,
    new_guard: Option<Guard>,
    old_guard: Option<Guard>,
) -> StoreResult<Transaction<PatchRole>> {
    let (condition, values) = record_unchanged(revision);
    let mut txn = Transaction::new();
    txn.push(
        PatchRole::Client,
        TransactWriteItem::builder().update(update_expression(store, patch, condition, values)?).build(),
    );
    if let Some(guard) = new_guard {
        let put = Put::builder()
            .table_name(&store.table)
            .set_item(Some(keys::guard(keys::guard_key(&guard), patch.client_id)))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(corrupt)?;
        txn.push(PatchRole::NewEmailGuard, TransactWriteItem::builder().put(put).build());
        if let Some(old) = old_guard {
            let delete = Delete::builder()
                .table_name(&store.table)
                .set_key(Some(keys::guard_key(&old)))
                .condition_expression("attribute_not_exists(PK) OR #owner = :me")
                .expression_attribute_names("#owner", keys::OWNER)
                .expression_attribute_values(":me", n(patch.client_id))
                .build()
                .map_err(corrupt)?;
            txn.push(PatchRole::OldEmailGuard, TransactWriteItem::builder().delete(delete).build());
        }
    }
    if let Some(change) = &patch.password {
        txn.push(
            PatchRole::User,
            TransactWriteItem::builder().update(password_update(store, change, patch.now)?).build(),
        );
    }
    Ok(txn)
}

/// The user's new hash and its sessions' revocation, one item's update: no session is ever
/// revoked without the new password or the reverse. Refused if the user is gone or its hash is
/// no longer the one `current_password` was checked against.
fn password_update(store: &DynamoStore, change: &PasswordChange, now: OffsetDateTime) -> StoreResult<Update> {
    let revocation = Revocation { sessions_valid_after: now, kept_session: change.keep_session.clone() };
    let mut update = Update::builder()
        .table_name(&store.table)
        .set_key(Some(keys::user(change.user_id)))
        .update_expression("SET password_hash = :h, revocation = :r")
        .expression_attribute_values(":h", s(change.password_hash.clone()))
        .expression_attribute_values(":r", serde_dynamo::to_attribute_value(&revocation).map_err(corrupt)?);
    update = match &change.checked_hash {
        Some(checked) => update
            .condition_expression("attribute_exists(PK) AND password_hash = :checked")
            .expression_attribute_values(":checked", s(checked.clone())),
        None => update.condition_expression("attribute_exists(PK)"),
    };
    update.build().map_err(corrupt)
}

/// The user's condition failed: users are never deleted through the API, so with a checked hash
/// it is the password that changed meanwhile.
fn user_changed(patch: &ClientPatch) -> PatchError {
    match patch.password.as_ref().and_then(|c| c.checked_hash.as_ref()) {
        Some(_) => PatchError::PasswordChanged,
        None => PatchError::ClientNotFound,
    }
}
