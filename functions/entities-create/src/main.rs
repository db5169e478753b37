use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = app::config::settings();
    app::logging::init(&settings, false);
    let deps = app::config::function_deps(&settings).await?;
    let deps = &deps;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(entities_create::handle(deps, req).await)
    }))
    .await
}
