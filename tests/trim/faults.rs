//! `pyslim trim IMAGE --decisions FILE` with the image in the daemon, when the daemon
//! misbehaves: an export that stalls partway (a proxy in front of the real daemon that goes
//! silent after a byte budget while holding the connection open) ends in one clear line and
//! leaves no file behind, never a hang; and Ctrl-C or SIGTERM during that export removes the
//! partial export before the process ends.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common;
use crate::common::daemon_proxy::{load_big_image, proxy, AtBudget, Loaded};

/// A work directory holding only the decisions file, and the proxy's socket beside it.
fn setup(dir: &Path, tag: &str) -> (Loaded, std::path::PathBuf, String) {
    let loaded = load_big_image(dir, tag);
    let work = dir.join("work");
    std::fs::create_dir(&work).unwrap();
    std::fs::write(
        work.join("d.toml"),
        "[[decision]]\nfinding = \"pip-cache\"\naccept = true\n",
    )
    .unwrap();
    let sock = dir.join("proxy.sock");
    // Version negotiation gets through; the export goes silent a megabyte in.
    proxy(&sock, 1 << 20, AtBudget::GoSilent);
    (loaded, work, format!("unix://{}", sock.display()))
}

#[test]
fn a_trim_whose_export_stalls_times_out_and_leaves_no_file() {
    if !common::docker_or_skip("a_trim_whose_export_stalls_times_out_and_leaves_no_file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("pyslim-test/trim-stall:{}", std::process::id());
    let (_loaded, work, host) = setup(dir.path(), &tag);
    let started = Instant::now();
    let out = common::pyslim()
        .current_dir(&work)
        .env("DOCKER_HOST", &host)
        .env("PYSLIM_DOCKER_TIMEOUT", "2")
        .args(["trim", &tag, "--decisions", "d.toml", "-o", "out"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "gave up in time: {:?}",
        started.elapsed()
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(
        err.trim_end(),
        format!("pyslim: docker image {tag}: the export stalled: the Docker daemon sent nothing for 2s (set PYSLIM_DOCKER_TIMEOUT to wait longer)")
    );
    // The partial export is gone, and nothing else was written.
    assert_eq!(common::dir_names(&work), ["d.toml"]);
}

/// The child killed when the test ends, also when it fails.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn ctrl_c_or_sigterm_during_the_export_removes_the_partial_file() {
    use std::os::unix::process::ExitStatusExt;
    if !common::docker_or_skip("ctrl_c_or_sigterm_during_the_export_removes_the_partial_file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("pyslim-test/trim-sigint:{}", std::process::id());
    let (_loaded, work, host) = setup(dir.path(), &tag);
    for (name, signal) in [("INT", 2), ("TERM", 15)] {
        let mut child = Child(
            std::process::Command::new(common::PYSLIM)
                .current_dir(&work)
                .env("DOCKER_HOST", &host)
                // Long enough that only the signal ends the stalled export.
                .env("PYSLIM_DOCKER_TIMEOUT", "120")
                .args(["trim", &tag, "--decisions", "d.toml", "-o", "out"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        // Wait until the export has written into its hidden partial file and stalled.
        let started = Instant::now();
        let partial = loop {
            let found = common::dir_names(&work)
                .into_iter()
                .find(|n| n.ends_with(".source.partial"))
                .filter(|n| std::fs::metadata(work.join(n)).is_ok_and(|m| m.len() > 0));
            if let Some(n) = found {
                break n;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no partial export appeared: {:?}",
                common::dir_names(&work)
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let kill = std::process::Command::new("kill")
            .args([&format!("-{name}"), &child.0.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let waited = Instant::now();
        let status = loop {
            if let Some(status) = child.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                waited.elapsed() < Duration::from_secs(10),
                "SIG{name}: still running"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        // Ended by the signal itself, as without a handler: the shell reports 128 + N.
        assert_eq!(status.signal(), Some(signal), "SIG{name}: {status:?}");
        assert_eq!(
            common::dir_names(&work),
            ["d.toml"],
            "SIG{name}: {partial} is removed and nothing else was written"
        );
    }
}
