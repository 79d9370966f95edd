//! Image sources: where an image comes from and how it becomes an `Image`. Every source
//! ends in the same resolution code, so the same image gives the same model from any of them.

mod assemble;
pub mod daemon;
mod daemon_cached;
mod daemon_history;
pub mod docker_archive;
pub mod image_config;
pub mod layer_cache;
mod layer_io;
pub mod layer_tar;
pub mod oci_layout;
pub mod progress;
pub mod registry;
pub mod store;
mod tar_guard;
pub mod writer;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pyslim_core::error::{Error, Result};
use pyslim_core::image::{Compression, Image, SourceKind};

pub use layer_tar::{Limits, ReadOptions};
use store::{BlobStore, DirStore, StreamStore, TarFileStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceChoice {
    /// A file or directory when one exists at that path, else the Docker daemon, else (when
    /// the daemon has no such image, or none answers) the image's registry.
    #[default]
    Auto,
    Docker,
    DockerArchive,
    Oci,
    /// A registry, read over HTTP without pulling (`registry://HOST/REPO:TAG` forces it).
    Registry,
}

/// Layers already read, by diff_id and how the blob is stored, shared by every image opened
/// with the same cache: a comparison reads each distinct layer once per way it is stored.
#[derive(Default)]
pub struct LayerCache {
    layers: std::sync::Mutex<std::collections::HashMap<String, layer_tar::LayerRead>>,
    reads: std::sync::atomic::AtomicUsize,
    hits: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for LayerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "LayerCache({} read, {} shared)",
            self.reads(),
            self.hits()
        )
    }
}

impl LayerCache {
    pub(crate) fn get(&self, key: &str) -> Option<layer_tar::LayerRead> {
        let hit = self.layers.lock().ok()?.get(key).cloned();
        if hit.is_some() {
            self.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        hit
    }

    pub(crate) fn put(&self, key: &str, read: &layer_tar::LayerRead) {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut map) = self.layers.lock() {
            map.insert(key.to_owned(), read.clone());
        }
    }

    /// Layers read from their blobs.
    pub fn reads(&self) -> usize {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Layers taken from the cache instead.
    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Share layers with other images opened with this cache.
    pub cache: Option<Arc<LayerCache>>,
    /// The layer cache on disk: layers read before are not read again.
    pub disk_cache: Option<Arc<layer_cache::DiskCache>>,
    pub source: SourceChoice,
    /// `os/arch[/variant]` to pick from a multi-platform index.
    pub platform: Option<String>,
    pub read: ReadOptions,
    /// Draw a progress bar for daemon exports and registry pulls (only shown on a terminal).
    pub progress: bool,
    /// Credentials, trust and plain-http hosts for registry reads.
    pub registry: registry::RegistryOptions,
}

/// Splits `docker-archive:PATH`, `oci:PATH`, `docker://NAME` (the transports skopeo and dive
/// users know) from a bare reference.
fn split_transport(reference: &str) -> (Option<SourceChoice>, &str) {
    for (prefix, choice) in [
        ("docker-archive:", SourceChoice::DockerArchive),
        ("oci-archive:", SourceChoice::Oci),
        ("oci:", SourceChoice::Oci),
        ("docker://", SourceChoice::Docker),
        ("docker-daemon:", SourceChoice::Docker),
        ("registry://", SourceChoice::Registry),
    ] {
        if let Some(rest) = reference.strip_prefix(prefix) {
            return (Some(choice), rest);
        }
    }
    (None, reference)
}

/// Told what is known while an image is read, so a screen can show the layers at once and
/// each as it is read. Calls come from reader threads.
pub trait LoadObserver: Send + Sync {
    /// The layers, bottom first, by instruction, as soon as the manifest and config are read.
    fn layers(&self, _instructions: &[String]) {}
    /// Whether this observer shows each layer as it is read: a stream then hashes each
    /// layer blob as it passes, to know which layer it is (cheap next to the transfer in a
    /// release build, but not free).
    fn follows_layers(&self) -> bool {
        false
    }
    /// The sizes history gives the layers (bottom first; `None` where unknown), before any
    /// is read: the daemon knows them long before its export sends the first byte.
    fn expected_sizes(&self, _sizes: &[Option<u64>]) {}
    /// Bytes of the daemon's export read so far, of about `total`.
    fn export_read(&self, _so_far: u64, _total: u64) {}
    /// One layer has been read: its entries and content bytes. It may be told twice for
    /// the same layer (as its blob passes in a stream, and again once the image is whole).
    fn layer_read(&self, _index: usize, _entries: usize, _bytes: u64) {}
    /// One layer's changes, as soon as it is read (a screen can show its files then).
    fn layer_changes(&self, _index: usize, _changes: &pyslim_core::entry::LayerChanges) {}
    /// A line for the user about where the image is read from (the daemon did not have it,
    /// so its registry is asked). On stderr unless a screen shows it.
    fn notice(&self, line: &str) {
        eprintln!("pyslim: {line}");
    }
}

/// An observer that ignores everything.
pub struct Quiet;
impl LoadObserver for Quiet {}

/// Opens an image from wherever `reference` points.
pub fn open(reference: &str, opts: &OpenOptions) -> Result<Image> {
    open_observed(reference, opts, Arc::new(Quiet))
}

/// Opens an image, telling `observer` what is known as it goes.
pub fn open_observed(
    reference: &str,
    opts: &OpenOptions,
    observer: Arc<dyn LoadObserver>,
) -> Result<Image> {
    // Each image counts its own entries against --max-total-entries.
    let mut opts = opts.clone();
    opts.read.entries_read = Default::default();
    let opts = &opts;
    match locate(reference, opts.source)? {
        Location::Daemon(name) => {
            let progress = progress::export_progress(opts.progress);
            daemon::read_image(
                &name,
                &opts.read,
                progress,
                observer,
                opts.disk_cache.clone(),
            )
        }
        Location::Named(name) => daemon_else_registry(&name, opts, observer),
        Location::Registry(name) => registry::read_image(&name, opts, &*observer, &|_| {}),
        Location::Path(path, choice) => open_path(&path, choice, opts, &*observer),
    }
}

/// Where a reference points, as `open` decides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An image in the Docker daemon, by name.
    Daemon(String),
    /// A name with no transport: the daemon's image when it has one, else its registry's.
    Named(String),
    /// An image in a registry (`registry://` or `--source registry`).
    Registry(String),
    /// A file or directory, read as `SourceChoice` says (`Auto`: by what it holds).
    Path(PathBuf, SourceChoice),
}

/// Decides where `reference` points: a transport prefix (`docker://`, `oci:` …) first, then
/// `choice`; with `Auto`, an existing path is a file and anything else names an image (the
/// daemon's, else its registry's).
pub fn locate(reference: &str, choice: SourceChoice) -> Result<Location> {
    let (transport, target) = split_transport(reference);
    let choice = match (transport, choice) {
        (Some(t), _) => t,
        (None, SourceChoice::Auto) => {
            if Path::new(target).exists() {
                SourceChoice::Auto
            } else if looks_like_path(target) {
                return Err(Error::Usage(format!("{target}: no such file or directory")));
            } else {
                return Ok(Location::Named(target.to_owned()));
            }
        }
        (None, s) => s,
    };
    Ok(match choice {
        SourceChoice::Docker => Location::Daemon(target.to_owned()),
        SourceChoice::Registry => Location::Registry(target.to_owned()),
        other => Location::Path(PathBuf::from(target), other),
    })
}

/// `auto` for a name: the daemon's image when it has one; else (no such image there, or no
/// daemon answers) the image's registry, saying so in one line once the registry answers.
/// When neither has it, the error gives both reasons.
fn daemon_else_registry(
    target: &str,
    opts: &OpenOptions,
    observer: Arc<dyn LoadObserver>,
) -> Result<Image> {
    let progress = progress::export_progress(opts.progress);
    let daemon_err = match daemon::read_image(
        target,
        &opts.read,
        progress,
        observer.clone(),
        opts.disk_cache.clone(),
    ) {
        Ok(image) => return Ok(image),
        Err(e) => e,
    };
    let absent = match &daemon_err {
        Error::ImageNotFound(_) => "is not in the Docker daemon",
        // A daemon is there but this user may not use it: that is what to fix.
        Error::Daemon(m) if m.starts_with("permission denied") => return Err(daemon_err),
        Error::Daemon(_) if !daemon::available() => {
            "cannot be read from a Docker daemon (none answers)"
        }
        _ => return Err(daemon_err),
    };
    if !registry::is_reference(target) {
        return Err(daemon_err);
    }
    let notice = |registry: &str| {
        observer.notice(&format!(
            "{target} {absent}: reading it from its registry, {registry}"
        ))
    };
    registry::read_image(target, opts, &*observer, &notice).map_err(|registry_err| {
        let both = format!("{daemon_err}; from its registry: {registry_err}");
        match daemon_err {
            Error::ImageNotFound(_) => Error::ImageNotFound(
                both.strip_prefix("image not found: ")
                    .unwrap_or(&both)
                    .to_owned(),
            ),
            _ => Error::Daemon(both),
        }
    })
}

/// Names that can only be files: the daemon would never know them.
fn looks_like_path(s: &str) -> bool {
    s.starts_with('/')
        || s.starts_with("./")
        || s.starts_with("../")
        || [".tar", ".tar.gz", ".tgz", ".tar.zst"]
            .iter()
            .any(|ext| s.ends_with(ext))
}

fn open_path(
    path: &Path,
    choice: SourceChoice,
    opts: &OpenOptions,
    observer: &dyn LoadObserver,
) -> Result<Image> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let reference = path.display().to_string();
    if meta.is_dir() {
        let store = DirStore::open(path);
        if !store.contains(oci_layout::INDEX) {
            return Err(Error::unsupported(
                &reference,
                "a directory that is not an OCI image layout (no index.json)",
            ));
        }
        return from_store(&store, &reference, SourceChoice::Oci, opts, observer);
    }
    let mut head = [0u8; 4];
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let n = file.read(&mut head).map_err(|e| Error::io(path, e))?;
    match layer_tar::sniff_compression(&head[..n]) {
        Compression::None => {
            let store = TarFileStore::open(path)?;
            from_store(&store, &reference, choice, opts, observer)
        }
        // `docker save | gzip`: cannot seek, so read it through once.
        compression => {
            let file = BufReader::new(File::open(path).map_err(|e| Error::io(path, e))?);
            let reader: Box<dyn Read> = match compression {
                Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(file)),
                _ => Box::new(zstd::stream::read::Decoder::new(file).map_err(|e| {
                    Error::corrupt(&reference, format!("corrupt zstd stream ({e})"))
                })?),
            };
            // Layers the cache holds pass unparsed (not under --verify).
            let cached = |member: &str, head: &[u8], size: u64| {
                let disk = opts.disk_cache.as_deref()?;
                let input = &reference;
                (!opts.read.verify_diff_ids)
                    .then(|| disk.stream_member(input, member, head, size, &opts.read, false))
                    .flatten()
            };
            // The cache stores a layer under the diff_id its bytes hash to.
            let mut read = opts.read.clone();
            read.hash_diff_ids |= opts.disk_cache.is_some();
            let store = StreamStore::collect_skipping(
                &reference,
                reader,
                &read,
                &mut |_, _| {},
                &mut |_, _| {},
                &cached,
            )?;
            from_store(&store, &reference, choice, opts, observer)
        }
    }
}

fn from_store(
    store: &dyn BlobStore,
    reference: &str,
    choice: SourceChoice,
    opts: &OpenOptions,
    observer: &dyn LoadObserver,
) -> Result<Image> {
    let max_json = opts.read.limits.max_json_bytes;
    let has_manifest = store.contains(docker_archive::MANIFEST);
    let has_index = store.contains(oci_layout::INDEX);
    let use_docker = match choice {
        SourceChoice::DockerArchive => true,
        SourceChoice::Oci => false,
        _ => has_manifest || !has_index,
    };
    let (resolved, kind) = if use_docker {
        if !has_manifest {
            return Err(Error::unsupported(
                reference,
                if has_index {
                    "no manifest.json: this is an OCI layout (try --source oci)"
                } else {
                    "not an image archive: it has neither manifest.json nor index.json"
                },
            ));
        }
        (
            docker_archive::resolve(store, None, max_json)?,
            SourceKind::DockerArchive,
        )
    } else {
        if !has_index {
            return Err(Error::unsupported(
                reference,
                "not an OCI image layout: no index.json",
            ));
        }
        (
            oci_layout::resolve(store, opts.platform.as_deref(), max_json)?,
            SourceKind::Oci,
        )
    };
    assemble::assemble(
        store,
        resolved,
        reference,
        kind,
        &opts.read,
        observer,
        assemble::Caches {
            memory: opts.cache.as_deref(),
            disk: opts.disk_cache.as_deref(),
        },
    )
}
