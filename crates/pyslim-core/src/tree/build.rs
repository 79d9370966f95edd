//! Building the tree: applying each layer's whiteouts, opaque directories and entries in
//! turn to one arena, then summing the final-image bytes under each node.

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use super::{Change, Event, Inode, InodeId, Node, NodeId, Tree, ROOT};
use crate::entry::{split_parent, EntryKind};
use crate::image::Layer;

impl Tree {
    pub fn build(layers: &[Layer]) -> Tree {
        let mut b = Builder::new(layers.len() as u32);
        for layer in layers {
            b.apply_layer(layer);
        }
        b.finish()
    }
}

/// Builds the tree; paths are keyed by slices of the layers' own strings, never copied.
struct Builder<'a> {
    tree: Tree,
    by_path: FxHashMap<&'a str, NodeId>,
    layer: u32,
}

impl<'a> Builder<'a> {
    fn new(layer_count: u32) -> Self {
        let root = Node {
            name: "".into(),
            parent: ROOT,
            children: Vec::new(),
            events: SmallVec::new(),
        };
        Builder {
            tree: Tree {
                nodes: vec![root],
                layer_count,
                ..Default::default()
            },
            by_path: FxHashMap::default(),
            layer: 0,
        }
    }

    fn apply_layer(&mut self, layer: &'a Layer) {
        self.layer = layer.index as u32;
        let changes = &layer.changes;
        // Whiteouts hide lower layers only, so they go before this layer's own entries.
        for path in &changes.whiteouts {
            // The marker's directory exists after the layer, as extracting the marker makes it.
            self.ensure_dir(split_parent(path).0);
            match self.by_path.get(path.as_str()).copied() {
                Some(id) if self.visible(id) => {
                    let size = self.dive_subtree_bytes(id);
                    self.dive_record(id, size);
                    self.delete_subtree(id);
                }
                _ => {} // The spec allows whiteouts of absent paths; they change nothing.
            }
        }
        let mut opaque: Vec<&String> = changes.opaque_dirs.iter().collect();
        opaque.sort_by_key(|p| p.matches('/').count());
        for dir in opaque {
            let id = self.ensure_dir(dir);
            let lower: Vec<NodeId> = self.tree.nodes[id as usize]
                .children
                .iter()
                .copied()
                .filter(|&c| self.visible(c) && self.last(c).is_some_and(|e| e.layer < self.layer))
                .collect();
            for child in lower {
                // dive 0.13 ignores opaque markers, so its figures leave these out.
                self.delete_subtree(child);
            }
        }
        for (index, entry) in changes.entries.iter().enumerate() {
            let (parent_path, name) = split_parent(&entry.path);
            let parent = self.ensure_dir(parent_path);
            let id = self.child(parent, &entry.path, name);
            let inode = match entry.kind {
                EntryKind::File => Some(self.new_inode(entry.size, id, index as u32)),
                EntryKind::Hardlink => {
                    let target = entry.link_target.as_deref().unwrap_or("");
                    let found = self
                        .by_path
                        .get(target)
                        .copied()
                        .filter(|&t| self.visible(t))
                        .and_then(|t| self.last(t).and_then(|e| e.inode));
                    if found.is_none() {
                        self.tree.warnings.push(format!(
                            "layer {}: hardlink {} points at {target}, which is not a file in the image; counted as empty",
                            self.layer, entry.path
                        ));
                    }
                    found
                }
                _ => None,
            };
            let size = inode
                .map(|i| self.tree.inodes[i as usize].size)
                .unwrap_or(0);
            if entry.kind != EntryKind::Dir {
                self.dive_record(id, entry.size);
            }
            let event = Event {
                layer: self.layer,
                change: Change::Added,
                kind: entry.kind,
                size,
                mode: entry.mode,
                uid: entry.uid as u32,
                gid: entry.gid as u32,
                link_target: entry.link_target.as_deref().map(Into::into),
                inode,
                implicit: false,
            };
            self.put(id, event, &entry.path);
        }
    }

    fn last(&self, id: NodeId) -> Option<&Event> {
        self.tree.nodes[id as usize].events.last()
    }

    fn visible(&self, id: NodeId) -> bool {
        id == ROOT || self.last(id).is_some_and(|e| e.change != Change::Deleted)
    }

    fn new_inode(&mut self, size: u64, node: NodeId, entry: u32) -> InodeId {
        self.tree.inodes.push(Inode {
            size,
            layer: self.layer,
            entry,
            node,
            hidden_by: None,
            refs: 0,
        });
        (self.tree.inodes.len() - 1) as InodeId
    }

    fn acquire(&mut self, inode: Option<InodeId>) {
        if let Some(i) = inode {
            let ino = &mut self.tree.inodes[i as usize];
            ino.refs += 1;
            ino.hidden_by = None;
        }
    }

    fn release(&mut self, inode: Option<InodeId>) {
        if let Some(i) = inode {
            let layer = self.layer;
            let ino = &mut self.tree.inodes[i as usize];
            ino.refs -= 1;
            if ino.refs == 0 {
                ino.hidden_by = Some(layer);
            }
        }
    }

    /// The node for `path` under `parent`, created if no layer has named it yet.
    fn child(&mut self, parent: NodeId, path: &'a str, name: &str) -> NodeId {
        if let Some(&id) = self.by_path.get(path) {
            return id;
        }
        let id = self.tree.nodes.len() as NodeId;
        self.tree.nodes.push(Node {
            name: name.into(),
            parent,
            children: Vec::new(),
            events: SmallVec::new(),
        });
        self.tree.nodes[parent as usize].children.push(id);
        self.by_path.insert(path, id);
        id
    }

    /// Makes sure `path` is a directory in the current layer's view, creating it (and its
    /// parents) or replacing a non-directory there, as extracting a child would.
    fn ensure_dir(&mut self, path: &'a str) -> NodeId {
        if path.is_empty() {
            return ROOT;
        }
        if let Some(&id) = self.by_path.get(path) {
            if self.visible(id) && self.last(id).is_some_and(|e| e.kind == EntryKind::Dir) {
                return id;
            }
        }
        let (parent_path, name) = split_parent(path);
        let parent = self.ensure_dir(parent_path);
        let id = self.child(parent, path, name);
        let event = Event {
            layer: self.layer,
            change: Change::Added,
            kind: EntryKind::Dir,
            size: 0,
            mode: 0o755,
            uid: 0,
            gid: 0,
            link_target: None,
            inode: None,
            implicit: true,
        };
        self.put(id, event, path);
        id
    }

    /// Records `event` as this layer's change to `id`, deciding added vs changed and releasing
    /// whatever the path showed before.
    fn put(&mut self, id: NodeId, mut event: Event, path: &str) {
        let layer = self.layer;
        let prev = self.last(id).cloned();
        match prev {
            Some(p) if p.change != Change::Deleted => {
                let replacing_dir_with_other =
                    p.kind == EntryKind::Dir && event.kind != EntryKind::Dir;
                if replacing_dir_with_other {
                    let children = self.tree.nodes[id as usize].children.clone();
                    for c in children {
                        if self.visible(c) {
                            self.delete_subtree(c);
                        }
                    }
                }
                self.release(p.inode);
                if p.layer == layer {
                    if !(p.implicit || (p.kind == EntryKind::Dir && event.kind == EntryKind::Dir)) {
                        self.tree.warnings.push(format!(
                            "layer {layer}: {path} appears twice; the later entry wins"
                        ));
                    }
                    event.change = p.change;
                    self.acquire(event.inode);
                    *self.tree.nodes[id as usize]
                        .events
                        .last_mut()
                        .expect("prev exists") = event; // ok: prev is Some
                    return;
                }
                event.change = Change::Modified;
            }
            Some(p) if p.layer == layer => {
                // Deleted by this layer's whiteout, then written again by this layer: changed.
                event.change = Change::Modified;
                self.acquire(event.inode);
                *self.tree.nodes[id as usize]
                    .events
                    .last_mut()
                    .expect("prev exists") = event; // ok: prev is Some
                return;
            }
            _ => event.change = Change::Added,
        }
        self.acquire(event.inode);
        self.tree.nodes[id as usize].events.push(event);
    }

    fn delete_subtree(&mut self, id: NodeId) {
        let children = self.tree.nodes[id as usize].children.clone();
        for c in children {
            if self.visible(c) {
                self.delete_subtree(c);
            }
        }
        let Some(prev) = self.last(id).cloned() else {
            return;
        };
        self.release(prev.inode);
        let event = Event {
            layer: self.layer,
            change: Change::Deleted,
            kind: prev.kind,
            size: 0,
            mode: prev.mode,
            uid: prev.uid,
            gid: prev.gid,
            link_target: None,
            inode: None,
            implicit: false,
        };
        if prev.layer == self.layer {
            // Added in this very layer (an implicit parent of an opaque dir): it never was.
            let events = &mut self.tree.nodes[id as usize].events;
            events.pop();
            if events.last().is_some_and(|e| e.change != Change::Deleted) {
                events.push(event);
            }
        } else {
            self.tree.nodes[id as usize].events.push(event);
        }
    }

    /// dive sizes a whiteout by the tar sizes under a deleted directory; a deleted file counts 0.
    fn dive_subtree_bytes(&self, id: NodeId) -> u64 {
        let Some(last) = self.last(id) else { return 0 };
        if last.kind != EntryKind::Dir {
            return 0;
        }
        let mut total = 0;
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            for &c in &self.tree.nodes[n as usize].children {
                if self.visible(c) {
                    if let Some(e) = self.last(c) {
                        if e.kind == EntryKind::File {
                            total += e.size;
                        }
                    }
                    stack.push(c);
                }
            }
        }
        total
    }

    fn dive_record(&mut self, id: NodeId, size: u64) {
        let stat = self.tree.dive_paths.entry(id).or_default();
        if stat.occurrences == 0 || size < stat.min {
            stat.min = size;
        }
        stat.occurrences += 1;
        stat.cumulative += size;
    }

    fn finish(mut self) -> Tree {
        let names: Vec<Box<str>> = self.tree.nodes.iter().map(|n| n.name.clone()).collect();
        for node in &mut self.tree.nodes {
            node.children
                .sort_unstable_by(|a, b| names[*a as usize].cmp(&names[*b as usize]));
        }
        let mut tree = self.tree;
        tree.final_bytes = final_bytes(&tree);
        tree
    }
}

/// Final-image bytes under each node. Each visible inode is charged to one path only: the
/// first regular file that shows it, else the first hardlink.
fn final_bytes(tree: &Tree) -> Vec<u64> {
    let mut own = vec![0u64; tree.nodes.len()];
    let mut charged = vec![false; tree.inodes.len()];
    for pass_kind in [EntryKind::File, EntryKind::Hardlink] {
        for id in tree.visible_nodes() {
            if let Some(e) = tree.final_state(id) {
                if let (Some(i), true) = (e.inode, e.kind == pass_kind) {
                    if !charged[i as usize] {
                        charged[i as usize] = true;
                        own[id as usize] = tree.inodes[i as usize].size;
                    }
                }
            }
        }
    }
    // Children have larger ids than parents, so one reverse sweep sums subtrees.
    let mut total = own;
    for id in (1..tree.nodes.len()).rev() {
        if tree.is_visible(id as NodeId) {
            let parent = tree.nodes[id].parent as usize;
            total[parent] += total[id];
        } else {
            total[id] = 0;
        }
    }
    total
}
