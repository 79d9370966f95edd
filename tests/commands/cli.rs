//! The real binary on good and bad input: exit codes and the exact words users see.

use assert_cmd::Command;
use pyslim::source::writer::ArchiveFormat;

use crate::common;
use crate::common::*;

fn pyslim() -> Command {
    let mut cmd = common::pyslim();
    // Never reach a real daemon by accident from these tests.
    cmd.env("DOCKER_HOST", "unix:///nonexistent/pyslim-test.sock");
    cmd
}

fn stderr_line(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        text.trim_end().lines().count(),
        1,
        "one line on stderr: {text:?}"
    );
    text.trim_end().to_owned()
}

#[test]
fn analyze_without_an_image_reads_the_demo() {
    let out = pyslim().arg("analyze").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("Image    pyslim-demo/flask-app:latest (demo"),
        "{text}"
    );
    assert!(text.contains("RUN apt-get update && apt-get install -y build-essential libpq-dev"));
    assert!(text.contains("dive's figures"));
}

#[test]
fn analyze_json_is_the_documented_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tar(
        dir.path(),
        "app.tar",
        &python_app_spec("fixture/app:1"),
        ArchiveFormat::DockerLegacy,
    );
    let out = pyslim()
        .args(["analyze", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "pyslim.analysis/v1");
    assert_eq!(v["image"]["source"], "docker-archive");
    assert_eq!(v["image"]["config"]["cmd"][0], "python3");
    for key in [
        "image_bytes",
        "layer_bytes",
        "wasted_bytes",
        "wasted_ratio",
        "efficiency",
        "files",
        "directories",
        "tar_bytes",
    ] {
        assert!(v["totals"][key].is_number(), "totals.{key}");
    }
    assert_eq!(v["layers"].as_array().unwrap().len(), 4);
    assert_eq!(v["layers"][1]["instruction"], "RUN pip install numpy");
    for key in [
        "efficiency",
        "wasted_bytes",
        "user_wasted_percent",
        "image_bytes",
        "user_bytes",
    ] {
        assert!(v["dive"][key].is_number(), "dive.{key}");
    }
    assert_eq!(
        v["wasted_paths"][0]["path"],
        "var/cache/apt/archives/gcc.deb"
    );
    assert!(v["largest_files"].as_array().unwrap().len() <= 20);
}

#[test]
fn a_missing_file_is_one_line_and_exit_2() {
    let out = pyslim()
        .args(["analyze", "./no-such-image.tar"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr_line(&out),
        "pyslim: ./no-such-image.tar: no such file or directory"
    );
}

#[test]
fn a_truncated_archive_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tar(
        dir.path(),
        "app.tar",
        &python_app_spec("fixture/app:1"),
        ArchiveFormat::DockerLegacy,
    );
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let out = pyslim().arg("analyze").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let line = stderr_line(&out);
    assert!(
        line.starts_with(&format!("pyslim: {}", path.display())) && line.contains("truncated"),
        "{line}"
    );
}

#[test]
fn no_daemon_is_one_line_and_exit_2() {
    let out = pyslim().args(["analyze", "myapp:latest"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // With no daemon, a name is looked for in its registry too: the line gives both reasons
    // (this machine resolves no public name).
    let line = stderr_line(&out);
    assert!(
        line.starts_with(
            "pyslim: cannot connect to the Docker daemon at unix:///nonexistent/pyslim-test.sock: is it running?; from its registry: docker.io: "
        ),
        "{line}"
    );
}

#[test]
fn unknown_flags_and_sources_are_usage_errors() {
    let out = pyslim()
        .args(["analyze", "--source", "podman", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'podman'"));
}

#[test]
fn reading_never_writes_next_to_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tar(
        dir.path(),
        "app.tar",
        &python_app_spec("fixture/app:1"),
        ArchiveFormat::DockerOci,
    );
    let before: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let bytes = std::fs::read(&path).unwrap();
    pyslim().arg("analyze").arg(&path).assert().success();
    let after: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after);
    assert_eq!(bytes, std::fs::read(&path).unwrap());
}

#[test]
fn permission_denied_on_the_socket_is_explained() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sock = dir.path().join("docker.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o600)).unwrap();
    let bin = common::PYSLIM;
    // Root ignores socket permissions: run as nobody, as a user outside the docker group is.
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let mut cmd = if is_root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin);
        c
    } else {
        std::process::Command::new(bin)
    };
    let host = format!("unix://{}", sock.display());
    let out = cmd
        .env("DOCKER_HOST", &host)
        .args(["analyze", "myapp:latest"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stderr_line(&out),
        format!("pyslim: permission denied on the Docker socket {host}: run as a member of the docker group, or set DOCKER_HOST")
    );
}
