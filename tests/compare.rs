//! `pyslim compare` on generated variants of one app: Debian-slim-shaped (shell, apt),
//! distroless-shaped (neither), alpine-shaped (musl, and a manylinux wheel that will not
//! load there); from tarballs, and end to end through the daemon.

mod common;

use std::sync::Arc;

use pyslim::core::compare::compare;
use pyslim::core::examine;
use pyslim::core::findings::RuleSet;
use pyslim::source::writer::{ArchiveFormat, ImageSpec, LayerSpec, SpecEntry};
use pyslim::source::LayerCache;
use pyslim::OpenOptions;

const SP: &str = "opt/venv/lib/python3.12/site-packages";

fn app_layer() -> LayerSpec {
    LayerSpec::new(
        "COPY --from=builder /opt/venv /opt/venv",
        vec![
            SpecEntry::text(
                &format!("{SP}/flask-3.0.3.dist-info/METADATA"),
                "Metadata-Version: 2.1\nName: Flask\nVersion: 3.0.3\n",
            ),
            SpecEntry::text(
                &format!("{SP}/flask-3.0.3.dist-info/WHEEL"),
                "Wheel-Version: 1.0\nTag: py3-none-any\n",
            ),
            SpecEntry::file(&format!("{SP}/flask/app.py"), 60_000),
            SpecEntry::text(
                &format!("{SP}/numpy-1.26.4.dist-info/METADATA"),
                "Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.4\n",
            ),
            SpecEntry::text(
                &format!("{SP}/numpy-1.26.4.dist-info/WHEEL"),
                "Wheel-Version: 1.0\nTag: cp312-cp312-manylinux_2_17_x86_64\n",
            ),
            SpecEntry::file(&format!("{SP}/numpy/core/_multiarray_umath.so"), 9_000_000),
        ],
    )
}

fn slim() -> ImageSpec {
    let base = LayerSpec::new(
        "/bin/sh -c #(nop) ADD file:bookworm in / ",
        vec![
            SpecEntry::text("etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"),
            SpecEntry::file("usr/lib/x86_64-linux-gnu/libc.so.6", 1_900_000),
            SpecEntry::file("bin/dash", 120_000).with_mode(0o755),
            SpecEntry::symlink("bin/sh", "dash"),
            SpecEntry::file("usr/bin/apt-get", 50_000).with_mode(0o755),
            SpecEntry::file("usr/bin/passwd", 60_000).with_mode(0o4755),
            SpecEntry::text("var/lib/dpkg/status", "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n\nPackage: apt\nStatus: install ok installed\nVersion: 2.6.1\n\nPackage: bash\nStatus: install ok installed\nVersion: 5.2.15\n"),
            SpecEntry::file("usr/local/bin/python3.12", 20_000).with_mode(0o755),
        ],
    );
    ImageSpec::new("app:slim", vec![base, app_layer()])
}

fn distroless() -> ImageSpec {
    let base = LayerSpec::new(
        "bazel build //base:python3",
        vec![
            SpecEntry::text("etc/os-release", "PRETTY_NAME=\"Distroless\"\nID=debian\n"),
            SpecEntry::file("usr/lib/x86_64-linux-gnu/libc.so.6", 1_900_000),
            SpecEntry::text(
                "var/lib/dpkg/status.d/libc6",
                "Package: libc6\nVersion: 2.36-9\n",
            ),
            SpecEntry::file("usr/local/bin/python3.12", 20_000).with_mode(0o755),
        ],
    );
    let mut spec = ImageSpec::new("app:distroless", vec![base, app_layer()]);
    spec.user = "65532".into();
    spec
}

fn alpine() -> ImageSpec {
    let base = LayerSpec::new(
        "/bin/sh -c #(nop) ADD file:alpine in / ",
        vec![
            SpecEntry::text("etc/os-release", "PRETTY_NAME=\"Alpine Linux v3.20\"\nID=alpine\n"),
            SpecEntry::file("lib/ld-musl-x86_64.so.1", 600_000),
            SpecEntry::file("bin/busybox", 900_000).with_mode(0o755),
            SpecEntry::symlink("bin/sh", "/bin/busybox"),
            SpecEntry::file("sbin/apk", 70_000).with_mode(0o755),
            SpecEntry::text("lib/apk/db/installed", "P:musl\nV:1.2.5-r0\nF:lib\nR:ld-musl-x86_64.so.1\n\nP:busybox\nV:1.36.1-r29\nF:bin\nR:busybox\n"),
            SpecEntry::file("usr/local/bin/python3.12", 20_000).with_mode(0o755),
        ],
    );
    ImageSpec::new("app:alpine", vec![base, app_layer()])
}

#[test]
fn variants_side_by_side_with_shared_layers_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let paths = [
        common::write_tar(dir.path(), "slim.tar", &slim(), ArchiveFormat::DockerLegacy),
        common::write_tar(
            dir.path(),
            "distroless.tar",
            &distroless(),
            ArchiveFormat::DockerOci,
        ),
        common::write_dir(dir.path(), "alpine-oci", &alpine()),
    ];
    let cache = Arc::new(LayerCache::default());
    let rules = RuleSet::builtin().unwrap();
    let mut examined = Vec::new();
    for p in &paths {
        let opts = OpenOptions {
            cache: Some(cache.clone()),
            ..Default::default()
        };
        let image = pyslim::open(p.to_str().unwrap(), &opts).unwrap();
        let ex = examine(&image, Some(&rules), 20);
        examined.push((image, ex));
    }
    // Three bases and one app layer: the app layer is read once and shared twice.
    assert_eq!((cache.reads(), cache.hits()), (4, 2));
    let pairs: Vec<_> = examined.iter().map(|(i, e)| (i, e)).collect();
    let c = compare(&pairs, 50);
    let [s, d, a] = [&c.variants[0], &c.variants[1], &c.variants[2]];
    assert_eq!((s.shell, d.shell, a.shell), (true, false, true));
    assert_eq!(
        (s.package_manager, d.package_manager, a.package_manager),
        (true, false, true)
    );
    assert_eq!(
        (s.libc.as_str(), d.libc.as_str(), a.libc.as_str()),
        ("glibc", "glibc", "musl")
    );
    assert_eq!(
        (s.user.as_str(), d.user.as_str()),
        ("root (unset)", "65532")
    );
    assert_eq!(s.setuid_files, vec!["/usr/bin/passwd"]);
    assert!(d.setuid_files.is_empty());
    assert_eq!((s.os_packages, d.os_packages, a.os_packages), (3, 1, 2));
    assert_eq!(a.manylinux_on_musl, vec!["numpy 1.26.4"]);
    assert!(
        s.manylinux_on_musl.is_empty(),
        "glibc images load manylinux wheels"
    );
    assert_eq!(s.python_packages, 2);
    assert!(s.interpreters[0].starts_with("3.12"));
    // Only-in-one packages and files.
    let apt = c.os_packages.iter().find(|r| r.name == "apt").unwrap();
    assert_eq!(apt.versions, vec![Some("2.6.1".into()), None, None]);
    assert!(c.python_packages.is_empty(), "the same venv everywhere");
    let busybox = c.paths.iter().find(|p| p.path == "bin/busybox").unwrap();
    assert_eq!(busybox.bytes, vec![None, None, Some(900_000)]);
    assert!(
        c.paths.iter().all(|p| !p.path.starts_with(SP)),
        "shared files are not differences"
    );
    assert_eq!(
        c.paths[0].path, "usr/lib/x86_64-linux-gnu/libc.so.6",
        "widest gap first"
    );
}

#[test]
fn compare_command_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let a = common::write_tar(dir.path(), "slim.tar", &slim(), ArchiveFormat::DockerLegacy);
    let b = common::write_dir(dir.path(), "alpine-oci", &alpine());
    let out = assert_cmd::Command::cargo_bin("pyslim")
        .unwrap()
        .arg("compare")
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("{label}: {text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(line("libc"), "libc glibc musl");
    assert_eq!(line("shell"), "shell yes yes");
    assert!(
        text.contains("WARNING")
            && text.contains("manylinux (glibc) wheels, which will not load: numpy 1.26.4"),
        "{text}"
    );
    assert!(
        text.contains("layers read, 1 shared between images and read once"),
        "{text}"
    );
    let out = assert_cmd::Command::cargo_bin("pyslim")
        .unwrap()
        .args(["compare", "--json"])
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "pyslim.compare/v1");
    assert_eq!(v["comparison"]["variants"][1]["libc"], "musl");
    let one = assert_cmd::Command::cargo_bin("pyslim")
        .unwrap()
        .arg("compare")
        .arg(&a)
        .output()
        .unwrap();
    assert_eq!(one.status.code(), Some(2), "two images at least");
}

#[test]
fn compare_through_the_daemon_matches_the_tarballs() {
    if !common::docker_or_skip("compare_through_the_daemon_matches_the_tarballs") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut slim = slim();
    slim.tag = "pyslim-test/cmp:slim".into();
    let mut dl = distroless();
    dl.tag = "pyslim-test/cmp:distroless".into();
    let ta = common::write_tar(dir.path(), "a.tar", &slim, ArchiveFormat::DockerLegacy);
    let tb = common::write_tar(dir.path(), "b.tar", &dl, ArchiveFormat::DockerLegacy);
    for t in [&ta, &tb] {
        let out = std::process::Command::new("docker")
            .arg("load")
            .arg("-i")
            .arg(t)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let run = |a: &str, b: &str| {
        let out = assert_cmd::Command::cargo_bin("pyslim")
            .unwrap()
            .args(["compare", "--json", a, b])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // What differs by source: names, source kind, stored sizes, and cache counts.
        for var in v["comparison"]["variants"].as_array_mut().unwrap() {
            for k in ["reference", "source", "blob_bytes"] {
                var[k] = serde_json::Value::Null;
            }
        }
        v["comparison"].clone()
    };
    let from_daemon = run("pyslim-test/cmp:slim", "pyslim-test/cmp:distroless");
    let from_files = run(ta.to_str().unwrap(), tb.to_str().unwrap());
    for tag in ["pyslim-test/cmp:slim", "pyslim-test/cmp:distroless"] {
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", tag])
            .output();
    }
    assert_eq!(from_daemon, from_files);
}

fn compare_app() -> pyslim::tui::compare::CompareApp {
    let dir = tempfile::tempdir().unwrap();
    let rules = RuleSet::builtin().unwrap();
    let specs = [slim(), distroless(), alpine()];
    let examined: Vec<_> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let p = common::write_tar(
                dir.path(),
                &format!("{i}.tar"),
                s,
                ArchiveFormat::DockerLegacy,
            );
            let mut image = common::open(&p).unwrap();
            image.reference = s.tag.clone();
            let ex = examine(&image, Some(&rules), 20);
            (image, ex)
        })
        .collect();
    let pairs: Vec<_> = examined.iter().map(|(i, e)| (i, e)).collect();
    pyslim::tui::compare::CompareApp::new(compare(&pairs, usize::MAX))
}

fn draw(app: &pyslim::tui::compare::CompareApp, w: u16, h: u16) -> String {
    common::render_text(w, h, |f, theme| {
        f.render_widget(pyslim::tui::view::CompareView { app, theme }, f.area())
    })
}

#[test]
fn the_compare_view_shows_variants_and_searches_differing_files() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut app = compare_app();
    insta::assert_snapshot!("compare_80x24", draw(&app, 80, 24));
    insta::assert_snapshot!("compare_160x48", draw(&app, 160, 48));
    let key = |app: &mut pyslim::tui::compare::CompareApp, c: KeyCode| {
        app.handle_key(KeyEvent::new(c, KeyModifiers::NONE))
    };
    // A tree of what differs, widest gap first: usr (libc in two images) leads.
    let top: Vec<String> = app
        .rows()
        .iter()
        .map(|&(id, _)| app.tree()[id].name.clone())
        .collect();
    assert_eq!(top[0], "usr", "{top:?}");
    assert_eq!(
        app.tree()[app.rows()[0].0].bytes,
        vec![Some(1_900_000 + 60_000 + 50_000), Some(1_900_000), None]
    );
    key(&mut app, KeyCode::Char('l'));
    assert!(app.rows().len() > top.len(), "usr opened");
    assert_eq!(app.rows()[1].1, 1, "its children are one level down");
    insta::assert_snapshot!("compare_tree_80x24", draw(&app, 80, 24));
    key(&mut app, KeyCode::Char('h'));
    assert_eq!(app.rows().len(), top.len());
    key(&mut app, KeyCode::Char('/'));
    for c in "busy".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let first = &app.comparison().paths[app.shown()[0]];
    assert_eq!(first.path, "bin/busybox");
    assert_eq!(first.bytes, vec![None, None, Some(900_000)]);
    insta::assert_snapshot!("compare_search_80x24", draw(&app, 80, 24));
    key(&mut app, KeyCode::Esc);
    assert_eq!(
        app.shown().len(),
        app.comparison().paths.len(),
        "Esc clears the search"
    );
    key(&mut app, KeyCode::Char('q'));
    assert!(app.quits());
}

/// One image stored three ways (OCI gzip, `docker save`, OCI zstd) and once more as
/// `docker save`: compared with one cache, each column must say what that source alone
/// says. Only the copy stored alike (the second `docker save`) may take its layers from
/// the cache; the compressed copies are read, and no column shows another's blob sizes.
#[test]
fn one_image_from_several_sources_shares_reading_never_results() {
    use pyslim::core::image::Compression;
    let dir = tempfile::tempdir().unwrap();
    let spec = slim();
    let paths = [
        common::write_tar(
            dir.path(),
            "gzip.tar",
            &common::with_compression(spec.clone(), &[Compression::Gzip]),
            ArchiveFormat::OciLayout,
        ),
        common::write_tar(dir.path(), "saved.tar", &spec, ArchiveFormat::DockerLegacy),
        common::write_tar(
            dir.path(),
            "zstd.tar",
            &common::with_compression(spec.clone(), &[Compression::Zstd]),
            ArchiveFormat::OciLayout,
        ),
        common::write_tar(
            dir.path(),
            "saved-again.tar",
            &spec,
            ArchiveFormat::DockerOci,
        ),
    ];
    let rules = RuleSet::builtin().unwrap();
    let cache = Arc::new(LayerCache::default());
    let mut shared = Vec::new();
    let mut alone = Vec::new();
    for p in &paths {
        let with_cache = OpenOptions {
            cache: Some(cache.clone()),
            ..Default::default()
        };
        for (opts, out) in [
            (with_cache, &mut shared),
            (OpenOptions::default(), &mut alone),
        ] {
            let image = pyslim::open(p.to_str().unwrap(), &opts).unwrap();
            let ex = examine(&image, Some(&rules), 20);
            out.push((image, ex));
        }
    }
    let together = compare(&shared.iter().map(|(i, e)| (i, e)).collect::<Vec<_>>(), 50);
    for (i, (image, ex)) in alone.iter().enumerate() {
        let own = compare(&[(image, ex)], 50);
        assert_eq!(together.variants[i], own.variants[0], "column {i}");
        let layers = |im: &pyslim::Image| {
            im.layers
                .iter()
                .map(|l| (l.compression, l.blob_bytes, l.digest.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(layers(&shared[i].0), layers(image), "column {i}");
    }
    let blobs: Vec<_> = together.variants.iter().map(|v| v.blob_bytes).collect();
    assert!(blobs[0] < blobs[1] && blobs[2] < blobs[1], "{blobs:?}");
    // Two layers per copy; only the second `docker save` found them in the cache.
    assert_eq!((cache.reads(), cache.hits()), (6, 2));
}
