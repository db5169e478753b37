//! Views: which fields of a record a response shows (docs/api.md#views).

use serde_json::{json, Map, Value};

use crate::auth::expires_at;
use crate::model::{timestamp, Application, Client, Entity, Session, User};

pub const SESSION_VIEWS: &[&str] = &["default"];
pub const APPLICATION_VIEWS: &[&str] = &["default"];

pub const CLIENT_VIEWS: &[&str] = &[
    "default",
    "client_read",
    "planox_client_read_profile",
    "planox_client_read_tours",
    "planox_client_read_branding",
    "planox_client_read_preferences",
    "contract_type_view",
];

pub const ENTITY_VIEWS: &[&str] =
    &["entity_view", "planox_company_read_profile", "planox_company_read_preferences", "planoadmin_company_read"];

/// `session_view=default` (docs/api.md#session-and-application-views): never the token or its hash.
pub fn session_view(session: &Session, user: &User) -> Value {
    json!({
        "user_id": session.user_id,
        "remember_me": session.remember_me,
        "created_at": timestamp::format(session.created_at),
        "last_used_at": timestamp::format(session.last_used_at),
        "expires_at": expires_at(session).map(timestamp::format),
        "roles": {
            "client_id": user.client_id,
            "employee_id": user.employee_id,
            "liaison_id": user.liaison_id,
        },
    })
}

/// `application_view=default` (docs/api.md#session-and-application-views).
pub fn application_view(app: &Application) -> Value {
    json!({
        "id": app.id,
        "name": app.name,
        "slug": app.slug,
        "permissions": app.permissions,
        "integration_ids": app.integration_ids,
    })
}

fn pick_client(client: &Client, fields: &[&str]) -> Map<String, Value> {
    fields.iter().map(|f| (f.to_string(), client.field(f).unwrap_or(Value::Null))).collect()
}

fn as_map<T: serde::Serialize>(record: &T) -> Map<String, Value> {
    match serde_json::to_value(record) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

const DISPLAY_FIELDS: &[&str] =
    &["display_name", "use_display_name", "display_email", "use_display_email", "display_phone", "use_display_phone"];
const BRANDING_FIELDS: &[&str] = &[
    "branding_name",
    "branding_website",
    "branding_notes",
    "branding_phone",
    "branding_address",
    "branding_address2",
    "branding_city",
    "branding_province_iso",
    "branding_postal_code",
    "use_parent_branding",
];

/// The client in `view`. `show_employee_notes` is true for employees and applications;
/// `entity` is the client's entity, needed only by the branding view.
pub fn client_view(client: &Client, view: &str, show_employee_notes: bool, entity: Option<&Entity>) -> Value {
    let out = match view {
        "client_read" => {
            let mut m = as_map(client);
            if !show_employee_notes {
                m.remove("employee_notes");
            }
            m
        }
        "planox_client_read_profile" => pick_client(
            client,
            &[
                "id",
                "first_name",
                "last_name",
                "email",
                "phone",
                "realtor_license",
                "bio",
                "assistant_first_name",
                "assistant_last_name",
                "assistant_phone",
            ],
        ),
        "planox_client_read_tours" => {
            let mut m = pick_client(client, &["id"]);
            m.extend(pick_client(client, DISPLAY_FIELDS));
            m.insert("tour_contact".into(), tour_contact(client));
            m
        }
        "planox_client_read_branding" => {
            let mut m = pick_client(client, &["id"]);
            m.extend(pick_client(client, BRANDING_FIELDS));
            m.insert("branding".into(), branding(client, entity));
            m
        }
        "planox_client_read_preferences" => pick_client(
            client,
            &[
                "id",
                "assistant_emails",
                "additional_emails",
                "use_display_name",
                "use_display_email",
                "use_display_phone",
                "use_parent_branding",
            ],
        ),
        "contract_type_view" => pick_client(client, &["id", "contract_type", "entity_id"]),
        _ => pick_client(
            client,
            &["id", "first_name", "last_name", "email", "phone", "active", "entity_id", "created_at", "updated_at"],
        ),
    };
    Value::Object(out)
}

/// The display value when its flag is on and it is non-empty, else the client's own.
fn tour_contact(c: &Client) -> Value {
    fn chosen(flag: bool, display: &Option<String>, own: Option<String>) -> Option<String> {
        match display {
            Some(d) if flag && !d.is_empty() => Some(d.clone()),
            _ => own,
        }
    }
    json!({
        "name": chosen(c.use_display_name, &c.display_name, Some(format!("{} {}", c.first_name, c.last_name))),
        "email": chosen(c.use_display_email, &c.display_email, Some(c.email.clone())),
        "phone": chosen(c.use_display_phone, &c.display_phone, c.phone.clone()),
    })
}

fn branding(c: &Client, entity: Option<&Entity>) -> Value {
    match entity {
        Some(e) if c.use_parent_branding => json!({
            "source": "entity",
            "name": e.name,
            "website": null,
            "notes": null,
            "phone": null,
            "address": e.address.street,
            "address2": e.address.street2,
            "city": e.address.city,
            "province_iso": e.address.state,
            "postal_code": e.address.postal_code,
        }),
        _ => json!({
            "source": "client",
            "name": c.branding_name,
            "website": c.branding_website,
            "notes": c.branding_notes,
            "phone": c.branding_phone,
            "address": c.branding_address,
            "address2": c.branding_address2,
            "city": c.branding_city,
            "province_iso": c.branding_province_iso,
            "postal_code": c.branding_postal_code,
        }),
    }
}

/// The entity in `view` (default `entity_view`).
pub fn entity_view(entity: &Entity, view: &str) -> Value {
    let e = entity;
    let address = || serde_json::to_value(&e.address).unwrap_or(Value::Null);
    match view {
        "planox_company_read_profile" => json!({
            "id": e.id, "name": e.name, "email": e.email, "entity_slug": e.entity_slug, "address": address(),
            "active": e.active,
        }),
        "planox_company_read_preferences" => json!({
            "id": e.id, "operational_transaction_emails": e.operational_transaction_emails,
            "order_completion_emails": e.order_completion_emails,
        }),
        _ => {
            let mut out = json!({
                "id": e.id, "integration_id": e.integration_id, "entity_slug": e.entity_slug, "email": e.email,
                "name": e.name, "address": address(), "operational_transaction_emails": e.operational_transaction_emails,
                "order_completion_emails": e.order_completion_emails, "active": e.active,
                "created_at": timestamp::format(e.created_at), "updated_at": timestamp::format(e.updated_at),
            });
            if view == "planoadmin_company_read" {
                out["created_by"] = serde_json::to_value(e.created_by).unwrap_or(Value::Null);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use time::macros::datetime;

    #[test]
    fn parent_branding_without_an_entity_falls_back_to_the_client() {
        let fx = fixture::parse(
            r#"{"clients":[{"id":1,"entity_id":404,"first_name":"A","last_name":"B","email":"a@b.co",
                "use_parent_branding":true,"branding_name":"Own Brand"}]}"#,
            datetime!(2026-01-01 0:00 UTC),
        )
        .unwrap();
        let v = client_view(&fx.clients[0], "planox_client_read_branding", false, None);
        assert_eq!(v["branding"]["source"], "client");
        assert_eq!(v["branding"]["name"], "Own Brand");
    }
}
