//! Entities Create: `POST /api/v1/entities/create`.

pub mod handler;

use app::deps::Deps;
use domain::routes::RouteId;
use lambda_http::{Body, Request, Response};

/// The function's whole request path, shared by Lambda, `planocore serve` and the tests.
pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    app::pipeline::handle(deps, RouteId::EntitiesCreate, handler::route, req).await
}
