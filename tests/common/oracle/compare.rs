//! pyslim's side: reads the same stack in every format and compares it with the reference.

use std::collections::BTreeSet;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use pyslim::core::analysis::Analysis;
use pyslim::core::entry::EntryKind;
use pyslim::core::image::Compression;
use pyslim::source::writer::{
    layer_tar, write_archive, write_oci_dir, ArchiveFormat, ImageSpec, LayerSpec, SpecKind,
};
use pyslim::{OpenOptions, Tree};

use super::reference::*;

pub fn observe(tree: &Tree) -> Result<View, String> {
    let mut view = View::new();
    for id in 1..tree.nodes.len() as u32 {
        let Some(e) = tree.final_state(id) else {
            continue;
        };
        let (kind, size, target) = match e.kind {
            EntryKind::Dir => (Kind::Dir, 0, None),
            EntryKind::File | EntryKind::Hardlink => (Kind::File, e.size, None),
            EntryKind::Symlink => (
                Kind::Symlink,
                0,
                e.link_target.as_deref().map(str::to_owned),
            ),
            other => return Err(format!("unexpected kind {other:?} at {}", tree.path(id))),
        };
        let path = tree.path(id);
        if tree.lookup(&path) != Some(id) {
            return Err(format!("lookup({path:?}) does not find node {id}"));
        }
        if view
            .insert(path.clone(), Obs { kind, size, target })
            .is_some()
        {
            return Err(format!("two visible nodes for {path}"));
        }
    }
    let walked: BTreeSet<String> = tree
        .visible_nodes()
        .skip(1)
        .map(|id| tree.path(id))
        .collect();
    let all: BTreeSet<String> = view.keys().cloned().collect();
    if walked != all {
        return Err(format!(
            "visible_nodes() differs from the nodes with a final state: only walked {:?}, never walked {:?}",
            walked.difference(&all).collect::<Vec<_>>(),
            all.difference(&walked).collect::<Vec<_>>()
        ));
    }
    Ok(view)
}

pub fn diff_views(pyslim: &View, disk: &View) -> Option<String> {
    let mut lines = Vec::new();
    for (p, o) in pyslim {
        match disk.get(p) {
            None => lines.push(format!("  only in pyslim: {p} {o:?}")),
            Some(d) if d != o => lines.push(format!("  differs: {p}: pyslim {o:?}, disk {d:?}")),
            _ => {}
        }
    }
    for (p, d) in disk {
        if !pyslim.contains_key(p) {
            lines.push(format!("  only on disk: {p} {d:?}"));
        }
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// Clears what legitimately differs between the formats one image is written in.
pub fn normalized(a: &Analysis) -> Analysis {
    let mut a = a.clone();
    a.totals.blob_bytes = None;
    for l in &mut a.layers {
        l.digest = None;
        l.blob_bytes = None;
        l.compression = Compression::None;
    }
    a
}

pub fn diff_analyses(a: &Analysis, b: &Analysis) -> Option<String> {
    let (a, b) = (normalized(a), normalized(b));
    if a == b {
        return None;
    }
    let mut out = Vec::new();
    if a.totals != b.totals {
        out.push(format!("totals: {:?} vs {:?}", a.totals, b.totals));
    }
    for (x, y) in a.layers.iter().zip(&b.layers) {
        if x != y {
            out.push(format!("layer {}: {x:?} vs {y:?}", x.index));
        }
    }
    if a.layers.len() != b.layers.len() {
        out.push(format!(
            "layer count {} vs {}",
            a.layers.len(),
            b.layers.len()
        ));
    }
    if a.largest_files != b.largest_files {
        out.push(format!(
            "largest_files: {:?} vs {:?}",
            a.largest_files, b.largest_files
        ));
    }
    if a.wasted_paths != b.wasted_paths {
        out.push(format!(
            "wasted_paths: {:?} vs {:?}",
            a.wasted_paths, b.wasted_paths
        ));
    }
    if a.dive != b.dive {
        out.push(format!("dive: {:?} vs {:?}", a.dive, b.dive));
    }
    Some(out.join("\n  "))
}

pub const FORMATS: [&str; 4] = [
    "docker-legacy.tar",
    "docker-oci.tar",
    "oci-layout.tar",
    "oci-layout-dir",
];

pub fn write_formats(spec: &ImageSpec, dir: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for name in FORMATS {
        let path = dir.join(name);
        match name {
            "docker-legacy.tar" => fs::write(
                &path,
                write_archive(spec, ArchiveFormat::DockerLegacy, Vec::new()).expect("write"),
            ),
            "docker-oci.tar" => fs::write(
                &path,
                write_archive(spec, ArchiveFormat::DockerOci, Vec::new()).expect("write"),
            ),
            "oci-layout.tar" => fs::write(
                &path,
                write_archive(spec, ArchiveFormat::OciLayout, Vec::new()).expect("write"),
            ),
            _ => write_oci_dir(spec, &path),
        }
        .expect("write image");
        paths.push(path);
    }
    paths
}

/// Reads one written image with pyslim and compares it with the extracted reference.
pub fn check_format(
    path: &Path,
    disk: &Extracted,
    layer_file_bytes: u64,
) -> Result<Analysis, String> {
    let image = pyslim::open(path.to_str().expect("utf-8 path"), &OpenOptions::default())
        .map_err(|e| format!("open: {e}"))?;
    if !image.warnings.is_empty() {
        return Err(format!("image warnings: {:?}", image.warnings));
    }
    let tree = Tree::build(&image.layers);
    let analysis = pyslim::analyze(&image, &tree, 20);
    let mut errs = Vec::new();
    if let Some(w) = tree.warnings.iter().find(|w| w.contains("hardlink")) {
        errs.push(format!("tree warning for a valid hardlink: {w}"));
    }
    match observe(&tree) {
        Err(e) => errs.push(e),
        Ok(view) => {
            if let Some(d) = diff_views(&view, &disk.view) {
                errs.push(format!("merged tree differs from extraction:\n{d}"));
            }
        }
    }
    let t = &analysis.totals;
    let checks: [(&str, u64, u64); 6] = [
        ("tree.final_bytes[0]", tree.final_bytes[0], disk.bytes),
        ("totals.image_bytes", t.image_bytes, disk.bytes),
        ("totals.layer_bytes", t.layer_bytes, layer_file_bytes),
        (
            "totals.wasted_bytes",
            t.wasted_bytes,
            layer_file_bytes.saturating_sub(disk.bytes),
        ),
        ("totals.files", t.files, disk.files),
        ("totals.directories", t.directories, disk.dirs),
    ];
    for (what, got, want) in checks {
        if got != want {
            errs.push(format!("{what} = {got}, reference says {want}"));
        }
    }
    let per_layer: Vec<u64> = analysis.layers.iter().map(|l| l.wasted_bytes).collect();
    if per_layer != disk.layer_wasted {
        errs.push(format!(
            "per-layer wasted bytes {per_layer:?}, reference says {:?}",
            disk.layer_wasted
        ));
    }
    for (dir, (low, high)) in &disk.dir_bytes {
        let got = if dir.is_empty() {
            Some(tree.final_bytes[0])
        } else {
            tree.lookup(dir).map(|id| tree.final_bytes[id as usize])
        };
        match got {
            Some(b) if (*low..=*high).contains(&b) => {}
            other => errs.push(format!(
                "bytes under {dir:?}: pyslim {other:?}, reference says {low}..={high}"
            )),
        }
    }
    if t.wasted_bytes != t.layer_bytes.wrapping_sub(t.image_bytes) {
        errs.push(format!(
            "wasted_bytes {} != layer_bytes {} - image_bytes {}",
            t.wasted_bytes, t.layer_bytes, t.image_bytes
        ));
    }
    if errs.is_empty() {
        Ok(analysis)
    } else {
        Err(errs.join("\n"))
    }
}

pub fn check_case_with(layers: &[LayerSpec], opts: RefOptions) -> Result<(), Fail> {
    let tars: Vec<Vec<u8>> = layers
        .iter()
        .map(|l| layer_tar(l).expect("layer tar"))
        .collect();
    let disk = reference(&tars, opts).map_err(Fail::Domain)?;
    let layer_file_bytes: u64 = tars
        .iter()
        .flat_map(|t| parse_layer(t))
        .filter(|e| e.ty == tar::EntryType::Regular)
        .map(|e| e.data.len() as u64)
        .sum();
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec = ImageSpec::new("oracle/case:latest", layers.to_vec());
    let paths = write_formats(&spec, tmp.path());
    let mut errs = Vec::new();
    let mut first: Option<(&str, Analysis)> = None;
    for (name, path) in FORMATS.iter().zip(&paths) {
        let result = catch_unwind(AssertUnwindSafe(|| {
            check_format(path, &disk, layer_file_bytes)
        }))
        .unwrap_or_else(|p| {
            Err(format!(
                "panicked: {:?}",
                p.downcast_ref::<String>()
                    .map(String::as_str)
                    .or(p.downcast_ref::<&str>().copied())
            ))
        });
        match result {
            Err(e) => errs.push(format!("[{name}] {e}")),
            Ok(a) => match &first {
                None => first = Some((name, a)),
                Some((first_name, fa)) => {
                    if let Some(d) = diff_analyses(fa, &a) {
                        errs.push(format!("[{first_name} vs {name}] analyses differ:\n  {d}"));
                    }
                }
            },
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(Fail::Mismatch(errs.join("\n")))
    }
}

pub fn check_case(layers: &[LayerSpec]) -> Result<(), Fail> {
    check_case_with(layers, DEFAULT_REF)
}

/// One line per layer, for failure messages.
pub fn describe(layers: &[LayerSpec]) -> String {
    let mut out = String::new();
    for (i, l) in layers.iter().enumerate() {
        let items: Vec<String> = l
            .entries
            .iter()
            .map(|e| {
                let p = String::from_utf8_lossy(&e.path);
                match &e.kind {
                    SpecKind::File(c) => format!("file {p} ({})", c.len()),
                    SpecKind::Dir => format!("dir {p}"),
                    SpecKind::Symlink(t) => format!("symlink {p} -> {t}"),
                    SpecKind::Hardlink(t) => format!("hardlink {p} => {t}"),
                    SpecKind::Whiteout => format!("whiteout {p}"),
                    SpecKind::Opaque => format!("opaque {p:?}"),
                    other => format!("{other:?} {p}"),
                }
            })
            .collect();
        out.push_str(&format!(
            "  L{i} [{:?}]: {}\n",
            l.compression,
            items.join(", ")
        ));
    }
    out
}
