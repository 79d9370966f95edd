//! Checks that need more than globs: ELF sections, secrets in every layer, interpreters and
//! venvs, wasted bytes by instruction, locales, and the image's runtime configuration.

use rustc_hash::FxHashMap;

use super::paths::glob_set;
use super::secrets::{classify, secret_assignments};
use super::{own_bytes, top_paths, Context, Draft, Item, PathItem, Rule, ITEMS_PER_FINDING};
use crate::core::content::{is_secret_candidate, Captured};
use crate::core::entry::EntryKind;
use crate::core::inventory::final_capture;
use crate::core::tree::{NodeId, ROOT};

pub(crate) fn run(ctx: &Context, rule: &Rule, detector: &str) -> Vec<Draft> {
    match detector {
        "multiple-interpreters" => interpreters(ctx, rule),
        "venvs" => venvs(ctx, rule),
        "locales" => locales(ctx, rule),
        "elf-unstripped" => unstripped(ctx, rule),
        "wasted" => wasted(ctx, rule),
        "secrets" => secrets(ctx, rule),
        "user-root" => user_root(ctx, rule),
        "setuid" => mode_bits(ctx, rule, true),
        "world-writable" => mode_bits(ctx, rule, false),
        "env-missing" => env_missing(ctx, rule),
        "env-utf8-locale" => env_locale(ctx, rule),
        "env-hashseed" => env_hashseed(ctx, rule),
        "stray-pyc" => stray_pyc(ctx, rule),
        _ => Vec::new(),
    }
}

fn top(mut items: Vec<Item>) -> Vec<Item> {
    items.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    items.truncate(ITEMS_PER_FINDING);
    items
}

fn draft(rule: &Rule, summary: String, count: u64, items: Vec<Item>) -> Draft {
    let mut d = Draft::new(rule, summary);
    d.finding.count = count;
    d.finding.items = top(items);
    d
}

/// Every visible file under `id` (or `id` itself when it is a file).
fn files_under(ctx: &Context, id: NodeId, out: &mut Vec<NodeId>) {
    let mut stack = vec![id];
    while let Some(n) = stack.pop() {
        match ctx.tree.final_state(n) {
            Some(e) if e.kind == EntryKind::Dir => stack.extend(
                ctx.tree
                    .node(n)
                    .children
                    .iter()
                    .copied()
                    .filter(|&c| ctx.tree.is_visible(c)),
            ),
            Some(_) => out.push(n),
            None => {}
        }
    }
}

fn interpreters(ctx: &Context, rule: &Rule) -> Vec<Draft> {
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

fn venvs(ctx: &Context, rule: &Rule) -> Vec<Draft> {
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

/// The language part of LANG / LC_ALL (`en_US.UTF-8` → `en`), if configured.
fn configured_language(ctx: &Context) -> Option<String> {
    let env = &ctx.image.config.env;
    ["LC_ALL", "LANG"].iter().find_map(|k| {
        env.iter()
            .find_map(|e| e.strip_prefix(&format!("{k}=")))
            .filter(|v| !v.is_empty())
            .map(|v| v.split(['_', '.', '@']).next().unwrap_or("").to_owned())
    })
}

fn locales(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    let lang = configured_language(ctx);
    let patterns = glob_set(&rule.paths);
    let except = glob_set(&rule.except);
    let mut d = Draft::new(rule, String::new());
    let mut items = Vec::new();
    for dir in [
        "usr/share/locale",
        "usr/lib/locale",
        "usr/share/i18n/locales",
    ] {
        let Some(id) = ctx.tree.lookup(dir).filter(|&id| ctx.tree.is_visible(id)) else {
            continue;
        };
        for &c in &ctx.tree.node(id).children {
            if !ctx.tree.is_visible(c) {
                continue;
            }
            let name = &*ctx.tree.node(c).name;
            let path = format!("{dir}/{name}");
            let keep = name == "locale.alias"
                || name.starts_with("C.")
                || name == "C"
                || name == "POSIX"
                || lang.as_deref().is_some_and(|l| {
                    !l.is_empty()
                        && (name == l
                            || name.starts_with(&format!("{l}_"))
                            || name.starts_with(&format!("{l}.")))
                })
                || (lang.is_none() && (name == "en" || name.starts_with("en_")));
            if keep || !patterns.is_match(&path) || except.is_match(&path) {
                continue;
            }
            let mut files = Vec::new();
            files_under(ctx, c, &mut files);
            let bytes = files.iter().map(|&f| own_bytes(ctx.tree, f)).sum();
            items.push(Item {
                name: path,
                bytes,
                layer: None,
                note: String::new(),
            });
            d.files.extend(files);
        }
    }
    if items.is_empty() {
        return Vec::new();
    }
    let kept = lang.clone().unwrap_or_else(|| "en (no LANG set)".into());
    d.finding.summary = format!(
        "{} locale directories beyond the configured one ({kept})",
        items.len()
    );
    d.finding.count = items.len() as u64;
    d.finding.items = top(items);
    vec![d]
}

fn unstripped(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    let tree = ctx.tree;
    let mut items = Vec::new();
    let mut total = 0u64;
    let mut per_layer: FxHashMap<u32, u64> = FxHashMap::default();
    for id in tree.final_nodes() {
        if id == ROOT {
            continue;
        }
        let Some(Captured::Elf(info)) = final_capture(ctx.image, tree, id) else {
            continue;
        };
        if !info.unstripped() {
            continue;
        }
        // A hardlink shows the same bytes as its target: count them once.
        if own_bytes(tree, id) == 0 {
            continue;
        }
        let b = info.strippable_bytes();
        total += b;
        let layer = tree.final_state(id).map(|e| e.layer);
        if let Some(l) = layer {
            *per_layer.entry(l).or_default() += b;
        }
        items.push(PathItem {
            node: id,
            bytes: b,
            layer,
            note: String::new(),
        });
    }
    if items.is_empty() {
        return Vec::new();
    }
    let count = items.len() as u64;
    let summary = format!("{count} ELF files carry symbol tables or debug sections");
    let mut d = draft(rule, summary, count, top_paths(ctx, items));
    d.extra_bytes = total;
    d.extra_layers = per_layer.into_iter().collect();
    vec![d]
}

fn wasted(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    let tree = ctx.tree;
    // (written by, hidden by) → (bytes, paths)
    let mut groups: FxHashMap<(u32, u32), (u64, FxHashMap<NodeId, u64>)> = FxHashMap::default();
    for ino in tree.inodes.iter().filter(|i| !i.visible() && i.size > 0) {
        let Some(h) = ino.hidden_by else { continue };
        let g = groups.entry((ino.layer, h)).or_default();
        g.0 += ino.size;
        *g.1.entry(ino.node).or_default() += ino.size;
    }
    let mut drafts = Vec::new();
    let instr = |l: u32| {
        ctx.image
            .layers
            .get(l as usize)
            .map(|x| x.instruction())
            .unwrap_or_default()
    };
    let mut keys: Vec<_> = groups.keys().copied().collect();
    keys.sort();
    for (written, hidden) in keys {
        let (bytes, paths) = &groups[&(written, hidden)];
        let rows: Vec<PathItem> = paths
            .iter()
            .map(|(&n, &b)| PathItem {
                node: n,
                bytes: b,
                layer: Some(written),
                note: String::new(),
            })
            .collect();
        let items = top_paths(ctx, rows);
        let how = if written == hidden {
            "written twice by layer".to_owned()
        } else {
            format!("hidden by layer {hidden}")
        };
        let summary = format!(
            "{} files written by layer {written} ({}) are {how} ({})",
            paths.len(),
            clip(&instr(written), 60),
            clip(&instr(hidden), 60)
        );
        let mut d = draft(rule, summary, paths.len() as u64, items);
        d.extra_bytes = *bytes;
        d.extra_layers = vec![(written, *bytes)];
        drafts.push(d);
    }
    drafts
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(n - 1).collect();
        out.push('…');
        out
    }
}

fn secrets(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    let tree = ctx.tree;
    let mut items = Vec::new();
    for layer in &ctx.image.layers {
        for (index, cap) in &layer.changes.captures {
            let Captured::Text(text) = cap else { continue };
            let Some(entry) = layer.changes.entries.get(*index as usize) else {
                continue;
            };
            // Package metadata is captured too; only names that can hold a secret are read.
            if !is_secret_candidate(&entry.path) {
                continue;
            }
            let Some(kind) = classify(&entry.path, text) else {
                continue;
            };
            // Still visible in the final image, or only in the layer that wrote it?
            let visible = tree
                .lookup(&entry.path)
                .and_then(|id| tree.final_state(id))
                .and_then(|e| e.inode)
                .is_some_and(|i| {
                    tree.inodes[i as usize].layer == layer.index as u32
                        && tree.inodes[i as usize].entry == *index
                });
            let note = if visible {
                kind.to_owned()
            } else {
                format!(
                    "{kind}; hidden by a later layer but still shipped in layer {}",
                    layer.index
                )
            };
            items.push(Item {
                name: entry.path.clone(),
                bytes: entry.size,
                layer: Some(layer.index as u32),
                note,
            });
        }
        if let Some(h) = &layer.history {
            for name in secret_assignments(&h.created_by) {
                items.push(Item {
                    name: format!("history of layer {}: {name}", layer.index),
                    bytes: 0,
                    layer: Some(layer.index as u32),
                    note: "build argument or variable with a credential-like name, recorded in the image history".into(),
                });
            }
        }
    }
    for h in ctx.image.history.iter().filter(|h| h.empty_layer) {
        for name in secret_assignments(&h.created_by) {
            items.push(Item {
                name: format!("history: {name}"),
                bytes: 0,
                layer: None,
                note: "set in a Dockerfile instruction recorded in the history".into(),
            });
        }
    }
    for name in secret_assignments(&ctx.image.config.env.join(" ")) {
        if !items.iter().any(|i| i.name.ends_with(&format!(": {name}"))) {
            items.push(Item {
                name: format!("ENV {name}"),
                bytes: 0,
                layer: None,
                note: "credential-like variable in the image config".into(),
            });
        }
    }
    if items.is_empty() {
        return Vec::new();
    }
    let count = items.len() as u64;
    let kinds: Vec<String> = {
        let mut k: Vec<String> = items
            .iter()
            .map(|i| i.note.split(';').next().unwrap_or("").to_owned())
            .collect();
        k.sort();
        k.dedup();
        k
    };
    let summary = format!("{count} found: {}", kinds.join(", "));
    // Order by layer, not size: the oldest leak first.
    let mut d = Draft::new(rule, summary);
    d.finding.count = count;
    items.sort_by(|a, b| a.layer.cmp(&b.layer).then_with(|| a.name.cmp(&b.name)));
    items.truncate(ITEMS_PER_FINDING);
    d.finding.items = items;
    vec![d]
}

fn user_root(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    let user = ctx.image.config.user.trim();
    let name = user.split(':').next().unwrap_or("");
    if !(name.is_empty() || name == "root" || name == "0") {
        return Vec::new();
    }
    let shown = if user.is_empty() {
        "USER is not set (defaults to root)".to_owned()
    } else {
        format!("USER {user}")
    };
    vec![draft(
        rule,
        shown.clone(),
        1,
        vec![Item {
            name: shown,
            bytes: 0,
            layer: None,
            note: String::new(),
        }],
    )]
}

fn mode_bits(ctx: &Context, rule: &Rule, setuid: bool) -> Vec<Draft> {
    let tree = ctx.tree;
    let mut items = Vec::new();
    for id in tree.final_nodes() {
        let Some(e) = tree.final_state(id) else {
            continue;
        };
        let hit = if setuid {
            e.kind == EntryKind::File && e.mode & 0o6000 != 0
        } else {
            e.kind == EntryKind::Dir && e.mode & 0o002 != 0 && e.mode & 0o1000 == 0
        };
        if hit {
            let kind = if !setuid {
                "world-writable"
            } else if e.mode & 0o4000 != 0 {
                "setuid"
            } else {
                "setgid"
            };
            items.push(PathItem {
                node: id,
                bytes: 0,
                layer: Some(e.layer),
                note: format!("{kind}, mode {:o}", e.mode & 0o7777),
            });
        }
    }
    if items.is_empty() {
        return Vec::new();
    }
    let count = items.len() as u64;
    let items = top_paths(ctx, items);
    let names: Vec<String> = items
        .iter()
        .take(4)
        .map(|i| format!("/{}", i.name))
        .collect();
    vec![draft(
        rule,
        format!("{count}: {}", names.join(", ")),
        count,
        items,
    )]
}

fn env_value<'a>(ctx: &'a Context, key: &str) -> Option<&'a str> {
    ctx.image
        .config
        .env
        .iter()
        .find_map(|e| e.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

fn env_missing(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    let Some(key) = rule.env.as_deref() else {
        return Vec::new();
    };
    if env_value(ctx, key).is_some_and(|v| !v.is_empty()) {
        return Vec::new();
    }
    vec![draft(
        rule,
        format!("{key} is not set"),
        1,
        vec![Item {
            name: key.to_owned(),
            bytes: 0,
            layer: None,
            note: String::new(),
        }],
    )]
}

fn env_locale(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    let utf8 = ["LC_ALL", "LANG"].iter().any(|k| {
        env_value(ctx, k).is_some_and(|v| {
            let v = v.to_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
    });
    if utf8 {
        return Vec::new();
    }
    let shown = env_value(ctx, "LANG")
        .map(|v| format!("LANG={v}"))
        .unwrap_or_else(|| "LANG is not set".into());
    vec![draft(
        rule,
        shown.clone(),
        1,
        vec![Item {
            name: shown,
            bytes: 0,
            layer: None,
            note: String::new(),
        }],
    )]
}

fn env_hashseed(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    match env_value(ctx, "PYTHONHASHSEED") {
        Some(v) if !v.is_empty() && v != "random" => {
            let shown = format!("PYTHONHASHSEED={v}");
            vec![draft(
                rule,
                shown.clone(),
                1,
                vec![Item {
                    name: shown,
                    bytes: 0,
                    layer: None,
                    note: String::new(),
                }],
            )]
        }
        _ => Vec::new(),
    }
}

/// `x.pyc` outside `__pycache__` with `x.py` beside it: Python 3 never reads it.
fn stray_pyc(ctx: &Context, rule: &Rule) -> Vec<Draft> {
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
