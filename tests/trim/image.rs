//! Trimmed images from generated, real-shaped images (no daemon): the archive `pyslim trim
//! --decisions` writes is re-read with every layer hashed against its diff_id, and must show
//! exactly the original tree minus the removed paths, with hidden bytes and idle whiteouts
//! gone, a history entry added, and one layer when squashed.

use std::path::{Path, PathBuf};

use pyslim::core::entry::EntryKind;
use pyslim::core::trim_image::final_listing;
use pyslim::source::writer::ArchiveFormat;
use pyslim::source::{OpenOptions, ReadOptions, SourceChoice};
use pyslim::{Image, Tree};

use crate::common;
use crate::common::trim_spec::{decisions, spec, SITE};

const ACCEPT: &[&str] = &[
    "pip-cache",
    "apt-lists",
    "python-package-tests",
    "python-stdlib-tests",
    "c-headers",
    "static-libraries",
];

/// Paths the accepted findings cover, said independently of pyslim's rules.
fn removed_by_accepted(path: &str) -> bool {
    path.starts_with("root/.cache/pip/")
        || path.starts_with("var/lib/apt/lists/")
        || path.starts_with(&format!("{SITE}/numpy/tests/"))
        || path.starts_with(&format!("{SITE}/numpy/core/tests/"))
        || path.starts_with("usr/lib/python3.11/test/")
        || path.starts_with("usr/include/")
        || path.ends_with(".a")
}

fn open_verified(path: &Path, source: SourceChoice) -> Image {
    pyslim::open(
        path.to_str().unwrap(),
        &OpenOptions {
            source,
            read: ReadOptions {
                verify_diff_ids: true,
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

struct Run {
    _dir: tempfile::TempDir,
    work: PathBuf,
    original: Image,
    out: std::process::Output,
}

fn trim(accept: &[&str], extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let tar = common::write_tar(dir.path(), "t.tar", &spec(), ArchiveFormat::DockerLegacy);
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    std::fs::write(work.join("d.toml"), decisions(accept)).unwrap();
    let out = common::pyslim()
        .current_dir(&work)
        .arg("trim")
        .arg(&tar)
        .args(["--decisions", "d.toml", "-o", "out"])
        .args(extra)
        .env("SOURCE_DATE_EPOCH", "1714521600")
        .output()
        .unwrap();
    let original = common::open(&tar).unwrap();
    Run {
        _dir: dir,
        work,
        original,
        out,
    }
}

fn listing(image: &Image) -> Vec<(String, EntryKind, u64)> {
    final_listing(&Tree::build(&image.layers), None)
}

/// The entry names of each layer tar in a docker-archive, as written (no normalising).
fn layer_tar_names(archive: &Path) -> Vec<Vec<String>> {
    use std::io::Read;
    let read_member = |name: &str| -> Vec<u8> {
        let mut outer = tar::Archive::new(std::fs::File::open(archive).unwrap());
        for e in outer.entries().unwrap() {
            let mut e = e.unwrap();
            if e.path().unwrap().to_string_lossy() == name {
                let mut buf = Vec::new();
                e.read_to_end(&mut buf).unwrap();
                return buf;
            }
        }
        panic!("no {name} in {}", archive.display())
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&read_member("manifest.json")).unwrap();
    manifest[0]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let data = read_member(l.as_str().unwrap());
            let mut layer = tar::Archive::new(data.as_slice());
            layer
                .entries()
                .unwrap()
                .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
                .collect()
        })
        .collect()
}

fn every_layer_path(image: &Image) -> Vec<(usize, String)> {
    image
        .layers
        .iter()
        .flat_map(|l| {
            l.changes
                .entries
                .iter()
                .map(move |e| (l.index, e.path.clone()))
        })
        .collect()
}

#[test]
fn the_trimmed_archive_shows_the_original_tree_minus_the_accepted_paths() {
    let run = trim(ACCEPT, &[]);
    assert!(
        run.out.status.success(),
        "{}",
        String::from_utf8_lossy(&run.out.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.out.stdout);
    assert!(
        stdout.contains("wrote out.tar (docker-archive, 5 layers, digests checked)"),
        "{stdout}"
    );
    let trimmed = open_verified(&run.work.join("out.tar"), SourceChoice::DockerArchive);

    let before = listing(&run.original);
    let want: Vec<_> = before
        .iter()
        .filter(|(p, _, _)| !removed_by_accepted(p))
        .cloned()
        .collect();
    // Two pip-cache files, the apt list, two test files each from numpy and the stdlib, a
    // header and a static library.
    assert_eq!(before.len() - want.len(), 9);
    assert_eq!(listing(&trimmed), want);
    // The removed paths are gone from every layer that carried them (the pip cache was in two).
    for (layer, path) in every_layer_path(&trimmed) {
        assert!(
            !removed_by_accepted(&path),
            "layer {layer} still has {path}"
        );
    }
    // Bytes later layers hid are gone: the base layer's os.py, the build log, the .deb.
    let base: Vec<&str> = trimmed.layers[0]
        .changes
        .entries
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    assert!(!base.contains(&"usr/lib/python3.11/os.py"), "{base:?}");
    let apt: Vec<&str> = trimmed.layers[1]
        .changes
        .entries
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    assert!(
        !apt.contains(&"tmp/build.log") && !apt.contains(&"var/cache/apt/archives/gcc.deb"),
        "{apt:?}"
    );
    // Whiteouts with nothing left to hide go too; the cleanup layer keeps only its own file.
    let cleanup = &trimmed.layers[4].changes;
    assert!(
        cleanup.whiteouts.is_empty() && cleanup.opaque_dirs.is_empty(),
        "{cleanup:?}"
    );
    assert_eq!(
        cleanup
            .entries
            .iter()
            .map(|e| e.path.as_str())
            .collect::<Vec<_>>(),
        ["var/cache/apt/archives/lock"]
    );
    let (_, analysis) = common::analysis_of(&trimmed);
    assert_eq!(analysis.totals.wasted_bytes, 0);
    // The directories the rules name go once empty (an empty numpy/tests would still
    // import, as a namespace package); the directories around them stay.
    let tree = Tree::build(&trimmed.layers);
    let visible = |p: &str| tree.lookup(p).is_some_and(|n| tree.is_visible(n));
    assert!(!visible(&format!("{SITE}/numpy/tests")));
    assert!(!visible("root/.cache/pip"));
    assert!(visible("root/.cache") && visible(&format!("{SITE}/numpy/core")));
    // The hardlink and its target survive together.
    let tool = tree.lookup("usr/bin/tool").unwrap();
    assert_eq!(tree.final_state(tool).unwrap().size, 5_000);
    // Config and history are kept; one entry says what pyslim removed.
    assert_eq!(trimmed.config.cmd, run.original.config.cmd);
    assert_eq!(trimmed.config.env, run.original.config.env);
    assert_eq!(trimmed.history.len(), run.original.history.len() + 1);
    assert_eq!(
        &trimmed.history[..run.original.history.len()],
        &run.original.history[..]
    );
    let added = trimmed.history.last().unwrap();
    assert!(added.empty_layer);
    assert_eq!(added.created.as_deref(), Some("2024-05-01T00:00:00Z"));
    assert!(
        added.created_by.starts_with("pyslim trim: removed "),
        "{}",
        added.created_by
    );
    assert!(
        added.created_by.contains("pip-cache"),
        "{}",
        added.created_by
    );
    // Diff_ids were checked on the way in (verify); layers stayed paired with their history.
    for (a, b) in trimmed.layers.iter().zip(&run.original.layers) {
        assert_eq!(a.instruction(), b.instruction());
    }
    // The report gives sizes by category and by layer.
    // Before and after by category: every cache goes.
    assert!(
        stdout.contains("by category:               before        after      removed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  caches              128.12 KiB          0 B   128.12 KiB  3 paths"),
        "{stdout}"
    );
    assert!(stdout.contains("by layer:"), "{stdout}");
    // The same summary is in the report.
    let md = std::fs::read_to_string(run.work.join("out.md")).unwrap();
    let summary = &stdout[stdout.find("file bytes in layers:").unwrap()..];
    assert!(md.contains("\n## Trimmed image\n"), "{md}");
    assert!(md.contains(summary), "{md}");
}

#[test]
fn squashed_it_is_one_layer_with_the_same_tree() {
    let plain = trim(ACCEPT, &[]);
    let squashed = trim(ACCEPT, &["--squash"]);
    assert!(
        squashed.out.status.success(),
        "{}",
        String::from_utf8_lossy(&squashed.out.stderr)
    );
    let a = open_verified(&plain.work.join("out.tar"), SourceChoice::DockerArchive);
    let b = open_verified(&squashed.work.join("out.tar"), SourceChoice::DockerArchive);
    assert_eq!(b.layers.len(), 1);
    // One tar names each path once: Docker refuses duplicates ("duplicates of file paths").
    let names = layer_tar_names(&squashed.work.join("out.tar"));
    assert_eq!(names.len(), 1);
    let unique: std::collections::BTreeSet<_> = names[0].iter().collect();
    assert_eq!(unique.len(), names[0].len(), "{:?}", names[0]);
    assert!(names[0].iter().any(|n| n == "usr"), "{:?}", names[0]);
    assert!(b.layers[0].changes.whiteouts.is_empty() && b.layers[0].changes.opaque_dirs.is_empty());
    assert_eq!(listing(&b), listing(&a));
    // Every earlier step now made no layer; the squash step made the one.
    let made: Vec<_> = b.history.iter().filter(|h| !h.empty_layer).collect();
    assert_eq!(made.len(), 1);
    assert!(
        made[0].created_by.ends_with("squashed into one layer"),
        "{}",
        made[0].created_by
    );
}

#[test]
fn the_oci_format_reads_back_the_same_from_both_of_its_indexes() {
    let docker = trim(ACCEPT, &[]);
    let oci = trim(ACCEPT, &["--format", "oci"]);
    assert!(
        oci.out.status.success(),
        "{}",
        String::from_utf8_lossy(&oci.out.stderr)
    );
    let a = open_verified(&docker.work.join("out.tar"), SourceChoice::DockerArchive);
    let via_manifest = open_verified(&oci.work.join("out.tar"), SourceChoice::DockerArchive);
    let via_index = open_verified(&oci.work.join("out.tar"), SourceChoice::Oci);
    assert_eq!(listing(&via_manifest), listing(&a));
    assert_eq!(listing(&via_index), listing(&a));
    // Same bytes, same diff_ids, same image id.
    assert_eq!(via_index.id, a.id);
    let ids = |i: &Image| {
        i.layers
            .iter()
            .map(|l| l.diff_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&via_index), ids(&a));
}

#[test]
fn never_over_an_existing_archive_without_force() {
    let run = trim(ACCEPT, &[]);
    assert!(run.out.status.success());
    let again = |extra: &[&str]| {
        common::pyslim()
            .current_dir(&run.work)
            .arg("trim")
            .arg(run._dir.path().join("t.tar"))
            .args(["--decisions", "d.toml", "-o", "out.tar"])
            .args(extra)
            .env("SOURCE_DATE_EPOCH", "1714521600")
            .output()
            .unwrap()
    };
    // Without --force nothing is written over: the archive refuses (the session's files
    // already say what this run would write, and are left as they are).
    let archive = std::fs::read(run.work.join("out.tar")).unwrap();
    let report = std::fs::read(run.work.join("out.md")).unwrap();
    let refused = again(&[]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim_end(),
        "pyslim: out.tar exists; pyslim never writes over a file unless --force: choose another prefix with -o"
    );
    assert_eq!(std::fs::read(run.work.join("out.md")).unwrap(), report);
    assert_eq!(std::fs::read(run.work.join("out.tar")).unwrap(), archive);
    // With --force the archive is written again: the same bytes but for the history time.
    let forced = again(&["--force"]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    let rewritten = open_verified(&run.work.join("out.tar"), SourceChoice::DockerArchive);
    assert_eq!(
        listing(&rewritten),
        listing(&open_verified(
            &run.work.join("out.tar"),
            SourceChoice::Auto
        ))
    );
    let leftovers: Vec<_> = std::fs::read_dir(&run.work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert_eq!(
        leftovers,
        Vec::<String>::new(),
        "staging files are cleaned up"
    );
}

#[test]
fn a_whiteout_stays_while_a_kept_entry_below_still_needs_hiding() {
    // The base layer's tool-real is deleted later, but its bytes live on through a hardlink,
    // so its entry stays in the base layer and the whiteout must stay to hide the name.
    let spec = pyslim::source::writer::ImageSpec::new(
        "t/hardlink:1",
        vec![
            pyslim::source::writer::LayerSpec::new(
                "/bin/sh -c #(nop) ADD file:base in / ",
                vec![
                    pyslim::source::writer::SpecEntry::file("usr/bin/tool-real", 5_000),
                    pyslim::source::writer::SpecEntry::hardlink(
                        "usr/bin/tool",
                        "usr/bin/tool-real",
                    ),
                    pyslim::source::writer::SpecEntry::file("usr/bin/old", 7_000),
                ],
            ),
            pyslim::source::writer::LayerSpec::new(
                "/bin/sh -c rm /usr/bin/tool-real /usr/bin/old",
                vec![
                    pyslim::source::writer::SpecEntry::whiteout("usr/bin/tool-real"),
                    pyslim::source::writer::SpecEntry::whiteout("usr/bin/old"),
                ],
            ),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let tar = common::write_tar(dir.path(), "t.tar", &spec, ArchiveFormat::DockerLegacy);
    std::fs::write(dir.path().join("d.toml"), "").unwrap();
    let out = common::pyslim()
        .current_dir(dir.path())
        .arg("trim")
        .arg(&tar)
        .args(["--decisions", "d.toml", "-o", "out"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let original = common::open(&tar).unwrap();
    let trimmed = open_verified(&dir.path().join("out.tar"), SourceChoice::DockerArchive);
    assert_eq!(listing(&trimmed), listing(&original));
    let base: Vec<&str> = trimmed.layers[0]
        .changes
        .entries
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(
        base,
        ["usr/bin/tool-real", "usr/bin/tool"],
        "old's hidden bytes go"
    );
    assert_eq!(trimmed.layers[1].changes.whiteouts, ["usr/bin/tool-real"]);
}

#[test]
fn a_removed_file_a_kept_hardlink_shares_stays() {
    let dir = tempfile::tempdir().unwrap();
    let tar = common::write_tar(dir.path(), "t.tar", &spec(), ArchiveFormat::DockerLegacy);
    let image = common::open(&tar).unwrap();
    let tree = Tree::build(&image.layers);
    let pick = |paths: &[&str]| {
        let mut chosen = vec![false; tree.nodes.len()];
        for p in paths {
            chosen[tree.lookup(p).unwrap() as usize] = true;
        }
        pyslim::core::trim_image::plan_removal(&image, &tree, &chosen)
    };
    let target = tree.lookup("usr/bin/tool-real").unwrap() as usize;
    let plan = pick(&["usr/bin/tool-real"]);
    assert!(!plan.removed[target]);
    assert_eq!(
        plan.notes,
        ["kept usr/bin/tool-real: a kept hardlink shares its content"]
    );
    let both = pick(&["usr/bin/tool-real", "usr/bin/tool"]);
    assert!(both.removed[target] && both.notes.is_empty());
    assert_eq!(both.layers[0].removed_bytes, 5_000);
}

#[test]
fn no_image_writes_only_the_session_files() {
    let run = trim(ACCEPT, &["--no-image"]);
    assert!(
        run.out.status.success(),
        "{}",
        String::from_utf8_lossy(&run.out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&run.work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["d.toml", "out.decisions.toml", "out.md"]);
}
