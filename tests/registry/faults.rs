//! What a real registry never does, served by a tiny HTTP server in the test: bytes that are
//! not the blob they are asked for, a schema 1 manifest, a foreign layer. These need neither
//! docker-registry nor skopeo, so they always run.

use std::path::Path;

use super::fake::{FakeRegistry, Routes};
use super::kit::{analyze_json, error_line, pyslim};
use super::{app_layout, manifest_digest};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// Routes that serve an OCI layout as the repository `app`, tag `1`, with `manifest` as
/// the tag's manifest.
fn routes_for(layout: &Path, manifest: Vec<u8>) -> Routes {
    let mut routes = Routes::new();
    routes.insert(
        "/v2/".into(),
        (200, "application/json".into(), b"{}".to_vec()),
    );
    routes.insert(
        "/v2/app/manifests/1".into(),
        (200, OCI_MANIFEST.into(), manifest),
    );
    for blob in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        let blob = blob.unwrap();
        let digest = format!("sha256:{}", blob.file_name().to_string_lossy());
        routes.insert(
            format!("/v2/app/blobs/{digest}"),
            (
                200,
                "application/octet-stream".into(),
                std::fs::read(blob.path()).unwrap(),
            ),
        );
    }
    routes
}

fn manifest_of(layout: &Path) -> (Vec<u8>, serde_json::Value) {
    let digest = manifest_digest(layout);
    let bytes = std::fs::read(
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap();
    let json = serde_json::from_slice(&bytes).unwrap();
    (bytes, json)
}

#[test]
fn a_blob_whose_bytes_do_not_match_its_digest_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let layout = app_layout(dir.path());
    let (bytes, manifest) = manifest_of(&layout);
    let mut routes = routes_for(&layout, bytes);
    // The biggest layer, one byte changed in its middle.
    let layer = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|l| l["size"].as_u64())
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let served = routes.get_mut(&format!("/v2/app/blobs/{layer}")).unwrap();
    let mid = served.2.len() / 2;
    served.2[mid] ^= 0x55;
    let fake = FakeRegistry::serve(routes);

    let line = error_line(&pyslim(
        &["analyze", &format!("registry://{}/app:1", fake.host())],
        &[],
        None,
    ));
    assert!(
        line.starts_with(&format!(
            "pyslim: {}/app:1: layer {layer}: digest mismatch: expected {layer}, found sha256:",
            fake.host()
        )),
        "{line}"
    );
}

#[test]
fn a_schema_1_manifest_is_refused_with_what_to_do() {
    let mut routes = Routes::new();
    routes.insert(
        "/v2/".into(),
        (200, "application/json".into(), b"{}".to_vec()),
    );
    routes.insert(
        "/v2/old/manifests/1".into(),
        (
            200,
            "application/vnd.docker.distribution.manifest.v1+prettyjws".into(),
            br#"{"schemaVersion":1,"name":"old","tag":"1","architecture":"amd64","fsLayers":[],"history":[]}"#.to_vec(),
        ),
    );
    let fake = FakeRegistry::serve(routes);
    let line = error_line(&pyslim(
        &["analyze", &format!("registry://{}/old:1", fake.host())],
        &[],
        None,
    ));
    assert_eq!(
        line,
        format!("pyslim: {}/old:1: a Docker schema 1 manifest, which pyslim does not read (deprecated since 2017): push the image again with a current docker or skopeo", fake.host())
    );
}

#[test]
fn a_foreign_layer_is_skipped_with_a_warning_and_never_fetched() {
    let dir = tempfile::tempdir().unwrap();
    let layout = app_layout(dir.path());
    let (_, mut manifest) = manifest_of(&layout);
    let first = manifest["layers"][0]["digest"].as_str().unwrap().to_owned();
    manifest["layers"][0]["mediaType"] =
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip".into();
    manifest["layers"][0]["urls"] = serde_json::json!(["https://example.invalid/base.tar.gz"]);
    let mut routes = routes_for(&layout, serde_json::to_vec(&manifest).unwrap());
    // Not served: fetching it would fail the read.
    routes.remove(&format!("/v2/app/blobs/{first}"));
    let fake = FakeRegistry::serve(routes);

    let (json, _) = analyze_json(&[&format!("registry://{}/app:1", fake.host())], &[]);
    let warnings = json["warnings"].to_string();
    assert!(
        warnings.contains(&format!(
            "layer {first}: a foreign (non-distributable) layer"
        )) && warnings.contains("skipped"),
        "{warnings}"
    );
    assert_eq!(
        json["layers"][0]["entries"],
        serde_json::json!(0),
        "{}",
        json["layers"][0]
    );
}

#[test]
fn too_many_requests_is_waited_out_as_retry_after_says() {
    let dir = tempfile::tempdir().unwrap();
    let layout = app_layout(dir.path());
    let (bytes, _) = manifest_of(&layout);
    let routes = routes_for(&layout, bytes);
    let refused = std::sync::atomic::AtomicUsize::new(0);
    let fake = FakeRegistry::serve_with(Box::new(move |path, _| {
        // The first ask for the manifest is told to come back in a second.
        if path == "/v2/app/manifests/1"
            && refused.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0
        {
            return (429, "application/json".into(), b"{}".to_vec());
        }
        routes
            .get(path)
            .cloned()
            .unwrap_or((404, "application/json".into(), b"{}".to_vec()))
    }));
    let started = std::time::Instant::now();
    let (json, _) = analyze_json(&[&format!("registry://{}/app:1", fake.host())], &[]);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "waited"
    );
    assert_eq!(json["layers"].as_array().map(Vec::len), Some(4));
}

#[test]
fn a_blob_that_stalls_mid_stream_ends_in_a_timeout_line() {
    let dir = tempfile::tempdir().unwrap();
    let layout = app_layout(dir.path());
    let (bytes, manifest) = manifest_of(&layout);
    let mut routes = routes_for(&layout, bytes);
    let layer = manifest["layers"][0]["digest"].as_str().unwrap().to_owned();
    routes.get_mut(&format!("/v2/app/blobs/{layer}")).unwrap().1 = "x-test/stall".into();
    let fake = FakeRegistry::serve(routes);
    let started = std::time::Instant::now();
    let line = error_line(&pyslim(
        &["analyze", &format!("registry://{}/app:1", fake.host())],
        &[("PYSLIM_REGISTRY_TIMEOUT", "1")],
        None,
    ));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "gave up in time"
    );
    assert!(
        line.contains(&format!("layer {layer}"))
            && line.contains("sent nothing for 1s")
            && line.contains("PYSLIM_REGISTRY_TIMEOUT"),
        "{line}"
    );
}
