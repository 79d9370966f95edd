//! pyslim writes only the files the user named. A full run (analyze, check, propose, an
//! unattended trim) happens in a sandbox of its own: the working directory, HOME, TMPDIR and
//! XDG dirs all live in one temporary tree, which is walked before and after. Only the named
//! outputs may appear, and nothing else may change, including the input image. The machine's
//! shared scratch places (/tmp, /var/tmp, /dev/shm) are listed too, in case a path there is
//! ever written without going through TMPDIR.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use pyslim::source::writer::ArchiveFormat;

use crate::common;

/// Path → (size, mtime in ns, mode, inode) for everything below `root`, links not followed.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (u64, i128, u32, u64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.path().symlink_metadata().unwrap();
            let mtime = meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128;
            out.insert(
                entry.path().strip_prefix(root).unwrap().to_path_buf(),
                (meta.len(), mtime, meta.mode(), meta.ino()),
            );
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    out
}

/// The names directly under the machine's shared scratch directories.
fn shared_scratch() -> std::collections::BTreeSet<PathBuf> {
    ["/tmp", "/var/tmp", "/dev/shm"]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .collect()
}

#[test]
fn a_full_run_writes_only_the_named_outputs() {
    let sandbox = tempfile::tempdir().unwrap();
    let root = sandbox.path();
    for d in ["work", "home", "tmp", "cache", "config", "images"] {
        std::fs::create_dir(root.join(d)).unwrap();
    }
    let image = common::write_tar(
        &root.join("images"),
        "app.tar",
        &common::python_app_spec("fixture/app:1"),
        ArchiveFormat::DockerLegacy,
    );
    std::fs::write(
        root.join("work/Dockerfile"),
        "FROM python:3.11\nRUN pip install numpy\nWORKDIR /app\nRUN rm -rf /usr/lib/python3.11/test /root/.cache && apt-get clean\nCMD [\"python3\"]\n",
    )
    .unwrap();
    std::fs::write(
        root.join("work/decisions.toml"),
        "[[decision]]\nfinding = \"python-package-tests\"\naccept = true\n",
    )
    .unwrap();
    let before = snapshot(root);
    let scratch_before = shared_scratch();

    let run = |args: &[&str]| {
        let out = common::pyslim()
            .current_dir(root.join("work"))
            .env("HOME", root.join("home"))
            .env("TMPDIR", root.join("tmp"))
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("DOCKER_HOST", "unix:///nonexistent/pyslim-test.sock")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let img = image.to_str().unwrap();
    let (code, err) = run(&["analyze", img, "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run(&["check", img]);
    assert!(matches!(code, Some(0) | Some(1)), "{err}");
    let (code, err) = run(&["propose", img, "-o", "proposal/Dockerfile.slim"]);
    assert_eq!(code, Some(2), "the named directory does not exist: {err}");
    std::fs::create_dir(root.join("work/proposal")).unwrap();
    let (code, err) = run(&["propose", img, "-o", "proposal/Dockerfile.slim"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run(&[
        "trim",
        img,
        "--decisions",
        "decisions.toml",
        "-o",
        "out/trim",
    ]);
    assert_eq!(code, Some(2), "{err}");
    std::fs::create_dir(root.join("work/out")).unwrap();
    let (code, err) = run(&[
        "trim",
        img,
        "--decisions",
        "decisions.toml",
        "-o",
        "out/trim",
    ]);
    assert_eq!(code, Some(0), "{err}");

    let after = snapshot(root);
    // pyslim ran with TMPDIR in the sandbox, so a tempfile-style `.tmp*` name there is some
    // other process's (a test binary running beside this one); anything else is pyslim's.
    let scratch_new: Vec<PathBuf> = shared_scratch()
        .difference(&scratch_before)
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".tmp"))
        })
        .cloned()
        .collect();
    assert!(
        scratch_new.is_empty(),
        "pyslim wrote outside the sandbox: {scratch_new:?}"
    );
    let named: Vec<PathBuf> = [
        "work/proposal",
        "work/proposal/Dockerfile.slim",
        "work/out",
        "work/out/trim.md",
        "work/out/trim.patch",
        "work/out/trim.decisions.toml",
        // The trimmed image itself.
        "work/out/trim.tar",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    let created: Vec<&PathBuf> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    let unexpected: Vec<&&PathBuf> = created.iter().filter(|p| !named.contains(p)).collect();
    assert!(
        unexpected.is_empty(),
        "pyslim wrote files no one named: {unexpected:?}"
    );
    for p in &named {
        assert!(after.contains_key(p), "{} was not written", p.display());
    }
    // Nothing that was there changed, apart from the directories that received the outputs.
    for (path, was) in &before {
        let now = after.get(path);
        assert!(now.is_some(), "{} was removed", path.display());
        let receiving = path.as_os_str() == "work";
        if !receiving {
            assert_eq!(now, Some(was), "{} changed", path.display());
        }
    }
}
