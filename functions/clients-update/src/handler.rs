//! `PUT /api/v1/clients/update` (docs/api.md#clients-update, docs/api.md#permissions): stages
//! 11–19 of docs/api.md#stages for a client's partial update.

use app::auth::{hash_password_off_thread, verify_password_off_thread};
use app::error::{RouteError, RouteResult};
use app::error::{NOT_THE_CURRENT_PASSWORD, NO_SUCH_CLIENT};
use app::pipeline::Context;
use domain::client_fields;
use domain::client_fields::ClientField;
use domain::credentials::Caller;
use domain::email;
use domain::email::Email;
use domain::envelope::{Outcome, ParamError, Status};
use domain::model::{Client, User};
use domain::params;
use domain::params::{Kind, ParamSpec, Params};
use domain::routes::RouteId;
use domain::views::{client_view, ApplicationView, ClientView, SessionView, ViewName};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use store::attempts::PasswordAttempt;
use store::seam::{ClientPatch, ClientScope, PasswordChange, UpdatedClient, EMAIL_FIELD};

/// The params that shape the request rather than the record; the table of client fields adds
/// the rest.
const CONTROL: [ParamSpec; 5] = [
    ParamSpec::required("token", Kind::Token),
    ParamSpec::optional("view", Kind::View(ClientView::NAMES)),
    ParamSpec::required("id", Kind::Integer),
    ParamSpec::optional("session_view", Kind::View(SessionView::NAMES)),
    ParamSpec::optional("application_view", Kind::View(ApplicationView::NAMES)),
];

/// The params, in the order of docs/api.md#clients-update-params (the order of `errors`).
pub const PARAMS: &[ParamSpec] =
    &client_fields::params_after::<{ CONTROL.len() + client_fields::WRITTEN_COUNT }>(&CONTROL);

pub fn route(ctx: Context<'_>) -> BoxFuture<'_, RouteResult> {
    update(ctx).boxed()
}

async fn update(ctx: Context<'_>) -> RouteResult {
    let params = params::read(PARAMS, ctx.body)?;
    // Stage 14: every role may use the route; an application needs the permission.
    if ctx.caller.application().is_some() && !ctx.caller.application_may(RouteId::ClientsUpdate) {
        return Err(RouteError::param(Status::PermissionDenied, "token", "This caller may not use this route."));
    }
    // Stage 15: params that none of the caller's roles may write.
    refuse_denied(ctx.caller, &params, None)?;
    let id = params.int("id").expect("id is required and checked");
    let scope = scope_of(ctx.caller);
    let mut patch = ClientPatch { client_id: id, email: None, fields: Vec::new(), password: None, now: ctx.now };
    for (name, value) in params.iter() {
        match ClientField::named(name) {
            Some(_) if name == EMAIL_FIELD => patch.email = params.str(name).map(str::to_string),
            Some(field) if field.writable() => patch.fields.push((field, value.to_json())),
            _ => {}
        }
    }
    let writes_record = patch.email.is_some() || !patch.fields.is_empty();
    let view = params.view("view", ClientView::Default);

    // Stage 16. A plain field update checks visibility inside the store's conditional write;
    // a password change, an empty update and a user with several roles read the record first.
    let mut read = None;
    if params.contains("password") || !writes_record || has_several_roles(ctx.caller) {
        // Someone else's client answers exactly as one that does not exist.
        let Some(client) = ctx.deps.store.client(id).await?.filter(|c| scope.allows(c)) else {
            return Err(RouteError::param(Status::InvalidParam, "id", NO_SUCH_CLIENT));
        };
        read = Some(client.clone());
        // A user with several roles writes with the rights of the roles that see this client.
        refuse_denied(ctx.caller, &params, Some(&client))?;
        patch.password = password_change(&ctx, &params, &client).await?;
        if !writes_record && patch.password.is_none() {
            // Nothing to write: `updated_at` stays and `data` is the record as it is.
            return render(&ctx, &client, view).await;
        }
    }

    let password_changed = patch.password.is_some();
    // With a key, `data` is made before the commit, so the branding view's entity is read first.
    let entity = match (ctx.key, view) {
        (Some(_), ClientView::Branding) => match read {
            Some(client) => Some(client),
            None => ctx.deps.store.client(id).await?,
        }
        .and_then(|c| c.entity_id),
        _ => None,
    };
    let entity = match entity {
        Some(eid) => ctx.deps.store.entity(eid).await?,
        None => None,
    };
    let staff = is_staff(ctx.caller);
    let answer = |updated: &UpdatedClient| {
        (client_view(&updated.client, view, staff, entity.as_ref()), emails_of(updated, password_changed))
    };
    let commit = ctx.key_commit(&answer);
    let updated = ctx.deps.store.update_client_from(&patch, &scope, ctx.early.client(), commit.as_ref()).await?;
    let (data, emails) = answer(&updated);
    if ctx.key.is_some() {
        return ctx.notify(&emails, data).await;
    }
    // The emails go out whether or not the view renders (the branding view reads the entity).
    let (sent, data) = tokio::join!(ctx.send_all(&emails), render(&ctx, &updated.client, view));
    RouteError::after_notify(sent, data?)
}

/// The emails an update sends: to the old address when the email changed, to the client when
/// the password did.
fn emails_of(updated: &UpdatedClient, password_changed: bool) -> Vec<Email> {
    let UpdatedClient { client, previous_email } = updated;
    let mut emails = Vec::new();
    if !client.email.eq_ignore_ascii_case(previous_email) {
        emails.push(email::client_email_changed(client, previous_email));
    }
    if password_changed {
        emails.push(email::client_password_changed(client));
    }
    emails
}

/// Staff see every field of a client.
fn is_staff(caller: &Caller) -> bool {
    caller.is_employee() || caller.application().is_some()
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

/// Refuses the params sent that the caller may not write: with `target`, only the roles that
/// see it count (docs/api.md#permissions).
fn refuse_denied(caller: &Caller, params: &Params, target: Option<&Client>) -> Result<(), RouteError> {
    let Caller::Session { user, .. } = caller else { return Ok(()) };
    if user.employee_id.is_some() {
        return Ok(());
    }
    let as_client = user.client_id.is_some() && target.is_none_or(|c| user.client_id == Some(c.id));
    let as_liaison = user.liaison_id.is_some() && target.is_none_or(|c| liaison_sees(user, c));
    let denied: Vec<ParamError> = params
        .iter()
        .filter_map(|(name, _)| ClientField::named(name))
        .filter(|field| {
            let client_may = as_client && !field.denied_to_clients();
            let liaison_may = as_liaison && !field.denied_to_liaisons();
            !(client_may || liaison_may)
        })
        .map(|field| ParamError::new(field.name, "This caller may not write this param."))
        .collect();
    if denied.is_empty() {
        Ok(())
    } else {
        Err(RouteError::Refused(domain::Outcome::params(Status::PermissionDenied, denied)))
    }
}

/// Checks a password change and hashes the new password (off the async threads: Argon2 takes
/// tens of milliseconds and 19 MiB).
async fn password_change(
    ctx: &Context<'_>,
    params: &Params,
    client: &Client,
) -> Result<Option<PasswordChange>, RouteError> {
    let Some(new_password) = params.str("password") else { return Ok(None) };
    let user = match client.user_id {
        Some(uid) => ctx.deps.store.user(uid).await?,
        None => None,
    };
    let Some(user) = user else {
        return Err(RouteError::param(
            Status::InvalidParam,
            "password",
            "This client has no user to set a password for.",
        ));
    };
    let own_user = ctx.caller.user().is_some_and(|u| u.id == user.id);
    let checked_hash = if own_user { Some(check_current_password(ctx, params, &user).await?) } else { None };
    let password_hash = hash_password_off_thread(new_password.to_string()).await;
    let keep_session = match ctx.caller {
        Caller::Session { session, .. } if own_user => Some(session.token_hash.clone()),
        _ => None,
    };
    Ok(Some(PasswordChange { user_id: user.id, password_hash, keep_session, checked_hash }))
}

/// The user's own change: `current_password` must match, within the limit on checks per window
/// (a locked user's guess never reaches Argon2). Returns the hash it matched.
async fn check_current_password(ctx: &Context<'_>, params: &Params, user: &User) -> Result<String, RouteError> {
    let Some(current) = params.str("current_password") else {
        return Err(RouteError::param(
            Status::MissingParam,
            "current_password",
            "This param is required to change your own password.",
        ));
    };
    if let PasswordAttempt::Locked { until } = ctx.deps.store.begin_password_attempt(user.id, ctx.now).await? {
        let outcome = Outcome::param(Status::InvalidParam, "current_password", "Too many attempts; try again later.");
        let retry_after = u64::try_from((until - ctx.now).whole_seconds()).unwrap_or(0).max(1);
        return Err(RouteError::Refused(Outcome { retry_after: Some(retry_after), ..outcome }));
    }
    let stored = user.password_hash.clone().unwrap_or_default();
    if !verify_password_off_thread(current.to_string(), stored.clone()).await {
        return Err(RouteError::param(Status::InvalidParam, "current_password", NOT_THE_CURRENT_PASSWORD));
    }
    ctx.deps.store.clear_password_attempts(user.id).await?;
    Ok(stored)
}

/// The client in `view`; the branding view reads the client's entity.
async fn render(ctx: &Context<'_>, client: &Client, view: ClientView) -> RouteResult {
    let entity = match client.entity_id {
        Some(eid) if view == ClientView::Branding && client.use_parent_branding => ctx.deps.store.entity(eid).await?,
        _ => None,
    };
    Ok(client_view(client, view, is_staff(ctx.caller), entity.as_ref()))
}
