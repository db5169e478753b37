//! The process's log output, set once at start by its composition root.

use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;

use crate::settings::{LogFormat, Settings};
use crate::telemetry;

/// Log lines as the environment asks ([`LogFilter`](crate::settings::LogFilter): Lambda's `AWS_LAMBDA_LOG_LEVEL`
/// or `RUST_LOG`'s level for the project's crates, `warn` for the others unless named; JSON
/// unless `AWS_LAMBDA_LOG_FORMAT` is `Text`): to stdout in Lambda (CloudWatch), where each
/// request's metrics go too ([`telemetry`]), or to stderr for the local CLI, whose stdout is for
/// people. `Targets`, not `EnvFilter`: no regex engine in the function binaries.
pub fn init(settings: &Settings, to_stderr: bool) {
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
    telemetry::identify(settings);
    if !to_stderr {
        telemetry::write_metrics_to_stdout(settings);
    }
}
