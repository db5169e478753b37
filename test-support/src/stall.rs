//! A store around any other that, while armed, never returns from a route's write once the
//! inner store has committed it: the test then drops the request's future, which is what a
//! process killed right after its commit leaves behind (the store, which outlives it, kept).

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::Notify;

use domain::fixture::Fixture;
use domain::model::*;
use store::*;

pub struct StallAfterCommit {
    pub inner: Arc<dyn Store>,
    armed: AtomicBool,
    committed: Notify,
}

impl StallAfterCommit {
    /// Armed from the start.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        StallAfterCommit { inner, armed: AtomicBool::new(true), committed: Notify::new() }
    }

    pub fn arm(&self, armed: bool) {
        self.armed.store(armed, SeqCst);
    }

    /// Waits (at most 20 s) until a write has committed and stalled.
    pub async fn wait_committed(&self) {
        tokio::time::timeout(Duration::from_secs(20), self.committed.notified())
            .await
            .expect("a write committed within 20 s");
    }

    async fn stall_if_armed<T>(&self, result: T) -> T {
        if self.armed.load(SeqCst) {
            self.committed.notify_one();
            std::future::pending::<()>().await;
        }
        result
    }
}

#[async_trait]
impl Store for StallAfterCommit {
    async fn token(&self, h: &str) -> StoreResult<Option<TokenOwner>> {
        self.inner.token(h).await
    }
    async fn touch_session(&self, session: &Session, now: OffsetDateTime) -> StoreResult<()> {
        self.inner.touch_session(session, now).await
    }
    async fn user(&self, id: u64) -> StoreResult<Option<User>> {
        self.inner.user(id).await
    }
    async fn client(&self, id: u64) -> StoreResult<Option<Client>> {
        self.inner.client(id).await
    }
    async fn read_client_for_update(&self, id: u64) -> StoreResult<Option<ClientRead>> {
        self.inner.read_client_for_update(id).await
    }
    async fn update_client_from(
        &self,
        p: &ClientPatch,
        scope: &ClientScope,
        read: Option<ClientRead>,
        key: Option<&KeyCommit<'_, UpdatedClient>>,
    ) -> Result<UpdatedClient, PatchError> {
        let updated = self.inner.update_client_from(p, scope, read, key).await?;
        Ok(self.stall_if_armed(updated).await)
    }
    async fn begin_password_attempt(&self, user_id: u64, now: OffsetDateTime) -> StoreResult<PasswordAttempt> {
        self.inner.begin_password_attempt(user_id, now).await
    }
    async fn clear_password_attempts(&self, user_id: u64) -> StoreResult<()> {
        self.inner.clear_password_attempts(user_id).await
    }
    async fn entity(&self, id: u64) -> StoreResult<Option<Entity>> {
        self.inner.entity(id).await
    }
    async fn reserve_entity_id(&self) -> StoreResult<Option<u64>> {
        self.inner.reserve_entity_id().await
    }
    async fn create_entity_from(
        &self,
        d: &EntityDraft,
        reserved: Option<u64>,
        key: Option<&KeyCommit<'_, Entity>>,
    ) -> Result<Entity, CreateError> {
        let entity = self.inner.create_entity_from(d, reserved, key).await?;
        Ok(self.stall_if_armed(entity).await)
    }
    async fn registry(&self) -> StoreResult<RegistrySnapshot> {
        self.inner.registry().await
    }
    async fn put_registry_record(&self, k: RecordKind, r: &RegistryRecord, only_if_missing: bool) -> StoreResult<bool> {
        self.inner.put_registry_record(k, r, only_if_missing).await
    }
    async fn claim_key(&self, key: &KeyScope, claim: &KeyClaim) -> StoreResult<Claim> {
        self.inner.claim_key(key, claim).await
    }
    async fn complete_key(&self, key: &KeyScope, claim_id: &str, answer: &StoredAnswer) -> StoreResult<bool> {
        self.inner.complete_key(key, claim_id, answer).await
    }
    async fn release_key(&self, key: &KeyScope, claim_id: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.inner.release_key(key, claim_id, now).await
    }
    async fn hand_over_outbox(
        &self,
        key: &KeyScope,
        holder: &str,
        to: &str,
        due: OffsetDateTime,
    ) -> StoreResult<Option<Vec<domain::email::Email>>> {
        self.inner.hand_over_outbox(key, holder, to, due).await
    }
    async fn settle_outbox(&self, key: &KeyScope, holder: &str, answer: Option<&StoredAnswer>) -> StoreResult<bool> {
        self.inner.settle_outbox(key, holder, answer).await
    }
    async fn due_outboxes(&self, due_by: OffsetDateTime, limit: usize) -> StoreResult<Vec<DueOutbox>> {
        self.inner.due_outboxes(due_by, limit).await
    }
    async fn load_fixture(&self, f: &Fixture, mode: store::seed::SeedMode) -> StoreResult<()> {
        self.inner.load_fixture(f, mode).await
    }
}
