//! `POST /api/v1/entities/create` (docs/api.md#entities-create, docs/api.md#permissions): stages
//! 11–19 of docs/api.md#stages for a new entity.

use app::error::{RouteError, RouteResult};
use app::pipeline::Context;
use domain::credentials::Caller;
use domain::email;
use domain::envelope::Status;
use domain::model::{Address, Entity};
use domain::params;
use domain::params::{Kind, ParamSpec, Params};
use domain::routes::RouteId;
use domain::views::{entity_view, ApplicationView, EntityView, SessionView, ViewName};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use store::seam::EntityDraft;

const CONTROL: [ParamSpec; 4] = [
    ParamSpec::required("token", Kind::Token),
    ParamSpec::optional("view", Kind::View(EntityView::NAMES)),
    ParamSpec::optional("session_view", Kind::View(SessionView::NAMES)),
    ParamSpec::optional("application_view", Kind::View(ApplicationView::NAMES)),
];

/// The params, in the order of docs/api.md#entities-create-params (the order of `errors`): the
/// control params, then the entity's fields (`domain::params::entity`, which the fixture loader
/// checks entities by).
pub const PARAMS: &[ParamSpec] =
    &params::concat::<{ CONTROL.len() + params::entity::FIELDS.len() }>(&CONTROL, params::entity::FIELDS);

pub fn route(ctx: Context<'_>) -> BoxFuture<'_, RouteResult> {
    create(ctx).boxed()
}

async fn create(ctx: Context<'_>) -> RouteResult {
    let params = params::read(PARAMS, ctx.body)?;
    // Stage 14: employees, and applications with the permission.
    if !(ctx.caller.is_employee() || ctx.caller.application_may(RouteId::EntitiesCreate)) {
        return Err(RouteError::param(Status::PermissionDenied, "token", "This caller may not use this route."));
    }
    let integration_id = params.int("integration_id").expect("integration_id is required and checked");
    // Stage 15: an application creates only for its own integrations.
    if let Caller::Application(app) = ctx.caller {
        if !app.integration_ids.contains(&integration_id) {
            return Err(RouteError::param(
                Status::PermissionDenied,
                "integration_id",
                "This application may not create entities for this integration.",
            ));
        }
    }
    let draft = draft(&params, integration_id, ctx.caller, ctx.now);
    let view = params.view("view", EntityView::Entity);
    let answer = |entity: &Entity| (entity_view(entity, view), vec![email::entity_created(entity)]);
    // Stages 16–18 are one atomic store call: integration exists, slug and email free, write
    // (with a key, its answer and emails too).
    let entity =
        ctx.deps.store.create_entity_from(&draft, ctx.early.entity_id(), ctx.key_commit(&answer).as_ref()).await?;
    let (data, emails) = answer(&entity);
    ctx.notify(&emails, data).await
}

fn draft(params: &Params, integration_id: u64, caller: &Caller, now: time::OffsetDateTime) -> EntityDraft {
    let text = |p: &Params, name: &str| p.str(name).map(str::to_string);
    let address = params.object("address").expect("address is required and checked");
    EntityDraft {
        integration_id,
        entity_slug: text(params, "entity_slug").unwrap_or_default(),
        email: text(params, "email").unwrap_or_default(),
        name: text(params, "name").unwrap_or_default(),
        address: Address {
            street: text(address, "street"),
            street2: text(address, "street2"),
            city: text(address, "city"),
            state: text(address, "state"),
            country: text(address, "country"),
            postal_code: text(address, "postal_code"),
            service_area: text(address, "service_area"),
        },
        operational_transaction_emails: params.emails("operational_transaction_emails").unwrap_or_default().to_vec(),
        order_completion_emails: params.emails("order_completion_emails").unwrap_or_default().to_vec(),
        active: params.bool("active").expect("active is required and checked"),
        created_by: caller.actor(),
        now,
    }
}
