//! Trimmed images through the Docker daemon, end to end: `docker load` (through the API)
//! accepts what pyslim writes, in both formats, under the image ID pyslim computed; and a
//! real-shaped Python image built from Debian packages and PyPI wheels, with its tests,
//! caches, headers and compilers trimmed, loads, passes a smoke import of every package,
//! and is smaller as the daemon measures it.
//!
//! Needs a Docker engine (skips without one unless PYSLIM_REQUIRE_DOCKER=1) and, for the
//! real image, `python3 tests/fixtures/build-real-fixture.py --runnable target/fixtures`
//! (skips without it unless PYSLIM_REQUIRE_FIXTURE=1).

mod common;

use std::path::PathBuf;

use pyslim::docker::{self, Client};
use pyslim::source::writer::{ArchiveFormat, ImageSpec, LayerSpec, SpecEntry};

fn decisions(accept: &[&str]) -> String {
    accept
        .iter()
        .map(|f| format!("[[decision]]\nfinding = \"{f}\"\naccept = true\n\n"))
        .collect()
}

/// Images a test made, removed when it ends (also when it fails).
struct Cleanup<'a>(&'a Client, Vec<String>);
impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for r in &self.1 {
            let _ = self.0.remove_image(r);
        }
    }
}

/// Containers made from `image` that are still there.
fn leftover_containers(image: &str) -> String {
    let out = std::process::Command::new("docker")
        .args(["ps", "-a", "-q", "--filter", &format!("ancestor={image}")])
        .output()
        .expect("docker ps");
    assert!(
        out.status.success(),
        "docker ps: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn docker_loads_both_formats_and_a_squash_under_the_id_pyslim_computed() {
    if !common::docker_or_skip(
        "docker_loads_both_formats_and_a_squash_under_the_id_pyslim_computed",
    ) {
        return;
    }
    let client = Client::connect().unwrap();
    let spec = ImageSpec::new(
        "t/trim-load:1",
        vec![
            LayerSpec::new(
                "/bin/sh -c #(nop) ADD file:base in / ",
                vec![
                    SpecEntry::dir("usr"),
                    SpecEntry::file("usr/lib/python3.11/os.py", 3_000),
                    SpecEntry::file("tmp/old.log", 9_000),
                ],
            ),
            LayerSpec::new(
                "/bin/sh -c pip install x",
                vec![
                    SpecEntry::dir("usr"),
                    SpecEntry::file("root/.cache/pip/http/a.body", 400_000),
                    SpecEntry::file("app/x.py", 1_000),
                    SpecEntry::whiteout("tmp/old.log"),
                ],
            ),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let tar = common::write_tar(dir.path(), "t.tar", &spec, ArchiveFormat::DockerLegacy);
    std::fs::write(dir.path().join("d.toml"), decisions(&["pip-cache"])).unwrap();
    let pid = std::process::id();
    for (format, squash) in [("docker", false), ("oci", false), ("docker", true)] {
        let variant = format!("{format}{}", if squash { "-squash" } else { "" });
        let tag = format!("pyslim-test/trim-load-{variant}:{pid}");
        let _cleanup = Cleanup(&client, vec![tag.clone()]);
        let out = assert_cmd::Command::cargo_bin("pyslim")
            .unwrap()
            .current_dir(dir.path())
            .arg("trim")
            .arg(&tar)
            .args(["--decisions", "d.toml", "-o", &format!("out-{variant}")])
            .args(["--format", format, "--load", &tag])
            .args(if squash { &["--squash"][..] } else { &[] })
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{variant}: {}{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = stdout
            .lines()
            .find_map(|l| l.split("image id ").nth(1))
            .unwrap_or_else(|| panic!("{stdout}"))
            .trim()
            .to_owned();
        let facts = client.image(&tag).unwrap().expect("loaded");
        assert_eq!(facts.id, id, "{variant}");
        // The daemon counts what the trimmed layers hold: x.py and os.py, no cache, no log.
        assert_eq!(facts.size, 4_000, "{variant}");
        assert!(
            stdout.contains(&format!("loaded {tag} into the Docker daemon: 3.91 KiB")),
            "{stdout}"
        );
    }
}

fn runnable_fixture() -> Option<PathBuf> {
    let path = std::env::var_os("PYSLIM_RUNNABLE_FIXTURE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/fixtures/real-python-runnable.tar")
        });
    if path.exists() {
        return Some(path);
    }
    let why = format!(
        "{} is missing: build it with `python3 tests/fixtures/build-real-fixture.py --runnable target/fixtures`",
        path.display()
    );
    if std::env::var("PYSLIM_REQUIRE_FIXTURE").as_deref() == Ok("1") {
        panic!("PYSLIM_REQUIRE_FIXTURE=1 but {why}");
    }
    eprintln!("skipping the real trimmed-image test: {why}");
    None
}

#[test]
fn a_real_python_image_trimmed_loads_imports_every_package_and_is_smaller() {
    let test = "a_real_python_image_trimmed_loads_imports_every_package_and_is_smaller";
    if !common::docker_or_skip(test) {
        return;
    }
    let Some(fixture) = runnable_fixture() else {
        return;
    };
    let client = Client::connect().unwrap();
    let pid = std::process::id();
    let trimmed = format!("pyslim-test/real-python-trimmed:{pid}");
    let mut cleanup = Cleanup(&client, vec![trimmed.clone()]);

    let dir = tempfile::tempdir().unwrap();
    // Tests, caches, headers and compilers.
    let accept = [
        "python-package-tests",
        "python-stdlib-tests",
        "pip-cache",
        "apt-lists",
        "c-headers",
        "compilers",
    ];
    std::fs::write(dir.path().join("d.toml"), decisions(&accept)).unwrap();
    let out = assert_cmd::Command::cargo_bin("pyslim")
        .unwrap()
        .current_dir(dir.path())
        .arg("trim")
        .arg(&fixture)
        .args(["--decisions", "d.toml", "-o", "trimmed"])
        .args(["--load", &trimmed, "--smoke"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "{}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("smoke test (import of every package's top-level module): PASS (exit 0)"),
        "{stdout}"
    );
    // Every distribution's top-level module: numpy, pandas, flask, requests, … (22 here).
    let imported = stdout
        .lines()
        .find_map(|l| l.split("imported ").nth(1))
        .unwrap_or_else(|| panic!("{stdout}"));
    let (n, total) = imported
        .trim_end_matches(" modules")
        .split_once(" of ")
        .unwrap();
    assert_eq!(n, total, "{stdout}");
    assert!(total.parse::<u32>().unwrap() >= 20, "{stdout}");
    assert_eq!(
        leftover_containers(&trimmed),
        "",
        "the smoke container is removed"
    );

    // The daemon's own measure, against the untrimmed image loaded the same way.
    let before_load = client.image("pyslim/real-python-runnable:latest").unwrap();
    docker::load::load(&client, &fixture).unwrap();
    if before_load.is_none() {
        cleanup.1.push("pyslim/real-python-runnable:latest".into());
    }
    let original_facts = client
        .image("pyslim/real-python-runnable:latest")
        .unwrap()
        .unwrap();
    let trimmed_facts = client.image(&trimmed).unwrap().unwrap();
    eprintln!(
        "daemon sizes: original {} bytes, trimmed {} bytes",
        original_facts.size, trimmed_facts.size
    );
    assert!(
        trimmed_facts.size * 10 < original_facts.size * 6,
        "trimmed {} vs original {}",
        trimmed_facts.size,
        original_facts.size
    );

    // The container really runs the trimmed files: numpy's tests are gone, numpy is not.
    let gone = docker::smoke::run(
        &client,
        &trimmed,
        &docker::smoke::argv("python3 -c 'import numpy.tests'"),
    )
    .unwrap();
    assert!(!gone.passed, "{gone:?}");
    assert_eq!(gone.exit_code, Some(1));
    assert!(
        gone.output.contains("No module named 'numpy.tests'"),
        "{}",
        gone.output
    );
    let there = docker::smoke::run(
        &client,
        "pyslim/real-python-runnable:latest",
        &docker::smoke::argv("python3 -c 'import numpy.tests'"),
    )
    .unwrap();
    assert!(there.passed, "{there:?}");
    assert_eq!(leftover_containers(&trimmed), "");
    assert_eq!(
        leftover_containers("pyslim/real-python-runnable:latest"),
        ""
    );
}

fn small_spec(tag: &str) -> ImageSpec {
    ImageSpec::new(
        tag,
        vec![
            LayerSpec::new(
                "/bin/sh -c #(nop) ADD file:base in / ",
                vec![SpecEntry::file("usr/lib/python3.11/os.py", 3_000)],
            ),
            LayerSpec::new(
                "/bin/sh -c pip install x",
                vec![
                    SpecEntry::file("root/.cache/pip/http/a.body", 400_000),
                    SpecEntry::file("app/x.py", 1_000),
                ],
            ),
        ],
    )
}

fn pyslim_trim(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("pyslim")
        .unwrap()
        .current_dir(dir)
        .arg("trim")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn from_the_daemon_into_the_daemon_never_over_an_existing_tag() {
    if !common::docker_or_skip("from_the_daemon_into_the_daemon_never_over_an_existing_tag") {
        return;
    }
    let client = Client::connect().unwrap();
    let pid = std::process::id();
    let source = format!("pyslim-test/trim-src:{pid}");
    let target = format!("pyslim-test/trim-dst:{pid}");
    let _cleanup = Cleanup(&client, vec![source.clone(), target.clone()]);
    let dir = tempfile::tempdir().unwrap();
    let tar = common::write_tar(
        dir.path(),
        "t.tar",
        &small_spec(&source),
        ArchiveFormat::DockerLegacy,
    );
    docker::load::load(&client, &tar).unwrap();
    let source_id = client.image(&source).unwrap().unwrap().id;
    std::fs::write(dir.path().join("d.toml"), decisions(&["pip-cache"])).unwrap();

    // The image comes from the daemon (saved beside the output, then removed).
    let out = pyslim_trim(
        dir.path(),
        &[
            &source,
            "--decisions",
            "d.toml",
            "-o",
            "a",
            "--load",
            &target,
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("loaded {target} into the Docker daemon: 3.91 KiB as the daemon counts it (the original: 394.53 KiB)")), "{stdout}");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert_eq!(names, Vec::<String>::new());
    // The user's image is untouched.
    assert_eq!(client.image(&source).unwrap().unwrap().id, source_id);

    // An existing tag is never retagged without --force, and nothing is written.
    let again = pyslim_trim(
        dir.path(),
        &[
            &source,
            "--decisions",
            "d.toml",
            "-o",
            "b",
            "--load",
            &target,
        ],
    );
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&again.stderr).trim_end(),
        format!("pyslim: {target} already names an image in the Docker daemon; pyslim never retags an image unless --force")
    );
    assert!(!dir.path().join("b.tar").exists() && !dir.path().join("b.md").exists());
}

#[test]
fn a_smoke_test_that_cannot_start_is_one_error_and_leaves_nothing_behind() {
    if !common::docker_or_skip(
        "a_smoke_test_that_cannot_start_is_one_error_and_leaves_nothing_behind",
    ) {
        return;
    }
    let client = Client::connect().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tar = common::write_tar(
        dir.path(),
        "t.tar",
        &small_spec("t/untagged:1"),
        ArchiveFormat::DockerLegacy,
    );
    std::fs::write(dir.path().join("d.toml"), decisions(&["pip-cache"])).unwrap();
    // No --load: the image is loaded untagged for the test. It has no programs at all.
    let out = pyslim_trim(
        dir.path(),
        &[
            tar.to_str().unwrap(),
            "--decisions",
            "d.toml",
            "-o",
            "s",
            "--smoke",
            "/usr/bin/true",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("pyslim: cannot start the smoke-test container for sha256:"),
        "{stderr}"
    );
    let id = stdout
        .lines()
        .find_map(|l| l.split("image id ").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(leftover_containers(&id), "");
    assert_eq!(
        client.image(&id).unwrap(),
        None,
        "the image loaded for the test is removed"
    );
}
