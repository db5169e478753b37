//! The one table of client fields (docs/api.md#clients-update-params, docs/api.md#views): each
//! field's storage, how a request writes it and who may, and which views show it. Clients
//! Update's params, the writable fields, the role denials, the views and `Client::field` /
//! `Client::set_field` all come from it: a new client field is one row here (and one field of
//! `model::Client`).

use serde_json::Value;

use crate::model::{timestamp, Client};
use crate::params::{Kind, ParamSpec, MAX_STRING, MAX_TEXT};
use crate::view_names::ClientView::{self, *};

const STR: Kind = Kind::Str { max: MAX_STRING };
const TEXT: Kind = Kind::Text { max: MAX_TEXT };
const NEW_PASSWORD: Kind = Kind::Secret { min: 8, max: 128 };
const ANY_PASSWORD: Kind = Kind::Secret { min: 1, max: 128 };

/// Who may send a field, besides employees and applications (who may send every one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writers {
    /// Clients (their own record) and liaisons (their entities' clients).
    Everyone,
    /// Employees and applications only.
    Staff,
    /// Everyone but liaisons.
    NotLiaisons,
}

/// How a request sends a field.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    pub kind: Kind,
    /// `null` or `""` clears it.
    pub clearable: bool,
    pub writers: Writers,
    /// Accepted only with this other param.
    pub requires: Option<&'static str>,
}

/// One row of the table.
#[derive(Debug)]
pub struct ClientField {
    pub name: &'static str,
    /// `None`: the API never writes it.
    pub written: Option<Written>,
    /// Held in the client record (the two password params are not: they change the user).
    pub stored: bool,
    /// The views that show it, besides `client_read`, which shows every stored field.
    pub views: &'static [ClientView],
}

impl ClientField {
    /// A field of the record a request may change (not a password param).
    pub fn writable(&self) -> bool {
        self.stored && self.written.is_some()
    }

    /// Whether `view` shows it; `staff`: the caller is an employee or an application.
    pub fn shown_in(&self, view: ClientView, staff: bool) -> bool {
        let shown = self.stored && (view == ClientRead || self.views.contains(&view));
        shown && (staff || !STAFF_READ.contains(&self.name))
    }

    /// A password param: taken exactly, and never stored or logged as sent.
    pub fn is_secret(&self) -> bool {
        self.written.is_some_and(|w| matches!(w.kind, Kind::Secret { .. }))
    }

    pub fn denied_to_clients(&self) -> bool {
        self.written.is_some_and(|w| w.writers == Writers::Staff)
    }

    pub fn denied_to_liaisons(&self) -> bool {
        self.written.is_some_and(|w| w.writers != Writers::Everyone)
    }

    /// The row named `name`.
    pub fn named(name: &str) -> Option<&'static ClientField> {
        CLIENT_FIELDS.iter().find(|f| f.name == name)
    }
}

/// Fields that only employees and applications see, in any view.
const STAFF_READ: &[&str] = &["employee_notes"];

/// The rows, and `Client::field` / `Client::set_field` from the same list. Storage kinds:
/// `u64`, `id` (optional id), `str`, `opt` (optional string), `bool`, `list` (strings),
/// `time`, `none` (a param, not a record field).
macro_rules! client_fields {
    ($( $name:ident : $storage:ident $written:tt [$($view:ident)*] ),* $(,)?) => {
        pub const CLIENT_FIELDS: &[ClientField] = &[
            $( ClientField {
                name: stringify!($name),
                written: client_fields!(@written $written),
                stored: client_fields!(@stored $storage),
                views: &[$($view),*],
            } ),*
        ];

        impl Client {
            /// One field as JSON, by its API name (`None`: no such field).
            pub fn field(&self, name: &str) -> Option<Value> {
                match name {
                    $( stringify!($name) => client_fields!(@get $storage self, $name), )*
                    _ => None,
                }
            }

            /// Sets one writable field from a checked JSON value (`null` clears an optional one).
            pub fn set_field(&mut self, name: &str, value: &Value) -> Result<(), String> {
                match name {
                    $( stringify!($name) => client_fields!(@set $storage $written self, $name, value), )*
                    _ => Err(format!("'{name}' is not a client field")),
                }
            }
        }
    };
    (@written -) => { None };
    (@written ($kind:expr, $clearable:expr, $writers:ident $(, requires $other:ident)?)) => {
        Some(Written {
            kind: $kind,
            clearable: $clearable,
            writers: Writers::$writers,
            requires: client_fields!(@requires $($other)?),
        })
    };
    (@requires) => { None };
    (@requires $other:ident) => { Some(stringify!($other)) };
    (@stored none) => { false };
    (@stored $storage:ident) => { true };
    (@get none $c:ident, $f:ident) => { None };
    (@get id $c:ident, $f:ident) => { Some($c.$f.map_or(Value::Null, Value::from)) };
    (@get u64 $c:ident, $f:ident) => { Some(Value::from($c.$f)) };
    (@get str $c:ident, $f:ident) => { Some(Value::String($c.$f.clone())) };
    (@get opt $c:ident, $f:ident) => { Some($c.$f.clone().map_or(Value::Null, Value::String)) };
    (@get bool $c:ident, $f:ident) => { Some(Value::Bool($c.$f)) };
    (@get list $c:ident, $f:ident) => { Some(Value::from($c.$f.clone())) };
    (@get time $c:ident, $f:ident) => { Some(Value::String(timestamp::format($c.$f))) };
    // Only fields a request writes can be set.
    (@set $storage:ident - $c:ident, $f:ident, $v:ident) => { Err(format!("{} is not writable", stringify!($f))) };
    (@set none $w:tt $c:ident, $f:ident, $v:ident) => { Err(format!("{} is not a record field", stringify!($f))) };
    (@set str $w:tt $c:ident, $f:ident, $v:ident) => {{
        $c.$f = $v.as_str().ok_or_else(|| format!("{} must be a string", stringify!($f)))?.to_string();
        Ok(())
    }};
    (@set opt $w:tt $c:ident, $f:ident, $v:ident) => {{
        $c.$f = match $v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            _ => return Err(format!("{} must be a string or null", stringify!($f))),
        };
        Ok(())
    }};
    (@set bool $w:tt $c:ident, $f:ident, $v:ident) => {{
        $c.$f = $v.as_bool().ok_or_else(|| format!("{} must be a boolean", stringify!($f)))?;
        Ok(())
    }};
    (@set list $w:tt $c:ident, $f:ident, $v:ident) => {{
        $c.$f = match $v {
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("{} must be a list of strings", stringify!($f)))?,
            _ => return Err(format!("{} must be a list", stringify!($f))),
        };
        Ok(())
    }};
}

// In the documented param order (the order of `errors`), which is also the order of the keys
// in a view. `-`: never written through the API.
client_fields! {
    id: u64 - [Default Profile Tours Branding Preferences ContractType],
    user_id: id - [],
    first_name: str (STR, false, Everyone) [Default Profile],
    last_name: str (STR, false, Everyone) [Default Profile],
    email: str (Kind::Email, false, Everyone) [Default Profile],
    phone: opt (STR, true, Everyone) [Default Profile],
    password: none (NEW_PASSWORD, false, NotLiaisons) [],
    current_password: none (ANY_PASSWORD, false, Everyone, requires password) [],
    active: bool (Kind::Bool, true, Staff) [Default],
    contract_type: opt - [ContractType],
    entity_id: id - [Default ContractType],
    created_at: time - [Default],
    updated_at: time - [Default],
    assistant_first_name: opt (STR, true, Everyone) [Profile],
    assistant_last_name: opt (STR, true, Everyone) [Profile],
    assistant_phone: opt (STR, true, Everyone) [Profile],
    assistant_emails: list (Kind::EmailList, true, Everyone) [Preferences],
    additional_emails: list (Kind::EmailList, true, Everyone) [Preferences],
    employee_notes: opt (TEXT, true, Staff) [],
    realtor_license: opt (STR, true, Everyone) [Profile],
    bio: opt (TEXT, true, Everyone) [Profile],
    display_name: opt (STR, true, Everyone) [Tours],
    use_display_name: bool (Kind::Bool, true, Everyone) [Tours Preferences],
    display_email: opt (Kind::Email, true, Everyone) [Tours],
    use_display_email: bool (Kind::Bool, true, Everyone) [Tours Preferences],
    display_phone: opt (STR, true, Everyone) [Tours],
    use_display_phone: bool (Kind::Bool, true, Everyone) [Tours Preferences],
    branding_name: opt (STR, true, Everyone) [Branding],
    branding_website: opt (STR, true, Everyone) [Branding],
    branding_notes: opt (STR, true, Everyone) [Branding],
    branding_phone: opt (STR, true, Everyone) [Branding],
    branding_address: opt (STR, true, Everyone) [Branding],
    branding_address2: opt (STR, true, Everyone) [Branding],
    branding_city: opt (STR, true, Everyone) [Branding],
    branding_province_iso: opt (STR, true, Everyone) [Branding],
    branding_postal_code: opt (STR, true, Everyone) [Branding],
    use_parent_branding: bool (Kind::Bool, true, Everyone) [Branding Preferences],
}

/// How many rows a request may send.
pub const WRITTEN_COUNT: usize = {
    let (mut i, mut n) = (0, 0);
    while i < CLIENT_FIELDS.len() {
        if CLIENT_FIELDS[i].written.is_some() {
            n += 1;
        }
        i += 1;
    }
    n
};

/// `control` followed by the param of every row a request may send, in table order: a
/// compile-time list, so a route's params table stays a `&'static [ParamSpec]`.
pub const fn params_after<const N: usize>(control: &[ParamSpec]) -> [ParamSpec; N] {
    let mut out = [ParamSpec::optional("", Kind::Bool); N];
    let mut n = 0;
    while n < control.len() {
        out[n] = control[n];
        n += 1;
    }
    let mut i = 0;
    while i < CLIENT_FIELDS.len() {
        if let Some(w) = CLIENT_FIELDS[i].written {
            let name = CLIENT_FIELDS[i].name;
            out[n] = ParamSpec { name, kind: w.kind, required: false, clearable: w.clearable, requires: w.requires };
            n += 1;
        }
        i += 1;
    }
    assert!(n == N, "N must be the control params plus WRITTEN_COUNT");
    out
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
    fn the_table_covers_every_serialised_field_and_agrees_with_serde() {
        let c = client();
        let serialised = serde_json::to_value(&c).unwrap();
        let map = serialised.as_object().unwrap();
        for (key, value) in map {
            assert_eq!(c.field(key).as_ref(), Some(value), "{key}");
        }
        let stored: Vec<&str> = CLIENT_FIELDS.iter().filter(|f| f.stored).map(|f| f.name).collect();
        assert_eq!(stored.len(), map.len(), "every stored row is a serialised field: {stored:?}");
        assert_eq!(c.field("password"), None);
    }

    #[test]
    fn set_field_writes_writable_fields_only() {
        let mut c = client();
        c.set_field("phone", &Value::Null).unwrap();
        c.set_field("bio", &serde_json::json!("Bio")).unwrap();
        c.set_field("active", &serde_json::json!(false)).unwrap();
        c.set_field("additional_emails", &serde_json::json!(["q@r.io"])).unwrap();
        assert_eq!((c.phone.as_deref(), c.bio.as_deref(), c.active), (None, Some("Bio"), false));
        assert_eq!(c.additional_emails, ["q@r.io"]);
        assert!(c.set_field("id", &serde_json::json!(2)).is_err());
        assert!(c.set_field("created_at", &serde_json::json!("2026-01-01T00:00:00Z")).is_err());
        assert!(c.set_field("first_name", &Value::Null).is_err());
        assert!(c.set_field("password", &serde_json::json!("x")).is_err());
        assert!(c.set_field("nope", &serde_json::json!(1)).is_err());
    }

    #[test]
    fn staff_only_fields_are_denied_to_clients_and_liaisons_and_passwords_to_liaisons() {
        let denied = |pred: fn(&ClientField) -> bool| -> Vec<&str> {
            CLIENT_FIELDS.iter().filter(|f| pred(f)).map(|f| f.name).collect()
        };
        assert_eq!(denied(ClientField::denied_to_clients), ["active", "employee_notes"]);
        assert_eq!(denied(ClientField::denied_to_liaisons), ["password", "active", "employee_notes"]);
    }
}
