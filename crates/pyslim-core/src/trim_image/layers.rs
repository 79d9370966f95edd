//! The per-layer half of the plan: from the nodes chosen for removal to which entries,
//! whiteouts and opaque markers each layer keeps.

use rustc_hash::{FxHashMap, FxHashSet};

use super::{LayerKeep, TrimPlan};
use crate::entry::EntryKind;
use crate::image::Image;
use crate::tree::{Change, NodeId, Tree, ROOT};

/// Marks directories whose every final-image path is chosen, and which `named` names, as
/// chosen themselves. Children have larger ids than their parents, so one backward pass
/// sees a directory's contents before the directory.
pub(super) fn choose_emptied_dirs(tree: &Tree, chosen: &mut [bool], named: impl Fn(&str) -> bool) {
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
    // For a squash: the last layer that keeps each path.
    let mut last_kept: FxHashMap<&str, u32> = FxHashMap::default();
    for (layer, keep) in image.layers.iter().zip(&layers) {
        for (entry, &k) in layer.changes.entries.iter().zip(&keep.entries) {
            if k {
                last_kept.insert(entry.path.as_str(), layer.index as u32);
            }
        }
    }
    for (layer, keep) in image.layers.iter().zip(layers.iter_mut()) {
        let l = layer.index as u32;
        keep.squashed = layer
            .changes
            .entries
            .iter()
            .zip(&keep.entries)
            .map(|(e, &k)| k && last_kept.get(e.path.as_str()) == Some(&l))
            .collect();
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
