//! Everything two routes need: the request pipeline, auth, params, views, the store seam,
//! the route registry and notifications. See docs/architecture.md for how a request travels.

pub mod auth;
pub mod client_fields;
pub mod clock;
pub mod config;
pub mod emf;
pub mod envelope;
pub mod error;
pub mod fixture;
pub mod https;
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
pub mod telemetry;
pub mod views;

pub use envelope::{Outcome, ParamError, Status};
pub use error::{RouteError, RouteResult};
pub use pipeline::{Context, Deps};
pub use routes::RouteId;

/// Log lines as the environment asks ([`settings::LogFilter`]: Lambda's `AWS_LAMBDA_LOG_LEVEL`
/// or `RUST_LOG`'s level for the project's crates, `warn` for the others unless named; JSON
/// unless `AWS_LAMBDA_LOG_FORMAT` is `Text`): to stdout in Lambda (CloudWatch), where each
/// request's metrics go too ([`telemetry`]), or to stderr for the local CLI, whose stdout is for
/// people. `Targets`, not `EnvFilter`: no regex engine in the function binaries.
pub fn init_logging(to_stderr: bool) {
    use settings::LogFormat;
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    use tracing_subscriber::layer::SubscriberExt;
    let settings = settings::Settings::from_env();
    let targets = settings.log.targets();
    // One boxed writer, not a subscriber type per destination: each is a copy of the formatter
    // in the binary.
    let writer = if to_stderr { BoxMakeWriter::new(std::io::stderr) } else { BoxMakeWriter::new(std::io::stdout) };
    let fmt = tracing_subscriber::fmt().with_ansi(false).with_writer(writer);
    let _ = match settings.log_format {
        LogFormat::Json => {
            tracing::subscriber::set_global_default(fmt.json().with_current_span(false).finish().with(targets))
        }
        LogFormat::Text => tracing::subscriber::set_global_default(fmt.finish().with(targets)),
    };
    if !to_stderr {
        telemetry::write_metrics_to_stdout(&settings);
    }
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
