//! Reference oracle for the merged layer tree: hand-written stacks and random stacks drawn
//! from a seed, checked against a reference that really extracts the layer tars (see
//! `tests/common/oracle/` for what the reference does and where its domain ends).
//! `proptest_stacks.rs` checks shrinkable proptest stacks from the same generator against the
//! same reference.

use pyslim::core::image::Compression;
use pyslim::source::writer::{layer_tar, Content, LayerSpec, SpecEntry, SpecKind};

use crate::common::oracle::random::{random_case, Stats};
use crate::common::oracle::{
    check_case, check_case_with, describe, reference, Fail, Kind, RefOptions, DEFAULT_REF,
};

/// Removes layers and entries while the case keeps failing (and stays in the domain).
fn shrink(mut layers: Vec<LayerSpec>, mut msg: String) -> (Vec<LayerSpec>, String) {
    loop {
        let mut candidates: Vec<Vec<LayerSpec>> = Vec::new();
        for i in 0..layers.len() {
            if layers.len() > 1 {
                let mut c = layers.clone();
                c.remove(i);
                candidates.push(c);
            }
        }
        for i in 0..layers.len() {
            for j in 0..layers[i].entries.len() {
                let mut c = layers.clone();
                c[i].entries.remove(j);
                candidates.push(c);
            }
        }
        for i in 0..layers.len() {
            if layers[i].compression != Compression::None {
                let mut c = layers.clone();
                c[i].compression = Compression::None;
                candidates.push(c);
            }
        }
        let found = candidates.into_iter().find_map(|c| match check_case(&c) {
            Err(Fail::Mismatch(m)) => Some((c, m)),
            _ => None,
        });
        match found {
            Some((c, m)) => {
                layers = c;
                msg = m;
            }
            None => return (layers, msg),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-written cases.

fn layer(entries: Vec<SpecEntry>) -> LayerSpec {
    LayerSpec::new("RUN step", entries)
}

fn f(p: &str, size: u64) -> SpecEntry {
    SpecEntry::file(p, size)
}

fn compressed(mut layers: Vec<LayerSpec>) -> Vec<LayerSpec> {
    for (i, l) in layers.iter_mut().enumerate() {
        l.compression = [Compression::None, Compression::Gzip, Compression::Zstd][i % 3];
    }
    layers
}

fn hand_written() -> Vec<(&'static str, Vec<LayerSpec>)> {
    use SpecEntry as E;
    let cases = vec![
        (
            "overwrite across layers",
            vec![
                layer(vec![E::dir("a"), f("a/x", 100), f("a/y", 50)]),
                layer(vec![f("a/x", 200)]),
                layer(vec![f("a/x", 10), f("a/y", 60)]),
            ],
        ),
        (
            "delete a file",
            vec![
                layer(vec![f("a/x", 100), f("a/y", 7)]),
                layer(vec![E::whiteout("a/x")]),
            ],
        ),
        (
            "delete a directory with contents",
            vec![
                layer(vec![
                    E::dir("d"),
                    f("d/x", 10),
                    E::dir("d/e"),
                    f("d/e/f", 20),
                    f("d/e/g", 30),
                    f("keep", 1),
                ]),
                layer(vec![E::whiteout("d")]),
            ],
        ),
        (
            "opaque dir, then some children re-added in the same layer",
            vec![
                layer(vec![
                    f("d/x", 10),
                    f("d/y", 20),
                    f("d/s/t", 30),
                    f("other/z", 5),
                ]),
                layer(vec![
                    E::opaque("d"),
                    f("d/x", 15),
                    E::dir("d/s"),
                    f("d/new", 3),
                ]),
            ],
        ),
        (
            "opaque marker after the entries it must not hide",
            vec![
                layer(vec![f("d/x", 10), f("d/y", 20)]),
                layer(vec![f("d/x", 15), E::opaque("d")]),
            ],
        ),
        (
            "opaque on a directory that does not exist yet",
            vec![layer(vec![f("x", 1)]), layer(vec![E::opaque("new/dir")])],
        ),
        (
            "opaque root",
            vec![
                layer(vec![f("a/x", 10), f("b", 20)]),
                layer(vec![E::opaque(""), f("c", 5)]),
            ],
        ),
        (
            "whiteout and re-add of the same path in one layer",
            vec![
                layer(vec![f("p", 100), f("q/a", 10), f("q/b", 20)]),
                layer(vec![
                    E::whiteout("p"),
                    f("p", 40),
                    E::whiteout("q"),
                    f("q/a", 11),
                ]),
            ],
        ),
        (
            "whiteout placed after the re-add in the tar",
            vec![
                layer(vec![f("p", 100), f("q/a", 10)]),
                layer(vec![
                    f("p", 40),
                    f("q/b", 1),
                    E::whiteout("p"),
                    E::whiteout("q"),
                ]),
            ],
        ),
        (
            "file replaced by a dir, dir replaced by a file",
            vec![
                layer(vec![
                    f("f", 10),
                    E::dir("d"),
                    f("d/x", 20),
                    f("d/sub/y", 30),
                ]),
                layer(vec![E::dir("f"), f("f/c", 5), f("d", 7)]),
                layer(vec![f("f", 3), E::dir("d"), f("d/x", 2)]),
            ],
        ),
        (
            "a dir replaced by a file and a file again in one layer",
            vec![
                layer(vec![f("d/x", 20)]),
                layer(vec![f("d", 7), E::dir("d"), f("d/y", 1), f("d", 9)]),
            ],
        ),
        (
            "hardlinks within a layer",
            vec![layer(vec![
                f("bin/python3.12", 1000),
                E::hardlink("bin/python3", "bin/python3.12"),
                E::hardlink("bin/python", "bin/python3"),
            ])],
        ),
        (
            "hardlink whose target is later deleted",
            vec![
                layer(vec![f("a", 100), E::hardlink("b", "a")]),
                layer(vec![E::whiteout("a")]),
                layer(vec![f("c", 1)]),
            ],
        ),
        (
            "hardlink to a lower layer's file, then both sides rewritten",
            vec![
                layer(vec![f("lib/x.so", 300)]),
                layer(vec![E::hardlink("lib/y.so", "lib/x.so")]),
                layer(vec![f("lib/x.so", 50)]),
                layer(vec![E::whiteout("lib/y.so")]),
            ],
        ),
        (
            "hardlink target overwritten later in the same layer",
            vec![layer(vec![f("a", 100), E::hardlink("b", "a"), f("a", 30)])],
        ),
        (
            "hardlink at a path whited out in the same layer",
            vec![
                layer(vec![f("a", 100), f("b", 5)]),
                layer(vec![E::whiteout("b"), E::hardlink("b", "a")]),
            ],
        ),
        (
            "symlinks, including a loop",
            vec![
                layer(vec![
                    E::symlink("a", "b"),
                    E::symlink("b", "a"),
                    E::dir("etc"),
                    f("etc/passwd", 30),
                    E::symlink("c", "/etc/passwd"),
                ]),
                layer(vec![E::symlink("c", "x"), E::symlink("self", "self")]),
            ],
        ),
        (
            "symlink replaced by a dir, dir replaced by a symlink, whiteout of a symlink",
            vec![
                layer(vec![
                    E::symlink("s", "d"),
                    f("d/x", 10),
                    f("t", 5),
                    E::symlink("u", "t"),
                ]),
                layer(vec![
                    E::dir("s"),
                    f("s/y", 3),
                    E::symlink("d", "s"),
                    E::whiteout("u"),
                ]),
            ],
        ),
        (
            "whiteout of paths that never existed",
            vec![
                layer(vec![f("x", 10), E::dir("dir")]),
                layer(vec![
                    E::whiteout("nope"),
                    E::whiteout("dir/nope"),
                    f("y", 1),
                ]),
            ],
        ),
        (
            "implicit parent directories",
            vec![
                layer(vec![f("usr/lib/python3/site-packages/x.py", 100)]),
                layer(vec![
                    f("usr/lib/python3/site-packages/y.py", 50),
                    f("usr/share/doc/z", 1),
                ]),
            ],
        ),
        (
            "an empty layer between two",
            vec![
                layer(vec![f("a", 10)]),
                layer(vec![]),
                layer(vec![f("a", 20)]),
            ],
        ),
        (
            "the same file twice in one layer",
            vec![layer(vec![f("a", 10), f("a", 20)])],
        ),
        (
            "bigger files and noise content",
            vec![
                layer(vec![SpecEntry::new(
                    "n",
                    SpecKind::File(Content::Noise {
                        size: 70_000,
                        seed: 3,
                    }),
                )]),
                layer(vec![SpecEntry::new(
                    "n",
                    SpecKind::File(Content::Noise { size: 1, seed: 4 }),
                )]),
            ],
        ),
    ];
    cases.into_iter().map(|(n, l)| (n, compressed(l))).collect()
}

#[test]
fn reference_extracts_what_docker_would() {
    // A sanity check of the reference itself, against a result worked out by hand.
    use SpecEntry as E;
    let layers = [
        layer(vec![
            f("d/x", 10),
            f("d/y", 20),
            f("k", 4),
            E::hardlink("h", "k"),
            E::symlink("s", "d"),
        ]),
        layer(vec![
            E::opaque("d"),
            f("d/z", 1),
            E::whiteout("k"),
            f("s", 2),
        ]),
    ];
    let tars: Vec<Vec<u8>> = layers.iter().map(|l| layer_tar(l).unwrap()).collect();
    let got = reference(&tars, DEFAULT_REF).unwrap();
    let summary: Vec<(String, Kind, u64)> = got
        .view
        .iter()
        .map(|(p, o)| (p.clone(), o.kind, o.size))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("d".into(), Kind::Dir, 0),
            ("d/z".into(), Kind::File, 1),
            ("h".into(), Kind::File, 4),
            ("s".into(), Kind::File, 2),
        ]
    );
    assert_eq!((got.bytes, got.files, got.dirs), (7, 3, 1));
}

#[test]
fn hand_written_cases_match_reference() {
    let mut failures = Vec::new();
    for (name, layers) in hand_written() {
        match check_case(&layers) {
            Ok(()) => {}
            Err(Fail::Domain(e)) => failures.push(format!(
                "case {name:?} is outside the oracle's domain: {e}\n{}",
                describe(&layers)
            )),
            Err(Fail::Mismatch(e)) => {
                failures.push(format!("case {name:?}:\n{}{e}", describe(&layers)))
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Random stacks.

#[test]
fn random_stacks_match_reference() {
    let mut stats = Stats::default();
    let mut failures = Vec::new();
    // ORACLE_CASES=5000 for a longer hunt.
    let cases: u64 = std::env::var("ORACLE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    for seed in 1..=cases {
        let layers = random_case(seed, &mut stats);
        match check_case(&layers) {
            Ok(()) => {}
            Err(Fail::Domain(e)) => failures.push(format!(
                "seed {seed}: generator left the oracle's domain: {e}\n{}",
                describe(&layers)
            )),
            Err(Fail::Mismatch(e)) => {
                let (small, msg) = shrink(layers.clone(), e);
                failures.push(format!(
                    "seed {seed}: minimal failing stack:\n{}{msg}",
                    describe(&small)
                ));
            }
        }
        if failures.len() >= 5 {
            break;
        }
    }
    assert!(
        failures.is_empty(),
        "{} random case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    eprintln!(
        "oracle: {} cases, {} layers ({} empty), {} files, {} overwrites ({} kind changes), {} whiteouts ({} of present paths), \
         {} opaque dirs ({} root), {} markers after entries, {} symlinks, {} hardlinks ({} across layers)",
        stats.cases,
        stats.layers,
        stats.empty_layers,
        stats.files,
        stats.overwrites,
        stats.kind_changes,
        stats.whiteouts,
        stats.whiteouts_of_present,
        stats.opaques,
        stats.root_opaques,
        stats.markers_after_entries,
        stats.symlinks,
        stats.hardlinks,
        stats.hardlinks_across_layers
    );
    // The generator must actually exercise each feature.
    for (what, n, min) in [
        ("empty layers", stats.empty_layers, 5),
        ("overwrites", stats.overwrites, 100),
        ("kind changes", stats.kind_changes, 50),
        ("whiteouts of present paths", stats.whiteouts_of_present, 50),
        ("opaque dirs", stats.opaques, 30),
        ("markers after entries", stats.markers_after_entries, 30),
        ("symlinks", stats.symlinks, 50),
        ("hardlinks", stats.hardlinks, 50),
        ("hardlinks across layers", stats.hardlinks_across_layers, 20),
    ] {
        assert!(n >= min, "generator made only {n} {what} (want ≥ {min})");
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions: divergences the oracle found, fixed in pyslim, kept as cases.

/// Was a pyslim bug: a whiteout whose directory does not exist was ignored, but Docker
/// (moby pkg/archive UnpackLayer: "ensure that the parent directory exists", done for every
/// entry, whiteouts included) and containerd (mkparent before convertWhiteout) create that
/// directory, so the container shows an empty `d/`. pyslim's tree has no `d` at all.
/// Opaque markers are handled the Docker way already (the dir is created): only `.wh.NAME`
/// markers are affected. Minimal stack, one layer: `d/.wh.x` (nothing else).
#[test]
fn whiteout_in_missing_dir_creates_the_dir() {
    let docker = RefOptions {
        docker_whiteout_parents: true,
    };
    let cases = [
        vec![layer(vec![SpecEntry::whiteout("d/x")])],
        vec![
            layer(vec![f("a", 10)]),
            layer(vec![SpecEntry::whiteout("d/e/x")]),
        ],
    ];
    for layers in cases {
        if let Err(e) = check_case_with(&layers, docker) {
            panic!("{}{e:?}", describe(&layers));
        }
    }
}
