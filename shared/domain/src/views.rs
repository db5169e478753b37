//! Views: which fields of a record a response shows (docs/api.md#views).

use serde_json::{json, Map, Value};

use crate::client_fields::{ClientField, CLIENT_FIELDS};
use crate::credentials::expires_at;
use crate::model::{timestamp, Application, Client, Entity, Session, User};
pub use crate::view_names::{ApplicationView, ClientView, EntityView, SessionView, ViewName};

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

fn as_map<T: serde::Serialize>(record: &T) -> Map<String, Value> {
    match serde_json::to_value(record) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The client in `view` (fields from the table in `client_fields`). `staff` (employees and
/// applications) also see employee notes; `entity` is the client's entity, read only for the
/// branding view.
pub fn client_view(client: &Client, view: ClientView, staff: bool, entity: Option<&Entity>) -> Value {
    let mut out: Map<String, Value> = if view == ClientView::ClientRead {
        // Every field, in the record's own order.
        let mut all = as_map(client);
        all.retain(|name, _| ClientField::named(name).is_some_and(|f| f.shown_in(view, staff)));
        all
    } else {
        CLIENT_FIELDS
            .iter()
            .filter(|f| f.shown_in(view, staff))
            .map(|f| (f.name.to_string(), client.field(f.name).unwrap_or(Value::Null)))
            .collect()
    };
    match view {
        ClientView::Tours => {
            out.insert("tour_contact".into(), tour_contact(client));
        }
        ClientView::Branding => {
            out.insert("branding".into(), branding(client, entity));
        }
        _ => {}
    }
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

/// The entity in `view`.
pub fn entity_view(entity: &Entity, view: EntityView) -> Value {
    let e = entity;
    let address = || serde_json::to_value(&e.address).unwrap_or(Value::Null);
    match view {
        EntityView::Profile => json!({
            "id": e.id, "name": e.name, "email": e.email, "entity_slug": e.entity_slug, "address": address(),
            "active": e.active,
        }),
        EntityView::Preferences => json!({
            "id": e.id, "operational_transaction_emails": e.operational_transaction_emails,
            "order_completion_emails": e.order_completion_emails,
        }),
        EntityView::Entity | EntityView::AdminRead => {
            let mut out = json!({
                "id": e.id, "integration_id": e.integration_id, "entity_slug": e.entity_slug, "email": e.email,
                "name": e.name, "address": address(),
                "operational_transaction_emails": e.operational_transaction_emails,
                "order_completion_emails": e.order_completion_emails, "active": e.active,
                "created_at": timestamp::format(e.created_at), "updated_at": timestamp::format(e.updated_at),
            });
            if view == EntityView::AdminRead {
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

    #[test]
    fn views_list_their_keys_in_the_documented_order() {
        let fx = fixture::parse(
            r#"{"clients":[{"id":1,"entity_id":4,"first_name":"A","last_name":"B","email":"a@b.co"}]}"#,
            datetime!(2026-01-01 0:00 UTC),
        )
        .unwrap();
        let keys = |view, staff| -> Vec<String> {
            client_view(&fx.clients[0], view, staff, None).as_object().unwrap().keys().cloned().collect()
        };
        let default =
            ["id", "first_name", "last_name", "email", "phone", "active", "entity_id", "created_at", "updated_at"];
        assert_eq!(keys(ClientView::Default, false), default);
        let profile = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "assistant_first_name",
            "assistant_last_name",
            "assistant_phone",
            "realtor_license",
            "bio",
        ];
        assert_eq!(keys(ClientView::Profile, false), profile);
        assert_eq!(keys(ClientView::ContractType, false), ["id", "contract_type", "entity_id"]);
        let record: Vec<String> = as_map(&fx.clients[0]).keys().cloned().collect();
        assert_eq!(keys(ClientView::ClientRead, true), record, "client_read: the record's order");
        let without_notes: Vec<String> = record.into_iter().filter(|k| k != "employee_notes").collect();
        assert_eq!(keys(ClientView::ClientRead, false), without_notes);
    }

    #[test]
    fn view_names_round_trip() {
        for view in ClientView::ALL {
            assert_eq!(ClientView::from_name(view.as_str()), Some(*view));
        }
        assert_eq!(EntityView::NAMES.len(), EntityView::ALL.len());
        assert_eq!(ClientView::from_name("nope"), None);
    }
    use time::macros::datetime;

    #[test]
    fn parent_branding_without_an_entity_falls_back_to_the_client() {
        let fx = fixture::parse(
            r#"{"clients":[{"id":1,"entity_id":404,"first_name":"A","last_name":"B","email":"a@b.co",
                "use_parent_branding":true,"branding_name":"Own Brand"}]}"#,
            datetime!(2026-01-01 0:00 UTC),
        )
        .unwrap();
        let v = client_view(&fx.clients[0], ClientView::Branding, false, None);
        assert_eq!(v["branding"]["source"], "client");
        assert_eq!(v["branding"]["name"], "Own Brand");
    }
}
