//! The API Gateway `$default` route: every request gets `route-non-existent`.

use lambda_http::{Body, Request, Response};

pub fn handle(req: &Request) -> Response<Body> {
    shared::pipeline::route_non_existent(req)
}
