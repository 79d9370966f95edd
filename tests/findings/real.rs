//! Findings on a real image: REAL PyPI wheels (numpy, pandas, flask, pip, setuptools …) and
//! REAL Debian 12 packages (python3.11, gcc-12, binutils, libc6-dev …), assembled into a
//! `docker save` archive by tests/fixtures/build-real-fixture.py without Docker.
//!
//! The fixture is ~450 MB and is not in the repository. Build it with
//!
//!     python3 tests/fixtures/build-real-fixture.py target/fixtures
//!
//! This test reads PYSLIM_REAL_FIXTURE (default: target/fixtures/real-python.tar under the
//! crate root). Without the file every test here prints why and passes, unless
//! PYSLIM_REQUIRE_FIXTURE=1, when they fail.
//!
//! Every expected number is computed here, independently of pyslim: the reference oracle
//! (tests/common/oracle/, the same one the merged-tree tests use) extracts the layer tars onto
//! disk in order as Docker would (OCI whiteouts first), the rules' globs from
//! assets/rules.toml are matched path by path against that final view, dpkg's .list files and
//! the wheels' RECORD files are read from it. pyslim's output is never the expectation.
//!
//! Tests named `regression_*` pin bugs this fixture found in pyslim (now fixed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use pyslim::core::findings::{Finding, RuleSet};
use pyslim::core::Examination;

use crate::common::oracle::{extract_docker_archive, Hidden, Kind, Obs, View};

const SITE: &str = "opt/venv/lib/python3.11/site-packages";
const MIB: u64 = 1 << 20;

// ---------------------------------------------------------------------------------------------
// The image as extracting its layers leaves it: the reference oracle (tests/common/oracle/)
// extracts the archive onto disk the way Docker would, independently of pyslim.

struct Fx {
    ex: Examination,
    view: View,
    /// Permission bits of every file and directory.
    modes: BTreeMap<String, u32>,
    /// Contents of the small text files these tests read (`keeps_text`).
    texts: BTreeMap<String, Vec<u8>>,
    /// Non-empty files' bytes hidden by a later layer (or the same one writing them again).
    hidden: Vec<Hidden>,
    instructions: Vec<String>,
    rules: Vec<toml::Table>,
}

fn fixture_path() -> PathBuf {
    match std::env::var_os("PYSLIM_REAL_FIXTURE") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fixtures/real-python.tar"),
    }
}

fn fixture() -> Option<&'static Fx> {
    static FX: OnceLock<Option<Fx>> = OnceLock::new();
    let fx = FX.get_or_init(|| {
        let path = fixture_path();
        if !path.exists() {
            let why = format!(
                "{} is missing: build it with `python3 tests/fixtures/build-real-fixture.py target/fixtures`",
                path.display()
            );
            if std::env::var("PYSLIM_REQUIRE_FIXTURE").as_deref() == Ok("1") {
                panic!("PYSLIM_REQUIRE_FIXTURE=1 but {why}");
            }
            eprintln!("skipping the real-image findings tests: {why}");
            return None;
        }
        Some(load(&path))
    });
    if fx.is_none() && std::env::var("PYSLIM_REQUIRE_FIXTURE").as_deref() == Ok("1") {
        panic!("PYSLIM_REQUIRE_FIXTURE=1 but the fixture is missing");
    }
    fx.as_ref()
}

fn load(path: &std::path::Path) -> Fx {
    let image = pyslim::open(
        path.to_str().expect("utf-8 fixture path"),
        &pyslim::OpenOptions::default(),
    )
    .expect("pyslim opens the fixture");
    let rules = RuleSet::builtin().expect("built-in rules");
    let ex = pyslim::core::examine(&image, Some(&rules), 20);
    assert!(
        ex.warnings.is_empty(),
        "a clean image gives no warnings: {:?}",
        ex.warnings
    );

    let reference = extract_docker_archive(path, keeps_text);
    let instructions: Vec<String> = reference.config["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|h| !h["empty_layer"].as_bool().unwrap_or(false))
        .map(|h| h["created_by"].as_str().unwrap_or("").to_owned())
        .collect();
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/rules.toml"),
    )
    .expect("assets/rules.toml");
    let doc: toml::Table = toml::from_str(&text).expect("rules.toml parses");
    let rules = doc["rule"]
        .as_array()
        .expect("[[rule]]")
        .iter()
        .map(|r| r.as_table().expect("rule table").clone())
        .collect();
    Fx {
        ex,
        view: reference.extracted.view,
        modes: reference.extracted.modes,
        texts: reference.texts,
        hidden: reference
            .hidden
            .into_iter()
            .filter(|h| h.size > 0)
            .collect(),
        instructions,
        rules,
    }
}

fn norm(p: &str) -> String {
    p.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

fn keeps_text(path: &str) -> bool {
    path == "var/lib/dpkg/status"
        || (path.starts_with("var/lib/dpkg/info/") && path.ends_with(".list"))
        || path.ends_with(".dist-info/RECORD")
        || path.ends_with(".dist-info/METADATA")
        || path.ends_with("pyvenv.cfg")
}

// ---------------------------------------------------------------------------------------------
// Reading the view.

impl Fx {
    fn obs(&self, p: &str) -> Option<&Obs> {
        self.view.get(p)
    }

    fn size(&self, p: &str) -> u64 {
        self.obs(p)
            .filter(|o| o.kind == Kind::File)
            .map_or(0, |o| o.size)
    }

    fn text(&self, p: &str) -> String {
        let o = self
            .obs(p)
            .unwrap_or_else(|| panic!("{p} is not in the image"));
        let text = self
            .texts
            .get(p)
            .unwrap_or_else(|| panic!("{p} ({o:?}): no text kept"));
        String::from_utf8_lossy(text).into_owned()
    }

    /// Regular files at or under `p`.
    fn files_under(&self, p: &str) -> BTreeSet<String> {
        let below = format!("{p}/");
        self.view
            .range(p.to_owned()..)
            .take_while(|(k, _)| k.starts_with(p))
            .filter(|(k, o)| (*k == p || k.starts_with(&below)) && o.kind == Kind::File)
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn bytes(&self, files: &BTreeSet<String>) -> u64 {
        files.iter().map(|f| self.size(f)).sum()
    }

    /// Resolves symlinked directories along `p` (not the last component), as the kernel
    /// would: `bin/dash` is `usr/bin/dash` when `bin` is a symlink to `usr/bin`.
    fn resolve_dirs(&self, p: &str) -> String {
        let parts: Vec<&str> = p.split('/').collect();
        let mut cur: Vec<String> = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            cur.push((*part).to_owned());
            if i + 1 == parts.len() {
                break;
            }
            for _ in 0..8 {
                let joined = cur.join("/");
                match self.obs(&joined) {
                    Some(o) if o.kind == Kind::Symlink => {
                        cur.pop();
                        let link = o.target.as_deref().unwrap_or_default();
                        let target = if link.starts_with('/') {
                            norm(link)
                        } else {
                            norm(&format!("{}/{}", cur.join("/"), link))
                        };
                        cur = target.split('/').map(str::to_owned).collect();
                    }
                    _ => break,
                }
            }
        }
        cur.join("/")
    }

    fn rule(&self, id: &str) -> &toml::Table {
        self.rules
            .iter()
            .find(|r| r["id"].as_str() == Some(id))
            .unwrap_or_else(|| panic!("no rule {id} in assets/rules.toml"))
    }

    fn finding(&self, rule: &str) -> &Finding {
        let all: Vec<&Finding> = self
            .ex
            .findings
            .findings
            .iter()
            .filter(|f| f.rule == rule)
            .collect();
        assert_eq!(
            all.len(),
            1,
            "expected exactly one {rule} finding; findings: {:?}",
            self.ex
                .findings
                .findings
                .iter()
                .map(|f| &f.rule)
                .collect::<Vec<_>>()
        );
        all[0]
    }

    /// dpkg's status: (package, version) of installed packages.
    fn dpkg_status(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for para in self.text("var/lib/dpkg/status").split("\n\n") {
            let field = |k: &str| {
                para.lines()
                    .find_map(|l| l.strip_prefix(&format!("{k}: ")))
                    .map(str::to_owned)
            };
            if let (Some(p), Some(s)) = (field("Package"), field("Status")) {
                if s.ends_with(" installed") {
                    out.insert(p, field("Version").unwrap_or_default());
                }
            }
        }
        out
    }

    /// `picked` and every installed package only they depend on (Depends and Pre-Depends,
    /// first alternative), never an Essential or required one.
    fn dependency_closure(&self, mut picked: BTreeSet<String>) -> BTreeSet<String> {
        let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut keep: BTreeSet<String> = BTreeSet::new();
        for para in self.text("var/lib/dpkg/status").split("\n\n") {
            let field = |k: &str| {
                para.lines()
                    .find_map(|l| l.strip_prefix(&format!("{k}: ")))
                    .map(str::to_owned)
            };
            let (Some(p), Some(s)) = (field("Package"), field("Status")) else {
                continue;
            };
            if !s.ends_with(" installed") {
                continue;
            }
            if field("Essential").as_deref() == Some("yes")
                || field("Priority").as_deref() == Some("required")
            {
                keep.insert(p.clone());
            }
            let names = ["Pre-Depends", "Depends"]
                .iter()
                .filter_map(|k| field(k))
                .flat_map(|v| {
                    v.split(',')
                        .map(|d| {
                            let first = d.split('|').next().unwrap_or("").trim();
                            let name = first.split([' ', '(']).next().unwrap_or("");
                            name.split(':').next().unwrap_or("").to_owned()
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            deps.insert(p, names);
        }
        loop {
            let grown: Vec<String> = deps
                .keys()
                .filter(|q| !picked.contains(*q) && !keep.contains(*q))
                .filter(|q| {
                    let users: Vec<&String> = deps
                        .iter()
                        .filter(|(u, d)| u != q && d.contains(q))
                        .map(|(u, _)| u)
                        .collect();
                    !users.is_empty() && users.iter().all(|u| picked.contains(*u))
                })
                .cloned()
                .collect();
            if grown.is_empty() {
                return picked;
            }
            picked.extend(grown);
        }
    }

    /// The paths a package's .list names, as written (no leading `/`).
    fn dpkg_list(&self, pkg: &str) -> Vec<String> {
        let plain = format!("var/lib/dpkg/info/{pkg}.list");
        let arch = format!("var/lib/dpkg/info/{pkg}:amd64.list");
        let p = if self.obs(&plain).is_some() {
            plain
        } else {
            arch
        };
        self.text(&p)
            .lines()
            .map(norm)
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// Regular files a package really put in the image, following merged-/usr symlinks.
    fn package_files(&self, pkg: &str) -> BTreeSet<String> {
        self.dpkg_list(pkg)
            .iter()
            .map(|p| self.resolve_dirs(p))
            .filter(|p| self.obs(p).is_some_and(|o| o.kind == Kind::File))
            .collect()
    }

    /// (non-directory entries, bytes) a package really put in the image, following
    /// merged-/usr symlinks: what `OsPackage::files` and `file_bytes` should say.
    fn package_figures(&self, pkg: &str) -> (u64, u64) {
        let entries = self
            .dpkg_list(pkg)
            .iter()
            .map(|p| self.resolve_dirs(p))
            .filter(|p| self.obs(p).is_some_and(|o| o.kind != Kind::Dir))
            .collect::<BTreeSet<_>>()
            .len() as u64;
        (entries, self.bytes(&self.package_files(pkg)))
    }

    /// Whether a package's .list names a path through a merged-/usr symlink (`/bin/dash`).
    fn lists_aliased_paths(&self, pkg: &str) -> bool {
        self.dpkg_list(pkg)
            .iter()
            .any(|p| self.resolve_dirs(p) != *p)
    }

    /// Top-level distributions: `.dist-info` directly in site-packages, with their RECORD.
    fn dists(&self) -> BTreeMap<String, (String, BTreeSet<String>)> {
        let mut out = BTreeMap::new();
        for (p, _) in self.view.range(format!("{SITE}/")..) {
            if !p.starts_with(SITE) {
                break;
            }
            let Some(rest) = p.strip_prefix(&format!("{SITE}/")) else {
                continue;
            };
            let Some(dir) = rest.strip_suffix("/RECORD") else {
                continue;
            };
            if dir.contains('/') || !dir.ends_with(".dist-info") {
                continue;
            }
            let meta = self.text(&format!("{SITE}/{dir}/METADATA"));
            let field = |k: &str| {
                meta.lines()
                    .take_while(|l| !l.is_empty())
                    .find_map(|l| l.strip_prefix(&format!("{k}: ")))
                    .unwrap_or("")
                    .to_owned()
            };
            let files: BTreeSet<String> = self
                .text(p)
                .lines()
                .filter_map(|row| row.split(',').next())
                .filter(|r| !r.is_empty())
                .map(|r| resolve_dots(&format!("{SITE}/{r}")))
                .filter(|f| self.obs(f).is_some_and(|o| o.kind == Kind::File))
                .collect();
            out.insert(pep503(&field("Name")), (field("Version"), files));
        }
        out
    }
}

fn resolve_dots(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.join("/")
}

fn pep503(name: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

fn strings(t: &toml::Table, key: &str) -> Vec<String> {
    t.get(key)
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().expect("string").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn globs(patterns: &[String]) -> GlobSet {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(
            GlobBuilder::new(p)
                .literal_separator(true)
                .build()
                .expect("glob"),
        );
    }
    b.build().expect("globset")
}

/// What a rule should find, worked out path by path.
#[derive(Debug, Default)]
struct Expect {
    /// Matched paths (a matched directory counts whole) and the bytes under each.
    hits: BTreeMap<String, u64>,
    /// Matched packages: version and bytes of their files.
    packages: BTreeMap<String, (String, u64)>,
    /// Every claimed regular file.
    files: BTreeSet<String>,
}

impl Expect {
    fn bytes(&self, fx: &Fx) -> u64 {
        fx.bytes(&self.files)
    }

    fn count(&self) -> u64 {
        (self.hits.len() + self.packages.len()) as u64
    }

    /// The items a finding lists: largest first, then by name, at most 12.
    fn items(&self) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self
            .hits
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .chain(self.packages.iter().map(|(k, (_, b))| (k.clone(), *b)))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(12);
        all
    }
}

/// For a `paths`/`except`/`packages` rule: walk every path of the final image from the root
/// down; a path matching `paths` (and not `except`) starts a hit unless it is already inside
/// one; an `except` path inside a hit leaves it (and, for a directory, everything below).
fn expect_rule(fx: &Fx, id: &str) -> Expect {
    let rule = fx.rule(id);
    let paths = globs(&strings(rule, "paths"));
    let except = globs(&strings(rule, "except"));
    let mut e = Expect::default();
    let mut non_dirs = BTreeSet::new();
    for (p, o) in &fx.view {
        let comps: Vec<&str> = p.split('/').collect();
        let mut active: Option<String> = None;
        for i in 1..=comps.len() {
            let c = comps[..i].join("/");
            if active.is_some() {
                if except.is_match(&c) {
                    active = None;
                }
            } else if paths.is_match(&c) && !except.is_match(&c) {
                active = Some(c);
            }
        }
        if active.as_deref() == Some(p.as_str()) {
            e.hits.entry(p.clone()).or_insert(0);
        }
        if let Some(hit) = active {
            if o.kind != Kind::Dir {
                non_dirs.insert(hit.clone());
            }
            if o.kind == Kind::File {
                *e.hits.entry(hit).or_insert(0) += o.size;
                e.files.insert(p.clone());
            }
        }
    }
    // A matched directory with nothing but directories under it (an empty /usr/include) is
    // nothing to remove: not an item.
    e.hits.retain(|h, _| non_dirs.contains(h));
    let wanted = globs(&strings(rule, "packages"));
    if !strings(rule, "packages").is_empty() {
        let status = fx.dpkg_status();
        let mut picked: BTreeSet<String> = status
            .keys()
            .filter(|p| wanted.is_match(p.as_str()))
            .cloned()
            .collect();
        if rule.get("with_dependencies").and_then(|v| v.as_bool()) == Some(true) {
            picked = fx.dependency_closure(picked);
        }
        for (pkg, version) in status {
            if picked.contains(&pkg) {
                let files = fx.package_files(&pkg);
                e.packages.insert(pkg, (version, fx.bytes(&files)));
                e.files.extend(files);
            }
        }
    }
    e
}

fn names(f: &Finding) -> Vec<&str> {
    f.items.iter().map(|i| i.name.as_str()).collect()
}

fn item<'a>(f: &'a Finding, name: &str) -> &'a pyslim::core::findings::Item {
    f.items
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("{}: no item {name}; items: {:?}", f.rule, names(f)))
}

/// Checks a path/package rule's finding against the independent expectation, exactly.
fn check_rule(fx: &Fx, id: &str) -> Expect {
    let e = expect_rule(fx, id);
    let f = fx.finding(id);
    let got: Vec<(String, u64)> = f.items.iter().map(|i| (i.name.clone(), i.bytes)).collect();
    assert_eq!(got, e.items(), "{id}: items (name, bytes)");
    assert_eq!(f.count, e.count(), "{id}: count");
    assert_eq!(f.bytes, e.bytes(fx), "{id}: bytes");
    e
}

macro_rules! fx {
    () => {
        match fixture() {
            Some(fx) => fx,
            None => return,
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Bloat.

#[test]
fn compilers_are_the_real_gcc_and_binutils_bytes() {
    let fx = fx!();
    let e = check_rule(fx, "compilers");
    let f = fx.finding("compilers");
    let pkgs: Vec<&str> = e.packages.keys().map(String::as_str).collect();
    assert_eq!(
        pkgs,
        [
            "binutils",
            "binutils-x86-64-linux-gnu",
            "cpp-12",
            "gcc-12",
            "libbinutils",
            // Only gcc-12 depends on it: it goes with the compilers.
            "libgcc-12-dev",
            "make"
        ]
    );
    assert!(f.bytes > 90 * MIB, "compilers: {} bytes", f.bytes);
    let status = fx.dpkg_status();
    for pkg in ["gcc-12", "cpp-12"] {
        let i = item(f, pkg);
        assert_eq!(i.note, format!("package {}", status[pkg]));
        assert_eq!(i.bytes, fx.bytes(&fx.package_files(pkg)));
    }
    let cc1 = "usr/lib/gcc/x86_64-linux-gnu/12/cc1";
    let i = item(f, cc1);
    assert!(fx.size(cc1) > 20 * MIB, "cc1 is the real compiler");
    assert_eq!(
        (i.bytes, i.layer, i.note.as_str()),
        (fx.size(cc1), Some(1), "cpp-12")
    );
    // Every byte came with the apt-get layer.
    assert_eq!(f.layers.len(), 1, "{:?}", f.layers);
    assert_eq!((f.layers[0].layer, f.layers[0].bytes), (1, f.bytes));
    assert_eq!(
        f.layers[0].instruction,
        "RUN apt-get update && apt-get install -y build-essential python3.11-dev"
    );
    assert_eq!(fx.instructions.len(), 5);
}

#[test]
fn package_test_suites_but_not_runtime_testing_helpers() {
    let fx = fx!();
    let e = check_rule(fx, "python-package-tests");
    let f = fx.finding("python-package-tests");
    // The same set, from the wheels' own layout: a file under site-packages with a `tests` or
    // `test` directory in its path, outside .dist-info.
    let mut by_hand = BTreeSet::new();
    for (p, o) in &fx.view {
        let Some(rest) = p.strip_prefix(&format!("{SITE}/")) else {
            continue;
        };
        let comps: Vec<&str> = rest.split('/').collect();
        if o.kind == Kind::File
            && !comps[0].ends_with(".dist-info")
            && comps.iter().any(|c| *c == "tests" || *c == "test")
        {
            by_hand.insert(p.clone());
        }
    }
    assert_eq!(e.files, by_hand);
    assert_eq!(f.bytes, fx.bytes(&by_hand));
    for dir in ["pandas/tests", "numpy/core/tests", "numpy/lib/tests"] {
        let p = format!("{SITE}/{dir}");
        assert_eq!(item(f, &p).bytes, fx.bytes(&fx.files_under(&p)), "{p}");
    }
    assert!(fx.bytes(&fx.files_under(&format!("{SITE}/pandas/tests"))) > 30 * MIB);
    // numpy.testing and pandas._testing are imported at run time: not claimed. (The test
    // suite *of* numpy.testing, numpy/testing/tests, is a test suite and is claimed.)
    for runtime in [
        "numpy/testing/__init__.py",
        "numpy/testing/_private/utils.py",
        "numpy/testing/overrides.py",
        "pandas/_testing/__init__.py",
        "pandas/_testing/asserters.py",
    ] {
        let p = format!("{SITE}/{runtime}");
        assert!(fx.size(&p) > 0, "{p} is in the wheel");
        assert!(!e.files.contains(&p), "{p} is claimed");
    }
    assert!(e.hits.contains_key(&format!("{SITE}/numpy/testing/tests")));
    assert!(!e
        .hits
        .keys()
        .any(|h| h.ends_with("/numpy/testing") || h.ends_with("/_testing")));
    assert_eq!(e.hits.len(), 20, "{:?}", e.hits.keys());
}

#[test]
fn stdlib_test_suite_from_libpython_stdlib() {
    let fx = fx!();
    let e = check_rule(fx, "python-stdlib-tests");
    let f = fx.finding("python-stdlib-tests");
    // What Debian's libpython3.11-stdlib really ships: test/ (support, libregrtest: the
    // rest is in libpython3.11-testsuite) and the _test* extension modules.
    let test = "usr/lib/python3.11/test";
    assert!(fx.files_under(test).len() > 20);
    let i = item(f, test);
    assert_eq!(
        (i.bytes, i.note.as_str()),
        (fx.bytes(&fx.files_under(test)), "libpython3.11-stdlib")
    );
    assert!(e
        .hits
        .contains_key("usr/lib/python3.11/lib-dynload/_testcapi.cpython-311-x86_64-linux-gnu.so"));
    assert!(
        !e.hits.contains_key("usr/lib/python3.11/ensurepip"),
        "Debian splits it out"
    );
    assert_eq!(f.layers[0].layer, 0);
}

#[test]
fn pip_and_setuptools_are_packaging_tools() {
    let fx = fx!();
    let f = fx.finding("python-packaging-tools");
    let dists = fx.dists();
    let (pip_v, pip) = &dists["pip"];
    let (st_v, st) = &dists["setuptools"];
    assert_eq!((pip_v.as_str(), st_v.as_str()), ("24.2", "75.1.0"));
    let pip_item = item(f, "pip 24.2");
    assert_eq!(pip_item.bytes, fx.bytes(pip));
    assert_eq!(pip_item.note, SITE);
    assert_eq!(item(f, "setuptools 75.1.0").bytes, fx.bytes(st));
    let union: BTreeSet<String> = pip.union(st).cloned().collect();
    assert_eq!(f.bytes, fx.bytes(&union));
    assert!(f.bytes > 15 * MIB);
}

#[test]
fn dev_packages_headers_and_static_libraries() {
    let fx = fx!();
    let e = check_rule(fx, "dev-packages");
    let pkgs: Vec<&str> = e.packages.keys().map(String::as_str).collect();
    assert_eq!(
        pkgs,
        [
            "libc6-dev",
            "libgcc-12-dev",
            "libpython3.11-dev",
            "linux-libc-dev",
            "python3.11-dev"
        ]
    );
    let f = fx.finding("dev-packages");
    assert!(names(f).contains(&"libc6-dev") && names(f).contains(&"linux-libc-dev"));

    let e = check_rule(fx, "c-headers");
    assert!(e.hits.contains_key("usr/include"));
    assert!(e.files.contains("usr/include/python3.11/Python.h"));
    assert!(e.files.contains("usr/include/linux/types.h"));
    assert!(e
        .files
        .contains(&format!("{SITE}/numpy/core/include/numpy/ndarrayobject.h")));
    assert_eq!(
        fx.finding("c-headers").items[0].bytes,
        fx.bytes(&fx.files_under("usr/include"))
    );

    let e = check_rule(fx, "static-libraries");
    for a in [
        "usr/lib/x86_64-linux-gnu/libc.a",
        "usr/lib/python3.11/config-3.11-x86_64-linux-gnu/libpython3.11.a",
        "usr/lib/gcc/x86_64-linux-gnu/12/libgcc.a",
    ] {
        assert!(fx.size(a) > 0, "{a} ships in the .debs");
        assert!(e.files.contains(a), "{a}");
    }
    let f = fx.finding("static-libraries");
    let libc = item(f, "usr/lib/x86_64-linux-gnu/libc.a");
    assert_eq!(libc.note, "libc6-dev");
}

#[test]
fn caches_pip_and_apt_lists() {
    let fx = fx!();
    let e = check_rule(fx, "pip-cache");
    assert_eq!(e.hits.keys().collect::<Vec<_>>(), ["root/.cache/pip"]);
    let f = fx.finding("pip-cache");
    assert!(f.bytes > 20 * MIB, "two wheels: {}", f.bytes);
    assert_eq!(f.layers[0].layer, 2);

    let e = check_rule(fx, "apt-lists");
    assert_eq!(
        e.hits.keys().collect::<Vec<_>>(),
        ["var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"],
        "lock and partial/ are not reported"
    );
    assert!(fx.finding("apt-lists").bytes > 3 * MIB);
}

#[test]
fn other_path_rules_match_exactly() {
    let fx = fx!();
    check_rule(fx, "docs");
    let e = check_rule(fx, "python-bytecode");
    assert!(e.hits.len() > 300);
    let e = check_rule(fx, "shell-present");
    assert_eq!(
        e.hits.keys().collect::<Vec<_>>(),
        ["usr/bin/dash", "usr/bin/sh"]
    );
}

#[test]
fn wasted_bytes_are_the_replaced_status_and_the_deleted_key() {
    let fx = fx!();
    let wasted: Vec<&Finding> = fx
        .ex
        .findings
        .findings
        .iter()
        .filter(|f| f.rule == "wasted-bytes")
        .collect();
    let mut groups: BTreeMap<(u32, u32), (u64, BTreeSet<String>)> = BTreeMap::new();
    for h in &fx.hidden {
        let g = groups.entry((h.written, h.hidden_by)).or_default();
        g.0 += h.size;
        g.1.insert(h.path.clone());
    }
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert_eq!(wasted.len(), groups.len());
    for ((written, by), (bytes, paths)) in &groups {
        let f = wasted
            .iter()
            .find(|f| f.layers.first().map(|l| l.layer) == Some(*written))
            .unwrap_or_else(|| panic!("no wasted-bytes finding for layer {written}"));
        assert_eq!(f.bytes, *bytes, "layer {written} hidden by {by}");
        let got: BTreeSet<String> = f.items.iter().map(|i| i.name.clone()).collect();
        assert_eq!(&got, paths);
    }
    assert!(groups[&(0, 1)].1.contains("var/lib/dpkg/status"));
    assert!(groups[&(3, 4)].1.contains("root/.ssh/id_rsa"));
}

// ---------------------------------------------------------------------------------------------
// Secrets and posture.

#[test]
fn secrets_are_the_deleted_key_and_the_env_file_not_certificates() {
    let fx = fx!();
    let f = fx.finding("secrets");
    let key = item(f, "root/.ssh/id_rsa");
    assert_eq!(key.layer, Some(3));
    assert!(key.note.starts_with("private key"), "{}", key.note);
    assert!(key.note.contains("hidden by a later layer"), "{}", key.note);
    assert!(
        fx.obs("root/.ssh/id_rsa").is_none(),
        "deleted from the final view"
    );
    let env = item(f, "app/.env");
    assert_eq!(env.note, "environment file with credentials");
    assert_eq!(env.bytes, fx.size("app/.env"));
    // Public certificates are not secrets; a public key is not either.
    for public in [
        "etc/ssl/certs/ca-certificates.crt".to_owned(),
        format!("{SITE}/certifi/cacert.pem"),
        format!("{SITE}/pip/_vendor/certifi/cacert.pem"),
        "root/.ssh/id_rsa.pub".to_owned(),
    ] {
        assert!(
            !names(f).contains(&public.as_str()),
            "{public} is not a secret: {:?}",
            names(f)
        );
    }
    assert!(fx.size(&format!("{SITE}/certifi/cacert.pem")) > 100_000);
    assert_eq!(f.count, 2, "{:?}", f.items);
    assert_eq!(f.bytes, 0, "secrets are not bloat");
}

#[test]
fn posture_and_environment() {
    let fx = fx!();
    let f = fx.finding("runs-as-root");
    assert_eq!(f.items[0].name, "USER is not set (defaults to root)");
    for env in ["env-dontwritebytecode", "env-unbuffered", "env-locale"] {
        fx.finding(env);
    }
    // No setuid bit in these .debs (checked from the tars), and no world-writable dir but
    // /tmp, which has the sticky bit.
    let setuid = fx
        .view
        .iter()
        .any(|(p, o)| o.kind == Kind::File && fx.modes[p] & 0o6000 != 0);
    assert_eq!(
        setuid,
        fx.ex
            .findings
            .findings
            .iter()
            .any(|f| f.rule == "setuid-files")
    );
    assert_eq!(fx.modes.get("tmp").map(|m| m & 0o7777), Some(0o1777));
    assert!(!fx
        .ex
        .findings
        .findings
        .iter()
        .any(|f| f.rule == "world-writable-dirs"));
    assert!(!fx
        .ex
        .findings
        .findings
        .iter()
        .any(|f| f.rule == "python-interpreters"));
}

// ---------------------------------------------------------------------------------------------
// Inventory.

#[test]
fn inventory_os_interpreter_and_venv() {
    let fx = fx!();
    let inv = &fx.ex.inventory;
    let os = inv.os.as_ref().expect("os-release");
    assert_eq!((os.id.as_str(), os.version_id.as_str()), ("debian", "12"));
    assert_eq!(inv.libc, "glibc");
    assert_eq!(inv.package_manager_db, "dpkg");
    let got: BTreeMap<String, String> = inv
        .os_packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(got, fx.dpkg_status());
    // Files and bytes per package, from the .list files, for every package that names no
    // path through a merged-/usr symlink (those two are in a regression test below).
    let mut aliased = Vec::new();
    for p in &inv.os_packages {
        if fx.lists_aliased_paths(&p.name) {
            aliased.push(p.name.as_str());
            continue;
        }
        assert_eq!(
            (p.files, p.file_bytes),
            fx.package_figures(&p.name),
            "{}: (files, bytes)",
            p.name
        );
        assert!(p.installed_bytes >= p.file_bytes, "{}", p.name);
    }
    assert_eq!(aliased, ["dash", "libc6"]);
    assert_eq!(inv.interpreters.len(), 1, "{:?}", inv.interpreters);
    let py = &inv.interpreters[0];
    assert_eq!(
        (py.path.as_str(), py.version.as_str(), py.package.as_deref()),
        ("usr/bin/python3.11", "3.11", Some("python3.11-minimal"))
    );
    assert_eq!(inv.venvs.len(), 1);
    let v = &inv.venvs[0];
    assert_eq!(
        (
            v.path.as_str(),
            v.home.as_str(),
            v.version.as_str(),
            v.system_site_packages
        ),
        ("opt/venv", "/usr/bin", "3.11.2", false)
    );
    let f = fx.finding("python-venvs");
    assert_eq!(f.items[0].name, "opt/venv");
    assert!(!f.items[0].note.contains("broken"), "{}", f.items[0].note);
}

#[test]
fn inventory_python_packages_match_their_record() {
    let fx = fx!();
    let inv = &fx.ex.inventory;
    let dists = fx.dists();
    assert_eq!(dists.len(), 20, "{:?}", dists.keys());
    for (name, (version, files)) in &dists {
        let p = inv
            .python_packages
            .iter()
            .find(|p| pep503(&p.name) == *name && p.location == SITE)
            .unwrap_or_else(|| panic!("{name} is not in the inventory"));
        assert_eq!(&p.version, version, "{name}");
        assert_eq!(p.installer, "pip", "{name}");
        assert_eq!(p.bytes, fx.bytes(files), "{name}: bytes");
        assert_eq!(p.files, files.len() as u64, "{name}: files");
    }
    let numpy = inv
        .python_packages
        .iter()
        .find(|p| p.name == "numpy")
        .expect("numpy");
    assert_eq!(numpy.version, "1.26.4");
    assert!(numpy.bytes > 50 * MIB);
    let pandas = inv
        .python_packages
        .iter()
        .find(|p| p.name == "pandas")
        .expect("pandas");
    assert_eq!(
        (pandas.version.as_str(), pandas.installer.as_str()),
        ("2.2.3", "pip")
    );
    assert!(pandas.bytes > 50 * MIB);
    let flask = inv
        .python_packages
        .iter()
        .find(|p| p.name == "Flask")
        .expect("flask");
    for r in ["werkzeug", "jinja2", "itsdangerous", "click", "blinker"] {
        assert!(
            flask.requires.iter().any(|x| x == r),
            "{r}: {:?}",
            flask.requires
        );
    }
    let requests = inv
        .python_packages
        .iter()
        .find(|p| p.name == "requests")
        .expect("requests");
    assert_eq!(
        requests.requires,
        ["charset-normalizer", "idna", "urllib3", "certifi"]
    );
}

// ---------------------------------------------------------------------------------------------
// Regressions: bugs this fixture found, fixed; each test asserts what is true of the image.

/// Was a bug (crates/pyslim-core/src/inventory, owner map): Debian 12 has merged /usr: `bin`, `lib`,
/// `lib64`, `sbin` are symlinks into /usr, but dpkg's .list files still name the aliased
/// paths (`/bin/dash`, `/lib/x86_64-linux-gnu/libc.so.6`, `/lib64/ld-linux-x86-64.so.2`).
/// pyslim looks those paths up literally, finds nothing under the symlink, and so leaves
/// usr/bin/dash and libc.so.6 without an owner: dash and libc6 are under-counted and their
/// files get no package note in findings (shell-present's usr/bin/dash, unstripped …).
#[test]

fn regression_dpkg_files_behind_merged_usr_symlinks_have_owners() {
    let fx = fx!();
    let mut wrong = Vec::new();
    for p in &fx.ex.inventory.os_packages {
        let want = fx.package_figures(&p.name);
        if (p.files, p.file_bytes) != want {
            wrong.push(format!(
                "{}: pyslim {} files / {} bytes, image {} files / {} bytes",
                p.name, p.files, p.file_bytes, want.0, want.1
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "packages whose files pyslim miscounts:\n{}",
        wrong.join("\n")
    );
}

/// Was a bug (crates/pyslim-core/src/inventory, python_packages): setuptools 75 vendors 17
/// distributions with their own .dist-info under setuptools/_vendor (wheel, jaraco.*,
/// importlib_metadata, typeguard …). pyslim lists each as an installed package, and
/// python-packaging-tools then reports "wheel 0.43.0", which is not installed: `pip
/// uninstall wheel` (the rule's fix) would say so. Only dist-info directly in a
/// site-packages (or dist-packages) directory is an installation.
#[test]

fn regression_vendored_dist_info_is_not_an_installed_package() {
    let fx = fx!();
    let vendored: Vec<String> = fx
        .ex
        .inventory
        .python_packages
        .iter()
        .filter(|p| !p.location.ends_with("site-packages"))
        .map(|p| format!("{} {} in {}", p.name, p.version, p.location))
        .collect();
    let f = fx.finding("python-packaging-tools");
    assert!(
        vendored.is_empty() && f.count == 2,
        "vendored copies listed as installed: {vendored:#?}\npython-packaging-tools items: {:?}",
        names(f)
    );
}

/// Was a bug (crates/pyslim-core/src/inventory, parse_metadata): Requires-Dist environment markers
/// are ignored except `extra ==`, so requirements that do not apply to this image (Linux,
/// Python 3.11) are listed: Flask's `importlib-metadata; python_version < "3.10"`, click's
/// `colorama; platform_system == "Windows"`. Neither is installed.
#[test]

fn regression_requirements_for_other_platforms_are_not_listed() {
    let fx = fx!();
    let inv = &fx.ex.inventory;
    let req = |n: &str| {
        inv.python_packages
            .iter()
            .find(|p| p.name == n && p.location == SITE)
            .map(|p| p.requires.clone())
            .unwrap_or_default()
    };
    assert!(
        !req("Flask").contains(&"importlib-metadata".to_owned())
            && !req("click").contains(&"colorama".to_owned()),
        "Flask requires {:?}; click requires {:?}",
        req("Flask"),
        req("click")
    );
}

/// Was a bug (crates/pyslim-core/src/inventory, owners): a directory was "owned" by the first package (by
/// name) whose .list named it: `usr/share/doc (binutils-x86-64-linux-gnu)`,
/// `usr/include (libc6-dev)`, though dozens of packages fill them. A directory has one
/// owner only when one package owns everything under it.
#[test]
fn regression_directories_many_packages_fill_have_no_single_owner() {
    let fx = fx!();
    // Path → packages whose .list names it, read from the lists here.
    let mut listed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for pkg in fx.dpkg_status().keys() {
        for p in fx.dpkg_list(pkg) {
            let p = fx.resolve_dirs(&p);
            if fx.obs(&p).is_some() {
                listed.entry(p).or_default().insert(pkg.clone());
            }
        }
    }
    let expected = |dir: &str| {
        let prefix = format!("{dir}/");
        let under = |p: &str| p == dir || p.starts_with(&prefix);
        let packages: BTreeSet<&String> = listed
            .iter()
            .filter(|(p, _)| under(p))
            .flat_map(|(_, s)| s)
            .collect();
        let unpackaged = fx
            .view
            .iter()
            .any(|(p, o)| p.starts_with(&prefix) && o.kind != Kind::Dir && !listed.contains_key(p));
        let tail = if unpackaged {
            " and files no package lists"
        } else {
            ""
        };
        match packages.len() {
            1 => format!("{}{tail}", packages.iter().next().unwrap()),
            n => format!("shared by {n} packages{tail}"),
        }
    };
    let mut checked = 0;
    for rule in ["c-headers", "docs"] {
        for item in &fx.finding(rule).items {
            if fx.obs(&item.name).is_none_or(|o| o.kind != Kind::Dir)
                || !listed.contains_key(&item.name)
            {
                continue;
            }
            assert_eq!(item.note, expected(&item.name), "{rule}: {}", item.name);
            checked += 1;
        }
    }
    assert!(
        checked >= 3,
        "usr/include, usr/share/doc and usr/share/man are listed dirs"
    );
    let include = fx
        .finding("c-headers")
        .items
        .iter()
        .find(|i| i.name == "usr/include")
        .unwrap();
    assert!(include.note.starts_with("shared by "), "{}", include.note);
    // A package's own directory keeps its owner.
    let inv = &fx.ex.inventory;
    let id = fx
        .ex
        .tree
        .lookup("usr/lib/gcc/x86_64-linux-gnu/12/include")
        .unwrap();
    assert_eq!(
        inv.owner_label(id),
        Some(expected("usr/lib/gcc/x86_64-linux-gnu/12/include"))
    );
}
