//! A small registry client (the distribution API's read side) on ureq: ping, manifests and
//! blobs of one repository, with the two auth schemes registries use — Basic, and the Bearer
//! token flow of `WWW-Authenticate: Bearer realm=…` — and TLS against the system's roots.
//! Bodies are `Read`: blobs stream into the layer reader as they arrive.

use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use ureq::http::Response;
use ureq::Body;

use super::auth::{percent_encode, Challenge};
use super::credentials::Found;
use super::reference::{is_loopback, strip_port, Reference};
use super::tls::agent;
use super::RegistryOptions;
use pyslim_core::error::{Error, Result};

/// What the manifests endpoint is asked for: every image and index format pyslim reads.
/// Schema 1 is not offered; a registry that has nothing else still sends it (refused later).
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Waits on `429 Too Many Requests` (and 503) at most this long in all, per request.
const MOST_RETRY_WAIT: Duration = Duration::from_secs(30);

pub struct Client {
    pub(super) agent: ureq::Agent,
    /// `https://host:port` or, for loopback and --insecure-registry hosts, maybe `http://…`.
    pub(super) base: String,
    /// The registry as the user named it, for messages.
    pub(super) registry: String,
    pub(super) repository: String,
    /// Hosts that may be spoken to in plain http (a token realm among them).
    pub(super) plain_http_ok: Vec<String>,
    pub(super) credentials: Option<Found>,
    /// The `Authorization` header value that works now (Basic, or a Bearer token).
    pub(super) auth: Mutex<Option<String>>,
    pub(super) timeout: Duration,
}

/// How long to wait for a connection, a response, or the next bytes of a body.
pub fn timeout() -> Duration {
    let secs = std::env::var("PYSLIM_REGISTRY_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

impl Client {
    /// Finds how the registry answers (https, or plain http where allowed) with a ping of
    /// `/v2/`, as the docker CLI does.
    pub fn connect(
        reference: &Reference,
        opts: &RegistryOptions,
        credentials: Option<Found>,
    ) -> Result<Client> {
        let host = reference.api_host().to_owned();
        let named_insecure = opts.insecure_registries.iter().any(|h| {
            h == &reference.registry
                || h == &host
                || strip_port(h) == strip_port(&host) && !h.contains(':')
        });
        let plain_ok = named_insecure || is_loopback(&host);
        let timeout = timeout();
        let agent = agent(opts, named_insecure, timeout, &reference.registry)?;
        let mut plain_http_ok = opts.insecure_registries.clone();
        if plain_ok {
            plain_http_ok.push(host.clone());
        }
        let mut client = Client {
            agent,
            base: format!("https://{host}"),
            registry: reference.registry.clone(),
            repository: reference.repository.clone(),
            plain_http_ok,
            credentials,
            auth: Mutex::new(None),
            timeout,
        };
        let https = client.ping();
        match https {
            Ok(()) => Ok(client),
            // A plain-http registry on an allowed host answers a TLS hello with garbage:
            // speak http to it (dockerd does the same). A certificate it does not trust is
            // never a reason to drop TLS.
            Err(PingError::NotTls(e)) if plain_ok => {
                client.base = format!("http://{host}");
                match client.ping() {
                    Ok(()) => Ok(client),
                    Err(_) => Err(e),
                }
            }
            Err(PingError::NotTls(e) | PingError::Other(e)) => Err(e),
        }
    }

    fn ping(&self) -> std::result::Result<(), PingError> {
        let url = format!("{}/v2/", self.base);
        match self.agent.get(&url).call() {
            Ok(resp) => match resp.status().as_u16() {
                404 => Err(PingError::Other(Error::Registry(format!(
                    "{}: {} does not answer as a registry (no /v2/ API there)",
                    self.registry, self.base
                )))),
                _ => Ok(()),
            },
            Err(e) => {
                let described = self.describe(&e);
                // What a plain-http server makes of a TLS hello ("corrupt message of type
                // InvalidContentType"), unlike a refused connection, a missing host, a
                // timeout or a certificate that is not trusted.
                let unreachable = matches!(
                    &e,
                    ureq::Error::HostNotFound
                        | ureq::Error::ConnectionFailed
                        | ureq::Error::Timeout(_)
                ) || matches!(&e, ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused);
                let not_tls = !unreachable && !e.to_string().to_lowercase().contains("certificate");
                Err(if not_tls {
                    PingError::NotTls(described)
                } else {
                    PingError::Other(described)
                })
            }
        }
    }

    /// `https://host` or `http://host`, as the ping found.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// GETs `/v2/REPO/{path}`, authenticating when the registry asks, waiting (bounded) when
    /// it says too many requests.
    fn get(&self, path: &str, accept: Option<&str>) -> Result<Response<Body>> {
        let url = format!("{}/v2/{}/{}", self.base, self.repository, path);
        let mut authenticated = false;
        let mut waited = Duration::ZERO;
        loop {
            let mut req = self.agent.get(&url);
            if let Some(accept) = accept {
                req = req.header("Accept", accept);
            }
            let header = self.auth.lock().ok().and_then(|a| a.clone());
            if let Some(h) = &header {
                req = req.header("Authorization", h);
            }
            let resp = req.call().map_err(|e| self.describe(&e))?;
            match resp.status().as_u16() {
                401 if !authenticated => {
                    let challenge = resp
                        .headers()
                        .get("www-authenticate")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    self.authenticate(&challenge)?;
                    authenticated = true;
                }
                401 | 403 => return Err(self.refused()),
                429 | 503 => {
                    let wait = retry_after(&resp).unwrap_or(Duration::from_secs(1));
                    if waited + wait > MOST_RETRY_WAIT {
                        return Err(Error::Registry(format!(
                            "{}: the registry keeps answering HTTP {} (too many requests): try again later",
                            self.registry,
                            resp.status().as_u16()
                        )));
                    }
                    std::thread::sleep(wait);
                    waited += wait;
                }
                _ => return Ok(resp),
            }
        }
    }

    /// Answers a challenge: Basic with the credentials, or a Bearer token from the realm.
    fn authenticate(&self, challenge: &str) -> Result<()> {
        let parsed = Challenge::parse(challenge);
        let header = match parsed {
            Some(Challenge::Basic) => match &self.credentials {
                Some(found) => found.credentials.basic_header(),
                None => return Err(self.needs_login()),
            },
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => format!("Bearer {}", self.token(&realm, service.as_deref(), scope)?),
            None => {
                return Err(Error::Registry(format!(
                    "{}: the registry asks for an authentication pyslim does not speak ({})",
                    self.registry,
                    challenge.split_whitespace().next().unwrap_or("none given")
                )))
            }
        };
        if let Ok(mut auth) = self.auth.lock() {
            *auth = Some(header);
        }
        Ok(())
    }

    /// The Bearer token flow: GET the realm with the service and scope, with Basic
    /// credentials when there are any (anonymous otherwise, as for public images).
    fn token(&self, realm: &str, service: Option<&str>, scope: Option<String>) -> Result<String> {
        let scope = scope.unwrap_or_else(|| format!("repository:{}:pull", self.repository));
        if let Some(rest) = realm.strip_prefix("http://") {
            let host = rest.split('/').next().unwrap_or(rest);
            let allowed = is_loopback(host) || self.plain_http_ok.iter().any(|h| h == host);
            if !allowed {
                return Err(Error::Registry(format!(
                    "{}: the token service {host} speaks plain http; pyslim sends no credentials there (name it with --insecure-registry {host} if you trust the network)",
                    self.registry
                )));
            }
        } else if !realm.starts_with("https://") {
            return Err(Error::Registry(format!(
                "{}: the registry names a token service that is not a URL",
                self.registry
            )));
        }
        let mut url = format!("{realm}{}", if realm.contains('?') { '&' } else { '?' });
        if let Some(service) = service {
            url.push_str(&format!("service={}&", percent_encode(service)));
        }
        url.push_str(&format!("scope={}", percent_encode(&scope)));
        let mut req = self.agent.get(&url);
        if let Some(found) = &self.credentials {
            req = req.header("Authorization", found.credentials.basic_header());
        }
        let mut resp = req.call().map_err(|e| self.describe(&e))?;
        match resp.status().as_u16() {
            200 => {}
            401 | 403 => {
                return Err(if self.credentials.is_some() {
                    self.refused()
                } else {
                    self.needs_login()
                })
            }
            status => {
                return Err(Error::Registry(format!(
                    "{}: the token service answered HTTP {status}",
                    self.registry
                )))
            }
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|e| self.describe(&e))?;
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
            Error::Registry(format!(
                "{}: the token service's answer is not a token",
                self.registry
            ))
        })?;
        answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::Registry(format!(
                    "{}: the token service's answer holds no token",
                    self.registry
                ))
            })
    }

    /// A manifest or index by tag or digest, whole (at most `limit` bytes), with its media
    /// type.
    pub fn manifest(&self, target: &str, limit: u64) -> Result<(Vec<u8>, String)> {
        let mut resp = self.get(&format!("manifests/{target}"), Some(MANIFEST_ACCEPT))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(self.status_error(&mut resp, target));
        }
        let media_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        let bytes = self.read_small(&mut resp, target, limit)?;
        Ok((bytes, media_type))
    }

    /// A small blob (the config) whole, at most `limit` bytes.
    pub fn small_blob(&self, digest: &str, limit: u64) -> Result<Vec<u8>> {
        let mut resp = self.get(&format!("blobs/{digest}"), None)?;
        if resp.status().as_u16() != 200 {
            return Err(self.status_error(&mut resp, digest));
        }
        self.read_small(&mut resp, digest, limit)
    }

    /// A blob as a stream, with its length when the registry says it.
    pub fn blob(&self, digest: &str) -> Result<(Box<dyn Read + Send>, Option<u64>)> {
        let mut resp = self.get(&format!("blobs/{digest}"), None)?;
        if resp.status().as_u16() != 200 {
            return Err(self.status_error(&mut resp, digest));
        }
        let len = resp.body().content_length();
        Ok((Box::new(resp.into_body().into_reader()), len))
    }

    fn read_small(&self, resp: &mut Response<Body>, what: &str, limit: u64) -> Result<Vec<u8>> {
        let too_big = |len: u64| Error::Limit {
            input: format!("{}/{}: {what}", self.registry, self.repository),
            what: format!("a JSON document of {len} bytes"),
            limit,
            flag: "--max-json-bytes",
        };
        if let Some(len) = resp.body().content_length().filter(|&l| l > limit) {
            return Err(too_big(len));
        }
        let mut bytes = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                Error::Registry(format!("{}: reading {what} broke off: {e}", self.registry))
            })?;
        if bytes.len() as u64 > limit {
            return Err(too_big(bytes.len() as u64));
        }
        Ok(bytes)
    }
}

enum PingError {
    /// The server does not speak TLS (a plain-http registry, maybe).
    NotTls(Error),
    Other(Error),
}

/// `Retry-After` in seconds (the form registries send), capped.
fn retry_after(resp: &Response<Body>) -> Option<Duration> {
    let secs: u64 = resp
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(MOST_RETRY_WAIT.as_secs())))
}
