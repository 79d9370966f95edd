//! End to end through the real Docker engine: load a generated image, read it back by name
//! through the daemon, and get exactly what the tarball gives. Skips with a printed reason
//! when no daemon answers, unless PYSLIM_REQUIRE_DOCKER=1.

mod common;

use std::process::Command;

use common::*;
use pyslim::core::image::SourceKind;
use pyslim::source::writer::ArchiveFormat;
use pyslim::{Error, OpenOptions};

struct Loaded(String);

impl Drop for Loaded {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", "-f", &self.0]).output();
    }
}

fn docker_load(path: &std::path::Path, tag: &str) -> Loaded {
    let out = Command::new("docker")
        .arg("load")
        .arg("-i")
        .arg(path)
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "docker load: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Loaded(tag.to_owned())
}

#[test]
fn daemon_and_tarball_give_the_same_analysis() {
    if !docker_or_skip("daemon_and_tarball_give_the_same_analysis") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (format, tag) in [
        (ArchiveFormat::DockerLegacy, "pyslim-test/legacy:e2e"),
        (ArchiveFormat::DockerOci, "pyslim-test/ocisave:e2e"),
    ] {
        let spec = python_app_spec(tag);
        let tar = write_tar(dir.path(), "img.tar", &spec, format);
        let _loaded = docker_load(&tar, tag);
        let from_daemon = pyslim::open(tag, &OpenOptions::default()).unwrap();
        assert_eq!(from_daemon.source, SourceKind::Docker);
        let from_file = open(&tar).unwrap();
        let (_, a) = analysis_of(&from_daemon);
        let (_, b) = analysis_of(&from_file);
        assert_eq!(source_independent(&a), source_independent(&b), "{tag}");
        assert_eq!(from_daemon.config, from_file.config);
        assert_eq!(
            from_daemon
                .layers
                .iter()
                .map(|l| l.diff_id.clone())
                .collect::<Vec<_>>(),
            from_file
                .layers
                .iter()
                .map(|l| l.diff_id.clone())
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn an_image_the_daemon_does_not_know_is_named_in_the_error() {
    if !docker_or_skip("an_image_the_daemon_does_not_know_is_named_in_the_error") {
        return;
    }
    let err = pyslim::open("pyslim-test/never-built:nope", &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, Error::ImageNotFound(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("image not found: pyslim-test/never-built:nope"),
        "{err}"
    );
}

#[test]
fn daemon_source_via_tcp_docker_host_that_refuses() {
    // Nothing listens on this port: the error must say where pyslim looked.
    let out = assert_cmd::Command::cargo_bin("pyslim")
        .unwrap()
        .env("DOCKER_HOST", "tcp://127.0.0.1:1")
        .args(["analyze", "--source", "docker", "anything:latest"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end(),
        "pyslim: cannot connect to the Docker daemon at tcp://127.0.0.1:1: is it running?"
    );
}
