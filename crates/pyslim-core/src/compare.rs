//! Comparing variants of one app (slim vs distroless vs alpine …): the figures that decide
//! which to ship, side by side, and a path-level difference. A pure function of each image's
//! examination.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::entry::EntryKind;
use super::image::Image;
use super::Examination;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Variant {
    pub reference: String,
    pub source: String,
    /// File content of the final image.
    pub image_bytes: u64,
    /// Stored (compressed where the source compresses) layer bytes, when known.
    pub blob_bytes: Option<u64>,
    pub layers: usize,
    pub files: u64,
    pub os: String,
    /// `glibc`, `musl` or `unknown`.
    pub libc: String,
    pub os_packages: usize,
    /// `3.12 (usr/local/bin/python3.12)`.
    pub interpreters: Vec<String>,
    pub python_packages: usize,
    pub shell: bool,
    pub package_manager: bool,
    /// Bytes of the compilers finding (0: none).
    pub compiler_bytes: u64,
    /// The user it runs as (`root` when unset).
    pub user: String,
    pub setuid_files: Vec<String>,
    /// Python packages built for glibc sitting on a musl image: they will not load.
    pub manylinux_on_musl: Vec<String>,
    pub reclaimable_bytes: u64,
    /// Category → reclaimable bytes.
    pub findings: BTreeMap<String, u64>,
    pub secrets: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PackageRow {
    pub name: String,
    /// Version per variant (None: absent).
    pub versions: Vec<Option<String>>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PathRow {
    pub path: String,
    /// Bytes per variant (None: absent).
    pub bytes: Vec<Option<u64>>,
}

impl PathRow {
    /// The widest gap between variants, for ordering.
    pub fn spread(&self) -> u64 {
        let vals: Vec<u64> = self.bytes.iter().map(|b| b.unwrap_or(0)).collect();
        vals.iter().max().unwrap_or(&0) - vals.iter().min().unwrap_or(&0)
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Comparison {
    pub variants: Vec<Variant>,
    /// OS packages that only some variants have (name and version per variant).
    pub os_packages: Vec<PackageRow>,
    /// Python packages that differ (absent somewhere, or at another version).
    pub python_packages: Vec<PackageRow>,
    /// Files present in only some variants or at different sizes, widest gap first.
    pub paths: Vec<PathRow>,
    /// How many paths differ in all (`paths` keeps the first `top`).
    pub paths_differing: usize,
}

fn variant(image: &Image, ex: &Examination) -> Variant {
    let inv = &ex.inventory;
    let f = &ex.findings;
    let present = |rule: &str| f.findings.iter().find(|x| x.rule == rule);
    let mut findings = BTreeMap::new();
    for c in &f.categories {
        findings.insert(c.category.clone(), c.bytes);
    }
    let user = image.config.user.trim();
    let musl = inv.libc == "musl";
    Variant {
        reference: image.reference.clone(),
        source: image.source.as_str().to_owned(),
        image_bytes: ex.analysis.totals.image_bytes,
        blob_bytes: ex.analysis.totals.blob_bytes,
        layers: ex.analysis.totals.layers,
        files: ex.analysis.totals.files,
        os: inv
            .os
            .as_ref()
            .map(|o| o.pretty_name.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".into()),
        libc: inv.libc.clone(),
        os_packages: inv.os_packages.len(),
        interpreters: inv
            .interpreters
            .iter()
            .map(|i| format!("{} (/{})", i.version, i.path))
            .collect(),
        python_packages: inv.python_packages.len(),
        shell: present("shell-present").is_some(),
        package_manager: present("package-manager-present").is_some(),
        compiler_bytes: present("compilers").map(|x| x.bytes).unwrap_or(0),
        user: if user.is_empty() {
            "root (unset)".into()
        } else {
            user.to_owned()
        },
        setuid_files: present("setuid-files")
            .map(|x| x.items.iter().map(|i| format!("/{}", i.name)).collect())
            .unwrap_or_default(),
        manylinux_on_musl: if musl {
            inv.python_packages
                .iter()
                .filter(|p| p.is_manylinux())
                .map(|p| format!("{} {}", p.name, p.version))
                .collect()
        } else {
            Vec::new()
        },
        reclaimable_bytes: f.reclaimable_bytes,
        findings,
        secrets: present("secrets").map(|x| x.count).unwrap_or(0),
    }
}

/// Rows for names whose version differs or that some variants lack.
fn package_rows(sets: Vec<BTreeMap<String, String>>) -> Vec<PackageRow> {
    let names: BTreeSet<&String> = sets.iter().flat_map(|s| s.keys()).collect();
    names
        .into_iter()
        .filter_map(|n| {
            let versions: Vec<Option<String>> = sets.iter().map(|s| s.get(n).cloned()).collect();
            let first = &versions[0];
            (!versions.iter().all(|v| v == first)).then(|| PackageRow {
                name: n.clone(),
                versions,
            })
        })
        .collect()
}

/// Every file (non-directory) of the final image with its bytes.
fn files(ex: &Examination) -> BTreeMap<String, u64> {
    let tree = &ex.tree;
    // Paths top-down, reusing each parent's.
    let mut paths: Vec<Option<String>> = vec![None; tree.nodes.len()];
    paths[0] = Some(String::new());
    let mut out = BTreeMap::new();
    for id in 1..tree.nodes.len() {
        let node = &tree.nodes[id];
        let Some(e) = tree.final_state(id as u32) else {
            continue;
        };
        let parent = paths[node.parent as usize].clone().unwrap_or_default();
        let path = if parent.is_empty() {
            node.name.to_string()
        } else {
            format!("{parent}/{}", node.name)
        };
        if e.kind == EntryKind::Dir {
            paths[id] = Some(path);
        } else {
            out.insert(
                path,
                if e.kind == EntryKind::File || e.kind == EntryKind::Hardlink {
                    e.size
                } else {
                    0
                },
            );
        }
    }
    out
}

pub fn compare(images: &[(&Image, &Examination)], top: usize) -> Comparison {
    let variants: Vec<Variant> = images.iter().map(|(i, e)| variant(i, e)).collect();
    let os_packages = package_rows(
        images
            .iter()
            .map(|(_, e)| {
                e.inventory
                    .os_packages
                    .iter()
                    .map(|p| (p.name.clone(), p.version.clone()))
                    .collect()
            })
            .collect(),
    );
    let python_packages = package_rows(
        images
            .iter()
            .map(|(_, e)| {
                e.inventory
                    .python_packages
                    .iter()
                    .map(|p| {
                        (
                            super::inventory::normalize_dist_name(&p.name),
                            p.version.clone(),
                        )
                    })
                    .collect()
            })
            .collect(),
    );
    let file_sets: Vec<BTreeMap<String, u64>> = images.iter().map(|(_, e)| files(e)).collect();
    let all: BTreeSet<&String> = file_sets.iter().flat_map(|s| s.keys()).collect();
    let mut paths: Vec<PathRow> = all
        .into_iter()
        .filter_map(|p| {
            let bytes: Vec<Option<u64>> = file_sets.iter().map(|s| s.get(p).copied()).collect();
            let first = bytes[0];
            (!bytes.iter().all(|b| *b == first)).then(|| PathRow {
                path: p.clone(),
                bytes,
            })
        })
        .collect();
    let paths_differing = paths.len();
    paths.sort_by(|a, b| {
        b.spread()
            .cmp(&a.spread())
            .then_with(|| a.path.cmp(&b.path))
    });
    paths.truncate(top);
    Comparison {
        variants,
        os_packages,
        python_packages,
        paths,
        paths_differing,
    }
}
