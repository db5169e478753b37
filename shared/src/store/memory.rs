//! The embedded store of `planocore serve` and of the tests: one lock over all records, so each
//! store call is atomic exactly as a DynamoDB transaction is.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::*;
use crate::model::Integration;

#[derive(Default)]
struct State {
    integrations: BTreeMap<u64, Integration>,
    applications: HashMap<String, Application>,
    users: BTreeMap<u64, User>,
    sessions: HashMap<String, Session>,
    clients: BTreeMap<u64, Client>,
    entities: BTreeMap<u64, Entity>,
    /// Lowercased email → client id: the uniqueness guard.
    client_emails: HashMap<String, u64>,
    entity_slugs: HashMap<String, u64>,
    entity_emails: HashMap<String, u64>,
    last_entity_id: u64,
    routes: BTreeMap<String, RegistryRecord>,
    services: BTreeMap<String, RegistryRecord>,
}

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every entity's id, sorted: for tests that check nothing was created.
    #[cfg(feature = "test-util")]
    pub fn entity_ids(&self) -> Vec<u64> {
        self.lock().entities.keys().copied().collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves no half-written record (each call writes last),
        // so a poisoned lock is safe to keep using.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn token(&self, token_hash: &str) -> StoreResult<Option<TokenOwner>> {
        let state = self.lock();
        if let Some(s) = state.sessions.get(token_hash) {
            return Ok(Some(TokenOwner::Session(s.clone())));
        }
        Ok(state.applications.get(token_hash).cloned().map(TokenOwner::Application))
    }

    async fn touch_session(&self, session: &Session, now: OffsetDateTime) -> StoreResult<()> {
        if let Some(s) = self.lock().sessions.get_mut(&session.token_hash) {
            s.last_used_at = s.last_used_at.max(now);
        }
        Ok(())
    }

    async fn user(&self, id: u64) -> StoreResult<Option<User>> {
        Ok(self.lock().users.get(&id).cloned())
    }

    async fn client(&self, id: u64) -> StoreResult<Option<Client>> {
        Ok(self.lock().clients.get(&id).cloned())
    }

    async fn update_client(&self, patch: &ClientPatch, scope: &ClientScope) -> Result<UpdatedClient, PatchError> {
        let mut state = self.lock();
        let current = state.clients.get(&patch.client_id).filter(|c| scope.allows(c)).ok_or(PatchError::ClientNotFound)?;
        let previous_email = current.email.clone();
        let old_key = email_key(&current.email);
        let new_key = patch.new_email().map(email_key);
        if let Some(key) = &new_key {
            if state.client_emails.get(key).is_some_and(|owner| *owner != patch.client_id) {
                return Err(PatchError::EmailTaken);
            }
        }
        let updated = patch.apply_to(current)?;
        // Every check has passed: write everything.
        if let Some(key) = new_key {
            state.client_emails.remove(&old_key);
            state.client_emails.insert(key, patch.client_id);
        }
        if let Some(change) = &patch.password {
            if let Some(user) = state.users.get_mut(&change.user_id) {
                user.password_hash = Some(change.password_hash.clone());
            }
            state
                .sessions
                .retain(|hash, s| s.user_id != change.user_id || change.keep_session.as_deref() == Some(hash.as_str()));
        }
        state.clients.insert(patch.client_id, updated.clone());
        Ok(UpdatedClient { client: updated, previous_email })
    }

    async fn entity(&self, id: u64) -> StoreResult<Option<Entity>> {
        Ok(self.lock().entities.get(&id).cloned())
    }

    async fn create_entity(&self, draft: &EntityDraft) -> Result<Entity, CreateError> {
        let mut state = self.lock();
        if !state.integrations.contains_key(&draft.integration_id) {
            return Err(CreateError::IntegrationNotFound);
        }
        let slug_key = draft.entity_slug.clone();
        let email = email_key(&draft.email);
        let slug_taken = state.entity_slugs.contains_key(&slug_key);
        let email_taken = state.entity_emails.contains_key(&email);
        if slug_taken || email_taken {
            return Err(CreateError::Taken { slug_taken, email_taken });
        }
        state.last_entity_id += 1;
        let id = state.last_entity_id;
        let entity = draft.to_entity(id);
        state.entity_slugs.insert(slug_key, id);
        state.entity_emails.insert(email, id);
        state.entities.insert(id, entity.clone());
        Ok(entity)
    }

    async fn registry(&self) -> StoreResult<RegistrySnapshot> {
        let state = self.lock();
        Ok(RegistrySnapshot {
            routes: state.routes.values().cloned().collect(),
            services: state.services.values().cloned().collect(),
        })
    }

    async fn put_registry_record(&self, kind: RecordKind, record: &RegistryRecord, only_if_missing: bool) -> StoreResult<bool> {
        let mut state = self.lock();
        let records = match kind {
            RecordKind::Route => &mut state.routes,
            RecordKind::Service => &mut state.services,
        };
        if only_if_missing && records.contains_key(&record.name) {
            return Ok(false);
        }
        records.insert(record.name.clone(), record.clone());
        Ok(true)
    }

    async fn load_fixture(&self, fixture: &Fixture) -> StoreResult<()> {
        let mut state = self.lock();
        for i in &fixture.integrations {
            state.integrations.insert(i.id, i.clone());
        }
        for a in &fixture.applications {
            state.applications.insert(a.token_hash.clone(), a.clone());
        }
        for u in &fixture.users {
            state.users.insert(u.id, u.clone());
        }
        for s in &fixture.sessions {
            state.sessions.insert(s.token_hash.clone(), s.clone());
        }
        for c in &fixture.clients {
            if let Some(old) = state.clients.get(&c.id) {
                let old_key = email_key(&old.email);
                state.client_emails.remove(&old_key);
            }
            state.client_emails.insert(email_key(&c.email), c.id);
            state.clients.insert(c.id, c.clone());
        }
        for e in &fixture.entities {
            if let Some(old) = state.entities.get(&e.id) {
                let (slug, email) = (old.entity_slug.clone(), email_key(&old.email));
                state.entity_slugs.remove(&slug);
                state.entity_emails.remove(&email);
            }
            state.entity_slugs.insert(e.entity_slug.clone(), e.id);
            state.entity_emails.insert(email_key(&e.email), e.id);
            state.entities.insert(e.id, e.clone());
            state.last_entity_id = state.last_entity_id.max(e.id);
        }
        Ok(())
    }
}
