//! The file tree as the explorer shows it for one layer: which paths appear, how each changed
//! in that layer, their sizes, and the flattened rows of what is expanded. Pure functions of
//! the tree and the view settings; recomputed when a setting changes, never per frame.

use rustc_hash::FxHashSet;

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

/// Which nodes pass the filter (and so keep their ancestors in view).
pub fn filtered(
    tree: &Tree,
    view: &LayerView,
    filter: Filter,
    min_size: u64,
    bloat: &FxHashSet<NodeId>,
    wasted: &FxHashSet<NodeId>,
) -> Option<Vec<bool>> {
    if filter == Filter::All && min_size == 0 {
        return None;
    }
    let n = tree.nodes.len();
    let mut keep = vec![false; n];
    for id in 1..n {
        if !view.present[id] {
            continue;
        }
        let is_dir = tree.nodes[id]
            .children
            .iter()
            .any(|&c| view.present[c as usize]);
        if is_dir {
            continue; // directories stay for their matching children
        }
        let ok = match filter {
            Filter::All => true,
            Filter::Added => view.change[id] == Some(Change::Added),
            Filter::Modified => view.change[id] == Some(Change::Modified),
            Filter::Removed => view.change[id] == Some(Change::Deleted),
            Filter::Bloat => bloat.contains(&(id as NodeId)),
            Filter::Wasted => wasted.contains(&(id as NodeId)),
        };
        keep[id] = ok && view.bytes[id] >= min_size;
    }
    for id in (1..n).rev() {
        if keep[id] {
            keep[tree.nodes[id].parent as usize] = true;
        }
    }
    keep[ROOT as usize] = true;
    Some(keep)
}

/// Flattens what is expanded (everything, when a filter narrows the view) into rows.
pub fn rows(
    tree: &Tree,
    view: &LayerView,
    keep: Option<&[bool]>,
    expanded: &FxHashSet<NodeId>,
    sort: SortBy,
) -> Vec<Row> {
    let mut out = Vec::new();
    let mut stack: Vec<(NodeId, u16)> = Vec::new();
    let push_children = |stack: &mut Vec<(NodeId, u16)>, id: NodeId, depth: u16| {
        let mut kids: Vec<NodeId> = tree
            .node(id)
            .children
            .iter()
            .copied()
            .filter(|&c| view.present[c as usize] && keep.is_none_or(|k| k[c as usize]))
            .collect();
        if sort == SortBy::Size {
            kids.sort_by(|a, b| {
                view.bytes[*b as usize]
                    .cmp(&view.bytes[*a as usize])
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
        if keep.is_some() || expanded.contains(&id) {
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
