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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    User,
    Application,
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

/// How a client field is held, for reading and writing it by its API name.
macro_rules! client_field_access {
    ($( $kind:ident $name:ident ),* $(,)?) => {
        impl Client {
            /// One field as JSON, by its API name (`None`: no such field).
            pub fn field(&self, name: &str) -> Option<serde_json::Value> {
                use serde_json::Value;
                Some(match name {
                    $( stringify!($name) => client_field_access!(@get $kind self.$name), )*
                    _ => return None,
                })
            }

            /// Sets one writable field from a checked JSON value (`null` clears an optional one).
            pub fn set_field(&mut self, name: &str, value: &serde_json::Value) -> Result<(), String> {
                use serde_json::Value;
                match name {
                    $( stringify!($name) => client_field_access!(@set $kind self.$name, value, name), )*
                    _ => return Err(format!("'{name}' is not a client field")),
                }
                #[allow(unreachable_code)]
                Ok(())
            }
        }
    };
    (@get id $f:expr) => { $f.map_or(Value::Null, Value::from) };
    (@get u64 $f:expr) => { Value::from($f) };
    (@get str $f:expr) => { Value::String($f.clone()) };
    (@get opt $f:expr) => { $f.clone().map_or(Value::Null, Value::String) };
    (@get bool $f:expr) => { Value::Bool($f) };
    (@get list $f:expr) => { Value::from($f.clone()) };
    (@get time $f:expr) => { Value::String(timestamp::format($f)) };
    (@set str $f:expr, $v:expr, $n:expr) => { $f = $v.as_str().ok_or_else(|| format!("{} must be a string", $n))?.to_string() };
    (@set opt $f:expr, $v:expr, $n:expr) => {
        $f = match $v { Value::Null => None, Value::String(s) => Some(s.clone()), _ => return Err(format!("{} must be a string or null", $n)) }
    };
    (@set bool $f:expr, $v:expr, $n:expr) => { $f = $v.as_bool().ok_or_else(|| format!("{} must be a boolean", $n))? };
    (@set list $f:expr, $v:expr, $n:expr) => {
        $f = match $v {
            Value::Array(items) => items.iter().map(|i| i.as_str().map(str::to_string)).collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("{} must be a list of strings", $n))?,
            _ => return Err(format!("{} must be a list", $n)),
        }
    };
    // Ids and timestamps are never written through a patch.
    (@set $kind:ident $f:expr, $v:expr, $n:expr) => { return Err(format!("{} is not writable", $n)) };
}

client_field_access! {
    u64 id, id user_id, id entity_id, opt contract_type, str first_name, str last_name, str email, opt phone,
    bool active, opt assistant_first_name, opt assistant_last_name, opt assistant_phone, list assistant_emails,
    list additional_emails, opt employee_notes, opt realtor_license, opt bio, opt display_name, bool use_display_name,
    opt display_email, bool use_display_email, opt display_phone, bool use_display_phone, opt branding_name,
    opt branding_website, opt branding_notes, opt branding_phone, opt branding_address, opt branding_address2,
    opt branding_city, opt branding_province_iso, opt branding_postal_code, bool use_parent_branding,
    time created_at, time updated_at,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        let fx = crate::fixture::parse(
            r#"{"clients":[{"id":1,"user_id":null,"entity_id":4,"first_name":"A","last_name":"B","email":"a@b.co",
                "phone":"1","assistant_emails":["x@y.io"],"use_display_name":true}]}"#,
            time::macros::datetime!(2026-01-01 0:00 UTC),
        )
        .unwrap();
        fx.clients[0].clone()
    }

    #[test]
    fn field_access_covers_every_serialised_field_and_agrees_with_serde() {
        let c = client();
        let serialised = serde_json::to_value(&c).unwrap();
        let map = serialised.as_object().unwrap();
        for (key, value) in map {
            assert_eq!(c.field(key).as_ref(), Some(value), "{key}");
        }
        assert_eq!(c.field("password"), None);
    }

    #[test]
    fn set_field_writes_writable_fields_only() {
        let mut c = client();
        c.set_field("phone", &serde_json::Value::Null).unwrap();
        c.set_field("bio", &serde_json::json!("Bio")).unwrap();
        c.set_field("active", &serde_json::json!(false)).unwrap();
        c.set_field("additional_emails", &serde_json::json!(["q@r.io"])).unwrap();
        assert_eq!((c.phone.as_deref(), c.bio.as_deref(), c.active), (None, Some("Bio"), false));
        assert_eq!(c.additional_emails, ["q@r.io"]);
        assert!(c.set_field("id", &serde_json::json!(2)).is_err());
        assert!(c.set_field("created_at", &serde_json::json!("2026-01-01T00:00:00Z")).is_err());
        assert!(c.set_field("first_name", &serde_json::Value::Null).is_err());
        assert!(c.set_field("nope", &serde_json::json!(1)).is_err());
    }
}
