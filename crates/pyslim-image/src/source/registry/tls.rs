//! The HTTP agent's TLS: the system's roots plus --ca-cert, verification off only for hosts
//! named with --insecure-registry.

use std::time::Duration;

use super::RegistryOptions;
use pyslim_core::error::{Error, Result};

/// The HTTP agent: TLS against the system's roots plus --ca-cert; verification off only for
/// hosts named with --insecure-registry (as dockerd does); redirects followed without the
/// `Authorization` header (blob stores on other hosts sign their own URLs).
pub(super) fn agent(
    opts: &RegistryOptions,
    skip_verify: bool,
    timeout: Duration,
    registry: &str,
) -> Result<ureq::Agent> {
    use ureq::tls::{RootCerts, TlsConfig};
    let mut certs = system_roots();
    if let Some(path) = &opts.ca_cert {
        let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let mut added = 0;
        for item in ureq::tls::parse_pem(&pem) {
            if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
                certs.push(c);
                added += 1;
            }
        }
        if added == 0 {
            return Err(Error::Usage(format!(
                "{}: no PEM certificate in it (--ca-cert wants the CA certificate that signed {registry}'s)",
                path.display()
            )));
        }
    }
    let roots = if certs.is_empty() {
        RootCerts::WebPki
    } else {
        RootCerts::from(certs)
    };
    let tls = TlsConfig::builder()
        .root_certs(roots)
        .disable_verification(skip_verify)
        .build();
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(tls)
        .timeout_connect(Some(timeout))
        .timeout_recv_response(Some(timeout))
        .timeout_per_read(Some(timeout))
        .max_redirects(5)
        .user_agent(concat!("pyslim/", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(config.into())
}

/// The system's CA bundle (SSL_CERT_FILE, else the usual places), as the docker CLI trusts.
fn system_roots() -> Vec<ureq::tls::Certificate<'static>> {
    let candidates = std::env::var_os("SSL_CERT_FILE")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(
            [
                "/etc/ssl/certs/ca-certificates.crt",
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/ssl/cert.pem",
            ]
            .map(std::path::PathBuf::from),
        );
    for path in candidates {
        if let Ok(pem) = std::fs::read(&path) {
            let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if !certs.is_empty() {
                return certs;
            }
        }
    }
    Vec::new()
}
