//! Registry credentials, found where the docker CLI keeps them: what the user gave on this
//! run first (`--username` with `--password-stdin`, or `PYSLIM_REGISTRY_USERNAME` and
//! `PYSLIM_REGISTRY_PASSWORD`), then `$DOCKER_CONFIG/config.json` (`credHelpers`,
//! `credsStore` through the `docker-credential-*` protocol, then `auths`).
//! A secret is never printed: `Debug` hides it, and errors name only the user.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine;
use serde::Deserialize;

use super::reference::DOCKER_HUB;

/// A user name and its password or token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, <hidden>)", self.username)
    }
}

impl Credentials {
    /// The value of a Basic `Authorization` header.
    pub fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.secret);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// Where the credentials for a registry came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub credentials: Credentials,
    pub origin: String,
}

#[derive(Deserialize, Default)]
struct DockerConfig {
    #[serde(default)]
    auths: std::collections::HashMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: std::collections::HashMap<String, String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// The credentials for `registry` (as named in the reference), or `None` for anonymous.
/// `given` is what the command line or the environment gave.
pub fn lookup(registry: &str, given: Option<Credentials>) -> Option<Found> {
    if let Some(credentials) = given {
        return Some(Found {
            credentials,
            origin: "the command line".into(),
        });
    }
    if let (Ok(username), Ok(secret)) = (
        std::env::var("PYSLIM_REGISTRY_USERNAME"),
        std::env::var("PYSLIM_REGISTRY_PASSWORD"),
    ) {
        return Some(Found {
            credentials: Credentials { username, secret },
            origin: "PYSLIM_REGISTRY_USERNAME".into(),
        });
    }
    let path = docker_config_path()?;
    let text = std::fs::read(&path).ok()?;
    let config: DockerConfig = serde_json::from_slice(&text).ok()?;
    from_docker_config(&config, registry, &path.display().to_string())
}

fn docker_config_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => Some(PathBuf::from(dir).join("config.json")),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json")),
    }
}

/// The key docker writes for a registry: Docker Hub's legacy URL, else the host.
fn server_key(registry: &str) -> String {
    if registry == DOCKER_HUB {
        "https://index.docker.io/v1/".into()
    } else {
        registry.to_owned()
    }
}

/// `https://host:port/v1/` → `host:port`, with Docker Hub's aliases as `docker.io`.
fn key_host(key: &str) -> &str {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = rest.split('/').next().unwrap_or(rest);
    match host {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB,
        other => other,
    }
}

fn from_docker_config(config: &DockerConfig, registry: &str, file: &str) -> Option<Found> {
    let helper = config
        .cred_helpers
        .iter()
        .find(|(k, _)| key_host(k) == registry)
        .map(|(_, v)| v)
        .or(config.creds_store.as_ref());
    if let Some(helper) = helper {
        if let Some(credentials) = from_helper(helper, &server_key(registry)) {
            return Some(Found {
                credentials,
                origin: format!("docker-credential-{helper}"),
            });
        }
    }
    let entry = config
        .auths
        .iter()
        .find(|(k, _)| key_host(k) == registry)
        .map(|(_, v)| v)?;
    let credentials = match (&entry.auth, &entry.username, &entry.password) {
        (Some(auth), _, _) if !auth.is_empty() => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .ok()?;
            let raw = String::from_utf8(raw).ok()?;
            let (username, secret) = raw.split_once(':')?;
            Credentials {
                username: username.to_owned(),
                secret: secret.to_owned(),
            }
        }
        (_, Some(username), Some(password)) => Credentials {
            username: username.clone(),
            secret: password.clone(),
        },
        _ => return None,
    };
    Some(Found {
        credentials,
        origin: file.to_owned(),
    })
}

/// Asks `docker-credential-NAME get` for the server's credentials. A helper that is
/// missing, fails or has nothing for this server gives `None` (anonymous, as docker does).
fn from_helper(name: &str, server: &str) -> Option<Credentials> {
    let mut child = Command::new(format!("docker-credential-{name}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(server.as_bytes()).ok()?;
    }
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        return None;
    }
    let answer: HelperAnswer = serde_json::from_slice(&out.stdout).ok()?;
    Some(Credentials {
        username: answer.username,
        secret: answer.secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> DockerConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn auths_are_found_by_host_whatever_the_key_looks_like() {
        // base64("ci:s3cret")
        let c = config(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"Y2k6czNjcmV0"},
                         "127.0.0.1:5000":{"username":"u","password":"p"}}}"#,
        );
        let hub = from_docker_config(&c, "docker.io", "config.json").unwrap();
        assert_eq!(hub.credentials.username, "ci");
        assert_eq!(hub.credentials.secret, "s3cret");
        let local = from_docker_config(&c, "127.0.0.1:5000", "config.json").unwrap();
        assert_eq!(local.credentials.username, "u");
        assert!(from_docker_config(&c, "ghcr.io", "config.json").is_none());
    }

    #[test]
    fn a_missing_helper_falls_back_to_auths_and_the_secret_never_prints() {
        let c = config(
            r#"{"credsStore":"pyslim-test-no-such-helper",
                "auths":{"ghcr.io":{"auth":"Y2k6czNjcmV0"}}}"#,
        );
        let found = from_docker_config(&c, "ghcr.io", "config.json").unwrap();
        assert_eq!(found.credentials.secret, "s3cret");
        assert!(!format!("{found:?}").contains("s3cret"));
        assert_eq!(
            found.credentials.basic_header(),
            "Basic Y2k6czNjcmV0",
            "the header is user:secret in base64"
        );
    }
}
