//! The reference applied to a whole `docker save` archive (the real-python fixture of
//! `tests/findings/real.rs`): each layer tar, in the manifest's order, is extracted onto disk
//! by the same `apply_layer_pinned` the generated stacks go through, one layer in memory at a
//! time, and the result is read back with the same `walk`.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::reference::*;

/// Bytes of a regular file written by one layer and hidden (replaced or deleted) by a later
/// one, or by the same layer writing the path again.
#[derive(Debug, Clone)]
pub struct Hidden {
    pub written: u32,
    pub hidden_by: u32,
    pub path: String,
    pub size: u64,
}

pub struct ArchiveView {
    /// The final tree, with modes (`dir_bytes` and `layer_wasted` are left empty).
    pub extracted: Extracted,
    pub hidden: Vec<Hidden>,
    /// Contents of the regular files of the final tree that `keep_text` picked.
    pub texts: BTreeMap<String, Vec<u8>>,
    pub manifest: serde_json::Value,
    pub config: serde_json::Value,
}

/// Extracts the `docker save` archive at `path` the way Docker would.
pub fn extract_docker_archive(path: &Path, keep_text: impl Fn(&str) -> bool) -> ArchiveView {
    // Where each member's data lies in the archive, and the JSON members' contents.
    let mut outer = tar::Archive::new(fs::File::open(path).expect("open archive"));
    let mut members: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut json: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for member in outer.entries_with_seek().expect("outer tar") {
        let mut member = member.expect("outer member");
        let name =
            normalize(&member.path().expect("member path").to_string_lossy()).expect("member name");
        members.insert(name.clone(), (member.raw_file_position(), member.size()));
        if name.ends_with(".json") {
            let mut v = Vec::new();
            member.read_to_end(&mut v).expect("read json member");
            json.insert(name, v);
        }
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&json["manifest.json"]).expect("manifest.json");
    let config_name = normalize(manifest[0]["Config"].as_str().expect("Config")).expect("name");
    let config: serde_json::Value = serde_json::from_slice(&json[&config_name]).expect("config");

    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("root");
    fs::create_dir(&root).expect("mkdir root");
    let mut file = fs::File::open(path).expect("open archive");
    // Regular files written so far and still visible, with the layer that wrote them.
    let mut pinned: Vec<(u32, Written)> = Vec::new();
    let mut hidden = Vec::new();
    let layers = manifest[0]["Layers"].as_array().expect("Layers");
    for (index, name) in layers.iter().enumerate() {
        let layer = index as u32;
        let name = normalize(name.as_str().expect("layer name")).expect("name");
        let (offset, size) = members[&name];
        let mut bytes = vec![0; size as usize];
        file.seek(SeekFrom::Start(offset)).expect("seek");
        file.read_exact(&mut bytes).expect("read layer");
        let entries = parse_layer(&bytes);
        drop(bytes);
        let written = apply_layer_pinned(&root, &entries, DEFAULT_REF)
            .unwrap_or_else(|e| panic!("layer {index}: {e}"));
        pinned.extend(written.into_iter().map(|w| (layer, w)));
        let visible = visible_inodes(&root);
        pinned.retain(|(written, w)| {
            let shown = visible.contains(&w.file.metadata().expect("fstat").ino());
            if !shown {
                hidden.push(Hidden {
                    written: *written,
                    hidden_by: layer,
                    path: w.path.clone(),
                    size: w.size,
                });
            }
            shown
        });
    }
    let extracted = walk(&root);
    let texts = extracted
        .view
        .iter()
        .filter(|(p, o)| o.kind == Kind::File && keep_text(p))
        .map(|(p, _)| (p.clone(), fs::read(root.join(p)).expect("read kept text")))
        .collect();
    ArchiveView {
        extracted,
        hidden,
        texts,
        manifest,
        config,
    }
}
