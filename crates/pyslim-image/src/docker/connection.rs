//! The connection to the Docker engine, shared by the daemon reader (`source::daemon`) and
//! the engine's actions (`docker::{load, build, smoke}`): where it is (DOCKER_HOST), how long
//! to wait (PYSLIM_DOCKER_TIMEOUT), API version negotiation, and the words for its failures.

use std::time::Duration;

use bollard::Docker;

use pyslim_core::error::{Error, Result};

/// Where the daemon is, for messages.
pub fn docker_host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

pub(crate) fn connect_timeout() -> Duration {
    let secs = std::env::var("PYSLIM_DOCKER_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    Duration::from_secs(secs)
}

/// Words for a failed call to the daemon, by what went wrong underneath.
pub(crate) fn describe(err: &bollard::errors::Error, reference: &str) -> Error {
    use bollard::errors::Error as B;
    if let B::DockerResponseServerError {
        status_code,
        message,
    } = err
    {
        if *status_code == 404 {
            return Error::ImageNotFound(format!(
                "{reference} (the Docker daemon at {} has no such image)",
                docker_host()
            ));
        }
        return Error::Daemon(format!(
            "the Docker daemon refused: {message} (HTTP {status_code})"
        ));
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    let host = docker_host();
    let lower = text.to_lowercase();
    if lower.contains("permission denied") {
        Error::Daemon(format!(
            "permission denied on the Docker socket {host}: run as a member of the docker group, or set DOCKER_HOST"
        ))
    } else if lower.contains("no such file")
        || lower.contains("connection refused")
        || lower.contains("socket not found")
    {
        Error::Daemon(format!(
            "cannot connect to the Docker daemon at {host}: is it running?"
        ))
    } else if lower.contains("timed out") || lower.contains("timeout") {
        Error::Daemon(format!(
            "the Docker daemon at {host} did not answer within {}s (set PYSLIM_DOCKER_TIMEOUT to wait longer)",
            connect_timeout().as_secs()
        ))
    } else {
        Error::Daemon(format!("the Docker daemon at {host} failed: {text}"))
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Error::Daemon(format!("cannot start the async runtime: {e}")))
}

fn no_answer() -> Error {
    Error::Daemon(format!(
        "the Docker daemon at {} did not answer within {}s (set PYSLIM_DOCKER_TIMEOUT to wait longer)",
        docker_host(),
        connect_timeout().as_secs()
    ))
}

/// One call to the daemon, bounded in time. bollard's own timeout ends once the response
/// headers arrive, so a daemon that stalls inside a body would otherwise hang pyslim.
pub(crate) async fn bounded<T>(
    call: impl std::future::Future<Output = std::result::Result<T, bollard::errors::Error>>,
    reference: &str,
) -> Result<T> {
    match tokio::time::timeout(connect_timeout(), call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(describe(&e, reference)),
        Err(_) => Err(no_answer()),
    }
}

pub(crate) async fn connect() -> Result<Docker> {
    let docker = Docker::connect_with_defaults()
        .map_err(|e| describe(&e, ""))?
        .with_timeout(connect_timeout());
    // Older engines speak older API versions; agree on one before the first real call.
    bounded(docker.negotiate_version(), "").await
}
