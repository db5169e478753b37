//! What each request leaves behind besides its answer: one log line (route, status, latency,
//! caller, cold start, function and version, X-Ray trace id) and, in Lambda, its metrics as one
//! EMF line ([`crate::emf`]) on stdout next to it; and the request's own counts that feed both
//! (store calls, failed emails). Never a token, a hash, a password or a key.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use lambda_http::{Request, RequestExt};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::emf::{Emf, RequestMetrics};
use crate::settings::{FunctionIdentity, Settings};
use domain::credentials::Caller;
use domain::envelope::Status;
use domain::routes::RouteId;

tokio::task_local! {
    /// The counts of the request whose task this is.
    static COUNTS: Arc<RequestCounts>;
}

/// What one request did that its log line and metrics report.
#[derive(Debug, Default)]
pub struct RequestCounts {
    store_calls: AtomicU64,
    emails_failed: AtomicU64,
}

impl RequestCounts {
    pub fn store_calls(&self) -> u64 {
        self.store_calls.load(Relaxed)
    }

    pub fn emails_failed(&self) -> u64 {
        self.emails_failed.load(Relaxed)
    }
}

/// Runs `request` with `counts` as its counts: the store calls and failed emails made inside
/// it, in its own task, add to them (a concurrent request in `planocore serve` has its own).
pub async fn counting<F: std::future::Future>(counts: Arc<RequestCounts>, request: F) -> F::Output {
    COUNTS.scope(counts, request).await
}

/// One DynamoDB operation of the current request (nothing outside a request).
pub fn count_store_call() {
    let _ = COUNTS.try_with(|c| c.store_calls.fetch_add(1, Relaxed));
}

/// `n` emails of the current request that were not sent.
pub fn count_emails_failed(n: usize) {
    let _ = COUNTS.try_with(|c| c.emails_failed.fetch_add(n as u64, Relaxed));
}

/// The DynamoDB client's interceptor that counts each operation (a page of a query included)
/// for the request it runs in.
#[derive(Debug)]
pub struct StoreCallCounter;

impl aws_sdk_dynamodb::config::Intercept for StoreCallCounter {
    fn name(&self) -> &'static str {
        "StoreCallCounter"
    }

    fn read_before_execution(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        count_store_call();
        Ok(())
    }
}

/// Where the EMF lines go, once a function's `main` asked for them.
struct MetricsOutput {
    emf: Emf,
    /// The `level` of every EMF line: Lambda's own filter (`ApplicationLogLevel`) reads a JSON
    /// line without one as INFO and would drop the metrics at WARN or above, so each carries
    /// the configured level itself, which the filter always keeps.
    level: String,
}

static METRICS: OnceLock<MetricsOutput> = OnceLock::new();
static FUNCTION: OnceLock<FunctionIdentity> = OnceLock::new();
/// Set by the first request this process answers: that one is its cold start.
static WARM: AtomicBool = AtomicBool::new(false);

/// From now on every request's metrics go to stdout as EMF (the functions; `planocore serve`
/// writes none).
pub fn write_metrics_to_stdout(settings: &Settings) {
    let level = settings.lambda_log_level.clone().unwrap_or_else(|| "INFO".to_string());
    let _ = METRICS.set(MetricsOutput { emf: Emf::new(&settings.metrics_namespace), level });
}

/// The function name and version every request line carries, from `settings` (set once, at
/// start, by [`crate::logging::init`]).
pub fn identify(settings: &Settings) {
    let _ = FUNCTION.set(settings.function.clone());
}

fn function() -> &'static FunctionIdentity {
    static UNNAMED: FunctionIdentity = FunctionIdentity { name: None, version: None };
    FUNCTION.get().unwrap_or(&UNNAMED)
}

/// A trace header longer than this is left out: it is for finding a trace, not for filling logs.
const MAX_TRACE_ID: usize = 256;

/// The request's X-Ray trace id: the Lambda runtime's (from the invocation), else the
/// `x-amzn-trace-id` header API Gateway passes on. Only X-Ray's own form (`Root=…` or `Self=…`,
/// its characters) is logged: the header can come from the caller.
pub fn trace_id(req: &Request) -> Option<String> {
    let from_lambda = req.lambda_context_ref().and_then(|c| c.xray_trace_id.clone()).filter(|t| !t.is_empty());
    let from_header = || req.headers().get("x-amzn-trace-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    from_lambda.or_else(from_header).filter(|t| is_xray_trace_header(t))
}

fn is_xray_trace_header(text: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '=' | ';' | '-');
    text.len() <= MAX_TRACE_ID && (text.starts_with("Root=") || text.starts_with("Self=")) && text.chars().all(allowed)
}

/// One answered request, as its log line and metrics tell it.
pub struct RequestRecord<'a> {
    pub request_id: &'a str,
    pub route: Option<RouteId>,
    pub status: Status,
    pub started: Instant,
    pub caller: Option<&'a Caller>,
    pub counts: &'a RequestCounts,
}

/// The request's log line, then (in Lambda) its EMF line.
pub fn log_request(req: &Request, record: RequestRecord<'_>) {
    let latency_ms = record.started.elapsed().as_secs_f64() * 1000.0;
    let cold_start = !WARM.swap(true, Relaxed);
    let caller_kind = record.caller.map_or("none", |c| c.actor_kind().name());
    let caller_id = record.caller.map(Caller::actor_id);
    let route = record.route.map_or("none", RouteId::name);
    let function = function();
    let trace_id = trace_id(req);
    let (store_calls, emails_failed) = (record.counts.store_calls(), record.counts.emails_failed());
    tracing::info!(
        event = "request",
        request_id = %record.request_id,
        route,
        status = record.status.slug(),
        latency_ms,
        caller_kind,
        caller_id,
        cold_start,
        function_name = function.name.as_deref(),
        function_version = function.version.as_deref(),
        trace_id = trace_id.as_deref(),
        store_calls,
        emails_failed,
    );
    let Some(output) = METRICS.get() else { return };
    let metrics = RequestMetrics {
        route,
        function_name: function.name.as_deref().unwrap_or("none"),
        function_version: function.version.as_deref().unwrap_or("none"),
        status: record.status.slug(),
        latency_ms,
        cold_start,
        store_calls,
        emails_failed,
    };
    let now = OffsetDateTime::now_utc();
    // Lambda's log filter reads `level` and `timestamp` (RFC 3339) of a JSON line.
    let timestamp = now.format(&Rfc3339).unwrap_or_default();
    let mut properties =
        vec![("level", output.level.as_str()), ("timestamp", &timestamp), ("request_id", record.request_id)];
    properties.extend(trace_id.as_deref().map(|t| ("trace_id", t)));
    let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as u64;
    let mut line = output.emf.line(now_ms, &metrics, &properties).into_bytes();
    line.push(b'\n');
    // One write of a whole line: it never interleaves with a log line.
    let _ = std::io::stdout().lock().write_all(&line);
}

#[cfg(test)]
mod tests {
    use super::is_xray_trace_header;

    #[test]
    fn only_an_xray_trace_header_is_logged() {
        assert!(is_xray_trace_header("Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1"));
        assert!(is_xray_trace_header("Self=1-5-6;Root=1-2-3"));
        assert!(!is_xray_trace_header("demo-employee-token"));
        assert!(!is_xray_trace_header("Root=1-2-3 {\"status\":\"forged\"}"));
        assert!(!is_xray_trace_header(&format!("Root={}", "a".repeat(300))));
    }
}
