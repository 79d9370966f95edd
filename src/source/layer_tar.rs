//! Reads one layer blob (a tar, possibly gzip- or zstd-compressed) into its changeset,
//! without extracting anything and without holding file contents.
//!
//! Uncompressed layers on seekable inputs are read header by header, seeking past the data,
//! so a 1 GB layer costs little more than its headers. Compressed layers and streams are read
//! through once.

use std::io::{self, BufRead, BufReader, Read, Seek};

use sha2::{Digest, Sha256};

use crate::core::content::{
    capture_for, probe_elf, CaptureKind, Captured, ElfInfo, HeadTail, ReadAt,
};
use crate::core::entry::{
    normalize_path, path_from_bytes, split_parent, Entry, EntryKind, LayerChanges, OPAQUE_MARKER,
    WHITEOUT_PREFIX,
};
use crate::core::image::Compression;
use crate::error::{Error, Result};

/// Caps that keep a hostile layer from exhausting memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries_per_layer: u64,
    pub max_path_bytes: usize,
    pub max_path_depth: usize,
    pub max_json_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries_per_layer: 5_000_000,
            max_path_bytes: 4096,
            max_path_depth: 256,
            max_json_bytes: 64 << 20,
        }
    }
}

/// What to check while reading.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// Hash every uncompressed layer to check its diff_id, even where that means reading data
    /// that could be skipped.
    pub verify_diff_ids: bool,
    /// Read no file contents (no package metadata, secrets or ELF headers): the engine alone.
    pub skip_contents: bool,
    pub limits: Limits,
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
    let hash_blob =
        opts.verify_diff_ids || (hash_compressed_blob && compression != Compression::None);
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
            let (changes, rest) = read_tar(input, decoder, opts, opts.verify_diff_ids)
                .map_err(|e| in_compressed(e, "gzip"))?;
            (changes, rest.into_inner().into_inner())
        }
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| io_corrupt(input, e))?;
            let (changes, rest) = read_tar(input, decoder, opts, opts.verify_diff_ids)
                .map_err(|e| in_compressed(e, "zstd"))?;
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
    let mut archive = tar::Archive::new(SkippingReader::new(reader));
    let entries = archive
        .entries_with_seek()
        .map_err(|e| io_corrupt(input, e))?;
    let mut deferred = Vec::new();
    let mut changes = collect_entries(input, entries, opts, Some(&mut deferred))?;
    // Unbuffered from here: each probe reads a few exact ranges.
    let mut inner = archive.into_inner().into_inner();
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

fn read_up_to<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Parses a tar stream to its end (trailing bytes included) and hands the reader back.
fn read_tar<R: Read>(
    input: &str,
    reader: R,
    opts: &ReadOptions,
    hash: bool,
) -> Result<(LayerChanges, R)> {
    let mut archive = tar::Archive::new(HashingReader::new(reader, hash));
    let entries = archive.entries().map_err(|e| io_corrupt(input, e))?;
    let mut changes = collect_entries(input, entries, opts, None)?;
    let mut rest = archive.into_inner();
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
    Error::corrupt(input, describe_io(&err))
}

/// Names the usual read failures in words a user recognises.
pub(crate) fn describe_io(err: &io::Error) -> String {
    let msg = err.to_string();
    if err.kind() == io::ErrorKind::UnexpectedEof
        || msg.contains("unexpected EOF")
        || msg.contains("failed to read entire block")
    {
        "truncated: the archive ends in the middle of an entry".into()
    } else if msg.contains("checksum mismatch") || msg.contains("numeric field") {
        "corrupt tar: a header's checksum does not match".into()
    } else if msg.contains("invalid gzip header")
        || msg.contains("corrupt deflate stream")
        || msg.contains("deflate")
    {
        format!("corrupt gzip stream ({msg})")
    } else if msg.contains("Unknown frame descriptor")
        || msg.contains("zstd")
        || msg.contains("Data corruption")
    {
        format!("corrupt zstd stream ({msg})")
    } else {
        format!("unreadable: {msg}")
    }
}

/// Bytes of a streamed file kept for its ELF section table: the table and the section names
/// sit at the end of the file in what linkers write.
const ELF_TAIL: usize = 64 * 1024;

/// Reads a streamed file through, keeping its head and tail, and probes them as ELF.
fn probe_streamed_elf<R: Read>(entry: &mut R, size: u64) -> io::Result<Option<ElfInfo>> {
    let mut head = [0u8; 64];
    let got = read_up_to(entry, &mut head)?;
    if got < 4 || &head[..4] != b"\x7fELF" {
        return Ok(None);
    }
    let mut tail: Vec<u8> = Vec::with_capacity(ELF_TAIL * 2);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = entry.read(&mut buf)?;
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 2 * ELF_TAIL {
            tail.drain(..tail.len() - ELF_TAIL);
        }
    }
    // The head bytes also count as tail when the file is small.
    let mut whole_tail = Vec::new();
    if (got as u64 + tail.len() as u64) == size {
        whole_tail.extend_from_slice(&head[..got]);
    }
    whole_tail.extend_from_slice(&tail);
    let mut at = HeadTail {
        head: &head[..got],
        tail: &whole_tail,
        size,
    };
    Ok(probe_elf(&mut at, size))
}

/// Bytes read ahead when reading headers: small files and the headers after them usually
/// arrive in one read; a seek past a large file wastes at most this much.
const HEADER_READ_AHEAD: usize = 8 * 1024;

/// A buffered reader whose relative seeks stay inside the buffer when they can. The tar
/// crate skips each entry's data with `SeekFrom::Current`; std's `BufReader` would drop its
/// buffer on every one of them and read again.
struct SkippingReader<R> {
    inner: BufReader<R>,
    pos: u64,
}

impl<R: Read + Seek> SkippingReader<R> {
    fn new(inner: R) -> Self {
        SkippingReader {
            inner: BufReader::with_capacity(HEADER_READ_AHEAD, inner),
            pos: 0,
        }
    }

    fn into_inner(self) -> R {
        self.inner.into_inner()
    }
}

impl<R: Read> Read for SkippingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for SkippingReader<R> {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        match to {
            io::SeekFrom::Current(delta) => {
                self.inner.seek_relative(delta)?;
                self.pos = self
                    .pos
                    .checked_add_signed(delta)
                    .ok_or_else(|| io::Error::other("seek before the start"))?;
            }
            other => self.pos = self.inner.seek(other)?,
        }
        Ok(self.pos)
    }
}

/// `ReadAt` over a seekable layer: offsets are relative to one file's data.
struct SeekRead<'a, R> {
    reader: &'a mut R,
    base: u64,
}

impl<R: Read + Seek> ReadAt for SeekRead<'_, R> {
    fn read_at(&mut self, offset: u64, len: usize) -> Option<Vec<u8>> {
        self.reader
            .seek(io::SeekFrom::Start(self.base.checked_add(offset)?))
            .ok()?;
        let mut buf = vec![0u8; len];
        self.reader.read_exact(&mut buf).ok()?;
        Some(buf)
    }
}

/// Counts and optionally hashes the bytes that pass through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Option<Sha256>,
    pub(crate) bytes_read: u64,
}

impl<R> HashingReader<R> {
    pub(crate) fn new(inner: R, hash: bool) -> Self {
        HashingReader {
            inner,
            hasher: hash.then(Sha256::new),
            bytes_read: 0,
        }
    }

    pub(crate) fn stop_hashing(&mut self) {
        self.hasher = None;
    }

    pub(crate) fn finish(self) -> Option<String> {
        self.finish_into_inner().1
    }

    pub(crate) fn finish_into_inner(self) -> (R, Option<String>) {
        let digest = self
            .hasher
            .map(|h| format!("sha256:{}", hex::encode(h.finalize())));
        (self.inner, digest)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        self.bytes_read += n as u64;
        Ok(n)
    }
}
