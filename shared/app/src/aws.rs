//! The AWS SDK's clients: one HTTPS client (rustls on ring) trusting the CA bundle, bounded
//! timeouts and retries, and a DynamoDB client that counts its calls.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::{RuntimeComponents, RuntimeComponentsBuilder};
use aws_smithy_types::config_bag::ConfigBag;

use crate::https::ca_bundle;
use crate::settings::Settings;
use crate::telemetry::StoreCallCounter;

const DEFAULT_REGION: &str = "us-east-1";

/// How long one SDK call may take.
#[derive(Debug, Clone, Copy)]
pub struct SdkTimeouts {
    pub connect: Duration,
    pub attempt: Duration,
    pub operation: Duration,
}

impl SdkTimeouts {
    /// DynamoDB answers in milliseconds: a call that takes seconds has failed, and an
    /// unreachable store fails a request within about 3 seconds, never a Lambda timeout.
    pub const PRODUCTION: SdkTimeouts = SdkTimeouts {
        connect: Duration::from_millis(1000),
        attempt: Duration::from_millis(1500),
        operation: Duration::from_millis(3000),
    };

    /// A local emulator (DynamoDB Local: one JVM over SQLite, sharing the machine with the tests)
    /// can take seconds for a call under load. Still inside the request's own 8 s deadline.
    pub const LOCAL_EMULATOR: SdkTimeouts = SdkTimeouts {
        connect: Duration::from_secs(2),
        attempt: Duration::from_secs(6),
        operation: Duration::from_secs(7),
    };

    /// The emulator's limits for an explicit endpoint, DynamoDB's otherwise.
    pub fn for_endpoint(endpoint: Option<&str>) -> SdkTimeouts {
        if endpoint.is_some() {
            SdkTimeouts::LOCAL_EMULATOR
        } else {
            SdkTimeouts::PRODUCTION
        }
    }
}

/// Shared SDK settings: one rustls (ring) HTTPS client trusting the CA bundle of `settings`,
/// bounded timeouts and retries; `endpoint` for a local emulator.
pub async fn sdk_config(settings: &Settings, endpoint: Option<&str>, limits: SdkTimeouts) -> aws_config::SdkConfig {
    let mut http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
    if let Some(pem) = ca_bundle(settings.ssl_cert_file.as_deref()) {
        let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(pem);
        match TlsContext::builder().with_trust_store(trust).build() {
            Ok(context) => http = http.tls_context(context),
            Err(e) => tracing::warn!(error = %e, "CA bundle unusable; using the system's certificate directory"),
        }
    }
    let http = SharedHttpClient::new(NoThrowawayConnector(http.build_https()));
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(limits.connect)
        .operation_attempt_timeout(limits.attempt)
        .operation_timeout(limits.operation)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(3));
    if !settings.region_set {
        loader = loader.region(Region::new(DEFAULT_REGION));
    }
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
        // A local emulator takes any key; don't go looking for real credentials.
        if !settings.access_key_set {
            loader = loader.credentials_provider(Credentials::new("local", "local", None, None, "planocore-local"));
        }
    }
    loader.load().await
}

/// The SDK's HTTPS client without its start-up check. That check (`validate_base_client_config`)
/// builds a connector and throws it away, meant to load the platform's certificates early; with
/// our CA bundle it decodes all 219 KB of PEM again for nothing: 43 % of the instructions of
/// init before the first connection (docs/performance.md#where-init-and-latency-go). The
/// connector the first call builds is the one kept, and that call is made during init by
/// [`Deps::prewarm`] anyway.
#[derive(Debug)]
struct NoThrowawayConnector(SharedHttpClient);

impl HttpClient for NoThrowawayConnector {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn validate_base_client_config(&self, _: &RuntimeComponentsBuilder, _: &ConfigBag) -> Result<(), BoxError> {
        Ok(())
    }

    fn validate_final_config(&self, components: &RuntimeComponents, cfg: &ConfigBag) -> Result<(), BoxError> {
        self.0.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// The DynamoDB client at `endpoint` (AWS's when `None`) within `limits`, counting each
/// operation for the request it serves ([`StoreCallCounter`]).
pub async fn dynamodb_client(
    settings: &Settings,
    endpoint: Option<&str>,
    limits: SdkTimeouts,
) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config(settings, endpoint, limits).await)
        .interceptor(StoreCallCounter)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}
