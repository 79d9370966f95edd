//! A stand-in for a misbehaving daemon: a proxy socket in front of the real one that forwards
//! each connection until a byte budget has come back, then hangs up or goes silent. And images
//! loaded into the real daemon for the length of a test.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use pyslim::source::writer::{ArchiveFormat, ImageSpec, LayerSpec, SpecEntry};

/// What the proxy does once a connection's byte budget is spent.
#[derive(Clone, Copy)]
pub enum AtBudget {
    HangUp,
    /// Keep the connection open and send nothing more: a daemon that stalls.
    GoSilent,
}

/// Forwards each client connection on `sock` to the real daemon until `budget` bytes have
/// come back from it, then does what `at_budget` says.
pub fn proxy(sock: &Path, budget: usize, at_budget: AtBudget) {
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

/// Forwards every connection on `sock` to the real daemon, holding back an export request
/// (`GET …/images/NAME/get`) for `delay` first: an engine that takes long to answer an
/// export, as Docker 20.10 does while it gathers a big image.
pub fn proxy_slow_export(sock: &Path, delay: std::time::Duration) {
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
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n) = c_read.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        let chunk = &buf[..n];
                        if chunk.starts_with(b"GET ")
                            && chunk
                                .split(|&b| b == b' ')
                                .nth(1)
                                .is_some_and(|path| path.ends_with(b"/get"))
                        {
                            std::thread::sleep(delay);
                        }
                        if u_write.write_all(chunk).is_err() {
                            break;
                        }
                    }
                    let _ = u_write.shutdown(std::net::Shutdown::Write);
                });
                let (mut u_read, mut c_write) = (upstream, client);
                let _ = std::io::copy(&mut u_read, &mut c_write);
                let _ = c_write.shutdown(std::net::Shutdown::Both);
            });
        }
    });
}

/// An image in the real daemon, removed when the test ends (also when it fails).
pub struct Loaded(pub String);

impl Drop for Loaded {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", &self.0])
            .output();
    }
}

/// Writes `spec` as a docker save under `dir` and loads it into the real daemon.
pub fn load_image(dir: &Path, spec: &ImageSpec) -> Loaded {
    let tar = super::write_tar(dir, "load.tar", spec, ArchiveFormat::DockerLegacy);
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
    Loaded(spec.tag.clone())
}

/// Loads a 5 MB image with a pip cache under `tag` into the real daemon.
pub fn load_big_image(dir: &Path, tag: &str) -> Loaded {
    let spec = ImageSpec::new(
        tag,
        vec![LayerSpec::new(
            "/bin/sh -c pip install x",
            vec![
                SpecEntry::file("root/.cache/pip/http/a.body", 3_000_000),
                SpecEntry::file("app/big.bin", 2_000_000),
            ],
        )],
    );
    load_image(dir, &spec)
}
