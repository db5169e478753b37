//! Clients Update: `PUT /api/v1/clients/update`.

pub mod handler;

use lambda_http::{Body, Request, Response};
use shared::{Deps, RouteId};

/// The function's whole request path, shared by Lambda, `planocore serve` and the tests.
pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    shared::pipeline::handle(deps, RouteId::ClientsUpdate, handler::route, req).await
}
