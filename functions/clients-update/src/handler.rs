//! `PUT /api/v1/clients/update` (docs/api.md#clients-update, docs/api.md#permissions): stages
//! 11–19 of docs/api.md#stages for a client's partial update.

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use serde_json::Value;
use shared::auth::{hash_password, verify_password, Caller};
use shared::model::{Client, User};
use shared::notify::{self, Email};
use shared::params::{self, Kind, ParamSpec, Params, MAX_STRING, MAX_TEXT};
use shared::store::{ClientPatch, ClientScope, PasswordChange, PatchError, UpdatedClient};
use shared::views::{client_view, APPLICATION_VIEWS, CLIENT_VIEWS, SESSION_VIEWS};
use shared::{Context, Outcome, ParamError, RouteId, RouteResult, Status};

const STR: Kind = Kind::Str { max: MAX_STRING };
const TEXT: Kind = Kind::Text { max: MAX_TEXT };

/// The params, in the order of docs/api.md#clients-update-params (the order of `errors`).
pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::required("token", Kind::Token),
    ParamSpec::optional("view", Kind::View(CLIENT_VIEWS)),
    ParamSpec::required("id", Kind::Integer),
    ParamSpec::optional("session_view", Kind::View(SESSION_VIEWS)),
    ParamSpec::optional("application_view", Kind::View(APPLICATION_VIEWS)),
    ParamSpec::unclearable("first_name", STR),
    ParamSpec::unclearable("last_name", STR),
    ParamSpec::unclearable("email", Kind::Email),
    ParamSpec::optional("phone", STR),
    ParamSpec::unclearable("password", Kind::Secret { min: 8, max: 128 }),
    ParamSpec::unclearable("current_password", Kind::Secret { min: 1, max: 128 }),
    ParamSpec::optional("active", Kind::Bool),
    ParamSpec::optional("assistant_first_name", STR),
    ParamSpec::optional("assistant_last_name", STR),
    ParamSpec::optional("assistant_phone", STR),
    ParamSpec::optional("assistant_emails", Kind::EmailList),
    ParamSpec::optional("additional_emails", Kind::EmailList),
    ParamSpec::optional("employee_notes", TEXT),
    ParamSpec::optional("realtor_license", STR),
    ParamSpec::optional("bio", TEXT),
    ParamSpec::optional("display_name", STR),
    ParamSpec::optional("use_display_name", Kind::Bool),
    ParamSpec::optional("display_email", Kind::Email),
    ParamSpec::optional("use_display_email", Kind::Bool),
    ParamSpec::optional("display_phone", STR),
    ParamSpec::optional("use_display_phone", Kind::Bool),
    ParamSpec::optional("branding_name", STR),
    ParamSpec::optional("branding_website", STR),
    ParamSpec::optional("branding_notes", STR),
    ParamSpec::optional("branding_phone", STR),
    ParamSpec::optional("branding_address", STR),
    ParamSpec::optional("branding_address2", STR),
    ParamSpec::optional("branding_city", STR),
    ParamSpec::optional("branding_province_iso", STR),
    ParamSpec::optional("branding_postal_code", STR),
    ParamSpec::optional("use_parent_branding", Kind::Bool),
];

/// Params that choose the request's shape rather than a client field.
const CONTROL_PARAMS: &[&str] = &["token", "view", "id", "session_view", "application_view", "password", "current_password"];

/// Params a role may not write (docs/api.md#permissions); employees and applications may write
/// every param.
const LIAISON_DENIED: &[&str] = &["employee_notes", "active", "password"];
const CLIENT_DENIED: &[&str] = &["employee_notes", "active"];

const NO_SUCH_CLIENT: &str = "No client with this id exists.";

pub fn route(ctx: Context<'_>) -> BoxFuture<'_, RouteResult> {
    update(ctx).boxed()
}

async fn update(ctx: Context<'_>) -> RouteResult {
    let params = match params::read(PARAMS, ctx.body) {
        Ok(p) => p,
        Err(outcome) => return Ok(outcome),
    };
    if params.contains("current_password") && !params.contains("password") {
        return Ok(Outcome::param(Status::InvalidParam, "current_password", "This param is accepted only with 'password'."));
    }
    // Stage 14: every role may use the route; an application needs the permission.
    if ctx.caller.application().is_some() && !ctx.caller.application_may(RouteId::ClientsUpdate.name()) {
        return Ok(Outcome::param(Status::PermissionDenied, "token", "This caller may not use this route."));
    }
    // Stage 15: params that none of the caller's roles may write.
    let denied = denied_params(ctx.caller, &params, None);
    if !denied.is_empty() {
        return Ok(Outcome::params(Status::PermissionDenied, denied));
    }
    let id = params.int("id").expect("id is required and checked");
    let scope = scope_of(ctx.caller);
    let fields: Vec<(&'static str, Value)> = params
        .iter()
        .filter(|(name, _)| !CONTROL_PARAMS.contains(name))
        .map(|(name, value)| (name, value.to_json()))
        .collect();
    let view = params.view("view", "default");

    // Stage 16. A plain field update checks visibility inside the store's conditional write;
    // a password change, an empty update and a user with several roles read the record first.
    let mut password = None;
    if params.contains("password") || fields.is_empty() || has_several_roles(ctx.caller) {
        // Someone else's client answers exactly as one that does not exist.
        let Some(client) = ctx.deps.store.client(id).await?.filter(|c| scope.allows(c)) else {
            return Ok(Outcome::param(Status::InvalidParam, "id", NO_SUCH_CLIENT));
        };
        // A user with several roles writes with the rights of the roles that see this client.
        let denied = denied_params(ctx.caller, &params, Some(&client));
        if !denied.is_empty() {
            return Ok(Outcome::params(Status::PermissionDenied, denied));
        }
        password = match password_change(&ctx, &params, &client).await? {
            Ok(change) => change,
            Err(outcome) => return Ok(outcome),
        };
        if fields.is_empty() && password.is_none() {
            // Nothing to write: `updated_at` stays and `data` is the record as it is.
            return Ok(Outcome::success(render(&ctx, &client, view).await?));
        }
    }

    let password_changed = password.is_some();
    let patch = ClientPatch { client_id: id, fields, password, now: ctx.now };
    let UpdatedClient { client, previous_email } = match ctx.deps.store.update_client(&patch, &scope).await {
        Ok(updated) => updated,
        Err(PatchError::EmailTaken) => {
            return Ok(Outcome::param(Status::InvalidParam, "email", "This email is already used by another client."))
        }
        Err(PatchError::ClientNotFound) => return Ok(Outcome::param(Status::InvalidParam, "id", NO_SUCH_CLIENT)),
        Err(PatchError::Store(e)) => return Err(e),
    };

    let mut emails: Vec<Email> = Vec::new();
    if !client.email.eq_ignore_ascii_case(&previous_email) {
        emails.push(notify::client_email_changed(&client, &previous_email));
    }
    if password_changed {
        emails.push(notify::client_password_changed(&client));
    }
    let data = render(&ctx, &client, view).await?;
    Ok(ctx.notify(&emails, data).await)
}

/// The clients this caller may see (docs/api.md#permissions).
fn scope_of(caller: &Caller) -> ClientScope {
    match caller {
        Caller::Application(_) => ClientScope::ANY,
        Caller::Session { user, .. } if user.employee_id.is_some() => ClientScope::ANY,
        Caller::Session { user, .. } => ClientScope {
            any: false,
            own_client: user.client_id,
            entity_ids: if user.liaison_id.is_some() { user.liaison_entity_ids.clone() } else { Vec::new() },
        },
    }
}

/// A client who is also a liaison: which rights apply depends on the target.
fn has_several_roles(caller: &Caller) -> bool {
    caller.user().is_some_and(|u| u.employee_id.is_none() && u.client_id.is_some() && u.liaison_id.is_some())
}

fn liaison_sees(user: &User, client: &Client) -> bool {
    user.liaison_id.is_some() && client.entity_id.is_some_and(|e| user.liaison_entity_ids.contains(&e))
}

/// The params sent that the caller may not write: with `target`, only the roles that see it count.
fn denied_params(caller: &Caller, params: &Params, target: Option<&Client>) -> Vec<ParamError> {
    let Caller::Session { user, .. } = caller else { return Vec::new() };
    if user.employee_id.is_some() {
        return Vec::new();
    }
    let as_client = user.client_id.is_some() && target.is_none_or(|c| user.client_id == Some(c.id));
    let as_liaison = user.liaison_id.is_some() && target.is_none_or(|c| liaison_sees(user, c));
    params
        .iter()
        .map(|(name, _)| name)
        .filter(|name| {
            let client_may = as_client && !CLIENT_DENIED.contains(name);
            let liaison_may = as_liaison && !LIAISON_DENIED.contains(name);
            !(client_may || liaison_may)
        })
        .map(|name| ParamError::new(name, "This caller may not write this param."))
        .collect()
}

/// Checks a password change and hashes the new password (off the async threads: Argon2 takes
/// tens of milliseconds and 19 MiB).
async fn password_change(
    ctx: &Context<'_>,
    params: &Params,
    client: &Client,
) -> Result<Result<Option<PasswordChange>, Outcome>, shared::store::StoreError> {
    let Some(new_password) = params.str("password") else { return Ok(Ok(None)) };
    let user = match client.user_id {
        Some(uid) => ctx.deps.store.user(uid).await?,
        None => None,
    };
    let Some(user) = user else {
        return Ok(Err(Outcome::param(Status::InvalidParam, "password", "This client has no user to set a password for.")));
    };
    let own_user = ctx.caller.user().is_some_and(|u| u.id == user.id);
    if own_user {
        let Some(current) = params.str("current_password") else {
            return Ok(Err(Outcome::param(Status::MissingParam, "current_password", "This param is required to change your own password.")));
        };
        let (current, stored) = (current.to_string(), user.password_hash.clone());
        let matches = blocking(move || stored.is_some_and(|h| verify_password(&current, &h))).await;
        if !matches {
            return Ok(Err(Outcome::param(Status::InvalidParam, "current_password", "This is not the current password.")));
        }
    }
    let new_password = new_password.to_string();
    let password_hash = blocking(move || hash_password(&new_password)).await;
    let keep_session = match ctx.caller {
        Caller::Session { session, .. } => Some(session.token_hash.clone()),
        Caller::Application(_) => None,
    };
    Ok(Ok(Some(PasswordChange { user_id: user.id, password_hash, keep_session })))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// The client in `view`; the branding view reads the client's entity.
async fn render(ctx: &Context<'_>, client: &Client, view: &str) -> Result<Value, shared::store::StoreError> {
    let entity = match client.entity_id {
        Some(eid) if view == "planox_client_read_branding" && client.use_parent_branding => {
            ctx.deps.store.entity(eid).await?
        }
        _ => None,
    };
    let show_notes = ctx.caller.is_employee() || ctx.caller.application().is_some();
    Ok(client_view(client, view, show_notes, entity.as_ref()))
}
