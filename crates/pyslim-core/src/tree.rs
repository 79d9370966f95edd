//! The layer stack merged into one tree of every path any layer touched, with each path's
//! history (added, changed, deleted, by which layer). The final image, or the image as it
//! stands after any layer, is a view of this one arena: a path is present after layer L when
//! its last event at or below L is not a deletion.
//!
//! Content is tracked per inode, so that a hardlinked file's bytes count once and a file's
//! bytes stay visible while any of its links is. Bytes a layer carries that no visible path
//! references in the final image are wasted: they ship but cannot be seen.

use rustc_hash::FxHashMap;
use serde::Serialize;
use smallvec::SmallVec;

use super::entry::EntryKind;

/// `Tree::build` and the layer-applying `Builder`.
mod build;

pub type NodeId = u32;
pub type InodeId = u32;
pub const ROOT: NodeId = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Modified,
    Deleted,
}

/// What one layer did to one path.
#[derive(Debug, Clone)]
pub struct Event {
    pub layer: u32,
    pub change: Change,
    /// For a deletion, the kind of what was deleted.
    pub kind: EntryKind,
    /// Apparent size: a file's bytes; a hardlink shows its inode's bytes; 0 otherwise.
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub link_target: Option<Box<str>>,
    /// The content this path shows, for files and hardlinks.
    pub inode: Option<InodeId>,
    /// A directory no tar entry named, created because an entry below it needed it.
    pub implicit: bool,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: Box<str>,
    pub parent: NodeId,
    /// Sorted by name once the tree is built.
    pub children: Vec<NodeId>,
    /// Most paths have one event: it is kept inline, with no allocation of its own.
    pub events: SmallVec<[Event; 1]>,
}

/// Bytes one regular-file entry carried in one layer.
#[derive(Debug, Clone)]
pub struct Inode {
    pub size: u64,
    pub layer: u32,
    /// Index of the tar entry that wrote these bytes, in its layer's `entries`.
    pub entry: u32,
    /// The path the bytes were written at.
    pub node: NodeId,
    /// The layer whose change left no visible path referencing these bytes.
    pub hidden_by: Option<u32>,
    refs: u32,
}

impl Inode {
    pub fn visible(&self) -> bool {
        self.refs > 0
    }
}

/// Per path, what dive's efficiency score sees: every leaf path of every layer, and every
/// whiteout sized by what it removed (dirs) or 0 (files), as dive's efficiency.go does.
#[derive(Debug, Clone, Default)]
pub struct DivePathStat {
    pub occurrences: u32,
    pub cumulative: u64,
    pub min: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub nodes: Vec<Node>,
    pub inodes: Vec<Inode>,
    pub layer_count: u32,
    /// Final-image bytes under each node (hardlinked content counted once).
    pub final_bytes: Vec<u64>,
    pub dive_paths: FxHashMap<NodeId, DivePathStat>,
    pub warnings: Vec<String>,
}

impl Tree {
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// The state of a path after `layer` (the final image for `layer_count - 1`).
    pub fn state_at(&self, id: NodeId, layer: u32) -> Option<&Event> {
        self.node(id)
            .events
            .iter()
            .rev()
            .find(|e| e.layer <= layer)
            .filter(|e| e.change != Change::Deleted)
    }

    pub fn final_state(&self, id: NodeId) -> Option<&Event> {
        if id == ROOT {
            return None;
        }
        self.node(id)
            .events
            .last()
            .filter(|e| e.change != Change::Deleted)
    }

    pub fn is_visible(&self, id: NodeId) -> bool {
        id == ROOT || self.final_state(id).is_some()
    }

    pub fn path(&self, id: NodeId) -> String {
        let mut parts = Vec::new();
        let mut cur = id;
        while cur != ROOT {
            let n = self.node(cur);
            parts.push(&*n.name);
            cur = n.parent;
        }
        parts.reverse();
        parts.join("/")
    }

    /// Finds a path by walking sorted children.
    pub fn lookup(&self, path: &str) -> Option<NodeId> {
        let mut cur = ROOT;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let children = &self.node(cur).children;
            let pos = children
                .binary_search_by(|c| (*self.node(*c).name).cmp(part))
                .ok()?;
            cur = children[pos];
        }
        Some(cur)
    }

    /// Finds a final-image path, following symlinked directories on the way as the kernel
    /// would (`bin/dash` is `usr/bin/dash` where `bin -> usr/bin`). The last component is not
    /// followed.
    pub fn resolve(&self, path: &str) -> Option<NodeId> {
        let mut pending: Vec<String> = path
            .split('/')
            .filter(|p| !p.is_empty())
            .rev()
            .map(str::to_owned)
            .collect();
        let mut cur = ROOT;
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            match part.as_str() {
                "." => continue,
                ".." => {
                    cur = self.node(cur).parent;
                    continue;
                }
                _ => {}
            }
            let children = &self.node(cur).children;
            let pos = children
                .binary_search_by(|c| (*self.node(*c).name).cmp(&part))
                .ok()?;
            let next = children[pos];
            let state = self.final_state(next)?;
            if state.kind == EntryKind::Symlink && !pending.is_empty() {
                hops += 1;
                if hops > 40 {
                    return None; // a loop
                }
                let target = state.link_target.as_deref().unwrap_or("");
                if target.starts_with('/') {
                    cur = ROOT;
                }
                pending.extend(
                    target
                        .split('/')
                        .filter(|p| !p.is_empty())
                        .rev()
                        .map(str::to_owned),
                );
                continue;
            }
            cur = next;
        }
        Some(cur)
    }

    /// Every path of the final image (not the root), in arena order: a flat scan, cheaper
    /// than a walk when the order does not matter. A path is visible exactly when its own
    /// last event is not a deletion, since deleting a directory deletes all below it.
    pub fn final_nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        (1..self.nodes.len() as NodeId).filter(|&id| self.final_state(id).is_some())
    }

    /// Visits every node visible in the final image, parents before children.
    pub fn visible_nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        let mut stack = vec![ROOT];
        std::iter::from_fn(move || {
            let id = stack.pop()?;
            for &c in self.node(id).children.iter().rev() {
                if self.is_visible(c) {
                    stack.push(c);
                }
            }
            Some(id)
        })
    }
}
