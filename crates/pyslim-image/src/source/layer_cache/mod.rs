//! The layer cache on disk: what pyslim learned from a layer (entries, whiteouts, the content
//! probes the findings use), keyed by the layer's diff_id, so the same layer is read once.
//!
//! Layout under the cache directory (`$PYSLIM_CACHE_DIR`, else `$XDG_CACHE_HOME/pyslim`, else
//! `~/.cache/pyslim`):
//! ```text
//! layers/<diff_id hex>-<how it was read>   one layer, see `LayerKey`
//! digests/<blob digest hex>                the diff_id of a stored (compressed) blob
//! images/<config digest hex>               a daemon image's config and layer list
//! ```
//! Every file is written whole to a temporary name and renamed, so a reader sees an old file
//! or a new one, never half of one, and two pyslims writing at once cannot corrupt it. Every
//! file carries the version that wrote it and a checksum: another version's file is ignored,
//! a damaged one removed and read again. The directory is the user's alone (0700, files
//! 0600), and the cache keeps facts, never a credential's bytes (see `codec`).
//!
//! For a source (the registry): `diff_id_for(blob digest)` says which layer a blob holds
//! once it was read; `has_layer`/`streamed_layer` (or `load_layer`) take a layer from the
//! cache instead of fetching it; `store_layer` keeps what a read gave, only once the read
//! hashed the layer's bytes to its diff_id and the image checked out (a failed read caches
//! nothing), with the blob digest to map to it.

mod codec;
mod files;
mod image_record;
mod limits;
mod stream_skip;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use pyslim_core::entry::LayerChanges;
use pyslim_core::image::Compression;

pub use files::{CacheEntry, CacheUsage};
pub use image_record::{ImageRecord, RecordLayer};
pub(crate) use limits::check_cached_limits;

/// Used when neither the configuration nor the environment sets a bound.
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;

/// How a layer is stored and read: the same diff_id read another way may give other facts
/// (a streamed uncompressed layer keeps only an ELF file's header and section table, a seek
/// reads its dynamic section too), so each way has its own entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerKey<'a> {
    pub diff_id: &'a str,
    pub compression: Compression,
    /// Read with seeks (an uncompressed blob in a file), not as a stream.
    pub seekable: bool,
    /// Read without file contents (`skip_contents`).
    pub contents: bool,
}

impl LayerKey<'_> {
    fn file_name(&self) -> Option<String> {
        let hex = digest_hex(self.diff_id)?;
        let how = match (self.compression, self.seekable) {
            (Compression::None, true) => "tar-seek",
            (Compression::None, false) => "tar-stream",
            // A compressed blob is read as a stream from a file too.
            (Compression::Gzip, _) => "gzip",
            (Compression::Zstd, _) => "zstd",
        };
        let contents = if self.contents { "" } else { "-nocontent" };
        Some(format!("{hex}-{how}{contents}"))
    }
}

/// `sha256:<64 hex>` → the hex; anything else is no key (and never a path).
fn digest_hex(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    .then_some(hex)
}

/// The cache directory the environment names, if any: `PYSLIM_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/pyslim`, else `~/.cache/pyslim`.
pub fn default_dir() -> Option<PathBuf> {
    let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(dir) = nonempty("PYSLIM_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(xdg) = nonempty("XDG_CACHE_HOME").map(PathBuf::from) {
        if xdg.is_absolute() {
            return Some(xdg.join("pyslim"));
        }
    }
    nonempty("HOME").map(|h| PathBuf::from(h).join(".cache").join("pyslim"))
}

/// The layer cache in one directory.
#[derive(Debug)]
pub struct DiskCache {
    root: PathBuf,
    max_bytes: u64,
    loaded: AtomicUsize,
    stored: AtomicUsize,
}

impl DiskCache {
    /// Opens (creating it, private to the user) the cache at `root`, bounded to `max_bytes`.
    pub fn open(root: &Path, max_bytes: u64) -> std::io::Result<Self> {
        files::make_private_dir(root)?;
        for sub in ["layers", "digests", "images"] {
            files::make_private_dir(&root.join(sub))?;
        }
        files::write_cachedir_tag(root);
        Ok(DiskCache {
            root: root.to_owned(),
            max_bytes,
            loaded: AtomicUsize::new(0),
            stored: AtomicUsize::new(0),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Layers taken from the cache by this process.
    pub fn loaded(&self) -> usize {
        self.loaded.load(Ordering::Relaxed)
    }

    /// Layers written to the cache by this process.
    pub fn stored(&self) -> usize {
        self.stored.load(Ordering::Relaxed)
    }

    fn layer_path(&self, key: &LayerKey) -> Option<PathBuf> {
        Some(self.root.join("layers").join(key.file_name()?))
    }

    /// Whether a layer is cached by this version (its body is checked by `load_layer`).
    pub fn has_layer(&self, key: &LayerKey) -> bool {
        self.layer_path(key)
            .is_some_and(|p| files::written_by_this_version(&p))
    }

    /// The layer, as a read under `label` (the source's name for the blob, which prefixes its
    /// warnings) would give it. A file another version wrote is ignored; a damaged one is
    /// removed, so that the layer is read again and stored anew.
    pub fn load_layer(&self, key: &LayerKey, label: &str) -> Option<LayerChanges> {
        let path = self.layer_path(key)?;
        let stored: codec::StoredLayer = files::read_checked(&path)?;
        let changes = stored.into_changes(label, key.diff_id);
        if changes.is_none() {
            files::remove(&path);
            return None;
        }
        files::touch(&path);
        self.loaded.fetch_add(1, Ordering::Relaxed);
        trace(&format!("hit {}", key.file_name().unwrap_or_default()));
        changes
    }

    /// Stores a layer read under `label`; `blob_digest`, when known and not the diff_id, is
    /// mapped to it. Failures only cost the next run a read.
    pub fn store_layer(
        &self,
        key: &LayerKey,
        label: &str,
        changes: &LayerChanges,
        blob_digest: Option<&str>,
    ) {
        let Some(path) = self.layer_path(key) else {
            return;
        };
        let stored = codec::StoredLayer::from_changes(changes, label);
        let Some(bytes) = codec::encode(&stored) else {
            return;
        };
        if files::write_atomic(&path, &bytes).is_ok() {
            self.stored.fetch_add(1, Ordering::Relaxed);
            trace(&format!("store {}", key.file_name().unwrap_or_default()));
        }
        if let Some(blob) = blob_digest.filter(|b| *b != key.diff_id) {
            self.map_digest(blob, key.diff_id);
        }
        self.evict();
    }

    /// Records that the blob with digest `blob` uncompresses to the layer `diff_id`.
    pub fn map_digest(&self, blob: &str, diff_id: &str) {
        let (Some(hex), Some(_)) = (digest_hex(blob), digest_hex(diff_id)) else {
            return;
        };
        if let Some(bytes) = codec::encode(&diff_id.to_owned()) {
            let _ = files::write_atomic(&self.root.join("digests").join(hex), &bytes);
        }
    }

    /// The diff_id a blob digest (or a diff_id itself) names, when known.
    pub fn diff_id_for(&self, digest: &str) -> Option<String> {
        let hex = digest_hex(digest)?;
        let path = self.root.join("digests").join(hex);
        let diff_id: String = files::read_checked(&path)?;
        digest_hex(&diff_id).is_some().then_some(diff_id)
    }

    /// A daemon image's record, by its id (the config digest).
    pub fn load_image(&self, id: &str) -> Option<ImageRecord> {
        let path = self.root.join("images").join(digest_hex(id)?);
        let record: ImageRecord = files::read_checked(&path)?;
        files::touch(&path);
        Some(record)
    }

    pub fn store_image(&self, id: &str, record: &ImageRecord) {
        let Some(hex) = digest_hex(id) else { return };
        if let Some(bytes) = codec::encode(record) {
            let _ = files::write_atomic(&self.root.join("images").join(hex), &bytes);
        }
    }

    /// What the cache holds, newest use first.
    pub fn usage(&self) -> CacheUsage {
        files::usage(&self.root)
    }

    /// Removes the least recently used files until the cache holds at most `max_bytes`.
    /// Returns the files and bytes removed.
    pub fn prune_to(&self, max_bytes: u64) -> (usize, u64) {
        files::prune_to(&self.root, max_bytes)
    }

    /// Removes everything the cache holds.
    pub fn clear(&self) -> (usize, u64) {
        files::prune_to(&self.root, 0)
    }

    fn evict(&self) {
        let (removed, _) = self.prune_to(self.max_bytes);
        if removed > 0 {
            trace(&format!("evict {removed}"));
        }
    }
}

/// `PYSLIM_CACHE_TRACE=FILE` appends one line per cache event (hit, store, evict, export)
/// to FILE: how the tests see what the cache did without timing anything.
pub fn trace(event: &str) {
    let Some(path) = std::env::var_os("PYSLIM_CACHE_TRACE") else {
        return;
    };
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        // One write per line: appends from parallel readers never interleave.
        let _ = f.write_all(format!("{event}\n").as_bytes());
    }
}
