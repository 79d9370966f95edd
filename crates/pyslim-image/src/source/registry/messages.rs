//! The lines a failed registry request ends in: what failed, at which registry, what to do.
//! None holds a secret: URLs carry none, and headers are never printed.

use std::io::Read;

use serde::Deserialize;
use ureq::http::Response;
use ureq::Body;

use super::client::Client;
use super::reference::strip_port;
use pyslim_core::error::Error;

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    code: String,
}

impl Client {
    pub(super) fn status_error(&self, resp: &mut Response<Body>, what: &str) -> Error {
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        let _ = resp
            .body_mut()
            .as_reader()
            .take(64 * 1024)
            .read_to_end(&mut body);
        let code = serde_json::from_slice::<ErrorBody>(&body)
            .ok()
            .and_then(|b| b.errors.into_iter().next())
            .map(|e| e.code)
            .unwrap_or_default();
        let name = format!("{}/{}", self.registry, self.repository);
        match (status, code.as_str()) {
            (404, "NAME_UNKNOWN") => Error::Registry(format!(
                "{name}: no such repository in {}: check the name",
                self.registry
            )),
            (404, "BLOB_UNKNOWN") => Error::Registry(format!(
                "{name}: the registry has no blob {what}, which the manifest names: the image is incomplete there; push it again"
            )),
            (404, _) => Error::Registry(format!(
                "{name}: no {what} there (check the tag or digest; `skopeo list-tags docker://{name}` lists the tags)"
            )),
            (status, code) => Error::Registry(format!(
                "{name}: the registry answered HTTP {status}{} for {what}",
                if code.is_empty() {
                    String::new()
                } else {
                    format!(" ({code})")
                }
            )),
        }
    }

    pub(super) fn needs_login(&self) -> Error {
        Error::Registry(format!(
            "{}: {} needs credentials: log in with `docker login {}`, or set PYSLIM_REGISTRY_USERNAME and PYSLIM_REGISTRY_PASSWORD (or pass --username and --password-stdin)",
            self.registry, self.repository, self.registry
        ))
    }

    pub(super) fn refused(&self) -> Error {
        match &self.credentials {
            Some(found) => Error::Registry(format!(
                "{}: the credentials of {} (from {}) were refused for {}: check them, or log in again with `docker login {}`",
                self.registry, found.credentials.username, found.origin, self.repository, self.registry
            )),
            None => self.needs_login(),
        }
    }

    /// One line for a failed request, by what went wrong underneath. Never holds a secret:
    /// URLs carry none, and headers are not printed.
    pub(super) fn describe(&self, err: &ureq::Error) -> Error {
        let registry = &self.registry;
        let base = &self.base;
        let text = match err {
            ureq::Error::HostNotFound => format!(
                "{registry}: cannot resolve {}: check the name (and the network)",
                strip_port(base.split("://").nth(1).unwrap_or(base))
            ),
            ureq::Error::Io(e) if e.to_string().contains("lookup address") => format!(
                "{registry}: cannot resolve {}: check the name (and the network)",
                strip_port(base.split("://").nth(1).unwrap_or(base))
            ),
            ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => format!(
                "{registry}: cannot connect to {base}: connection refused (is the registry running, and is the address right?)"
            ),
            ureq::Error::ConnectionFailed => format!(
                "{registry}: cannot connect to {base} (is the registry running, and is the address right?)"
            ),
            ureq::Error::Timeout(what) => format!(
                "{registry}: {base} did not answer within {}s ({what}); set PYSLIM_REGISTRY_TIMEOUT to wait longer",
                self.timeout.as_secs()
            ),
            ureq::Error::Rustls(_) | ureq::Error::Tls(_) | ureq::Error::Pem(_) => format!(
                "{registry}: TLS failure talking to {base}: {}; if its certificate comes from your own CA, pass the CA with --ca-cert FILE; if it speaks plain http, name it with --insecure-registry {registry}",
                pyslim_core::format::one_line(&err.to_string())
            ),
            // rustls reports through the socket's io::Error.
            ureq::Error::Io(e) if is_tls_failure(e) => format!(
                "{registry}: TLS failure talking to {base}: {}; if its certificate comes from your own CA, pass the CA with --ca-cert FILE; if it speaks plain http, name it with --insecure-registry {registry}",
                pyslim_core::format::one_line(&err.to_string())
            ),
            other => format!(
                "{registry}: request to {base} failed: {}",
                pyslim_core::format::one_line(&other.to_string())
            ),
        };
        Error::Registry(text)
    }
}

/// Whether an I/O error is rustls refusing the peer (its words; ureq passes them as io).
fn is_tls_failure(err: &std::io::Error) -> bool {
    let text = err.to_string().to_lowercase();
    [
        "certificate",
        "handshake",
        "alert",
        "corrupt message",
        "tls",
    ]
    .iter()
    .any(|w| text.contains(w))
}
