//! Python detectors: more than one interpreter, virtualenvs (and whether they still work),
//! and `.pyc` files that Python 3 never reads.

use super::{draft, files_under, top};
use crate::findings::{own_bytes, top_paths, Context, Draft, Item, PathItem, Rule};

pub(super) fn interpreters(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    let inv = ctx.inventory;
    // Hardlinks of one binary are one interpreter.
    let mut seen_inodes = Vec::new();
    let mut distinct = Vec::new();
    for i in &inv.interpreters {
        let inode = ctx
            .tree
            .lookup(&i.path)
            .and_then(|id| ctx.tree.final_state(id))
            .and_then(|e| e.inode);
        if inode.is_some() && seen_inodes.contains(&inode) {
            continue;
        }
        seen_inodes.push(inode);
        distinct.push(i);
    }
    if distinct.len() < 2 {
        return Vec::new();
    }
    // The interpreter the venvs were made from is the one the app uses; the others are extra.
    let primary = distinct
        .iter()
        .position(|i| {
            inv.venvs
                .iter()
                .any(|v| i.path.starts_with(v.home.trim_start_matches('/')))
        })
        .or_else(|| {
            distinct
                .iter()
                .position(|i| i.path.starts_with("usr/local/"))
        })
        .unwrap_or(0);
    let mut d = Draft::new(rule, String::new());
    let mut items = Vec::new();
    for (n, i) in distinct.iter().enumerate() {
        let prefix = i.path.rsplit_once("/bin/").map(|(p, _)| p).unwrap_or("usr");
        let libdir = format!("{prefix}/lib/python{}", i.version);
        let mut files = Vec::new();
        if let Some(id) = ctx.tree.lookup(&i.path) {
            files.push(id);
        }
        if let Some(id) = ctx
            .tree
            .lookup(&libdir)
            .filter(|&id| ctx.tree.is_visible(id))
        {
            files_under(ctx, id, &mut files);
        }
        let bytes: u64 = files.iter().map(|&f| own_bytes(ctx.tree, f)).sum();
        let role = if n == primary {
            "used".to_owned()
        } else {
            "extra".to_owned()
        };
        let note = match &i.package {
            Some(p) => format!("{role}; from package {p}"),
            None => role,
        };
        if n != primary {
            d.files.extend(files);
        }
        items.push(Item {
            name: format!("{} (Python {})", i.path, i.version),
            bytes,
            layer: None,
            note,
        });
    }
    d.finding.summary = format!(
        "{} interpreters: {}",
        distinct.len(),
        distinct
            .iter()
            .map(|i| format!("/{}", i.path))
            .collect::<Vec<_>>()
            .join(", ")
    );
    d.finding.count = distinct.len() as u64;
    d.finding.items = top(items);
    vec![d]
}

pub(super) fn venvs(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    let inv = ctx.inventory;
    if inv.venvs.is_empty() {
        return Vec::new();
    }
    let items: Vec<Item> = inv
        .venvs
        .iter()
        .map(|v| {
            let home = v.home.trim_start_matches('/').trim_end_matches('/');
            let works = inv.interpreters.iter().any(|i| i.path.starts_with(home))
                || ctx
                    .tree
                    .lookup(&format!("{home}/python3"))
                    .is_some_and(|id| ctx.tree.is_visible(id));
            let note = format!(
                "home /{home}, Python {}{}",
                v.version,
                if works {
                    ""
                } else {
                    "; NO interpreter there: the venv is broken"
                }
            );
            Item {
                name: v.path.clone(),
                bytes: 0,
                layer: None,
                note,
            }
        })
        .collect();
    let summary = items
        .iter()
        .map(|i| format!("/{} → {}", i.name, i.note))
        .collect::<Vec<_>>()
        .join("; ");
    let count = items.len() as u64;
    vec![draft(rule, summary, count, items)]
}

/// `x.pyc` outside `__pycache__` with `x.py` beside it: Python 3 never reads it.
pub(super) fn stray_pyc(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    let tree = ctx.tree;
    let mut rows = Vec::new();
    let mut files = Vec::new();
    for id in tree.final_nodes() {
        let node = tree.node(id);
        let Some(stem) = node.name.strip_suffix(".pyc") else {
            continue;
        };
        if &*tree.node(node.parent).name == "__pycache__" {
            continue;
        }
        let source = format!("{stem}.py");
        let has_source = tree
            .node(node.parent)
            .children
            .binary_search_by(|c| (*tree.node(*c).name).cmp(source.as_str()))
            .is_ok_and(|pos| tree.is_visible(tree.node(node.parent).children[pos]));
        if has_source {
            let bytes = own_bytes(tree, id);
            rows.push(PathItem {
                node: id,
                bytes,
                layer: tree.final_state(id).map(|e| e.layer),
                note: String::new(),
            });
            files.push(id);
        }
    }
    if rows.is_empty() {
        return Vec::new();
    }
    let count = rows.len() as u64;
    let mut d = draft(
        rule,
        format!("{count} .pyc files outside __pycache__ beside their .py"),
        count,
        top_paths(ctx, rows),
    );
    d.files = files;
    vec![d]
}
