//! Writes images: docker-archive (legacy and the OCI-style layout Docker 25+ saves), and OCI
//! layouts (directory or tar; layers uncompressed, gzip or zstd). Used by the demo image, by
//! the tests and benches to make fixtures, and later for trimmed images.
//!
//! The spec types the writers take live in `spec`; this file turns them into tars and
//! layouts.

pub mod convert;
mod layer_copy;
pub mod reprobe;
pub mod rewrite;
mod spec;
pub mod trimmed;

pub use self::spec::{
    ArchiveFormat, Content, EmptyStep, ImageSpec, LayerSpec, SpecEntry, SpecKind,
};

use std::io::{self, Write};
use std::path::Path;

use serde_json::json;
use sha2::{Digest, Sha256};

use pyslim_core::image::Compression;

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The uncompressed tar of one layer.
pub fn layer_tar(layer: &LayerSpec) -> io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut buf = Vec::new();
    for entry in &layer.entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(entry.mode);
        header.set_mtime(1_700_000_000);
        header.set_uid(0);
        header.set_gid(0);
        let mut path = entry.path.clone();
        buf.clear();
        match &entry.kind {
            SpecKind::File(content) => {
                header.set_entry_type(tar::EntryType::Regular);
                content.write_to(&mut buf);
            }
            SpecKind::Dir => header.set_entry_type(tar::EntryType::Directory),
            SpecKind::Symlink(t) | SpecKind::Hardlink(t) => {
                header.set_entry_type(if matches!(entry.kind, SpecKind::Symlink(_)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                });
                header.set_link_name_literal(t.as_bytes())?;
            }
            SpecKind::Fifo => header.set_entry_type(tar::EntryType::Fifo),
            SpecKind::CharDevice => header.set_entry_type(tar::EntryType::Char),
            SpecKind::Whiteout | SpecKind::Opaque => {
                header.set_entry_type(tar::EntryType::Regular);
                let (parent, name) = match path.iter().rposition(|&b| b == b'/') {
                    Some(i) => (path[..=i].to_vec(), path[i + 1..].to_vec()),
                    None => (Vec::new(), path.clone()),
                };
                path = if entry.kind == SpecKind::Opaque {
                    let mut p = path.clone();
                    p.extend_from_slice(b"/.wh..wh..opq");
                    p
                } else {
                    let mut p = parent;
                    p.extend_from_slice(b".wh.");
                    p.extend_from_slice(&name);
                    p
                };
            }
        }
        header.set_size(buf.len() as u64);
        append_raw_name(&mut builder, &mut header, &path, &buf)?;
    }
    builder.into_inner()
}

/// Writes an entry under exactly `name`, even names the tar crate would refuse (`../x`,
/// absolute, non-UTF-8), so tests can build hostile archives. Long names use a GNU longname.
fn append_raw_name<W: Write>(
    builder: &mut tar::Builder<W>,
    header: &mut tar::Header,
    name: &[u8],
    data: &[u8],
) -> io::Result<()> {
    if name.len() >= 100 {
        let mut long = tar::Header::new_gnu();
        long.set_entry_type(tar::EntryType::GNULongName);
        if let Some(g) = long.as_gnu_mut() {
            g.name[..13].copy_from_slice(b"././@LongLink");
        }
        long.set_mode(0o644);
        long.set_size(name.len() as u64 + 1);
        long.set_cksum();
        let mut padded = name.to_vec();
        padded.push(0);
        builder.append(&long, padded.as_slice())?;
        let short = &name[..99];
        write_name_field(header, short);
    } else {
        write_name_field(header, name);
    }
    header.set_cksum();
    builder.append(header, data)
}

fn write_name_field(header: &mut tar::Header, name: &[u8]) {
    let field = &mut header.as_old_mut().name;
    field.fill(0);
    field[..name.len()].copy_from_slice(name);
}

fn compress(data: &[u8], compression: Compression) -> io::Result<Vec<u8>> {
    match compression {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(data)?;
            enc.finish()
        }
        Compression::Zstd => zstd::stream::encode_all(data, 1),
    }
}

fn media_type(compression: Compression) -> &'static str {
    match compression {
        Compression::None => "application/vnd.oci.image.layer.v1.tar",
        Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

fn config_json(spec: &ImageSpec, diff_ids: &[String]) -> Vec<u8> {
    let mut history = Vec::new();
    for (i, layer) in spec.layers.iter().enumerate() {
        for step in spec.empty_steps.iter().filter(|s| s.before_layer == i) {
            history.push(json!({"created": "2024-01-01T00:00:00Z", "created_by": step.created_by, "empty_layer": true}));
        }
        history.push(json!({"created": "2024-01-01T00:00:00Z", "created_by": layer.created_by}));
    }
    for step in spec
        .empty_steps
        .iter()
        .filter(|s| s.before_layer >= spec.layers.len())
    {
        history.push(json!({"created": "2024-01-01T00:00:00Z", "created_by": step.created_by, "empty_layer": true}));
    }
    let mut config = serde_json::Map::new();
    config.insert("Env".into(), json!(spec.env));
    if !spec.user.is_empty() {
        config.insert("User".into(), json!(spec.user));
    }
    if !spec.cmd.is_empty() {
        config.insert("Cmd".into(), json!(spec.cmd));
    }
    if !spec.entrypoint.is_empty() {
        config.insert("Entrypoint".into(), json!(spec.entrypoint));
    }
    if !spec.workdir.is_empty() {
        config.insert("WorkingDir".into(), json!(spec.workdir));
    }
    if !spec.labels.is_empty() {
        config.insert("Labels".into(), json!(spec.labels));
    }
    let doc = json!({
        "architecture": spec.architecture,
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// One member of the container being written.
struct Member {
    name: String,
    data: Vec<u8>,
}

/// Where members go: a tar stream or a directory.
trait Sink {
    fn put(&mut self, member: Member) -> io::Result<()>;
}

struct TarSink<W: Write>(tar::Builder<W>);

impl<W: Write> Sink for TarSink<W> {
    fn put(&mut self, m: Member) -> io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(m.data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_entry_type(tar::EntryType::Regular);
        self.0.append_data(&mut header, &m.name, m.data.as_slice())
    }
}

struct DirSink<'a>(&'a Path);

impl Sink for DirSink<'_> {
    fn put(&mut self, m: Member) -> io::Result<()> {
        let path = self.0.join(&m.name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, m.data)
    }
}

/// Writes `spec` as a tar in `format` to `out`.
pub fn write_archive<W: Write>(spec: &ImageSpec, format: ArchiveFormat, out: W) -> io::Result<W> {
    let mut sink = TarSink(tar::Builder::new(out));
    write_members(spec, format, &mut sink)?;
    sink.0.into_inner()
}

/// Writes `spec` as an OCI layout directory at `dir` (created if missing).
pub fn write_oci_dir(spec: &ImageSpec, dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_members(spec, ArchiveFormat::OciLayout, &mut DirSink(dir))
}

/// gzip of an empty tar, stored once and shared by every empty layer, as Docker 25+ and
/// BuildKit store it.
fn empty_layer_blob() -> io::Result<Vec<u8>> {
    compress(&[0u8; 1024], Compression::Gzip)
}

fn write_members(spec: &ImageSpec, format: ArchiveFormat, sink: &mut dyn Sink) -> io::Result<()> {
    let mut diff_ids = Vec::new();
    let mut layer_names = Vec::new();
    let mut descriptors = Vec::new();
    let mut written_blobs = std::collections::HashSet::new();
    for (i, layer) in spec.layers.iter().enumerate() {
        // One layer at a time: a big fixture never sits in memory whole.
        let tar = layer_tar(layer)?;
        let diff_id = format!("sha256:{}", sha256_hex(&tar));
        let (blob, compression) = match format {
            ArchiveFormat::DockerLegacy => (tar, Compression::None),
            ArchiveFormat::DockerOci if layer.entries.is_empty() => {
                (empty_layer_blob()?, Compression::Gzip)
            }
            ArchiveFormat::DockerOci => (tar, Compression::None),
            ArchiveFormat::OciLayout => (compress(&tar, layer.compression)?, layer.compression),
        };
        let digest_hex = sha256_hex(&blob);
        let name = match format {
            ArchiveFormat::DockerLegacy => format!(
                "{}/layer.tar",
                sha256_hex(format!("{i}{diff_id}").as_bytes())
            ),
            _ => format!("blobs/sha256/{digest_hex}"),
        };
        descriptors.push(json!({"mediaType": media_type(compression), "digest": format!("sha256:{digest_hex}"), "size": blob.len()}));
        diff_ids.push(diff_id);
        if written_blobs.insert(name.clone()) {
            sink.put(Member {
                name: name.clone(),
                data: blob,
            })?;
        }
        layer_names.push(name);
    }
    let config = config_json(spec, &diff_ids);
    let config_hex = sha256_hex(&config);
    let config_name = match format {
        ArchiveFormat::DockerLegacy => format!("{config_hex}.json"),
        _ => format!("blobs/sha256/{config_hex}"),
    };
    let config_size = config.len();
    sink.put(Member {
        name: config_name.clone(),
        data: config,
    })?;
    if format != ArchiveFormat::DockerLegacy {
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{config_hex}"), "size": config_size},
            "layers": descriptors,
        }))?;
        let manifest_hex = sha256_hex(&manifest);
        let manifest_size = manifest.len();
        sink.put(Member {
            name: format!("blobs/sha256/{manifest_hex}"),
            data: manifest,
        })?;
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": format!("sha256:{manifest_hex}"),
                "size": manifest_size,
                "annotations": {"io.containerd.image.name": spec.tag, "org.opencontainers.image.ref.name": spec.tag.rsplit(':').next().unwrap_or("latest")},
            }],
        }))?;
        sink.put(Member {
            name: "index.json".into(),
            data: index,
        })?;
        sink.put(Member {
            name: "oci-layout".into(),
            data: br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        })?;
    }
    if format != ArchiveFormat::OciLayout {
        let manifest = serde_json::to_vec(&json!([{
            "Config": config_name,
            "RepoTags": [spec.tag],
            "Layers": layer_names,
        }]))?;
        sink.put(Member {
            name: "manifest.json".into(),
            data: manifest,
        })?;
    }
    Ok(())
}
