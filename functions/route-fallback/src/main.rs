use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::init_logging(false);
    run(service_fn(|req: Request| async move { Ok::<_, std::convert::Infallible>(route_fallback::handle(&req)) })).await
}
