//! OS libraries for a runtime that cannot install packages (distroless): the shared
//! libraries of the packages the app needs, copied from the builder, which installed them.
//! The engine's COPY follows a source that is a symlink, so each library is copied once,
//! under the name the dynamic loader looks for (its symlink, `libpq.so.5`), not also under
//! the file name the symlink points to.

use std::collections::BTreeMap;

use rustc_hash::FxHashSet;
use serde::Serialize;

use crate::entry::EntryKind;
use crate::inventory::Inventory;
use crate::tree::{NodeId, Tree};

/// One COPY of the runtime stage: library files into one directory.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LibraryCopy {
    /// Absolute directory, the same in the builder and the runtime.
    pub dir: String,
    /// Absolute paths in the builder.
    pub files: Vec<String>,
    /// What the files weigh in the runtime (symlinks copied as the files they point to).
    pub bytes: u64,
    /// The packages they come from.
    pub packages: Vec<String>,
}

/// The COPYs that carry the shared libraries of `packages` (the runtime's) and of their
/// dependencies in `closure`, or the one-line reason it cannot be done: a runtime package
/// whose libraries the image does not show (a dependency without any is skipped: a tool
/// or data package the libraries do not load).
pub(crate) fn library_copies(
    packages: &[String],
    closure: &[String],
    inv: &Inventory,
    tree: &Tree,
) -> Result<Vec<LibraryCopy>, String> {
    let mut by_dir: BTreeMap<String, LibraryCopy> = BTreeMap::new();
    for name in closure {
        let required = packages.contains(name);
        if !required && !inv.os_packages.iter().any(|p| &p.name == name) {
            continue;
        }
        let Some(index) = inv.os_packages.iter().position(|p| &p.name == name) else {
            return Err(format!(
                "--target distroless cannot install OS packages, and {name} (which the runtime needs) is not in the image, so pyslim cannot copy its libraries from the builder: use --target slim, or a --base that has it"
            ));
        };
        let owned: Vec<NodeId> = inv
            .owner
            .iter()
            .filter(|(_, &i)| i == index)
            .map(|(&n, _)| n)
            .filter(|&n| is_shared_library(&tree.node(n).name))
            .collect();
        // Files a copied symlink already brings, under the loader's name.
        let mut brought: FxHashSet<NodeId> = FxHashSet::default();
        let mut chosen: Vec<(NodeId, NodeId)> = Vec::new();
        for &n in &owned {
            if let Some(target) = symlink_target(tree, n) {
                brought.insert(target);
                chosen.push((n, target));
            }
        }
        for &n in &owned {
            let is_file = tree
                .final_state(n)
                .is_some_and(|e| matches!(e.kind, EntryKind::File | EntryKind::Hardlink));
            if is_file && !brought.contains(&n) {
                chosen.push((n, n));
            }
        }
        if chosen.is_empty() && !required {
            continue;
        }
        if chosen.is_empty() {
            return Err(format!(
                "--target distroless cannot install OS packages, and the image shows no shared library of {name} to copy from the builder: use --target slim"
            ));
        }
        for (path_node, content) in chosen {
            let path = format!("/{}", tree.path(path_node));
            let dir = path
                .rsplit_once('/')
                .map(|(d, _)| d)
                .unwrap_or("/")
                .to_owned();
            let bytes = tree.final_state(content).map(|e| e.size).unwrap_or(0);
            let copy = by_dir.entry(dir.clone()).or_insert_with(|| LibraryCopy {
                dir,
                files: Vec::new(),
                bytes: 0,
                packages: Vec::new(),
            });
            if !copy.files.contains(&path) {
                copy.files.push(path);
                copy.bytes += bytes;
            }
            if !copy.packages.contains(name) {
                copy.packages.push(name.clone());
            }
        }
    }
    let mut out: Vec<LibraryCopy> = by_dir.into_values().collect();
    for c in &mut out {
        c.files.sort();
    }
    Ok(out)
}

/// `libpq.so.5`, `libpq.so.5.15`, `libfoo-1.2.so`: a shared library by its name.
fn is_shared_library(name: &str) -> bool {
    name.ends_with(".so") || name.contains(".so.")
}

/// The regular file a symlink leads to (through further symlinks), when it is in the image.
fn symlink_target(tree: &Tree, mut node: NodeId) -> Option<NodeId> {
    let mut hops = 0;
    loop {
        let state = tree.final_state(node)?;
        match state.kind {
            EntryKind::Symlink => {}
            EntryKind::File | EntryKind::Hardlink if hops > 0 => return Some(node),
            _ => return None,
        }
        hops += 1;
        if hops > 8 {
            return None;
        }
        let target = state.link_target.as_deref()?;
        let path = if target.starts_with('/') {
            target.to_owned()
        } else {
            let own = tree.path(node);
            let dir = own.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            format!("{dir}/{target}")
        };
        node = tree.resolve(&path)?;
    }
}
