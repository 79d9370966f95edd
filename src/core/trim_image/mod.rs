//! What a trimmed image is: which entries of which layer survive, given the paths a trimming
//! session removes. Pure: the plan is computed from the layer tree; `source::writer::rewrite`
//! streams the original layers through it, and `safety` says what the removal would break.
//!
//! An entry survives when the final image still shows it and no decision removes it. So the
//! paths a session accepts go from every layer that carries them, and so do the bytes later
//! layers hide (overwritten or deleted files, and whiteouts left with nothing to hide). The
//! final image is the original minus the removed paths, which `expected_paths` lists for the
//! check after writing.

pub mod safety;
pub mod smoke;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use super::entry::EntryKind;
use super::findings::paths::glob_set;
use super::findings::{own_bytes, Finding, RuleSet};
use super::image::Image;
use super::tree::{Change, NodeId, Tree, ROOT};
use super::trim::Session;
use super::Examination;

/// Rules whose fix is not removing the paths they claim.
const NOT_BY_REMOVAL: &[(&str, &str)] = &[
    (
        "unstripped-binaries",
        "its fix is `strip`, not removing the files; strip in the Dockerfile",
    ),
    (
        "wasted-bytes",
        "hidden bytes are always dropped from a trimmed image",
    ),
];

/// Which entries of one layer the trimmed image keeps, by index into the layer's changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LayerKeep {
    pub entries: Vec<bool>,
    pub whiteouts: Vec<bool>,
    pub opaque_dirs: Vec<bool>,
    /// Content bytes the layer carries now and after trimming.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Of the bytes dropped: those of removed paths, and those later layers hid.
    pub removed_bytes: u64,
    pub hidden_bytes: u64,
}

impl LayerKeep {
    /// The paths to keep, as the writer matches them while streaming the layer tar.
    pub fn filter(&self, changes: &super::entry::LayerChanges) -> LayerFilter {
        let pick = |paths: &[String], keep: &[bool]| -> FxHashSet<String> {
            paths
                .iter()
                .zip(keep)
                .filter(|(_, &k)| k)
                .map(|(p, _)| p.clone())
                .collect()
        };
        let entry_paths: Vec<String> = changes.entries.iter().map(|e| e.path.clone()).collect();
        LayerFilter {
            entries: pick(&entry_paths, &self.entries),
            whiteouts: pick(&changes.whiteouts, &self.whiteouts),
            opaque_dirs: pick(&changes.opaque_dirs, &self.opaque_dirs),
        }
    }
}

/// Normalised image paths to keep in one layer tar; anything else is dropped.
#[derive(Debug, Clone, Default)]
pub struct LayerFilter {
    pub entries: FxHashSet<String>,
    /// Paths whose whiteout (`.wh.NAME`) is kept.
    pub whiteouts: FxHashSet<String>,
    /// Directories whose opaque marker is kept.
    pub opaque_dirs: FxHashSet<String>,
}

/// Bytes removed per finding category (each byte once, to the first accepted finding).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryRemoval {
    pub category: String,
    pub bytes: u64,
    pub paths: u64,
}

#[derive(Debug, Clone)]
pub struct TrimPlan {
    pub layers: Vec<LayerKeep>,
    /// Per tree node: the final image loses this path.
    pub removed: Vec<bool>,
    pub categories: Vec<CategoryRemoval>,
    /// Accepted findings applied, by session key.
    pub applied: Vec<String>,
    /// Accepted findings not applied, with the reason.
    pub not_applied: Vec<(String, String)>,
    /// Things the user should know: paths kept against a decision, and why.
    pub notes: Vec<String>,
    /// Chosen node → index into `applied` of the finding that chose it.
    pub chosen_by: FxHashMap<NodeId, usize>,
}

impl TrimPlan {
    pub fn bytes_before(&self) -> u64 {
        self.layers.iter().map(|l| l.bytes_before).sum()
    }
    pub fn bytes_after(&self) -> u64 {
        self.layers.iter().map(|l| l.bytes_after).sum()
    }
    pub fn hidden_bytes(&self) -> u64 {
        self.layers.iter().map(|l| l.hidden_bytes).sum()
    }
    pub fn removed_bytes(&self) -> u64 {
        self.layers.iter().map(|l| l.removed_bytes).sum()
    }

    /// The accepted finding that removes `node` (itself or a directory above it).
    pub fn finding_for(&self, tree: &Tree, node: NodeId) -> Option<&str> {
        let mut cur = node;
        loop {
            if let Some(&i) = self.chosen_by.get(&cur) {
                return self.applied.get(i).map(String::as_str);
            }
            if cur == ROOT {
                return None;
            }
            cur = tree.node(cur).parent;
        }
    }

    /// What the trimmed image must show: every non-directory path of the final image that
    /// is not removed, with its kind and size. Directories are left out: one whose entries
    /// were all removed may stay as an empty directory or vanish with its last child.
    pub fn expected_paths(&self, tree: &Tree) -> Vec<(String, EntryKind, u64)> {
        final_listing(tree, Some(&self.removed))
    }
}

/// Every non-directory path the final image shows (less `removed` ones), sorted: the
/// listing a trimmed image is checked against.
pub fn final_listing(tree: &Tree, removed: Option<&[bool]>) -> Vec<(String, EntryKind, u64)> {
    let mut out: Vec<(String, EntryKind, u64)> = tree
        .final_nodes()
        .filter(|&n| !removed.is_some_and(|r| r[n as usize]))
        .filter_map(|n| {
            let e = tree.final_state(n)?;
            (e.kind != EntryKind::Dir).then(|| (tree.path(n), e.kind, e.size))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The accepted findings the plan removes paths for, with their session keys.
pub fn removal_findings<'a>(
    session: &'a Session,
    ex: &'a Examination,
) -> (Vec<(String, &'a Finding)>, Vec<(String, String)>) {
    let mut applied = Vec::new();
    let mut skipped = Vec::new();
    for ((key, &i), d) in session
        .keys
        .iter()
        .zip(&session.order)
        .zip(&session.decisions)
    {
        if *d != Some(super::trim::Decision::Accept) {
            continue;
        }
        let f = &ex.findings.findings[i];
        match NOT_BY_REMOVAL.iter().find(|(rule, _)| *rule == f.rule) {
            Some((_, why)) => skipped.push((key.clone(), (*why).to_owned())),
            None => applied.push((key.clone(), f)),
        }
    }
    (applied, skipped)
}

/// Plans the trimmed image for the session's accepted findings.
pub fn plan(image: &Image, ex: &Examination, session: &Session, rules: &RuleSet) -> TrimPlan {
    let (findings, not_applied) = removal_findings(session, ex);
    let tree = &ex.tree;
    let mut chosen = vec![false; tree.nodes.len()];
    let mut chosen_by = FxHashMap::default();
    for (i, (_, f)) in findings.iter().enumerate() {
        for &n in &f.files {
            chosen[n as usize] = true;
            chosen_by.entry(n).or_insert(i);
        }
    }
    // The directories the applied rules name (`numpy/tests`, `root/.cache/pip`) go with
    // their files when nothing else is left in them: an empty `tests` directory would still
    // import, as a namespace package.
    let applied_rules: Vec<&super::findings::Rule> = findings
        .iter()
        .filter_map(|(_, f)| rules.rules.iter().find(|r| r.id == f.rule))
        .collect();
    let named = glob_set(applied_rules.iter().flat_map(|r| &r.paths));
    let excepted = glob_set(applied_rules.iter().flat_map(|r| &r.except));
    choose_emptied_dirs(tree, &mut chosen, |path| {
        named.is_match(path) && !excepted.is_match(path)
    });
    let mut plan = plan_removal(image, tree, &chosen);
    plan.chosen_by = chosen_by;
    plan.applied = findings.iter().map(|(k, _)| k.clone()).collect();
    plan.not_applied = not_applied;
    // Bytes per category, each removed path counted once, for the first finding claiming it.
    let mut counted = vec![false; tree.nodes.len()];
    let mut by_category: Vec<CategoryRemoval> = Vec::new();
    for (_, f) in &findings {
        let (mut bytes, mut paths) = (0, 0);
        for &n in &f.files {
            if plan.removed[n as usize] && !counted[n as usize] {
                counted[n as usize] = true;
                bytes += own_bytes(tree, n);
                paths += 1;
            }
        }
        match by_category.iter_mut().find(|c| c.category == f.category) {
            Some(c) => {
                c.bytes += bytes;
                c.paths += paths;
            }
            None => by_category.push(CategoryRemoval {
                category: f.category.clone(),
                bytes,
                paths,
            }),
        }
    }
    let hidden = plan.hidden_bytes();
    if hidden > 0 {
        by_category.push(CategoryRemoval {
            category: "wasted".into(),
            bytes: hidden,
            paths: 0,
        });
    }
    by_category.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.category.cmp(&b.category)));
    plan.categories = by_category;
    plan
}

/// Marks directories whose every final-image path is chosen, and which `named` names, as
/// chosen themselves. Children have larger ids than their parents, so one backward pass
/// sees a directory's contents before the directory.
fn choose_emptied_dirs(tree: &Tree, chosen: &mut [bool], named: impl Fn(&str) -> bool) {
    let n = tree.nodes.len();
    let mut kept_below = vec![false; n];
    let mut chosen_below = vec![false; n];
    for id in (1..n).rev() {
        let Some(e) = tree.final_state(id as NodeId) else {
            continue;
        };
        // Emptied: everything in it goes. It goes itself when named, or with a named
        // directory above it; otherwise it stays, empty.
        let emptied = e.kind == EntryKind::Dir && chosen_below[id] && !kept_below[id];
        if !chosen[id] && emptied && named(&tree.path(id as NodeId)) {
            chosen[id] = true;
        }
        let parent = tree.nodes[id].parent as usize;
        if chosen[id] || emptied {
            chosen_below[parent] = true;
        } else {
            kept_below[parent] = true;
        }
    }
}

/// Plans the layers for removing `chosen` nodes (and everything below a chosen directory)
/// from the final image, and dropping whatever the final image cannot see.
pub fn plan_removal(image: &Image, tree: &Tree, chosen: &[bool]) -> TrimPlan {
    // Nodes are created parent first, so one forward pass carries removal down the tree.
    let mut removed = vec![false; tree.nodes.len()];
    for id in 1..tree.nodes.len() {
        let parent = tree.nodes[id].parent as usize;
        removed[id] = chosen[id] || (parent != ROOT as usize && removed[parent]);
    }
    // File entries whose bytes a kept path shows (its own, or through a hardlink).
    let mut needed: FxHashSet<(u32, u32)> = FxHashSet::default();
    let mut notes = Vec::new();
    for n in tree.final_nodes() {
        if removed[n as usize] {
            continue;
        }
        if let Some(ino) = tree.final_state(n).and_then(|e| e.inode) {
            let ino = &tree.inodes[ino as usize];
            needed.insert((ino.layer, ino.entry));
        }
    }
    // A removed file whose bytes a kept hardlink still needs stays: the link needs its entry.
    for n in tree.final_nodes() {
        if !removed[n as usize] {
            continue;
        }
        let Some(e) = tree.final_state(n) else {
            continue;
        };
        if e.kind != EntryKind::File {
            continue;
        }
        if let Some(ino) = e.inode.map(|i| &tree.inodes[i as usize]) {
            if ino.node == n && needed.contains(&(ino.layer, ino.entry)) {
                removed[n as usize] = false;
                notes.push(format!(
                    "kept {}: a kept hardlink shares its content",
                    tree.path(n)
                ));
            }
        }
    }

    let mut layers = Vec::with_capacity(image.layers.len());
    for layer in &image.layers {
        let l = layer.index as u32;
        let changes = &layer.changes;
        let mut keep = LayerKeep {
            entries: Vec::with_capacity(changes.entries.len()),
            ..Default::default()
        };
        for (index, entry) in changes.entries.iter().enumerate() {
            let node = tree.lookup(&entry.path);
            let kept = node.is_some_and(|n| {
                entry_survives(tree, n, l, entry.kind, index as u32, &removed, &needed)
            });
            keep.entries.push(kept);
            keep.bytes_before += entry.size;
            if kept {
                keep.bytes_after += entry.size;
            } else if node.is_some_and(|n| removed[n as usize] && shows_entry(tree, n, l)) {
                keep.removed_bytes += entry.size;
            } else {
                keep.hidden_bytes += entry.size;
            }
        }
        layers.push(keep);
    }
    // Whiteouts and opaque markers matter only while a kept lower entry sits under them.
    let mut lowest_at: FxHashMap<&str, u32> = FxHashMap::default();
    let mut lowest_under: FxHashMap<&str, u32> = FxHashMap::default();
    for (layer, keep) in image.layers.iter().zip(&layers) {
        let l = layer.index as u32;
        for (entry, _) in layer
            .changes
            .entries
            .iter()
            .zip(&keep.entries)
            .filter(|(_, &k)| k)
        {
            lowest_at.entry(entry.path.as_str()).or_insert(l);
            let mut p = entry.path.as_str();
            while let Some(i) = p.rfind('/') {
                p = &p[..i];
                lowest_under.entry(p).or_insert(l);
            }
        }
    }
    for (layer, keep) in image.layers.iter().zip(layers.iter_mut()) {
        let l = layer.index as u32;
        let below = |map: &FxHashMap<&str, u32>, p: &str| map.get(p).is_some_and(|&at| at < l);
        keep.whiteouts = layer
            .changes
            .whiteouts
            .iter()
            .map(|p| below(&lowest_at, p) || below(&lowest_under, p))
            .collect();
        keep.opaque_dirs = layer
            .changes
            .opaque_dirs
            .iter()
            .map(|d| below(&lowest_under, d))
            .collect();
    }
    TrimPlan {
        layers,
        removed,
        categories: Vec::new(),
        applied: Vec::new(),
        not_applied: Vec::new(),
        notes,
        chosen_by: FxHashMap::default(),
    }
}

/// Whether the final image shows what layer `l` wrote at node `n` (the path's last event is
/// this layer's, and not a deletion).
fn shows_entry(tree: &Tree, n: NodeId, l: u32) -> bool {
    tree.final_state(n).is_some_and(|e| e.layer == l)
}

fn entry_survives(
    tree: &Tree,
    n: NodeId,
    l: u32,
    kind: EntryKind,
    index: u32,
    removed: &[bool],
    needed: &FxHashSet<(u32, u32)>,
) -> bool {
    match kind {
        // A file's bytes stay while any kept path shows them, even from a later layer.
        EntryKind::File => needed.contains(&(l, index)),
        // A directory stays while no later layer deletes it or puts something else there;
        // later directory entries only change its metadata.
        EntryKind::Dir => {
            !removed[n as usize]
                && tree
                    .final_state(n)
                    .is_some_and(|e| e.kind == EntryKind::Dir)
                && tree
                    .node(n)
                    .events
                    .iter()
                    .filter(|e| e.layer > l)
                    .all(|e| e.change != Change::Deleted && e.kind == EntryKind::Dir)
        }
        _ => !removed[n as usize] && shows_entry(tree, n, l),
    }
}
