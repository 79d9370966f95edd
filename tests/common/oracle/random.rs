//! The one random layer-stack generator. Stacks start as plain operations (`Op`: add a file,
//! a directory, a symlink or a hardlink, white a path out, make a directory opaque), drawn
//! either by proptest (`tests/image/proptest_stacks.rs`, which shrinks a failure to a few
//! operations) or by a seeded xorshift (`random_case`, `tests/image/oracle.rs`, cases named
//! by seed). `stack` turns them into layers inside the oracle's domain: it drops the
//! operations a real extractor would refuse or do differently from another (a path below a
//! file, a hardlink to a missing file, markers whose effect depends on their order).

use std::collections::BTreeMap;

use pyslim::core::image::Compression;
use pyslim::source::writer::{Content, LayerSpec, SpecEntry, SpecKind};

use super::{at_or_under, join, split_parent, strictly_under};

/// Path names: few enough that operations collide often.
pub const NAMES: [&str; 3] = ["a", "b", "c"];

/// One operation in a layer, as drawn; `stack` decides whether it stays.
#[derive(Debug, Clone)]
pub enum Op {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum M {
    Dir,
    File,
    Symlink,
}

/// How often each feature made it into the stacks, to show a source of operations reaches
/// them all (a source that never makes a hardlink across layers would pass without testing it).
#[derive(Debug, Default)]
pub struct Stats {
    pub cases: u64,
    pub layers: u64,
    pub empty_layers: u64,
    pub files: u64,
    pub overwrites: u64,
    pub kind_changes: u64,
    pub whiteouts: u64,
    pub whiteouts_of_present: u64,
    pub whiteouts_in_missing_dirs: u64,
    pub opaques: u64,
    pub root_opaques: u64,
    pub markers_after_entries: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    pub hardlinks_across_layers: u64,
}

/// What is on disk after the layers so far, as the reference would extract them.
struct Sanitizer<'s> {
    model: BTreeMap<String, M>,
    /// Layer that wrote each file's bytes (for the statistics).
    written_in: BTreeMap<String, usize>,
    stats: &'s mut Stats,
}

impl Sanitizer<'_> {
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
                self.stats.whiteouts += 1;
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
                    self.stats.files += 1;
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
        self.stats.layers += 1;
        self.stats.empty_layers += entries.is_empty() as u64;
        let mut spec = LayerSpec::new(&format!("RUN step {index}"), entries);
        spec.compression = compression;
        spec
    }
}

/// The layer stack `ops` describe, inside the oracle's domain; `stats` counts what it holds.
pub fn stack(ops: &[(Vec<Op>, Compression)], stats: &mut Stats) -> Vec<LayerSpec> {
    stats.cases += 1;
    let mut s = Sanitizer {
        model: BTreeMap::new(),
        written_in: BTreeMap::new(),
        stats,
    };
    ops.iter()
        .enumerate()
        .map(|(i, (ops, c))| s.layer(i, ops, *c))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Seeded operations: the same weights as the proptest strategy, no shrinking.

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        for _ in 0..4 {
            r.next();
        }
        r
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// One to three of `NAMES`.
    fn path(&mut self) -> String {
        (0..1 + self.below(3))
            .map(|_| NAMES[self.below(NAMES.len() as u64) as usize])
            .collect::<Vec<_>>()
            .join("/")
    }
    /// Weighted as `op()` in tests/image/proptest_stacks.rs: 4 files, 2 dirs, 1 symlink,
    /// 2 hardlinks, 2 whiteouts, 1 opaque dir.
    fn op(&mut self) -> Op {
        match self.below(12) {
            0..=3 => Op::File {
                path: self.path(),
                size: self.below(3000) as u16,
                noise: self.chance(50),
            },
            4..=5 => Op::Dir { path: self.path() },
            6 => {
                let (path, style, t) = (self.path(), self.below(3), self.path());
                let target = match style {
                    0 => format!("/{t}"),
                    1 => format!("../{t}"),
                    _ => t,
                };
                Op::Symlink { path, target }
            }
            7..=8 => Op::Hardlink {
                path: self.path(),
                pick: self.next() as usize,
            },
            9..=10 => Op::Whiteout { path: self.path() },
            _ => Op::Opaque {
                dir: self.chance(80).then(|| self.path()),
            },
        }
    }
}

/// The operations of the case named `seed`: one to five layers of up to seven operations.
pub fn random_ops(seed: u64) -> Vec<(Vec<Op>, Compression)> {
    let mut rng = Rng::new(seed);
    (0..1 + rng.below(5))
        .map(|_| {
            let ops = (0..rng.below(8)).map(|_| rng.op()).collect();
            let compression =
                [Compression::None, Compression::Gzip, Compression::Zstd][rng.below(3) as usize];
            (ops, compression)
        })
        .collect()
}

/// The layer stack of the case named `seed`.
pub fn random_case(seed: u64, stats: &mut Stats) -> Vec<LayerSpec> {
    stack(&random_ops(seed), stats)
}
