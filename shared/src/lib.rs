//! Everything two routes need: the request pipeline, auth, params, views, the store seam,
//! the route registry and notifications. See docs/architecture.md for how a request travels.

pub mod auth;
pub mod client_fields;
pub mod clock;
pub mod config;
pub mod envelope;
pub mod error;
pub mod fixture;
pub mod idempotency;
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

pub use envelope::{Outcome, ParamError, Status};
pub use error::{RouteError, RouteResult};
pub use pipeline::{Context, Deps};
pub use routes::RouteId;

/// JSON log lines as `RUST_LOG` asks ([`settings::LogFilter`]: a level for the project's crates,
/// `warn` for the others unless named): to stdout in Lambda (CloudWatch), to stderr for the
/// local CLI, whose stdout is for people. `Targets`, not `EnvFilter`: no regex engine in the
/// function binaries.
pub fn init_logging(to_stderr: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    let targets = settings::Settings::from_env().log.targets();
    let builder = tracing_subscriber::fmt().json().with_current_span(false).with_ansi(false);
    let _ = if to_stderr {
        tracing::subscriber::set_global_default(builder.with_writer(std::io::stderr).finish().with(targets))
    } else {
        tracing::subscriber::set_global_default(builder.finish().with(targets))
    };
}

/// The system's CA certificates as one PEM bundle (`SSL_CERT_FILE`, else the usual bundle of
/// Amazon Linux or Debian). Reading one file is one open; letting the TLS stack scan the
/// certificate directory is ~140, most of a cold start. `None`: fall back to that scan.
pub fn ca_bundle() -> Option<Vec<u8>> {
    let from_env = settings::Settings::from_env().ssl_cert_file;
    let mut candidates = from_env.iter().map(String::as_str).chain([
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/ssl/cert.pem",
    ]);
    candidates.find_map(|path| std::fs::read(path).ok().filter(|pem| !pem.is_empty()))
}
