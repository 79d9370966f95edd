//! Reads one layer blob (a tar, possibly gzip- or zstd-compressed) into its changeset,
//! without extracting anything and without holding file contents.
//!
//! Uncompressed layers on seekable inputs are read header by header, seeking past the data,
//! so a 1 GB layer costs little more than its headers. Compressed layers and streams are read
//! through once.

use std::io::{self, BufRead, BufReader, Read, Seek};

use super::layer_io::{
    describe_io, probe_streamed_elf, read_up_to, HashingReader, SeekRead, SkippingReader,
};
use super::tar_guard::RecordGuard;
use pyslim_core::content::{capture_for, probe_elf, CaptureKind, Captured};
use pyslim_core::entry::{
    normalize_path, path_from_bytes, split_parent, Entry, EntryKind, LayerChanges, OPAQUE_MARKER,
    WHITEOUT_PREFIX,
};
use pyslim_core::error::{Error, Result};
use pyslim_core::image::Compression;

/// Caps that keep a hostile layer from exhausting memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries_per_layer: u64,
    /// Across every layer of one image: layers are read side by side and all their entries
    /// are kept (about 600 bytes each), so a per-layer cap alone does not bound memory.
    pub max_total_entries: u64,
    pub max_path_bytes: usize,
    pub max_path_depth: usize,
    pub max_json_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries_per_layer: 5_000_000,
            max_total_entries: 10_000_000,
            max_path_bytes: 4096,
            max_path_depth: 256,
            max_json_bytes: 64 << 20,
        }
    }
}

/// Entries read so far across the layers of one image, shared by the threads reading them.
#[derive(Debug, Clone, Default)]
pub struct EntryCount(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl EntryCount {
    /// Counts one more entry and returns the total.
    fn add_one(&self) -> u64 {
        self.add(1)
    }

    /// Counts `n` more entries (a layer taken whole from the cache) and returns the total.
    pub(crate) fn add(&self, n: u64) -> u64 {
        self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n
    }
}

/// What to check while reading.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Hash every uncompressed layer to check its diff_id, even where that means reading data
    /// that could be skipped.
    pub verify_diff_ids: bool,
    /// Compute the diff_id of every layer read as a stream, as its bytes pass (for the layer
    /// cache, which stores a layer only under a diff_id it hashed), without --verify's full
    /// reads of layers that could be skipped, and without changing what a read reports.
    pub hash_diff_ids: bool,
    /// Read no file contents (no package metadata, secrets or ELF headers): the engine alone.
    pub skip_contents: bool,
    pub limits: Limits,
    /// Fresh for each image opened (`source::open` makes a new one).
    pub entries_read: EntryCount,
}

pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
pub(crate) const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

pub(crate) fn sniff_compression(head: &[u8]) -> Compression {
    if head.starts_with(&GZIP_MAGIC) {
        Compression::Gzip
    } else if head.starts_with(&ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// What reading one layer blob gives.
#[derive(Debug, Clone)]
pub struct LayerRead {
    pub compression: Compression,
    pub changes: LayerChanges,
    /// sha256 of the blob as stored, when it was computed.
    pub blob_digest: Option<String>,
    /// Bytes of the blob as stored.
    pub blob_bytes: u64,
}

/// Reads a layer from a stream that cannot seek (the daemon's export, a compressed blob).
/// The stored bytes are hashed when the blob is compressed and `hash_compressed_blob` is set
/// (cheap next to decompressing), and always under `opts.verify_diff_ids`, which also hashes
/// the uncompressed bytes for the diff_id.
pub fn read_layer_stream<R: Read>(
    input: &str,
    reader: R,
    opts: &ReadOptions,
    hash_compressed_blob: bool,
) -> Result<LayerRead> {
    let mut buffered = BufReader::with_capacity(256 * 1024, HashingReader::new(reader, true));
    let head = buffered.fill_buf().map_err(|e| io_corrupt(input, e))?;
    let compression = sniff_compression(head);
    let report_blob =
        opts.verify_diff_ids || (hash_compressed_blob && compression != Compression::None);
    let hash_blob = report_blob || (opts.hash_diff_ids && compression == Compression::None);
    let hash_tar = opts.verify_diff_ids || opts.hash_diff_ids;
    if !hash_blob {
        buffered.get_mut().stop_hashing();
    }
    let (changes, raw) = match compression {
        Compression::None => {
            let (changes, rest) = read_tar(input, buffered, opts, false)?;
            (changes, rest.into_inner())
        }
        Compression::Gzip => {
            let decoder = flate2::bufread::MultiGzDecoder::new(buffered);
            let (changes, rest) =
                read_tar(input, decoder, opts, hash_tar).map_err(|e| in_compressed(e, "gzip"))?;
            (changes, rest.into_inner().into_inner())
        }
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| io_corrupt(input, e))?;
            let (changes, rest) =
                read_tar(input, decoder, opts, hash_tar).map_err(|e| in_compressed(e, "zstd"))?;
            (changes, rest.finish().into_inner())
        }
    };
    let mut raw = raw;
    // Bytes after the compressed stream's end still belong to the blob.
    io::copy(&mut raw, &mut io::sink()).map_err(|e| io_corrupt(input, e))?;
    let blob_bytes = raw.bytes_read;
    let blob_digest = raw.finish();
    let mut changes = changes;
    if compression == Compression::None {
        changes.tar_bytes = blob_bytes;
        changes.diff_id = blob_digest.clone();
    }
    let blob_digest = blob_digest.filter(|_| report_blob);
    Ok(LayerRead {
        compression,
        changes,
        blob_digest,
        blob_bytes,
    })
}

/// Reads a layer from a seekable input: uncompressed data is skipped with seeks unless
/// `opts.verify_diff_ids` asks for a hash of every byte.
pub fn read_layer_seekable<R: Read + Seek>(
    input: &str,
    mut reader: R,
    opts: &ReadOptions,
    hash_compressed_blob: bool,
) -> Result<LayerRead> {
    let mut head = [0u8; 4];
    let n = read_up_to(&mut reader, &mut head).map_err(|e| io_corrupt(input, e))?;
    reader
        .seek(io::SeekFrom::Start(0))
        .map_err(|e| io_corrupt(input, e))?;
    let compression = sniff_compression(&head[..n]);
    if compression != Compression::None {
        return read_layer_stream(input, reader, opts, hash_compressed_blob);
    }
    if opts.verify_diff_ids {
        return read_layer_stream(input, reader, opts, true);
    }
    let mut archive = tar::Archive::new(RecordGuard::new(
        SkippingReader::new(reader),
        opts.limits.max_path_bytes,
    ));
    let entries = archive
        .entries_with_seek()
        .map_err(|e| io_corrupt(input, e))?;
    let mut deferred = Vec::new();
    let mut changes = collect_entries(input, entries, opts, Some(&mut deferred))?;
    // Unbuffered from here: each probe reads a few exact ranges.
    let mut inner = archive.into_inner().into_inner().into_inner();
    // ELF section tables sit at the end of files: read them with seeks, after the header pass.
    for probe in deferred {
        let mut at = SeekRead {
            reader: &mut inner,
            base: probe.data_start,
        };
        if let Some(info) = probe_elf(&mut at, probe.size) {
            changes.captures.push((probe.entry, Captured::Elf(info)));
        }
    }
    changes.captures.sort_by_key(|(i, _)| *i);
    let blob_bytes = inner
        .seek(io::SeekFrom::End(0))
        .map_err(|e| io_corrupt(input, e))?;
    changes.tar_bytes = blob_bytes;
    Ok(LayerRead {
        compression,
        changes,
        blob_digest: None,
        blob_bytes,
    })
}

/// Parses a tar stream to its end (trailing bytes included) and hands the reader back.
fn read_tar<R: Read>(
    input: &str,
    reader: R,
    opts: &ReadOptions,
    hash: bool,
) -> Result<(LayerChanges, R)> {
    let mut archive = tar::Archive::new(RecordGuard::new(
        HashingReader::new(reader, hash),
        opts.limits.max_path_bytes,
    ));
    let entries = archive.entries().map_err(|e| io_corrupt(input, e))?;
    let mut changes = collect_entries(input, entries, opts, None)?;
    let mut rest = archive.into_inner().into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| io_corrupt(input, e))?;
    changes.tar_bytes = rest.bytes_read;
    let (inner, digest) = rest.finish_into_inner();
    changes.diff_id = digest;
    Ok((changes, inner))
}

/// An ELF file whose section table is read after the header pass (seekable inputs only).
struct DeferredProbe {
    entry: u32,
    data_start: u64,
    size: u64,
}

/// Reads entries; `deferred` is given for seekable inputs, where ELF probes wait for seeks.
/// On streams, the contents pyslim needs are read as the data passes.
fn collect_entries<'a, R: 'a + Read>(
    input: &str,
    entries: tar::Entries<'a, R>,
    opts: &ReadOptions,
    mut deferred: Option<&mut Vec<DeferredProbe>>,
) -> Result<LayerChanges> {
    let mut changes = LayerChanges::default();
    let mut count: u64 = 0;
    for entry in entries {
        let mut entry = entry.map_err(|e| io_corrupt(input, e))?;
        count += 1;
        if count > opts.limits.max_entries_per_layer {
            return Err(Error::Limit {
                input: input.to_owned(),
                what: "the number of entries in one layer".into(),
                limit: opts.limits.max_entries_per_layer,
                flag: "--max-entries",
            });
        }
        if opts.entries_read.add_one() > opts.limits.max_total_entries {
            return Err(Error::Limit {
                input: input.to_owned(),
                what: "the number of entries in all layers".into(),
                limit: opts.limits.max_total_entries,
                flag: "--max-total-entries",
            });
        }
        let raw_path = entry.path_bytes();
        if raw_path.len() > opts.limits.max_path_bytes {
            return Err(Error::Limit {
                input: input.to_owned(),
                what: format!("a path of {} bytes", raw_path.len()),
                limit: opts.limits.max_path_bytes as u64,
                flag: "--max-path-bytes",
            });
        }
        let raw = path_from_bytes(&raw_path);
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                EntryKind::File
            }
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => EntryKind::Symlink,
            tar::EntryType::Link => EntryKind::Hardlink,
            tar::EntryType::Char => EntryKind::CharDevice,
            tar::EntryType::Block => EntryKind::BlockDevice,
            tar::EntryType::Fifo => EntryKind::Fifo,
            // Metadata records (PAX globals and the like) describe no path of the image.
            _ => continue,
        };
        let path = match normalize_path(&raw) {
            Ok(Some(p)) => p,
            Ok(None) => continue, // the root directory itself
            Err(reason) => {
                changes.warnings.push(format!(
                    "{input}: entry ignored: {reason} (docker refuses to load it)"
                ));
                continue;
            }
        };
        if path.matches('/').count() + 1 > opts.limits.max_path_depth {
            return Err(Error::Limit {
                input: input.to_owned(),
                what: format!("the depth of path {path:?}"),
                limit: opts.limits.max_path_depth as u64,
                flag: "--max-path-depth",
            });
        }
        let (parent, name) = split_parent(&path);
        if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) {
            if name == OPAQUE_MARKER {
                changes.opaque_dirs.push(parent.to_owned());
            } else if hidden.starts_with(WHITEOUT_PREFIX) {
                // Other `.wh..wh.*` names are AUFS bookkeeping; Docker skips them too.
            } else if parent.is_empty() {
                changes.whiteouts.push(hidden.to_owned());
            } else {
                changes.whiteouts.push(format!("{parent}/{hidden}"));
            }
            continue;
        }
        let link_target = match kind {
            EntryKind::Symlink => entry.link_name_bytes().map(|b| path_from_bytes(&b)),
            EntryKind::Hardlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|b| path_from_bytes(&b))
                    .unwrap_or_default();
                match normalize_path(&target) {
                    Ok(Some(t)) => Some(t),
                    _ => {
                        changes.warnings.push(format!(
                            "{input}: hardlink {path} has an invalid target {target:?}; ignored"
                        ));
                        continue;
                    }
                }
            }
            _ => None,
        };
        let size = if kind == EntryKind::File {
            entry.size()
        } else {
            0
        };
        let mode = header.mode().unwrap_or(0o644);
        let (uid, gid) = (header.uid().unwrap_or(0), header.gid().unwrap_or(0));
        let index = changes.entries.len() as u32;
        if kind == EntryKind::File && !opts.skip_contents {
            match capture_for(&path, mode, size) {
                Some(CaptureKind::Head(limit)) => {
                    let mut data = Vec::with_capacity(limit.min(size as usize));
                    (&mut entry)
                        .take(limit as u64)
                        .read_to_end(&mut data)
                        .map_err(|e| io_corrupt(input, e))?;
                    changes.captures.push((index, Captured::Text(data)));
                }
                Some(CaptureKind::Elf) => match deferred.as_deref_mut() {
                    Some(list) => list.push(DeferredProbe {
                        entry: index,
                        data_start: entry.raw_file_position(),
                        size,
                    }),
                    None => {
                        if let Some(info) = probe_streamed_elf(&mut entry, size)
                            .map_err(|e| io_corrupt(input, e))?
                        {
                            changes.captures.push((index, Captured::Elf(info)));
                        }
                    }
                },
                None => {}
            }
        }
        changes.entries.push(Entry {
            path,
            kind,
            size,
            mode,
            uid,
            gid,
            link_target,
        });
    }
    Ok(changes)
}

/// A tar that fails inside a compressed stream is most often a damaged stream: say so.
fn in_compressed(err: Error, format: &str) -> Error {
    match err {
        Error::Corrupt { input, reason }
            if !reason.starts_with("corrupt ") || reason.starts_with("corrupt tar") =>
        {
            Error::Corrupt {
                input,
                reason: format!("corrupt {format} stream ({reason})"),
            }
        }
        other => other,
    }
}

fn io_corrupt(input: &str, err: io::Error) -> Error {
    if let Some(over) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<super::tar_guard::LongNameOverCap>())
    {
        return Error::Limit {
            input: input.to_owned(),
            what: over.to_string(),
            limit: over.limit,
            flag: "--max-path-bytes",
        };
    }
    Error::corrupt(input, describe_io(&err))
}
