//! The file tree as the explorer shows it for one layer: which paths appear, how each changed
//! in that layer, their sizes, and the flattened rows of what is expanded. Pure functions of
//! the tree and the view settings; recomputed when a setting changes, never per frame.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::core::entry::EntryKind;
use crate::core::tree::{Change, NodeId, Tree, ROOT};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The image as it stands after the selected layer (dive's aggregated view).
    UpToLayer,
    /// Only what the selected layer changed.
    LayerOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    All,
    Added,
    Modified,
    Removed,
    Bloat,
    Wasted,
}

impl Filter {
    pub fn label(self) -> &'static str {
        match self {
            Filter::All => "all",
            Filter::Added => "added",
            Filter::Modified => "changed",
            Filter::Removed => "removed",
            Filter::Bloat => "findings",
            Filter::Wasted => "wasted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Size,
    Name,
}

/// The sizes `z` cycles through.
pub const MIN_SIZES: [u64; 5] = [0, 1 << 10, 1 << 20, 10 << 20, 100 << 20];

/// What one layer's view shows of each node.
pub struct LayerView {
    pub layer: u32,
    pub scope: Scope,
    /// Per node: shown in this view at all.
    pub present: Vec<bool>,
    /// Per node: this layer's change to it, if any.
    pub change: Vec<Option<Change>>,
    /// Per node: bytes under it in this view.
    pub bytes: Vec<u64>,
}

impl LayerView {
    pub fn compute(tree: &Tree, layer: u32, scope: Scope) -> LayerView {
        let n = tree.nodes.len();
        let mut present = vec![false; n];
        let mut change = vec![None; n];
        let mut own = vec![0u64; n];
        present[ROOT as usize] = true;
        for id in 1..n {
            let node = &tree.nodes[id];
            let here = node.events.iter().rev().find(|e| e.layer == layer);
            change[id] = here.map(|e| e.change);
            let state = tree.state_at(id as NodeId, layer);
            match scope {
                Scope::UpToLayer => {
                    // A path this layer removed stays in view, marked removed.
                    present[id] =
                        state.is_some() || here.is_some_and(|e| e.change == Change::Deleted);
                    if let Some(e) = state {
                        if e.kind == EntryKind::File {
                            own[id] = e.size;
                        }
                    }
                }
                Scope::LayerOnly => {
                    if let Some(e) = here {
                        present[id] = true;
                        if e.kind == EntryKind::File {
                            own[id] = e.size;
                        }
                    }
                }
            }
        }
        // Ancestors of what is shown are shown; sizes add up the tree (children after parents).
        let mut bytes = own;
        for id in (1..n).rev() {
            let parent = tree.nodes[id].parent as usize;
            if present[id] {
                present[parent] = true;
                bytes[parent] += bytes[id];
            }
        }
        LayerView {
            layer,
            scope,
            present,
            change,
            bytes,
        }
    }
}

/// One line of the tree pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub node: NodeId,
    pub depth: u16,
}

/// Bytes hidden by later layers, per node where they were written: (the layer that hid
/// them, bytes).
pub type HiddenBytes = FxHashMap<NodeId, Vec<(u32, u64)>>;

/// Every node's hidden copies, from the tree's inodes.
pub fn hidden_bytes(tree: &Tree) -> HiddenBytes {
    let mut out: HiddenBytes = FxHashMap::default();
    for ino in tree.inodes.iter().filter(|i| i.size > 0) {
        if let Some(layer) = ino.hidden_by {
            out.entry(ino.node).or_default().push((layer, ino.size));
        }
    }
    out
}

/// What the tree pane shows under a filter and a minimum size: which nodes, and each node's
/// size as this view counts it (a file's wasted bytes in the wasted view, the bytes a
/// removal took away in the removed view; a directory's, the sum of what it holds of them).
pub struct Shown {
    /// Per node: passes the filter; None when nothing is filtered.
    pub keep: Option<Vec<bool>>,
    /// Per node: its size in this view.
    pub bytes: Vec<u64>,
}

/// What the filters keep of one view.
pub fn shown(
    tree: &Tree,
    view: &LayerView,
    filter: Filter,
    min_size: u64,
    bloat: &FxHashSet<NodeId>,
    hidden: &HiddenBytes,
) -> Shown {
    if filter == Filter::All && min_size == 0 {
        return Shown {
            keep: None,
            bytes: view.bytes.clone(),
        };
    }
    let n = tree.nodes.len();
    let layer = view.layer;
    let wasted_at = |id: usize| -> u64 {
        hidden.get(&(id as NodeId)).map_or(0, |copies| {
            copies
                .iter()
                .filter(|(by, _)| match view.scope {
                    Scope::UpToLayer => *by <= layer,
                    Scope::LayerOnly => *by == layer,
                })
                .map(|(_, b)| b)
                .sum()
        })
    };
    // A finding that names a directory claims everything under it (parents come first).
    let mut in_bloat = vec![false; n];
    if filter == Filter::Bloat {
        for id in 1..n {
            in_bloat[id] =
                bloat.contains(&(id as NodeId)) || in_bloat[tree.nodes[id].parent as usize];
        }
    }
    let mut matched = vec![false; n];
    let mut bytes = vec![0u64; n];
    for id in 1..n {
        // The wasted view also shows copies whose path an earlier layer removed.
        let wasted = if filter == Filter::Wasted {
            wasted_at(id)
        } else {
            0
        };
        if !view.present[id] && wasted == 0 {
            continue;
        }
        let is_dir = tree.nodes[id]
            .children
            .iter()
            .any(|&c| view.present[c as usize]);
        if is_dir && filter != Filter::Wasted {
            continue; // a directory holds what matches below it
        }
        let (ok, size) = match filter {
            Filter::All => (true, view.bytes[id]),
            Filter::Added => (view.change[id] == Some(Change::Added), view.bytes[id]),
            Filter::Modified => (view.change[id] == Some(Change::Modified), view.bytes[id]),
            Filter::Removed => (
                view.change[id] == Some(Change::Deleted),
                removed_bytes(tree, id as NodeId, layer),
            ),
            Filter::Bloat => (in_bloat[id], view.bytes[id]),
            Filter::Wasted => (wasted > 0, wasted),
        };
        matched[id] = ok;
        if ok {
            bytes[id] = size;
        }
    }
    // Directories: what matches below them (children after parents).
    for id in (1..n).rev() {
        if matched[id] {
            let parent = tree.nodes[id].parent as usize;
            matched[parent] = true;
            bytes[parent] += bytes[id];
        }
    }
    let mut keep: Vec<bool> = (0..n)
        .map(|id| matched[id] && bytes[id] >= min_size)
        .collect();
    keep[ROOT as usize] = true;
    Shown {
        keep: Some(keep),
        bytes,
    }
}

/// The bytes a file had before `layer` removed it (0 if it was no file).
fn removed_bytes(tree: &Tree, id: NodeId, layer: u32) -> u64 {
    tree.node(id)
        .events
        .iter()
        .rev()
        .find(|e| e.layer < layer)
        .filter(|e| e.change != Change::Deleted && e.kind == EntryKind::File)
        .map_or(0, |e| e.size)
}

/// Most rows a filter opens by itself: directories leading to what matches open, biggest
/// first and level by level, while the tree stays about this long.
pub const AUTO_OPEN_ROWS: usize = 200;

/// The directories a new filter opens: those leading to what it keeps, level by level
/// (biggest first), while the rows stay within `AUTO_OPEN_ROWS`.
pub fn auto_open(tree: &Tree, shown: &Shown) -> FxHashSet<NodeId> {
    let mut open = FxHashSet::default();
    let Some(keep) = shown.keep.as_deref() else {
        return open;
    };
    let kept_children = |id: NodeId| -> Vec<NodeId> {
        let mut kids: Vec<NodeId> = tree
            .node(id)
            .children
            .iter()
            .copied()
            .filter(|&c| keep[c as usize])
            .collect();
        kids.sort_by(|a, b| shown.bytes[*b as usize].cmp(&shown.bytes[*a as usize]));
        kids
    };
    let mut level = kept_children(ROOT);
    let mut rows = level.len();
    while !level.is_empty() {
        let mut next = Vec::new();
        for id in level {
            let kids = kept_children(id);
            if kids.is_empty() {
                continue;
            }
            if rows + kids.len() > AUTO_OPEN_ROWS {
                return open;
            }
            rows += kids.len();
            open.insert(id);
            next.extend(kids);
        }
        level = next;
    }
    open
}

/// Flattens what is open into rows: with a filter, only what it keeps.
pub fn rows(
    tree: &Tree,
    view: &LayerView,
    shown: &Shown,
    open: &FxHashSet<NodeId>,
    sort: SortBy,
) -> Vec<Row> {
    let mut out = Vec::new();
    let mut stack: Vec<(NodeId, u16)> = Vec::new();
    let keep = shown.keep.as_deref();
    let push_children = |stack: &mut Vec<(NodeId, u16)>, id: NodeId, depth: u16| {
        let mut kids: Vec<NodeId> = tree
            .node(id)
            .children
            .iter()
            .copied()
            .filter(|&c| keep.map_or(view.present[c as usize], |k| k[c as usize]))
            .collect();
        if sort == SortBy::Size {
            kids.sort_by(|a, b| {
                shown.bytes[*b as usize]
                    .cmp(&shown.bytes[*a as usize])
                    .then(a.cmp(b))
            });
        }
        for &c in kids.iter().rev() {
            stack.push((c, depth));
        }
    };
    push_children(&mut stack, ROOT, 0);
    while let Some((id, depth)) = stack.pop() {
        out.push(Row { node: id, depth });
        if open.contains(&id) {
            push_children(&mut stack, id, depth + 1);
        }
    }
    out
}

/// Whether a node shows as a directory in this view.
pub fn is_dir(tree: &Tree, view: &LayerView, id: NodeId) -> bool {
    let node = tree.node(id);
    let kind = node
        .events
        .iter()
        .rev()
        .find(|e| e.layer <= view.layer)
        .map(|e| e.kind);
    kind == Some(EntryKind::Dir) || node.children.iter().any(|&c| view.present[c as usize])
}
