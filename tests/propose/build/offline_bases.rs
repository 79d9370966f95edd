//! `propose --build --smoke` for the distroless target, on an offline base that
//! bench/offline-bases.sh makes from Debian packages in the layout of the real one: Debian's
//! python at /usr/bin/python3.11 only, no shell, `ENTRYPOINT ["/usr/bin/python3.11"]`, user
//! 65532. (python:3.11-slim's layout, Python at /usr/local/bin and none in /usr/bin, is the
//! base of the slim build in ../build.rs.) The proposal is built, its app imported by the
//! smoke test, run once more through the image's own ENTRYPOINT (as `docker run IMAGE CMD…`
//! does), and weighed against the estimate.

use std::process::Command;

use super::{common, docker_ok, fixture, FAT};

pub const SLIM: &str = "pyslim-fixture/python-slim:3.11";
pub const BOOKWORM_BUILDER: &str = "pyslim-fixture/python-bookworm:3.11";
pub const DISTROLESS: &str = "pyslim-fixture/distroless-python:3.11";

/// The largest gap allowed between the estimated and the measured size.
pub const TOLERANCE: f64 = 0.05;

/// The smoke test: the app's own module and what it imports, from its working directory.
const SMOKE: &str =
    "python -c 'import app, numpy, requests; print(\"app imported\", numpy.__version__)'";

/// Images made since `before` (`docker images -aq`) on one of the `bases`: what a build on
/// those bases left behind, whatever other builds share the daemon.
pub fn left_behind(before: &str, bases: &[&str]) -> Vec<String> {
    let ids = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .map(|b| docker_ok(&["images", "-q", b]))
            .collect()
    };
    let ours = ids(bases);
    let before: std::collections::BTreeSet<&str> = before.lines().collect();
    let after = docker_ok(&["images", "-aq"]);
    let mut left: Vec<String> = Vec::new();
    for id in after.lines().filter(|id| !before.contains(id)) {
        let lineage = docker_ok(&["history", "-q", id]);
        let on = |set: &[String]| set.iter().any(|o| lineage.lines().any(|l| l == o));
        if on(&ours) && !left.iter().any(|l| l == id) {
            left.push(id.to_owned());
        }
    }
    left
}

/// Builds the proposal for `target` on `base` with `builder`, keeps the image under `tag`,
/// and returns the JSON report. The image is removed by the caller (`Kept`).
fn build(
    target: &str,
    base: &str,
    builder: &str,
    tag: &str,
) -> Option<(serde_json::Value, Kept, String)> {
    if !crate::common::docker_or_skip("propose --build on offline bases") {
        return None;
    }
    let e2e = fixture()?;
    let images_before = docker_ok(&["images", "-aq"]);
    let (_index, port) = common::wheel_index::serve(&e2e.join("index"));
    let work = tempfile::tempdir().unwrap();
    let run = common::pyslim()
        .args(["propose", FAT, "-f"])
        .arg(e2e.join("ctx/Dockerfile"))
        .arg("-o")
        .arg(work.path().join("Dockerfile.pyslim"))
        .args([
            "--target",
            target,
            "--base",
            base,
            "--builder-base",
            builder,
        ])
        .args(["--build", "--keep", "--network", "host", "--tag", tag])
        .arg(format!(
            "--build-arg=PIP_INDEX_URL=http://127.0.0.1:{port}/simple"
        ))
        .arg("--build-arg=PIP_TRUSTED_HOST=127.0.0.1")
        .args(["--smoke", SMOKE, "--json"])
        .output()
        .unwrap();
    let kept = Kept(tag.to_owned());
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "propose --build --target {target} failed: {}\n{stdout}",
        String::from_utf8_lossy(&run.stderr)
    );
    Some((serde_json::from_str(&stdout).unwrap(), kept, images_before))
}

/// The kept image, removed when the test ends however it ends.
struct Kept(String);

impl Drop for Kept {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", &self.0]).output();
    }
}

/// Checks what a kept proposal must do: the smoke test passed, the app runs through the
/// image's own ENTRYPOINT, and the size is within TOLERANCE of the estimate.
fn check(doc: &serde_json::Value, tag: &str, target: &str) {
    let m = &doc["measured"];
    let smoke = &m["smoke"];
    eprintln!("{target}: smoke {}", smoke);
    assert_eq!(smoke["passed"], true, "{target}: {smoke}");
    assert!(
        smoke["output"]
            .as_str()
            .unwrap()
            .contains("app imported 1.26.4"),
        "{smoke}"
    );
    // `docker run IMAGE python -c …` keeps the image's ENTRYPOINT (the smoke test replaces
    // it): on distroless a CMD under the base's python3.11 entrypoint would run
    // `python3.11 python -c …`.
    let out = Command::new("docker")
        .args(["run", "--rm", "--network", "none", tag])
        .args(["python", "-c", "import app; print(app.app.name)"])
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "app",
        "{target}: the image's own entrypoint does not run its command: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let config = docker_ok(&[
        "image",
        "inspect",
        "-f",
        "{{json .Config.Entrypoint}} {{json .Config.Cmd}}",
        tag,
    ]);
    assert_eq!(config, "null [\"python\",\"app.py\"]", "{target}");

    let measured = m["total_bytes"].as_u64().unwrap() as f64;
    let estimated = doc["proposal"]["estimate"]["total_bytes"].as_u64().unwrap() as f64;
    let error = (estimated - measured) / measured;
    eprintln!(
        "{target}: estimated {estimated} B, measured {measured} B ({:+.2}%)",
        error * 100.0
    );
    for l in m["layers"].as_array().unwrap() {
        eprintln!(
            "  {:>12} est {:>12} measured  {}",
            l["estimated"], l["measured"], l["instruction"]
        );
    }
    assert!(
        error.abs() < TOLERANCE,
        "{target}: estimate {estimated} B is {:.1}% off the measured {measured} B",
        error * 100.0
    );
}

#[test]
fn distroless_on_a_distroless_layout_runs_and_weighs_what_was_estimated() {
    let tag = "pyslim-e2e/offline-distroless:test";
    let Some((doc, kept, images_before)) =
        build("distroless", DISTROLESS, super::DEBIAN_BUILDER, tag)
    else {
        return;
    };
    assert_eq!(
        doc["proposal"]["plan"]["interpreter"]["path"],
        "/usr/bin/python3.11"
    );
    check(&doc, tag, "distroless");
    // No shell came back with the copy, and the app runs as nonroot.
    let out = Command::new("docker")
        .args(["run", "--rm", "--network", "none", tag])
        .args([
            "python",
            "-c",
            "import os; print(os.path.exists('/bin/sh'), os.getuid())",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "False 65532");
    // With the kept image gone, nothing of this build is left.
    drop(kept);
    let left = left_behind(&images_before, &[DISTROLESS, super::DEBIAN_BUILDER]);
    assert!(left.is_empty(), "images left behind: {left:?}");
}
