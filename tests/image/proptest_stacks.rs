//! Property test: random layer stacks of adds, overwrites, deletions (whiteouts), opaque dirs,
//! hardlinks and symlinks, each written in every format pyslim reads, must give the merged
//! tree and the size figures of the reference oracle (`tests/common/oracle/`), which really
//! extracts the layer tars.
//!
//! Proptest generates plain operations; `oracle::random::stack`, the one generator (which
//! `oracle.rs` feeds from a seed instead), turns them into a stack inside the oracle's
//! domain. Shrinking works on the operations, so a failure ends as a few entries in a layer
//! or two.
//!
//! Default 256 cases (about 5 s in a debug build); `PROPTEST_CASES=2000` for a longer hunt.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

use pyslim::core::image::Compression;

use crate::common::oracle::random::{stack, Op, Stats, NAMES};
use crate::common::oracle::{check_case, describe, Fail};

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
        let layers = stack(&ops, &mut Stats::default());
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
        stack(&ops, &mut stats);
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
