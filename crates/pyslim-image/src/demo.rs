//! The demo image built into the binary (assets/demo-image.toml), read straight into the
//! model: realistic sizes without generating a byte of content.

use serde::Deserialize;

use crate::source::writer::{Content, EmptyStep, ImageSpec, LayerSpec, SpecEntry, SpecKind};
use pyslim_core::content::{capture_for, CaptureKind, Captured};
use pyslim_core::entry::{normalize_path, Entry, EntryKind, LayerChanges};
use pyslim_core::error::{Error, Result};
use pyslim_core::image::{
    history_for_layers, Compression, HistoryEntry, Image, ImageConfig, Layer, SourceKind,
};

pub const DEMO_TOML: &str = include_str!("../../../assets/demo-image.toml");

#[derive(Deserialize)]
struct DemoFile {
    tag: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    workdir: String,
    #[serde(default)]
    cmd: Vec<String>,
    #[serde(default)]
    env: Vec<String>,
    #[serde(default)]
    step: Vec<DemoStep>,
    layer: Vec<DemoLayer>,
}

#[derive(Deserialize)]
struct DemoStep {
    before: usize,
    created_by: String,
}

#[derive(Deserialize)]
struct DemoLayer {
    created_by: String,
    entries: Vec<String>,
}

/// Parses an image description in the demo's format into a spec the writer can write.
pub fn parse_spec(text: &str) -> Result<ImageSpec> {
    let file: DemoFile = toml::from_str(text)
        .map_err(|e| Error::corrupt("demo image", format!("invalid description: {e}")))?;
    let mut layers = Vec::new();
    for layer in &file.layer {
        let mut entries = Vec::new();
        for line in &layer.entries {
            parse_line(line, &mut entries)?;
        }
        layers.push(LayerSpec::new(&layer.created_by, entries));
    }
    let mut spec = ImageSpec::new(&file.tag, layers);
    spec.user = file.user;
    spec.workdir = file.workdir;
    spec.cmd = file.cmd;
    if !file.env.is_empty() {
        spec.env = file.env;
    }
    spec.empty_steps = file
        .step
        .into_iter()
        .map(|s| EmptyStep {
            before_layer: s.before,
            created_by: s.created_by,
        })
        .collect();
    Ok(spec)
}

fn parse_line(line: &str, out: &mut Vec<SpecEntry>) -> Result<()> {
    let bad = || Error::corrupt("demo image", format!("cannot read entry line {line:?}"));
    let mut words = line.splitn(3, ' ');
    let kind = words.next().ok_or_else(bad)?;
    let path = words.next().ok_or_else(bad)?;
    let rest = words.next().unwrap_or("");
    let num = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    match kind {
        "dir" => out.push(SpecEntry::dir(path)),
        "file" => out.push(SpecEntry::file(path, num(rest)?)),
        "text" => out.push(SpecEntry::text(path, &rest.replace("\\n", "\n"))),
        "symlink" => out.push(SpecEntry::symlink(path, rest)),
        "hardlink" => out.push(SpecEntry::hardlink(path, rest)),
        "whiteout" => out.push(SpecEntry::whiteout(path)),
        "opaque" => out.push(SpecEntry::opaque(path)),
        "many" => {
            let (count, each) = rest.split_once(' ').ok_or_else(bad)?;
            let (count, each) = (num(count)?, num(each)?);
            for n in 1..=count {
                // Vary sizes a little so listings look like real files, not a grid.
                let size = each + (n * 7919) % (each / 5 + 1);
                out.push(SpecEntry::file(&path.replace("{n}", &n.to_string()), size));
            }
        }
        _ => return Err(bad()),
    }
    Ok(())
}

/// Reads a spec straight into the model, as if its tars had been read.
pub fn image_from_spec(spec: &ImageSpec, source: SourceKind) -> Result<Image> {
    let mut history = Vec::new();
    for (i, l) in spec.layers.iter().enumerate() {
        for s in spec.empty_steps.iter().filter(|s| s.before_layer == i) {
            history.push(HistoryEntry {
                created_by: s.created_by.clone(),
                empty_layer: true,
                ..Default::default()
            });
        }
        history.push(HistoryEntry {
            created_by: l.created_by.clone(),
            ..Default::default()
        });
    }
    for s in spec
        .empty_steps
        .iter()
        .filter(|s| s.before_layer >= spec.layers.len())
    {
        history.push(HistoryEntry {
            created_by: s.created_by.clone(),
            empty_layer: true,
            ..Default::default()
        });
    }
    let per_layer = history_for_layers(&history, spec.layers.len());
    let mut layers = Vec::new();
    for (index, (layer, hist)) in spec.layers.iter().zip(per_layer).enumerate() {
        let mut changes = LayerChanges::default();
        for e in &layer.entries {
            let raw = String::from_utf8_lossy(&e.path);
            let path = normalize_path(&raw)
                .ok()
                .flatten()
                .ok_or_else(|| Error::corrupt("demo image", format!("bad path {raw:?}")))?;
            let (kind, size, link_target) = match &e.kind {
                SpecKind::File(c) => (EntryKind::File, c.len(), None),
                SpecKind::Dir => (EntryKind::Dir, 0, None),
                SpecKind::Symlink(t) => (EntryKind::Symlink, 0, Some(t.clone())),
                SpecKind::Hardlink(t) => (EntryKind::Hardlink, 0, Some(t.clone())),
                SpecKind::Fifo => (EntryKind::Fifo, 0, None),
                SpecKind::CharDevice => (EntryKind::CharDevice, 0, None),
                SpecKind::Whiteout => {
                    changes.whiteouts.push(path);
                    continue;
                }
                SpecKind::Opaque => {
                    changes.opaque_dirs.push(path);
                    continue;
                }
            };
            if let SpecKind::File(Content::Bytes(bytes)) = &e.kind {
                // Text entries carry real content: capture it as a reader would.
                if let Some(CaptureKind::Head(limit)) = capture_for(&path, e.mode, size) {
                    let index = changes.entries.len() as u32;
                    let head = bytes[..bytes.len().min(limit)].to_vec();
                    changes.captures.push((index, Captured::Text(head)));
                }
            }
            changes.tar_bytes += 512 + size.div_ceil(512) * 512;
            changes.entries.push(Entry {
                path,
                kind,
                size,
                mode: e.mode,
                uid: 0,
                gid: 0,
                link_target,
            });
        }
        changes.tar_bytes += 1024;
        layers.push(Layer {
            index,
            digest: None,
            diff_id: format!("demo:{index}"),
            compression: Compression::None,
            blob_bytes: None,
            history: hist,
            changes,
        });
    }
    Ok(Image {
        reference: spec.tag.clone(),
        source,
        id: "sha256:demo".into(),
        config: ImageConfig {
            user: spec.user.clone(),
            env: spec.env.clone(),
            entrypoint: spec.entrypoint.clone(),
            cmd: spec.cmd.clone(),
            workdir: spec.workdir.clone(),
            architecture: spec.architecture.clone(),
            os: "linux".into(),
            ..Default::default()
        },
        history,
        layers,
        warnings: Vec::new(),
    })
}

/// The demo image's description, to write it as an archive.
pub fn spec() -> Result<ImageSpec> {
    parse_spec(DEMO_TOML)
}

/// The demo image.
pub fn image() -> Result<Image> {
    image_from_spec(&parse_spec(DEMO_TOML)?, SourceKind::Demo)
}
