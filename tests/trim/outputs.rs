//! What `pyslim trim --decisions` writes, and what it never touches: the session's own
//! decisions file fed back in (the round trip), `--force` over every output, refusals that
//! leave no file behind, and temporary files that never take a user's file's name.

use std::path::Path;

use pyslim::core::trim_image::final_listing;
use pyslim::source::writer::ArchiveFormat;
use pyslim::Tree;

use crate::common;
use crate::common::trim_spec::{decisions, spec};

const ACCEPT: &[&str] = &[
    "pip-cache",
    "apt-lists",
    "python-package-tests",
    "c-headers",
];

const DOCKERFILE: &str = "FROM debian:12\nRUN apt-get update && apt-get install -y python3.11-dev\nRUN python3 -m venv /opt/venv && pip install flask numpy\nCOPY main.py /app/main.py\nRUN rm -f /tmp/build.log && apt-get clean\n";

fn pyslim(dir: &Path, args: &[&str]) -> std::process::Output {
    common::pyslim()
        .current_dir(dir)
        .arg("trim")
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1714521600")
        .output()
        .unwrap()
}

fn ok(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn listing(archive: &Path) -> Vec<(String, pyslim::core::entry::EntryKind, u64)> {
    let image = common::open(archive).unwrap();
    final_listing(&Tree::build(&image.layers), None)
}

/// A work directory with the image and a hand-made decisions file.
fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    common::write_tar(dir.path(), "t.tar", &spec(), ArchiveFormat::DockerLegacy);
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    std::fs::write(work.join("d.toml"), decisions(ACCEPT)).unwrap();
    (dir, work)
}

#[test]
fn the_decisions_file_a_session_wrote_feeds_back_with_the_default_prefix() {
    let (dir, work) = setup();
    let tar = dir.path().join("t.tar");
    let tar = tar.to_str().unwrap();
    // An unattended session with the default prefix: pyslim-trim.md and .decisions.toml.
    ok(&pyslim(
        &work,
        &[tar, "--decisions", "d.toml", "--no-image"],
    ));
    assert_eq!(
        common::dir_names(&work),
        ["d.toml", "pyslim-trim.decisions.toml", "pyslim-trim.md"]
    );
    let session_file = std::fs::read(work.join("pyslim-trim.decisions.toml")).unwrap();
    let session_report = std::fs::read_to_string(work.join("pyslim-trim.md")).unwrap();
    // Its own header says what to do next: that file, back into `pyslim trim`.
    assert!(String::from_utf8_lossy(&session_file).starts_with(
        "# pyslim trim decisions. Edit `accept`, then: pyslim trim IMAGE --decisions THIS_FILE"
    ));
    let stdout = ok(&pyslim(
        &work,
        &[tar, "--decisions", "pyslim-trim.decisions.toml"],
    ));
    assert!(
        stdout
            .contains("kept pyslim-trim.decisions.toml (it is the decisions file this run reads)"),
        "{stdout}"
    );
    assert!(stdout.contains("wrote pyslim-trim.tar ("), "{stdout}");
    assert_eq!(
        common::dir_names(&work),
        [
            "d.toml",
            "pyslim-trim.decisions.toml",
            "pyslim-trim.md",
            "pyslim-trim.tar"
        ]
    );
    // The input is never rewritten; the session's report gains the trimmed image's section.
    assert_eq!(
        std::fs::read(work.join("pyslim-trim.decisions.toml")).unwrap(),
        session_file
    );
    let report = std::fs::read_to_string(work.join("pyslim-trim.md")).unwrap();
    let added = report
        .strip_prefix(&session_report)
        .unwrap_or_else(|| panic!("{report}"));
    assert!(added.starts_with("\n## Trimmed image\n"), "{added}");
    // The same decisions as the hand-made file: the same trimmed image.
    ok(&pyslim(
        &work,
        &[tar, "--decisions", "d.toml", "-o", "direct"],
    ));
    assert_eq!(
        listing(&work.join("pyslim-trim.tar")),
        listing(&work.join("direct.tar"))
    );
    // Fed back once more, the archive exists: refused without --force, the input untouched.
    let again = pyslim(&work, &[tar, "--decisions", "pyslim-trim.decisions.toml"]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&again.stderr).trim_end(),
        "pyslim: pyslim-trim.tar exists; pyslim never writes over a file unless --force: choose another prefix with -o"
    );
    let forced = ok(&pyslim(
        &work,
        &[tar, "--decisions", "pyslim-trim.decisions.toml", "--force"],
    ));
    assert!(
        forced.contains("kept pyslim-trim.decisions.toml"),
        "{forced}"
    );
    assert_eq!(
        std::fs::read(work.join("pyslim-trim.decisions.toml")).unwrap(),
        session_file
    );
}

#[test]
fn force_writes_over_every_output_and_nothing_else_does() {
    let (dir, work) = setup();
    std::fs::write(work.join("Dockerfile"), DOCKERFILE).unwrap();
    let tar = dir.path().join("t.tar");
    let tar = tar.to_str().unwrap();
    let args = [tar, "--decisions", "d.toml", "-o", "out"];
    ok(&pyslim(&work, &args));
    let outputs = ["out.md", "out.patch", "out.decisions.toml", "out.tar"];
    let fresh: Vec<Vec<u8>> = outputs
        .iter()
        .map(|o| std::fs::read(work.join(o)).unwrap())
        .collect();
    // The user edits every output (and keeps the archive as it is).
    for o in &outputs[..3] {
        let mut text = std::fs::read_to_string(work.join(o)).unwrap();
        text.push_str("\n# mine\n");
        std::fs::write(work.join(o), text).unwrap();
    }
    let edited: Vec<Vec<u8>> = outputs
        .iter()
        .map(|o| std::fs::read(work.join(o)).unwrap())
        .collect();
    std::fs::remove_file(work.join("out.tar")).unwrap();
    let refused = pyslim(&work, &args);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim_end(),
        "pyslim: out.md exists; pyslim never writes over a file unless --force: choose another prefix with -o"
    );
    // Refused before anything was written: no archive, the edits intact.
    assert!(!work.join("out.tar").exists());
    for (o, want) in outputs[..3].iter().zip(&edited) {
        assert_eq!(&std::fs::read(work.join(o)).unwrap(), want, "{o}");
    }
    std::fs::write(work.join("out.tar"), &fresh[3]).unwrap();
    // --force: all four written again, as a first run writes them.
    let stdout = ok(&pyslim(&work, &[&args[..], &["--force"]].concat()));
    for o in &outputs {
        assert!(stdout.contains(&format!("wrote {o}")), "{o}: {stdout}");
    }
    for (o, want) in outputs[..3].iter().zip(&fresh) {
        assert_eq!(&std::fs::read(work.join(o)).unwrap(), want, "{o}");
    }
    std::fs::write(work.join("fresh.tar"), &fresh[3]).unwrap();
    assert_eq!(
        listing(&work.join("out.tar")),
        listing(&work.join("fresh.tar"))
    );
    std::fs::remove_file(work.join("fresh.tar")).unwrap();
    assert!(
        common::dir_names(&work)
            .iter()
            .all(|n| !n.contains("partial")),
        "{:?}",
        common::dir_names(&work)
    );
}

#[test]
fn a_gzipped_docker_save_is_refused_before_anything_is_written() {
    let (dir, work) = setup();
    // `docker save IMAGE | gzip`: read fine for analysis, but cannot be rewritten.
    let plain = std::fs::read(dir.path().join("t.tar")).unwrap();
    let gz = dir.path().join("t.tar.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::Write::write_all(&mut enc, &plain).unwrap();
    enc.finish().unwrap();
    let out = pyslim(
        &work,
        &[gz.to_str().unwrap(), "--decisions", "d.toml", "-o", "g"],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a compressed archive cannot be trimmed in place; decompress it first"),
        "{stderr}"
    );
    assert_eq!(
        common::dir_names(&work),
        ["d.toml"],
        "a refused run leaves nothing behind"
    );
    // The session files alone need no rewrite: --no-image still works on it.
    ok(&pyslim(
        &work,
        &[
            gz.to_str().unwrap(),
            "--decisions",
            "d.toml",
            "-o",
            "g",
            "--no-image",
        ],
    ));
}

#[test]
fn a_user_file_named_like_the_old_temporary_files_is_never_touched() {
    let (dir, work) = setup();
    let tar = dir.path().join("t.tar");
    let theirs = [
        ".out.tar.partial",
        ".out.tar.layer0.partial",
        ".out.tar.layer1.partial",
        ".out.source.partial",
    ];
    for t in theirs {
        std::fs::write(work.join(t), format!("mine: {t}")).unwrap();
    }
    ok(&pyslim(
        &work,
        &[tar.to_str().unwrap(), "--decisions", "d.toml", "-o", "out"],
    ));
    for t in theirs {
        assert_eq!(
            std::fs::read_to_string(work.join(t)).unwrap(),
            format!("mine: {t}")
        );
    }
    // And nothing of pyslim's own is left.
    let mut want: Vec<String> = theirs.iter().map(|t| t.to_string()).collect();
    want.extend(["d.toml", "out.decisions.toml", "out.md", "out.tar"].map(String::from));
    want.sort();
    assert_eq!(common::dir_names(&work), want);
}

#[test]
fn an_output_that_is_the_source_image_is_refused_even_with_force() {
    let (dir, work) = setup();
    let tar = work.join("app.tar");
    std::fs::rename(dir.path().join("t.tar"), &tar).unwrap();
    // The same file under other names: a symlink and a hard link.
    std::os::unix::fs::symlink("app.tar", work.join("link.tar")).unwrap();
    std::fs::hard_link(&tar, work.join("hard.tar")).unwrap();
    let original = std::fs::read(&tar).unwrap();
    for prefix in ["app", "app.tar", "link", "hard"] {
        let out = pyslim(
            &work,
            &["app.tar", "--decisions", "d.toml", "-o", prefix, "--force"],
        );
        assert_eq!(
            out.status.code(),
            Some(2),
            "-o {prefix}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let archive = if prefix.ends_with(".tar") {
            prefix.to_owned()
        } else {
            format!("{prefix}.tar")
        };
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim_end(),
            format!("pyslim: {archive} is the image being trimmed; pyslim never writes a trimmed image over its source, even with --force: choose another prefix with -o")
        );
        assert_eq!(std::fs::read(&tar).unwrap(), original, "-o {prefix}");
        assert_eq!(
            common::dir_names(&work),
            ["app.tar", "d.toml", "hard.tar", "link.tar"],
            "-o {prefix}: nothing written"
        );
    }
    // Another prefix still works, beside the untouched source.
    ok(&pyslim(
        &work,
        &["app.tar", "--decisions", "d.toml", "-o", "slim"],
    ));
    assert_eq!(std::fs::read(&tar).unwrap(), original);
}
