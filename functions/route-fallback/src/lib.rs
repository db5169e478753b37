//! The API Gateway `$default` route: a CORS preflight gets `204` (API Gateway adds the API's
//! CORS headers), every other request `route-non-existent`.

use app::pipeline::{cors_preflight, is_cors_preflight, route_non_existent};
use lambda_http::{Body, Request, Response};

pub fn handle(req: &Request) -> Response<Body> {
    if is_cors_preflight(req.method(), req.headers()) {
        return cors_preflight();
    }
    route_non_existent(req)
}
