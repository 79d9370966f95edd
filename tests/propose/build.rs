//! `pyslim propose --build` end to end on this machine's engine, with no registry: the fat
//! app image that bench/real-image.sh builds from a debootstrap root file system, Debian
//! packages and PyPI wheels (served from a local index, as the build containers cannot reach
//! PyPI). The proposal is built through the engine, smoke-tested, measured, and cleaned up:
//! for the slim target here, on a base laid out as python:3.11-slim, and for the distroless
//! target in build/offline_bases.rs.
//!
//! Needs the images `pyslim-fixture/fat-app:latest` and those bench/offline-bases.sh makes,
//! and PYSLIM_E2E_DIR naming the script's output directory (ctx/ and index/). CI sets all of
//! this up; elsewhere the test skips unless PYSLIM_REQUIRE_E2E=1.

// `propose --build --smoke` for the slim and distroless targets on bases laid out as the real ones.
#[path = "build/offline_bases.rs"]
mod offline;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::common;

const FAT: &str = "pyslim-fixture/fat-app:latest";
const BASE: &str = "pyslim-fixture/debian-python:base";
/// Debian's python3 with the toolchain the app installs (bench/offline-bases.sh): a builder
/// whose apt-get install finds everything there already.
const DEBIAN_BUILDER: &str = "pyslim-fixture/debian-builder:3.11";
const TAG: &str = "pyslim-e2e/proposal:test";

fn fixture() -> Option<PathBuf> {
    let required = std::env::var("PYSLIM_REQUIRE_E2E").as_deref() == Ok("1");
    let dir = std::env::var_os("PYSLIM_E2E_DIR").map(PathBuf::from);
    let images = [
        "inspect",
        FAT,
        BASE,
        DEBIAN_BUILDER,
        offline::SLIM,
        offline::BOOKWORM_BUILDER,
        offline::DISTROLESS,
    ];
    let present = Command::new("docker")
        .arg("image")
        .args(images)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    match dir {
        Some(d) if present && d.join("ctx/Dockerfile").is_file() => Some(d),
        _ if required => panic!(
            "PYSLIM_REQUIRE_E2E=1 but the fixture is missing: run `OUT=DIR bash bench/real-image.sh` (it makes the offline bases too) and set PYSLIM_E2E_DIR=DIR"
        ),
        _ => {
            eprintln!("skipped: no e2e fixture (run bench/real-image.sh, set PYSLIM_E2E_DIR)");
            None
        }
    }
}

fn docker_ok(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn the_proposal_builds_runs_and_weighs_what_was_estimated() {
    if !common::docker_or_skip("propose --build") {
        return;
    }
    let Some(e2e) = fixture() else { return };
    let (_index, port) = common::wheel_index::serve(&e2e.join("index"));
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("Dockerfile.pyslim");
    let fat_bytes: u64 = docker_ok(&["image", "inspect", "-f", "{{.Size}}", FAT])
        .parse()
        .unwrap();
    let images_before = docker_ok(&["images", "-aq"]);

    let run = Command::new(common::PYSLIM)
        .args(["propose", FAT, "-f"])
        .arg(e2e.join("ctx/Dockerfile"))
        .arg("-o")
        .arg(&out)
        .args([
            "--base",
            offline::SLIM,
            "--builder-base",
            offline::BOOKWORM_BUILDER,
            "--build",
            "--network",
            "host",
        ])
        .args(["--tag", TAG])
        .arg(format!(
            "--build-arg=PIP_INDEX_URL=http://127.0.0.1:{port}/simple"
        ))
        .arg("--build-arg=PIP_TRUSTED_HOST=127.0.0.1")
        .args([
            "--smoke",
            "python -c 'import flask, pandas, numpy, requests; print(numpy.__version__)'",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = run.id();
    let run = run.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "propose --build failed: {}\n{stdout}",
        String::from_utf8_lossy(&run.stderr)
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let m = &doc["measured"];
    let measured = m["total_bytes"].as_u64().unwrap();
    let estimated = doc["proposal"]["estimate"]["total_bytes"].as_u64().unwrap();
    let error = (estimated as f64 - measured as f64) / measured as f64;
    eprintln!(
        "fat {fat_bytes} B, proposed: estimated {estimated} B, measured {measured} B ({:+.2}%)",
        error * 100.0
    );
    for l in m["layers"].as_array().unwrap() {
        eprintln!(
            "  {} est {} measured {}",
            l["instruction"], l["estimated"], l["measured"]
        );
    }
    assert!(
        measured < fat_bytes / 2,
        "{measured} B is not much smaller than {fat_bytes} B"
    );
    assert!(
        error.abs() < offline::TOLERANCE,
        "estimate {estimated} B is {:.1}% off {measured} B",
        error * 100.0
    );
    assert_eq!(m["smoke"]["passed"], true, "{}", m["smoke"]);
    assert!(m["smoke"]["output"].as_str().unwrap().contains("1.26.4"));
    // The venv is made with the interpreter python:3.11-slim has, at its path.
    assert_eq!(
        doc["proposal"]["plan"]["interpreter"]["path"],
        "/usr/local/bin/python3.11"
    );
    // Each runtime layer is estimated; the venv within 10% on its own.
    let venv = m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["estimated"].as_u64().unwrap_or(0) > 50_000_000)
        .expect("the venv layer");
    let (e, v) = (
        venv["estimated"].as_u64().unwrap() as f64,
        venv["measured"].as_u64().unwrap() as f64,
    );
    assert!(((e - v) / v).abs() < 0.10, "venv {e} vs {v}");

    // Cleaned up: the image (no --keep), the smoke container, the builder stage images.
    assert_eq!(
        docker_ok(&["images", "-q", TAG]),
        "",
        "the built image is removed"
    );
    // Other builds may share the daemon (the distroless test runs beside this one): only this
    // run's smoke containers (named after its pid) and images built on its bases count.
    assert_eq!(
        docker_ok(&[
            "ps",
            "-aq",
            "--filter",
            &format!("name=pyslim-smoke-{pid}-")
        ]),
        ""
    );
    let left = offline::left_behind(&images_before, &[offline::SLIM, offline::BOOKWORM_BUILDER]);
    assert!(left.is_empty(), "images left behind: {left:?}");
    // The proposal file is what was built, and it names its findings.
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("# pyslim: test suites inside installed packages (python-package-tests"));
}

/// `--force` is about the output file: it must not let the build take over (and the
/// clean-up then delete) an image the user already has under that tag.
#[test]
fn an_existing_tag_is_refused_even_with_force() {
    if !common::docker_or_skip("propose --build --tag") {
        return;
    }
    let Some(e2e) = fixture() else { return };
    let mine = "pyslim-e2e/users-own:test";
    let base_id = docker_ok(&["image", "inspect", "-f", "{{.Id}}", BASE]);
    assert!(Command::new("docker")
        .args(["tag", BASE, mine])
        .status()
        .unwrap()
        .success());
    let work = tempfile::tempdir().unwrap();
    let run = common::pyslim()
        .args(["propose", FAT, "-f"])
        .arg(e2e.join("ctx/Dockerfile"))
        .arg("-o")
        .arg(work.path().join("Dockerfile.pyslim"))
        .args(["--force", "--build", "--tag", mine])
        .output()
        .unwrap();
    let still = docker_ok(&["image", "inspect", "-f", "{{.Id}}", mine]);
    // Untag only (the base keeps its own tag), before asserting.
    let _ = Command::new("docker").args(["rmi", mine]).output();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{mine} already exists in the Docker daemon; pyslim will not take it over: pass --tag NAME, or --replace-tag"
        )),
        "{stderr}"
    );
    assert_eq!(still, base_id, "the user's tag still names their image");
}
