//! Copies one original layer tar through a `LayerFilter`, entry by entry, byte for byte:
//! long-name and PAX records travel with the entry they describe, and the new tar is hashed
//! as it is written, for its diff_id.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::temp_files::Partial;
use pyslim_core::entry::{
    normalize_path, path_from_bytes, split_parent, OPAQUE_MARKER, WHITEOUT_PREFIX,
};
use pyslim_core::error::{Error, Result};
use pyslim_core::trim_image::LayerFilter;

use super::rewrite::WrittenLayer;

/// Hashes and counts what is written through it: a blob's digest and size as it is written.
pub(super) struct HashWriter<W> {
    inner: W,
    pub(super) hasher: Sha256,
    pub(super) bytes: u64,
}

impl<W: Write> HashWriter<W> {
    pub(super) fn new(inner: W) -> Self {
        HashWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub(super) struct LayerWriter {
    builder: tar::Builder<HashWriter<BufWriter<File>>>,
    partial: Partial,
    pub(super) path: PathBuf,
    content_bytes: u64,
    entries: u64,
}

pub(super) struct Staged {
    /// The staged tar; removed when this is dropped.
    pub(super) partial: Partial,
    pub(super) written: WrittenLayer,
}

impl LayerWriter {
    pub(super) fn create(partial: Partial, file: File) -> LayerWriter {
        LayerWriter {
            builder: tar::Builder::new(HashWriter::new(BufWriter::new(file))),
            path: partial.path().to_owned(),
            partial,
            content_bytes: 0,
            entries: 0,
        }
    }

    pub(super) fn finish(self) -> Result<Staged> {
        let path = self.path;
        let mut hw = self.builder.into_inner().map_err(|e| Error::io(&path, e))?;
        hw.flush().map_err(|e| Error::io(&path, e))?;
        Ok(Staged {
            written: WrittenLayer {
                diff_id: format!("sha256:{}", hex::encode(hw.hasher.finalize_reset())),
                tar_bytes: hw.bytes,
                content_bytes: self.content_bytes,
                entries: self.entries,
            },
            partial: self.partial,
        })
    }
}

/// What an entry of an original layer is, by its path.
enum Role {
    Root,
    Entry(String),
    Whiteout(String),
    Opaque(String),
    Outside,
}

fn role(raw: &[u8]) -> Role {
    let path = match normalize_path(&path_from_bytes(raw)) {
        Ok(Some(p)) => p,
        Ok(None) => return Role::Root,
        Err(_) => return Role::Outside,
    };
    let (parent, name) = split_parent(&path);
    if name == OPAQUE_MARKER {
        Role::Opaque(parent.to_owned())
    } else if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) {
        Role::Whiteout(if parent.is_empty() {
            hidden.to_owned()
        } else {
            format!("{parent}/{hidden}")
        })
    } else {
        Role::Entry(path)
    }
}

/// The `path` record of a PAX extended header, if it has one.
fn pax_path(data: &[u8]) -> Option<Vec<u8>> {
    let mut rest = data;
    let mut found = None;
    while !rest.is_empty() {
        let space = rest.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..space]).ok()?.parse().ok()?;
        let record = rest.get(space + 1..len)?;
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(value) = record.strip_prefix(b"path=") {
            found = Some(value.to_vec());
        }
        rest = &rest[len..];
    }
    found
}

/// Streams one original layer through `filter` into `out`. In a squash, whiteouts and
/// opaque markers go: there is nothing below the one layer for them to hide.
pub(super) fn copy_layer(
    label: &str,
    blob: Box<dyn Read + Send + '_>,
    filter: &LayerFilter,
    squash: bool,
    out: &mut LayerWriter,
) -> Result<()> {
    let corrupt = |e: io::Error| Error::corrupt(label, super::super::layer_io::describe_io(&e));
    let write_err = |e: io::Error| Error::io(&out.path, e);
    let reader = super::super::layer_io::decompressed(blob).map_err(corrupt)?;
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(corrupt)?.raw(true);
    // Long-name and PAX records belong to the entry after them: held until it is judged.
    let mut pending: Vec<(tar::Header, Vec<u8>)> = Vec::new();
    let mut long_name: Option<Vec<u8>> = None;
    let mut pax_name: Option<Vec<u8>> = None;
    for entry in entries {
        let mut entry = entry.map_err(corrupt)?;
        let header = entry.header().clone();
        let kind = header.entry_type();
        if kind == tar::EntryType::XGlobalHeader {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).map_err(corrupt)?;
            let builder = &mut out.builder;
            builder
                .append(&header, data.as_slice())
                .map_err(write_err)?;
            continue;
        }
        if matches!(
            kind,
            tar::EntryType::GNULongName | tar::EntryType::GNULongLink | tar::EntryType::XHeader
        ) {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).map_err(corrupt)?;
            if kind == tar::EntryType::GNULongName {
                let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                long_name = Some(data[..end].to_vec());
            } else if kind == tar::EntryType::XHeader {
                pax_name = pax_path(&data).or(pax_name);
            }
            pending.push((header, data));
            continue;
        }
        let name = match (pax_name.take(), long_name.take()) {
            (Some(p), _) => p,
            (None, Some(l)) => l,
            (None, None) => entry.path_bytes().into_owned(),
        };
        let keep = match role(&name) {
            Role::Root => true,
            Role::Entry(p) => filter.entries.contains(&p),
            Role::Whiteout(p) => !squash && filter.whiteouts.contains(&p),
            Role::Opaque(d) => !squash && filter.opaque_dirs.contains(&d),
            Role::Outside => false,
        };
        if !keep {
            pending.clear();
            continue; // the tar reader skips the data
        }
        for (h, data) in pending.drain(..) {
            out.builder.append(&h, data.as_slice()).map_err(write_err)?;
        }
        if kind.is_file() {
            out.content_bytes += header.size().unwrap_or(0);
        }
        out.entries += 1;
        let builder = &mut out.builder;
        builder.append(&header, &mut entry).map_err(|e| {
            // A read error of the original surfaces here too: say which.
            if e.kind() == io::ErrorKind::UnexpectedEof {
                corrupt(e)
            } else {
                Error::io(&out.path, e)
            }
        })?;
    }
    Ok(())
}
