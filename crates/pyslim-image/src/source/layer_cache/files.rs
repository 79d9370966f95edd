//! The cache's files: private directories, atomic writes, checked reads, least-recently-used
//! eviction (a file's mtime is its last use).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use serde::de::DeserializeOwned;

use super::codec::{self, Refused};

pub(super) fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // A directory made before (by hand, or with another umask) is made private too.
    let meta = fs::metadata(dir)?;
    if meta.permissions().mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Marks the directory as a cache, so backup tools skip it.
pub(super) fn write_cachedir_tag(root: &Path) {
    let tag = root.join("CACHEDIR.TAG");
    if !tag.exists() {
        let _ = write_atomic(
            &tag,
            b"Signature: 8a477f597d28d172789f06886806bc55\n# pyslim's layer cache (pyslim cache --help)\n",
        );
    }
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to a private temporary file beside `path`, then renames it over `path`.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
    let temp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        f.write_all(bytes)?;
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

/// Reads and decodes a cache file: `None` when absent, written by another version (left for
/// the next store to replace) or damaged (removed, so the layer is read again).
pub(super) fn read_checked<T: DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = fs::read(path).ok()?;
    match codec::decode(&bytes) {
        Ok(value) => Some(value),
        Err(Refused::OtherVersion) => {
            super::trace(&format!("other-version {}", display_name(path)));
            None
        }
        Err(Refused::Damaged) => {
            super::trace(&format!("damaged {}", display_name(path)));
            remove(path);
            None
        }
    }
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether the file exists and its header names this version (its body is not checked).
pub(super) fn written_by_this_version(path: &Path) -> bool {
    let mut head = [0u8; 128];
    let Ok(mut f) = fs::File::open(path) else {
        return false;
    };
    let n = super::super::layer_io::read_up_to(&mut f, &mut head).unwrap_or(0);
    codec::header_is_current(&head[..n])
}

pub(super) fn remove(path: &Path) {
    let _ = fs::remove_file(path);
}

/// Marks a file as just used.
pub(super) fn touch(path: &Path) {
    if let Ok(f) = fs::File::options().write(true).open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// One file of the cache.
#[derive(Debug, Clone)]
pub struct CacheEntry {
    /// `layers/…`, `digests/…` or `images/…`.
    pub name: String,
    pub bytes: u64,
    pub last_used: SystemTime,
}

/// What the cache holds.
#[derive(Debug, Clone, Default)]
pub struct CacheUsage {
    /// Newest use first.
    pub entries: Vec<CacheEntry>,
    pub bytes: u64,
}

impl CacheUsage {
    pub fn layers(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.name.starts_with("layers/"))
            .count()
    }
}

fn files_of(root: &Path) -> Vec<(PathBuf, CacheEntry)> {
    let mut out = Vec::new();
    for sub in ["layers", "digests", "images"] {
        let Ok(dir) = fs::read_dir(root.join(sub)) else {
            continue;
        };
        for item in dir.flatten() {
            let Ok(meta) = item.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let name = item.file_name().to_string_lossy().into_owned();
            // A temporary file another pyslim is writing now is not ours to count or remove,
            // unless it was left behind long ago by one that died.
            let stale = meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600);
            if name.ends_with(".tmp") && !stale {
                continue;
            }
            out.push((
                item.path(),
                CacheEntry {
                    name: format!("{sub}/{name}"),
                    bytes: meta.len(),
                    last_used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                },
            ));
        }
    }
    out.sort_by_key(|(_, e)| std::cmp::Reverse(e.last_used));
    out
}

pub(super) fn usage(root: &Path) -> CacheUsage {
    let entries: Vec<CacheEntry> = files_of(root).into_iter().map(|(_, e)| e).collect();
    CacheUsage {
        bytes: entries.iter().map(|e| e.bytes).sum(),
        entries,
    }
}

/// Removes the least recently used files until at most `max_bytes` remain.
pub(super) fn prune_to(root: &Path, max_bytes: u64) -> (usize, u64) {
    let files = files_of(root);
    let mut total: u64 = files.iter().map(|(_, e)| e.bytes).sum();
    let (mut removed, mut freed) = (0, 0);
    for (path, entry) in files.iter().rev() {
        if total <= max_bytes {
            break;
        }
        // Another pyslim may have removed it first: either way it is gone.
        let _ = fs::remove_file(path);
        total = total.saturating_sub(entry.bytes);
        removed += 1;
        freed += entry.bytes;
    }
    (removed, freed)
}
