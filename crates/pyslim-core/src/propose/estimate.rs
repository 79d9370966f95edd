//! What the proposed image will weigh, from the image model alone: the new base, plus each
//! runtime layer sized from the files of the current image it will hold. Sizes are what
//! `docker image inspect` reports: apparent bytes of files, hardlinked content once.

use rustc_hash::FxHashSet;
use serde::Serialize;

use super::plan::{user_dists, Plan};
use crate::entry::EntryKind;
use crate::findings::RuleSet;
use crate::image::Image;
use crate::inventory::normalize_dist_name;
use crate::tree::{NodeId, Tree, ROOT};
use crate::Examination;

/// What a venv made by `python -m venv` holds besides its packages (activate scripts,
/// pyvenv.cfg, links), when the image has no venv to measure.
pub const VENV_SKELETON_BYTES: u64 = 12 * 1024;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BaseSize {
    pub image: String,
    pub bytes: u64,
    /// `daemon` (measured), `table` (assets/bases.toml, of `date`) or `unknown`.
    pub source: String,
    pub date: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LayerEstimate {
    /// The runtime instruction that makes the layer.
    pub instruction: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FindingChange {
    pub rule: String,
    pub title: String,
    /// Bytes of the finding in the current image (0 for posture findings).
    pub bytes: u64,
    /// What the proposal does about it.
    pub action: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Estimate {
    /// What the image ships now: every layer's bytes, hidden ones included.
    pub current_bytes: u64,
    /// The current image's base layers (below the user's first step).
    pub current_base_bytes: u64,
    pub base: BaseSize,
    pub layers: Vec<LayerEstimate>,
    pub total_bytes: u64,
    /// Current minus proposed (negative when the proposal is larger).
    pub saved_bytes: i64,
    pub by_finding: Vec<FindingChange>,
}

/// Measured facts about the runtime base, when the caller could read them.
#[derive(Debug, Clone, Default)]
pub struct BaseFacts {
    pub bytes: Option<u64>,
    pub digest: Option<String>,
    /// The Pythons it has (`/usr/bin/python3.11`), when its files could be read.
    pub pythons: Option<Vec<String>>,
}

pub fn estimate(
    image: &Image,
    ex: &Examination,
    rules: &RuleSet,
    plan: &Plan,
    first_user_layer: usize,
    base: BaseSize,
) -> Estimate {
    let tree = &ex.tree;
    let inv = &ex.inventory;
    let current_bytes: u64 = image.layers.iter().map(|l| l.content_bytes()).sum();
    let current_base_bytes: u64 = image.layers[..first_user_layer.min(image.layers.len())]
        .iter()
        .map(|l| l.content_bytes())
        .sum();
    let mut layers = Vec::new();

    if !plan.runtime.os.libraries.is_empty() {
        // Distroless: one COPY per directory of libraries, each file as the builder has it.
        for l in &plan.runtime.os.libraries {
            layers.push(LayerEstimate {
                instruction: format!("COPY {}/ ({})", l.dir, l.packages.join(" ")),
                bytes: l.bytes,
            });
        }
    } else if !plan.runtime.os.packages.is_empty() {
        // What the package manager installs: the packages and the dependencies the build
        // installed with them.
        let bytes = plan
            .runtime
            .os
            .closure
            .iter()
            .filter_map(|n| inv.os_packages.iter().find(|p| &p.name == n))
            .map(|p| {
                if p.file_bytes > 0 {
                    p.file_bytes
                } else {
                    p.installed_bytes
                }
            })
            .sum();
        layers.push(LayerEstimate {
            instruction: format!("RUN install {}", plan.runtime.os.packages.join(" ")),
            bytes,
        });
    }
    if plan.runtime.user.create {
        // Adding a user rewrites these files (and their `-` backups) whole.
        let bytes: u64 = ["etc/passwd", "etc/group", "etc/shadow", "etc/gshadow"]
            .iter()
            .filter_map(|p| tree.lookup(p))
            .filter_map(|n| tree.final_state(n))
            .map(|e| 2 * (e.size + 48))
            .sum();
        layers.push(LayerEstimate {
            instruction: format!("RUN add user {}", plan.runtime.user.name),
            bytes,
        });
    }

    // The venv: its files in the image, minus what the builder prunes and uninstalls.
    let dists = user_dists(inv, tree, first_user_layer);
    let dropped: FxHashSet<NodeId> = dists
        .iter()
        .filter(|p| {
            plan.venv_contents
                .uninstalled
                .contains(&normalize_dist_name(&p.name))
        })
        .flat_map(|p| p.files_nodes.iter().copied())
        .collect();
    let venv_node = tree.lookup(plan.stages.venv.trim_start_matches('/'));
    let venv_bytes = match venv_node {
        Some(n) => subtree_bytes(tree, n, &dropped, true, None),
        None => {
            let kept: FxHashSet<NodeId> = dists
                .iter()
                .filter(|p| {
                    !plan
                        .venv_contents
                        .uninstalled
                        .contains(&normalize_dist_name(&p.name))
                })
                .flat_map(|p| p.files_nodes.iter().copied())
                .collect();
            kept.iter()
                .filter(|&&n| !under_pruned_dir(tree, n))
                .filter_map(|&n| tree.final_state(n))
                .filter(|e| e.kind == EntryKind::File)
                .map(|e| e.size)
                .sum::<u64>()
                + VENV_SKELETON_BYTES
        }
    };
    let venv_path = plan.stages.venv.trim_end_matches('/');
    for c in &plan.runtime.copies {
        let node = tree.lookup(c.path.trim_start_matches('/'));
        let bytes = if c.path.trim_end_matches('/') == venv_path {
            venv_bytes
        } else if c.holds_venv {
            // The folder without its venv, plus the venv as the builder leaves it.
            node.map(|n| subtree_bytes(tree, n, &FxHashSet::default(), false, venv_node))
                .unwrap_or(0)
                + venv_bytes
        } else {
            node.map(|n| subtree_bytes(tree, n, &FxHashSet::default(), false, None))
                .unwrap_or(0)
        };
        layers.push(LayerEstimate {
            instruction: format!("COPY {}", c.path),
            bytes,
        });
    }

    let total_bytes = base.bytes + layers.iter().map(|l| l.bytes).sum::<u64>();
    // One row per rule (wasted bytes come as one finding per layer), biggest first.
    let mut by_finding: Vec<FindingChange> = Vec::new();
    for f in &ex.findings.findings {
        let bytes = if f.bloat { f.bytes } else { 0 };
        if let Some(row) = by_finding.iter_mut().find(|r| r.rule == f.rule) {
            row.bytes += bytes;
            continue;
        }
        by_finding.push(FindingChange {
            rule: f.rule.clone(),
            title: f.title.clone(),
            bytes,
            action: plan
                .context
                .target_actions
                .get(&f.rule)
                .cloned()
                .or_else(|| {
                    rules
                        .rules
                        .iter()
                        .find(|r| r.id == f.rule)
                        .and_then(|r| r.proposal.clone())
                })
                .unwrap_or_else(|| "Not changed by the proposal.".into()),
        });
    }
    by_finding.sort_by_key(|f| std::cmp::Reverse(f.bytes));
    Estimate {
        current_bytes,
        current_base_bytes,
        base,
        layers,
        total_bytes,
        saved_bytes: current_bytes as i64 - total_bytes as i64,
        by_finding,
    }
}

/// Final-image file bytes under `node`, each inode once, leaving out `dropped` files and,
/// when `prune`, what the builder's prune step deletes (`tests`, `test`, `__pycache__`), and
/// the `skip` subtree (a venv counted on its own).
fn subtree_bytes(
    tree: &Tree,
    node: NodeId,
    dropped: &FxHashSet<NodeId>,
    prune: bool,
    skip: Option<NodeId>,
) -> u64 {
    let mut seen_inodes = FxHashSet::default();
    let mut total = 0u64;
    let mut stack = vec![node];
    while let Some(id) = stack.pop() {
        if Some(id) == skip {
            continue;
        }
        let Some(state) = (if id == ROOT {
            None
        } else {
            tree.final_state(id)
        }) else {
            continue;
        };
        match state.kind {
            EntryKind::Dir => {
                let name = &*tree.node(id).name;
                if prune && id != node && matches!(name, "tests" | "test" | "__pycache__") {
                    continue;
                }
                stack.extend(tree.node(id).children.iter().copied());
            }
            EntryKind::File | EntryKind::Hardlink => {
                if dropped.contains(&id) {
                    continue;
                }
                if let Some(inode) = state.inode {
                    if !seen_inodes.insert(inode) {
                        continue;
                    }
                }
                total += state.size;
            }
            _ => {}
        }
    }
    total
}

/// True when a path lies below a directory the builder's prune step deletes.
fn under_pruned_dir(tree: &Tree, mut id: NodeId) -> bool {
    while id != ROOT {
        id = tree.node(id).parent;
        if matches!(&*tree.node(id).name, "tests" | "test" | "__pycache__") {
            return true;
        }
    }
    false
}
