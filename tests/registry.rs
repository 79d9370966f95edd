//! Images read straight from a real registry (Debian's `docker-registry`, started on
//! 127.0.0.1 by each test), pushed there with `skopeo` from the OCI layouts the test kit
//! writes. The key check: `analyze --json` of the image from the registry is the JSON of the
//! same image read from its OCI layout. Faults each end in one line naming the registry.
//! Kept free of crate-level attributes so it can become a module of a bigger test binary.

mod common;
#[path = "registry/fake.rs"]
mod fake;
#[path = "registry/kit.rs"]
mod kit;
#[path = "registry/token.rs"]
mod token;

use std::path::{Path, PathBuf};

use common::{python_app_spec, with_compression, write_dir};
use kit::{analyze_json, assert_same_json, error_line, pyslim, Registry, Setup};
use pyslim::core::image::Compression;
use pyslim::source::writer::{ImageSpec, LayerSpec, SpecEntry};

/// The app image with gzip and zstd layers.
fn app_layout(dir: &Path) -> PathBuf {
    let spec = with_compression(
        python_app_spec("fixture/app:1"),
        &[Compression::Gzip, Compression::Zstd],
    );
    write_dir(dir, "app", &spec)
}

fn oci_json(layout: &Path) -> serde_json::Value {
    analyze_json(&[&format!("oci:{}", layout.display())], &[]).0
}

/// The digest of the image manifest an OCI layout's index names.
fn manifest_digest(layout: &Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["digest"].as_str().unwrap().to_owned()
}

#[test]
fn a_plain_http_registry_gives_the_json_of_the_oci_layout() {
    if !kit::tools_or_skip("a_plain_http_registry_gives_the_json_of_the_oci_layout") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let layout = app_layout(dir.path());
    let registry = Registry::start(Setup::default());
    registry.push(&layout, "team/app:1", false);
    let host = registry.host();
    let want = oci_json(&layout);
    assert!(
        want["layers"]
            .as_array()
            .is_some_and(|l| l.iter().any(|l| l["compression"] == "zstd")),
        "the image has a zstd layer"
    );

    let (got, quiet) = analyze_json(&[&format!("registry://{host}/team/app:1")], &[]);
    assert_same_json(&got, &want, "registry://");
    assert_eq!(quiet, "", "a forced registry read says nothing");

    // No daemon answers: a name goes to its registry, with one line saying so.
    let (auto, told) = analyze_json(&[&format!("{host}/team/app:1")], &[]);
    assert_same_json(&auto, &want, "auto");
    assert_eq!(told.trim_end().lines().count(), 1, "{told}");
    assert!(
        told.contains(&format!("reading it from its registry, {host}")),
        "{told}"
    );

    // compare: a layer two images share is read once, and the second is never fetched.
    registry.push(&layout, "team/app:again", false);
    let out = pyslim(
        &[
            "compare",
            "--json",
            &format!("registry://{host}/team/app:1"),
            &format!("registry://{host}/team/app:again"),
        ],
        &[],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let compared: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&compared["layers_read"], &compared["layers_shared"]),
        (&serde_json::json!(4), &serde_json::json!(4)),
        "each of the 4 layers read once"
    );

    let digest = manifest_digest(&layout);
    let (by_digest, _) = analyze_json(
        &["--source", "registry", &format!("{host}/team/app@{digest}")],
        &[],
    );
    assert_same_json(&by_digest, &want, "@sha256");
}

#[test]
fn unknown_names_a_registry_that_is_down_and_a_manifest_over_the_cap_are_one_line_each() {
    if !kit::tools_or_skip(
        "unknown_names_a_registry_that_is_down_and_a_manifest_over_the_cap_are_one_line_each",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let layout = app_layout(dir.path());
    let registry = Registry::start(Setup::default());
    registry.push(&layout, "team/app:1", false);
    let host = registry.host();

    let tag = error_line(&pyslim(
        &["analyze", &format!("registry://{host}/team/app:2")],
        &[],
        None,
    ));
    assert!(
        tag.starts_with(&format!("pyslim: {host}/team/app: no 2 there")),
        "{tag}"
    );
    let repo = error_line(&pyslim(
        &["analyze", &format!("registry://{host}/team/nothing:1")],
        &[],
        None,
    ));
    assert!(repo.contains("team/nothing"), "{repo}");

    let capped = error_line(&pyslim(
        &[
            "analyze",
            "--max-json-bytes",
            "100",
            &format!("registry://{host}/team/app:1"),
        ],
        &[],
        None,
    ));
    assert!(capped.contains("--max-json-bytes"), "{capped}");

    let down = format!("127.0.0.1:{}", kit::free_port());
    let refused = error_line(&pyslim(
        &["analyze", &format!("registry://{down}/team/app:1")],
        &[],
        None,
    ));
    assert!(
        refused.starts_with(&format!("pyslim: {down}: cannot connect"))
            && refused.contains("is the registry running"),
        "{refused}"
    );
    // Auto: neither the daemon nor the registry has it; the line gives both reasons.
    let both = pyslim(&["analyze", &format!("{down}/team/app:1")], &[], None);
    let text = String::from_utf8_lossy(&both.stderr);
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
    assert!(
        text.contains("cannot connect to the Docker daemon")
            && text.contains("from its registry: 127.0.0.1"),
        "{text}"
    );
}

#[test]
fn a_multi_platform_index_gives_the_host_platform_or_the_one_asked_for() {
    if !kit::tools_or_skip("a_multi_platform_index_gives_the_host_platform_or_the_one_asked_for") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let amd = with_compression(python_app_spec("fixture/mp:1"), &[Compression::Zstd]);
    let mut arm = ImageSpec::new(
        "fixture/mp:1",
        vec![LayerSpec::new(
            "arm base",
            vec![SpecEntry::file("arm-only", 10)],
        )],
    );
    arm.architecture = "arm64".into();
    // skopeo gzips uncompressed layers on the way to a registry: store them as it would.
    let arm = with_compression(arm, &[Compression::Gzip]);
    let amd_dir = write_dir(dir.path(), "amd", &amd);
    let arm_dir = write_dir(dir.path(), "arm", &arm);
    let multi = merge_layouts(dir.path(), &[(&amd_dir, "amd64"), (&arm_dir, "arm64")]);
    let registry = Registry::start(Setup::default());
    registry.push(&multi, "multi/app:1", true);
    let image = format!("registry://{}/multi/app:1", registry.host());

    let arm_json = analyze_json(&["--platform", "linux/arm64", &image], &[]).0;
    assert_eq!(arm_json["image"]["config"]["architecture"], "arm64");
    assert_same_json(&arm_json, &oci_json(&arm_dir), "linux/arm64");
    if std::env::consts::ARCH == "x86_64" {
        let host = analyze_json(&[&image], &[]).0;
        assert_same_json(&host, &oci_json(&amd_dir), "the host's platform");
    }
    let none = error_line(&pyslim(
        &["analyze", "--platform", "linux/s390x", &image],
        &[],
        None,
    ));
    assert!(
        none.contains("no manifest for platform linux/s390x")
            && none.contains("linux/amd64")
            && none.contains("--platform"),
        "{none}"
    );
}

/// One layout whose index names each layout's manifest with its platform.
fn merge_layouts(dir: &Path, parts: &[(&PathBuf, &str)]) -> PathBuf {
    let root = dir.join("multi");
    std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
    let mut manifests = Vec::new();
    for (src, arch) in parts {
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
        if let Some(a) = m.as_object_mut() {
            a.remove("annotations");
        }
        manifests.push(m);
    }
    // skopeo copies every platform (`--all`) of a layout whose index.json names one index.
    let multi = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests
    }))
    .unwrap();
    let hex = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&multi))
    };
    std::fs::write(root.join("blobs/sha256").join(&hex), &multi).unwrap();
    std::fs::write(
        root.join("index.json"),
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": format!("sha256:{hex}"),
                "size": multi.len(),
            }]
        }))
        .unwrap(),
    )
    .unwrap();
    std::fs::write(
        root.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    root
}

#[path = "registry/auth.rs"]
mod auth;
#[path = "registry/faults.rs"]
mod faults;

#[test]
fn trimming_a_registry_image_says_to_pull_it_first_before_reading_it() {
    // Nothing listens there: the refusal comes before any read.
    let dir = tempfile::tempdir().unwrap();
    let decisions = dir.path().join("d.toml");
    std::fs::write(&decisions, "").unwrap();
    let out_prefix = dir.path().join("trimmed");
    let name = format!("127.0.0.1:{}/team/app:1", kit::free_port());
    let line = error_line(&pyslim(
        &[
            "trim",
            "--decisions",
            decisions.to_str().unwrap(),
            "-o",
            out_prefix.to_str().unwrap(),
            &format!("registry://{name}"),
        ],
        &[],
        None,
    ));
    assert_eq!(
        line,
        format!("pyslim: {name}: a trimmed image is written from the image's own layers, which pyslim does not keep from a registry: pull it into the Docker daemon first (docker pull {name}) and trim that, or pass --no-image")
    );
}

/// Issue #15: a layer the disk cache holds is never downloaded. The second read of the same
/// image asks the registry for its manifest and config only, and gives the same JSON.
#[test]
fn a_warm_cache_downloads_no_layer_blob_and_gives_the_same_json() {
    if !kit::tools_or_skip("a_warm_cache_downloads_no_layer_blob_and_gives_the_same_json") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let layout = app_layout(dir.path());
    let registry = Registry::start(Setup::default());
    registry.push(&layout, "team/app:1", false);
    let host = registry.host();
    let cache = dir.path().join("cache");
    let trace = dir.path().join("trace");
    let env = [
        ("PYSLIM_NO_CACHE", ""),
        ("PYSLIM_CACHE_DIR", cache.to_str().unwrap()),
        ("PYSLIM_CACHE_TRACE", trace.to_str().unwrap()),
    ];
    let reference = format!("registry://{host}/team/app:1");
    let layer_gets = |log: &str| {
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(
                layout
                    .join("blobs/sha256")
                    .join(manifest_digest(&layout).trim_start_matches("sha256:")),
            )
            .unwrap(),
        )
        .unwrap();
        manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| log.matches(l["digest"].as_str().unwrap()).count())
            .sum::<usize>()
    };
    let (cold, _) = analyze_json(&[&reference], &env);
    let fetched_cold = layer_gets(&registry.log());
    assert!(fetched_cold > 0, "the cold read downloads the layers");
    let (warm, _) = analyze_json(&[&reference], &env);
    assert_eq!(
        layer_gets(&registry.log()),
        fetched_cold,
        "the warm read downloaded a layer blob again"
    );
    assert_eq!(cold, warm, "a cache hit gives the JSON of a cold read");
    let events = std::fs::read_to_string(&trace).unwrap();
    assert!(events.lines().any(|l| l.starts_with("hit")), "{events}");
    let (uncached, _) = analyze_json(&[&reference, "--no-cache"], &env);
    assert_eq!(uncached, cold);
}
