//! Generates the big synthetic benchmark images:
//!
//!   cargo run --release --example gen_bench_image -- OUT_DIR
//!
//! writes `OUT_DIR/big.tar` (docker-archive, legacy `docker save` layout, uncompressed layers)
//! and `OUT_DIR/big-oci-gzip.tar` (OCI image layout tar, most layers gzip), both from the same
//! spec: 10 layers shaped like a careless Python app image (Debian-ish base, CPython, build
//! toolchain, a venv full of scientific / web packages, an app with node_modules, a pip
//! upgrade, a "cleanup" layer), ~125,000 regular files, ~1.5 GB of content. Small sources are
//! `Content::Pattern` (compressible), binaries / .pyc / archives are `Content::Noise`.
//! Later layers overwrite files (identical and changed), delete files one by one (whiteouts),
//! delete whole trees (directory whiteouts) and replace a directory (opaque marker).
//!
//! Deterministic (fixed seed). An output that already exists is left alone; each is written
//! to `NAME.tmp` and renamed, so an interrupted run never leaves a half file behind.
//! The writer builds one layer in memory at a time; every layer here stays under ~200 MB.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use pyslim::core::image::Compression;
use pyslim::source::writer::{
    write_archive, ArchiveFormat, Content, EmptyStep, ImageSpec, LayerSpec, SpecEntry, SpecKind,
};

/// Layers above this are refused: the writer holds a whole layer (and, for OCI, its gzip) in
/// memory.
const MAX_LAYER_BYTES: u64 = 210_000_000;

/// splitmix64 in a Cell, so `l.noise(rng, &format!(.., rng.pick(..)), ..)` borrows fine.
struct Rng(std::cell::Cell<u64>);

impl Rng {
    fn next(&self) -> u64 {
        let mut z = self.0.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.0.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn hex(&self, n: usize) -> String {
        let mut s = String::new();
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n);
        s
    }
}

/// Sizes of source files (.py, .h, .js, .pm): mostly small, with a long tail.
fn source_size(rng: &Rng) -> u64 {
    match rng.below(100) {
        0..=69 => rng.range(100, 3_000),
        70..=91 => rng.range(3_000, 12_000),
        92..=98 => rng.range(12_000, 40_000),
        _ => rng.range(40_000, 150_000),
    }
}

/// Sizes of executables and shared libraries.
fn binary_size(rng: &Rng) -> u64 {
    match rng.below(100) {
        0..=69 => rng.range(10_000, 150_000),
        70..=94 => rng.range(150_000, 1_000_000),
        _ => rng.range(1_000_000, 4_000_000),
    }
}

const WORDS: &[&str] = &[
    "core",
    "util",
    "io",
    "base",
    "common",
    "api",
    "internal",
    "compat",
    "config",
    "types",
    "parser",
    "format",
    "array",
    "frame",
    "series",
    "index",
    "ops",
    "linalg",
    "fft",
    "random",
    "testing",
    "tests",
    "plotting",
    "window",
    "groupby",
    "reshape",
    "tools",
    "errors",
    "extensions",
    "backend",
    "cache",
    "client",
    "server",
    "models",
    "views",
    "schema",
    "fields",
    "signals",
    "handlers",
    "middleware",
    "templates",
    "lib",
    "_impl",
    "_vendor",
    "helpers",
    "algorithms",
    "accessor",
    "dtypes",
    "strings",
    "sparse",
    "arrow",
    "interval",
    "datetimes",
    "timedeltas",
    "period",
    "categorical",
    "numeric",
    "masked",
    "json",
    "csv",
    "excel",
    "sql",
    "html",
    "xml",
    "parquet",
    "feather",
    "stata",
    "pickle",
    "formats",
    "printing",
    "style",
    "console",
    "concat",
    "merge",
    "pivot",
    "encoding",
    "describe",
    "apply",
    "construction",
    "missing",
    "nanops",
    "sample",
    "sorting",
    "transforms",
    "widgets",
    "protocol",
    "session",
    "auth",
    "adapters",
    "exceptions",
    "structures",
    "hooks",
    "cookies",
    "packages",
    "status",
    "optimize",
    "integrate",
    "interpolate",
    "signal",
    "stats",
    "spatial",
    "special",
    "ndimage",
    "cluster",
    "odr",
    "sparse_csgraph",
    "distributions",
    "contrib",
    "legacy",
    "experimental",
];

const LANGS: &[&str] = &[
    "af", "ar", "ast", "be", "bg", "bn", "br", "bs", "ca", "cs", "cy", "da", "de", "dsb", "el",
    "en_AU", "en_GB", "eo", "es", "es_AR", "es_MX", "et", "eu", "fa", "fi", "fr", "fy", "ga", "gd",
    "gl", "he", "hi", "hr", "hsb", "hu", "hy", "ia", "id", "io", "is", "it", "ja", "ka", "kk",
    "km", "kn", "ko", "lb", "lt", "lv", "mk", "ml", "mn", "mr", "my", "nb", "ne", "nl", "nn", "os",
    "pa", "pl", "pt", "pt_BR", "ro", "ru", "sk", "sl", "sq", "sr", "sv", "sw", "ta", "te", "th",
    "tr", "tt", "uk", "ur", "vi", "zh_Hans", "zh_Hant",
];

/// One layer being built: its entries, the directories it already holds (parents are added
/// before their children, as `docker save` does), and what it has grown to.
struct Layer {
    created_by: String,
    compression: Compression,
    entries: Vec<SpecEntry>,
    dirs: BTreeSet<String>,
    bytes: u64,
    files: u64,
    whiteouts: u64,
}

impl Layer {
    fn new(created_by: &str, compression: Compression) -> Self {
        Layer {
            created_by: created_by.into(),
            compression,
            entries: Vec::new(),
            dirs: BTreeSet::new(),
            bytes: 0,
            files: 0,
            whiteouts: 0,
        }
    }

    fn dir(&mut self, path: &str) {
        let mut end = 0;
        while end < path.len() {
            end = path[end..].find('/').map_or(path.len(), |i| end + i);
            let prefix = &path[..end];
            if !self.dirs.contains(prefix) {
                self.dirs.insert(prefix.to_string());
                self.entries.push(SpecEntry::dir(prefix));
            }
            end += 1;
        }
    }

    fn parent(&mut self, path: &str) {
        if let Some(i) = path.rfind('/') {
            self.dir(&path[..i]);
        }
    }

    fn put(&mut self, path: &str, content: Content) {
        self.parent(path);
        self.bytes += content.len();
        self.files += 1;
        let exec = path.contains("/bin/") || path.ends_with(".so") || path.contains(".so.");
        let entry = SpecEntry::new(path, SpecKind::File(content));
        self.entries
            .push(if exec { entry.with_mode(0o755) } else { entry });
    }

    fn pattern(&mut self, rng: &Rng, path: &str, size: u64) {
        let seed = rng.next();
        self.put(path, Content::Pattern { size, seed });
    }

    fn noise(&mut self, rng: &Rng, path: &str, size: u64) {
        let seed = rng.next();
        self.put(path, Content::Noise { size, seed });
    }

    fn source(&mut self, rng: &Rng, path: &str) -> u64 {
        let size = source_size(rng);
        self.pattern(rng, path, size);
        size
    }

    fn symlink(&mut self, path: &str, target: &str) {
        self.parent(path);
        self.entries.push(SpecEntry::symlink(path, target));
    }

    fn hardlink(&mut self, path: &str, target: &str) {
        self.parent(path);
        self.entries.push(SpecEntry::hardlink(path, target));
    }

    fn whiteout(&mut self, path: &str) {
        self.parent(path);
        self.whiteouts += 1;
        self.entries.push(SpecEntry::whiteout(path));
    }

    fn opaque(&mut self, dir: &str) {
        self.dir(dir);
        self.whiteouts += 1;
        self.entries.push(SpecEntry::opaque(dir));
    }

    /// A Python package tree of `modules` modules under `root` (e.g. `.../site-packages/pkg`):
    /// nested subpackages, each module with its `__pycache__/*.pyc` most of the time.
    /// Returns the .py paths written.
    fn package(&mut self, rng: &Rng, root: &str, modules: usize) -> Vec<String> {
        let mut written = Vec::new();
        let mut queue = std::collections::VecDeque::from([(root.to_string(), 0usize)]);
        let mut left = modules;
        while left > 0 {
            let (dir, depth) = queue.pop_front().unwrap_or_else(|| {
                let name = format!("{}_{}", rng.pick(WORDS), rng.below(1000));
                (format!("{root}/{name}"), 1)
            });
            let mut used = BTreeSet::new();
            let n = (rng.range(3, 20) as usize).min(left);
            for i in 0..n {
                let name = if i == 0 {
                    "__init__".to_string()
                } else {
                    unique(rng, &mut used)
                };
                let py = format!("{dir}/{name}.py");
                let size = self.source(rng, &py);
                if rng.chance(90) {
                    let pyc = format!("{dir}/__pycache__/{name}.cpython-311.pyc");
                    self.noise(rng, &pyc, size * 6 / 10 + 150);
                }
                written.push(py);
            }
            left -= n;
            if depth < 5 {
                for _ in 0..rng.below(5) {
                    let sub = unique(rng, &mut used);
                    queue.push_back((format!("{dir}/{sub}"), depth + 1));
                }
            }
        }
        written
    }

    /// `NAME-VERSION.dist-info` beside a package.
    fn dist_info(&mut self, rng: &Rng, site: &str, name: &str, version: &str, files: usize) {
        let d = format!("{site}/{name}-{version}.dist-info");
        for (f, size) in [
            ("METADATA", rng.range(1_000, 30_000)),
            ("RECORD", files as u64 * 90 + 200),
            ("WHEEL", 110),
            ("INSTALLER", 4),
            ("top_level.txt", 12),
            ("LICENSE.txt", rng.range(1_000, 60_000)),
        ] {
            self.pattern(rng, &format!("{d}/{f}"), size);
        }
    }

    fn spec(self) -> LayerSpec {
        let mut l = LayerSpec::new(&self.created_by, self.entries);
        l.compression = self.compression;
        l
    }
}

fn unique(rng: &Rng, used: &mut BTreeSet<String>) -> String {
    let mut name = rng.pick(WORDS).to_string();
    while used.contains(&name) {
        name = format!("{}_{}", rng.pick(WORDS), rng.below(100));
    }
    used.insert(name.clone());
    name
}

const SITE: &str = "opt/venv/lib/python3.11/site-packages";

/// Files a later layer needs to point back at.
#[derive(Default)]
struct Memo {
    numpy_libs: Vec<(String, Content)>,
    headers: Vec<String>,
    apt_lists: Vec<String>,
    venv_numpy_py: Vec<String>,
}

fn base_os(rng: &Rng) -> Layer {
    let mut l = Layer::new(
        "/bin/sh -c #(nop) ADD file:3a6e1f0c5c6a8d1b2e4f9a7c0d3b5e8f1a2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e in / ",
        Compression::Gzip,
    );
    l.noise(rng, "usr/bin/perl", 3_900_000);
    l.hardlink("usr/bin/perl5.36.0", "usr/bin/perl");
    for i in 0..120 {
        let name = format!(
            "usr/bin/{}{i}",
            rng.pick(&["ls", "apt", "dpkg", "perl", "find", "grep", "sed", "tar", "gpg", "sys"])
        );
        let size = binary_size(rng);
        l.noise(rng, &name, size);
    }
    for i in 0..180 {
        let lib = format!(
            "usr/lib/x86_64-linux-gnu/lib{}{i}.so.{}.{}.{}",
            rng.pick(WORDS),
            rng.below(6),
            rng.below(20),
            rng.below(10)
        );
        let size = binary_size(rng);
        l.noise(rng, &lib, size);
        let major: String = lib.rsplitn(3, '.').nth(2).unwrap_or(&lib).to_string();
        let target = lib.rsplit('/').next().unwrap_or(&lib).to_string();
        l.symlink(&major, &target);
    }
    for i in 0..300 {
        let pkg = format!(
            "{}-{}{i}",
            rng.pick(&["lib", "python3", "perl", "gcc", "util"]),
            rng.pick(WORDS)
        );
        let size = rng.range(800, 12_000);
        l.pattern(rng, &format!("usr/share/doc/{pkg}/copyright"), size);
        let size = rng.range(500, 20_000);
        l.noise(
            rng,
            &format!("usr/share/doc/{pkg}/changelog.Debian.gz"),
            size,
        );
        for (ext, lo, hi) in [
            ("list", 200, 30_000),
            ("md5sums", 200, 40_000),
            ("postinst", 100, 3_000),
        ] {
            let size = rng.range(lo, hi);
            l.pattern(rng, &format!("var/lib/dpkg/info/{pkg}.{ext}"), size);
        }
    }
    for lang in LANGS.iter().take(60) {
        for d in 0..40 {
            let size = rng.range(1_000, 20_000);
            l.pattern(
                rng,
                &format!(
                    "usr/share/locale/{lang}/LC_MESSAGES/{}{d}.mo",
                    rng.pick(WORDS)
                ),
                size,
            );
        }
    }
    for region in [
        "Africa",
        "America",
        "Antarctica",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
        "Etc",
    ] {
        for i in 0..180 {
            let size = rng.range(100, 3_000);
            l.pattern(
                rng,
                &format!("usr/share/zoneinfo/{region}/{}_{i}", rng.pick(WORDS)),
                size,
            );
        }
    }
    for i in 0..400 {
        let size = rng.range(50, 5_000);
        l.pattern(
            rng,
            &format!(
                "etc/{}/{}{i}.conf",
                rng.pick(&[
                    "apt",
                    "default",
                    "init.d",
                    "security",
                    "ssl",
                    "cron.d",
                    "logrotate.d"
                ]),
                rng.pick(WORDS)
            ),
            size,
        );
    }
    let mut used = BTreeSet::new();
    for _ in 0..2000 {
        let p = format!(
            "usr/share/perl5/{}/{}/{}.pm",
            rng.pick(&["Debconf", "Dpkg", "Text", "File"]),
            rng.pick(WORDS),
            unique(rng, &mut used)
        );
        l.source(rng, &p);
    }
    for i in 0..3000 {
        let size = rng.range(1_000, 10_000);
        l.noise(
            rng,
            &format!(
                "usr/share/man/man{}/{}{i}.{}.gz",
                i % 8 + 1,
                rng.pick(WORDS),
                i % 8 + 1
            ),
            size,
        );
    }
    l
}

fn cpython(rng: &Rng) -> Layer {
    let mut l = Layer::new(
        "/bin/sh -c set -eux; wget -O python.tar.xz \"https://www.python.org/ftp/python/${PYTHON_VERSION%%[a-z]*}/Python-$PYTHON_VERSION.tar.xz\"; ./configure --enable-shared; make -j \"$nproc\"; make install",
        Compression::Gzip,
    );
    let lib = "usr/local/lib/python3.11";
    l.package(rng, lib, 4000);
    l.package(rng, &format!("{lib}/test"), 4000);
    for i in 0..70 {
        let size = binary_size(rng);
        l.noise(
            rng,
            &format!(
                "{lib}/lib-dynload/_{}{i}.cpython-311-x86_64-linux-gnu.so",
                rng.pick(WORDS)
            ),
            size,
        );
    }
    l.noise(rng, "usr/local/lib/libpython3.11.so.1.0", 24_000_000);
    l.symlink("usr/local/lib/libpython3.11.so", "libpython3.11.so.1.0");
    l.noise(
        rng,
        &format!("{lib}/config-3.11-x86_64-linux-gnu/libpython3.11.a"),
        45_000_000,
    );
    for i in 0..200 {
        l.source(
            rng,
            &format!("usr/local/include/python3.11/{}{i}.h", rng.pick(WORDS)),
        );
    }
    l.noise(rng, "usr/local/bin/python3.11", 16_000);
    l.symlink("usr/local/bin/python3", "python3.11");
    l.symlink("usr/local/bin/python", "python3");
    l
}

fn toolchain(rng: &Rng, memo: &mut Memo) -> Layer {
    let mut l = Layer::new(
        "/bin/sh -c apt-get update && apt-get install -y build-essential python3-dev",
        Compression::None,
    );
    let gcc = "usr/lib/gcc/x86_64-linux-gnu/12";
    l.noise(rng, &format!("{gcc}/cc1"), 30_000_000);
    l.noise(rng, &format!("{gcc}/cc1plus"), 34_000_000);
    l.noise(rng, &format!("{gcc}/lto-wrapper"), 1_000_000);
    l.noise(rng, &format!("{gcc}/collect2"), 400_000);
    for i in 0..1500 {
        l.source(
            rng,
            &format!(
                "{gcc}/plugin/include/{}/{}{i}.h",
                rng.pick(WORDS),
                rng.pick(WORDS)
            ),
        );
    }
    for i in 0..3500 {
        let p = format!(
            "usr/include/{}/{}{i}.h",
            rng.pick(&[
                "x86_64-linux-gnu/bits",
                "linux",
                "asm-generic",
                "python3.11",
                "c++/12",
                "sys",
                "netinet"
            ]),
            rng.pick(WORDS)
        );
        l.source(rng, &p);
        memo.headers.push(p);
    }
    for b in [
        "x86_64-linux-gnu-gcc-12",
        "x86_64-linux-gnu-g++-12",
        "x86_64-linux-gnu-ld.bfd",
        "x86_64-linux-gnu-as",
        "x86_64-linux-gnu-cpp-12",
        "make",
        "dpkg-buildpackage",
    ] {
        let size = rng.range(200_000, 2_000_000);
        l.noise(rng, &format!("usr/bin/{b}"), size);
    }
    for i in 0..20 {
        let size = binary_size(rng);
        l.noise(
            rng,
            &format!(
                "usr/lib/x86_64-linux-gnu/lib{}_dev{i}.so.{}",
                rng.pick(WORDS),
                i % 4
            ),
            size,
        );
    }
    l.pattern(
        rng,
        "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
        30_000_000,
    );
    memo.apt_lists.push(
        "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages".into(),
    );
    for f in [
        "InRelease",
        "updates_InRelease",
        "security_InRelease",
        "updates_main_binary-amd64_Packages",
        "security_main_binary-amd64_Packages",
    ] {
        let p = format!("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm-{f}");
        let size = rng.range(50_000, 400_000);
        l.pattern(rng, &p, size);
        memo.apt_lists.push(p);
    }
    l.noise(rng, "var/cache/apt/pkgcache.bin", 15_000_000);
    l.noise(rng, "var/cache/apt/srcpkgcache.bin", 15_000_000);
    l
}

fn numpy_scipy(rng: &Rng, memo: &mut Memo) -> Layer {
    let mut l = Layer::new(
        "/bin/sh -c python3 -m venv /opt/venv && /opt/venv/bin/pip install numpy==1.26.4 scipy==1.13.1",
        Compression::Gzip,
    );
    l.symlink("opt/venv/bin/python", "/usr/local/bin/python3");
    l.symlink("opt/venv/bin/python3", "python");
    l.pattern(rng, "opt/venv/pyvenv.cfg", 90);
    for s in [
        "activate",
        "activate.csh",
        "activate.fish",
        "Activate.ps1",
        "pip",
        "pip3",
        "f2py",
    ] {
        let size = rng.range(200, 9_000);
        l.pattern(rng, &format!("opt/venv/bin/{s}"), size);
    }
    l.package(rng, &format!("{SITE}/pip"), 1000);
    l.dist_info(rng, SITE, "pip", "23.0.1", 1000);
    l.package(rng, &format!("{SITE}/setuptools"), 700);
    l.dist_info(rng, SITE, "setuptools", "66.1.1", 700);
    memo.venv_numpy_py = l.package(rng, &format!("{SITE}/numpy"), 1000);
    l.dist_info(rng, SITE, "numpy", "1.26.4", 1000);
    l.noise(
        rng,
        &format!("{SITE}/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so"),
        9_000_000,
    );
    for i in 0..15 {
        let size = rng.range(100_000, 1_000_000);
        l.noise(
            rng,
            &format!(
                "{SITE}/numpy/{}/_{}{i}.cpython-311-x86_64-linux-gnu.so",
                rng.pick(&["core", "linalg", "random", "fft"]),
                rng.pick(WORDS)
            ),
            size,
        );
    }
    // The same libgfortran goes into numpy.libs and scipy.libs: a duplicate across packages.
    let gfortran = Content::Noise {
        size: 2_600_000,
        seed: rng.next(),
    };
    for (name, content) in [
        (
            "libopenblas64_p-r0-0cf96a72.3.23.dev.so",
            Content::Noise {
                size: 33_000_000,
                seed: rng.next(),
            },
        ),
        ("libgfortran-040039e1.so.5.0.0", gfortran.clone()),
        (
            "libquadmath-96973f99.so.0.0.0",
            Content::Noise {
                size: 250_000,
                seed: rng.next(),
            },
        ),
    ] {
        let p = format!("{SITE}/numpy.libs/{name}");
        l.put(&p, content.clone());
        memo.numpy_libs.push((p, content));
    }
    l.package(rng, &format!("{SITE}/scipy"), 3000);
    l.dist_info(rng, SITE, "scipy", "1.13.1", 3000);
    for i in 0..35 {
        let size = rng.range(100_000, 2_400_000);
        l.noise(
            rng,
            &format!(
                "{SITE}/scipy/{}/_{}{i}.cpython-311-x86_64-linux-gnu.so",
                rng.pick(&[
                    "linalg", "sparse", "optimize", "special", "stats", "spatial", "signal"
                ]),
                rng.pick(WORDS)
            ),
            size,
        );
    }
    l.noise(
        rng,
        &format!("{SITE}/scipy.libs/libopenblasp-r0-24bff013.3.26.dev.so"),
        33_000_000,
    );
    l.put(
        &format!("{SITE}/scipy.libs/libgfortran-040039e1.so.5.0.0"),
        gfortran,
    );
    l
}

fn pandas_matplotlib(rng: &Rng) -> Layer {
    let mut l = Layer::new(
        "/bin/sh -c /opt/venv/bin/pip install pandas==2.2.3 matplotlib==3.9.2 pillow==10.4.0 fonttools sympy",
        Compression::Gzip,
    );
    l.package(rng, &format!("{SITE}/pandas"), 1500);
    l.package(rng, &format!("{SITE}/pandas/tests"), 1100);
    l.dist_info(rng, SITE, "pandas", "2.2.3", 2600);
    for i in 0..40 {
        let size = rng.range(100_000, 2_000_000);
        l.noise(
            rng,
            &format!(
                "{SITE}/pandas/_libs/{}{i}.cpython-311-x86_64-linux-gnu.so",
                rng.pick(WORDS)
            ),
            size,
        );
    }
    l.package(rng, &format!("{SITE}/matplotlib"), 900);
    l.dist_info(rng, SITE, "matplotlib", "3.9.2", 900);
    l.noise(
        rng,
        &format!("{SITE}/matplotlib/ft2font.cpython-311-x86_64-linux-gnu.so"),
        1_500_000,
    );
    let data = format!("{SITE}/matplotlib/mpl-data");
    for i in 0..40 {
        let size = rng.range(50_000, 700_000);
        l.noise(
            rng,
            &format!(
                "{data}/fonts/ttf/DejaVu{}{i}.ttf",
                rng.pick(&["Sans", "Serif", "SansMono", "Display"])
            ),
            size,
        );
    }
    for i in 0..1000 {
        let size = rng.range(1_000, 20_000);
        l.noise(
            rng,
            &format!("{data}/images/{}{i}.png", rng.pick(WORDS)),
            size,
        );
    }
    for i in 0..300 {
        let size = rng.range(300, 3_000);
        l.pattern(
            rng,
            &format!("{data}/stylelib/{}{i}.mplstyle", rng.pick(WORDS)),
            size,
        );
    }
    l.package(rng, &format!("{SITE}/PIL"), 100);
    l.dist_info(rng, SITE, "pillow", "10.4.0", 100);
    for i in 0..8 {
        let size = rng.range(500_000, 3_000_000);
        l.noise(
            rng,
            &format!(
                "{SITE}/pillow.libs/lib{}-{}.so.{i}",
                rng.pick(WORDS),
                rng.hex(8)
            ),
            size,
        );
    }
    l.package(rng, &format!("{SITE}/fontTools"), 600);
    l.dist_info(rng, SITE, "fonttools", "4.53.1", 600);
    l.package(rng, &format!("{SITE}/sympy"), 4000);
    l.dist_info(rng, SITE, "sympy", "1.13.2", 4000);
    l
}

fn arrow_grpc(rng: &Rng) -> Layer {
    let mut l = Layer::new(
        "/bin/sh -c /opt/venv/bin/pip install pyarrow==17.0.0 grpcio==1.66.1",
        Compression::None,
    );
    let pa = format!("{SITE}/pyarrow");
    for (name, size) in [
        ("libarrow.so.1700", 50_000_000),
        ("libarrow_flight.so.1700", 20_000_000),
        ("libarrow_dataset.so.1700", 5_000_000),
        ("libparquet.so.1700", 8_000_000),
        ("libarrow_python.so", 3_000_000),
        ("lib.cpython-311-x86_64-linux-gnu.so", 5_000_000),
    ] {
        l.noise(rng, &format!("{pa}/{name}"), size);
    }
    l.package(rng, &pa, 800);
    for i in 0..700 {
        l.source(
            rng,
            &format!(
                "{pa}/include/arrow/{}/{}{i}.h",
                rng.pick(WORDS),
                rng.pick(WORDS)
            ),
        );
    }
    l.dist_info(rng, SITE, "pyarrow", "17.0.0", 1500);
    l.package(rng, &format!("{SITE}/grpc"), 150);
    l.noise(
        rng,
        &format!("{SITE}/grpc/_cython/cygrpc.cpython-311-x86_64-linux-gnu.so"),
        12_000_000,
    );
    l.dist_info(rng, SITE, "grpcio", "1.66.1", 150);
    // pip's HTTP cache keeps the downloaded wheels: root/.cache/pip/http-v2/a/b/c/d/e/<hash>.body
    for _ in 0..30 {
        let h = rng.hex(56);
        let dir = format!(
            "root/.cache/pip/http-v2/{}/{}/{}/{}/{}",
            &h[0..1],
            &h[1..2],
            &h[2..3],
            &h[3..4],
            &h[4..5]
        );
        let size = rng.range(200_000, 4_000_000);
        l.noise(rng, &format!("{dir}/{h}.body"), size);
        l.pattern(rng, &format!("{dir}/{h}"), 1_200);
    }
    l.noise(
        rng,
        "root/.cache/pip/http-v2/f/3/9/a/c/f39ac0-pyarrow-wheel.body",
        15_000_000,
    );
    l
}

fn web_packages(rng: &Rng) -> Layer {
    let mut l = Layer::new(
        "/bin/sh -c /opt/venv/bin/pip install -r requirements.txt",
        Compression::Gzip,
    );
    let data = format!("{SITE}/botocore/data");
    for i in 0..400 {
        let svc = format!(
            "{}-{}{i}",
            rng.pick(WORDS),
            rng.pick(&["service", "api", "data", "control"])
        );
        let date = format!(
            "20{}-{:02}-{:02}",
            rng.range(15, 24),
            rng.range(1, 12),
            rng.range(1, 28)
        );
        let size = rng.range(5_000, 300_000);
        l.noise(rng, &format!("{data}/{svc}/{date}/service-2.json.gz"), size);
        let size = rng.range(5_000, 60_000);
        l.noise(
            rng,
            &format!("{data}/{svc}/{date}/endpoint-rule-set-1.json.gz"),
            size,
        );
        let size = rng.range(100, 4_000);
        l.pattern(rng, &format!("{data}/{svc}/{date}/paginators-1.json"), size);
        let size = rng.range(100, 4_000);
        l.pattern(rng, &format!("{data}/{svc}/{date}/waiters-2.json"), size);
    }
    l.package(rng, &format!("{SITE}/botocore"), 300);
    l.package(rng, &format!("{SITE}/django"), 2500);
    for app in [
        "conf",
        "contrib/admin",
        "contrib/auth",
        "contrib/contenttypes",
        "contrib/sessions",
        "contrib/humanize",
        "contrib/gis",
        "contrib/postgres",
        "contrib/sites",
        "contrib/flatpages",
    ] {
        for lang in LANGS {
            let size = rng.range(2_000, 40_000);
            l.pattern(
                rng,
                &format!("{SITE}/django/{app}/locale/{lang}/LC_MESSAGES/django.po"),
                size,
            );
            let size = rng.range(1_000, 30_000);
            l.noise(
                rng,
                &format!("{SITE}/django/{app}/locale/{lang}/LC_MESSAGES/django.mo"),
                size,
            );
        }
    }
    l.package(rng, &format!("{SITE}/sqlalchemy"), 600);
    for (name, v) in [
        ("boto3", "1.35.0"),
        ("botocore", "1.35.0"),
        ("django", "5.1"),
        ("sqlalchemy", "2.0.34"),
    ] {
        l.dist_info(rng, SITE, name, v, 500);
    }
    for i in 0..60 {
        let name = format!(
            "{}_{}{i}",
            rng.pick(WORDS),
            rng.pick(&["py", "lib", "kit", "tools", "client"])
        );
        let n = rng.range(10, 120) as usize;
        l.package(rng, &format!("{SITE}/{name}"), n);
        l.dist_info(rng, SITE, &name, "1.0.0", n);
    }
    l
}

fn app(rng: &Rng) -> Layer {
    let mut l = Layer::new(
        "/bin/sh -c #(nop) COPY dir:5b2f0e8c1d9a7f3e6b4c2a0d8e6f4b2c in /app ",
        Compression::Gzip,
    );
    l.package(rng, "app/src/myapp", 300);
    l.text_files(rng);
    let nm = "app/frontend/node_modules";
    let mut made = 0;
    let mut pkgno = 0;
    while made < 30_000 {
        pkgno += 1;
        let scope = if rng.chance(20) {
            format!("@{}/", rng.pick(WORDS))
        } else {
            String::new()
        };
        let pkg = format!("{nm}/{scope}{}-{}{pkgno}", rng.pick(WORDS), rng.pick(WORDS));
        let n = rng.range(3, 80);
        for i in 0..n {
            let sub = rng.pick(&[
                "lib",
                "dist",
                "src",
                "dist/esm",
                "dist/cjs",
                "lib/internal/streams",
                "types",
            ]);
            let ext = rng.pick(&[
                "js", "js", "js", "d.ts", "js.map", "json", "md", "mjs", "cjs",
            ]);
            let size = match rng.below(10) {
                0..=6 => rng.range(50, 2_500),
                7..=8 => rng.range(2_500, 8_000),
                _ => rng.range(8_000, 40_000),
            };
            l.pattern(
                rng,
                &format!("{pkg}/{sub}/{}{i}.{ext}", rng.pick(WORDS)),
                size,
            );
        }
        l.pattern(rng, &format!("{pkg}/package.json"), 900);
        made += n + 1;
    }
    for i in 0..3000 {
        let h = rng.hex(40);
        let size = match rng.below(10) {
            0..=7 => rng.range(100, 8_000),
            _ => rng.range(8_000, 60_000),
        };
        l.noise(
            rng,
            &format!("app/.git/objects/{}/{}", &h[..2], &h[2..]),
            size.max(i % 7 + 100),
        );
    }
    for i in 0..3 {
        l.noise(rng, &format!("app/data/sample-{i}.parquet"), 8_000_000);
    }
    l
}

impl Layer {
    fn text_files(&mut self, rng: &Rng) {
        let _ = rng;
        self.put(
            "app/.env",
            Content::Bytes(b"API_TOKEN=fake-not-a-secret-0000\nDEBUG=1\n".to_vec()),
        );
        self.put(
            "app/requirements.txt",
            Content::Bytes(b"numpy==1.26.4\nscipy==1.13.1\npandas==2.2.3\n".to_vec()),
        );
        self.put(
            "app/Dockerfile",
            Content::Bytes(b"FROM python:3.11\nCOPY . /app\n".to_vec()),
        );
    }
}

fn pip_upgrade(rng: &Rng, memo: &Memo) -> Layer {
    let mut l = Layer::new(
        "/bin/sh -c pip install --upgrade pip==24.2 && sed -i 's/(venv)/(app)/' /opt/venv/bin/activate",
        Compression::None,
    );
    // pip's directory is replaced whole: opaque, then the new tree.
    l.opaque(&format!("{SITE}/pip"));
    l.package(rng, &format!("{SITE}/pip"), 1100);
    l.whiteout(&format!("{SITE}/pip-23.0.1.dist-info"));
    l.dist_info(rng, SITE, "pip", "24.2", 1100);
    for s in ["activate", "pip", "pip3", "pip3.11"] {
        let size = rng.range(200, 9_000);
        l.pattern(rng, &format!("opt/venv/bin/{s}"), size);
    }
    // A changed file from the numpy layer: overwritten with different content.
    for p in memo.venv_numpy_py.iter().step_by(10) {
        l.source(rng, p);
    }
    l
}

fn cleanup(rng: &Rng, memo: &Memo) -> Layer {
    let mut l = Layer::new(
        "/bin/sh -c touch /opt/venv/lib/python3.11/site-packages/numpy.libs/* && apt-get purge -y build-essential && rm -rf /var/lib/apt/lists/* /root/.cache/pip",
        Compression::Gzip,
    );
    // `touch` copies each file up unchanged: the same bytes a second time.
    for (p, c) in &memo.numpy_libs {
        l.put(p, c.clone());
    }
    // apt removes files one by one (one whiteout each), then the directories it emptied.
    for h in &memo.headers {
        l.whiteout(h);
    }
    l.whiteout("usr/lib/gcc");
    for p in &memo.apt_lists {
        l.whiteout(p);
    }
    l.whiteout("var/cache/apt/pkgcache.bin");
    l.whiteout("var/cache/apt/srcpkgcache.bin");
    l.whiteout("root/.cache/pip");
    l.pattern(rng, "var/log/apt/history.log", 40_000);
    l.pattern(rng, "var/lib/dpkg/status", 900_000);
    l
}

fn image() -> (ImageSpec, Vec<(String, u64, u64, u64, u64)>) {
    let rng = Rng(std::cell::Cell::new(0x5eed_b16_1ea6e));
    let mut memo = Memo::default();
    let mut layers = Vec::new();
    layers.push(base_os(&rng));
    layers.push(cpython(&rng));
    layers.push(toolchain(&rng, &mut memo));
    layers.push(numpy_scipy(&rng, &mut memo));
    layers.push(pandas_matplotlib(&rng));
    layers.push(arrow_grpc(&rng));
    layers.push(web_packages(&rng));
    layers.push(app(&rng));
    layers.push(pip_upgrade(&rng, &memo));
    layers.push(cleanup(&rng, &memo));
    let stats = layers
        .iter()
        .map(|l| {
            (
                l.created_by.chars().take(60).collect(),
                l.entries.len() as u64,
                l.files,
                l.whiteouts,
                l.bytes,
            )
        })
        .collect();
    let mut spec = ImageSpec::new(
        "pyslim-bench/big:latest",
        layers.into_iter().map(Layer::spec).collect(),
    );
    spec.env.push("PYTHON_VERSION=3.11.9".into());
    spec.env.push("VIRTUAL_ENV=/opt/venv".into());
    spec.workdir = "/app".into();
    spec.cmd = vec!["python".into(), "-m".into(), "myapp".into()];
    spec.empty_steps = vec![
        EmptyStep {
            before_layer: 1,
            created_by: "/bin/sh -c #(nop)  ENV PYTHON_VERSION=3.11.9".into(),
        },
        EmptyStep {
            before_layer: 7,
            created_by: "/bin/sh -c #(nop) WORKDIR /app".into(),
        },
        EmptyStep {
            before_layer: 10,
            created_by: "/bin/sh -c #(nop)  CMD [\"python\" \"-m\" \"myapp\"]".into(),
        },
    ];
    (spec, stats)
}

fn write(spec: &ImageSpec, format: ArchiveFormat, path: &Path) -> std::io::Result<()> {
    if path.exists() {
        eprintln!("{} exists, not regenerating", path.display());
        return Ok(());
    }
    let start = Instant::now();
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    let out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
    let mut out = write_archive(spec, format, out)?;
    out.flush()?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, path)?;
    let size = std::fs::metadata(path)?.len();
    eprintln!(
        "wrote {} ({:.2} GB) in {:.1}s",
        path.display(),
        size as f64 / 1e9,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> std::io::Result<()> {
    let out_dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "bench/out".into()),
    );
    std::fs::create_dir_all(&out_dir)?;
    let docker = out_dir.join("big.tar");
    let oci = out_dir.join("big-oci-gzip.tar");
    if docker.exists() && oci.exists() {
        eprintln!(
            "{} and {} exist, not regenerating",
            docker.display(),
            oci.display()
        );
        return Ok(());
    }
    let (spec, stats) = image();
    let (mut entries, mut files, mut whiteouts, mut bytes) = (0, 0, 0, 0);
    for (i, (by, e, f, w, b)) in stats.iter().enumerate() {
        eprintln!(
            "layer {i}: {e:6} entries {f:6} files {w:5} whiteouts {:7.1} MB  {by}",
            *b as f64 / 1e6
        );
        if *b > MAX_LAYER_BYTES {
            eprintln!("layer {i} is {b} bytes, over the {MAX_LAYER_BYTES} cap");
            std::process::exit(1);
        }
        entries += e;
        files += f;
        whiteouts += w;
        bytes += b;
    }
    eprintln!(
        "total: {entries} entries, {files} files, {whiteouts} whiteouts, {:.2} GB of content",
        bytes as f64 / 1e9
    );
    write(&spec, ArchiveFormat::DockerLegacy, &docker)?;
    // Each layer's `compression` (gzip for most, plain tar for layers 2, 5 and 8) only
    // matters here: docker-archives store tars as they are.
    write(&spec, ArchiveFormat::OciLayout, &oci)?;
    Ok(())
}
