//! Every environment variable the functions and the local CLI read, in one place
//! (docs/api.md#environment-variables). Nothing else in the project calls `std::env::var`; the AWS SDK
//! reads its own (`AWS_REGION`, credentials) as documented by AWS.

use std::time::Duration;

use tracing_subscriber::filter::LevelFilter;

pub const DEFAULT_TABLE: &str = "planocore";

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
    /// `RUST_LOG` as one level (`error` … `trace`), default `info`.
    pub log_level: LevelFilter,
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

impl Settings {
    pub fn from_env() -> Settings {
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
                .map_or(crate::registry::DEFAULT_CACHE, Duration::from_secs),
            log_level: var("RUST_LOG").and_then(|v| v.parse::<LevelFilter>().ok()).unwrap_or(LevelFilter::INFO),
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
        assert_eq!(s.log_level, LevelFilter::INFO);
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
        assert_eq!(s.log_level, LevelFilter::WARN);
        assert_eq!(s.mandrill.api_key.as_deref(), Some("k"));
    }

    #[test]
    fn debug_output_never_shows_the_mandrill_key() {
        let s = from(&[("MANDRILL_API_KEY", "md-SECRET-123")]);
        let shown = format!("{s:?}");
        assert!(!shown.contains("md-SECRET-123") && shown.contains("<redacted>"), "{shown}");
    }
}
