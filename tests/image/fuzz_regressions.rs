//! Replays, on the stable toolchain and without libFuzzer, every input the fuzz targets keep:
//! the minimized corpora (`fuzz/corpus/<target>/`) and the inputs that once crashed
//! (`tests/fuzz-regressions/<target>/`), through the same harness the targets call
//! (`pyslim::fuzzing::check`): no panic, and an error, if any, is one line.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use pyslim::fuzzing::{check, seeds, Target};

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = read
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs one input; a panic becomes a line naming the file.
fn replay(target: Target, name: &str, data: &[u8]) -> Option<String> {
    catch_unwind(AssertUnwindSafe(|| check(target, data)))
        .err()
        .map(|p| {
            let why = p
                .downcast_ref::<String>()
                .map(String::as_str)
                .or(p.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            format!("{}: {name}: {why}", target.name())
        })
}

fn replay_dir(target: Target, dir: &Path) -> (usize, Vec<String>) {
    let files = files_in(dir);
    let failures = files
        .iter()
        .filter_map(|path| {
            let data = std::fs::read(path).expect("read input");
            replay(target, &path.display().to_string(), &data)
        })
        .collect();
    (files.len(), failures)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn corpus_and_crash_inputs_run_cleanly() {
    let mut failures = Vec::new();
    let mut crashes = 0;
    for target in Target::ALL {
        let corpus = root().join("fuzz/corpus").join(target.name());
        let (count, f) = replay_dir(target, &corpus);
        // An empty corpus would make this test pass without running anything.
        assert!(count > 0, "{} is empty", corpus.display());
        failures.extend(f);
        let regressions = root().join("tests/fuzz-regressions").join(target.name());
        let (count, f) = replay_dir(target, &regressions);
        crashes += count;
        failures.extend(f);
    }
    eprintln!("replayed {crashes} inputs that once crashed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The seeds are valid images and layers: they must open without any error, or the corpus
/// starts the fuzzer outside the code it is meant to explore.
#[test]
fn seeds_are_valid_inputs() {
    for target in Target::ALL {
        let seeds = seeds(target).expect("write seeds");
        assert!(!seeds.is_empty(), "no seeds for {}", target.name());
        for (name, data) in seeds {
            let result = pyslim::fuzzing::run(target, &data);
            assert_eq!(result, Ok(()), "{}: seed {name}", target.name());
        }
    }
}
