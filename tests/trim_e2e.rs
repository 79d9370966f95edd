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
use pyslim::core::trim::{DecisionsFile, Session};
use pyslim::core::trim_image::{plan, safety};
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
