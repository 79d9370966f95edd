//! Daemon faults through stand-in sockets: a daemon that never answers (timeout, with the
//! value in the message), an export stream cut partway and one that stalls partway (a proxy
//! in front of the real daemon that, after a byte budget, hangs up or goes silent while
//! holding the connection open). Each ends in one clear line, never a hang.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use pyslim::source::writer::{ArchiveFormat, ImageSpec, LayerSpec, SpecEntry};

fn pyslim(host: &str) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("pyslim").unwrap();
    cmd.env("DOCKER_HOST", host)
        .env("PYSLIM_DOCKER_TIMEOUT", "1")
        .timeout(Duration::from_secs(30));
    cmd
}

#[test]
fn a_daemon_that_never_answers_times_out_with_the_value_in_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("silent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    // Accept and hold connections, never writing a byte.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let started = Instant::now();
    let out = pyslim(&format!("unix://{}", sock.display()))
        .args(["analyze", "myapp:latest"])
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "gave up in time"
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("did not answer within 1s") && err.contains("PYSLIM_DOCKER_TIMEOUT"),
        "{err}"
    );
    eprintln!("silent daemon: {}", err.trim_end());
}

/// What the proxy does once a connection's byte budget is spent.
#[derive(Clone, Copy)]
enum AtBudget {
    HangUp,
    /// Keep the connection open and send nothing more: a daemon that stalls.
    GoSilent,
}

/// Forwards each client connection to the real daemon until `budget` bytes have come back
/// from it, then does what `at_budget` says.
fn proxy(sock: &std::path::Path, budget: usize, at_budget: AtBudget) {
    let listener = UnixListener::bind(sock).unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let Ok(upstream) = UnixStream::connect("/var/run/docker.sock") else {
                    return;
                };
                let (mut c_read, mut u_write) =
                    (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_read, &mut u_write);
                });
                let (mut u_read, mut c_write) = (upstream, client);
                let mut sent = 0;
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n) = u_read.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let n = n.min(budget.saturating_sub(sent));
                    if n == 0 || c_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    sent += n;
                }
                if let AtBudget::GoSilent = at_budget {
                    // Hold both ends until the client gives up.
                    let mut probe = [0u8; 1];
                    let _ = c_write.read(&mut probe);
                }
                let _ = c_write.shutdown(std::net::Shutdown::Both);
                let _ = u_read.shutdown(std::net::Shutdown::Both);
            });
        }
    });
}

/// Loads a 5 MB one-layer image under `tag` into the real daemon.
fn load_big_image(dir: &std::path::Path, tag: &str) {
    let spec = ImageSpec::new(
        tag,
        vec![LayerSpec::new(
            "big",
            vec![
                SpecEntry::file("big.bin", 3_000_000),
                SpecEntry::file("more.bin", 2_000_000),
            ],
        )],
    );
    let tar = common::write_tar(dir, "cut.tar", &spec, ArchiveFormat::DockerLegacy);
    let load = std::process::Command::new("docker")
        .arg("load")
        .arg("-i")
        .arg(&tar)
        .output()
        .unwrap();
    assert!(
        load.status.success(),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );
}

#[test]
fn an_export_cut_partway_is_one_clear_error() {
    if !common::docker_or_skip("an_export_cut_partway_is_one_clear_error") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tag = "pyslim-test/cut:e2e";
    load_big_image(dir.path(), tag);
    let sock = dir.path().join("proxy.sock");
    // Enough for version, inspect and history; the export is cut a megabyte in.
    proxy(&sock, 1 << 20, AtBudget::HangUp);
    let out = pyslim(&format!("unix://{}", sock.display()))
        .env("PYSLIM_DOCKER_TIMEOUT", "20")
        .args(["analyze", tag])
        .output()
        .unwrap();
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", tag])
        .output();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("docker image pyslim-test/cut:e2e")
            && (err.contains("truncated") || err.contains("broke off")),
        "{err}"
    );
    eprintln!("cut export: {}", err.trim_end());
}

#[test]
fn an_export_that_stalls_partway_times_out_with_the_value_in_the_message() {
    if !common::docker_or_skip("an_export_that_stalls_partway_times_out") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tag = "pyslim-test/stall:e2e";
    load_big_image(dir.path(), tag);
    let sock = dir.path().join("proxy.sock");
    // Version, inspect and history get through; the export goes silent a megabyte in.
    proxy(&sock, 1 << 20, AtBudget::GoSilent);
    let started = Instant::now();
    let out = pyslim(&format!("unix://{}", sock.display()))
        .env("PYSLIM_DOCKER_TIMEOUT", "2")
        .args(["analyze", tag])
        .output()
        .unwrap();
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", tag])
        .output();
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "gave up in time"
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("docker image pyslim-test/stall:e2e")
            && err.contains("sent nothing for 2s")
            && err.contains("PYSLIM_DOCKER_TIMEOUT"),
        "{err}"
    );
    eprintln!("stalled export: {}", err.trim_end());
}
