//! Trimmed images through the Docker daemon, end to end: `docker load` (through the API)
//! accepts what pyslim writes, in both formats, under the image ID pyslim computed; and a
//! real-shaped Python image built from Debian packages and PyPI wheels, with its tests,
//! caches, headers and compilers trimmed, loads, passes a smoke import of every package,
//! and is smaller as the daemon measures it.
//!
//! Needs a Docker engine (skips without one unless PYSLIM_REQUIRE_DOCKER=1) and, for the
//! real image, `python3 tests/fixtures/build-real-fixture.py --runnable target/fixtures`
//! (skips without it unless PYSLIM_REQUIRE_FIXTURE=1).

use std::path::PathBuf;

use pyslim::docker::{self, Client};
use pyslim::source::writer::{ArchiveFormat, ImageSpec, LayerSpec, SpecEntry};

use crate::common;

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
/// The ID of the image pyslim loaded only to smoke-test it, as its output names it.
fn loaded_for_test(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.split("image id ").nth(1))
        .unwrap()
        .trim()
        .to_owned()
}

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
        let out = common::pyslim()
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
    let out = common::pyslim()
        .current_dir(dir.path())
        .arg("trim")
        .arg(&fixture)
        .args(["--decisions", "d.toml", "-o", "trimmed"])
        .args(["--load", &trimmed, "--smoke"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Printed for the record (`cargo test --test trim daemon:: -- --nocapture`): pyslim's
    // report, by layer and by category, with the daemon's measure after --load.
    println!(
        "==== pyslim trim of {} ====\n{stdout}==== end ====",
        fixture.display()
    );
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
    println!(
        "daemon sizes: original {} bytes ({:.1} MiB), trimmed {} bytes ({:.1} MiB): {:.1}% of the original",
        original_facts.size,
        original_facts.size as f64 / 1048576.0,
        trimmed_facts.size,
        trimmed_facts.size as f64 / 1048576.0,
        trimmed_facts.size as f64 * 100.0 / original_facts.size as f64
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
    common::pyslim()
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
    let id = loaded_for_test(&stdout);
    assert_eq!(leftover_containers(&id), "");
    assert_eq!(
        client.image(&id).unwrap(),
        None,
        "the image loaded for the test is removed"
    );
}

/// An image that runs programs without a shell or a distribution: the host's `true` and
/// `false` with the loader and libc they need, and a pip cache to trim.
fn runnable_spec(tag: &str) -> Option<ImageSpec> {
    let read = |p: &str| std::fs::read(p).ok();
    let loader = read("/lib64/ld-linux-x86-64.so.2")?;
    let libc = read("/lib/x86_64-linux-gnu/libc.so.6")?;
    let (t, f) = (read("/usr/bin/true")?, read("/usr/bin/false")?);
    let bytes = |p: &str, b: Vec<u8>| {
        SpecEntry::new(
            p,
            pyslim::source::writer::SpecKind::File(pyslim::source::writer::Content::Bytes(b)),
        )
        .with_mode(0o755)
    };
    Some(ImageSpec::new(
        tag,
        vec![
            LayerSpec::new(
                "/bin/sh -c #(nop) ADD file:base in / ",
                vec![
                    bytes("lib64/ld-linux-x86-64.so.2", loader),
                    bytes("lib/x86_64-linux-gnu/libc.so.6", libc),
                    bytes("usr/bin/true", t),
                    bytes("usr/bin/false", f),
                ],
            ),
            LayerSpec::new(
                "/bin/sh -c pip install x",
                vec![SpecEntry::file("root/.cache/pip/http/a.body", 400_000)],
            ),
        ],
    ))
}

#[test]
fn a_failed_smoke_test_exits_1_through_the_cli_and_says_fail() {
    let test = "a_failed_smoke_test_exits_1_through_the_cli_and_says_fail";
    if !common::docker_or_skip(test) {
        return;
    }
    let Some(spec) = runnable_spec("t/runnable:1") else {
        eprintln!(
            "skipping {test}: the host has no /usr/bin/true, /usr/bin/false and glibc to copy"
        );
        return;
    };
    let client = Client::connect().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tar = common::write_tar(dir.path(), "t.tar", &spec, ArchiveFormat::DockerLegacy);
    std::fs::write(dir.path().join("d.toml"), decisions(&["pip-cache"])).unwrap();
    let run = |prefix: &str, cmd: &str| {
        pyslim_trim(
            dir.path(),
            &[
                tar.to_str().unwrap(),
                "--decisions",
                "d.toml",
                "-o",
                prefix,
                "--smoke",
                cmd,
            ],
        )
    };
    let failed = run("f", "/usr/bin/false");
    let stdout = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(
        failed.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    assert!(
        stdout.contains("smoke test (`/usr/bin/false`): FAIL (exit 1)"),
        "{stdout}"
    );
    // The result is in the report too.
    let md = std::fs::read_to_string(dir.path().join("f.md")).unwrap();
    assert!(
        md.contains("smoke test (`/usr/bin/false`): FAIL (exit 1)"),
        "{md}"
    );
    let passed = run("p", "/usr/bin/true");
    let stdout = String::from_utf8_lossy(&passed.stdout);
    assert_eq!(passed.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("smoke test (`/usr/bin/true`): PASS (exit 0)"),
        "{stdout}"
    );
    // The untagged image loaded for the tests is gone, and so are its containers.
    let id = loaded_for_test(&stdout);
    assert_eq!(leftover_containers(&id), "");
    assert_eq!(client.image(&id).unwrap(), None);
}

#[test]
fn load_with_force_retags_an_existing_tag_and_leaves_the_old_image_alone() {
    let test = "load_with_force_retags_an_existing_tag_and_leaves_the_old_image_alone";
    if !common::docker_or_skip(test) {
        return;
    }
    let client = Client::connect().unwrap();
    let pid = std::process::id();
    let tag = format!("pyslim-test/trim-force:{pid}");
    let dir = tempfile::tempdir().unwrap();
    // Something else already has the tag.
    let other = common::write_tar(
        dir.path(),
        "other.tar",
        &ImageSpec::new(
            &tag,
            vec![LayerSpec::new(
                "/bin/sh -c #(nop) ADD file:other in / ",
                vec![SpecEntry::file("other.txt", 1_234)],
            )],
        ),
        ArchiveFormat::DockerLegacy,
    );
    docker::load::load(&client, &other).unwrap();
    let old_id = client.image(&tag).unwrap().unwrap().id;
    let mut cleanup = Cleanup(&client, vec![tag.clone(), old_id.clone()]);
    let tar = common::write_tar(
        dir.path(),
        "t.tar",
        &small_spec("t/src:1"),
        ArchiveFormat::DockerLegacy,
    );
    std::fs::write(dir.path().join("d.toml"), decisions(&["pip-cache"])).unwrap();
    let args = [
        tar.to_str().unwrap(),
        "--decisions",
        "d.toml",
        "-o",
        "x",
        "--load",
        &tag,
    ];
    let refused = pyslim_trim(dir.path(), &args);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(client.image(&tag).unwrap().unwrap().id, old_id);
    assert!(!dir.path().join("x.tar").exists() && !dir.path().join("x.md").exists());
    let forced = pyslim_trim(dir.path(), &[&args[..], &["--force"]].concat());
    let stdout = String::from_utf8_lossy(&forced.stdout);
    assert!(
        forced.status.success(),
        "{}{stdout}",
        String::from_utf8_lossy(&forced.stderr)
    );
    let id = stdout
        .lines()
        .find_map(|l| l.split("image id ").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    cleanup.1.push(id.clone());
    assert_eq!(client.image(&tag).unwrap().unwrap().id, id);
    assert!(
        stdout.contains(&format!("loaded {tag} into the Docker daemon: 3.91 KiB")),
        "{stdout}"
    );
    // Per layer as the daemon counts it, in the report as on stdout.
    assert!(stdout.contains("daemon, by layer:"), "{stdout}");
    let md = std::fs::read_to_string(dir.path().join("x.md")).unwrap();
    assert!(md.contains("daemon, by layer:"), "{md}");
    // The image that had the tag is still there, untagged: pyslim deletes no image.
    let old = client.image(&old_id).unwrap().expect("the old image stays");
    assert!(!old.tags.contains(&tag), "{:?}", old.tags);
}
