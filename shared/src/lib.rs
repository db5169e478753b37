//! Everything two routes need: the request pipeline, auth, params, views, the store seam,
//! the route registry and notifications. See DESIGN.md for how a request travels.

pub mod auth;
pub mod clock;
pub mod config;
pub mod envelope;
pub mod fixture;
pub mod model;
pub mod notify;
pub mod params;
pub mod pipeline;
pub mod registry;
pub mod request;
pub mod routes;
pub mod store;
pub mod views;

#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use envelope::{Outcome, ParamError, Status};
pub use pipeline::{Context, Deps, RouteResult};
pub use routes::RouteId;

/// JSON log lines, level from `RUST_LOG` (default `info`): to stdout in Lambda (CloudWatch),
/// to stderr for the local CLI, whose stdout is for people.
pub fn init_logging(to_stderr: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().json().with_env_filter(filter).with_current_span(false);
    let _ = if to_stderr { builder.with_writer(std::io::stderr).try_init() } else { builder.try_init() };
}
