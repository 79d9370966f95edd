//! Image references as the docker CLI reads them: `python:3.12-slim` is
//! `docker.io/library/python:3.12-slim`, `localhost:5000/app@sha256:…` names its registry.

use pyslim_core::error::{Error, Result};

pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API answers.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A registry, a repository in it, and a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The registry as it is named (`docker.io`, `localhost:5000`, `ghcr.io`).
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    /// Parses a reference with docker's normalisation. `None` when `text` is not one.
    pub fn parse(text: &str) -> Option<Reference> {
        let (name, digest) = match text.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (text, None),
        };
        if let Some(d) = digest {
            if !is_digest(d) {
                return None;
            }
        }
        // A tag is what follows the last ':' after the last '/' (a registry's port comes
        // before a '/').
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
            None => (name, None),
        };
        if let Some(t) = tag {
            if !is_tag(t) {
                return None;
            }
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), rest.to_owned())
            }
            _ => (DOCKER_HUB.to_owned(), name.to_owned()),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_owned(),
            _ => registry,
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if !is_repository(&repository) || !is_registry(&registry) {
            return None;
        }
        Some(Reference {
            registry,
            repository,
            tag: tag.map(str::to_owned).or_else(|| {
                // A bare name means `latest`, as for `docker pull`.
                digest.is_none().then(|| "latest".to_owned())
            }),
            digest: digest.map(str::to_owned),
        })
    }

    /// Parses or says why not, in one line.
    pub fn parse_or_explain(text: &str) -> Result<Reference> {
        Reference::parse(text).ok_or_else(|| {
            Error::Usage(format!(
                "{text}: not an image reference (expected [HOST[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST])"
            ))
        })
    }

    /// The host (and port) the registry API answers on.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// What to ask the manifests endpoint for: the digest when there is one, else the tag.
    pub fn target(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// `sha256:` and 64 lowercase hex digits (the only algorithm registries serve).
pub fn is_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// A host name or address, with an optional numeric port.
fn is_registry(r: &str) -> bool {
    let host = strip_port(r);
    let port_ok = r[host.len()..]
        .strip_prefix(':')
        .is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        inner.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
    };
    port_ok && host_ok
}

fn is_tag(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && t.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Lowercase path components of letters, digits and single separators.
fn is_repository(r: &str) -> bool {
    !r.is_empty()
        && r.split('/').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
                && part
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphanumeric())
                && part
                    .bytes()
                    .last()
                    .is_some_and(|b| b.is_ascii_alphanumeric())
        })
}

/// Hosts that dockerd lets speak plain http without being told: loopback names and
/// addresses.
pub fn is_loopback(host_port: &str) -> bool {
    let host = strip_port(host_port);
    if host == "localhost" {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// `host:port` → `host`, `[::1]:5000` → `[::1]`.
pub fn strip_port(host_port: &str) -> &str {
    if let Some(end) = host_port.strip_prefix('[').and_then(|r| r.find(']')) {
        return &host_port[..end + 2];
    }
    match host_port.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !host.contains(':') => {
            host
        }
        _ => host_port,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> String {
        Reference::parse(text).map_or("-".into(), |r| r.to_string())
    }

    #[test]
    fn docker_hub_names_normalise_as_the_docker_cli_does() {
        assert_eq!(
            parsed("python:3.12-slim"),
            "docker.io/library/python:3.12-slim"
        );
        assert_eq!(parsed("python"), "docker.io/library/python:latest");
        assert_eq!(parsed("bitnami/redis:7"), "docker.io/bitnami/redis:7");
        assert_eq!(
            parsed("index.docker.io/library/alpine:3"),
            "docker.io/library/alpine:3"
        );
        let r = Reference::parse("python:3.12-slim").unwrap();
        assert_eq!(r.api_host(), "registry-1.docker.io");
    }

    #[test]
    fn registries_are_named_by_a_dot_a_port_or_localhost() {
        assert_eq!(parsed("ghcr.io/org/app:1"), "ghcr.io/org/app:1");
        assert_eq!(
            parsed("localhost:5000/team/app"),
            "localhost:5000/team/app:latest"
        );
        assert_eq!(parsed("localhost/app:2"), "localhost/app:2");
        assert_eq!(parsed("127.0.0.1:41234/x:y"), "127.0.0.1:41234/x:y");
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            parsed(&format!("127.0.0.1:5000/x@{d}")),
            format!("127.0.0.1:5000/x@{d}")
        );
        assert_eq!(
            Reference::parse(&format!("x:1@{d}")).unwrap().target(),
            d,
            "a digest wins over a tag"
        );
    }

    #[test]
    fn what_is_not_a_reference_is_refused() {
        for bad in [
            "",
            "UPPER/case",
            "a//b",
            "app:",
            "app@sha256:abc",
            "app:bad/tag",
            "-lead",
            "my app",
        ] {
            assert_eq!(parsed(bad), "-", "{bad:?}");
        }
    }

    #[test]
    fn loopback_hosts_are_known_with_or_without_a_port() {
        for host in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:1",
            "127.3.4.5",
            "[::1]:5000",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "example.com:5000",
            "10.0.0.1",
            "ghcr.io",
            "[2001:db8::1]:443",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
