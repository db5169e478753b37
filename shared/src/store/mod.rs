//! The store seam: the operations the routes need, not a database's API (DESIGN point 7).
//!
//! Each write that must be atomic (a client update with its email move and password change, an
//! entity create with its id and unique keys) is one call, so every implementation can make it
//! one transaction.

pub mod memory;

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

use crate::fixture::Fixture;
use crate::model::{Actor, Address, Application, Client, Entity, RegistryRecord, Session, User};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or did not answer in time.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store answered with something this code cannot read.
    #[error("store returned an unreadable record: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A partial update of one client, applied atomically.
#[derive(Debug, Clone)]
pub struct ClientPatch {
    pub client_id: u64,
    /// `(field, value)` for each field sent; names are client fields of CONTRACT §7.
    pub fields: Vec<(&'static str, Value)>,
    pub password: Option<PasswordChange>,
    pub now: OffsetDateTime,
}

impl ClientPatch {
    pub fn new_email(&self) -> Option<&str> {
        self.fields.iter().find(|(f, _)| *f == "email").and_then(|(_, v)| v.as_str())
    }
}

/// A new password hash for a client's user; every session but `keep_session` is revoked.
#[derive(Debug, Clone)]
pub struct PasswordChange {
    pub user_id: u64,
    pub password_hash: String,
    /// The token hash of the caller's own session, which survives the change.
    pub keep_session: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    #[error("client not found")]
    ClientNotFound,
    #[error("email already taken")]
    EmailTaken,
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

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("integration not found")]
    IntegrationNotFound,
    #[error("unique value taken (slug: {slug_taken}, email: {email_taken})")]
    Taken { slug_taken: bool, email_taken: bool },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The route registry's records (CONTRACT §11).
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

#[async_trait]
pub trait Store: Send + Sync {
    async fn session(&self, token_hash: &str) -> StoreResult<Option<Session>>;
    /// Moves `last_used_at` forward to `now` (never backward).
    async fn touch_session(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<()>;
    async fn application(&self, token_hash: &str) -> StoreResult<Option<Application>>;
    async fn user(&self, id: u64) -> StoreResult<Option<User>>;

    async fn client(&self, id: u64) -> StoreResult<Option<Client>>;
    /// Applies the patch atomically: only the listed fields change, the email's uniqueness
    /// guard moves with it, and a password change revokes the user's other sessions.
    async fn update_client(&self, patch: &ClientPatch) -> Result<Client, PatchError>;

    async fn entity(&self, id: u64) -> StoreResult<Option<Entity>>;
    /// Allocates the next entity id and writes the entity with its unique slug and email.
    async fn create_entity(&self, draft: &EntityDraft) -> Result<Entity, CreateError>;

    async fn registry(&self) -> StoreResult<RegistrySnapshot>;
    /// Writes one registry record; with `only_if_missing`, an existing record is left as it is.
    /// Returns whether it wrote.
    async fn put_registry_record(&self, kind: RecordKind, record: &RegistryRecord, only_if_missing: bool) -> StoreResult<bool>;

    /// Writes a checked fixture (CONTRACT §12); loading the same fixture twice is harmless.
    async fn load_fixture(&self, fixture: &Fixture) -> StoreResult<()>;
}
