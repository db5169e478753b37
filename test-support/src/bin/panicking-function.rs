//! Test-only (never shipped, never deployed): the Clients Update function as its `main.rs` runs
//! it in Lambda, but on the demo fixture in a store that panics whenever a client is read, so
//! that tests/panics.rs can prove a panic under the Runtime Interface Emulator is answered.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use lambda_http::{run, service_fn, Error, Request};
use test_support::{FaultyStore, TestApp};

#[tokio::main]
async fn main() -> Result<(), Error> {
    app::logging::init(&app::config::settings(), false);
    let store = Arc::new(FaultyStore::default());
    store.panic_on_client_read.store(true, SeqCst);
    let app = TestApp::on(store).await;
    let deps = &app.deps;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(clients_update::handle(deps, req).await)
    }))
    .await
}
