//! A layer of very many empty files must not exhaust memory: pyslim keeps one small record
//! per entry and never the tar, so memory grows linearly with a small constant, and the
//! `--max-entries` limit turns a layer past it into one clear error instead.
//!
//! The archive is streamed to a temporary file (the test never holds it), then opened and
//! examined in this process while /proc/self/status VmHWM records the peak. One test
//! function does everything, so no other test of this binary allocates alongside.
//!
//! By default 300,000 files (about 15 s in a debug build); `PYSLIM_MEMTEST_FILES=1000000` for
//! a million (measured: 558 bytes per file, peak 541 MB, 45 s in a debug build).
//! `PYSLIM_MEMTEST_DEFAULT_LIMIT=1` also writes a layer one entry past the default limit
//! (5,000,001 files, a 2.6 GB file) and runs the binary on it with no flags: too slow for
//! every run, so it is opt-in.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::Command;

use pyslim::core::findings::RuleSet;
use pyslim::source::Limits;
use pyslim::OpenOptions;

/// A tar of `files` empty files in `files / 4096 + 1` directories, written as it goes.
fn write_layer(path: &Path, files: u64) -> io::Result<()> {
    let mut tar = tar::Builder::new(BufWriter::with_capacity(1 << 20, File::create(path)?));
    for i in 0..files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(0);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        let name = format!("usr/share/many/d{:04}/f{i:07}", i / 4096);
        tar.append_data(&mut header, name, io::empty())?;
    }
    tar.into_inner()?.flush()
}

/// A `docker save` archive (legacy layout) around the layer at `layer`. The diff_id is a
/// placeholder: pyslim checks it only under --verify-diff-ids, and hashing gigabytes in a
/// debug build would dominate the test.
fn write_archive(archive: &Path, layer: &Path) -> io::Result<()> {
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", "0".repeat(64))]},
        "history": [{"created_by": "RUN touch many"}],
    });
    let manifest = serde_json::json!([{
        "Config": "config.json",
        "RepoTags": ["many:latest"],
        "Layers": ["layer/layer.tar"],
    }]);
    let mut tar = tar::Builder::new(BufWriter::new(File::create(archive)?));
    for (name, bytes) in [
        ("config.json", serde_json::to_vec(&config)?),
        ("manifest.json", serde_json::to_vec(&manifest)?),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, name, &bytes[..])?;
    }
    tar.append_path_with_name(layer, "layer/layer.tar")?;
    tar.into_inner()?.flush()
}

/// `VmHWM` (peak resident set) or `VmRSS` of this process, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("a number of kB");
    kb * 1024
}

fn files_from_env() -> u64 {
    std::env::var("PYSLIM_MEMTEST_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000)
}

/// Per file, what pyslim keeps: the entry (path string, kind, size, mode, ids: ~120 bytes with
/// the path's allocation), its tree node and event (~150 bytes), its inode, the per-path
/// figures of the analysis, and the slack of vectors grown by doubling: 558 bytes measured at
/// a million files. Holding the tar's headers would add 512 bytes per file, a second copy of
/// the entries another ~120; either crosses this bound.
const MAX_BYTES_PER_FILE: u64 = 700;
/// Rayon's pool, the rule set's compiled globs, the test harness.
const FIXED_BYTES: u64 = 32 << 20;

#[test]
fn many_empty_files_stay_in_bounded_memory_and_the_entry_limit_is_one_clear_error() {
    let files = files_from_env();
    let dir = tempfile::tempdir().expect("tempdir");
    let layer = dir.path().join("layer.tar");
    let archive = dir.path().join("many.tar");
    write_layer(&layer, files).expect("write layer");
    write_archive(&archive, &layer).expect("write archive");
    std::fs::remove_file(&layer).expect("remove layer");
    let archive_bytes = std::fs::metadata(&archive).expect("archive").len();

    let rules = RuleSet::builtin().expect("built-in rules");
    let before = status_bytes("VmRSS:");
    let started = std::time::Instant::now();
    let image = pyslim::open(archive.to_str().expect("utf-8"), &OpenOptions::default())
        .expect("open an archive under the entry limit");
    let exam = pyslim::core::examine(&image, Some(&rules), 20);
    let elapsed = started.elapsed();
    let peak = status_bytes("VmHWM:");
    // The figures must be right, not only cheap: every file and directory is counted.
    assert_eq!(exam.analysis.totals.files, files);
    assert_eq!(exam.analysis.totals.directories, 3 + files.div_ceil(4096));
    drop(exam);
    drop(image);
    let growth = peak.saturating_sub(before);
    let bound = FIXED_BYTES + files * MAX_BYTES_PER_FILE;
    eprintln!(
        "{files} empty files: archive {} MB, open + examine {:.1} s, RSS {} MB before, peak {} MB \
         (growth {} MB = {} bytes per file; bound {} MB)",
        archive_bytes >> 20,
        elapsed.as_secs_f64(),
        before >> 20,
        peak >> 20,
        growth >> 20,
        growth / files.max(1),
        bound >> 20
    );
    assert!(
        growth <= bound,
        "peak RSS grew by {growth} bytes for {files} files, over the bound of {bound}"
    );

    // One entry fewer allowed than the layer has: a one-line error naming the flag.
    let out = Command::new(env!("CARGO_BIN_EXE_pyslim"))
        .args(["analyze", "--max-entries"])
        .arg((files - 1).to_string())
        .arg(&archive)
        .output()
        .expect("run pyslim");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "pyslim accepted a layer over the limit"
    );
    assert!(
        stderr.contains("the number of entries in one layer")
            && stderr.contains(&format!("{}", files - 1))
            && stderr.contains("--max-entries"),
        "unclear error: {stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "not one line: {stderr}");

    if std::env::var_os("PYSLIM_MEMTEST_DEFAULT_LIMIT").is_some() {
        let over = Limits::default().max_entries_per_layer + 1;
        write_layer(&layer, over).expect("write layer");
        write_archive(&archive, &layer).expect("write archive");
        std::fs::remove_file(&layer).expect("remove layer");
        let out = Command::new(env!("CARGO_BIN_EXE_pyslim"))
            .arg("analyze")
            .arg(&archive)
            .output()
            .expect("run pyslim");
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!("{over} files, default limit: {}", stderr.trim());
        assert!(!out.status.success());
        assert!(stderr.contains("--max-entries"), "unclear error: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "not one line: {stderr}");
    }
}
