//! Every reader on generated images: the same image gives the same figures from every format,
//! the model says what the spec says, and bad input is refused with a clear error.

use pyslim::core::image::{Compression, SourceKind};
use pyslim::core::tree::Change;
use pyslim::source::writer::{ArchiveFormat, ImageSpec, LayerSpec, SpecEntry};
use pyslim::{Error, OpenOptions, SourceChoice};

use crate::common;
use crate::common::*;

#[test]
fn same_figures_from_every_format_and_compression() {
    let dir = tempfile::tempdir().unwrap();
    let spec = python_app_spec("fixture/app:1");
    let legacy = open(&write_tar(
        dir.path(),
        "legacy.tar",
        &spec,
        ArchiveFormat::DockerLegacy,
    ))
    .unwrap();
    let (_, reference) = analysis_of(&legacy);
    assert_eq!(legacy.source, SourceKind::DockerArchive);

    let mut others = vec![
        (
            "docker-oci",
            open(&write_tar(
                dir.path(),
                "dockeroci.tar",
                &spec,
                ArchiveFormat::DockerOci,
            ))
            .unwrap(),
        ),
        (
            "oci-dir",
            open(&write_dir(dir.path(), "ocidir", &spec)).unwrap(),
        ),
    ];
    for (name, pattern) in [
        ("gzip", vec![Compression::Gzip]),
        ("zstd", vec![Compression::Zstd]),
        (
            "mixed",
            vec![Compression::Gzip, Compression::None, Compression::Zstd],
        ),
    ] {
        let s = with_compression(spec.clone(), &pattern);
        let tar = write_tar(
            dir.path(),
            &format!("oci-{name}.tar"),
            &s,
            ArchiveFormat::OciLayout,
        );
        others.push((name, open(&tar).unwrap()));
    }
    for (name, image) in &others {
        let (_, a) = analysis_of(image);
        assert_eq!(
            source_independent(&a),
            source_independent(&reference),
            "{name} differs from the docker-archive"
        );
    }
    // gzip really was read as gzip, and the OCI tar as an OCI layout.
    let gz = &others.iter().find(|(n, _)| *n == "gzip").unwrap().1;
    assert_eq!(gz.source, SourceKind::Oci);
    assert!(gz.layers.iter().all(|l| l.compression == Compression::Gzip));
}

#[test]
fn model_follows_whiteouts_opaque_dirs_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let image = open(&write_tar(
        dir.path(),
        "app.tar",
        &python_app_spec("fixture/app:1"),
        ArchiveFormat::DockerLegacy,
    ))
    .unwrap();
    assert_eq!(image.layers.len(), 4);
    // ENV and CMD made no layer; the instructions line up with the layers that exist.
    assert_eq!(image.history.len(), 6);
    assert_eq!(image.layers[1].instruction(), "RUN pip install numpy");
    assert_eq!(image.layers[2].instruction(), "WORKDIR /app");
    assert_eq!(image.config.cmd, vec!["python3"]);

    let (tree, a) = analysis_of(&image);
    let gone = [
        "usr/lib/python3.11/test/test_os.py",
        "root/.cache/pip/http/abc.body",
        "var/cache/apt/archives/gcc.deb",
        "usr/bin/python3.11",
    ];
    for path in gone {
        let id = tree
            .lookup(path)
            .unwrap_or_else(|| panic!("{path} was seen"));
        assert!(!tree.is_visible(id), "{path} must be deleted");
        assert_eq!(tree.node(id).events.last().unwrap().change, Change::Deleted);
        assert_eq!(tree.node(id).events.last().unwrap().layer, 3);
    }
    // The opaque dir keeps the entry its own layer wrote.
    assert!(tree.is_visible(tree.lookup("var/cache/apt/archives/lock").unwrap()));
    // os.py was changed by layer 1.
    let os = tree.lookup("usr/lib/python3.11/os.py").unwrap();
    let last = tree.final_state(os).unwrap();
    assert_eq!(
        (last.change, last.layer, last.size),
        (Change::Modified, 1, 3_500)
    );
    // python3.11 was deleted but its hardlink keeps the 6,000 bytes in the image.
    let hl = tree
        .final_state(tree.lookup("usr/bin/python3-hl").unwrap())
        .unwrap();
    assert_eq!(hl.size, 6_000);

    let carried: u64 = 6_000
        + 3_000
        + 9_000
        + 7_000
        + 200
        + 50_000
        + 20_000
        + 80_000
        + 4_000
        + 5_000
        + 40_000
        + 3_500;
    let wasted = 3_000 + 9_000 + 7_000 + 50_000 + 20_000 + 40_000;
    assert_eq!(a.totals.layer_bytes, carried);
    assert_eq!(a.totals.wasted_bytes, wasted);
    assert_eq!(a.totals.image_bytes, carried - wasted);
    assert_eq!(tree.final_bytes[0], carried - wasted);
    assert_eq!(
        a.layers[0].wasted_bytes,
        3_000 + 9_000 + 7_000 + 50_000 + 20_000
    );
    assert_eq!(
        a.layers[3].hidden_bytes,
        9_000 + 7_000 + 50_000 + 20_000 + 40_000
    );
    assert_eq!(a.layers[1].hidden_bytes, 3_000);
    assert_eq!(a.wasted_paths[0].path, "var/cache/apt/archives/gcc.deb");
    assert_eq!(
        (
            a.wasted_paths[0].written_by.clone(),
            a.wasted_paths[0].hidden_by.clone()
        ),
        (vec![0], vec![3])
    );
}

#[test]
fn dive_figures_follow_dives_formulas() {
    // One file overwritten with a smaller copy, one deleted, one directory deleted.
    let spec = ImageSpec::new(
        "fixture/dive:1",
        vec![
            LayerSpec::new(
                "base",
                vec![
                    SpecEntry::file("a", 1000),
                    SpecEntry::file("b", 500),
                    SpecEntry::file("d/x", 300),
                    SpecEntry::file("d/y", 200),
                ],
            ),
            LayerSpec::new(
                "change",
                vec![
                    SpecEntry::file("a", 400),
                    SpecEntry::whiteout("b"),
                    SpecEntry::whiteout("d"),
                ],
            ),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let image = open(&write_tar(
        dir.path(),
        "d.tar",
        &spec,
        ArchiveFormat::DockerLegacy,
    ))
    .unwrap();
    let (_, a) = analysis_of(&image);
    // Paths: a (1000, 400) min 400; b (500, whiteout of a file: 0) min 0;
    // d (whiteout of a dir: 300+200) seen once; d/x, d/y once each.
    let min_sum = 400 + 500 + 300 + 200; // b's minimum is 0
    let all_sum = 1400 + 500 + 500 + 300 + 200;
    assert!((a.dive.efficiency - min_sum as f64 / all_sum as f64).abs() < 1e-12);
    assert_eq!(a.dive.wasted_bytes, 1400 + 500);
    assert_eq!(a.dive.user_bytes, 400);
    assert!((a.dive.user_wasted_percent - 1900.0 / 400.0).abs() < 1e-12);
    // pyslim's own measure: 1000 + 500 + 300 + 200 hidden.
    assert_eq!(a.totals.wasted_bytes, 2000);
}

#[test]
fn empty_layer_blob_shared_by_several_layers() {
    // Docker 25+ saves every empty layer as one shared gzip blob (dive issues #495, #534).
    let mut spec = python_app_spec("fixture/empty:1");
    spec.layers
        .insert(1, LayerSpec::new("ENV-made empty layer", vec![]));
    spec.layers
        .insert(1, LayerSpec::new("another empty layer", vec![]));
    let dir = tempfile::tempdir().unwrap();
    let path = write_tar(dir.path(), "e.tar", &spec, ArchiveFormat::DockerOci);
    let layers = manifest_layers(&path);
    assert_eq!(layers[1], layers[2], "fixture shares the empty blob");
    let image = open(&path).unwrap();
    assert_eq!(image.layers.len(), 6);
    assert_eq!(image.layers[1].compression, Compression::Gzip);
    assert_eq!(
        image.layers[1].diff_id,
        "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
    );
    assert!(image.layers[1].changes.entries.is_empty());
}

#[test]
fn gzipped_docker_save_is_read_as_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let spec = python_app_spec("fixture/app:1");
    let plain = write_tar(dir.path(), "p.tar", &spec, ArchiveFormat::DockerLegacy);
    let gz_path = dir.path().join("p.tar.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz_path).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(&plain).unwrap(), &mut enc).unwrap();
    enc.finish().unwrap();
    let (_, a) = analysis_of(&open(&plain).unwrap());
    let (_, b) = analysis_of(&open(&gz_path).unwrap());
    assert_eq!(source_independent(&a), source_independent(&b));
}

#[test]
fn multi_platform_index_picks_the_host_or_the_asked_platform() {
    let dir = tempfile::tempdir().unwrap();
    let amd = python_app_spec("fixture/mp:1");
    let mut arm = ImageSpec::new(
        "fixture/mp:1",
        vec![LayerSpec::new(
            "arm base",
            vec![SpecEntry::file("arm-only", 10)],
        )],
    );
    arm.architecture = "arm64".into();
    let amd_dir = write_dir(dir.path(), "amd", &amd);
    let arm_dir = write_dir(dir.path(), "arm", &arm);
    // Merge both into one layout with a two-platform index.
    let root = dir.path().join("multi");
    std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
    let mut manifests = Vec::new();
    for (src, arch) in [(&amd_dir, "amd64"), (&arm_dir, "arm64")] {
        for blob in std::fs::read_dir(src.join("blobs/sha256")).unwrap() {
            let blob = blob.unwrap();
            std::fs::copy(
                blob.path(),
                root.join("blobs/sha256").join(blob.file_name()),
            )
            .unwrap();
        }
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(src.join("index.json")).unwrap()).unwrap();
        let mut m = index["manifests"][0].clone();
        m["platform"] = serde_json::json!({"os": "linux", "architecture": arch});
        manifests.push(m);
    }
    std::fs::write(
        root.join("index.json"),
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": manifests}))
            .unwrap(),
    )
    .unwrap();
    std::fs::write(
        root.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();

    let reference = root.to_str().unwrap();
    let host = pyslim::open(reference, &OpenOptions::default()).unwrap();
    if std::env::consts::ARCH == "x86_64" {
        assert_eq!(host.layers.len(), 4);
    }
    let opts = OpenOptions {
        platform: Some("linux/arm64".into()),
        ..Default::default()
    };
    let arm_image = pyslim::open(reference, &opts).unwrap();
    assert_eq!(arm_image.config.architecture, "arm64");
    let opts = OpenOptions {
        platform: Some("linux/s390x".into()),
        ..Default::default()
    };
    let err = pyslim::open(reference, &opts).unwrap_err().to_string();
    assert!(
        err.contains("no manifest for platform linux/s390x")
            && err.contains("linux/amd64, linux/arm64"),
        "{err}"
    );
}

#[test]
fn odd_entries_give_the_right_result() {
    let spec = ImageSpec::new(
        "fixture/odd:1",
        vec![LayerSpec::new(
            "odd",
            vec![
                SpecEntry::file("/abs/file", 10),
                SpecEntry::file("../../escape", 20),
                SpecEntry::file("dup", 5),
                SpecEntry::file("dup", 7),
                SpecEntry::symlink("loop-a", "loop-b"),
                SpecEntry::symlink("loop-b", "loop-a"),
                SpecEntry::hardlink("dangling", "no/such/file"),
                SpecEntry::whiteout("never/existed"),
                pyslim::source::writer::SpecEntry {
                    path: b"caf\xe9.txt".to_vec(),
                    kind: pyslim::source::writer::SpecKind::File(
                        pyslim::source::writer::Content::Bytes(b"x".to_vec()),
                    ),
                    mode: 0o644,
                },
            ],
        )],
    );
    let dir = tempfile::tempdir().unwrap();
    let image = open(&write_tar(
        dir.path(),
        "odd.tar",
        &spec,
        ArchiveFormat::DockerLegacy,
    ))
    .unwrap();
    let (tree, a) = analysis_of(&image);
    assert!(
        tree.lookup("abs/file").is_some(),
        "absolute paths are taken relative to the root"
    );
    assert!(tree.lookup("escape").is_none());
    assert!(
        image
            .warnings
            .iter()
            .any(|w| w.contains("climbs above the image root")),
        "{:?}",
        image.warnings
    );
    assert_eq!(
        tree.final_state(tree.lookup("dup").unwrap()).unwrap().size,
        7
    );
    assert!(tree
        .warnings
        .iter()
        .any(|w| w.contains("dup appears twice")));
    assert!(tree
        .warnings
        .iter()
        .any(|w| w.contains("hardlink dangling")));
    assert!(tree.lookup("caf\\xe9.txt").is_some());
    assert!(tree.is_visible(tree.lookup("loop-a").unwrap()));
    // The first copy of `dup` ships but is hidden.
    assert_eq!(a.totals.wasted_bytes, 5);
}

fn expect_err(path: &std::path::Path) -> String {
    let err = open(path).expect_err("bad input must be refused");
    let text = err.to_string();
    assert!(!text.contains('\n'), "one line: {text}");
    text
}

#[test]
fn truncated_and_corrupt_archives_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = python_app_spec("fixture/app:1");
    let path = write_tar(dir.path(), "t.tar", &spec, ArchiveFormat::DockerLegacy);
    let bytes = std::fs::read(&path).unwrap();

    let cut = dir.path().join("cut.tar");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert!(expect_err(&cut).contains("truncated"));

    let flipped = dir.path().join("flip.tar");
    let mut b = bytes.clone();
    b[100] ^= 0x55; // inside the first header
    std::fs::write(&flipped, &b).unwrap();
    assert!(expect_err(&flipped).contains("checksum"));

    let garbage = dir.path().join("garbage.tar");
    std::fs::write(&garbage, b"this is not a tar file at all").unwrap();
    let e = expect_err(&garbage);
    assert!(e.contains("garbage.tar"), "{e}");

    let empty = dir.path().join("empty.tar");
    std::fs::write(&empty, b"").unwrap();
    assert!(expect_err(&empty).contains("not an image archive"));
}

#[test]
fn corrupt_compressed_layers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, c) in [("gzip", Compression::Gzip), ("zstd", Compression::Zstd)] {
        let spec = with_compression(python_app_spec("fixture/app:1"), &[c]);
        let layout = write_dir(dir.path(), name, &spec);
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        let manifest_digest = index["manifests"][0]["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:")
            .to_owned();
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(layout.join("blobs/sha256").join(&manifest_digest)).unwrap(),
        )
        .unwrap();
        let layer = manifest["layers"][1]["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:")
            .to_owned();
        let blob = layout.join("blobs/sha256").join(layer);
        let mut bytes = std::fs::read(&blob).unwrap();
        let mid = bytes.len() / 2;
        for b in &mut bytes[mid..mid + 16] {
            *b ^= 0xA5;
        }
        std::fs::write(&blob, &bytes).unwrap();
        let e = expect_err(&layout);
        assert!(
            e.contains(&format!("corrupt {name} stream")) || e.contains("digest mismatch"),
            "{name}: {e}"
        );
    }
}

#[test]
fn digests_that_do_not_match_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // A compressed blob is always hashed: change content, keep the size.
    let spec = with_compression(python_app_spec("fixture/app:1"), &[Compression::Gzip]);
    let gz = write_dir(dir.path(), "gz", &spec);
    let other = with_compression(python_app_spec("fixture/other:1"), &[Compression::Gzip]);
    let other_dir = write_dir(dir.path(), "other", &other);
    // Swap one layer's blob for a different valid gzip stream under the same name.
    let target = first_layer_blob(&gz);
    let donor = std::fs::read(first_layer_blob(&other_dir)).unwrap();
    let mut donor = donor;
    donor[4] ^= 0x01; // gzip mtime byte: still valid gzip, different digest, same size
    std::fs::write(&target, &donor).unwrap();
    let e = expect_err(&gz);
    assert!(e.contains("digest mismatch"), "{e}");

    // An uncompressed layer whose bytes changed is caught by --verify (diff_id).
    let plain = write_tar(
        dir.path(),
        "plain.tar",
        &python_app_spec("fixture/app:1"),
        ArchiveFormat::DockerLegacy,
    );
    let layer = manifest_layers(&plain)[0].clone();
    edit_member(&plain, &layer, |data| {
        // Change one byte of usr/bin/python3.11's content (headers: usr/, usr/bin/, the file).
        data[1600] ^= 0x20;
    });
    assert!(
        open(&plain).is_ok(),
        "without --verify the data is skipped, not hashed"
    );
    let opts = OpenOptions {
        read: pyslim::source::ReadOptions {
            verify_diff_ids: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let e = pyslim::open(plain.to_str().unwrap(), &opts)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("digest mismatch") && e.contains("diff_id"),
        "{e}"
    );
}

fn first_layer_blob(layout: &std::path::Path) -> std::path::PathBuf {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let m = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_owned();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("blobs/sha256").join(m)).unwrap())
            .unwrap();
    let l = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_owned();
    layout.join("blobs/sha256").join(l)
}

#[test]
fn manifests_naming_missing_or_outside_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = python_app_spec("fixture/app:1");
    for (case, replacement) in [
        ("missing", "nope/layer.tar"),
        ("outside", "../../etc/passwd"),
        ("absolute", "/etc/passwd"),
    ] {
        let path = write_tar(
            dir.path(),
            &format!("{case}.tar"),
            &spec,
            ArchiveFormat::DockerLegacy,
        );
        let first = manifest_layers(&path)[0].clone();
        edit_member(&path, "manifest.json", |data| {
            let text = String::from_utf8(data.clone())
                .unwrap()
                .replace(&first, replacement);
            *data = text.into_bytes();
        });
        let e = expect_err(&path);
        let expected = if case == "missing" {
            "which is not in the archive"
        } else {
            "a path outside the archive"
        };
        assert!(
            e.contains(expected) && e.contains(replacement),
            "{case}: {e}"
        );
    }
    // A manifest.json that is not JSON at all.
    let path = write_tar(
        dir.path(),
        "badjson.tar",
        &spec,
        ArchiveFormat::DockerLegacy,
    );
    edit_member(&path, "manifest.json", |data| *data = b"{not json".to_vec());
    assert!(expect_err(&path).contains("manifest.json is not a docker-archive manifest"));
}

#[test]
fn limits_stop_hostile_layers() {
    let many: Vec<SpecEntry> = (0..500)
        .map(|i| SpecEntry::file(&format!("f{i}"), 0))
        .collect();
    let spec = ImageSpec::new("fixture/many:1", vec![LayerSpec::new("many", many)]);
    let dir = tempfile::tempdir().unwrap();
    let path = write_tar(dir.path(), "many.tar", &spec, ArchiveFormat::DockerLegacy);
    let mut opts = OpenOptions::default();
    opts.read.limits.max_entries_per_layer = 100;
    let err = pyslim::open(path.to_str().unwrap(), &opts).unwrap_err();
    assert!(matches!(err, Error::Limit { limit: 100, .. }), "{err}");
    assert!(err.to_string().contains("--max-entries"));
}

#[test]
fn the_total_entry_limit_spans_every_layer_of_one_image() {
    // Four layers of 300 entries each: every layer is under a per-layer cap of 400, but
    // together they pass a total cap of 1,000 (layers are read side by side and all kept).
    let layer = |n: usize| {
        let files: Vec<SpecEntry> = (0..300)
            .map(|i| SpecEntry::file(&format!("l{n}/f{i}"), 0))
            .collect();
        LayerSpec::new(&format!("layer {n}"), files)
    };
    let spec = ImageSpec::new("fixture/wide:1", (0..4).map(layer).collect());
    let dir = tempfile::tempdir().unwrap();
    let path = write_tar(dir.path(), "wide.tar", &spec, ArchiveFormat::DockerLegacy);
    let total: usize = pyslim::open(path.to_str().unwrap(), &OpenOptions::default())
        .unwrap()
        .layers
        .iter()
        .map(|l| l.changes.entries.len())
        .sum();
    assert!(total >= 1_200, "{total} entries");
    let mut opts = OpenOptions::default();
    opts.read.limits.max_entries_per_layer = 400;
    opts.read.limits.max_total_entries = 1_000;
    let err = pyslim::open(path.to_str().unwrap(), &opts).unwrap_err();
    assert!(matches!(err, Error::Limit { limit: 1_000, .. }), "{err}");
    assert!(err.to_string().contains("--max-total-entries"), "{err}");
    // The count is per image: the same options open it again, and a cap at the total passes.
    opts.read.limits.max_total_entries = total as u64;
    pyslim::open(path.to_str().unwrap(), &opts).unwrap();
    pyslim::open(path.to_str().unwrap(), &opts).unwrap();
}

#[test]
fn forced_source_that_does_not_fit_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tar(
        dir.path(),
        "l.tar",
        &python_app_spec("fixture/app:1"),
        ArchiveFormat::DockerLegacy,
    );
    let opts = OpenOptions {
        source: SourceChoice::Oci,
        ..Default::default()
    };
    let e = pyslim::open(path.to_str().unwrap(), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not an OCI image layout"), "{e}");
    let missing = pyslim::open("/no/such/image.tar", &OpenOptions::default())
        .unwrap_err()
        .to_string();
    assert!(missing.contains("/no/such/image.tar"), "{missing}");
}

#[test]
fn observers_hear_the_layers_first_then_each_as_it_is_read() {
    use std::sync::{Arc, Mutex};
    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);
    impl pyslim::source::LoadObserver for Log {
        fn layers(&self, instructions: &[String]) {
            self.0
                .lock()
                .unwrap()
                .push(format!("layers {}", instructions.join(" | ")));
        }
        fn layer_read(&self, index: usize, entries: usize, _bytes: u64) {
            self.0
                .lock()
                .unwrap()
                .push(format!("read {index} ({entries})"));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write_tar(
        dir.path(),
        "app.tar",
        &python_app_spec("fixture/app:1"),
        ArchiveFormat::DockerLegacy,
    );
    let log = Arc::new(Log::default());
    pyslim::source::open_observed(path.to_str().unwrap(), &OpenOptions::default(), log.clone())
        .unwrap();
    let events = log.0.lock().unwrap().clone();
    assert_eq!(events[0], "layers ADD file:base in / | RUN pip install numpy | WORKDIR /app | RUN rm -rf /usr/lib/python3.11/test /root/.cache && apt-get clean");
    let mut reads: Vec<&String> = events[1..].iter().collect();
    reads.sort();
    assert_eq!(
        reads,
        vec!["read 0 (11)", "read 1 (5)", "read 2 (0)", "read 3 (1)"]
    );
}

/// A shared library shaped as patchelf leaves it (auditwheel's `numpy.libs/*.so`): its
/// section table (a 40,000-byte `.symtab` and the names) sits 100 KiB in, with 1 MiB after
/// it, far from the end of the file where a streamed read that keeps a tail window looks.
fn patchelf_shaped_library() -> Vec<u8> {
    const TABLE: usize = 100 * 1024;
    let mut f = vec![0u8; TABLE + 3 * 64 + (1 << 20)];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2; // 64-bit
    f[5] = 1; // little-endian
    f[6] = 1;
    f[16..18].copy_from_slice(&3u16.to_le_bytes()); // ET_DYN
    f[40..48].copy_from_slice(&(TABLE as u64).to_le_bytes()); // e_shoff
    f[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
    f[60..62].copy_from_slice(&3u16.to_le_bytes()); // e_shnum
    f[62..64].copy_from_slice(&2u16.to_le_bytes()); // e_shstrndx
    let mut section = |i: usize, kind: u32, offset: u64, size: u64| {
        let at = TABLE + i * 64;
        f[at + 4..at + 8].copy_from_slice(&kind.to_le_bytes());
        f[at + 24..at + 32].copy_from_slice(&offset.to_le_bytes());
        f[at + 32..at + 40].copy_from_slice(&size.to_le_bytes());
    };
    section(1, 2, 4096, 40_000); // SHT_SYMTAB
    section(2, 3, 50_000, 100); // SHT_STRTAB: the section names
    f
}

fn with_wheel_library(mut spec: ImageSpec) -> ImageSpec {
    use pyslim::source::writer::{Content, SpecKind};
    spec.layers.push(LayerSpec::new(
        "/bin/sh -c pip install numpy",
        vec![SpecEntry::new(
            "opt/venv/lib/python3.11/site-packages/numpy.libs/libopenblas64_p-r0-0cf96a72.3.23.dev.so",
            SpecKind::File(Content::Bytes(patchelf_shaped_library())),
        )
        .with_mode(0o755)],
    ));
    spec
}

/// Everything `analyze --json` says that does not depend on how the image was stored.
fn examined_json(image: &pyslim::Image) -> String {
    let rules = pyslim::core::findings::RuleSet::builtin().unwrap();
    let ex = pyslim::core::examine(image, Some(&rules), 50);
    format!(
        "{}\n{}\n{}",
        serde_json::to_string_pretty(&ex.findings).unwrap(),
        serde_json::to_string_pretty(&ex.inventory).unwrap(),
        source_independent(&ex.analysis)
    )
}

#[test]
fn a_library_with_its_section_table_mid_file_gives_the_same_findings_from_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let spec = with_wheel_library(python_app_spec("fixture/app:1"));
    let legacy = open(&write_tar(
        dir.path(),
        "legacy.tar",
        &spec,
        ArchiveFormat::DockerLegacy,
    ))
    .unwrap();
    let reference = examined_json(&legacy);
    assert!(
        reference.contains("numpy.libs/libopenblas64_p"),
        "the seekable read sees the library unstripped"
    );
    for (name, c) in [("gzip", Compression::Gzip), ("zstd", Compression::Zstd)] {
        let tar = write_tar(
            dir.path(),
            &format!("oci-{name}.tar"),
            &with_compression(spec.clone(), &[c]),
            ArchiveFormat::OciLayout,
        );
        let image = open(&tar).unwrap();
        assert!(image.layers.iter().all(|l| l.compression == c));
        let got = examined_json(&image);
        if got != reference {
            let first = got
                .lines()
                .zip(reference.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{name} differs from the docker-archive from line {first}:\n{}\n---- docker-archive:\n{}",
                got.lines().skip(first).take(12).collect::<Vec<_>>().join("\n"),
                reference.lines().skip(first).take(12).collect::<Vec<_>>().join("\n")
            );
        }
    }
}

fn real_fixture_or_skip(test: &str) -> Option<std::path::PathBuf> {
    let path = match std::env::var_os("PYSLIM_REAL_FIXTURE") {
        Some(p) => std::path::PathBuf::from(p),
        None => std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/fixtures/real-python.tar"),
    };
    if path.exists() {
        return Some(path);
    }
    let why = format!(
        "{} is missing: build it with `python3 tests/fixtures/build-real-fixture.py target/fixtures`",
        path.display()
    );
    if std::env::var("PYSLIM_REQUIRE_FIXTURE").as_deref() == Ok("1") {
        panic!("{test}: PYSLIM_REQUIRE_FIXTURE=1 but {why}");
    }
    eprintln!("skipping {test}: {why}");
    None
}

/// `pyslim <args>` → its JSON output.
fn pyslim_json(args: &[&str]) -> serde_json::Value {
    let out = common::pyslim().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "pyslim {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `analyze --json` without what says where the image came from and how it was stored.
fn without_storage(mut v: serde_json::Value) -> serde_json::Value {
    let image = v["image"].as_object_mut().unwrap();
    image.remove("reference");
    image.remove("source");
    v["totals"].as_object_mut().unwrap().remove("blob_bytes");
    for layer in v["layers"].as_array_mut().unwrap() {
        let layer = layer.as_object_mut().unwrap();
        for key in ["digest", "compression", "blob_bytes"] {
            layer.remove(key);
        }
    }
    v
}

/// Loads the fixture into the daemon under a test name (the archive's manifest is rewritten
/// on the way, so no other name is touched) and removes that name when dropped.
struct LoadedAs(String);

impl LoadedAs {
    fn load(fixture: &std::path::Path, tag: &str) -> LoadedAs {
        use std::io::Read;
        use std::process::{Command, Stdio};
        let mut child = Command::new("docker")
            .args(["load", "-q"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut out = tar::Builder::new(std::io::BufWriter::new(stdin));
        let mut archive = tar::Archive::new(std::fs::File::open(fixture).unwrap());
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let mut header = entry.header().clone();
            if entry.path().unwrap().to_str() == Some("manifest.json") {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                let mut manifest: serde_json::Value = serde_json::from_slice(&data).unwrap();
                manifest[0]["RepoTags"] = serde_json::json!([tag]);
                let data = serde_json::to_vec(&manifest).unwrap();
                header.set_size(data.len() as u64);
                header.set_cksum();
                out.append(&header, data.as_slice()).unwrap();
            } else {
                out.append(&header, &mut entry).unwrap();
            }
        }
        drop(out.into_inner().unwrap());
        let done = child.wait_with_output().unwrap();
        assert!(done.status.success(), "docker load failed");
        LoadedAs(tag.to_owned())
    }
}

impl Drop for LoadedAs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rmi", &self.0])
            .output();
    }
}

/// The real image (Debian packages, PyPI wheels with auditwheel's patchelf'd libraries)
/// read from its `docker save` tar, from OCI layouts with gzip and with zstd layers (made
/// here from the tar), and from the daemon when one answers: `analyze --json` says the same
/// thing from each, findings and inventory included, apart from how the blobs are stored.
/// `compare` of three (zstd, the tar, and an uncompressed OCI copy, which may share the
/// tar's reading) keeps each column what that source alone says.
#[test]
fn the_real_image_gives_the_same_answer_from_every_source() {
    const TEST: &str = "the_real_image_gives_the_same_answer_from_every_source";
    let Some(fixture) = real_fixture_or_skip(TEST) else {
        return;
    };
    use pyslim::source::writer::convert::to_oci_dir;
    let dir = tempfile::tempdir().unwrap();
    let gzip = dir.path().join("oci-gzip");
    let zstd = dir.path().join("oci-zstd");
    let plain = dir.path().join("oci-plain");
    std::thread::scope(|s| {
        for (out, c) in [
            (&gzip, Compression::Gzip),
            (&zstd, Compression::Zstd),
            (&plain, Compression::None),
        ] {
            let fixture = &fixture;
            s.spawn(move || to_oci_dir(fixture, out, c, 64 << 20).unwrap());
        }
    });
    let tar_ref = fixture.to_str().unwrap().to_owned();
    let gzip_ref = format!("oci:{}", gzip.display());
    let zstd_ref = format!("oci:{}", zstd.display());
    let mut sources = vec![
        ("docker-archive", tar_ref.clone()),
        ("oci gzip", gzip_ref.clone()),
        ("oci zstd", zstd_ref.clone()),
    ];
    let _loaded = docker_or_skip(&format!("{TEST} (daemon part)")).then(|| {
        let tag = format!("pyslim-test/real-python-sources:{}", std::process::id());
        sources.push(("daemon", format!("docker://{tag}")));
        LoadedAs::load(&fixture, &tag)
    });
    // Side by side: the gzip copy is the slow one in a debug build.
    let analyses: Vec<_> = std::thread::scope(|s| {
        let running: Vec<_> = sources
            .iter()
            .map(|(name, r)| s.spawn(move || (*name, pyslim_json(&["analyze", "--json", r]))))
            .collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let (_, reference) = &analyses[0];
    let unstripped = reference["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "unstripped-binaries")
        .unwrap();
    assert!(
        unstripped
            .to_string()
            .contains("numpy.libs/libopenblas64_p"),
        "the patchelf'd OpenBLAS is unstripped in the fixture: {unstripped}"
    );
    for (name, a) in &analyses[1..] {
        // Findings first, for a readable failure; then everything else.
        assert_eq!(
            serde_json::to_string_pretty(&a["findings"]).unwrap(),
            serde_json::to_string_pretty(&reference["findings"]).unwrap(),
            "findings from {name} differ from the docker-archive's"
        );
        assert_eq!(
            without_storage(a.clone()),
            without_storage(reference.clone()),
            "{name}"
        );
    }
    assert_eq!(analyses[1].1["layers"][0]["compression"], "gzip");
    assert_eq!(analyses[2].1["layers"][0]["compression"], "zstd");

    // Compressed first: a shared read must not hand its blob sizes to the tar's column.
    // The uncompressed copy is stored as the tar is: it may share its reading.
    let plain_ref = format!("oci:{}", plain.display());
    let compared = pyslim_json(&["compare", "--json", &zstd_ref, &tar_ref, &plain_ref]);
    assert_eq!(
        (&compared["layers_read"], &compared["layers_shared"]),
        (&serde_json::json!(10), &serde_json::json!(5)),
        "zstd and tar read, the plain OCI copy shares the tar's layers"
    );
    let plain_analysis = pyslim_json(&["analyze", "--json", &plain_ref]);
    let variants = compared["comparison"]["variants"].as_array().unwrap();
    for (column, (name, a)) in [
        &analyses[2],
        &analyses[0],
        &("oci uncompressed", plain_analysis),
    ]
    .into_iter()
    .enumerate()
    {
        let v = &variants[column];
        let categories: serde_json::Map<_, _> = a["categories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["category"].as_str().unwrap().to_owned(),
                    c["bytes"].clone(),
                )
            })
            .collect();
        let own_view = serde_json::json!({
            "image_bytes": a["totals"]["image_bytes"],
            "blob_bytes": a["totals"]["blob_bytes"],
            "reclaimable_bytes": a["reclaimable_bytes"],
            "unstripped": categories.get("unstripped"),
        });
        let column_view = serde_json::json!({
            "image_bytes": v["image_bytes"],
            "blob_bytes": v["blob_bytes"],
            "reclaimable_bytes": v["reclaimable_bytes"],
            "unstripped": v["findings"].get("unstripped"),
        });
        assert_eq!(column_view, own_view, "compare column {column} ({name})");
        for (category, bytes) in v["findings"].as_object().unwrap() {
            assert_eq!(
                categories.get(category).unwrap_or(&serde_json::json!(0)),
                bytes,
                "compare column {column} ({name}), category {category}"
            );
        }
    }
}
