//! Findings: what is wrong with an image, where (paths, bytes, the layer and the instruction
//! that made it), why it matters, and the Dockerfile change that fixes it. Rules are data
//! (rules.rs); matching paths and packages is generic (paths.rs); the checks that need code
//! are detectors (detectors/, secrets.rs).

mod closure;
mod detectors;
pub(crate) mod paths;
pub mod rules;
pub mod secrets;

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::image::Image;
use super::inventory::Inventory;
use super::tree::{NodeId, Tree};
pub use rules::{Rule, RuleSet, Severity};

/// Most items listed per finding.
pub const ITEMS_PER_FINDING: usize = 12;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Finding {
    pub rule: String,
    pub category: String,
    pub severity: Severity,
    pub title: String,
    /// What was found, specifically (counts, names).
    pub summary: String,
    pub why: String,
    pub fix: String,
    /// Counted in the reclaimable total (false for posture and secrets).
    pub bloat: bool,
    /// Bytes the final image would lose by the fix (for unstripped files: the strippable
    /// part; for wasted bytes: bytes hidden in lower layers).
    pub bytes: u64,
    /// Paths, packages or entries behind the finding.
    pub count: u64,
    /// The largest of them.
    pub items: Vec<Item>,
    /// The layers that brought the bytes, largest share first.
    pub layers: Vec<LayerShare>,
    /// Every final-image file the finding claims (for highlighting; not in JSON).
    #[serde(skip)]
    pub files: Vec<NodeId>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Item {
    /// A path (no leading `/`), a package name, or a config key.
    pub name: String,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<u32>,
    /// Extra words: the OS package that owns a path, a secret's kind, …
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LayerShare {
    pub layer: u32,
    pub instruction: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CategoryTotal {
    pub category: String,
    /// Reclaimable bytes in the category, each byte counted once.
    pub bytes: u64,
    pub findings: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Findings {
    pub findings: Vec<Finding>,
    pub categories: Vec<CategoryTotal>,
    /// Reclaimable bytes across every bloat finding, each byte counted once.
    pub reclaimable_bytes: u64,
}

/// A path row before its path is built: paths are made only for the rows that are shown.
pub(crate) struct PathItem {
    pub node: NodeId,
    pub bytes: u64,
    pub layer: Option<u32>,
    /// Words before the owning package's name, if any.
    pub note: String,
}

/// The largest rows (ties in path order), with paths and owning packages filled in.
pub(crate) fn top_paths(ctx: &Context, mut rows: Vec<PathItem>) -> Vec<Item> {
    rows.sort_unstable_by_key(|r| std::cmp::Reverse(r.bytes));
    let cutoff = rows
        .get(ITEMS_PER_FINDING.saturating_sub(1))
        .map(|r| r.bytes)
        .unwrap_or(0);
    let mut items: Vec<Item> = rows
        .into_iter()
        .take_while(|r| r.bytes >= cutoff)
        .map(|r| {
            let name = ctx.tree.path(r.node);
            // A package's name, or "shared by N packages" for a directory many fill.
            let owner = ctx.inventory.owner_label(r.node);
            let owner = owner.as_deref();
            let one = ctx.inventory.owner_is_one_package(r.node);
            let note = match (owner, r.note.is_empty()) {
                (Some(o), true) => o.to_owned(),
                (Some(o), false) if one => format!("{}, package {o}", r.note),
                (Some(o), false) => format!("{}, {o}", r.note),
                (None, _) => r.note,
            };
            Item {
                name,
                bytes: r.bytes,
                layer: r.layer,
                note,
            }
        })
        .collect();
    items.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    items.truncate(ITEMS_PER_FINDING);
    items
}

/// What detectors may read.
pub struct Context<'a> {
    pub image: &'a Image,
    pub tree: &'a Tree,
    pub inventory: &'a Inventory,
}

/// A finding before layer shares and byte totals are worked out: the final-image files it
/// claims (counted whole), plus bytes that are not whole files (strippable, wasted).
pub(crate) struct Draft {
    pub finding: Finding,
    pub files: Vec<NodeId>,
    pub extra_bytes: u64,
    pub extra_layers: Vec<(u32, u64)>,
}

impl Draft {
    pub fn new(rule: &Rule, summary: String) -> Self {
        Draft {
            finding: Finding {
                rule: rule.id.clone(),
                category: rule.category.clone(),
                severity: rule.severity,
                title: rule.title.clone(),
                summary,
                why: rule.why.clone(),
                fix: rule.fix.clone(),
                bloat: rule.bloat,
                bytes: 0,
                count: 0,
                items: Vec::new(),
                layers: Vec::new(),
                files: Vec::new(),
            },
            files: Vec::new(),
            extra_bytes: 0,
            extra_layers: Vec::new(),
        }
    }
}

pub fn evaluate(ctx: &Context, rules: &RuleSet) -> Findings {
    use rayon::prelude::*;
    let enabled: Vec<&Rule> = rules.enabled().collect();
    // The one walk for every path rule, and the detectors, are independent: run them side
    // by side. Order is kept (detectors in rule order) so the output is the same every time.
    let (mut drafts, detected): (Vec<Draft>, Vec<Vec<Draft>>) = rayon::join(
        || paths::match_paths_and_packages(ctx, &enabled),
        || {
            enabled
                .par_iter()
                .map(|rule| match &rule.detector {
                    Some(d) => detectors::run(ctx, rule, d),
                    None => Vec::new(),
                })
                .collect()
        },
    );
    drafts.extend(detected.into_iter().flatten());
    finish(ctx, drafts)
}

/// Bytes a final-image file takes (hardlinked content charged to one path).
pub(crate) fn own_bytes(tree: &Tree, id: NodeId) -> u64 {
    match tree.final_state(id) {
        Some(e) if e.kind != super::entry::EntryKind::Dir => tree.final_bytes[id as usize],
        _ => 0,
    }
}

fn finish(ctx: &Context, drafts: Vec<Draft>) -> Findings {
    let tree = ctx.tree;
    let mut claimed = vec![false; tree.nodes.len()];
    // Per category: the files its findings claim, and bytes that are not whole files.
    let mut per_category: FxHashMap<String, (Vec<NodeId>, u64, usize)> = FxHashMap::default();
    let mut reclaimable = 0u64;
    let mut out = Vec::new();
    for mut d in drafts {
        d.files.sort_unstable();
        d.files.dedup();
        let mut per_layer: FxHashMap<u32, u64> = FxHashMap::default();
        let mut bytes = 0u64;
        for &f in &d.files {
            let b = own_bytes(tree, f);
            bytes += b;
            if let Some(e) = tree.final_state(f) {
                *per_layer.entry(e.layer).or_default() += b;
            }
        }
        for &(l, b) in &d.extra_layers {
            *per_layer.entry(l).or_default() += b;
        }
        let mut f = d.finding;
        if f.bytes == 0 {
            f.bytes = bytes + d.extra_bytes;
        }
        let mut layers: Vec<LayerShare> = per_layer
            .into_iter()
            .filter(|(_, b)| *b > 0)
            .map(|(layer, bytes)| LayerShare {
                layer,
                instruction: ctx
                    .image
                    .layers
                    .get(layer as usize)
                    .map(|l| l.instruction())
                    .unwrap_or_default(),
                bytes,
            })
            .collect();
        layers.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.layer.cmp(&b.layer)));
        f.layers = layers;
        f.files = d.files.clone();
        let cat = per_category.entry(f.category.clone()).or_default();
        cat.2 += 1;
        if f.bloat {
            for &n in &d.files {
                if !claimed[n as usize] {
                    claimed[n as usize] = true;
                    reclaimable += own_bytes(tree, n);
                }
            }
            cat.0.extend_from_slice(&d.files);
            cat.1 += d.extra_bytes;
            reclaimable += d.extra_bytes;
        }
        out.push(f);
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.bytes.cmp(&a.bytes))
            .then(a.rule.cmp(&b.rule))
    });
    let mut categories: Vec<CategoryTotal> = per_category
        .into_iter()
        .map(|(category, (mut files, extra, findings))| {
            files.sort_unstable();
            files.dedup();
            let bytes = files.iter().map(|&n| own_bytes(tree, n)).sum::<u64>() + extra;
            CategoryTotal {
                category,
                bytes,
                findings,
            }
        })
        .collect();
    categories.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.category.cmp(&b.category)));
    Findings {
        findings: out,
        categories,
        reclaimable_bytes: reclaimable,
    }
}
