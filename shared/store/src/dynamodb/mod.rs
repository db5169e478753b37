//! The production store: one DynamoDB table (layout in [`keys`]), unique values held by guard
//! items written in the same transaction as their record, ids from an atomic counter.
//!
//! What each module owns:
//!
//! | module                 | owns                                                                 |
//! |------------------------|----------------------------------------------------------------------|
//! | [`keys`]               | every key and attribute name                                         |
//! | `schema`               | the table's definition and its creation                              |
//! | `item`                 | records ⇄ items, attribute values, SDK failures as `StoreError`s     |
//! | `table`                | plain reads and writes: one item, one partition (paginated)          |
//! | `txn`                  | transactions, their items by role, cancellation reasons by role      |
//! | `sessions`             | token items: read, touch, session and application items              |
//! | `client_expressions`   | a client update's `SET` expression and its conditions                |
//! | `clients`              | client updates, in place or in a transaction (with a password change) |
//! | `attempts`             | the count of a user's own-password checks                            |
//! | `idempotency`          | idempotency keys: claim, answer (alone or in a write), release, outbox, due outboxes |
//! | `entities`             | the id counter and the entity create                                 |
//! | `registry`             | the route registry's records                                         |
//! | `seed`                 | loading a fixture through the shared plan (`store::seed`)            |

mod attempts;
mod client_expressions;
mod clients;
mod entities;
mod idempotency;
mod item;
pub mod keys;
mod registry;
mod schema;
mod seed;
mod sessions;
mod table;
mod txn;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client as DynamoClient;
use time::OffsetDateTime;

use domain::email::Email;
use domain::fixture::Fixture;
use domain::model::*;

use crate::attempts::*;
use crate::error::*;
use crate::idempotency::*;
use crate::seam::*;

pub use schema::{create_table, table_definition, KeySchema, TableDefinition};

#[derive(Clone)]
pub struct DynamoStore {
    client: DynamoClient,
    table: String,
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
}

#[async_trait]
impl Store for DynamoStore {
    async fn token(&self, token_hash: &str) -> StoreResult<Option<TokenOwner>> {
        sessions::token(self, token_hash).await
    }

    async fn touch_session(&self, session: &Session, now: OffsetDateTime) -> StoreResult<()> {
        sessions::touch(self, session, now).await
    }

    async fn user(&self, id: u64) -> StoreResult<Option<User>> {
        self.get_record(keys::user(id)).await
    }

    async fn client(&self, id: u64) -> StoreResult<Option<Client>> {
        self.get_record(keys::client(id)).await
    }

    async fn read_client_for_update(&self, id: u64) -> StoreResult<Option<ClientRead>> {
        clients::read_client(self, id).await
    }

    async fn update_client_from(
        &self,
        patch: &ClientPatch,
        scope: &ClientScope,
        read: Option<ClientRead>,
        key: Option<&KeyCommit<'_, UpdatedClient>>,
    ) -> Result<UpdatedClient, PatchError> {
        clients::update(self, patch, scope, read, key).await
    }

    async fn begin_password_attempt(&self, user_id: u64, now: OffsetDateTime) -> StoreResult<PasswordAttempt> {
        attempts::begin(self, user_id, now).await
    }

    async fn clear_password_attempts(&self, user_id: u64) -> StoreResult<()> {
        attempts::clear(self, user_id).await
    }

    async fn entity(&self, id: u64) -> StoreResult<Option<Entity>> {
        self.get_record(keys::entity(id)).await
    }

    async fn reserve_entity_id(&self) -> StoreResult<Option<u64>> {
        Ok(Some(entities::next_id(self).await?))
    }

    async fn create_entity_from(
        &self,
        draft: &EntityDraft,
        reserved: Option<u64>,
        key: Option<&KeyCommit<'_, Entity>>,
    ) -> Result<Entity, CreateError> {
        entities::create(self, draft, reserved, key).await
    }

    async fn registry(&self) -> StoreResult<RegistrySnapshot> {
        registry::read(self).await
    }

    async fn put_registry_record(
        &self,
        kind: RecordKind,
        record: &RegistryRecord,
        only_if_missing: bool,
    ) -> StoreResult<bool> {
        registry::put(self, kind, record, only_if_missing).await
    }

    async fn claim_key(&self, key: &KeyScope, claim: &KeyClaim) -> StoreResult<Claim> {
        idempotency::claim(self, key, claim).await
    }

    async fn complete_key(&self, key: &KeyScope, claim_id: &str, answer: &StoredAnswer) -> StoreResult<bool> {
        idempotency::complete(self, key, claim_id, answer).await
    }

    async fn release_key(&self, key: &KeyScope, claim_id: &str, now: OffsetDateTime) -> StoreResult<()> {
        idempotency::release(self, key, claim_id, now).await
    }

    async fn hand_over_outbox(
        &self,
        key: &KeyScope,
        holder: &str,
        to: &str,
        due_at: OffsetDateTime,
    ) -> StoreResult<Option<Vec<Email>>> {
        idempotency::hand_over_outbox(self, key, holder, to, due_at).await
    }

    async fn settle_outbox(&self, key: &KeyScope, holder: &str, answer: Option<&StoredAnswer>) -> StoreResult<bool> {
        idempotency::settle_outbox(self, key, holder, answer).await
    }

    async fn due_outboxes(&self, due_by: OffsetDateTime, limit: usize) -> StoreResult<Vec<DueOutbox>> {
        idempotency::due_outboxes(self, due_by, limit).await
    }

    async fn load_fixture(&self, fixture: &Fixture, mode: crate::seed::SeedMode) -> StoreResult<()> {
        seed::load(self, fixture, mode).await
    }
}
