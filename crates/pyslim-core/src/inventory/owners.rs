//! Which OS package owns a path. A file belongs to the package whose file list names it; a
//! directory belongs to one package only when that package owns everything under it, since
//! dpkg lists `/usr` or `/usr/share/doc` in almost every package: calling `/usr/share/doc`
//! "adduser's" because adduser sorts first misleads whoever reads it.

use rustc_hash::FxHashMap;

use super::Inventory;
use crate::entry::EntryKind;
use crate::tree::{NodeId, Tree, ROOT};

/// A directory a package list names that no single package owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedDir {
    /// Packages that own something at or under it.
    pub packages: u32,
    /// The package, when there is only one.
    pub only: Option<usize>,
    /// Something under it is in no package's list (written by a RUN, or generated).
    pub unpackaged: bool,
}

/// What a package list says of each path: the packages naming each directory, and the first
/// package naming each other entry.
#[derive(Default)]
pub(super) struct Listed {
    pub files: FxHashMap<NodeId, usize>,
    pub dirs: FxHashMap<NodeId, Vec<usize>>,
}

impl Listed {
    pub fn add(&mut self, tree: &Tree, id: NodeId, package: usize) {
        if tree
            .final_state(id)
            .is_some_and(|e| e.kind == EntryKind::Dir)
        {
            let v = self.dirs.entry(id).or_default();
            if !v.contains(&package) {
                v.push(package);
            }
        } else {
            self.files.entry(id).or_insert(package);
        }
    }
}

/// Files keep their package; each listed directory gets one owner when a single package
/// owns all it holds, else it is recorded as shared.
pub(super) fn settle(tree: &Tree, listed: Listed, inv: &mut Inventory) {
    inv.owner = listed.files;
    if listed.dirs.is_empty() {
        return;
    }
    struct Frame {
        id: NodeId,
        next: usize,
        packages: Vec<usize>,
        unpackaged: bool,
    }
    let frame = |id: NodeId| Frame {
        id,
        next: 0,
        packages: listed.dirs.get(&id).cloned().unwrap_or_default(),
        unpackaged: false,
    };
    // Depth first; each directory's packages are the union of its children's.
    let mut stack = vec![frame(ROOT)];
    while let Some(top) = stack.last_mut() {
        let children = &tree.node(top.id).children;
        if let Some(&c) = children.get(top.next) {
            top.next += 1;
            match tree.final_state(c).map(|e| e.kind) {
                None => {}
                Some(EntryKind::Dir) => stack.push(frame(c)),
                Some(_) => match inv.owner.get(&c) {
                    Some(&p) => top.packages.push(p),
                    None => top.unpackaged = true,
                },
            }
            continue;
        }
        let Some(mut done) = stack.pop() else { break };
        done.packages.sort_unstable();
        done.packages.dedup();
        if listed.dirs.contains_key(&done.id) {
            match (done.packages.as_slice(), done.unpackaged) {
                (&[only], false) => {
                    inv.owner.insert(done.id, only);
                }
                (packages, unpackaged) => {
                    inv.shared_dirs.insert(
                        done.id,
                        SharedDir {
                            packages: packages.len() as u32,
                            only: (packages.len() == 1).then(|| packages[0]),
                            unpackaged,
                        },
                    );
                }
            }
        }
        if let Some(parent) = stack.last_mut() {
            parent.packages.extend_from_slice(&done.packages);
            parent.unpackaged |= done.unpackaged;
        }
    }
}

impl Inventory {
    /// Whether `owner_label` starts with one package's name (rather than "shared by …").
    pub fn owner_is_one_package(&self, id: NodeId) -> bool {
        self.owner.contains_key(&id) || self.shared_dirs.get(&id).is_some_and(|s| s.only.is_some())
    }

    /// Who owns a path, in words: the package's name, or how many share the directory.
    pub fn owner_label(&self, id: NodeId) -> Option<String> {
        if let Some(&i) = self.owner.get(&id) {
            return Some(self.os_packages[i].name.clone());
        }
        let s = self.shared_dirs.get(&id)?;
        let tail = if s.unpackaged {
            " and files no package lists"
        } else {
            ""
        };
        Some(match s.only {
            Some(i) => format!("{}{tail}", self.os_packages[i].name),
            None => format!("shared by {} packages{tail}", s.packages),
        })
    }
}
