//! Every route behind one function: what `planocore serve` answers with, and what the tests and
//! the fuzz target drive. Each route goes to its Lambda function's own handler.

pub mod cors;

use app::deps::Deps;
use domain::params::ParamSpec;
use domain::routes::RouteId;
use lambda_http::{Body, Request, Response};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    match RouteId::identify(req.method(), req.uri().path()) {
        Some(route) => handle_route(deps, route, req).await,
        None => route_fallback::handle(&req),
    }
}

/// `req` through the handler of `route`'s Lambda function, whatever its method and path (as
/// the function answers an event API Gateway sends it).
pub async fn handle_route(deps: &Deps, route: RouteId, req: Request) -> Response<Body> {
    match route {
        RouteId::ClientsUpdate => clients_update::handle(deps, req).await,
        RouteId::EntitiesCreate => entities_create::handle(deps, req).await,
    }
}

/// `route`'s params table, as its handler reads them (the OpenAPI and catalogue tests read it
/// here: the one place besides [`handle_route`] that names each route's crate).
pub fn params_of(route: RouteId) -> &'static [ParamSpec] {
    match route {
        RouteId::ClientsUpdate => clients_update::handler::PARAMS,
        RouteId::EntitiesCreate => entities_create::handler::PARAMS,
    }
}
