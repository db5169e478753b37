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
///
/// Not lambda_runtime's own setup (its `tracing` feature, `init_default_subscriber`): tried on
/// clients-update, release build, 2026-12-04, it takes the binary from 6,716,360 to 7,068,128
/// bytes (+352 KB, over the 7 MB budget; its `EnvFilter` brings regex-automata), own init
/// unchanged within noise (median of 5 runs of `scripts/lambda_perf.py` 5.1 ms against 5.3 ms).
/// And it would change what is logged (the log tests in clients-update's `metrics.rs` and
/// planocore's `cli.rs` fail with it): its level applies to every crate (at `DEBUG` the SDK's
/// output, which has carried credentials), a `RUST_LOG` that is set wins over
/// `AWS_LAMBDA_LOG_LEVEL` (INFO lines at `WARN`), `FATAL` falls back to `INFO` instead of
/// `ERROR`, and lines are text unless `AWS_LAMBDA_LOG_FORMAT` is `JSON` (JSON here unless it is
/// `Text`), with no timestamp.
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
