//! Byte detectors: locales beyond the configured one, unstripped ELF files, and bytes that
//! ship in a layer but are hidden by a later one.

use crate::format::clip;
use rustc_hash::FxHashMap;

use super::{draft, files_under, top};
use crate::content::Captured;
use crate::findings::paths::glob_set;
use crate::findings::{own_bytes, top_paths, Context, Draft, Item, PathItem, Rule};
use crate::inventory::final_capture;
use crate::tree::{NodeId, ROOT};

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

pub(super) fn locales(ctx: &Context, rule: &Rule) -> Vec<Draft> {
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

pub(super) fn unstripped(ctx: &Context, rule: &Rule) -> Vec<Draft> {
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

pub(super) fn wasted(ctx: &Context, rule: &Rule) -> Vec<Draft> {
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
        // One finding per (written, hidden) pair: the rule's generic title would repeat
        // word for word down the list, so say which layers.
        d.finding.title = if written == hidden {
            format!("Bytes written twice in layer {written}")
        } else {
            format!("Bytes of layer {written} hidden by layer {hidden}")
        };
        d.extra_bytes = *bytes;
        d.extra_layers = vec![(written, *bytes)];
        drafts.push(d);
    }
    drafts
}
