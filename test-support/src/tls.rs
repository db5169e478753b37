//! A throwaway certificate authority for HTTPS stand-ins. The functions trust it the way they
//! trust Amazon's in production: through `SSL_CERT_FILE`, the one CA bundle they read
//! (`app::https::ca_bundle`). Each authority is new, so a test that trusts one and is shown a
//! certificate from another proves the certificate is checked.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate authority made for one test, with its certificate in a PEM file.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    bundle: PathBuf,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, format!("PlanOcore test CA {name}"));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("a CA key")).expect("a CA");
        let bundle = std::env::temp_dir().join(format!("planocore-ca-{name}-{}.pem", uuid::Uuid::new_v4().simple()));
        std::fs::write(&bundle, issuer.pem()).expect("the CA bundle written");
        TestCa { issuer, bundle }
    }

    /// The PEM file to give a function as `SSL_CERT_FILE`.
    pub fn bundle(&self) -> &Path {
        &self.bundle
    }

    /// A server certificate for `names` (DNS names or IP addresses), signed by this authority.
    pub fn server_identity(&self, names: &[&str]) -> ServerIdentity {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("server certificate parameters");
        params.distinguished_name.push(DnType::CommonName, "PlanOcore test server");
        let key = KeyPair::generate().expect("a server key");
        let cert = params.signed_by(&key, &self.issuer).expect("a server certificate");
        ServerIdentity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.bundle);
    }
}

/// A server's certificate and private key, as DER for rustls and as PEM for other servers.
pub struct ServerIdentity {
    pub cert_pem: String,
    pub key_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl ServerIdentity {
    /// A rustls server (ring, as the functions' client) presenting this certificate.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        let config = rustls::ServerConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
            .with_safe_default_protocol_versions()
            .expect("ring offers the default protocol versions")
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .expect("the server certificate and key match");
        tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config))
    }
}
