//! What a trimmed image is: which entries of which layer survive, given the paths a trimming
//! session removes. Pure: the plan is computed from the layer tree; `source::writer::rewrite`
//! streams the original layers through it, and `safety` says what the removal would break.
//!
//! An entry survives when the final image still shows it and no decision removes it. So the
//! paths a session accepts go from every layer that carries them, and so do the bytes later
//! layers hide (overwritten or deleted files, and whiteouts left with nothing to hide). The
//! final image is the original minus the removed paths, which `expected_paths` lists for the
//! check after writing.

mod entrypoint;
mod layers;
pub mod safety;
pub mod smoke;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use self::layers::choose_emptied_dirs;
pub use self::layers::plan_removal;
use super::entry::EntryKind;
use super::findings::paths::glob_set;
use super::findings::{own_bytes, Finding, RuleSet};
use super::image::Image;
use super::tree::{NodeId, Tree, ROOT};
use super::trim_session::Session;
use super::Examination;
use crate::error::{Error, Result};

/// Rules whose fix is not removing the paths they claim.
const NOT_BY_REMOVAL: &[(&str, &str)] = &[
    (
        "unstripped-binaries",
        "its fix is `strip`, not removing the files; strip in the Dockerfile",
    ),
    (
        "wasted-bytes",
        "hidden bytes are always dropped from a trimmed image",
    ),
];

/// Why the trimmed image does not apply a finding of this rule by removing its paths, if
/// it does not (the session says so before the user accepts).
pub fn not_by_removal(rule: &str) -> Option<&'static str> {
    NOT_BY_REMOVAL
        .iter()
        .find(|(r, _)| *r == rule)
        .map(|(_, why)| *why)
}

/// Which entries of one layer the trimmed image keeps, by index into the layer's changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LayerKeep {
    pub entries: Vec<bool>,
    /// The entries a squash keeps: a path kept in several layers (directories, mostly) is
    /// written once, from the last of them, since one tar must not name a path twice.
    pub squashed: Vec<bool>,
    pub whiteouts: Vec<bool>,
    pub opaque_dirs: Vec<bool>,
    /// Content bytes the layer carries now and after trimming.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Of the bytes dropped: those of removed paths, and those later layers hid.
    pub removed_bytes: u64,
    pub hidden_bytes: u64,
}

impl LayerKeep {
    /// The paths to keep, as the writer matches them while streaming the layer tar.
    pub fn filter(&self, changes: &super::entry::LayerChanges, squash: bool) -> LayerFilter {
        let pick = |paths: &[String], keep: &[bool]| -> FxHashSet<String> {
            paths
                .iter()
                .zip(keep)
                .filter(|(_, &k)| k)
                .map(|(p, _)| p.clone())
                .collect()
        };
        let entry_paths: Vec<String> = changes.entries.iter().map(|e| e.path.clone()).collect();
        LayerFilter {
            entries: pick(
                &entry_paths,
                if squash {
                    &self.squashed
                } else {
                    &self.entries
                },
            ),
            whiteouts: pick(&changes.whiteouts, &self.whiteouts),
            opaque_dirs: pick(&changes.opaque_dirs, &self.opaque_dirs),
        }
    }
}

/// Normalised image paths to keep in one layer tar; anything else is dropped.
#[derive(Debug, Clone, Default)]
pub struct LayerFilter {
    pub entries: FxHashSet<String>,
    /// Paths whose whiteout (`.wh.NAME`) is kept.
    pub whiteouts: FxHashSet<String>,
    /// Directories whose opaque marker is kept.
    pub opaque_dirs: FxHashSet<String>,
}

/// Per finding category: the bytes removed, each byte once, to the first accepted finding
/// (so they add up to what the image loses); the category's bytes before and after (the
/// files any finding of the category claims, accepted or not, each once), and the paths it
/// loses, whichever finding removes them. A report row shows before, after and their
/// difference, so it agrees with itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryRemoval {
    pub category: String,
    pub bytes: u64,
    pub paths: u64,
    pub before: u64,
    pub after: u64,
}

#[derive(Debug, Clone)]
pub struct TrimPlan {
    pub layers: Vec<LayerKeep>,
    /// Per tree node: the final image loses this path.
    pub removed: Vec<bool>,
    pub categories: Vec<CategoryRemoval>,
    /// Accepted findings applied, by session key.
    pub applied: Vec<String>,
    /// Accepted findings not applied, with the reason.
    pub not_applied: Vec<(String, String)>,
    /// Things the user should know: paths kept against a decision, and why.
    pub notes: Vec<String>,
    /// Chosen node → index into `applied` of the finding that chose it.
    pub chosen_by: FxHashMap<NodeId, usize>,
}

impl TrimPlan {
    pub fn bytes_before(&self) -> u64 {
        self.layers.iter().map(|l| l.bytes_before).sum()
    }
    pub fn bytes_after(&self) -> u64 {
        self.layers.iter().map(|l| l.bytes_after).sum()
    }
    pub fn hidden_bytes(&self) -> u64 {
        self.layers.iter().map(|l| l.hidden_bytes).sum()
    }
    pub fn removed_bytes(&self) -> u64 {
        self.layers.iter().map(|l| l.removed_bytes).sum()
    }

    /// The accepted finding that removes `node` (itself or a directory above it).
    pub fn finding_for(&self, tree: &Tree, node: NodeId) -> Option<&str> {
        let mut cur = node;
        loop {
            if let Some(&i) = self.chosen_by.get(&cur) {
                return self.applied.get(i).map(String::as_str);
            }
            if cur == ROOT {
                return None;
            }
            cur = tree.node(cur).parent;
        }
    }

    /// What the trimmed image must show: every non-directory path of the final image that
    /// is not removed, with its kind and size. Directories are left out: one whose entries
    /// were all removed may stay as an empty directory or vanish with its last child.
    pub fn expected_paths(&self, tree: &Tree) -> Vec<(String, EntryKind, u64)> {
        final_listing(tree, Some(&self.removed))
    }
}

/// Every non-directory path the final image shows (less `removed` ones), sorted: the
/// listing a trimmed image is checked against.
pub fn final_listing(tree: &Tree, removed: Option<&[bool]>) -> Vec<(String, EntryKind, u64)> {
    let mut out: Vec<(String, EntryKind, u64)> = tree
        .final_nodes()
        .filter(|&n| !removed.is_some_and(|r| r[n as usize]))
        .filter_map(|n| {
            let e = tree.final_state(n)?;
            (e.kind != EntryKind::Dir).then(|| (tree.path(n), e.kind, e.size))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Accepted findings by session key: those applied by removal, and those not, with why.
pub type SplitFindings<'a> = (Vec<(String, &'a Finding)>, Vec<(String, String)>);

/// The accepted findings the plan removes paths for, with their session keys.
pub fn removal_findings<'a>(session: &'a Session, ex: &'a Examination) -> SplitFindings<'a> {
    let mut applied = Vec::new();
    let mut skipped = Vec::new();
    for ((key, &i), d) in session
        .keys
        .iter()
        .zip(&session.order)
        .zip(&session.decisions)
    {
        if *d != Some(super::trim_session::Decision::Accept) {
            continue;
        }
        let f = &ex.findings.findings[i];
        match NOT_BY_REMOVAL.iter().find(|(rule, _)| *rule == f.rule) {
            Some((_, why)) => skipped.push((key.clone(), (*why).to_owned())),
            None => applied.push((key.clone(), f)),
        }
    }
    (applied, skipped)
}

/// Plans the trimmed image for the session's accepted findings.
pub fn plan(image: &Image, ex: &Examination, session: &Session, rules: &RuleSet) -> TrimPlan {
    let (findings, not_applied) = removal_findings(session, ex);
    let tree = &ex.tree;
    let mut chosen = vec![false; tree.nodes.len()];
    let mut chosen_by = FxHashMap::default();
    for (i, (_, f)) in findings.iter().enumerate() {
        for &n in &f.files {
            chosen[n as usize] = true;
            chosen_by.entry(n).or_insert(i);
        }
    }
    // The directories the applied rules name (`numpy/tests`, `root/.cache/pip`) go with
    // their files when nothing else is left in them: an empty `tests` directory would still
    // import, as a namespace package.
    let applied_rules: Vec<&super::findings::Rule> = findings
        .iter()
        .filter_map(|(_, f)| rules.rules.iter().find(|r| r.id == f.rule))
        .collect();
    let named = glob_set(applied_rules.iter().flat_map(|r| &r.paths));
    let excepted = glob_set(applied_rules.iter().flat_map(|r| &r.except));
    choose_emptied_dirs(tree, &mut chosen, |path| {
        named.is_match(path) && !excepted.is_match(path)
    });
    let mut plan = plan_removal(image, tree, &chosen);
    plan.chosen_by = chosen_by;
    plan.applied = findings.iter().map(|(k, _)| k.clone()).collect();
    plan.not_applied = not_applied;
    // Bytes per category, each removed path counted once, for the first finding claiming it.
    let mut counted = vec![false; tree.nodes.len()];
    let mut by_category: Vec<CategoryRemoval> = Vec::new();
    for (_, f) in &findings {
        let (mut bytes, mut paths) = (0, 0);
        for &n in &f.files {
            if plan.removed[n as usize] && !counted[n as usize] {
                counted[n as usize] = true;
                bytes += own_bytes(tree, n);
                paths += 1;
            }
        }
        match by_category.iter_mut().find(|c| c.category == f.category) {
            Some(c) => {
                c.bytes += bytes;
                c.paths += paths;
            }
            None => by_category.push(CategoryRemoval {
                category: f.category.clone(),
                bytes,
                paths,
                before: 0,
                after: 0,
            }),
        }
    }
    // Before and after, over every finding of the image, so a category the session kept
    // shows as unchanged rather than missing.
    let mut claimed: FxHashMap<&str, FxHashSet<NodeId>> = FxHashMap::default();
    // Findings whose fix is not removal (strip, hidden bytes) claim files they would not
    // take away: left out.
    let by_removal = |f: &&Finding| !NOT_BY_REMOVAL.iter().any(|(rule, _)| *rule == f.rule);
    for f in ex.findings.findings.iter().filter(by_removal) {
        claimed
            .entry(f.category.as_str())
            .or_default()
            .extend(f.files.iter().copied());
    }
    for (category, nodes) in claimed {
        let before: u64 = nodes.iter().map(|&n| own_bytes(tree, n)).sum();
        let after: u64 = nodes
            .iter()
            .filter(|&&n| !plan.removed[n as usize])
            .map(|&n| own_bytes(tree, n))
            .sum();
        // The paths the category loses, whichever finding removes them.
        let paths = nodes.iter().filter(|&&n| plan.removed[n as usize]).count() as u64;
        match by_category.iter_mut().find(|c| c.category == category) {
            Some(c) => {
                c.before = before;
                c.after = after;
                c.paths = paths;
            }
            None => by_category.push(CategoryRemoval {
                category: category.to_owned(),
                bytes: 0,
                paths,
                before,
                after,
            }),
        }
    }
    // Bytes later layers hide: always dropped.
    let hidden = plan.hidden_bytes();
    by_category.retain(|c| c.category != "wasted");
    if hidden > 0 {
        by_category.push(CategoryRemoval {
            category: "wasted".into(),
            bytes: hidden,
            paths: 0,
            before: hidden,
            after: 0,
        });
    }
    by_category.sort_by(|a, b| {
        (b.bytes, b.before)
            .cmp(&(a.bytes, a.before))
            .then(a.category.cmp(&b.category))
    });
    plan.categories = by_category;
    plan
}

/// Plans the trim and refuses, with every reason on one line, when it would break the app.
pub fn checked_plan(
    image: &Image,
    ex: &Examination,
    session: &Session,
    rules: &RuleSet,
) -> Result<TrimPlan> {
    let plan = plan(image, ex, session, rules);
    let problems = safety::check(image, ex, &plan.removed);
    if problems.is_empty() {
        return Ok(plan);
    }
    let reasons: Vec<String> = problems
        .iter()
        .map(|p| match plan.finding_for(&ex.tree, p.node) {
            Some(key) => format!("{} (skip finding {key})", p.message),
            None => p.message.clone(),
        })
        .collect();
    Err(Error::Usage(format!(
        "refusing to write the trimmed image, it would break the app: {}",
        reasons.join("; ")
    )))
}
