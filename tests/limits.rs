//! The caps against hostile input, through the binary: each one, when exceeded, is one line on
//! stderr that names the input, the cap and the flag that raises it, with exit code 2, from
//! every kind of source; and raising the cap with its flag lets the same image open.

mod common;

use std::path::{Path, PathBuf};

use pyslim::source::writer::{ArchiveFormat, ImageSpec, LayerSpec, SpecEntry};

/// The same image as a legacy `docker save`, an OCI tar and an OCI directory.
fn every_source(dir: &Path, spec: &ImageSpec) -> Vec<PathBuf> {
    vec![
        common::write_tar(dir, "legacy.tar", spec, ArchiveFormat::DockerLegacy),
        common::write_tar(dir, "oci.tar", spec, ArchiveFormat::OciLayout),
        common::write_dir(dir, "oci-dir", spec),
    ]
}

fn analyze(path: &Path, flags: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("pyslim")
        .unwrap()
        .arg("analyze")
        .arg(path)
        .args(flags)
        .arg("--json")
        .output()
        .unwrap()
}

/// Asserts a one-line refusal that names `words`, and that `raise` lets the image open.
fn refused_then_opens(spec: &ImageSpec, cap: &[&str], words: &[&str], raise: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    for path in every_source(dir.path(), spec) {
        let out = analyze(&path, cap);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: {cap:?} let it through",
            path.display()
        );
        assert!(out.stdout.is_empty(), "no report on a refusal");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains(&*path.to_string_lossy()),
            "names the input: {err}"
        );
        for w in words {
            assert!(err.contains(w), "{w:?} missing from: {err}");
        }
        let ok = analyze(&path, raise);
        assert!(
            ok.status.success(),
            "{}: {raise:?}: {}",
            path.display(),
            String::from_utf8_lossy(&ok.stderr)
        );
    }
}

fn one_layer(entries: Vec<SpecEntry>) -> ImageSpec {
    ImageSpec::new(
        "fixture/hostile:1",
        vec![LayerSpec::new("RUN make it", entries)],
    )
}

#[test]
fn a_path_longer_than_the_cap_is_refused() {
    // 300 bytes: past ustar's 100, so the writer uses a GNU long-name record.
    let long = format!("app/{}", "n".repeat(296));
    let spec = one_layer(vec![
        SpecEntry::file("app/ok.py", 10),
        SpecEntry::file(&long, 5),
    ]);
    refused_then_opens(
        &spec,
        &["--max-path-bytes", "200"],
        &["a path of 300 bytes", "200", "--max-path-bytes"],
        &["--max-path-bytes", "300"],
    );
}

#[test]
fn a_path_deeper_than_the_cap_is_refused() {
    let deep = (0..40)
        .map(|i| format!("d{i}"))
        .collect::<Vec<_>>()
        .join("/")
        + "/leaf.py";
    let spec = one_layer(vec![SpecEntry::file(&deep, 5)]);
    refused_then_opens(
        &spec,
        &["--max-path-depth", "32"],
        &["depth", "32", "--max-path-depth"],
        &["--max-path-depth", "41"],
    );
}

#[test]
fn json_larger_than_the_cap_is_refused() {
    let spec = one_layer(vec![SpecEntry::file("app/main.py", 10)]);
    refused_then_opens(
        &spec,
        &["--max-json-bytes", "100"],
        &["100", "--max-json-bytes"],
        &["--max-json-bytes", "1000000"],
    );
}

#[test]
fn too_many_entries_are_refused_from_every_source() {
    let many = (0..300)
        .map(|i| SpecEntry::file(&format!("f/{i}"), 0))
        .collect();
    refused_then_opens(
        &one_layer(many),
        &["--max-entries", "100"],
        &["100", "--max-entries"],
        &["--max-entries", "1000"],
    );
}
