//! The xorshift random stack generator of `tests/oracle.rs`: a model of what is on disk keeps
//! every stack inside the oracle's domain. Cases are named by seed; they do not shrink (see
//! `tests/proptest_stacks.rs` for stacks that do).

use std::collections::BTreeMap;

use pyslim::core::image::Compression;
use pyslim::source::writer::{Content, LayerSpec, SpecEntry, SpecKind};

use super::{at_or_under, join, split_parent, strictly_under};

pub struct Rng(u64);

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
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// What the generator believes is on disk, to keep stacks in the oracle's domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum M {
    Dir,
    File,
    Symlink,
}

#[derive(Default)]
pub struct Stats {
    pub cases: u64,
    pub layers: u64,
    pub empty_layers: u64,
    pub files: u64,
    pub overwrites: u64,
    pub kind_changes: u64,
    pub whiteouts: u64,
    pub whiteouts_of_present: u64,
    pub opaques: u64,
    pub root_opaques: u64,
    pub markers_after_entries: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    pub hardlinks_across_layers: u64,
}

pub struct Gen {
    rng: Rng,
    model: BTreeMap<String, M>,
    /// Layer that wrote each file in the model (for the hardlink statistics).
    written_in: BTreeMap<String, usize>,
}

pub const NAMES: [&str; 3] = ["a", "b", "c"];

impl Gen {
    fn random_path(&mut self) -> String {
        let depth = match self.rng.below(10) {
            0..=2 => 1,
            3..=6 => 2,
            _ => 3,
        };
        (0..depth)
            .map(|_| *self.rng.pick(&NAMES))
            .collect::<Vec<_>>()
            .join("/")
    }

    fn existing_or_random(&mut self, percent_existing: u64) -> String {
        if !self.model.is_empty() && self.rng.chance(percent_existing) {
            let keys: Vec<&String> = self.model.keys().collect();
            (*self.rng.pick(&keys)).clone()
        } else {
            self.random_path()
        }
    }

    /// Every existing component of `dir` (and `dir`) is a directory.
    fn chain_ok(&self, dir: &str) -> bool {
        if dir.is_empty() {
            return true;
        }
        let mut cur = String::new();
        for part in dir.split('/') {
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
        if dir.is_empty() {
            return;
        }
        let mut cur = String::new();
        for part in dir.split('/') {
            cur = join(&cur, part);
            self.model.entry(cur.clone()).or_insert(M::Dir);
        }
    }

    fn remove_tree(&mut self, p: &str) {
        self.model.retain(|k, _| !at_or_under(k, p));
        self.written_in.retain(|k, _| !at_or_under(k, p));
    }

    fn remove_children(&mut self, d: &str) {
        self.model.retain(|k, _| !strictly_under(k, d));
        self.written_in.retain(|k, _| !strictly_under(k, d));
    }

    fn layer(&mut self, index: usize, stats: &mut Stats) -> LayerSpec {
        // Markers first: they act on the layers below.
        let mut markers: Vec<SpecEntry> = Vec::new();
        let mut zones: Vec<(String, String, bool)> = Vec::new(); // (marker dir, removed zone, opaque)
        let n_markers = if self.rng.chance(if index == 0 { 10 } else { 55 }) {
            1 + self.rng.below(3)
        } else {
            0
        };
        for _ in 0..n_markers {
            let opaque = self.rng.chance(30);
            let (dir, zone) = if opaque {
                let d = if self.rng.chance(8) {
                    String::new()
                } else {
                    self.existing_or_random(70)
                };
                if !matches!(self.model.get(&d), None | Some(M::Dir))
                    || !self.chain_ok(split_parent(&d).0)
                {
                    continue;
                }
                (d.clone(), d)
            } else {
                let w = self.existing_or_random(75);
                let dir = split_parent(&w).0.to_owned();
                // The directory must exist: pyslim diverges otherwise (see the bug test).
                if !(dir.is_empty() || self.model.get(&dir) == Some(&M::Dir)) {
                    continue;
                }
                (dir, w)
            };
            let conflict = zones.iter().any(|(d, z, o)| {
                let new_in_old = if *o {
                    strictly_under(&dir, z)
                } else {
                    at_or_under(&dir, z)
                };
                let old_in_new = if opaque {
                    strictly_under(d, &zone)
                } else {
                    at_or_under(d, &zone)
                };
                new_in_old || old_in_new
            });
            if conflict {
                continue;
            }
            zones.push((dir, zone, opaque));
        }
        for (dir, zone, opaque) in &zones {
            self.mk_chain(dir);
            if *opaque {
                stats.opaques += 1;
                stats.root_opaques += zone.is_empty() as u64;
                self.remove_children(zone);
                markers.push(SpecEntry::opaque(zone));
            } else {
                stats.whiteouts += 1;
                stats.whiteouts_of_present += self.model.contains_key(zone) as u64;
                self.remove_tree(zone);
                markers.push(SpecEntry::whiteout(zone));
            }
        }

        let mut entries: Vec<SpecEntry> = Vec::new();
        let n = if index == 0 {
            1 + self.rng.below(8)
        } else {
            self.rng.below(7)
        };
        for _ in 0..n {
            let p = self.existing_or_random(50);
            if !self.chain_ok(split_parent(&p).0) {
                continue;
            }
            let old = self.model.get(&p).copied();
            let roll = self.rng.below(100);
            // (entry, model kind, layer that wrote the bytes the path shows)
            let mut entry: Option<(SpecEntry, M, Option<usize>)> = match roll {
                0..=44 => None,
                45..=59 => Some((SpecEntry::dir(&p), M::Dir, None)),
                60..=74 => {
                    let target = match self.rng.below(4) {
                        0 => format!("/{}", self.random_path()),
                        1 => format!("../{}", self.random_path()),
                        _ => self.existing_or_random(50),
                    };
                    stats.symlinks += 1;
                    Some((SpecEntry::symlink(&p, &target), M::Symlink, None))
                }
                _ => {
                    let targets: Vec<String> = self
                        .model
                        .iter()
                        .filter(|(k, m)| **m == M::File && !at_or_under(k, &p))
                        .map(|(k, _)| k.clone())
                        .collect();
                    if targets.is_empty() {
                        None
                    } else {
                        let t = self.rng.pick(&targets).clone();
                        let from = self.written_in.get(&t).copied();
                        stats.hardlinks += 1;
                        stats.hardlinks_across_layers += (from != Some(index)) as u64;
                        Some((SpecEntry::hardlink(&p, &t), M::File, from))
                    }
                }
            };
            if entry.is_none() {
                let size = if self.rng.chance(10) {
                    0
                } else {
                    1 + self.rng.below(4096)
                };
                let seed = self.rng.next();
                let content = if self.rng.chance(50) {
                    Content::Noise { size, seed }
                } else {
                    Content::Pattern { size, seed }
                };
                stats.files += 1;
                entry = Some((
                    SpecEntry::new(&p, SpecKind::File(content)),
                    M::File,
                    Some(index),
                ));
            }
            let (entry, kind, from) = entry.expect("set above");
            self.mk_chain(split_parent(&p).0);
            if let Some(old) = old {
                stats.overwrites += 1;
                stats.kind_changes += (old != kind) as u64;
                if !(old == M::Dir && kind == M::Dir) {
                    self.remove_tree(&p);
                }
            }
            if let Some(from) = from {
                self.written_in.insert(p.clone(), from);
            }
            self.model.insert(p, kind);
            entries.push(entry);
        }

        // Scatter the markers through the tar, keeping their relative order.
        let mut positions: Vec<usize> = (0..markers.len())
            .map(|_| self.rng.below(entries.len() as u64 + 1) as usize)
            .collect();
        positions.sort_unstable();
        for (k, (pos, m)) in positions.into_iter().zip(markers).enumerate() {
            stats.markers_after_entries += (pos > 0) as u64;
            entries.insert(pos + k, m);
        }
        stats.layers += 1;
        stats.empty_layers += entries.is_empty() as u64;
        let mut spec = LayerSpec::new(&format!("RUN step {index}"), entries);
        spec.compression =
            *self
                .rng
                .pick(&[Compression::None, Compression::Gzip, Compression::Zstd]);
        spec
    }
}

pub fn random_case(seed: u64, stats: &mut Stats) -> Vec<LayerSpec> {
    let mut g = Gen {
        rng: Rng::new(seed),
        model: BTreeMap::new(),
        written_in: BTreeMap::new(),
    };
    let n = 2 + g.rng.below(5) as usize;
    stats.cases += 1;
    (0..n).map(|i| g.layer(i, stats)).collect()
}
