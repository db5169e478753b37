use std::time::{Instant, SystemTime};

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = app::config::settings();
    app::logging::init(&settings, false);
    let store = app::config::dynamodb_store(&settings).await;
    let https = app::https::client(settings.ssl_cert_file.as_deref());
    let (store, https, table) = (&store, &https, settings.table_name.as_str());
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        // The invocation's deadline as an Instant: Lambda gives it as wall-clock milliseconds.
        let left = event.context.deadline().duration_since(SystemTime::now()).unwrap_or_default();
        registry_sync::handle(store, https, table, &event.payload, Instant::now() + left).await.map(|_| ())
    }))
    .await
}
