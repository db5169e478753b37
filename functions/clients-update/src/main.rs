use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::init_logging(false);
    let deps = shared::config::function_deps().await?;
    let deps = &deps;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(clients_update::handle(deps, req).await)
    }))
    .await
}
