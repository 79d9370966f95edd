//! Trimming the end-to-end image of bench/real-image.sh (a careless one-stage build on a
//! debootstrapped bookworm: build-essential, python3-dev, a venv with numpy, pandas, flask):
//! what a session accepts can be applied, and the figures it prints agree with each other.
//!
//! Needs PYSLIM_E2E_DIR naming the script's output (fat-app.tar in it); skips without it
//! unless PYSLIM_REQUIRE_E2E=1.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use pyslim::core::findings::RuleSet;
use pyslim::core::trim_image::{plan, safety};
use pyslim::core::trim_session::{DecisionsFile, Session};
use pyslim::core::{examine, Examination};
use pyslim::Image;

struct Fx {
    tar: PathBuf,
    image: Image,
    ex: Examination,
}

fn fixture(test: &str) -> Option<&'static Fx> {
    static FX: OnceLock<Option<Fx>> = OnceLock::new();
    let fx = FX.get_or_init(|| {
        let tar = std::env::var_os("PYSLIM_E2E_DIR")
            .map(PathBuf::from)?
            .join("fat-app.tar");
        if !tar.exists() {
            return None;
        }
        let image = common::open(&tar).unwrap();
        let ex = examine(&image, Some(&RuleSet::builtin().unwrap()), 20);
        Some(Fx { tar, image, ex })
    });
    if fx.is_none() {
        let why = "no e2e image: run `OUT=DIR bash bench/real-image.sh` and set PYSLIM_E2E_DIR=DIR (fat-app.tar in it)";
        if std::env::var("PYSLIM_REQUIRE_E2E").as_deref() == Ok("1") {
            panic!("{test}: PYSLIM_REQUIRE_E2E=1 but {why}");
        }
        eprintln!("skipping {test}: {why}");
    }
    fx.as_ref()
}

fn session_accepting(ex: &Examination, accept: &[&str]) -> Session {
    let mut s = Session::new(ex);
    let text: String = accept
        .iter()
        .map(|f| format!("[[decision]]\nfinding = \"{f}\"\naccept = true\n\n"))
        .collect();
    s.apply_file("test", &DecisionsFile::parse("test", &text).unwrap())
        .unwrap();
    s
}

#[test]
fn removing_the_compilers_takes_the_libraries_only_they_need_and_breaks_nothing() {
    let Some(fx) = fixture("compilers closure") else {
        return;
    };
    let f = fx
        .ex
        .findings
        .findings
        .iter()
        .find(|f| f.rule == "compilers")
        .expect("a compilers finding");
    let paths: Vec<String> = f.files.iter().map(|&n| fx.ex.tree.path(n)).collect();
    let has = |name: &str| paths.iter().any(|p| p.ends_with(name));
    // binutils' own libraries, and gcc's.
    for lib in [
        "libctf.so.0",
        "libgprofng.so.0",
        "libbfd-2.40-system.so",
        "libisl.so.23",
        "libmpc.so.3",
        "libmpfr.so.6",
        "libgcc.a",
    ] {
        assert!(has(lib), "{lib} is not in the compilers finding");
    }
    // What python3 and the wheels still load stays.
    for lib in ["libstdc++.so.6", "libc.so.6", "libz.so.1"] {
        assert!(!has(lib), "{lib} would go with the compilers");
    }
    let session = session_accepting(&fx.ex, &["compilers"]);
    let rules = RuleSet::builtin().unwrap();
    let p = plan(&fx.image, &fx.ex, &session, &rules);
    let problems = safety::check(&fx.image, &fx.ex, &p.removed);
    assert_eq!(problems, vec![], "removing the compilers breaks something");
    let _ = &fx.tar;
}

/// `1.05 GiB` → bytes, and the rounding the two decimals allow.
fn bytes_of(text: &str) -> (f64, f64) {
    let (n, unit) = text
        .trim()
        .split_once(' ')
        .unwrap_or_else(|| panic!("{text:?}"));
    let n: f64 = n.parse().unwrap_or_else(|_| panic!("{text:?}"));
    let unit = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => panic!("unit {other:?} in {text:?}"),
    };
    (n * unit, 0.005 * unit)
}

/// The sizes in a line, in order (`12.5 MiB`, `0 B`).
fn sizes_in(line: &str) -> Vec<(f64, f64)> {
    let words: Vec<&str> = line
        .split([' ', '(', ')', ',', '*'])
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .filter(|w| matches!(w[1], "B" | "KiB" | "MiB" | "GiB") && w[0].parse::<f64>().is_ok())
        .map(|w| bytes_of(&format!("{} {}", w[0], w[1])))
        .collect()
}

fn close(a: (f64, f64), b: (f64, f64)) -> bool {
    (a.0 - b.0).abs() <= a.1 + b.1
}

#[test]
fn trim_with_decisions_prints_figures_that_agree_with_each_other() {
    let Some(fx) = fixture("figures agree") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let accept = [
        "apt-lists",
        "compilers",
        "dev-packages",
        "locales",
        "python-package-tests",
        "pip-cache",
        "wasted-bytes#1",
        "wasted-bytes#2",
    ];
    let text: String = accept
        .iter()
        .map(|f| format!("[[decision]]\nfinding = \"{f}\"\naccept = true\n\n"))
        .collect();
    std::fs::write(dir.path().join("d.toml"), text).unwrap();
    let dockerfile = fx.tar.with_file_name("ctx").join("Dockerfile");
    let mut cmd = assert_cmd::Command::cargo_bin("pyslim").unwrap();
    cmd.current_dir(dir.path()).arg("trim").arg(&fx.tar).args([
        "--decisions",
        "d.toml",
        "-o",
        "out",
    ]);
    if dockerfile.exists() {
        cmd.arg("-f").arg(&dockerfile);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |start: &str| {
        stdout
            .lines()
            .find(|l| l.contains(start))
            .unwrap_or_else(|| panic!("no {start:?} in:\n{stdout}"))
    };
    // "ships A now, B with the accepted fixes (C less)" and "A before, B after (C less)".
    let projected = sizes_in(line("with the accepted fixes"));
    let written = sizes_in(line("file bytes in layers:"));
    for (i, what) in ["before", "after", "saved"].iter().enumerate() {
        assert!(
            close(projected[i], written[i]),
            "{what}: projected {:?}, written {:?}\n{stdout}",
            projected[i],
            written[i]
        );
    }
    // Every category row: before − after = removed.
    let rows: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("by category:"))
        .skip(1)
        .take_while(|l| l.starts_with("  ") && !l.starts_with("  ("))
        .collect();
    assert!(rows.len() >= 5, "{stdout}");
    for row in rows {
        let s = sizes_in(row);
        assert_eq!(s.len(), 3, "{row}");
        let diff = (s[0].0 - s[1].0, s[0].1 + s[1].1);
        assert!(close(diff, s[2]), "before − after ≠ removed: {row}");
    }
    // The report states the same projection.
    let md = std::fs::read_to_string(dir.path().join("out.md")).unwrap();
    let headline = md.lines().find(|l| l.starts_with("Layers ship")).unwrap();
    let stated = sizes_in(headline);
    assert!(
        close(stated[0], projected[0]) && close(stated[1], projected[1]),
        "{headline}"
    );
}

#[test]
fn the_patch_realises_what_an_edit_can_and_lists_the_rest_as_manual() {
    let Some(fx) = fixture("patch realises") else {
        return;
    };
    let path = fx.tar.with_file_name("ctx").join("Dockerfile");
    let Ok(text) = std::fs::read_to_string(&path) else {
        panic!("{} is missing beside fat-app.tar", path.display());
    };
    let session = session_accepting(
        &fx.ex,
        &[
            "apt-lists",
            "compilers",
            "dev-packages",
            "locales",
            "python-package-tests",
            "pip-cache",
            "python-packaging-tools",
            "wasted-bytes#1",
        ],
    );
    let rules = RuleSet::builtin().unwrap();
    let out = pyslim::report::trim::build(
        &fx.image,
        &fx.ex,
        &rules,
        &session,
        Some(("Dockerfile", &text)),
    );
    let (_, new) = out.patch.as_ref().unwrap();
    let df = pyslim::core::dockerfile::Dockerfile::parse(new);
    let runs: Vec<&str> = df
        .instructions
        .iter()
        .filter(|i| i.keyword == "RUN")
        .map(|i| i.args.as_str())
        .collect();
    // Build-only packages go in the RUN that installed them, before apt's lists.
    let apt = runs.iter().find(|r| r.contains("apt-get install")).unwrap();
    // Named one by one: autoremove alone keeps gcc (apt Suggests dpkg-dev, which
    // Recommends it), as a real build showed.
    let purged: Vec<&str> = apt
        .split("&&")
        .filter_map(|c| c.trim().strip_prefix("apt-get purge -y --auto-remove "))
        .flat_map(str::split_whitespace)
        .collect();
    for pkg in [
        "build-essential",
        "gcc-12",
        "binutils",
        "libctf0",
        "make",
        "python3-dev",
        "libc6-dev",
    ] {
        assert!(purged.contains(&pkg), "{pkg} is not purged: {apt}");
    }
    // Nothing the app runs on.
    for pkg in [
        "python3",
        "python3.11",
        "libc6",
        "libstdc++6",
        "zlib1g",
        "libexpat1",
    ] {
        assert!(!purged.contains(&pkg), "{pkg} is purged: {apt}");
    }
    let purge = apt.find("apt-get purge").unwrap();
    assert!(
        purge < apt.find("rm -rf /var/lib/apt/lists").unwrap(),
        "{apt}"
    );
    // The caches and tests go in the pip RUN that wrote them.
    let venv = runs.iter().find(|r| r.contains("python3 -m venv")).unwrap();
    assert!(venv.contains("rm -rf /root/.cache/pip"), "{venv}");
    assert!(venv.contains("-name tests"), "{venv}");
    // pip, setuptools and wheel: with the venv's pip (Debian's refuses: PEP 668), in the
    // last RUN that uses pip, never before a RUN that still calls it.
    assert!(!new.contains("python3 -m pip uninstall"), "{new}");
    let at = runs
        .iter()
        .position(|r| r.contains("/opt/venv/bin/python -m pip uninstall -y"))
        .unwrap_or_else(|| panic!("no uninstall: {new}"));
    assert!(
        runs[at].contains("pip install --upgrade pip"),
        "{}",
        runs[at]
    );
    assert!(!runs[at + 1..].iter().any(|r| r.contains("pip")), "{new}");
    // What the patch cannot do is manual, at 0 B; the rest saves bytes.
    let realises: Vec<&str> = out
        .report
        .lines()
        .skip_while(|l| !l.starts_with("## What the Dockerfile patch realises"))
        .take_while(|l| !l.starts_with("## Dockerfile patch"))
        .collect();
    let row = |key: &str| {
        realises
            .iter()
            .find(|l| l.contains(&format!("(`{key}`) | ")))
            .unwrap_or_else(|| panic!("no row for {key}:\n{}", out.report))
            .to_string()
    };
    assert!(
        row("wasted-bytes#1").contains("| manual, 0 B saved by the patch |"),
        "{}",
        row("wasted-bytes#1")
    );
    for key in [
        "apt-lists",
        "compilers",
        "dev-packages",
        "python-package-tests",
        "pip-cache",
        "python-packaging-tools",
        "locales",
    ] {
        assert!(row(key).contains(" MiB |"), "{}", row(key));
    }
    // The locales the apt RUN wrote go in it; those of the base image are left to the user.
    assert!(
        apt.contains("find /usr/share/locale -mindepth 1 -maxdepth 1"),
        "{apt}"
    );
    assert!(
        row("locales").contains("layer 0 was not made by this Dockerfile"),
        "{}",
        row("locales")
    );
    let saved = out.projection.patch_saved.unwrap();
    assert!(saved > 500 << 20, "the patch saves {saved} B");
    assert!(
        saved < out.projection.saved(),
        "the patch cannot save more than the trim"
    );
}
