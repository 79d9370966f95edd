//! Writes a trimmed copy of an image: each original layer tar streamed through a filter
//! (the core's `LayerFilter`), entries copied byte for byte with their long-name and PAX
//! records, new diff_ids and digests computed as the bytes pass, and the original config
//! kept with new diff_ids and one more history entry. Optionally squashed into one layer.
//!
//! Layers are staged in temporary files beside the output (a tar member needs its size
//! before its bytes), and the output appears under its name only once it is complete.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::ArchiveFormat;
use crate::core::entry::{
    normalize_path, path_from_bytes, split_parent, OPAQUE_MARKER, WHITEOUT_PREFIX,
};
use crate::core::image::{Compression, HistoryEntry};
use crate::core::trim_image::LayerFilter;
use crate::error::{Error, Result};
use crate::source::assemble::Resolved;
use crate::source::layer_tar::sniff_compression;
use crate::source::store::{BlobStore, DirStore, TarFileStore};
use crate::source::{docker_archive, oci_layout};

#[derive(Debug, Clone)]
pub struct RewriteOptions {
    /// DockerLegacy or DockerOci (both load with `docker load`), or OciLayout.
    pub format: ArchiveFormat,
    /// One layer holding the final tree.
    pub squash: bool,
    /// The tag written into the archive (`RepoTags`); none leaves the loaded image untagged.
    pub tag: Option<String>,
    /// What pyslim did, as a history entry.
    pub history: HistoryEntry,
    /// Platform to pick from a multi-platform OCI index.
    pub platform: Option<String>,
    pub max_json_bytes: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WrittenLayer {
    pub diff_id: String,
    /// Bytes of the layer tar.
    pub tar_bytes: u64,
    /// Bytes of file content it carries.
    pub content_bytes: u64,
    pub entries: u64,
}

#[derive(Debug, Clone)]
pub struct Rewritten {
    pub layers: Vec<WrittenLayer>,
    /// The new config's digest: the image ID.
    pub image_id: String,
    /// Bytes of the archive written.
    pub archive_bytes: u64,
}

/// Opens an image container that can be read twice: an uncompressed tar or a directory.
fn open_store(path: &Path) -> Result<Box<dyn BlobStore>> {
    if path.is_dir() {
        return Ok(Box::new(DirStore::open(path)));
    }
    let mut head = [0u8; 4];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| Error::io(path, e))?;
    if sniff_compression(&head[..n]) != Compression::None {
        return Err(Error::unsupported(
            path.display().to_string(),
            "a compressed archive cannot be trimmed in place; decompress it first (gunzip, zstd -d)",
        ));
    }
    Ok(Box::new(TarFileStore::open(path)?))
}

fn resolve(store: &dyn BlobStore, opts: &RewriteOptions) -> Result<Resolved> {
    if store.contains(docker_archive::MANIFEST) {
        docker_archive::resolve(store, None, opts.max_json_bytes)
    } else {
        oci_layout::resolve(store, opts.platform.as_deref(), opts.max_json_bytes)
    }
}

/// Writes the trimmed image read from `source` (a docker-archive or OCI layout on disk) to
/// `out`. `expected_diff_ids` are those of the image the filters were planned on: a source
/// that changed since is refused.
pub fn rewrite(
    source: &Path,
    expected_diff_ids: Option<&[String]>,
    filters: &[LayerFilter],
    opts: &RewriteOptions,
    out: &Path,
) -> Result<Rewritten> {
    let store = open_store(source)?;
    let input = store.input().to_owned();
    let resolved = resolve(&*store, opts)?;
    let config_bytes = store.read_json(&resolved.config_member, opts.max_json_bytes)?;
    let mut config: Value = serde_json::from_slice(&config_bytes)
        .map_err(|e| Error::parse(format!("{input}: {}", resolved.config_member), e))?;
    let diff_ids: Vec<String> = config
        .pointer("/rootfs/diff_ids")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let changed = expected_diff_ids.is_some_and(|want| want != diff_ids.as_slice());
    if changed || filters.len() != resolved.layers.len() {
        return Err(Error::corrupt(
            &input,
            "the image changed since it was read (its layers differ); run pyslim again",
        ));
    }
    let staging = Staging::new(out);
    let result = (|| {
        let mut staged = Vec::new();
        if opts.squash {
            let mut layer = staging.layer(0)?;
            for (l, filter) in resolved.layers.iter().zip(filters) {
                let label = format!("{input}: {}", l.member);
                copy_layer(
                    &label,
                    store.open_member(&l.member)?,
                    filter,
                    true,
                    &mut layer,
                )?;
            }
            staged.push(layer.finish()?);
        } else {
            for (i, (l, filter)) in resolved.layers.iter().zip(filters).enumerate() {
                let label = format!("{input}: {}", l.member);
                let mut layer = staging.layer(i)?;
                copy_layer(
                    &label,
                    store.open_member(&l.member)?,
                    filter,
                    false,
                    &mut layer,
                )?;
                staged.push(layer.finish()?);
            }
        }
        update_config(&mut config, &staged, opts);
        let config_bytes = serde_json::to_vec(&config)
            .map_err(|e| Error::corrupt(&input, format!("cannot write the config: {e}")))?;
        write_container(&staging, &staged, &config_bytes, opts)
    })();
    staging.clean();
    result
}

fn update_config(config: &mut Value, staged: &[Staged], opts: &RewriteOptions) {
    let ids: Vec<Value> = staged.iter().map(|s| json!(s.written.diff_id)).collect();
    if let Some(obj) = config.as_object_mut() {
        let rootfs = obj.entry("rootfs").or_insert_with(|| json!({}));
        rootfs["type"] = json!("layers");
        rootfs["diff_ids"] = Value::Array(ids);
        let history = obj.entry("history").or_insert_with(|| json!([]));
        if let Some(list) = history.as_array_mut() {
            if opts.squash {
                // Every earlier step's layer is now inside the one squashed layer.
                for h in list.iter_mut() {
                    h["empty_layer"] = json!(true);
                }
            }
            let mut entry = serde_json::to_value(&opts.history).unwrap_or_else(|_| json!({}));
            if let Some(o) = entry.as_object_mut() {
                // Unsquashed, the step made no layer of its own; squashed, it made the one.
                if opts.squash {
                    o.remove("empty_layer");
                } else {
                    o.insert("empty_layer".into(), json!(true));
                }
            }
            list.push(entry);
        }
    }
}

/// Where staged layers live until the archive is complete.
struct Staging {
    dir: PathBuf,
    stem: String,
    out: PathBuf,
}

impl Staging {
    fn new(out: &Path) -> Staging {
        let dir = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned();
        let stem = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "pyslim-trim".into());
        Staging {
            dir,
            stem,
            out: out.to_owned(),
        }
    }

    fn layer_path(&self, i: usize) -> PathBuf {
        self.dir.join(format!(".{}.layer{i}.partial", self.stem))
    }

    fn partial(&self) -> PathBuf {
        self.dir.join(format!(".{}.partial", self.stem))
    }

    fn layer(&self, i: usize) -> Result<LayerWriter> {
        let path = self.layer_path(i);
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        Ok(LayerWriter {
            builder: tar::Builder::new(HashWriter::new(BufWriter::new(file))),
            path,
            content_bytes: 0,
            entries: 0,
        })
    }

    /// Removes whatever is left of the staging files (all of them after a failure).
    fn clean(&self) {
        for i in 0.. {
            if std::fs::remove_file(self.layer_path(i)).is_err() && i > 0 {
                break;
            }
        }
        let _ = std::fs::remove_file(self.partial());
    }
}

struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashWriter<W> {
    fn new(inner: W) -> Self {
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

struct LayerWriter {
    builder: tar::Builder<HashWriter<BufWriter<File>>>,
    path: PathBuf,
    content_bytes: u64,
    entries: u64,
}

struct Staged {
    path: PathBuf,
    written: WrittenLayer,
}

impl LayerWriter {
    fn finish(self) -> Result<Staged> {
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
            path,
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
fn copy_layer(
    label: &str,
    blob: Box<dyn Read + Send + '_>,
    filter: &LayerFilter,
    squash: bool,
    out: &mut LayerWriter,
) -> Result<()> {
    let corrupt = |e: io::Error| Error::corrupt(label, super::super::layer_io::describe_io(&e));
    let write_err = |e: io::Error| Error::io(&out.path, e);
    let mut buffered = BufReader::with_capacity(256 * 1024, blob);
    let head = buffered.fill_buf().map_err(corrupt)?;
    let reader: Box<dyn Read + '_> = match sniff_compression(head) {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::with_buffer(buffered).map_err(corrupt)?)
        }
    };
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

fn put_file<W: Write>(tar: &mut tar::Builder<W>, name: &str, path: &Path) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut header = member_header(len);
    tar.append_data(&mut header, name, BufReader::new(file))
        .map_err(|e| Error::io(path, e))
}

fn put_bytes<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    data: &[u8],
    out: &Path,
) -> Result<()> {
    let mut header = member_header(data.len() as u64);
    tar.append_data(&mut header, name, data)
        .map_err(|e| Error::io(out, e))
}

fn member_header(len: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(len);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header
}

fn write_container(
    staging: &Staging,
    staged: &[Staged],
    config: &[u8],
    opts: &RewriteOptions,
) -> Result<Rewritten> {
    let partial = staging.partial();
    let file = File::create(&partial).map_err(|e| Error::io(&partial, e))?;
    let mut tar = tar::Builder::new(BufWriter::new(file));
    let mut layer_names = Vec::new();
    let mut descriptors = Vec::new();
    let mut written = std::collections::HashSet::new();
    for s in staged {
        let hex = s.written.diff_id.trim_start_matches("sha256:").to_owned();
        let name = match opts.format {
            ArchiveFormat::DockerLegacy => format!("{hex}/layer.tar"),
            _ => format!("blobs/sha256/{hex}"),
        };
        if written.insert(name.clone()) {
            put_file(&mut tar, &name, &s.path)?;
        }
        let _ = std::fs::remove_file(&s.path);
        descriptors.push(json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": s.written.diff_id,
            "size": s.written.tar_bytes,
        }));
        layer_names.push(name);
    }
    let config_hex = hex::encode(Sha256::digest(config));
    let config_name = match opts.format {
        ArchiveFormat::DockerLegacy => format!("{config_hex}.json"),
        _ => format!("blobs/sha256/{config_hex}"),
    };
    put_bytes(&mut tar, &config_name, config, &partial)?;
    if opts.format != ArchiveFormat::DockerLegacy {
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": format!("sha256:{config_hex}"), "size": config.len()},
            "layers": descriptors,
        }))
        .unwrap_or_default();
        let manifest_hex = hex::encode(Sha256::digest(&manifest));
        put_bytes(
            &mut tar,
            &format!("blobs/sha256/{manifest_hex}"),
            &manifest,
            &partial,
        )?;
        let mut descriptor = json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_hex}"),
            "size": manifest.len(),
        });
        if let Some(tag) = &opts.tag {
            descriptor["annotations"] = json!({
                "io.containerd.image.name": tag,
                "org.opencontainers.image.ref.name": tag.rsplit(':').next().unwrap_or("latest"),
            });
        }
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [descriptor],
        }))
        .unwrap_or_default();
        put_bytes(&mut tar, "index.json", &index, &partial)?;
        put_bytes(
            &mut tar,
            "oci-layout",
            br#"{"imageLayoutVersion":"1.0.0"}"#,
            &partial,
        )?;
    }
    if opts.format != ArchiveFormat::OciLayout {
        let manifest = serde_json::to_vec(&json!([{
            "Config": config_name,
            "RepoTags": opts.tag.as_ref().map(|t| vec![t.clone()]),
            "Layers": layer_names,
        }]))
        .unwrap_or_default();
        put_bytes(&mut tar, "manifest.json", &manifest, &partial)?;
    }
    let mut inner = tar.into_inner().map_err(|e| Error::io(&partial, e))?;
    inner.flush().map_err(|e| Error::io(&partial, e))?;
    drop(inner);
    let archive_bytes = std::fs::metadata(&partial)
        .map_err(|e| Error::io(&partial, e))?
        .len();
    std::fs::rename(&partial, &staging.out).map_err(|e| Error::io(&staging.out, e))?;
    Ok(Rewritten {
        layers: staged.iter().map(|s| s.written.clone()).collect(),
        image_id: format!("sha256:{config_hex}"),
        archive_bytes,
    })
}
