//! The production store: one DynamoDB table (layout in [`keys`]), unique values held by guard
//! items written in the same transaction as their record, ids from an atomic counter.

pub mod keys;
mod schema;
mod txn;

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, ReturnValue, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client as DynamoClient;
use serde::de::DeserializeOwned;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use self::keys::Key;
use self::txn::{CreateFailure, PatchFailure, TxError};
use super::*;
use crate::auth::expires_at;
use crate::model::{timestamp, Integration};

pub use schema::{create_table, table_definition, TableDefinition};

/// Session items are deleted by the table's TTL this long after they expire.
const TTL_GRACE: Duration = Duration::days(30);

#[derive(Clone)]
pub struct DynamoStore {
    client: DynamoClient,
    table: String,
}

/// Any SDK failure: logged by the caller, never shown to API users.
fn unavailable<E: std::error::Error + 'static>(e: E) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

/// A write refused by its condition expression: an expected outcome, not a failure.
fn condition_failed<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool {
    e.as_service_error().and_then(|se| se.code()) == Some("ConditionalCheckFailedException")
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn to_item<T: Serialize>(record: &T, key: Key) -> StoreResult<Key> {
    let mut item: Key = serde_dynamo::to_item(record).map_err(corrupt)?;
    item.extend(key);
    Ok(item)
}

fn from_item<T: DeserializeOwned>(item: Key) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(corrupt)
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn ttl_of(session: &Session) -> Option<AttributeValue> {
    expires_at(session).map(|at| AttributeValue::N((at + TTL_GRACE).unix_timestamp().to_string()))
}

impl DynamoStore {
    pub fn new(client: DynamoClient, table: impl Into<String>) -> Self {
        DynamoStore { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &DynamoClient {
        &self.client
    }

    /// Every entity's id, sorted, read with a consistent scan: for tests that check nothing
    /// was created.
    #[cfg(feature = "test-util")]
    pub async fn entity_ids(&self) -> Vec<u64> {
        let pages = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .filter_expression("begins_with(#pk, :entity) AND #sk = :record")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":entity", AttributeValue::S("ENTITY#".into()))
            .expression_attribute_values(":record", AttributeValue::S("ENTITY".into()))
            .into_paginator()
            .items()
            .send();
        let items: Vec<Key> = pages.collect::<Result<_, _>>().await.expect("the table scans");
        let mut ids: Vec<u64> = items
            .iter()
            .filter_map(|item| item.get(keys::PK)?.as_s().ok()?.strip_prefix("ENTITY#")?.parse().ok())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// A strongly consistent read: a revoked session or a changed role must never act.
    async fn get(&self, key: Key) -> StoreResult<Option<Key>> {
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

    async fn get_record<T: DeserializeOwned>(&self, key: Key) -> StoreResult<Option<T>> {
        self.get(key).await?.map(from_item).transpose()
    }

    async fn put(&self, item: Key) -> StoreResult<()> {
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(unavailable)?;
        Ok(())
    }

    async fn delete(&self, key: Key) -> StoreResult<()> {
        self.client.delete_item().table_name(&self.table).set_key(Some(key)).send().await.map_err(unavailable)?;
        Ok(())
    }

    fn session_item(&self, session: &Session) -> StoreResult<Key> {
        let mut item = to_item(session, keys::token(&session.token_hash))?;
        item.insert(keys::TOKEN_KIND.to_string(), s("session"));
        item.extend(keys::session_gsi(session.user_id, &session.token_hash));
        if let Some(ttl) = ttl_of(session) {
            item.insert(keys::TTL_ATTRIBUTE.to_string(), ttl);
        }
        Ok(item)
    }

    /// `SET` over the allow-listed client fields of `patch`, plus `updated_at`.
    fn client_update(&self, patch: &ClientPatch, condition: String, mut values: Key) -> StoreResult<Update> {
        let mut names = HashMap::new();
        let mut sets = Vec::new();
        for (i, (field, value)) in patch.fields.iter().enumerate() {
            if !keys::CLIENT_WRITABLE.contains(field) {
                return Err(StoreError::Corrupt(format!("client field '{field}' is not writable")));
            }
            names.insert(format!("#f{i}"), field.to_string());
            values.insert(format!(":f{i}"), serde_dynamo::to_attribute_value(value).map_err(corrupt)?);
            sets.push(format!("#f{i} = :f{i}"));
        }
        names.insert("#updated_at".into(), "updated_at".into());
        values.insert(":now".into(), s(timestamp::format(patch.now)));
        sets.push("#updated_at = :now".into());
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::client(patch.client_id)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(corrupt)
    }

    /// The condition that the client exists and is in `scope`, or `None` when no client of
    /// this id can be in it.
    fn scope_condition(client_id: u64, scope: &ClientScope) -> Option<(String, Key)> {
        let exists = "attribute_exists(PK)".to_string();
        if scope.any || scope.own_client == Some(client_id) {
            return Some((exists, Key::new()));
        }
        if scope.entity_ids.is_empty() {
            return None;
        }
        let mut values = Key::new();
        let placeholders: Vec<String> = scope
            .entity_ids
            .iter()
            .take(100) // DynamoDB's limit for IN
            .enumerate()
            .map(|(i, id)| {
                values.insert(format!(":e{i}"), n(*id));
                format!(":e{i}")
            })
            .collect();
        Some((format!("{exists} AND entity_id IN ({})", placeholders.join(", ")), values))
    }

    /// A plain update: one conditional `UpdateItem` that returns the new record.
    async fn update_in_place(&self, patch: &ClientPatch, condition: String, values: Key) -> Result<Client, PatchError> {
        let update = self.client_update(patch, condition, values)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(update.key))
            .update_expression(update.update_expression)
            .set_condition_expression(update.condition_expression)
            .set_expression_attribute_names(update.expression_attribute_names)
            .set_expression_attribute_values(update.expression_attribute_values)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(from_item(out.attributes.unwrap_or_default())?),
            Err(e) if condition_failed(&e) => {
                Err(PatchError::ClientNotFound)
            }
            Err(e) => Err(PatchError::Store(unavailable(e))),
        }
    }

    /// An email move or a password change: the client, its guards and the user in one
    /// transaction, conditioned on the email read just before (a race retries from the read).
    async fn update_in_transaction(&self, patch: &ClientPatch, scope: &ClientScope) -> Result<UpdatedClient, PatchError> {
        for _ in 0..5 {
            let current: Client = self
                .get_record(keys::client(patch.client_id))
                .await?
                .filter(|c| scope.allows(c))
                .ok_or(PatchError::ClientNotFound)?;
            let old_key = email_key(&current.email);
            let moves_guard = patch.new_email().is_some_and(|e| email_key(e) != old_key);
            if !moves_guard && patch.password.is_none() {
                let values = Key::from([(":old_email".to_string(), s(current.email.clone()))]);
                match self.update_in_place(patch, "attribute_exists(PK) AND email = :old_email".into(), values).await {
                    Ok(client) => return Ok(UpdatedClient { client, previous_email: current.email }),
                    Err(PatchError::ClientNotFound) => continue, // the email moved meanwhile
                    Err(e) => return Err(e),
                }
            }
            let values = Key::from([(":old_email".to_string(), s(current.email.clone()))]);
            let mut items =
                vec![TransactWriteItem::builder().update(self.client_update(patch, "attribute_exists(PK) AND email = :old_email".into(), values)?).build()];
            if let (true, Some(new_email)) = (moves_guard, patch.new_email()) {
                let guard = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(keys::guard(keys::client_email(new_email), patch.client_id)))
                    .condition_expression("attribute_not_exists(PK)")
                    .build()
                    .map_err(corrupt)?;
                let old_guard = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(keys::client_email(&current.email)))
                    .build()
                    .map_err(corrupt)?;
                items.push(TransactWriteItem::builder().put(guard).build());
                items.push(TransactWriteItem::builder().delete(old_guard).build());
            }
            if let Some(change) = &patch.password {
                let set_hash = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(keys::user(change.user_id)))
                    .update_expression("SET password_hash = :h")
                    .condition_expression("attribute_exists(PK)")
                    .expression_attribute_values(":h", s(change.password_hash.clone()))
                    .build()
                    .map_err(corrupt)?;
                items.push(TransactWriteItem::builder().update(set_hash).build());
            }
            match txn::write(&self.client, items).await {
                Ok(()) => {}
                Err(TxError::Cancelled(codes)) => match txn::patch_failure(&codes, moves_guard) {
                    PatchFailure::RecordChanged => continue,
                    PatchFailure::EmailTaken => return Err(PatchError::EmailTaken),
                    PatchFailure::UserMissing => return Err(PatchError::ClientNotFound),
                    PatchFailure::Other => return Err(PatchError::Store(StoreError::Unavailable(format!("transaction cancelled: {codes:?}")))),
                },
                Err(TxError::Store(e)) => return Err(PatchError::Store(e)),
            }
            if let Some(change) = &patch.password {
                self.revoke_sessions(change.user_id, change.keep_session.as_deref()).await?;
            }
            // The transaction held the email read before; the other fields are as this patch set them.
            return Ok(UpdatedClient { client: patch.apply_to(&current)?, previous_email: current.email });
        }
        Err(PatchError::Store(StoreError::Unavailable("the client kept changing during the update".into())))
    }

    /// Every item of one partition of the table or of `index`, page after page. Index reads
    /// cannot be strongly consistent; table reads are.
    async fn query_partition(&self, index: Option<&str>, key: &str, value: &str) -> StoreResult<Vec<Key>> {
        let mut items = Vec::new();
        let mut start: Option<Key> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_string))
                .consistent_read(index.is_none())
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", key)
                .expression_attribute_values(":pk", s(value))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// Deletes every session of `user_id` but `keep`.
    async fn revoke_sessions(&self, user_id: u64, keep: Option<&str>) -> StoreResult<()> {
        for item in self.query_partition(Some(keys::GSI1), keys::GSI1PK, &keys::user_sessions_pk(user_id)).await? {
            let Some(AttributeValue::S(pk)) = item.get(keys::PK) else { continue };
            let hash = pk.trim_start_matches("TOKEN#");
            if Some(hash) != keep {
                self.delete(keys::token(hash)).await?;
            }
        }
        Ok(())
    }

    /// The next entity id from the atomic counter.
    async fn next_entity_id(&self) -> StoreResult<u64> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::entity_counter()))
            .update_expression("ADD #v :one")
            .expression_attribute_names("#v", keys::COUNTER_VALUE)
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        match out.attributes.as_ref().and_then(|a| a.get(keys::COUNTER_VALUE)) {
            Some(AttributeValue::N(v)) => v.parse().map_err(corrupt),
            _ => Err(StoreError::Corrupt("the entity counter returned no value".into())),
        }
    }

    /// Raises the entity counter to at least `floor` (never lowers it).
    async fn raise_entity_counter(&self, floor: u64) -> StoreResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
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

    /// Replaces a record that has a unique guard, deleting the old guard when the value moved.
    async fn put_guarded(&self, item: Key, guard: Key, old_guard: Option<Key>) -> StoreResult<()> {
        if let Some(old) = old_guard.filter(|old| old.get(keys::PK) != guard.get(keys::PK)) {
            self.delete(old).await?;
        }
        self.put(guard).await?;
        self.put(item).await
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn token(&self, token_hash: &str) -> StoreResult<Option<TokenOwner>> {
        let Some(item) = self.get(keys::token(token_hash)).await? else { return Ok(None) };
        match item.get(keys::TOKEN_KIND) {
            Some(AttributeValue::S(kind)) if kind == "session" => Ok(Some(TokenOwner::Session(from_item(item)?))),
            Some(AttributeValue::S(kind)) if kind == "application" => Ok(Some(TokenOwner::Application(from_item(item)?))),
            _ => Err(StoreError::Corrupt("a token item of unknown kind".into())),
        }
    }

    async fn touch_session(&self, session: &Session, now: OffsetDateTime) -> StoreResult<()> {
        let session = Session { last_used_at: now, ..session.clone() };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::token(&session.token_hash)))
            .condition_expression("attribute_exists(PK) AND last_used_at < :now")
            .expression_attribute_values(":now", s(timestamp::format(now)));
        update = match ttl_of(&session) {
            Some(ttl) => update
                .update_expression("SET last_used_at = :now, #ttl = :ttl")
                .expression_attribute_names("#ttl", keys::TTL_ATTRIBUTE)
                .expression_attribute_values(":ttl", ttl),
            None => update.update_expression("SET last_used_at = :now"),
        };
        match update.send().await {
            Ok(_) => Ok(()),
            // Another request moved it first, or the session is gone: nothing to do.
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn user(&self, id: u64) -> StoreResult<Option<User>> {
        self.get_record(keys::user(id)).await
    }

    async fn client(&self, id: u64) -> StoreResult<Option<Client>> {
        self.get_record(keys::client(id)).await
    }

    async fn update_client(&self, patch: &ClientPatch, scope: &ClientScope) -> Result<UpdatedClient, PatchError> {
        let Some((condition, values)) = Self::scope_condition(patch.client_id, scope) else {
            return Err(PatchError::ClientNotFound);
        };
        if patch.new_email().is_some() || patch.password.is_some() {
            return self.update_in_transaction(patch, scope).await;
        }
        let client = self.update_in_place(patch, condition, values).await?;
        let previous_email = client.email.clone();
        Ok(UpdatedClient { client, previous_email })
    }

    async fn entity(&self, id: u64) -> StoreResult<Option<Entity>> {
        self.get_record(keys::entity(id)).await
    }

    async fn create_entity(&self, draft: &EntityDraft) -> Result<Entity, CreateError> {
        // An id already taken (a counter behind hand-loaded data) is skipped, not reused.
        for _ in 0..5 {
            let id = self.next_entity_id().await?;
            let entity = draft.to_entity(id);
            let must_be_new = |item: Key| {
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(PK)")
                    .build()
                    .map_err(corrupt)
            };
            let items = vec![
                TransactWriteItem::builder()
                    .condition_check(
                        ConditionCheck::builder()
                            .table_name(&self.table)
                            .set_key(Some(keys::integration(draft.integration_id)))
                            .condition_expression("attribute_exists(PK)")
                            .build()
                            .map_err(corrupt)?,
                    )
                    .build(),
                TransactWriteItem::builder().put(must_be_new(to_item(&entity, keys::entity(id))?)?).build(),
                TransactWriteItem::builder().put(must_be_new(keys::guard(keys::entity_slug(&entity.entity_slug), id))?).build(),
                TransactWriteItem::builder().put(must_be_new(keys::guard(keys::entity_email(&entity.email), id))?).build(),
            ];
            match txn::write(&self.client, items).await {
                Ok(()) => return Ok(entity),
                Err(TxError::Cancelled(codes)) => match txn::create_failure(&codes) {
                    CreateFailure::IntegrationNotFound => return Err(CreateError::IntegrationNotFound),
                    CreateFailure::Taken { slug_taken, email_taken } => return Err(CreateError::Taken { slug_taken, email_taken }),
                    CreateFailure::IdTaken => continue,
                    CreateFailure::Other => {
                        return Err(CreateError::Store(StoreError::Unavailable(format!("transaction cancelled: {codes:?}"))))
                    }
                },
                Err(TxError::Store(e)) => return Err(CreateError::Store(e)),
            }
        }
        Err(CreateError::Store(StoreError::Unavailable("no free entity id after 5 tries".into())))
    }

    async fn registry(&self) -> StoreResult<RegistrySnapshot> {
        let mut snapshot = RegistrySnapshot::default();
        for item in self.query_partition(None, keys::PK, keys::REGISTRY_PK).await? {
            let Some(AttributeValue::S(sk)) = item.get(keys::SK) else { continue };
            let Some((kind, name)) = keys::registry_kind(sk) else { continue };
            let deployed = matches!(item.get("deployed"), Some(AttributeValue::Bool(true)));
            let record = RegistryRecord { name: name.to_string(), deployed };
            match kind {
                RecordKind::Route => snapshot.routes.push(record),
                RecordKind::Service => snapshot.services.push(record),
            }
        }
        Ok(snapshot)
    }

    async fn put_registry_record(&self, kind: RecordKind, record: &RegistryRecord, only_if_missing: bool) -> StoreResult<bool> {
        let item = to_item(record, keys::registry(kind, &record.name))?;
        let mut put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        if only_if_missing {
            put = put.condition_expression("attribute_not_exists(PK)");
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn load_fixture(&self, fixture: &Fixture) -> StoreResult<()> {
        for i in &fixture.integrations {
            self.put(to_item::<Integration>(i, keys::integration(i.id))?).await?;
        }
        for a in &fixture.applications {
            let mut item = to_item(a, keys::token(&a.token_hash))?;
            item.insert(keys::TOKEN_KIND.to_string(), s("application"));
            self.put(item).await?;
        }
        for u in &fixture.users {
            self.put(to_item(u, keys::user(u.id))?).await?;
        }
        for session in &fixture.sessions {
            self.put(self.session_item(session)?).await?;
        }
        for c in &fixture.clients {
            let old = self.get_record::<Client>(keys::client(c.id)).await?.map(|old| keys::client_email(&old.email));
            self.put_guarded(to_item(c, keys::client(c.id))?, keys::guard(keys::client_email(&c.email), c.id), old).await?;
        }
        for e in &fixture.entities {
            let old: Option<Entity> = self.get_record(keys::entity(e.id)).await?;
            let item = to_item(e, keys::entity(e.id))?;
            let old_slug = old.as_ref().map(|o| keys::entity_slug(&o.entity_slug));
            let old_email = old.as_ref().map(|o| keys::entity_email(&o.email));
            if let Some(old) = old_slug.filter(|k| k.get(keys::PK) != keys::entity_slug(&e.entity_slug).get(keys::PK)) {
                self.delete(old).await?;
            }
            self.put_guarded(item, keys::guard(keys::entity_email(&e.email), e.id), old_email).await?;
            self.put(keys::guard(keys::entity_slug(&e.entity_slug), e.id)).await?;
        }
        self.raise_entity_counter(fixture.max_entity_id()).await
    }
}
