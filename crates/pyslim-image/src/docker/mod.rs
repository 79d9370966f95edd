//! Actions on the Docker engine, for checking what pyslim made: load an archive, run a smoke
//! test in a container, save an image to a file. The connection (DOCKER_HOST, version
//! negotiation, PYSLIM_DOCKER_TIMEOUT) lives in `connection`, shared with the daemon reader.

pub mod build;
mod build_log;
pub mod connection;
pub mod context;
pub mod load;
pub mod smoke;

use std::path::Path;
use std::time::Duration;

use bollard::Docker;
use futures_util::StreamExt;
use std::io::Write;

use self::connection::{connect, connect_timeout, describe, docker_host, runtime};
use pyslim_core::error::{Error, Result};

/// How long a load, a save or a smoke test may take (`PYSLIM_SMOKE_TIMEOUT`, seconds;
/// default 600): they move whole images or run programs, so the connect timeout is too short.
pub fn action_timeout() -> Duration {
    let secs = std::env::var("PYSLIM_SMOKE_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    Duration::from_secs(secs)
}

/// A connection to the engine with the runtime that drives it. Blocking methods: callers
/// are synchronous commands.
pub struct Client {
    rt: tokio::runtime::Runtime,
    docker: Docker,
}

impl Client {
    pub fn connect() -> Result<Client> {
        let rt = runtime()?;
        let docker = rt.block_on(connect())?;
        let docker = docker.with_timeout(action_timeout());
        Ok(Client { rt, docker })
    }

    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    pub(crate) fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The image's ID and size as the engine counts them, or `None` when it has no such image.
    pub fn image(&self, reference: &str) -> Result<Option<ImageFacts>> {
        self.block_on(async {
            match self.docker.inspect_image(reference).await {
                Ok(i) => Ok(Some(ImageFacts {
                    id: i.id.unwrap_or_default(),
                    size: i.size.unwrap_or(0).max(0) as u64,
                    tags: i.repo_tags.unwrap_or_default(),
                    repo_digest: i
                        .repo_digests
                        .unwrap_or_default()
                        .first()
                        .and_then(|d| d.split_once('@'))
                        .map(|(_, digest)| digest.to_owned()),
                })),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => Ok(None),
                Err(e) => Err(describe(&e, reference)),
            }
        })
    }

    /// The IDs (`sha256:…`) of every image the engine has, intermediate ones included: taken
    /// before a build, so that clean-up removes only what the build made.
    pub fn image_ids(&self) -> Result<std::collections::HashSet<String>> {
        self.block_on(async {
            let opts = bollard::query_parameters::ListImagesOptions {
                all: true,
                ..Default::default()
            };
            let list = self
                .docker
                .list_images(Some(opts))
                .await
                .map_err(|e| describe(&e, "the image list"))?;
            Ok(list.into_iter().map(|i| i.id).collect())
        })
    }

    /// Points `reference` (`repo:tag`) at the image `id` (to give a user's tag back).
    pub fn tag(&self, id: &str, reference: &str) -> Result<()> {
        let (repo, tag) = match reference.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r, t),
            _ => (reference, "latest"),
        };
        self.block_on(async {
            self.docker
                .tag_image(
                    id,
                    Some(bollard::query_parameters::TagImageOptions {
                        repo: Some(repo.to_owned()),
                        tag: Some(tag.to_owned()),
                    }),
                )
                .await
                .map_err(|e| describe(&e, reference))
        })
    }

    /// Writes `docker save REFERENCE` into `file`, which the caller created (and named
    /// `path`): pyslim never truncates a file it did not make, and removes it on failure
    /// (its guard). Streamed; nothing held in memory.
    pub fn save(&self, reference: &str, file: std::fs::File, path: &Path) -> Result<()> {
        self.block_on(async {
            // Plain writes: a chunk to a local file is quick next to the export itself.
            let mut file = std::io::BufWriter::new(file);
            let mut stream = self.docker.export_image(reference);
            // bollard's timeout ends with the response headers: a daemon that goes quiet
            // mid-export would otherwise hang pyslim. Each chunk gets the idle bound.
            let idle = connect_timeout();
            loop {
                let chunk = match tokio::time::timeout(idle, stream.next()).await {
                    Ok(None) => break,
                    Ok(Some(chunk)) => chunk.map_err(|e| describe(&e, reference))?,
                    Err(_) => {
                        return Err(Error::Daemon(format!(
                            "docker image {reference}: the export stalled: the Docker daemon sent nothing for {}s (set PYSLIM_DOCKER_TIMEOUT to wait longer)",
                            idle.as_secs()
                        )))
                    }
                };
                file.write_all(&chunk).map_err(|e| Error::io(path, e))?;
            }
            file.flush().map_err(|e| Error::io(path, e))
        })
    }

    /// Removes an image pyslim itself made (tests, and a load the user asked to undo).
    pub fn remove_image(&self, reference: &str) -> Result<()> {
        self.block_on(async {
            self.docker
                .remove_image(
                    reference,
                    Some(bollard::query_parameters::RemoveImageOptions {
                        force: true,
                        noprune: false,
                        ..Default::default()
                    }),
                    None,
                )
                .await
                .map(|_| ())
                .map_err(|e| describe(&e, reference))
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImageFacts {
    pub id: String,
    /// Bytes the engine says the image takes (uncompressed layers).
    pub size: u64,
    pub tags: Vec<String>,
    /// The registry digest (`sha256:…`) when the image came from a registry.
    pub repo_digest: Option<String>,
}

/// Where the engine is, for messages.
pub fn host() -> String {
    docker_host()
}
