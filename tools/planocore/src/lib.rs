//! Every route behind one function: what `planocore serve` answers with, and what the tests and
//! the fuzz target drive. Each route goes to its Lambda function's own handler.

pub mod cors;

use app::deps::Deps;
use domain::routes::RouteId;
use lambda_http::{Body, Request, Response};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    match RouteId::identify(req.method(), req.uri().path()) {
        Some(RouteId::ClientsUpdate) => clients_update::handle(deps, req).await,
        Some(RouteId::EntitiesCreate) => entities_create::handle(deps, req).await,
        None => route_fallback::handle(&req),
    }
}
