//! Everything two routes need: the request pipeline, auth, params, views, the store seam,
//! the route registry and notifications. See docs/architecture.md for how a request travels.

pub mod auth;
pub mod client_fields;
pub mod clock;
pub mod config;
pub mod envelope;
pub mod error;
pub mod fixture;
pub mod model;
pub mod notify;
pub mod params;
pub mod pipeline;
pub mod registry;
pub mod request;
pub mod routes;
pub mod settings;
pub mod store;
pub mod views;

#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use envelope::{Outcome, ParamError, Status};
pub use error::{RouteError, RouteResult};
pub use pipeline::{Context, Deps};
pub use routes::RouteId;

/// JSON log lines at the level `RUST_LOG` names (`error`, `warn`, `info`, `debug`, `trace`;
/// default `info`): to stdout in Lambda (CloudWatch), to stderr for the local CLI, whose stdout
/// is for people. A plain level, not per-module directives: that filter would bring a regex
/// engine into every function binary.
pub fn init_logging(to_stderr: bool) {
    let level = settings::Settings::from_env().log_level;
    let builder = tracing_subscriber::fmt().json().with_max_level(level).with_current_span(false).with_ansi(false);
    let _ = if to_stderr { builder.with_writer(std::io::stderr).try_init() } else { builder.try_init() };
}

/// The system's CA certificates as one PEM bundle (`SSL_CERT_FILE`, else the usual bundle of
/// Amazon Linux or Debian). Reading one file is one open; letting the TLS stack scan the
/// certificate directory is ~140, most of a cold start. `None`: fall back to that scan.
pub fn ca_bundle() -> Option<Vec<u8>> {
    let from_env = settings::Settings::from_env().ssl_cert_file;
    let candidates = from_env.iter().map(String::as_str).chain([
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/ssl/cert.pem",
    ]);
    let bundle = candidates.filter_map(|path| std::fs::read(path).ok()).find(|pem| !pem.is_empty());
    bundle
}
