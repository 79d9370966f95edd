//! Test kit shared by every test binary: real-shaped images generated with pyslim's own
//! writer, helpers to damage archives in the ways bad input arrives, the binary itself
//! (`pyslim()`), the reference oracle for merged layer trees (`oracle`, with its random layer
//! generator) and the real-shaped image the trim tests share (`trim_spec`).
#![allow(dead_code)]

pub mod daemon_proxy;
pub mod oracle;
pub mod trim_spec;
pub mod wheel_index;

use std::io::Read;
use std::path::{Path, PathBuf};

use pyslim::core::image::Compression;
use pyslim::source::writer::{
    write_archive, write_oci_dir, ArchiveFormat, EmptyStep, ImageSpec, LayerSpec, SpecEntry,
};
use pyslim::{analyze, Analysis, Image, OpenOptions, Tree};

/// A small Python app image with every kind of change the engine must get right: overwrites,
/// deleted files and dirs, an opaque dir, hardlinks, symlinks, an empty layer.
pub fn python_app_spec(tag: &str) -> ImageSpec {
    let base = LayerSpec::new(
        "/bin/sh -c #(nop) ADD file:base in / ",
        vec![
            SpecEntry::dir("usr"),
            SpecEntry::dir("usr/bin"),
            SpecEntry::file("usr/bin/python3.11", 6_000),
            SpecEntry::symlink("usr/bin/python3", "python3.11"),
            SpecEntry::hardlink("usr/bin/python3-hl", "usr/bin/python3.11"),
            SpecEntry::file("usr/lib/python3.11/os.py", 3_000),
            SpecEntry::file("usr/lib/python3.11/test/test_os.py", 9_000),
            SpecEntry::file("usr/lib/python3.11/test/test_sys.py", 7_000),
            SpecEntry::file("etc/apt/sources.list", 200),
            SpecEntry::file("var/cache/apt/archives/gcc.deb", 50_000),
            SpecEntry::file("var/cache/apt/archives/make.deb", 20_000),
        ],
    );
    let deps = LayerSpec::new(
        "/bin/sh -c pip install numpy",
        vec![
            SpecEntry::file(
                "opt/venv/lib/python3.11/site-packages/numpy/core/_multiarray.so",
                80_000,
            ),
            SpecEntry::file(
                "opt/venv/lib/python3.11/site-packages/numpy/testing/utils.py",
                4_000,
            ),
            SpecEntry::file(
                "opt/venv/lib/python3.11/site-packages/numpy/tests/test_a.py",
                5_000,
            ),
            SpecEntry::file("root/.cache/pip/http/abc.body", 40_000),
            SpecEntry::file("usr/lib/python3.11/os.py", 3_500),
        ],
    );
    let empty = LayerSpec::new("WORKDIR /app", vec![]);
    let cleanup = LayerSpec::new(
        "/bin/sh -c rm -rf /usr/lib/python3.11/test /root/.cache && apt-get clean",
        vec![
            SpecEntry::whiteout("usr/lib/python3.11/test"),
            SpecEntry::whiteout("root/.cache"),
            SpecEntry::whiteout("usr/bin/python3.11"),
            SpecEntry::opaque("var/cache/apt/archives"),
            SpecEntry::file("var/cache/apt/archives/lock", 0),
        ],
    );
    let mut spec = ImageSpec::new(tag, vec![base, deps, empty, cleanup]);
    spec.empty_steps = vec![
        EmptyStep {
            before_layer: 1,
            created_by: "/bin/sh -c #(nop)  ENV PYTHONUNBUFFERED=1".into(),
        },
        EmptyStep {
            before_layer: 4,
            created_by: "/bin/sh -c #(nop)  CMD [\"python3\"]".into(),
        },
    ];
    spec.cmd = vec!["python3".into()];
    spec
}

/// The path of the pyslim binary cargo built for this test run.
pub const PYSLIM: &str = env!("CARGO_BIN_EXE_pyslim");

/// The pyslim binary as a command, ready for arguments.
pub fn pyslim() -> assert_cmd::Command {
    assert_cmd::Command::new(PYSLIM)
}

/// insta settings that keep every snapshot in tests/snapshots/ under the name its assertion
/// gives (`compare__compare_80x24` is tests/snapshots/compare__compare_80x24.snap), wherever
/// the test lives: insta would otherwise derive both the directory and a name prefix from the
/// module the assertion is in. Use as `common::snapshots().bind(|| insta::assert_snapshot!(…))`.
pub fn snapshots() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings
}

pub fn with_compression(mut spec: ImageSpec, pattern: &[Compression]) -> ImageSpec {
    for (i, layer) in spec.layers.iter_mut().enumerate() {
        layer.compression = pattern[i % pattern.len()];
    }
    spec
}

pub fn write_tar(dir: &Path, name: &str, spec: &ImageSpec, format: ArchiveFormat) -> PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).expect("create fixture");
    write_archive(spec, format, std::io::BufWriter::new(file)).expect("write fixture");
    path
}

pub fn write_dir(dir: &Path, name: &str, spec: &ImageSpec) -> PathBuf {
    let path = dir.join(name);
    write_oci_dir(spec, &path).expect("write oci dir");
    path
}

pub fn open(path: &Path) -> pyslim::Result<Image> {
    pyslim::open(path.to_str().expect("utf-8 path"), &OpenOptions::default())
}

pub fn analysis_of(image: &Image) -> (Tree, Analysis) {
    let tree = Tree::build(&image.layers);
    let a = analyze(image, &tree, 50);
    (tree, a)
}

/// The figures that must not depend on where an image came from or how it was stored.
pub fn source_independent(a: &Analysis) -> String {
    let mut a = a.clone();
    a.totals.blob_bytes = None;
    for l in &mut a.layers {
        l.digest = None;
        l.blob_bytes = None;
        l.compression = pyslim::core::image::Compression::None;
    }
    serde_json::to_string_pretty(&a).expect("serialise")
}

/// The members of a tar, in order, as (name, bytes).
pub fn tar_members(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(bytes);
    let mut out = Vec::new();
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").display().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("read");
        out.push((name, data));
    }
    out
}

/// Rebuilds a tar from members (names written as given, even hostile ones).
pub fn tar_from_members(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        let field = &mut header.as_old_mut().name;
        field[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        builder.append(&header, data.as_slice()).expect("append");
    }
    builder.into_inner().expect("finish")
}

/// Rewrites one member of a tar file through `edit`.
pub fn edit_member(path: &Path, member: &str, edit: impl FnOnce(&mut Vec<u8>)) {
    let bytes = std::fs::read(path).expect("read fixture");
    let mut members = tar_members(&bytes);
    let slot = members
        .iter_mut()
        .find(|(n, _)| n == member)
        .expect("member exists");
    edit(&mut slot.1);
    std::fs::write(path, tar_from_members(&members)).expect("write fixture");
}

/// The layer members named by a docker-archive's manifest.json.
pub fn manifest_layers(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).expect("read fixture");
    let members = tar_members(&bytes);
    let manifest = &members
        .iter()
        .find(|(n, _)| n == "manifest.json")
        .expect("manifest")
        .1;
    let v: serde_json::Value = serde_json::from_slice(manifest).expect("json");
    v[0]["Layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l.as_str().unwrap_or("").to_owned())
        .collect()
}

/// Whether a Docker daemon answers. Tests that need one skip with a printed reason when none
/// does, unless PYSLIM_REQUIRE_DOCKER=1, when they fail instead.
pub fn docker_or_skip(test: &str) -> bool {
    let ok = std::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("PYSLIM_REQUIRE_DOCKER").as_deref() == Ok("1") {
            panic!("{test}: no Docker daemon answers and PYSLIM_REQUIRE_DOCKER=1");
        }
        eprintln!("skipping {test}: no Docker daemon answers (set PYSLIM_REQUIRE_DOCKER=1 to fail instead)");
    }
    ok
}

/// Draws with the dark theme on a `w`×`h` TestBackend and returns the screen as text, one
/// line per row, trailing spaces trimmed.
pub fn render_text(
    w: u16,
    h: u16,
    draw: impl FnOnce(&mut ratatui::Frame, &pyslim::tui::theme::Theme),
) -> String {
    let theme = pyslim::tui::theme::Theme::load("dark", false).expect("theme");
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).expect("backend");
    terminal.draw(|f| draw(f, &theme)).expect("draw");
    let buf = terminal.backend().buffer().clone();
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The names in `dir`, sorted.
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
