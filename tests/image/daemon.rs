//! End to end through the real Docker engine: load a generated image, read it back by name
//! through the daemon, and get exactly what the tarball gives. Skips with a printed reason
//! when no daemon answers, unless PYSLIM_REQUIRE_DOCKER=1.

use std::process::Command;

use pyslim::core::image::SourceKind;
use pyslim::source::writer::ArchiveFormat;
use pyslim::{Error, OpenOptions};

use crate::common;
use crate::common::*;

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
    let out = common::pyslim()
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

/// What a screen hears while the daemon's export is read.
#[derive(Default)]
struct Heard(std::sync::Mutex<Vec<String>>);

impl pyslim::source::LoadObserver for Heard {
    fn follows_layers(&self) -> bool {
        true
    }
    fn layers(&self, instructions: &[String]) {
        self.push(format!("layers {}", instructions.join(" | ")));
    }
    fn expected_sizes(&self, sizes: &[Option<u64>]) {
        self.push(format!("sizes {sizes:?}"));
    }
    fn export_read(&self, so_far: u64, total: u64) {
        self.push(format!("export {so_far} {total}"));
    }
    fn layer_read(&self, index: usize, entries: usize, bytes: u64) {
        self.push(format!("read {index} {entries} {bytes}"));
    }
}

impl Heard {
    fn push(&self, s: String) {
        self.0.lock().unwrap().push(s);
    }
}

#[test]
fn the_daemon_tells_instructions_at_once_and_each_layer_on_its_row_as_it_passes() {
    if !docker_or_skip(
        "the_daemon_tells_instructions_at_once_and_each_layer_on_its_row_as_it_passes",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("pyslim-test/observed:{}", std::process::id());
    let spec = python_app_spec(&tag);
    let tar = write_tar(dir.path(), "img.tar", &spec, ArchiveFormat::DockerLegacy);
    let _loaded = docker_load(&tar, &tag);
    let heard = std::sync::Arc::new(Heard::default());
    let image =
        pyslim::source::open_observed(&tag, &OpenOptions::default(), heard.clone()).unwrap();
    let log = heard.0.lock().unwrap().clone();
    let n = image.layers.len();
    // First what history says: the instructions (not "layer N") and the sizes.
    let instructions: Vec<String> = image.layers.iter().map(|l| l.instruction()).collect();
    assert_eq!(log[0], format!("layers {}", instructions.join(" | ")));
    // Sizes as the daemon's history gives them (its own measure of each layer): known for
    // every layer, none left blank.
    assert!(log[1].starts_with("sizes [Some("), "{log:#?}");
    assert!(!log[1].contains("None"), "{log:#?}");
    assert!(log[2].starts_with("export 0 "), "{log:#?}");
    // Every layer is told on its own row with what it holds; each twice (as it passes, and
    // once the image is whole), the first while the export is still being read.
    let reads: Vec<&String> = log.iter().filter(|l| l.starts_with("read ")).collect();
    assert_eq!(reads.len(), 2 * n, "{log:#?}");
    for (i, layer) in image.layers.iter().enumerate() {
        let want = format!(
            "read {i} {} {}",
            layer.changes.entries.len(),
            layer.changes.entries.iter().map(|e| e.size).sum::<u64>()
        );
        assert_eq!(
            log.iter().filter(|l| **l == want).count(),
            2,
            "{want}: {log:#?}"
        );
    }
    let last_export = log.iter().rposition(|l| l.starts_with("export ")).unwrap();
    let first_read = log.iter().position(|l| l.starts_with("read ")).unwrap();
    assert!(
        first_read < last_export,
        "a layer is told before the export ends: {log:#?}"
    );
    // The export's bytes end at what was read: the whole tar.
    let parts: Vec<u64> = log[last_export]
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    assert!(
        parts[0] > 0 && parts[0] <= parts[1].max(parts[0]),
        "{log:#?}"
    );
}
