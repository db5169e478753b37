//! Every environment variable the functions and the local CLI read, in one place
//! (docs/api.md#environment-variables). Nothing else in the project calls `std::env::var`; the AWS SDK
//! reads its own (`AWS_REGION`, credentials) as documented by AWS.

use std::time::Duration;

use tracing_subscriber::filter::{LevelFilter, Targets};

pub const DEFAULT_TABLE: &str = "planocore";
/// How long the route registry is cached per container unless `REGISTRY_CACHE_SECONDS` says.
pub const REGISTRY_CACHE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Settings {
    /// `TABLE_NAME`, default `planocore`.
    pub table_name: String,
    /// `DYNAMODB_ENDPOINT`: a local DynamoDB (DynamoDB Local), if set.
    pub dynamodb_endpoint: Option<String>,
    /// `SECRETSMANAGER_ENDPOINT`: a local Secrets Manager (moto), if set.
    pub secretsmanager_endpoint: Option<String>,
    /// `AWS_REGION` or `AWS_DEFAULT_REGION` is set (else the SDK is given `us-east-1`).
    pub region_set: bool,
    /// `AWS_ACCESS_KEY_ID` is set (else a local endpoint gets dummy credentials).
    pub access_key_set: bool,
    /// `REGISTRY_CACHE_SECONDS`, default 30.
    pub registry_cache: Duration,
    /// `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls), else `RUST_LOG`'s bare
    /// level, for the project's crates; `RUST_LOG`'s `target=level` directives either way.
    pub log: LogFilter,
    /// `AWS_LAMBDA_LOG_LEVEL` as Lambda's filter names it (`TRACE` … `FATAL`), when it is one.
    pub lambda_log_level: Option<String>,
    /// `AWS_LAMBDA_LOG_FORMAT`: `Text` for plain lines; JSON otherwise (and when unset).
    pub log_format: LogFormat,
    /// `AWS_LAMBDA_FUNCTION_NAME` and `AWS_LAMBDA_FUNCTION_VERSION`, set by Lambda.
    pub function: FunctionIdentity,
    /// `METRICS_NAMESPACE`: the CloudWatch namespace of the functions' metrics, default `PlanOcore`.
    pub metrics_namespace: String,
    /// `SSL_CERT_FILE`: the CA bundle to trust, if set.
    pub ssl_cert_file: Option<String>,
    pub mandrill: MandrillSettings,
}

/// The Mandrill variables (docs/api.md#notifications). `Debug` never shows the key.
#[derive(Clone, Default)]
pub struct MandrillSettings {
    /// `MANDRILL_SECRET_ID`: the Secrets Manager secret holding the key; wins over the key.
    pub secret_id: Option<String>,
    /// `MANDRILL_API_KEY`: the key itself, for local use.
    pub api_key: Option<String>,
    /// `MANDRILL_API_URL`, `MANDRILL_FROM_EMAIL`, `MANDRILL_FROM_NAME`: defaults when unset.
    pub api_url: Option<String>,
    pub from_email: Option<String>,
    pub from_name: Option<String>,
}

impl std::fmt::Debug for MandrillSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MandrillSettings")
            .field("secret_id", &self.secret_id)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("api_url", &self.api_url)
            .field("from_email", &self.from_email)
            .field("from_name", &self.from_name)
            .finish()
    }
}

pub const DEFAULT_METRICS_NAMESPACE: &str = "PlanOcore";

/// The application log levels of Lambda's advanced logging controls, most detailed first.
pub const LAMBDA_LOG_LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// Which function and version this process is; empty outside Lambda.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionIdentity {
    pub name: Option<String>,
    pub version: Option<String>,
}

/// The project's crates other than the routes' functions (each crate named after its route,
/// `clients.update` is `clients_update`): a bare level in `RUST_LOG` is theirs. A test
/// (tools/planocore/tests/it/catalogue.rs) holds this against every crate a binary links.
const OWN_CRATES: [&str; 6] = ["domain", "store", "app", "route_fallback", "registry_sync", "planocore"];

/// Every crate of the project: the ones above and each route's function.
fn own_crates() -> impl Iterator<Item = String> {
    let functions = domain::routes::RouteId::ALL.into_iter().map(|route| route.name().replace('.', "_"));
    OWN_CRATES.into_iter().map(String::from).chain(functions)
}

/// `RUST_LOG` read as a bare level for the project's own crates (default `info`), with
/// `target=level` directives for any other; every other crate logs at `warn` or above, since
/// the SDK's trace output has carried credentials before.
#[derive(Debug, Clone, PartialEq)]
pub struct LogFilter {
    pub level: LevelFilter,
    pub named: Vec<(String, LevelFilter)>,
}

impl LogFilter {
    pub fn parse(spec: Option<&str>) -> LogFilter {
        let mut filter = LogFilter { level: LevelFilter::INFO, named: Vec::new() };
        for part in spec.unwrap_or("").split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some((target, level)) => {
                    if let Ok(level) = level.trim().parse() {
                        filter.named.push((target.trim().to_string(), level));
                    }
                }
                None => {
                    if let Ok(level) = part.parse() {
                        filter.level = level;
                    }
                }
            }
        }
        filter
    }

    /// `RUST_LOG` with Lambda's `AWS_LAMBDA_LOG_LEVEL` (`TRACE` … `FATAL`), which, as the Lambda
    /// runtime documents, takes precedence over `RUST_LOG`'s level; named targets stay.
    pub fn from_vars(rust_log: Option<&str>, lambda_level: Option<&str>) -> LogFilter {
        let mut filter = LogFilter::parse(rust_log);
        let lambda_level = lambda_level.map(|level| match level.to_ascii_uppercase().as_str() {
            "FATAL" => Ok(LevelFilter::ERROR),
            other => other.parse::<LevelFilter>(),
        });
        if let Some(Ok(level)) = lambda_level {
            filter.level = level;
        }
        filter
    }

    /// The filter itself: own crates at `level`, named targets at theirs, the rest at `warn` at
    /// most (and never above the own crates' level).
    pub fn targets(&self) -> Targets {
        let mut targets = Targets::new().with_default(self.level.min(LevelFilter::WARN));
        for own in own_crates() {
            targets = targets.with_target(own, self.level);
        }
        for (target, level) in &self.named {
            targets = targets.with_target(target.clone(), *level);
        }
        targets
    }
}

impl Settings {
    /// Settings that must stop a process at start: a Mandrill URL that is not `https://` (plain
    /// `http://` only to a loopback address, for a local stand-in) would send the key in clear.
    pub fn check(&self) -> Result<(), String> {
        let Some(url) = self.mandrill.api_url.as_deref() else { return Ok(()) };
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("https://") {
            return Ok(());
        }
        let host = lower.strip_prefix("http://").map(|rest| {
            let authority = rest.split('/').next().unwrap_or("");
            match authority.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or("").to_string(),
                None => authority.split(':').next().unwrap_or("").to_string(),
            }
        });
        let loopback =
            host.is_some_and(|h| h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()));
        if loopback {
            Ok(())
        } else {
            Err(format!(
                "MANDRILL_API_URL must be an https:// URL (http:// only to a loopback address such as \
                 http://127.0.0.1:PORT), not '{url}'"
            ))
        }
    }

    /// Only the composition root reads the environment: [`crate::config::settings`].
    pub(crate) fn from_env() -> Settings {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// The settings from any source of variables; a blank value counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Settings {
        let var = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        Settings {
            table_name: var("TABLE_NAME").unwrap_or_else(|| DEFAULT_TABLE.to_string()),
            dynamodb_endpoint: var("DYNAMODB_ENDPOINT"),
            secretsmanager_endpoint: var("SECRETSMANAGER_ENDPOINT"),
            region_set: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).is_some(),
            access_key_set: var("AWS_ACCESS_KEY_ID").is_some(),
            registry_cache: var("REGISTRY_CACHE_SECONDS")
                .and_then(|s| s.parse::<u64>().ok())
                .map_or(REGISTRY_CACHE, Duration::from_secs),
            log: LogFilter::from_vars(var("RUST_LOG").as_deref(), var("AWS_LAMBDA_LOG_LEVEL").as_deref()),
            lambda_log_level: var("AWS_LAMBDA_LOG_LEVEL")
                .map(|level| level.to_ascii_uppercase())
                .filter(|level| LAMBDA_LOG_LEVELS.contains(&level.as_str())),
            log_format: match var("AWS_LAMBDA_LOG_FORMAT") {
                Some(format) if format.eq_ignore_ascii_case("text") => LogFormat::Text,
                _ => LogFormat::Json,
            },
            function: FunctionIdentity {
                name: var("AWS_LAMBDA_FUNCTION_NAME"),
                version: var("AWS_LAMBDA_FUNCTION_VERSION"),
            },
            metrics_namespace: var("METRICS_NAMESPACE").unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_string()),
            ssl_cert_file: var("SSL_CERT_FILE"),
            mandrill: MandrillSettings {
                secret_id: var("MANDRILL_SECRET_ID"),
                api_key: var("MANDRILL_API_KEY"),
                api_url: var("MANDRILL_API_URL"),
                from_email: var("MANDRILL_FROM_EMAIL"),
                from_name: var("MANDRILL_FROM_NAME"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Settings {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_and_blank_values() {
        let s = from(&[("TABLE_NAME", "  "), ("REGISTRY_CACHE_SECONDS", "soon"), ("RUST_LOG", "loud")]);
        assert_eq!(s.table_name, DEFAULT_TABLE);
        assert_eq!(s.registry_cache, Duration::from_secs(30));
        assert_eq!(s.log, LogFilter::parse(Some("info")));
        assert_eq!((s.dynamodb_endpoint, s.region_set, s.access_key_set), (None, false, false));
    }

    #[test]
    fn values_are_trimmed_and_parsed() {
        let s = from(&[
            ("TABLE_NAME", " t1 "),
            ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("REGISTRY_CACHE_SECONDS", "0"),
            ("RUST_LOG", "warn"),
            ("MANDRILL_API_KEY", "k"),
        ]);
        assert_eq!(s.table_name, "t1");
        assert_eq!(s.dynamodb_endpoint.as_deref(), Some("http://127.0.0.1:8000"));
        assert!(s.region_set);
        assert_eq!(s.registry_cache, Duration::ZERO);
        assert_eq!(s.log.level, LevelFilter::WARN);
        assert_eq!(s.mandrill.api_key.as_deref(), Some("k"));
    }

    #[test]
    fn a_bare_level_is_the_projects_and_other_crates_need_naming() {
        let filter = LogFilter::parse(Some("trace, aws_smithy_runtime=debug, nonsense, hyper=loud"));
        assert_eq!(filter.level, LevelFilter::TRACE);
        assert_eq!(filter.named, [("aws_smithy_runtime".to_string(), LevelFilter::DEBUG)]);
        let targets = filter.targets();
        assert!(targets.would_enable("app::pipeline", &tracing::Level::TRACE));
        assert!(targets.would_enable("planocore", &tracing::Level::TRACE));
        assert!(!targets.would_enable("aws_sdk_dynamodb::client", &tracing::Level::INFO));
        assert!(targets.would_enable("aws_sdk_dynamodb::client", &tracing::Level::WARN));
        assert!(targets.would_enable("aws_smithy_runtime::client", &tracing::Level::DEBUG));
        assert!(!LogFilter::parse(Some("error")).targets().would_enable("hyper::proto", &tracing::Level::WARN));
    }

    #[test]
    fn lambdas_log_level_wins_over_rust_logs_and_its_format_is_honoured() {
        let s = from(&[("RUST_LOG", "debug,hyper=info"), ("AWS_LAMBDA_LOG_LEVEL", "WARN")]);
        assert_eq!(s.log.level, LevelFilter::WARN);
        assert_eq!(s.log.named, [("hyper".to_string(), LevelFilter::INFO)], "named targets stay");
        assert_eq!(from(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]).log.level, LevelFilter::ERROR);
        assert_eq!(from(&[("AWS_LAMBDA_LOG_LEVEL", "fatal")]).lambda_log_level.as_deref(), Some("FATAL"));
        assert_eq!(from(&[("AWS_LAMBDA_LOG_LEVEL", "loud")]).lambda_log_level, None);
        assert_eq!(from(&[("RUST_LOG", "debug"), ("AWS_LAMBDA_LOG_LEVEL", "loud")]).log.level, LevelFilter::DEBUG);
        assert_eq!(from(&[]).log_format, LogFormat::Json, "JSON unless told otherwise");
        assert_eq!(from(&[("AWS_LAMBDA_LOG_FORMAT", "Text")]).log_format, LogFormat::Text);
        assert_eq!(from(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")]).log_format, LogFormat::Json);
        let s = from(&[("AWS_LAMBDA_FUNCTION_NAME", "f"), ("AWS_LAMBDA_FUNCTION_VERSION", "3")]);
        assert_eq!(s.function, FunctionIdentity { name: Some("f".into()), version: Some("3".into()) });
        assert_eq!(s.metrics_namespace, DEFAULT_METRICS_NAMESPACE);
        assert_eq!(from(&[("METRICS_NAMESPACE", "Ops/dev")]).metrics_namespace, "Ops/dev");
    }

    #[test]
    fn the_mandrill_url_is_https_or_loopback() {
        for ok in [
            "https://mandrillapp.com/api/1.0",
            "HTTPS://x.example",
            "http://127.0.0.1:8080/api",
            "http://localhost/a",
            "http://[::1]:9/x",
        ] {
            assert_eq!(from(&[("MANDRILL_API_URL", ok)]).check(), Ok(()), "{ok}");
        }
        assert_eq!(from(&[]).check(), Ok(()), "the default is https");
        for bad in [
            "http://mandrillapp.com/api/1.0",
            "http://10.0.0.5/api",
            "ftp://x",
            "mandrillapp.com",
            "http://127.0.0.1.example/",
        ] {
            let err = from(&[("MANDRILL_API_URL", bad)]).check().unwrap_err();
            assert!(err.contains("https://") && err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_mandrill_key() {
        let s = from(&[("MANDRILL_API_KEY", "md-SECRET-123")]);
        let shown = format!("{s:?}");
        assert!(!shown.contains("md-SECRET-123") && shown.contains("<redacted>"), "{shown}");
    }
}
