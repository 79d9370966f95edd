//! What the image's own Python looks like, for the plan: the version the app runs on, the
//! venv the user made, and the distributions their steps installed.

use crate::inventory::{Inventory, PythonPackage};
use crate::tree::Tree;

/// The Python the app runs on: its venv's, else the newest interpreter.
pub(crate) fn python_version(inv: &Inventory) -> Option<String> {
    let minor = |v: &str| -> String { v.split('.').take(2).collect::<Vec<_>>().join(".") };
    inv.venvs
        .iter()
        .map(|v| minor(&v.version))
        .find(|v| !v.is_empty())
        .or_else(|| {
            inv.interpreters
                .iter()
                .map(|i| minor(&i.version))
                .filter(|v| !v.is_empty())
                .max_by_key(|v| {
                    v.split('.')
                        .map(|p| p.parse::<u32>().unwrap_or(0))
                        .collect::<Vec<_>>()
                })
        })
}

/// The image's own venv, if the user made one: keep its path so their PATH and scripts hold.
pub(crate) fn image_venv(inv: &Inventory, tree: &Tree, first_user_layer: usize) -> Option<String> {
    inv.venvs
        .iter()
        .find(|v| {
            tree.lookup(&v.path)
                .and_then(|n| tree.node(n).events.first())
                .is_some_and(|e| e.layer as usize >= first_user_layer)
        })
        .map(|v| format!("/{}", v.path.trim_start_matches('/')))
}

/// Python distributions the user's steps installed (not the base's, not the OS's).
pub(crate) fn user_dists<'a>(
    inv: &'a Inventory,
    tree: &Tree,
    first_user_layer: usize,
) -> Vec<&'a PythonPackage> {
    inv.python_packages
        .iter()
        // Debian's own packages (python3-yaml in /usr/lib/python3/dist-packages) come with
        // the OS; what pip put in /usr/local/lib/python3.X/dist-packages is the user's, and
        // the proposal's pip install puts it in the venv instead.
        .filter(|p| {
            let debian_own = p.location.contains("dist-packages") && !p.location.contains("local/");
            p.installer != "debian" && !debian_own
        })
        .filter(|p| {
            p.files_nodes.iter().any(|&n| {
                tree.node(n)
                    .events
                    .last()
                    .is_some_and(|e| e.layer as usize >= first_user_layer)
            })
        })
        .collect()
}
