//! The store seam: the operations the routes need, not a database's API.
//!
//! Each write that must be atomic (a client update with its email move and password change, an
//! entity create with its id and unique keys) is one call, so every implementation can make it
//! one transaction.

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

use domain::client_fields::ClientField;
use domain::email::Email;
use domain::fixture::Fixture;
use domain::model::{Actor, Address, Application, Client, Entity, RegistryRecord, Session, User};

use crate::attempts::PasswordAttempt;
use crate::error::{StoreError, StoreResult};
use crate::idempotency::{Claim, DueOutbox, KeyClaim, KeyCommit, KeyScope, StoredAnswer};

/// A partial update of one client, applied atomically.
#[derive(Debug, Clone)]
pub struct ClientPatch {
    pub client_id: u64,
    /// A new email: its uniqueness guard moves with it.
    pub email: Option<String>,
    /// Every other field sent, each a writable row of the client-field table, with its checked value.
    pub fields: Vec<(&'static ClientField, Value)>,
    pub password: Option<PasswordChange>,
    pub now: OffsetDateTime,
}

impl ClientPatch {
    pub fn new_email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// Every field the patch sets, the email included, by name.
    pub fn sets(&self) -> impl Iterator<Item = (&'static str, Value)> + '_ {
        let email = self.email.iter().map(|e| (EMAIL_FIELD, Value::String(e.clone())));
        email.chain(self.fields.iter().map(|(field, value)| (field.name, value.clone())))
    }

    /// `client` with the patch's fields and `updated_at` applied.
    pub fn apply_to(&self, client: &Client) -> StoreResult<Client> {
        let mut updated = client.clone();
        for (field, value) in self.sets() {
            updated.set_field(field, &value).map_err(|e| StoreError::Corrupt(format!("client patch: {e}").into()))?;
        }
        updated.updated_at = self.now;
        Ok(updated)
    }
}

/// The client field whose value is unique across clients.
pub const EMAIL_FIELD: &str = "email";

/// A new password hash for a client's user, written with a [`Revocation`](crate::model::Revocation)
/// at the patch's `now`: every session of the user but `keep_session` is revoked.
#[derive(Debug, Clone)]
pub struct PasswordChange {
    pub user_id: u64,
    pub password_hash: String,
    /// The token hash of the caller's own session, which survives the change.
    pub keep_session: Option<String>,
    /// The hash `current_password` was checked against: if the user's hash is no longer this
    /// one, nothing is written (`PatchError::PasswordChanged`).
    pub checked_hash: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    #[error("client not found")]
    ClientNotFound,
    #[error("email already taken")]
    EmailTaken,
    /// The user's password changed after `current_password` was checked.
    #[error("password changed since it was checked")]
    PasswordChanged,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new entity before it has an id.
#[derive(Debug, Clone)]
pub struct EntityDraft {
    pub integration_id: u64,
    pub entity_slug: String,
    pub email: String,
    pub name: String,
    pub address: Address,
    pub operational_transaction_emails: Vec<String>,
    pub order_completion_emails: Vec<String>,
    pub active: bool,
    pub created_by: Actor,
    pub now: OffsetDateTime,
}

impl EntityDraft {
    /// The entity this draft becomes under `id`.
    pub fn to_entity(&self, id: u64) -> Entity {
        Entity {
            id,
            integration_id: self.integration_id,
            entity_slug: self.entity_slug.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            address: self.address.clone(),
            operational_transaction_emails: self.operational_transaction_emails.clone(),
            order_completion_emails: self.order_completion_emails.clone(),
            active: self.active,
            created_at: self.now,
            updated_at: self.now,
            created_by: Some(self.created_by),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("integration not found")]
    IntegrationNotFound,
    #[error("unique value taken (slug: {slug_taken}, email: {email_taken})")]
    Taken { slug_taken: bool, email_taken: bool },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The route registry's records (docs/api.md#route-registry).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegistrySnapshot {
    pub routes: Vec<RegistryRecord>,
    pub services: Vec<RegistryRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Route,
    Service,
}

/// What a token belongs to: sessions and applications share one lookup.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenOwner {
    Session(Session),
    Application(Application),
}

/// Which clients a caller may see (docs/api.md#permissions), checked inside the update itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientScope {
    pub any: bool,
    /// The caller's own client.
    pub own_client: Option<u64>,
    /// Clients of these entities (a liaison's).
    pub entity_ids: Vec<u64>,
}

impl ClientScope {
    pub const ANY: ClientScope = ClientScope { any: true, own_client: None, entity_ids: Vec::new() };

    pub fn allows(&self, client: &Client) -> bool {
        self.any || self.own_client == Some(client.id) || client.entity_id.is_some_and(|e| self.entity_ids.contains(&e))
    }
}

/// A client as read for an update, with the revision the update's transaction is conditioned on.
#[derive(Debug, Clone)]
pub struct ClientRead {
    pub client: Client,
    pub revision: u64,
}

/// A client after an update, with its email before it (for the change notification).
#[derive(Debug, Clone)]
pub struct UpdatedClient {
    pub client: Client,
    pub previous_email: String,
}

#[async_trait]
pub trait Store: Send + Sync {
    async fn token(&self, token_hash: &str) -> StoreResult<Option<TokenOwner>>;
    /// Moves a session's `last_used_at` forward to `now` (never backward).
    async fn touch_session(&self, session: &Session, now: OffsetDateTime) -> StoreResult<()>;
    async fn user(&self, id: u64) -> StoreResult<Option<User>>;

    async fn client(&self, id: u64) -> StoreResult<Option<Client>>;
    /// Reads a client ahead of an update that moves its email, so that the call can overlap
    /// others (the caller's authentication); `None` from a store that reads inside the update.
    async fn read_client_for_update(&self, id: u64) -> StoreResult<Option<ClientRead>>;
    /// Applies the patch atomically to a client in `scope` (else `ClientNotFound`): only the
    /// listed fields change, the email's uniqueness guard moves with it, and a password change
    /// writes the hash and the revocation of the user's other sessions together. With `key`,
    /// the key's answer is written in the same transaction (else nothing is written). `read`
    /// (from [`Store::read_client_for_update`]) stands for the store's own first read, its
    /// scope checked the same way.
    async fn update_client_from(
        &self,
        patch: &ClientPatch,
        scope: &ClientScope,
        read: Option<ClientRead>,
        key: Option<&KeyCommit<'_, UpdatedClient>>,
    ) -> Result<UpdatedClient, PatchError>;

    /// Counts one check of `user_id`'s `current_password` at `now`, atomically (concurrent checks
    /// each count): the first [`PASSWORD_ATTEMPTS`] of a window are allowed, later ones locked.
    async fn begin_password_attempt(&self, user_id: u64, now: OffsetDateTime) -> StoreResult<PasswordAttempt>;
    /// Forgets `user_id`'s counted checks (after a right `current_password`).
    async fn clear_password_attempts(&self, user_id: u64) -> StoreResult<()>;

    async fn entity(&self, id: u64) -> StoreResult<Option<Entity>>;
    /// Takes the next entity id ahead of a create, so that the call can overlap others (the
    /// caller's authentication); `None` from a store that allocates inside the create. An id
    /// taken and then not used is a gap: ids never repeat.
    async fn reserve_entity_id(&self) -> StoreResult<Option<u64>>;
    /// Writes the entity with its unique slug and email, and with `key` the key's answer, in one
    /// transaction, under `reserved` (from [`Store::reserve_entity_id`]) or, without it or when
    /// that id is taken, the next id allocated.
    async fn create_entity_from(
        &self,
        draft: &EntityDraft,
        reserved: Option<u64>,
        key: Option<&KeyCommit<'_, Entity>>,
    ) -> Result<Entity, CreateError>;

    async fn registry(&self) -> StoreResult<RegistrySnapshot>;
    /// Writes one registry record; with `only_if_missing`, an existing record is left as it is.
    /// Returns whether it wrote.
    async fn put_registry_record(
        &self,
        kind: RecordKind,
        record: &RegistryRecord,
        only_if_missing: bool,
    ) -> StoreResult<bool>;

    /// Claims `key` for one request, atomically: written unless a record that has not expired
    /// at `claim.at` holds it, which is returned instead.
    async fn claim_key(&self, key: &KeyScope, claim: &KeyClaim) -> StoreResult<Claim>;
    /// Replaces the claim `claim_id` with the request's answer; `false` (nothing written) if the
    /// key is no longer held by that claim.
    async fn complete_key(&self, key: &KeyScope, claim_id: &str, answer: &StoredAnswer) -> StoreResult<bool>;
    /// Frees the key from the claim `claim_id` (if it still holds it), as of `now`.
    async fn release_key(&self, key: &KeyScope, claim_id: &str, now: OffsetDateTime) -> StoreResult<()>;
    /// Gives the outbox held by `holder` to `to`, due at `due_at`: its emails, now `to`'s to
    /// send; `None` if `holder` no longer holds one.
    async fn hand_over_outbox(
        &self,
        key: &KeyScope,
        holder: &str,
        to: &str,
        due_at: OffsetDateTime,
    ) -> StoreResult<Option<Vec<Email>>>;
    /// Removes the outbox held by `holder` (its emails were sent, or their failure answered),
    /// with `answer` the kept answer replaced; `false` if `holder` no longer holds one.
    async fn settle_outbox(&self, key: &KeyScope, holder: &str, answer: Option<&StoredAnswer>) -> StoreResult<bool>;
    /// Up to `limit` outboxes due at or before `due_by`, the longest due first, for a sweep
    /// (docs/api.md#idempotency). It may be a moment out of date: each is handed over on its
    /// holder's condition before it is sent.
    async fn due_outboxes(&self, due_by: OffsetDateTime, limit: usize) -> StoreResult<Vec<DueOutbox>>;

    /// Writes a checked fixture (docs/api.md#fixture-format); loading the same fixture twice is
    /// harmless.
    async fn load_fixture(&self, fixture: &Fixture, mode: crate::seed::SeedMode) -> StoreResult<()>;
}
