//! The records the API reads and writes, as every store holds them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// RFC 3339 UTC to the second (`2026-11-23T00:53:48Z`), the one timestamp format of the API.
pub mod timestamp {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    pub fn format(t: OffsetDateTime) -> String {
        let t = t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t);
        t.format(&Rfc3339).unwrap_or_default()
    }

    pub fn parse(s: &str) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(s, &Rfc3339).ok()
    }

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).ok_or_else(|| serde::de::Error::custom("not an RFC 3339 timestamp"))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Integration {
    pub id: u64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: u64,
    pub name: String,
    pub slug: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    pub active: bool,
    pub permissions: Vec<String>,
    pub integration_ids: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub client_id: Option<u64>,
    pub employee_id: Option<u64>,
    pub liaison_id: Option<u64>,
    pub liaison_entity_ids: Vec<u64>,
    /// Argon2id PHC string; never leaves the store except to be verified.
    pub password_hash: Option<String>,
    /// The last password change's cut through the user's sessions; absent before any change.
    #[serde(default)]
    pub revocation: Option<Revocation>,
}

/// Written with the password hash in one store write: the user's sessions created at or before
/// `sessions_valid_after` are revoked, except `kept_session`, the session that made the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    #[serde(with = "timestamp")]
    pub sessions_valid_after: OffsetDateTime,
    /// SHA-256 of the kept session's token, hex.
    pub kept_session: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// SHA-256 of the token, hex: the session's key.
    pub token_hash: String,
    pub user_id: u64,
    #[serde(with = "timestamp")]
    pub created_at: OffsetDateTime,
    #[serde(with = "timestamp")]
    pub last_used_at: OffsetDateTime,
    pub remember_me: bool,
}

/// A client (a realtor). Field names are the API's; `Serialize` gives every client field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    pub id: u64,
    pub user_id: Option<u64>,
    pub entity_id: Option<u64>,
    pub contract_type: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub active: bool,
    pub assistant_first_name: Option<String>,
    pub assistant_last_name: Option<String>,
    pub assistant_phone: Option<String>,
    pub assistant_emails: Vec<String>,
    pub additional_emails: Vec<String>,
    pub employee_notes: Option<String>,
    pub realtor_license: Option<String>,
    pub bio: Option<String>,
    pub display_name: Option<String>,
    pub use_display_name: bool,
    pub display_email: Option<String>,
    pub use_display_email: bool,
    pub display_phone: Option<String>,
    pub use_display_phone: bool,
    pub branding_name: Option<String>,
    pub branding_website: Option<String>,
    pub branding_notes: Option<String>,
    pub branding_phone: Option<String>,
    pub branding_address: Option<String>,
    pub branding_address2: Option<String>,
    pub branding_city: Option<String>,
    pub branding_province_iso: Option<String>,
    pub branding_postal_code: Option<String>,
    pub use_parent_branding: bool,
    #[serde(with = "timestamp")]
    pub created_at: OffsetDateTime,
    #[serde(with = "timestamp")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Address {
    pub street: Option<String>,
    pub street2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub postal_code: Option<String>,
    pub service_area: Option<String>,
}

/// Who created a record: `{"kind": "user"|"application", "id": N}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    User,
    Application,
}

impl ActorKind {
    /// As serialised (`user`, `application`), for keys and log lines.
    pub fn name(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Application => "application",
        }
    }
}

/// An entity (a company or brokerage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub id: u64,
    pub integration_id: u64,
    pub entity_slug: String,
    pub email: String,
    pub name: String,
    pub address: Address,
    pub operational_transaction_emails: Vec<String>,
    pub order_completion_emails: Vec<String>,
    pub active: bool,
    #[serde(with = "timestamp")]
    pub created_at: OffsetDateTime,
    #[serde(with = "timestamp")]
    pub updated_at: OffsetDateTime,
    pub created_by: Option<Actor>,
}

/// A route or service record of the registry (docs/api.md#route-registry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryRecord {
    pub name: String,
    pub deployed: bool,
}
