use std::time::{Instant, SystemTime};

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::settings::Settings;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::init_logging(false);
    let settings = Settings::from_env();
    let store = shared::config::dynamodb_store(&settings).await;
    let (store, table) = (&store, settings.table_name.as_str());
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        // The invocation's deadline as an Instant: Lambda gives it as wall-clock milliseconds.
        let left = event.context.deadline().duration_since(SystemTime::now()).unwrap_or_default();
        registry_sync::handle(store, table, &event.payload, Instant::now() + left).await.map(|_| ())
    }))
    .await
}
