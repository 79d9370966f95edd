//! Writes a trimmed copy of an image: each original layer tar streamed through a filter
//! (the core's `LayerFilter`), entries copied byte for byte with their long-name and PAX
//! records, new diff_ids and digests computed as the bytes pass, and the original config
//! kept with new diff_ids and one more history entry. Optionally squashed into one layer.
//!
//! Layers are staged in temporary files beside the output (a tar member needs its size
//! before its bytes), and the output appears under its name only once it is complete.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::layer_copy::{copy_layer, LayerWriter, Staged};
use super::ArchiveFormat;
use crate::source::assemble::Resolved;
use crate::source::layer_tar::sniff_compression;
use crate::source::store::{BlobStore, DirStore, TarFileStore};
use crate::source::{docker_archive, oci_layout};
use crate::temp_files::Partial;
use pyslim_core::error::{Error, Result};
use pyslim_core::image::{Compression, HistoryEntry};
use pyslim_core::trim_image::LayerFilter;

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

/// Refuses, before anything is written, a source that cannot be read a second time to be
/// rewritten (a compressed archive such as `docker save | gzip`).
pub fn check_source(path: &Path) -> Result<()> {
    open_store(path).map(|_| ())
}

/// Opens an image container that can be read twice: an uncompressed tar or a directory.
pub(super) fn open_store(path: &Path) -> Result<Box<dyn BlobStore>> {
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

pub(super) fn resolve(
    store: &dyn BlobStore,
    platform: Option<&str>,
    max_json_bytes: u64,
) -> Result<Resolved> {
    if store.contains(docker_archive::MANIFEST) {
        docker_archive::resolve(store, None, max_json_bytes)
    } else {
        oci_layout::resolve(store, platform, max_json_bytes)
    }
}

/// Writes the trimmed image read from `source` (a docker-archive or OCI layout on disk) to
/// a temporary file beside `out`, returned complete but not yet in place: the caller checks
/// it before `persist`ing it under `out`, so a failed check never costs the file at `out`.
/// `expected_diff_ids` are those of the image the filters were planned on: a source that
/// changed since is refused.
pub fn rewrite(
    source: &Path,
    expected_diff_ids: Option<&[String]>,
    filters: &[LayerFilter],
    opts: &RewriteOptions,
    out: &Path,
) -> Result<(Rewritten, Partial)> {
    let store = open_store(source)?;
    let input = store.input().to_owned();
    let resolved = resolve(&*store, opts.platform.as_deref(), opts.max_json_bytes)?;
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
        // Whatever happens, the staged layers remove themselves when dropped.
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
        write_container(&staging, staged, &config_bytes, opts)
    })();
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

/// Where staged layers live until the archive is complete: hidden files beside the output,
/// each a `Partial` that removes itself unless it became the output.
struct Staging {
    out: PathBuf,
}

impl Staging {
    fn new(out: &Path) -> Staging {
        Staging {
            out: out.to_owned(),
        }
    }

    fn layer(&self, i: usize) -> Result<LayerWriter> {
        let (partial, file) = Partial::create(&self.out, &format!("layer{i}"))?;
        Ok(LayerWriter::create(partial, file))
    }
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
    staged: Vec<Staged>,
    config: &[u8],
    opts: &RewriteOptions,
) -> Result<(Rewritten, Partial)> {
    let (guard, file) = Partial::create(&staging.out, "archive")?;
    let partial = guard.path().to_owned();
    let mut tar = tar::Builder::new(BufWriter::new(file));
    let mut layer_names = Vec::new();
    let mut descriptors = Vec::new();
    let mut written = std::collections::HashSet::new();
    let mut layers = Vec::new();
    for s in staged {
        let hex = s.written.diff_id.trim_start_matches("sha256:").to_owned();
        let name = match opts.format {
            ArchiveFormat::DockerLegacy => format!("{hex}/layer.tar"),
            _ => format!("blobs/sha256/{hex}"),
        };
        if written.insert(name.clone()) {
            put_file(&mut tar, &name, s.partial.path())?;
        }
        layers.push(s.written.clone());
        // The staged copy is in the archive now: dropping its guard removes it.
        drop(s.partial);
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
    Ok((
        Rewritten {
            layers,
            image_id: format!("sha256:{config_hex}"),
            archive_bytes,
        },
        guard,
    ))
}
