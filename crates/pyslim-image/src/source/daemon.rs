//! The Docker daemon, through bollard (honours DOCKER_HOST: unix socket by default, tcp too).
//! Inspect and history answer first; file contents come from the image export
//! (`GET /images/{name}/get`), parsed as it streams by the same synchronous code that reads
//! `docker save` files, through a blocking reader over a channel. Nothing is spooled to disk.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use bollard::Docker;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use pyslim_core::error::{Error, Result};
use pyslim_core::image::{Image, SourceKind};

use super::assemble::{assemble, Caches};
use super::daemon_cached::{read_cached, ExportShape};
use super::docker_archive;
use super::layer_cache::{trace, DiskCache};
use super::layer_tar::ReadOptions;
use super::store::StreamStore;

pub use super::daemon_history::DaemonSummary;
use crate::docker::action_timeout;
pub use crate::docker::connection::docker_host;
use crate::docker::connection::{bounded, connect, connect_timeout, runtime};

async fn summary(docker: &Docker, reference: &str) -> Result<DaemonSummary> {
    Ok(summary_and_env(docker, reference).await?.0)
}

/// The summary, and the environment the image's config sets (inspect gives it whole; the
/// disk cache never keeps it).
async fn summary_and_env(
    docker: &Docker,
    reference: &str,
) -> Result<(DaemonSummary, Option<Vec<String>>)> {
    let inspect = bounded(docker.inspect_image(reference), reference).await?;
    let history = bounded(docker.image_history(reference), reference).await?;
    let env = inspect.config.as_ref().and_then(|c| c.env.clone());
    let summary = DaemonSummary {
        id: inspect.id.unwrap_or_default(),
        size: inspect.size.unwrap_or(0).max(0) as u64,
        diff_ids: inspect.root_fs.and_then(|r| r.layers).unwrap_or_default(),
        history: history
            .into_iter()
            .rev()
            .map(|h| (h.created_by, h.size))
            .collect(),
    };
    Ok((summary, env))
}

/// True when a daemon answers at DOCKER_HOST.
pub fn available() -> bool {
    runtime()
        .and_then(|rt| rt.block_on(async { connect().await.map(|_| ()) }))
        .is_ok()
}

/// Inspect and history only: fast, for showing layers before their contents arrive.
pub fn read_summary(reference: &str) -> Result<DaemonSummary> {
    let rt = runtime()?;
    rt.block_on(async {
        let docker = connect().await?;
        summary(&docker, reference).await
    })
}

/// Progress of an export: bytes so far and layers seen, against the expected total.
pub trait ExportProgress: Send {
    fn start(&mut self, total_bytes: u64, layers: usize);
    fn bytes(&mut self, so_far: u64);
    fn member(&mut self, name: &str);
    /// One layer blob of the export has been read whole.
    fn layer_done(&mut self) {}
    fn finish(&mut self);
}

/// Reads the whole image through the daemon.
pub fn read_image(
    reference: &str,
    opts: &ReadOptions,
    mut progress: Box<dyn ExportProgress>,
    observer: Arc<dyn super::LoadObserver>,
    disk: Option<Arc<DiskCache>>,
) -> Result<Image> {
    let rt = runtime()?;
    rt.block_on(async {
        let docker = connect().await?;
        let (summary, env) = summary_and_env(&docker, reference).await?;
        let input = format!("docker image {reference}");
        // Under --verify every layer is read from the export and hashed.
        let warm = disk.as_deref().filter(|_| !opts.verify_diff_ids);
        if let Some(image) = warm.and_then(|d| {
            read_cached(d, reference, &input, &summary, env.as_deref(), opts, &*observer)
        }) {
            return image;
        }
        trace("export");
        progress.start(summary.size, summary.diff_ids.len());
        let rows = summary.layer_rows();
        let instructions: Vec<String> = rows.iter().map(|(i, _)| i.clone()).collect();
        observer.layers(&instructions);
        observer.expected_sizes(&rows.iter().map(|(_, s)| *s).collect::<Vec<_>>());
        observer.export_read(0, summary.size);
        let progress: Box<dyn ExportProgress> = Box::new(Observed {
            inner: progress,
            observer: observer.clone(),
            total: summary.size,
            told: 0,
            so_far: 0,
        });
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(32);
        let name = reference.to_owned();
        // The engine answers an export only once it has gathered the image (Docker 20.10
        // writes it to a temporary directory first: ~25 s for 1 GB, longer on a busy
        // machine), so the first byte may take as long as a save; after it, silence is a stall.
        let exporter = docker.clone().with_timeout(action_timeout());
        let pump = tokio::spawn(async move {
            let mut stream = exporter.export_image(&name);
            let idle = connect_timeout();
            let mut first = true;
            loop {
                let wait = if first { action_timeout().max(idle) } else { idle };
                first = false;
                // A daemon that stops sending mid-export must not hang the reader forever.
                let item = match tokio::time::timeout(wait, stream.next()).await {
                    Ok(None) => break,
                    Ok(Some(chunk)) => chunk.map_err(|e| {
                        io::Error::other(format!("the export stream broke off: {e}"))
                    }),
                    Err(_) => Err(io::Error::other(format!(
                        "the export stalled: the Docker daemon sent nothing for {}s (set {} to wait longer)",
                        wait.as_secs(),
                        if wait == idle { "PYSLIM_DOCKER_TIMEOUT" } else { "PYSLIM_SMOKE_TIMEOUT" }
                    ))),
                };
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        let mut opts = opts.clone();
        // Under --verify every layer is read and hashed: none is taken from the cache.
        let skip_cached = !opts.verify_diff_ids;
        // The export names layers by ids of its own: for a screen that follows the layers,
        // hashing each as it passes tells which layer it is, so it is marked read at once,
        // on its row (and its diff_id is checked too).
        opts.verify_diff_ids |= observer.follows_layers();
        // The cache stores a layer under the diff_id its bytes hash to.
        opts.hash_diff_ids |= disk.is_some();
        let wanted = reference.to_owned();
        let parse = tokio::task::spawn_blocking(move || {
            let progress = Arc::new(Mutex::new(progress));
            let mut reader = ChannelReader {
                rx,
                current: Bytes::new(),
                failed: None,
                so_far: 0,
                progress: progress.clone(),
            };
            let summary_ref = &summary;
            let observer_ref = &observer;
            let cached = |member: &str, head: &[u8], size: u64| {
                disk.as_deref()
                    .filter(|_| skip_cached)?
                    .stream_member(&input, member, head, size, &opts, opts.verify_diff_ids)
            };
            let store = StreamStore::collect_skipping(
                &input,
                &mut reader,
                &opts,
                &mut |name, _size| {
                    if let Ok(mut p) = progress.lock() {
                        p.member(name);
                    }
                },
                &mut |_name, read| {
                    if let Ok(mut p) = progress.lock() {
                        p.layer_done();
                    }
                    let Some(diff_id) = read.changes.diff_id.as_deref() else {
                        return;
                    };
                    let bytes = read.changes.entries.iter().map(|e| e.size).sum();
                    for i in summary_ref.positions_of(diff_id) {
                        observer_ref.layer_read(i, read.changes.entries.len(), bytes);
                        observer_ref.layer_changes(i, &read.changes);
                    }
                },
                &cached,
            );
            if let Ok(mut p) = progress.lock() {
                p.finish();
            }
            let store = store?;
            let resolved =
                docker_archive::resolve(&store, Some(&wanted), opts.limits.max_json_bytes)?;
            let shape = disk.as_ref().map(|_| ExportShape::of(&resolved));
            let mut image = assemble(
                &store,
                resolved,
                &wanted,
                SourceKind::Docker,
                &opts,
                &*observer,
                Caches {
                    memory: None,
                    disk: disk.as_deref(),
                },
            )?;
            if image.id.is_empty() {
                image.id = summary.id.clone();
            }
            if let (Some(disk), Some(shape)) = (&disk, shape) {
                shape.store(disk, &store, &summary.id, &image, opts.limits.max_json_bytes);
            }
            Ok::<Image, Error>(image)
        });
        let result = parse
            .await
            .map_err(|e| Error::Daemon(format!("reading the export failed: {e}")))?;
        pump.abort();
        result
    })
}

/// The export's progress, told to the bar and to the observer (a screen): the observer
/// hears of every MiB, not of every chunk.
struct Observed {
    inner: Box<dyn ExportProgress>,
    observer: Arc<dyn super::LoadObserver>,
    total: u64,
    told: u64,
    so_far: u64,
}

impl ExportProgress for Observed {
    fn start(&mut self, total_bytes: u64, layers: usize) {
        self.inner.start(total_bytes, layers);
    }
    fn bytes(&mut self, so_far: u64) {
        self.inner.bytes(so_far);
        self.so_far = so_far;
        if so_far >= self.told + (1 << 20) || so_far < self.told {
            self.told = so_far;
            self.observer.export_read(so_far, self.total.max(so_far));
        }
    }
    fn member(&mut self, name: &str) {
        self.inner.member(name);
    }
    fn layer_done(&mut self) {
        self.inner.layer_done();
    }
    fn finish(&mut self) {
        self.inner.finish();
        if self.so_far != self.told {
            self.observer
                .export_read(self.so_far, self.total.max(self.so_far));
        }
    }
}

/// A blocking `Read` over the chunks the async export task sends.
struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    /// The stream's error, kept so that every later read reports it too: a reader that
    /// retries after an error must not mistake the closed channel for the end of the export.
    failed: Option<(io::ErrorKind, String)>,
    so_far: u64,
    progress: Arc<Mutex<Box<dyn ExportProgress>>>,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some((kind, msg)) = &self.failed {
            return Err(io::Error::new(*kind, msg.clone()));
        }
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => {
                    self.so_far += chunk.len() as u64;
                    if let Ok(mut p) = self.progress.lock() {
                        p.bytes(self.so_far);
                    }
                    self.current = chunk;
                }
                Some(Err(e)) => {
                    self.failed = Some((e.kind(), e.to_string()));
                    return Err(e);
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}
