//! Proof by a real build: the fat app of bench/real-image.sh is built, a trimming session
//! decided from a file writes its Dockerfile patch, the patched Dockerfile is built too, and
//! the engine's sizes show the patch saves at least 90% of what the session projected for
//! the findings the patch realises. The patched image still imports the app's packages.
//!
//! Needs a Docker engine, the images `pyslim-fixture/debian-python:base` (the offline base)
//! and `pyslim-fixture/fat-app:latest`, and PYSLIM_E2E_DIR naming the script's output (ctx/
//! and index/, the local wheel index served again here). The builds fetch Debian packages
//! from the mirror, as the script's did. Skips with the reason unless PYSLIM_REQUIRE_E2E=1.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common;

const BASE: &str = "pyslim-fixture/debian-python:base";
const FAT: &str = "pyslim-fixture/fat-app:latest";

/// Images this test tagged, removed when dropped.
struct Tags(Vec<String>);

impl Drop for Tags {
    fn drop(&mut self) {
        for t in &self.0 {
            let _ = Command::new("docker")
                .args(["rmi", "-f", t])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn fixture() -> Option<PathBuf> {
    let required = std::env::var("PYSLIM_REQUIRE_E2E").as_deref() == Ok("1");
    let dir = std::env::var_os("PYSLIM_E2E_DIR").map(PathBuf::from);
    let present = Command::new("docker")
        .args(["image", "inspect", BASE, FAT])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    match dir {
        Some(d) if present && d.join("ctx/Dockerfile").is_file() && d.join("index").is_dir() => {
            Some(d)
        }
        _ if required => panic!(
            "PYSLIM_REQUIRE_E2E=1 but the e2e fixture is missing: run `OUT=DIR bash bench/real-image.sh` and set PYSLIM_E2E_DIR=DIR"
        ),
        _ => {
            eprintln!("skipping the trim build test: no e2e fixture (run bench/real-image.sh, set PYSLIM_E2E_DIR)");
            None
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-r")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(ok.success(), "cp -r {} {}", from.display(), to.display());
}

fn build(ctx: &Path, tag: &str, port: u16) {
    let out = Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "--network", "host", "-q"])
        .arg(format!(
            "--build-arg=PIP_INDEX_URL=http://127.0.0.1:{port}/simple"
        ))
        .arg("--build-arg=PIP_TRUSTED_HOST=127.0.0.1")
        .args(["-t", tag])
        .arg(ctx)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker build {} failed:\n{}{}",
        ctx.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn image_size(tag: &str) -> u64 {
    let out = Command::new("docker")
        .args(["image", "inspect", "-f", "{{.Size}}", tag])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// `12.5 MiB` → bytes.
fn bytes_of(n: &str, unit: &str) -> f64 {
    let n: f64 = n.parse().unwrap_or_else(|_| panic!("{n:?}"));
    n * match unit.trim_end_matches(['.', ',', '(']) {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => panic!("unit {other:?}"),
    }
}

#[test]
fn the_patched_dockerfile_saves_what_the_session_projected() {
    if !common::docker_or_skip("trim build") {
        return;
    }
    let Some(e2e) = fixture() else { return };
    let (_index, port) = common::wheel_index::serve(&e2e.join("index"));
    let work = tempfile::tempdir().unwrap();
    let id = std::process::id();
    let original = format!("pyslim-test/trim-original:{id}");
    let patched = format!("pyslim-test/trim-patched:{id}");
    let _tags = Tags(vec![original.clone(), patched.clone()]);

    let orig_ctx = work.path().join("original");
    copy_dir(&e2e.join("ctx"), &orig_ctx);
    build(&orig_ctx, &original, port);

    let accept = [
        "apt-lists",
        "compilers",
        "dev-packages",
        "locales",
        "python-package-tests",
        "pip-cache",
        "python-packaging-tools",
        "docs",
        "wasted-bytes#1",
    ];
    // The findings this build has (a rebuild may differ from the script's image a little).
    std::fs::write(work.path().join("none.toml"), "").unwrap();
    let probe = common::pyslim()
        .current_dir(work.path())
        .args([
            "trim",
            &original,
            "--decisions",
            "none.toml",
            "--no-image",
            "-o",
            "probe",
        ])
        .output()
        .unwrap();
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let table = std::fs::read_to_string(work.path().join("probe.md")).unwrap();
    let present = |key: &&&str| table.contains(&format!("(`{key}`)"));
    let accept: Vec<&str> = accept.iter().filter(present).copied().collect();
    assert!(accept.contains(&"compilers"), "{table}");
    let decisions: String = accept
        .iter()
        .map(|f| format!("[[decision]]\nfinding = \"{f}\"\naccept = true\n\n"))
        .collect();
    std::fs::write(work.path().join("d.toml"), decisions).unwrap();
    let run = common::pyslim()
        .current_dir(work.path())
        .args([
            "trim",
            &original,
            "--decisions",
            "d.toml",
            "--no-image",
            "-o",
            "out",
            "-f",
        ])
        .arg(orig_ctx.join("Dockerfile"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "trim failed: {}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let md = std::fs::read_to_string(work.path().join("out.md")).unwrap();
    let headline = md.lines().find(|l| l.starts_with("Layers ship")).unwrap();
    let words: Vec<&str> = headline.split_whitespace().collect();
    let at = words
        .windows(2)
        .position(|w| w == ["Dockerfile", "saves"])
        .unwrap_or_else(|| panic!("no patch saving in: {headline}"));
    let projected = bytes_of(words[at + 2], words[at + 3]);

    let patched_ctx = work.path().join("patched");
    copy_dir(&e2e.join("ctx"), &patched_ctx);
    let applied = Command::new("patch")
        .args(["-p1", "-i"])
        .arg(work.path().join("out.patch"))
        .current_dir(&patched_ctx)
        .output()
        .unwrap();
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stdout)
    );
    build(&patched_ctx, &patched, port);

    let (before, after) = (image_size(&original), image_size(&patched));
    let measured = before.saturating_sub(after) as f64;
    eprintln!(
        "original {before} B, patched {after} B: measured saving {measured} B, projected {projected} B ({:.1}%)",
        measured * 100.0 / projected
    );
    assert!(
        measured >= 0.9 * projected,
        "the patch saved {measured} B, less than 90% of the {projected} B projected\n{md}"
    );
    // Still the app: its packages import.
    let smoke = Command::new("docker")
        .args(["run", "--rm", "--network", "none", &patched, "python", "-c"])
        .arg("import flask, pandas, numpy, requests; print('ok')")
        .output()
        .unwrap();
    assert!(
        smoke.status.success(),
        "the patched image does not import its packages: {}",
        String::from_utf8_lossy(&smoke.stderr)
    );
}
