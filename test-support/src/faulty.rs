//! A store that fails, or panics, on demand.

use std::sync::atomic::Ordering::SeqCst;

use async_trait::async_trait;
use time::OffsetDateTime;

use domain::fixture::Fixture;
use domain::model::*;
use store::memory::MemoryStore;
use store::*;

use crate::call_fault::FaultPoint;

/// A store that fails on demand, around a memory store: for `identify-request-error`,
/// `application-crash`, panics and a write whose answer is lost.
#[derive(Default)]
pub struct FaultyStore {
    pub inner: MemoryStore,
    pub registry_down: std::sync::atomic::AtomicBool,
    pub data_down: std::sync::atomic::AtomicBool,
    pub panic_on_client_read: std::sync::atomic::AtomicBool,
    /// Where `update_client_from` fails, if it does.
    pub update_fault: std::sync::Mutex<Option<FaultPoint>>,
    /// A request's answer cannot be kept under its idempotency key.
    pub answers_down: std::sync::atomic::AtomicBool,
}

impl FaultyStore {
    fn data(&self) -> StoreResult<()> {
        if self.data_down.load(SeqCst) {
            return Err(StoreError::Unavailable("injected fault".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl Store for FaultyStore {
    async fn token(&self, h: &str) -> StoreResult<Option<TokenOwner>> {
        self.data()?;
        self.inner.token(h).await
    }
    async fn touch_session(&self, session: &Session, now: OffsetDateTime) -> StoreResult<()> {
        self.data()?;
        self.inner.touch_session(session, now).await
    }
    async fn user(&self, id: u64) -> StoreResult<Option<User>> {
        self.data()?;
        self.inner.user(id).await
    }
    async fn client(&self, id: u64) -> StoreResult<Option<Client>> {
        self.data()?;
        if self.panic_on_client_read.load(SeqCst) {
            panic!("injected panic while reading client {id}");
        }
        self.inner.client(id).await
    }
    async fn read_client_for_update(&self, id: u64) -> StoreResult<Option<ClientRead>> {
        self.data()?;
        self.inner.read_client_for_update(id).await
    }
    async fn update_client_from(
        &self,
        p: &ClientPatch,
        scope: &ClientScope,
        read: Option<ClientRead>,
        key: Option<&KeyCommit<'_, UpdatedClient>>,
    ) -> Result<UpdatedClient, PatchError> {
        self.data()?;
        let fault = *self.update_fault.lock().unwrap();
        if fault == Some(FaultPoint::BeforeSend) {
            return Err(StoreError::Unavailable("injected fault before the write".into()).into());
        }
        let updated = self.inner.update_client_from(p, scope, read, key).await?;
        if fault == Some(FaultPoint::AfterCommit) {
            return Err(StoreError::Unavailable("injected fault after the write".into()).into());
        }
        Ok(updated)
    }
    async fn begin_password_attempt(&self, user_id: u64, now: OffsetDateTime) -> StoreResult<PasswordAttempt> {
        self.data()?;
        self.inner.begin_password_attempt(user_id, now).await
    }
    async fn clear_password_attempts(&self, user_id: u64) -> StoreResult<()> {
        self.data()?;
        self.inner.clear_password_attempts(user_id).await
    }
    async fn entity(&self, id: u64) -> StoreResult<Option<Entity>> {
        self.data()?;
        self.inner.entity(id).await
    }
    async fn reserve_entity_id(&self) -> StoreResult<Option<u64>> {
        self.data()?;
        self.inner.reserve_entity_id().await
    }
    async fn create_entity_from(
        &self,
        d: &EntityDraft,
        reserved: Option<u64>,
        key: Option<&KeyCommit<'_, Entity>>,
    ) -> Result<Entity, CreateError> {
        self.data()?;
        self.inner.create_entity_from(d, reserved, key).await
    }
    async fn registry(&self) -> StoreResult<RegistrySnapshot> {
        if self.registry_down.load(SeqCst) {
            return Err(StoreError::Unavailable("injected registry fault".into()));
        }
        self.inner.registry().await
    }
    async fn put_registry_record(&self, k: RecordKind, r: &RegistryRecord, only_if_missing: bool) -> StoreResult<bool> {
        self.inner.put_registry_record(k, r, only_if_missing).await
    }
    async fn claim_key(&self, key: &KeyScope, claim: &KeyClaim) -> StoreResult<Claim> {
        self.data()?;
        self.inner.claim_key(key, claim).await
    }
    async fn complete_key(&self, key: &KeyScope, claim_id: &str, answer: &StoredAnswer) -> StoreResult<bool> {
        self.data()?;
        if self.answers_down.load(SeqCst) {
            return Err(StoreError::Unavailable("injected fault while keeping the answer".into()));
        }
        self.inner.complete_key(key, claim_id, answer).await
    }
    async fn release_key(&self, key: &KeyScope, claim_id: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.data()?;
        self.inner.release_key(key, claim_id, now).await
    }
    async fn hand_over_outbox(
        &self,
        key: &KeyScope,
        holder: &str,
        to: &str,
        due: OffsetDateTime,
    ) -> StoreResult<Option<Vec<domain::email::Email>>> {
        self.data()?;
        self.inner.hand_over_outbox(key, holder, to, due).await
    }
    async fn settle_outbox(&self, key: &KeyScope, holder: &str, answer: Option<&StoredAnswer>) -> StoreResult<bool> {
        self.data()?;
        if self.answers_down.load(SeqCst) {
            return Err(StoreError::Unavailable("injected fault while settling the outbox".into()));
        }
        self.inner.settle_outbox(key, holder, answer).await
    }
    async fn due_outboxes(&self, due_by: OffsetDateTime, limit: usize) -> StoreResult<Vec<DueOutbox>> {
        self.data()?;
        self.inner.due_outboxes(due_by, limit).await
    }
    async fn load_fixture(&self, f: &Fixture, mode: store::seed::SeedMode) -> StoreResult<()> {
        self.inner.load_fixture(f, mode).await
    }
}
