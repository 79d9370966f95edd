//! Trimmed images from generated, real-shaped images (no daemon): the archive `pyslim trim
//! --decisions` writes is re-read with every layer hashed against its diff_id, and must show
//! exactly the original tree minus the removed paths, with hidden bytes and idle whiteouts
//! gone, a history entry added, and one layer when squashed. Safety checks refuse removals
//! that break the interpreter, a needed shared library, a required package or the
//! entrypoint.

mod common;

use std::path::{Path, PathBuf};

use pyslim::core::entry::EntryKind;
use pyslim::core::examine;
use pyslim::core::findings::RuleSet;
use pyslim::core::trim_image::safety::{self, Breakage};
use pyslim::core::trim_image::{final_listing, plan_removal};
use pyslim::source::writer::{ArchiveFormat, ImageSpec, LayerSpec, SpecEntry, SpecKind};
use pyslim::source::{OpenOptions, ReadOptions, SourceChoice};
use pyslim::{Image, Tree};

const SITE: &str = "opt/venv/lib/python3.11/site-packages";

/// A real ELF executable that needs libc.so.6: the host's `true`, else this test binary.
fn real_elf() -> Vec<u8> {
    for p in ["/usr/bin/true", "/bin/true"] {
        if let Ok(b) = std::fs::read(p) {
            if b.starts_with(b"\x7fELF") {
                return b;
            }
        }
    }
    std::fs::read(std::env::current_exe().unwrap()).unwrap()
}

/// A wheel installed the way pip installs it: files, METADATA, INSTALLER and a RECORD.
fn dist(name: &str, version: &str, requires: &[&str], files: &[(&str, u64)]) -> Vec<SpecEntry> {
    let info = format!("{SITE}/{name}-{version}.dist-info");
    let mut meta = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    for r in requires {
        meta.push_str(&format!("Requires-Dist: {r}\n"));
    }
    let mut record = String::new();
    let mut out = Vec::new();
    for (path, size) in files {
        out.push(SpecEntry::file(&format!("{SITE}/{path}"), *size));
        record.push_str(&format!("{path},sha256=x,{size}\n"));
    }
    for f in ["METADATA", "INSTALLER", "RECORD"] {
        record.push_str(&format!("{name}-{version}.dist-info/{f},,\n"));
    }
    out.push(SpecEntry::text(&format!("{info}/METADATA"), &meta));
    out.push(SpecEntry::text(&format!("{info}/INSTALLER"), "pip\n"));
    out.push(SpecEntry::text(&format!("{info}/RECORD"), &record));
    out
}

fn spec() -> ImageSpec {
    let elf = real_elf();
    let mut base = vec![
        SpecEntry::dir("usr"),
        SpecEntry::dir("usr/bin"),
        SpecEntry::new(
            "usr/bin/python3.11",
            SpecKind::File(pyslim::source::writer::Content::Bytes(elf)),
        )
        .with_mode(0o755),
        SpecEntry::symlink("usr/bin/python3", "python3.11"),
        SpecEntry::file("usr/lib/x86_64-linux-gnu/libc.so.6", 200_000),
        SpecEntry::file("usr/lib/python3.11/os.py", 3_000),
        SpecEntry::file("usr/lib/python3.11/test/test_os.py", 9_000),
        SpecEntry::file("usr/lib/python3.11/test/test_sys.py", 7_000),
        SpecEntry::text("etc/os-release", "ID=debian\nVERSION_ID=12\n"),
        SpecEntry::dir("tmp").with_mode(0o1777),
    ];
    base.push(SpecEntry::file("usr/bin/tool-real", 5_000).with_mode(0o755));
    base.push(SpecEntry::hardlink("usr/bin/tool", "usr/bin/tool-real"));
    let apt = vec![
        SpecEntry::file(
            "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
            90_000,
        ),
        SpecEntry::file("var/cache/apt/archives/gcc.deb", 60_000),
        SpecEntry::file("usr/include/python3.11/Python.h", 30_000),
        SpecEntry::file("usr/lib/x86_64-linux-gnu/libpython3.11.a", 100_000),
        SpecEntry::file("tmp/build.log", 8_000),
        SpecEntry::file("root/.cache/pip/selfcheck.json", 1_000),
    ];
    let mut pip = vec![
        SpecEntry::text(
            "opt/venv/pyvenv.cfg",
            "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n",
        ),
        SpecEntry::symlink("opt/venv/bin/python3", "/usr/bin/python3.11"),
        SpecEntry::symlink("opt/venv/bin/python", "python3"),
        SpecEntry::dir("root/.cache"),
        SpecEntry::dir("root/.cache/pip"),
        SpecEntry::dir(&format!("{SITE}/numpy/tests")),
        SpecEntry::file("root/.cache/pip/http/abc.body", 40_000),
        SpecEntry::file("root/.cache/pip/selfcheck.json", 1_200),
        // Overwrites the base layer's copy: those bytes are hidden.
        SpecEntry::file("usr/lib/python3.11/os.py", 3_500),
    ];
    pip.extend(dist(
        "flask",
        "3.0.3",
        &["Werkzeug>=3.0.0", "click>=8.1.3"],
        &[("flask/__init__.py", 2_000), ("flask/app.py", 60_000)],
    ));
    pip.extend(dist(
        "werkzeug",
        "3.0.4",
        &["MarkupSafe>=2.1.1"],
        &[
            ("werkzeug/__init__.py", 1_000),
            ("werkzeug/serving.py", 30_000),
        ],
    ));
    pip.extend(dist(
        "numpy",
        "1.26.4",
        &[],
        &[
            ("numpy/__init__.py", 4_000),
            (
                "numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
                80_000,
            ),
            ("numpy/tests/test_ufunc.py", 50_000),
            ("numpy/core/tests/test_multiarray.py", 70_000),
        ],
    ));
    let app = vec![SpecEntry::text("app/main.py", "import flask\n")];
    let cleanup = vec![
        SpecEntry::whiteout("tmp/build.log"),
        SpecEntry::opaque("var/cache/apt/archives"),
        SpecEntry::file("var/cache/apt/archives/lock", 0),
    ];
    let mut spec = ImageSpec::new(
        "t/trim-image:1",
        vec![
            LayerSpec::new("/bin/sh -c #(nop) ADD file:base in / ", base),
            LayerSpec::new(
                "/bin/sh -c apt-get update && apt-get install -y python3.11-dev",
                apt,
            ),
            LayerSpec::new(
                "/bin/sh -c python3 -m venv /opt/venv && pip install flask numpy",
                pip,
            ),
            LayerSpec::new("/bin/sh -c #(nop) COPY file:app in /app/main.py ", app),
            LayerSpec::new("/bin/sh -c rm -f /tmp/build.log && apt-get clean", cleanup),
        ],
    );
    spec.env = vec!["PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin".into()];
    spec.cmd = vec!["python3".into(), "/app/main.py".into()];
    spec
}

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

fn decisions(accept: &[&str]) -> String {
    accept
        .iter()
        .map(|f| format!("[[decision]]\nfinding = \"{f}\"\naccept = true\n\n"))
        .collect()
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
    let out = assert_cmd::Command::cargo_bin("pyslim")
        .unwrap()
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
    assert!(stdout.contains("removed, by category:"), "{stdout}");
    assert!(stdout.contains("  caches "), "{stdout}");
    assert!(stdout.contains("by layer:"), "{stdout}");
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
        assert_cmd::Command::cargo_bin("pyslim")
            .unwrap()
            .current_dir(&run.work)
            .arg("trim")
            .arg(run._dir.path().join("t.tar"))
            .args(["--decisions", "d.toml", "-o", "out.tar"])
            .args(extra)
            .env("SOURCE_DATE_EPOCH", "1714521600")
            .output()
            .unwrap()
    };
    // The session's files are never overwritten, --force or not.
    let refused = again(&["--force"]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim_end(),
        "pyslim: out.md exists; pyslim never writes over a file: choose another prefix with -o"
    );
    std::fs::remove_file(run.work.join("out.md")).unwrap();
    std::fs::remove_file(run.work.join("out.decisions.toml")).unwrap();
    let archive = std::fs::read(run.work.join("out.tar")).unwrap();
    let refused = again(&[]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim_end(),
        "pyslim: out.tar exists; pyslim never writes over a file unless --force: choose another prefix with -o"
    );
    assert!(!run.work.join("out.md").exists());
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

/// The image, examined, and a removal of the given final paths checked for safety.
fn problems_removing(paths: &[&str]) -> Vec<safety::Problem> {
    let dir = tempfile::tempdir().unwrap();
    let tar = common::write_tar(dir.path(), "t.tar", &spec(), ArchiveFormat::DockerLegacy);
    let image = common::open(&tar).unwrap();
    let ex = examine(&image, Some(&RuleSet::builtin().unwrap()), 20);
    let mut chosen = vec![false; ex.tree.nodes.len()];
    for p in paths {
        chosen[ex.tree.lookup(p).unwrap_or_else(|| panic!("{p}")) as usize] = true;
    }
    let plan = plan_removal(&image, &ex.tree, &chosen);
    safety::check(&image, &ex, &plan.removed)
}

#[test]
fn removing_nothing_that_matters_breaks_nothing() {
    assert_eq!(
        problems_removing(&["root/.cache", "usr/include", "var/lib/apt/lists"]),
        vec![]
    );
}

#[test]
fn removing_the_interpreter_is_refused() {
    let problems = problems_removing(&["usr/bin/python3.11"]);
    let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    assert!(
        messages.contains(&"the venv /opt/venv runs /usr/bin/python3.11, which the trim removes"),
        "{messages:?}"
    );
    assert!(
        messages.contains(&"the trim removes every Python interpreter (/usr/bin/python3.11)"),
        "{messages:?}"
    );
    // CMD runs python3 from PATH: /opt/venv/bin/python3 → /usr/bin/python3.11.
    assert!(
        messages.contains(&"the image's entrypoint/command names /opt/venv/bin/python3, and the trim removes /usr/bin/python3.11"),
        "{messages:?}"
    );
}

#[test]
fn removing_a_library_a_kept_binary_needs_is_refused() {
    let problems = problems_removing(&["usr/lib/x86_64-linux-gnu/libc.so.6"]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].kind, Breakage::SharedLibrary);
    assert_eq!(
        problems[0].message,
        "/usr/bin/python3.11 needs libc.so.6 (DT_NEEDED), and the trim removes /usr/lib/x86_64-linux-gnu/libc.so.6"
    );
}

#[test]
fn removing_a_required_package_is_refused() {
    let problems = problems_removing(&[
        &format!("{SITE}/werkzeug-3.0.4.dist-info"),
        &format!("{SITE}/werkzeug"),
    ]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].kind, Breakage::PythonPackage);
    assert_eq!(
        problems[0].message,
        format!("flask 3.0.3 requires werkzeug (Requires-Dist), and the trim removes werkzeug 3.0.4 from /{SITE}")
    );
}

#[test]
fn removing_a_file_the_command_names_is_refused() {
    let problems = problems_removing(&["app/main.py"]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].kind, Breakage::Entrypoint);
    assert_eq!(
        problems[0].message,
        "the image's entrypoint/command names /app/main.py, and the trim removes /app/main.py"
    );
}

#[test]
fn a_refused_trim_says_why_in_one_line_and_writes_nothing() {
    // Packaging tools go, but the app's own package still requires setuptools at run time.
    let mut s = spec();
    let mut tools = dist(
        "setuptools",
        "75.1.0",
        &[],
        &[
            ("setuptools/__init__.py", 9_000),
            ("pkg_resources/__init__.py", 100_000),
        ],
    );
    tools.extend(dist(
        "pip",
        "24.2",
        &[],
        &[
            ("pip/__init__.py", 1_000),
            ("pip/_internal/cli.py", 400_000),
        ],
    ));
    tools.extend(dist(
        "legacy-lib",
        "1.0",
        &["setuptools"],
        &[("legacy_lib/__init__.py", 3_000)],
    ));
    s.layers[2].entries.extend(tools);
    let dir = tempfile::tempdir().unwrap();
    let tar = common::write_tar(dir.path(), "t.tar", &s, ArchiveFormat::DockerLegacy);
    std::fs::write(
        dir.path().join("d.toml"),
        decisions(&["python-packaging-tools", "pip-cache"]),
    )
    .unwrap();
    let out = assert_cmd::Command::cargo_bin("pyslim")
        .unwrap()
        .current_dir(dir.path())
        .arg("trim")
        .arg(&tar)
        .args(["--decisions", "d.toml", "-o", "out"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end(),
        format!("pyslim: refusing to write the trimmed image, it would break the app: legacy-lib 1.0 requires setuptools (Requires-Dist), and the trim removes setuptools 75.1.0 from /{SITE} (skip finding python-packaging-tools)")
    );
    for name in ["out.tar", "out.md", "out.decisions.toml"] {
        assert!(!dir.path().join(name).exists(), "{name} was written");
    }
    // Skipping that finding lets the rest through.
    std::fs::write(dir.path().join("d.toml"), decisions(&["pip-cache"])).unwrap();
    let ok = assert_cmd::Command::cargo_bin("pyslim")
        .unwrap()
        .current_dir(dir.path())
        .arg("trim")
        .arg(&tar)
        .args(["--decisions", "d.toml", "-o", "out"])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}
