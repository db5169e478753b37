//! Clients Update: `PUT /api/v1/clients/update`.

pub mod handler;

use app::deps::Deps;
use domain::routes::RouteId;
use lambda_http::{Body, Request, Response};

/// The function's whole request path, shared by Lambda, `planocore serve` and the tests.
pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    app::pipeline::handle(deps, RouteId::ClientsUpdate, handler::route, req).await
}
