//! The embedded store of `planocore serve` and of the tests: one lock over all records, so each
//! store call is atomic exactly as a DynamoDB transaction is.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::attempts::*;
use crate::error::*;
use crate::idempotency::*;
use crate::idempotency::{claim_lost, expired};
use crate::seam::*;
use crate::seed::{self, Record, SeedMode};
use domain::email::Email;
use domain::fixture::Fixture;
use domain::model::*;
use domain::unique::Guard;

#[derive(Default)]
struct State {
    integrations: BTreeMap<u64, Integration>,
    applications: HashMap<String, Application>,
    users: BTreeMap<u64, User>,
    sessions: HashMap<String, Session>,
    clients: BTreeMap<u64, Client>,
    entities: BTreeMap<u64, Entity>,
    /// Each unique value (client email, entity slug and email) → the id that holds it.
    guards: HashMap<Guard, u64>,
    last_entity_id: u64,
    routes: BTreeMap<String, RegistryRecord>,
    services: BTreeMap<String, RegistryRecord>,
    /// Each user's open window of own-password checks: when it opened, how many it counted.
    password_attempts: HashMap<u64, (OffsetDateTime, u64)>,
    /// Idempotency keys by scope: a claim (its id and record) or a completed answer.
    request_keys: HashMap<KeyScope, (Option<String>, KeyRecord)>,
}

impl State {
    /// Keeps `key`'s answer for `record` if the key is still the request's claim: a write's
    /// first step, the only one that can fail, so that a failure writes nothing.
    fn complete<T>(&mut self, key: Option<&KeyCommit<'_, T>>, record: &T) -> StoreResult<()> {
        let Some(k) = key else { return Ok(()) };
        if self.request_keys.get(k.scope).and_then(|(claim, _)| claim.as_deref()) != Some(k.claim_id) {
            return Err(claim_lost());
        }
        let answer = (k.answer)(record)?;
        self.request_keys.insert(k.scope.clone(), (None, KeyRecord::Completed(answer)));
        Ok(())
    }

    /// The outbox of `key`'s completed answer if `holder` holds it.
    fn outbox_of(&mut self, key: &KeyScope, holder: &str) -> Option<&mut StoredAnswer> {
        match self.request_keys.get_mut(key) {
            Some((_, KeyRecord::Completed(answer))) if answer.outbox.as_ref().is_some_and(|o| o.holder == holder) => {
                Some(answer)
            }
            _ => None,
        }
    }

    /// The guards of the record `record` replaces.
    fn previous_guards(&self, record: Record<'_>) -> Vec<(Guard, u64)> {
        let previous = match record {
            Record::Client(c) => self.clients.get(&c.id).map(Record::Client),
            Record::Entity(e) => self.entities.get(&e.id).map(Record::Entity),
            _ => None,
        };
        previous.map(|r| r.guards()).unwrap_or_default()
    }

    /// Whether a record of `record`'s key exists.
    fn exists(&self, record: Record<'_>) -> bool {
        match record {
            Record::Integration(i) => self.integrations.contains_key(&i.id),
            Record::Application(a) => self.applications.contains_key(&a.token_hash),
            Record::User(u) => self.users.contains_key(&u.id),
            Record::Session(s) => self.sessions.contains_key(&s.token_hash),
            Record::Client(c) => self.clients.contains_key(&c.id),
            Record::Entity(e) => self.entities.contains_key(&e.id),
        }
    }

    /// Writes `record`, replacing any record of the same key.
    fn put(&mut self, record: Record<'_>) {
        match record {
            Record::Integration(i) => {
                self.integrations.insert(i.id, i.clone());
            }
            Record::Application(a) => {
                self.applications.insert(a.token_hash.clone(), a.clone());
            }
            Record::User(u) => {
                self.users.insert(u.id, u.clone());
            }
            Record::Session(s) => {
                self.sessions.insert(s.token_hash.clone(), s.clone());
            }
            Record::Client(c) => {
                self.clients.insert(c.id, c.clone());
            }
            Record::Entity(e) => {
                self.entities.insert(e.id, e.clone());
            }
        }
    }
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

    /// Read inside the update, under the store's one lock: no call to save.
    async fn read_client_for_update(&self, _id: u64) -> StoreResult<Option<ClientRead>> {
        Ok(None)
    }

    async fn update_client_from(
        &self,
        patch: &ClientPatch,
        scope: &ClientScope,
        _read: Option<ClientRead>,
        key: Option<&KeyCommit<'_, UpdatedClient>>,
    ) -> Result<UpdatedClient, PatchError> {
        let mut state = self.lock();
        let current =
            state.clients.get(&patch.client_id).filter(|c| scope.allows(c)).ok_or(PatchError::ClientNotFound)?;
        let previous_email = current.email.clone();
        let old_guard = Guard::client_email(&current.email);
        let new_guard = patch.new_email().map(Guard::client_email);
        if let Some(guard) = &new_guard {
            if state.guards.get(guard).is_some_and(|owner| *owner != patch.client_id) {
                return Err(PatchError::EmailTaken);
            }
        }
        let updated = patch.apply_to(current)?;
        if let Some(change) = &patch.password {
            let user = state.users.get(&change.user_id).ok_or(PatchError::ClientNotFound)?;
            if change.checked_hash.is_some() && user.password_hash != change.checked_hash {
                return Err(PatchError::PasswordChanged);
            }
        }
        let written = UpdatedClient { client: updated, previous_email };
        // Every check has passed: write everything, the key's answer first (the one step that
        // can fail).
        state.complete(key, &written)?;
        if let Some(guard) = new_guard {
            // The old address's guard is released only if it is this client's.
            if state.guards.get(&old_guard) == Some(&patch.client_id) {
                state.guards.remove(&old_guard);
            }
            state.guards.insert(guard, patch.client_id);
        }
        if let Some(change) = &patch.password {
            if let Some(user) = state.users.get_mut(&change.user_id) {
                user.password_hash = Some(change.password_hash.clone());
                let kept_session = change.keep_session.clone();
                user.revocation = Some(Revocation { sessions_valid_after: patch.now, kept_session });
            }
        }
        state.clients.insert(patch.client_id, written.client.clone());
        Ok(written)
    }

    async fn begin_password_attempt(&self, user_id: u64, now: OffsetDateTime) -> StoreResult<PasswordAttempt> {
        let mut state = self.lock();
        let window = state.password_attempts.entry(user_id).or_insert((now, 0));
        if !window_open(window.0, now) {
            *window = (now, 0);
        }
        window.1 += 1;
        Ok(PasswordAttempt::nth(window.1, window.0))
    }

    async fn clear_password_attempts(&self, user_id: u64) -> StoreResult<()> {
        self.lock().password_attempts.remove(&user_id);
        Ok(())
    }

    async fn entity(&self, id: u64) -> StoreResult<Option<Entity>> {
        Ok(self.lock().entities.get(&id).cloned())
    }

    /// Ids are allocated inside the create, under the store's one lock: no call to save.
    async fn reserve_entity_id(&self) -> StoreResult<Option<u64>> {
        Ok(None)
    }

    async fn create_entity_from(
        &self,
        draft: &EntityDraft,
        _reserved: Option<u64>,
        key: Option<&KeyCommit<'_, Entity>>,
    ) -> Result<Entity, CreateError> {
        let mut state = self.lock();
        if !state.integrations.contains_key(&draft.integration_id) {
            return Err(CreateError::IntegrationNotFound);
        }
        let slug_guard = Guard::entity_slug(&draft.entity_slug);
        let email_guard = Guard::entity_email(&draft.email);
        let slug_taken = state.guards.contains_key(&slug_guard);
        let email_taken = state.guards.contains_key(&email_guard);
        if slug_taken || email_taken {
            return Err(CreateError::Taken { slug_taken, email_taken });
        }
        let id = state.last_entity_id + 1;
        let entity = draft.to_entity(id);
        state.complete(key, &entity)?;
        state.last_entity_id = id;
        state.guards.insert(slug_guard, id);
        state.guards.insert(email_guard, id);
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

    async fn put_registry_record(
        &self,
        kind: RecordKind,
        record: &RegistryRecord,
        only_if_missing: bool,
    ) -> StoreResult<bool> {
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

    async fn claim_key(&self, key: &KeyScope, claim: &KeyClaim) -> StoreResult<Claim> {
        let mut state = self.lock();
        if let Some((_, record)) = state.request_keys.get(key).filter(|(_, r)| !expired(r.expires_at(), claim.at)) {
            return Ok(Claim::Held(record.clone()));
        }
        let record = KeyRecord::InProgress { expires_at: claim.expires_at };
        state.request_keys.insert(key.clone(), (Some(claim.id.clone()), record));
        Ok(Claim::Ours)
    }

    async fn complete_key(&self, key: &KeyScope, claim_id: &str, answer: &StoredAnswer) -> StoreResult<bool> {
        let mut state = self.lock();
        match state.request_keys.get_mut(key) {
            Some(entry) if entry.0.as_deref() == Some(claim_id) => {
                *entry = (None, KeyRecord::Completed(answer.clone()));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release_key(&self, key: &KeyScope, claim_id: &str, _now: OffsetDateTime) -> StoreResult<()> {
        let mut state = self.lock();
        if state.request_keys.get(key).is_some_and(|(claim, _)| claim.as_deref() == Some(claim_id)) {
            state.request_keys.remove(key);
        }
        Ok(())
    }

    async fn hand_over_outbox(
        &self,
        key: &KeyScope,
        holder: &str,
        to: &str,
        due_at: OffsetDateTime,
    ) -> StoreResult<Option<Vec<Email>>> {
        let mut state = self.lock();
        let outbox = state.outbox_of(key, holder).and_then(|answer| answer.outbox.as_mut());
        Ok(outbox.map(|outbox| {
            (outbox.holder, outbox.due_at) = (to.to_string(), due_at);
            outbox.emails.clone()
        }))
    }

    async fn settle_outbox(&self, key: &KeyScope, holder: &str, replaced: Option<&StoredAnswer>) -> StoreResult<bool> {
        let mut state = self.lock();
        let Some(answer) = state.outbox_of(key, holder) else { return Ok(false) };
        if let Some(replaced) = replaced {
            *answer = replaced.clone();
        }
        answer.outbox = None;
        Ok(true)
    }

    async fn due_outboxes(&self, due_by: OffsetDateTime, limit: usize) -> StoreResult<Vec<DueOutbox>> {
        let state = self.lock();
        let mut due: Vec<(OffsetDateTime, DueOutbox)> = state
            .request_keys
            .iter()
            .filter_map(|(scope, (_, record))| match record {
                KeyRecord::Completed(StoredAnswer { outbox: Some(outbox), .. }) if outbox.due_at <= due_by => {
                    Some((outbox.due_at, DueOutbox { scope: scope.clone(), holder: outbox.holder.clone() }))
                }
                _ => None,
            })
            .collect();
        due.sort_by_key(|(due_at, _)| *due_at);
        Ok(due.into_iter().take(limit).map(|(_, outbox)| outbox).collect())
    }

    async fn load_fixture(&self, fixture: &Fixture, mode: SeedMode) -> StoreResult<()> {
        let plan = seed::plan(fixture);
        let mut state = self.lock();
        for record in plan.records {
            if mode == SeedMode::KeepExisting && state.exists(record) {
                continue;
            }
            let guards = record.guards();
            if mode == SeedMode::KeepExisting {
                if let Some((guard, _)) =
                    guards.iter().find(|(g, owner)| state.guards.get(g).is_some_and(|o| o != owner))
                {
                    return Err(seed::held_elsewhere(record, guard));
                }
            }
            for stale in seed::released(state.previous_guards(record), &guards) {
                state.guards.remove(&stale);
            }
            state.guards.extend(guards);
            state.put(record);
        }
        state.last_entity_id = state.last_entity_id.max(plan.entity_counter_floor);
        Ok(())
    }
}
