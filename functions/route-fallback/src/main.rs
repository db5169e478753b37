use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    app::logging::init(&app::config::settings(), false);
    run(service_fn(|req: Request| async move { Ok::<_, std::convert::Infallible>(route_fallback::handle(&req)) })).await
}
