//! The generic matchers: path globs over the final image (a matching directory counts with
//! everything under it, less what `except` names), OS packages by name, Python
//! distributions by name. One walk of the tree serves every path rule.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use rustc_hash::FxHashMap;

use super::{own_bytes, top_paths, Context, Draft, Item, PathItem, Rule, ITEMS_PER_FINDING};
use crate::entry::EntryKind;
use crate::inventory::normalize_dist_name;
use crate::tree::{NodeId, ROOT};

/// `*` stays inside one path component; `**` crosses them.
pub(crate) fn glob(pattern: &str) -> Option<Glob> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .ok()
}

pub(crate) fn glob_set<'a>(patterns: impl IntoIterator<Item = &'a String>) -> GlobSet {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        if let Some(g) = glob(p) {
            b.add(g);
        }
    }
    b.build().unwrap_or_else(|_| GlobSet::empty())
}

/// One item being filled while walking: a matched path and the bytes claimed under it.
struct Hit {
    node: NodeId,
    bytes: u64,
    /// Files claimed under it: a directory that holds none (an empty /usr/include) is not
    /// something to remove, and is not listed.
    files: u32,
    by_layer: Vec<(u32, u64)>,
}

struct RuleState<'r> {
    rule: &'r Rule,
    except: GlobSet,
    files: Vec<NodeId>,
    hits: Vec<Hit>,
}

pub(crate) fn match_paths_and_packages(ctx: &Context, rules: &[&Rule]) -> Vec<Draft> {
    let generic: Vec<&Rule> = rules
        .iter()
        .copied()
        .filter(|r| r.detector.is_none())
        .collect();
    let mut states: Vec<RuleState> = generic
        .iter()
        .map(|r| RuleState {
            rule: r,
            except: glob_set(&r.except),
            files: Vec::new(),
            hits: Vec::new(),
        })
        .collect();
    let mut builder = GlobSetBuilder::new();
    let mut owner_of_glob = Vec::new();
    for (i, r) in generic.iter().enumerate() {
        for p in &r.paths {
            if let Some(g) = glob(p) {
                builder.add(g);
                owner_of_glob.push(i);
            }
        }
    }
    let set = builder.build().unwrap_or_else(|_| GlobSet::empty());
    if !owner_of_glob.is_empty() {
        let last = Prefilter::new(generic.iter().flat_map(|r| r.paths.iter()));
        walk(ctx, &set, &last, &owner_of_glob, &mut states);
    }
    let mut drafts = Vec::new();
    for mut st in states {
        let rows: Vec<PathItem> = st
            .hits
            .drain(..)
            .filter(|h| h.files > 0)
            .map(|h| PathItem {
                node: h.node,
                bytes: h.bytes,
                layer: h.by_layer.iter().max_by_key(|(_, b)| *b).map(|(l, _)| *l),
                note: String::new(),
            })
            .collect();
        let mut count = rows.len() as u64;
        let mut items = top_paths(ctx, rows);
        // OS packages by name.
        if !st.rule.packages.is_empty() {
            let wanted = glob_set(&st.rule.packages);
            let mut picked: Vec<usize> = ctx
                .inventory
                .os_packages
                .iter()
                .enumerate()
                .filter(|(_, p)| wanted.is_match(&p.name))
                .map(|(i, _)| i)
                .collect();
            if st.rule.with_dependencies && !picked.is_empty() {
                picked.extend(super::closure::dependencies_only_of(ctx, &picked));
            }
            if !picked.is_empty() {
                let mut per_pkg: FxHashMap<usize, u64> = FxHashMap::default();
                for (&id, &i) in &ctx.inventory.owner {
                    if !picked.contains(&i) {
                        continue;
                    }
                    if ctx
                        .tree
                        .final_state(id)
                        .is_some_and(|e| e.kind != EntryKind::Dir)
                    {
                        st.files.push(id);
                        *per_pkg.entry(i).or_default() += own_bytes(ctx.tree, id);
                    }
                }
                for i in picked {
                    let p = &ctx.inventory.os_packages[i];
                    let bytes = per_pkg.get(&i).copied().unwrap_or(0);
                    items.push(Item {
                        name: p.name.clone(),
                        bytes,
                        layer: None,
                        note: format!("package {}", p.version),
                    });
                    count += 1;
                }
            }
        }
        // Python distributions by name.
        if !st.rule.python_packages.is_empty() {
            let wanted: Vec<String> = st
                .rule
                .python_packages
                .iter()
                .map(|n| normalize_dist_name(n))
                .collect();
            for p in &ctx.inventory.python_packages {
                if wanted.contains(&normalize_dist_name(&p.name)) {
                    st.files.extend(p.files_nodes.iter().copied());
                    items.push(Item {
                        name: format!("{} {}", p.name, p.version),
                        bytes: p.bytes,
                        layer: None,
                        note: p.location.clone(),
                    });
                    count += 1;
                }
            }
        }
        if count == 0 {
            continue;
        }
        items.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
        items.truncate(ITEMS_PER_FINDING);
        let summary = summary(st.rule, count, &items);
        let mut d = Draft::new(st.rule, summary);
        d.finding.count = count;
        d.finding.items = items;
        d.files = st.files;
        drafts.push(d);
    }
    drafts
}

fn summary(rule: &Rule, count: u64, items: &[Item]) -> String {
    let names: Vec<&str> = items.iter().take(3).map(|i| i.name.as_str()).collect();
    let more = if count as usize > names.len() {
        format!(" and {} more", count as usize - names.len())
    } else {
        String::new()
    };
    let _ = rule;
    format!("{count} found: {}{more}", names.join(", "))
}

/// A cheap first test before the full globs: a glob that starts with `**/` can only match a
/// path whose name matches the glob's last component; any other glob only paths under its
/// literal prefix (`var/lib/apt/lists/` for `var/lib/apt/lists/*`). Most paths pass neither.
struct Prefilter {
    names: GlobSet,
    prefixes: Vec<String>,
    /// A floating glob ends in `**`: every path needs the full test.
    always: bool,
}

impl Prefilter {
    fn new<'a>(patterns: impl Iterator<Item = &'a String>) -> Self {
        let mut b = GlobSetBuilder::new();
        let mut prefixes = Vec::new();
        let mut always = false;
        let is_meta = |c: char| matches!(c, '*' | '?' | '[' | '{');
        for p in patterns {
            if p.starts_with("**") {
                let last = p.rsplit('/').next().unwrap_or(p);
                if last.contains("**") {
                    always = true;
                } else if let Some(g) = glob(last) {
                    b.add(g);
                }
            } else {
                let literal: Vec<&str> =
                    p.split('/').take_while(|c| !c.contains(is_meta)).collect();
                prefixes.push(literal.join("/"));
            }
        }
        Prefilter {
            names: b.build().unwrap_or_else(|_| GlobSet::empty()),
            prefixes,
            always,
        }
    }

    /// `anchored`: whether any literal prefix can still apply at this depth of the walk.
    fn may_match(&self, path: &str, name: &str, anchored: bool) -> bool {
        self.always
            || (anchored && self.prefixes.iter().any(|p| path.starts_with(p.as_str())))
            || self.names.is_match(name)
    }

    /// Whether a literal prefix is at, under, or still ahead of this directory: if not, no
    /// path below it can match an anchored glob, and the walk stops testing prefixes there.
    fn anchored_below(&self, dir: &str) -> bool {
        self.prefixes.iter().any(|p| {
            dir.starts_with(p.as_str())
                || (p.len() > dir.len() && p.starts_with(dir) && p.as_bytes()[dir.len()] == b'/')
        })
    }
}

enum Step {
    /// Node, length of its parent's path, whether anchored globs can still match below.
    Enter(NodeId, usize, bool),
    /// Leaving a directory: restore each rule's active hit as it was before entering.
    Exit(Vec<(usize, Option<usize>)>),
}

/// Walks the final image once, testing each path against every rule's globs.
fn walk(
    ctx: &Context,
    set: &GlobSet,
    last: &Prefilter,
    owner_of_glob: &[usize],
    states: &mut [RuleState],
) {
    let tree = ctx.tree;
    let mut path = String::new();
    // For each rule: the hit (index into its hits) whose directory the walk is inside.
    let mut active: Vec<Option<usize>> = vec![None; states.len()];
    let mut matched = Vec::new();
    let mut stack: Vec<Step> = Vec::new();
    for &c in tree.node(ROOT).children.iter().rev() {
        stack.push(Step::Enter(c, 0, true));
    }
    while let Some(step) = stack.pop() {
        let (id, base, anchored) = match step {
            Step::Exit(undo) => {
                for (r, prev) in undo.into_iter().rev() {
                    active[r] = prev;
                }
                continue;
            }
            Step::Enter(id, base, anchored) => (id, base, anchored),
        };
        let Some(e) = tree.final_state(id) else {
            continue;
        };
        path.truncate(base);
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(&tree.node(id).name);
        let is_dir = e.kind == EntryKind::Dir;
        let mut undo: Vec<(usize, Option<usize>)> = Vec::new();
        // Rules active above: this path is inside their hit, unless excepted.
        for r in 0..active.len() {
            let Some(h) = active[r] else { continue };
            if states[r].except.is_match(&path) {
                if is_dir {
                    undo.push((r, active[r]));
                    active[r] = None;
                }
                continue;
            }
            if !is_dir {
                claim(tree, &mut states[r], h, id);
            }
        }
        if last.may_match(&path, &tree.node(id).name, anchored) {
            set.matches_into(path.as_str(), &mut matched);
        } else {
            matched.clear();
        }
        for &g in &matched {
            let r = owner_of_glob[g];
            let suppressed_here = undo.iter().any(|(u, _)| *u == r);
            if suppressed_here || active[r].is_some() || states[r].except.is_match(&path) {
                continue;
            }
            let st = &mut states[r];
            st.hits.push(Hit {
                node: id,
                bytes: 0,
                files: 0,
                by_layer: Vec::new(),
            });
            let h = st.hits.len() - 1;
            if is_dir {
                undo.push((r, active[r]));
                active[r] = Some(h);
            } else {
                claim(tree, st, h, id);
            }
        }
        if is_dir {
            stack.push(Step::Exit(undo));
            let len = path.len();
            let below = anchored && last.anchored_below(&path);
            for &c in tree.node(id).children.iter().rev() {
                if tree.is_visible(c) {
                    stack.push(Step::Enter(c, len, below));
                }
            }
        }
    }
}

fn claim(tree: &crate::tree::Tree, st: &mut RuleState, hit: usize, file: NodeId) {
    let b = own_bytes(tree, file);
    st.files.push(file);
    let h = &mut st.hits[hit];
    h.bytes += b;
    h.files += 1;
    if let Some(e) = tree.final_state(file) {
        match h.by_layer.iter_mut().find(|(l, _)| *l == e.layer) {
            Some(slot) => slot.1 += b,
            None => h.by_layer.push((e.layer, b)),
        }
    }
}
