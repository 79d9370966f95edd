//! A second look at ELF files whose DT_NEEDED list the first read could not see. A layer read
//! as a stream (gzip or zstd blobs, the daemon's export) keeps only each file's head and
//! tail, and the dynamic section of a big library sits in between. Before the safety check,
//! the files the trim keeps are read again from their layer, one at a time and whole (up to
//! `MAX_FILE`), so the shared-library check knows what they load.

use std::io::Read;
use std::path::Path;

use rustc_hash::FxHashMap;

use crate::source::layer_io::{decompressed, describe_io};
use pyslim_core::content::{probe_elf, Captured, ReadAt};
use pyslim_core::entry::{normalize_path, path_from_bytes};
use pyslim_core::error::{Error, Result};
use pyslim_core::image::Image;
use pyslim_core::inventory::final_capture;
use pyslim_core::tree::Tree;

use super::rewrite::{open_store, resolve};

/// Largest file read whole for its dynamic section; bigger ones are counted as unchecked.
pub const MAX_FILE: u64 = 256 << 20;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reprobe {
    /// Files read again whose DT_NEEDED is now known.
    pub read: usize,
    /// Kept ELF files whose DT_NEEDED is still unknown (too big, or unreadable as ELF).
    pub unknown: usize,
}

impl Reprobe {
    /// The warning to show when some files stay unchecked.
    pub fn warning(&self) -> Option<String> {
        (self.unknown > 0).then(|| {
            format!(
                "{} kept ELF file{} (over {} MiB, or with an unreadable dynamic section) could not be checked for the shared libraries they need (DT_NEEDED)",
                self.unknown,
                if self.unknown == 1 { "" } else { "s" },
                MAX_FILE >> 20
            )
        })
    }
}

struct Whole<'a>(&'a [u8]);

impl ReadAt for Whole<'_> {
    fn read_at(&mut self, offset: u64, len: usize) -> Option<Vec<u8>> {
        let start = usize::try_from(offset).ok()?;
        self.0
            .get(start..start.checked_add(len)?)
            .map(<[u8]>::to_vec)
    }
}

/// Kept ELF files of the final image whose DT_NEEDED is unknown, by layer: entry index and
/// path.
fn unknown_needed(
    image: &Image,
    tree: &Tree,
    removed: &[bool],
) -> FxHashMap<usize, FxHashMap<String, u32>> {
    let mut wanted: FxHashMap<usize, FxHashMap<String, u32>> = FxHashMap::default();
    for n in tree.final_nodes() {
        if removed.get(n as usize).copied().unwrap_or(false) {
            continue;
        }
        let Some(Captured::Elf(info)) = final_capture(image, tree, n) else {
            continue;
        };
        if info.dynamic_read {
            continue;
        }
        let Some(inode) = tree.final_state(n).and_then(|e| e.inode) else {
            continue;
        };
        let ino = &tree.inodes[inode as usize];
        let Some(entry) = image
            .layers
            .get(ino.layer as usize)
            .and_then(|l| l.changes.entries.get(ino.entry as usize))
        else {
            continue;
        };
        wanted
            .entry(ino.layer as usize)
            .or_default()
            .insert(entry.path.clone(), ino.entry);
    }
    wanted
}

/// Reads again, from `source`, the kept ELF files whose DT_NEEDED is unknown, and records
/// what they need in the image's captures. No I/O when there are none.
pub fn needed_of_kept(
    source: &Path,
    image: &mut Image,
    tree: &Tree,
    removed: &[bool],
    platform: Option<&str>,
    max_json_bytes: u64,
) -> Result<Reprobe> {
    let wanted = unknown_needed(image, tree, removed);
    let total: usize = wanted.values().map(|w| w.len()).sum();
    if total == 0 {
        return Ok(Reprobe::default());
    }
    let store = open_store(source)?;
    let resolved = resolve(&*store, platform, max_json_bytes)?;
    let mut found: Vec<(usize, u32, pyslim_core::content::ElfInfo)> = Vec::new();
    for (&layer, paths) in &wanted {
        let Some(l) = resolved.layers.get(layer) else {
            continue;
        };
        let label = format!("{}: {}", store.input(), l.member);
        let corrupt = |e: std::io::Error| Error::corrupt(&label, describe_io(&e));
        let reader = decompressed(store.open_member(&l.member)?).map_err(corrupt)?;
        let mut archive = tar::Archive::new(reader);
        let mut left = paths.len();
        for entry in archive.entries().map_err(corrupt)? {
            let mut entry = entry.map_err(corrupt)?;
            let Ok(Some(path)) = normalize_path(&path_from_bytes(&entry.path_bytes())) else {
                continue;
            };
            let Some(&index) = paths.get(&path) else {
                continue;
            };
            let size = entry.size();
            if size > MAX_FILE {
                continue;
            }
            // One file in memory at a time, at most MAX_FILE bytes.
            let mut bytes = Vec::with_capacity(size as usize);
            entry.read_to_end(&mut bytes).map_err(corrupt)?;
            if let Some(info) = probe_elf(&mut Whole(&bytes), bytes.len() as u64) {
                if info.dynamic_read {
                    found.push((layer, index, info));
                }
            }
            left -= 1;
            if left == 0 {
                break;
            }
        }
    }
    let read = found.len();
    for (layer, index, info) in found {
        let caps = &mut image.layers[layer].changes.captures;
        if let Ok(pos) = caps.binary_search_by_key(&index, |(i, _)| *i) {
            caps[pos].1 = Captured::Elf(info);
        }
    }
    Ok(Reprobe {
        read,
        unknown: total - read,
    })
}
