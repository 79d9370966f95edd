//! Property test: random layer stacks of adds, overwrites, deletions (whiteouts), opaque dirs,
//! hardlinks and symlinks, each written in every format pyslim reads, must give the merged
//! tree and the size figures of the reference oracle (`tests/common/oracle/`), which really
//! extracts the layer tars.
//!
//! Proptest generates plain operations; `Sanitizer` turns them into a stack inside the
//! oracle's domain by dropping the operations a real extractor would refuse or do
//! differently from another (a path below a file, a hardlink to a missing file, markers whose
//! effect depends on their order). Shrinking works on the operations, so a failure ends as a
//! few entries in a layer or two.
//!
//! Default 256 cases (about 5 s in a debug build); `PROPTEST_CASES=2000` for a longer hunt.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

use pyslim::core::image::Compression;
use pyslim::source::writer::{Content, LayerSpec, SpecEntry, SpecKind};

use crate::common::oracle::{
    at_or_under, check_case, describe, join, split_parent, strictly_under, Fail,
};

const NAMES: [&str; 3] = ["a", "b", "c"];

/// A path of one to three names out of three: few enough that operations collide often.
fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(0..NAMES.len(), 1..=3).prop_map(|parts| {
        parts
            .iter()
            .map(|&i| NAMES[i])
            .collect::<Vec<_>>()
            .join("/")
    })
}

#[derive(Debug, Clone)]
enum Op {
    File {
        path: String,
        size: u16,
        noise: bool,
    },
    Dir {
        path: String,
    },
    /// Absolute, `../`-relative or plain relative target; never followed by anyone.
    Symlink {
        path: String,
        target: String,
    },
    /// To the `pick`-th regular file present when the entry is reached.
    Hardlink {
        path: String,
        pick: usize,
    },
    Whiteout {
        path: String,
    },
    /// `None` is the root.
    Opaque {
        dir: Option<String>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (path(), 0u16..3000, any::<bool>())
            .prop_map(|(path, size, noise)| Op::File { path, size, noise }),
        2 => path().prop_map(|path| Op::Dir { path }),
        1 => (path(), 0..3usize, path()).prop_map(|(path, style, t)| Op::Symlink {
            path,
            target: match style {
                0 => format!("/{t}"),
                1 => format!("../{t}"),
                _ => t,
            },
        }),
        2 => (path(), any::<usize>()).prop_map(|(path, pick)| Op::Hardlink { path, pick }),
        2 => path().prop_map(|path| Op::Whiteout { path }),
        1 => prop::option::weighted(0.8, path()).prop_map(|dir| Op::Opaque { dir }),
    ]
}

fn compression() -> impl Strategy<Value = Compression> {
    prop_oneof![
        Just(Compression::None),
        Just(Compression::Gzip),
        Just(Compression::Zstd)
    ]
}

fn stack_ops() -> impl Strategy<Value = Vec<(Vec<Op>, Compression)>> {
    prop::collection::vec((prop::collection::vec(op(), 0..8), compression()), 1..=5)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum M {
    Dir,
    File,
    Symlink,
}

/// How often each feature made it into a stack, to show the strategy reaches them all.
#[derive(Debug, Default)]
struct Stats {
    empty_layers: u64,
    overwrites: u64,
    kind_changes: u64,
    whiteouts_of_present: u64,
    whiteouts_in_missing_dirs: u64,
    opaques: u64,
    root_opaques: u64,
    markers_after_entries: u64,
    symlinks: u64,
    hardlinks: u64,
    hardlinks_across_layers: u64,
}

/// What is on disk after the layers so far, as the reference would extract them.
#[derive(Default)]
struct Sanitizer {
    model: BTreeMap<String, M>,
    /// Layer that wrote each file's bytes (for the statistics).
    written_in: BTreeMap<String, usize>,
    stats: Stats,
}

impl Sanitizer {
    /// Every existing component of `dir` is a directory (missing ones get created).
    fn chain_ok(&self, dir: &str) -> bool {
        let mut cur = String::new();
        for part in dir.split('/').filter(|p| !p.is_empty()) {
            cur = join(&cur, part);
            match self.model.get(&cur) {
                None => return true,
                Some(M::Dir) => {}
                Some(_) => return false,
            }
        }
        true
    }

    fn mk_chain(&mut self, dir: &str) {
        let mut cur = String::new();
        for part in dir.split('/').filter(|p| !p.is_empty()) {
            cur = join(&cur, part);
            self.model.entry(cur.clone()).or_insert(M::Dir);
        }
    }

    fn remove(&mut self, keep: impl Fn(&str) -> bool) {
        self.model.retain(|k, _| keep(k));
        self.written_in.retain(|k, _| keep(k));
    }

    fn layer(&mut self, index: usize, ops: &[Op], compression: Compression) -> LayerSpec {
        // Markers act on the layers below, before any entry of this layer: decide them first.
        let mut zones: Vec<(String, String, bool)> = Vec::new(); // (marker dir, zone, opaque)
        let mut kept = vec![false; ops.len()];
        for (n, op) in ops.iter().enumerate() {
            let (dir, zone, opaque) = match op {
                Op::Opaque { dir } => {
                    let d = dir.clone().unwrap_or_default();
                    if !matches!(self.model.get(&d), None | Some(M::Dir))
                        || !self.chain_ok(split_parent(&d).0)
                    {
                        continue;
                    }
                    (d.clone(), d, true)
                }
                Op::Whiteout { path } => {
                    let dir = split_parent(path).0.to_owned();
                    if !self.chain_ok(&dir) {
                        continue;
                    }
                    (dir, path.clone(), false)
                }
                _ => continue,
            };
            let inside = |p: &str, zone: &str, opaque: bool| {
                if opaque {
                    strictly_under(p, zone)
                } else {
                    at_or_under(p, zone)
                }
            };
            if zones
                .iter()
                .any(|(d, z, o)| inside(&dir, z, *o) || inside(d, &zone, opaque))
            {
                continue;
            }
            kept[n] = true;
            zones.push((dir, zone, opaque));
        }
        for (dir, zone, opaque) in &zones {
            if !self.model.contains_key(dir) && !dir.is_empty() && !opaque {
                self.stats.whiteouts_in_missing_dirs += 1;
            }
            self.mk_chain(dir);
            if *opaque {
                self.stats.opaques += 1;
                self.stats.root_opaques += zone.is_empty() as u64;
                self.remove(|k| !strictly_under(k, zone));
            } else {
                self.stats.whiteouts_of_present += self.model.contains_key(zone) as u64;
                self.remove(|k| !at_or_under(k, zone));
            }
        }

        let mut entries = Vec::new();
        let mut seen_entry = false;
        for (n, op) in ops.iter().enumerate() {
            let entry = match op {
                Op::Opaque { dir } if kept[n] => {
                    self.stats.markers_after_entries += seen_entry as u64;
                    entries.push(SpecEntry::opaque(dir.as_deref().unwrap_or("")));
                    continue;
                }
                Op::Whiteout { path } if kept[n] => {
                    self.stats.markers_after_entries += seen_entry as u64;
                    entries.push(SpecEntry::whiteout(path));
                    continue;
                }
                Op::Opaque { .. } | Op::Whiteout { .. } => continue,
                Op::File { path, size, noise } => {
                    let (size, seed) = (u64::from(*size), n as u64 + 1);
                    let content = if *noise {
                        Content::Noise { size, seed }
                    } else {
                        Content::Pattern { size, seed }
                    };
                    (path, SpecEntry::new(path, SpecKind::File(content)), M::File)
                }
                Op::Dir { path } => (path, SpecEntry::dir(path), M::Dir),
                Op::Symlink { path, target } => {
                    (path, SpecEntry::symlink(path, target), M::Symlink)
                }
                Op::Hardlink { path, pick } => {
                    let targets: Vec<&String> = self
                        .model
                        .iter()
                        .filter(|(k, m)| **m == M::File && !at_or_under(k, path))
                        .map(|(k, _)| k)
                        .collect();
                    if targets.is_empty() {
                        continue;
                    }
                    let target = targets[pick % targets.len()].clone();
                    (path, SpecEntry::hardlink(path, &target), M::File)
                }
            };
            let (path, spec, kind) = entry;
            if !self.chain_ok(split_parent(path).0) {
                continue;
            }
            match &spec.kind {
                SpecKind::Symlink(_) => self.stats.symlinks += 1,
                SpecKind::Hardlink(t) => {
                    self.stats.hardlinks += 1;
                    self.stats.hardlinks_across_layers +=
                        (self.written_in.get(t) != Some(&index)) as u64;
                }
                _ => {}
            }
            let from = match &spec.kind {
                SpecKind::Hardlink(t) => self.written_in.get(t).copied(),
                SpecKind::File(_) => Some(index),
                _ => None,
            };
            self.mk_chain(split_parent(path).0);
            if let Some(old) = self.model.get(path).copied() {
                self.stats.overwrites += 1;
                self.stats.kind_changes += (old != kind) as u64;
                if !(old == M::Dir && kind == M::Dir) {
                    self.remove(|k| !at_or_under(k, path));
                }
            }
            if let Some(from) = from {
                self.written_in.insert(path.clone(), from);
            }
            self.model.insert(path.clone(), kind);
            seen_entry = true;
            entries.push(spec);
        }
        self.stats.empty_layers += entries.is_empty() as u64;
        let mut spec = LayerSpec::new(&format!("RUN step {index}"), entries);
        spec.compression = compression;
        spec
    }
}

fn sanitize(ops: &[(Vec<Op>, Compression)], stats: Option<&mut Stats>) -> Vec<LayerSpec> {
    let mut s = Sanitizer::default();
    let layers = ops
        .iter()
        .enumerate()
        .map(|(i, (ops, c))| s.layer(i, ops, *c))
        .collect();
    if let Some(stats) = stats {
        let t = &mut s.stats;
        stats.empty_layers += t.empty_layers;
        stats.overwrites += t.overwrites;
        stats.kind_changes += t.kind_changes;
        stats.whiteouts_of_present += t.whiteouts_of_present;
        stats.whiteouts_in_missing_dirs += t.whiteouts_in_missing_dirs;
        stats.opaques += t.opaques;
        stats.root_opaques += t.root_opaques;
        stats.markers_after_entries += t.markers_after_entries;
        stats.symlinks += t.symlinks;
        stats.hardlinks += t.hardlinks;
        stats.hardlinks_across_layers += t.hardlinks_across_layers;
    }
    layers
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(Config { cases: cases(), ..Config::default() })]

    #[test]
    fn merged_tree_and_sizes_match_reference(ops in stack_ops()) {
        let layers = sanitize(&ops, None);
        match check_case(&layers) {
            Ok(()) => {}
            Err(Fail::Domain(e)) => prop_assert!(
                false,
                "the sanitizer left the oracle's domain: {e}\n{}",
                describe(&layers)
            ),
            Err(Fail::Mismatch(e)) => {
                prop_assert!(false, "pyslim differs from the reference:\n{}{e}", describe(&layers))
            }
        }
    }
}

/// The strategy must reach every feature the property is about; a strategy that never makes
/// a hardlink across layers would pass the property without testing it.
#[test]
fn strategy_reaches_every_feature() {
    let mut runner = TestRunner::deterministic();
    let mut stats = Stats::default();
    for _ in 0..300 {
        let ops = stack_ops()
            .new_tree(&mut runner)
            .expect("generate")
            .current();
        sanitize(&ops, Some(&mut stats));
    }
    for (what, n, min) in [
        ("empty layers", stats.empty_layers, 5),
        ("overwrites", stats.overwrites, 100),
        ("kind changes", stats.kind_changes, 50),
        ("whiteouts of present paths", stats.whiteouts_of_present, 50),
        (
            "whiteouts in missing dirs",
            stats.whiteouts_in_missing_dirs,
            5,
        ),
        ("opaque dirs", stats.opaques, 30),
        ("root opaque dirs", stats.root_opaques, 3),
        ("markers after entries", stats.markers_after_entries, 30),
        ("symlinks", stats.symlinks, 50),
        ("hardlinks", stats.hardlinks, 50),
        ("hardlinks across layers", stats.hardlinks_across_layers, 20),
    ] {
        assert!(
            n >= min,
            "strategy made only {n} {what} (want ≥ {min}): {stats:?}"
        );
    }
}
