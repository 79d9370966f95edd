//! The real-shaped image the trimmed-image tests share: a Debian base with a real ELF
//! interpreter, build leftovers, a venv with wheels installed as pip installs them, the app,
//! and a cleanup layer with a whiteout and an opaque directory.
#![allow(dead_code)]

use pyslim::source::writer::{Content, ImageSpec, LayerSpec, SpecEntry, SpecKind};

pub const SITE: &str = "opt/venv/lib/python3.11/site-packages";

/// A real ELF executable that needs libc.so.6: the host's `true`, else this test binary.
pub fn real_elf() -> Vec<u8> {
    for p in ["/usr/bin/true", "/bin/true"] {
        if let Ok(b) = std::fs::read(p) {
            if b.starts_with(b"\x7fELF") {
                return b;
            }
        }
    }
    std::fs::read(std::env::current_exe().unwrap()).unwrap()
}

/// A wheel installed the way pip installs it: files, METADATA, INSTALLER and a RECORD.
pub fn dist(name: &str, version: &str, requires: &[&str], files: &[(&str, u64)]) -> Vec<SpecEntry> {
    let info = format!("{SITE}/{name}-{version}.dist-info");
    let mut meta = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    for r in requires {
        meta.push_str(&format!("Requires-Dist: {r}\n"));
    }
    let mut record = String::new();
    let mut out = Vec::new();
    for (path, size) in files {
        out.push(SpecEntry::file(&format!("{SITE}/{path}"), *size));
        record.push_str(&format!("{path},sha256=x,{size}\n"));
    }
    for f in ["METADATA", "INSTALLER", "RECORD"] {
        record.push_str(&format!("{name}-{version}.dist-info/{f},,\n"));
    }
    out.push(SpecEntry::text(&format!("{info}/METADATA"), &meta));
    out.push(SpecEntry::text(&format!("{info}/INSTALLER"), "pip\n"));
    out.push(SpecEntry::text(&format!("{info}/RECORD"), &record));
    out
}

pub fn spec() -> ImageSpec {
    let elf = real_elf();
    let mut base = vec![
        SpecEntry::dir("usr"),
        SpecEntry::dir("usr/bin"),
        SpecEntry::new("usr/bin/python3.11", SpecKind::File(Content::Bytes(elf))).with_mode(0o755),
        SpecEntry::symlink("usr/bin/python3", "python3.11"),
        SpecEntry::file("usr/lib/x86_64-linux-gnu/libc.so.6", 200_000),
        SpecEntry::file("usr/lib/python3.11/os.py", 3_000),
        SpecEntry::file("usr/lib/python3.11/test/test_os.py", 9_000),
        SpecEntry::file("usr/lib/python3.11/test/test_sys.py", 7_000),
        SpecEntry::text("etc/os-release", "ID=debian\nVERSION_ID=12\n"),
        SpecEntry::dir("tmp").with_mode(0o1777),
    ];
    base.push(SpecEntry::file("usr/bin/tool-real", 5_000).with_mode(0o755));
    base.push(SpecEntry::hardlink("usr/bin/tool", "usr/bin/tool-real"));
    let apt = vec![
        // Layers name the directories they write into again, as real layers do.
        SpecEntry::dir("usr"),
        SpecEntry::dir("usr/lib"),
        SpecEntry::file(
            "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
            90_000,
        ),
        SpecEntry::file("var/cache/apt/archives/gcc.deb", 60_000),
        SpecEntry::file("usr/include/python3.11/Python.h", 30_000),
        SpecEntry::file("usr/lib/x86_64-linux-gnu/libpython3.11.a", 100_000),
        SpecEntry::file("tmp/build.log", 8_000),
        SpecEntry::file("root/.cache/pip/selfcheck.json", 1_000),
    ];
    let mut pip = vec![
        SpecEntry::text(
            "opt/venv/pyvenv.cfg",
            "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n",
        ),
        SpecEntry::symlink("opt/venv/bin/python3", "/usr/bin/python3.11"),
        SpecEntry::symlink("opt/venv/bin/python", "python3"),
        SpecEntry::dir("root/.cache"),
        SpecEntry::dir("root/.cache/pip"),
        SpecEntry::dir(&format!("{SITE}/numpy/tests")),
        SpecEntry::file("root/.cache/pip/http/abc.body", 40_000),
        SpecEntry::file("root/.cache/pip/selfcheck.json", 1_200),
        // Overwrites the base layer's copy: those bytes are hidden.
        SpecEntry::file("usr/lib/python3.11/os.py", 3_500),
    ];
    pip.extend(dist(
        "flask",
        "3.0.3",
        &["Werkzeug>=3.0.0", "click>=8.1.3"],
        &[("flask/__init__.py", 2_000), ("flask/app.py", 60_000)],
    ));
    pip.extend(dist(
        "werkzeug",
        "3.0.4",
        &["MarkupSafe>=2.1.1"],
        &[
            ("werkzeug/__init__.py", 1_000),
            ("werkzeug/serving.py", 30_000),
        ],
    ));
    pip.extend(dist(
        "numpy",
        "1.26.4",
        &[],
        &[
            ("numpy/__init__.py", 4_000),
            (
                "numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
                80_000,
            ),
            ("numpy/tests/test_ufunc.py", 50_000),
            ("numpy/core/tests/test_multiarray.py", 70_000),
        ],
    ));
    let app = vec![SpecEntry::text("app/main.py", "import flask\n")];
    let cleanup = vec![
        SpecEntry::whiteout("tmp/build.log"),
        SpecEntry::opaque("var/cache/apt/archives"),
        SpecEntry::file("var/cache/apt/archives/lock", 0),
    ];
    let mut spec = ImageSpec::new(
        "t/trim-image:1",
        vec![
            LayerSpec::new("/bin/sh -c #(nop) ADD file:base in / ", base),
            LayerSpec::new(
                "/bin/sh -c apt-get update && apt-get install -y python3.11-dev",
                apt,
            ),
            LayerSpec::new(
                "/bin/sh -c python3 -m venv /opt/venv && pip install flask numpy",
                pip,
            ),
            LayerSpec::new("/bin/sh -c #(nop) COPY file:app in /app/main.py ", app),
            LayerSpec::new("/bin/sh -c rm -f /tmp/build.log && apt-get clean", cleanup),
        ],
    );
    spec.env = vec!["PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin".into()];
    spec.cmd = vec!["python3".into(), "/app/main.py".into()];
    spec
}

pub fn decisions(accept: &[&str]) -> String {
    accept
        .iter()
        .map(|f| format!("[[decision]]\nfinding = \"{f}\"\naccept = true\n\n"))
        .collect()
}
