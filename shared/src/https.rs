//! The one HTTPS client outside the AWS SDK: hyper over rustls with ring (the TLS stack the SDK
//! already links), trusting the system's CA bundle. The Mandrill client and the registry-sync
//! function's answer to CloudFormation use it.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;

pub type HttpsClient = HttpClient<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client for `https://` URLs, and `http://` for a local stand-in (callers decide which URLs
/// they accept).
pub fn client() -> HttpsClient {
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match tls_config() {
        Some(config) => builder.with_tls_config(config),
        None => builder
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .expect("ring offers the default protocol versions"),
    };
    let connector = builder.https_or_http().enable_http1().build();
    HttpClient::builder(TokioExecutor::new()).build(connector)
}

/// rustls over ring trusting the system's CA bundle, or `None` when there is none to read.
fn tls_config() -> Option<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    let pem = crate::ca_bundle()?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_pki_types::CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok));
    if roots.is_empty() {
        return None;
    }
    rustls::ClientConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
        .with_safe_default_protocol_versions()
        .ok()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}
