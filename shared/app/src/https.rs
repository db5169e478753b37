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
/// `ssl_cert_file`: the CA bundle to trust, as [`ca_bundle`] reads it.
pub fn client(ssl_cert_file: Option<&str>) -> HttpsClient {
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match tls_config(ssl_cert_file) {
        Some(config) => builder.with_tls_config(config),
        None => builder
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .expect("ring offers the default protocol versions"),
    };
    let connector = builder.https_or_http().enable_http1().build();
    HttpClient::builder(TokioExecutor::new()).build(connector)
}

/// rustls over ring trusting the system's CA bundle, or `None` when there is none to read.
fn tls_config(ssl_cert_file: Option<&str>) -> Option<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    let pem = ca_bundle(ssl_cert_file)?;
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

/// The system's CA certificates as one PEM bundle (`ssl_cert_file`: `SSL_CERT_FILE`, else the usual bundle of
/// Amazon Linux or Debian). Reading one file is one open; letting the TLS stack scan the
/// certificate directory is ~140, most of a cold start. `None`: fall back to that scan.
pub fn ca_bundle(ssl_cert_file: Option<&str>) -> Option<Vec<u8>> {
    let mut candidates = ssl_cert_file.into_iter().chain([
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/ssl/cert.pem",
    ]);
    candidates.find_map(|path| std::fs::read(path).ok().filter(|pem| !pem.is_empty()))
}
