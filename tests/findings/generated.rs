//! Findings on generated images shaped like real ones: each rule finds what it should, with
//! exact bytes, and stays away from what would break an app.

use pyslim::core::findings::{Finding, RuleSet};
use pyslim::core::{examine, Examination};
use pyslim::source::writer::{ArchiveFormat, Content, ImageSpec, LayerSpec, SpecEntry, SpecKind};
use pyslim::Image;

use crate::common;

fn examine_spec(spec: &ImageSpec) -> (Image, Examination) {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_tar(dir.path(), "img.tar", spec, ArchiveFormat::DockerLegacy);
    let image = common::open(&path).unwrap();
    let ex = examine(&image, Some(&RuleSet::builtin().unwrap()), 20);
    (image, ex)
}

fn finding<'a>(ex: &'a Examination, rule: &str) -> Option<&'a Finding> {
    ex.findings.findings.iter().find(|f| f.rule == rule)
}

fn names(f: &Finding) -> Vec<&str> {
    f.items.iter().map(|i| i.name.as_str()).collect()
}

fn bytes_entry(path: &str, bytes: Vec<u8>) -> SpecEntry {
    SpecEntry::new(path, SpecKind::File(Content::Bytes(bytes)))
}

const SP: &str = "usr/local/lib/python3.12/site-packages";

#[test]
fn package_tests_are_found_and_runtime_testing_modules_are_not() {
    let spec = ImageSpec::new(
        "t/tests:1",
        vec![LayerSpec::new(
            "RUN pip install numpy pandas",
            vec![
                SpecEntry::file(&format!("{SP}/numpy/core/tests/test_a.py"), 30_000),
                SpecEntry::file(&format!("{SP}/numpy/core/tests/data/x.npy"), 5_000),
                SpecEntry::file(&format!("{SP}/numpy/testing/_private/utils.py"), 90_000),
                SpecEntry::file(&format!("{SP}/numpy/testing/__init__.py"), 1_000),
                SpecEntry::file(&format!("{SP}/pandas/tests/frame/test_api.py"), 40_000),
                SpecEntry::file(&format!("{SP}/pandas/_testing/asserters.py"), 50_000),
                SpecEntry::file(&format!("{SP}/pandas/core/frame.py"), 400_000),
                SpecEntry::file("usr/local/lib/python3.12/test/test_os.py", 70_000),
                SpecEntry::file("usr/local/lib/python3.12/unittest/case.py", 60_000),
                SpecEntry::file("usr/local/lib/python3.12/idlelib/idle.py", 8_000),
                SpecEntry::file(
                    "usr/local/lib/python3.12/ensurepip/_bundled/pip.whl",
                    1_800_000,
                ),
                SpecEntry::file("app/main.py", 3_000),
                SpecEntry::file("app/main.pyc", 2_500),
                SpecEntry::file("app/compiled_only.pyc", 4_000),
            ],
        )],
    );
    let (_, ex) = examine_spec(&spec);
    let pkg = finding(&ex, "python-package-tests").expect("package tests found");
    assert_eq!(pkg.bytes, 30_000 + 5_000 + 40_000);
    assert_eq!(pkg.count, 2);
    assert!(
        names(pkg).iter().all(|n| !n.contains("testing")),
        "{:?}",
        names(pkg)
    );
    assert_eq!(pkg.layers[0].instruction, "RUN pip install numpy pandas");

    // A .pyc beside its source is stray; a sourceless one is the module itself.
    let stray = finding(&ex, "python-stray-pyc").expect("stray .pyc found");
    assert_eq!((names(stray), stray.bytes), (vec!["app/main.pyc"], 2_500));

    let stdlib = finding(&ex, "python-stdlib-tests").expect("stdlib tests found");
    assert_eq!(stdlib.bytes, 70_000 + 8_000 + 1_800_000);
    assert!(names(stdlib).iter().all(|n| !n.contains("unittest")));
}

#[test]
fn compilers_are_sized_by_package_and_path_and_counted_once() {
    let status = "Package: gcc-12\nStatus: install ok installed\nVersion: 12.2.0-14\nInstalled-Size: 70000\n\nPackage: cpp-12\nStatus: install ok installed\nVersion: 12.2.0-14\nInstalled-Size: 35000\n\nPackage: libc6-dev\nStatus: install ok installed\nVersion: 2.36-9\nInstalled-Size: 12000\n\nPackage: libc6\nStatus: install ok installed\nVersion: 2.36-9\nInstalled-Size: 13000\n\nPackage: gcc-12-base\nStatus: install ok installed\nVersion: 12.2.0-14\nInstalled-Size: 100\n";
    let spec = ImageSpec::new(
        "t/cc:1",
        vec![
            LayerSpec::new("base", vec![SpecEntry::file("usr/lib/x86_64-linux-gnu/libc.so.6", 2_000_000)]),
            LayerSpec::new(
                "RUN apt-get install -y build-essential",
                vec![
                    SpecEntry::file("usr/bin/gcc-12", 1_000_000),
                    SpecEntry::symlink("usr/bin/gcc", "gcc-12"),
                    SpecEntry::file("usr/lib/gcc/x86_64-linux-gnu/12/cc1", 36_000_000),
                    SpecEntry::file("usr/lib/gcc/x86_64-linux-gnu/12/cc1plus", 39_000_000),
                    SpecEntry::file("usr/lib/gcc/x86_64-linux-gnu/12/lto1", 34_000_000),
                    SpecEntry::file("usr/include/stdio.h", 30_000),
                    SpecEntry::file("usr/lib/x86_64-linux-gnu/libc.a", 6_000_000),
                    SpecEntry::text("var/lib/dpkg/status", status),
                    SpecEntry::text("var/lib/dpkg/info/gcc-12.list", "/usr/bin/gcc-12\n/usr/lib/gcc/x86_64-linux-gnu/12/lto1\n"),
                    SpecEntry::text("var/lib/dpkg/info/cpp-12.list", "/usr/lib/gcc/x86_64-linux-gnu/12/cc1\n/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus\n"),
                    SpecEntry::text("var/lib/dpkg/info/libc6-dev.list", "/usr/include\n/usr/include/stdio.h\n/usr/lib/x86_64-linux-gnu/libc.a\n"),
                    SpecEntry::text("var/lib/dpkg/info/libc6.list", "/usr/lib/x86_64-linux-gnu/libc.so.6\n"),
                ],
            ),
        ],
    );
    let (_, ex) = examine_spec(&spec);
    assert_eq!(ex.inventory.os_packages.len(), 5);
    let cc = finding(&ex, "compilers").expect("compilers found");
    // Package files and matching paths overlap: each byte once.
    assert_eq!(cc.bytes, 1_000_000 + 36_000_000 + 39_000_000 + 34_000_000);
    assert!(names(cc).contains(&"gcc-12") && names(cc).contains(&"cpp-12"));
    // gcc-12-base is what libgcc-s1 needs at run time, not a compiler.
    assert!(!names(cc).contains(&"gcc-12-base"), "{:?}", names(cc));
    let cc1 = cc
        .items
        .iter()
        .find(|i| i.name == "usr/lib/gcc/x86_64-linux-gnu/12/cc1")
        .expect("cc1 listed");
    assert_eq!(cc1.note, "cpp-12");
    assert_eq!(cc.layers[0].layer, 1);

    let dev = finding(&ex, "dev-packages").expect("-dev packages found");
    assert_eq!(dev.bytes, 30_000 + 6_000_000);
    let headers = finding(&ex, "c-headers").expect("headers found");
    assert_eq!(headers.bytes, 30_000);
    // Headers, static libraries and dev packages overlap; the total does not double count.
    let union = ex.findings.reclaimable_bytes;
    assert_eq!(union, cc.bytes + 30_000 + 6_000_000);
}

#[test]
fn secrets_in_any_layer_are_named_never_printed() {
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAsecretkeymaterial\n-----END OPENSSH PRIVATE KEY-----\n";
    let cert = "-----BEGIN CERTIFICATE-----\nMIIBpublic\n-----END CERTIFICATE-----\n";
    let mut spec = ImageSpec::new(
        "t/secrets:1",
        vec![
            LayerSpec::new(
                "COPY . /app",
                vec![
                    bytes_entry("root/.ssh/id_ed25519", key.as_bytes().to_vec()),
                    bytes_entry("app/certs/ca.pem", cert.as_bytes().to_vec()),
                    bytes_entry(
                        "etc/pip.conf",
                        b"[global]\nindex-url = https://deploy:hunter2@pypi.corp/simple\n".to_vec(),
                    ),
                    bytes_entry("app/.env", b"SECRET_KEY=abcdef\n".to_vec()),
                    bytes_entry(
                        "etc/ssl/certs/ca-certificates.crt",
                        cert.as_bytes().to_vec(),
                    ),
                ],
            ),
            LayerSpec::new(
                "|1 NPM_TOKEN=npm_abc /bin/sh -c rm -rf /root/.ssh",
                vec![SpecEntry::whiteout("root/.ssh")],
            ),
        ],
    );
    spec.env.push("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI".into());
    let (image, ex) = examine_spec(&spec);
    let s = finding(&ex, "secrets").expect("secrets found");
    let listed = names(s);
    assert!(listed.contains(&"root/.ssh/id_ed25519"));
    assert!(listed.contains(&"etc/pip.conf"));
    assert!(listed.contains(&"app/.env"));
    assert!(listed.contains(&"history of layer 1: NPM_TOKEN"));
    assert!(listed.contains(&"ENV AWS_SECRET_ACCESS_KEY"));
    assert!(
        !listed
            .iter()
            .any(|n| n.contains("ca.pem") || n.contains("ca-certificates")),
        "{listed:?}"
    );
    let key_item = s
        .items
        .iter()
        .find(|i| i.name == "root/.ssh/id_ed25519")
        .unwrap();
    assert!(
        key_item
            .note
            .contains("hidden by a later layer but still shipped in layer 0"),
        "{}",
        key_item.note
    );
    // Nothing pyslim prints carries a secret's value.
    let json = pyslim::report::json::render(&image, &ex);
    let text = pyslim::report::text::render(&image, &ex);
    for value in [
        "secretkeymaterial",
        "hunter2",
        "abcdef",
        "npm_abc",
        "wJalrXUtnFEMI",
    ] {
        assert!(!text.contains(value), "text shows {value}");
        // The config's ENV list is part of the JSON image description, by design: only
        // findings must not repeat it.
        let findings_json = serde_json::to_string(&ex.findings).unwrap();
        assert!(!findings_json.contains(value), "findings show {value}");
    }
    assert!(json.contains("\"secrets\""));
}

#[test]
fn unstripped_binaries_are_measured_from_their_section_tables() {
    // A small program built with -g has a symbol table and debug info; Debian's /bin/true is
    // stripped. Without a C compiler, this test's own (large) executable stands in.
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("hello.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
    )
    .unwrap();
    let out = work.path().join("hello");
    let built = std::process::Command::new("cc")
        .arg("-g")
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .status()
        .is_ok_and(|s| s.success());
    let exe = if built {
        std::fs::read(&out).unwrap()
    } else {
        std::fs::read(std::env::current_exe().unwrap()).unwrap()
    };
    let stripped = std::fs::read("/bin/true").unwrap();
    let spec = ImageSpec::new(
        "t/elf:1",
        vec![LayerSpec::new(
            "COPY bin",
            vec![
                bytes_entry("usr/local/bin/app", exe.clone()).with_mode(0o755),
                bytes_entry("usr/bin/true", stripped).with_mode(0o755),
                bytes_entry(
                    "usr/lib/libfake.so.1",
                    b"not an ELF at all, just text".repeat(10),
                ),
            ],
        )],
    );
    let (_, ex) = examine_spec(&spec);
    let f = finding(&ex, "unstripped-binaries").expect("unstripped found");
    assert_eq!(names(f), vec!["usr/local/bin/app"]);
    assert!(f.bytes > 0 && f.bytes < exe.len() as u64);

    // The same image through a compressed OCI layout is read as a stream: same answer.
    let dir = tempfile::tempdir().unwrap();
    let gz = common::write_tar(
        dir.path(),
        "gz.tar",
        &common::with_compression(spec, &[pyslim::core::image::Compression::Gzip]),
        ArchiveFormat::OciLayout,
    );
    let image = common::open(&gz).unwrap();
    let ex2 = examine(&image, Some(&RuleSet::builtin().unwrap()), 20);
    assert_eq!(finding(&ex2, "unstripped-binaries").unwrap().bytes, f.bytes);
}

#[test]
fn interpreters_venvs_and_python_inventory() {
    let spec = ImageSpec::new(
        "t/py:1",
        vec![
            LayerSpec::new(
                "base",
                vec![
                    SpecEntry::file("usr/bin/python3.11", 6_000_000).with_mode(0o755),
                    SpecEntry::file("usr/lib/python3.11/os.py", 40_000),
                    SpecEntry::file("usr/local/bin/python3.12", 20_000).with_mode(0o755),
                    SpecEntry::symlink("usr/local/bin/python3", "python3.12"),
                    SpecEntry::file("usr/local/lib/python3.12/os.py", 41_000),
                ],
            ),
            LayerSpec::new(
                "RUN python3 -m venv /opt/venv && pip install flask",
                vec![
                    SpecEntry::text("opt/venv/pyvenv.cfg", "home = /usr/local/bin\ninclude-system-site-packages = false\nversion = 3.12.7\n"),
                    SpecEntry::text("opt/venv/lib/python3.12/site-packages/flask-3.0.3.dist-info/METADATA", "Metadata-Version: 2.1\nName: Flask\nVersion: 3.0.3\nRequires-Dist: Werkzeug>=3.0.0\nRequires-Dist: asgiref>=3.2 ; extra == \"async\"\n\nFlask is a web framework.\n"),
                    SpecEntry::text("opt/venv/lib/python3.12/site-packages/flask-3.0.3.dist-info/INSTALLER", "pip\n"),
                    SpecEntry::text("opt/venv/lib/python3.12/site-packages/flask-3.0.3.dist-info/RECORD", "flask/__init__.py,sha256=x,2000\nflask/app.py,sha256=y,60000\nflask-3.0.3.dist-info/METADATA,,\n"),
                    SpecEntry::file("opt/venv/lib/python3.12/site-packages/flask/__init__.py", 2_000),
                    SpecEntry::file("opt/venv/lib/python3.12/site-packages/flask/app.py", 60_000),
                ],
            ),
        ],
    );
    let (_, ex) = examine_spec(&spec);
    let flask = &ex.inventory.python_packages[0];
    assert_eq!(
        (
            flask.name.as_str(),
            flask.version.as_str(),
            flask.installer.as_str()
        ),
        ("Flask", "3.0.3", "pip")
    );
    assert_eq!(flask.requires, vec!["werkzeug"]);
    assert_eq!(flask.files, 3);
    assert!(flask.bytes >= 62_000);
    assert_eq!(ex.inventory.venvs[0].home, "/usr/local/bin");
    let two = finding(&ex, "python-interpreters").expect("two interpreters");
    assert_eq!(two.count, 2);
    // The venv uses /usr/local's 3.12: the distro 3.11 is the extra one.
    assert_eq!(two.bytes, 6_000_000 + 40_000);
    let venv = finding(&ex, "python-venvs").unwrap();
    assert!(
        venv.items[0]
            .note
            .starts_with("home /usr/local/bin, Python 3.12.7"),
        "{}",
        venv.items[0].note
    );
}

#[test]
fn posture_and_env_hygiene() {
    let mut careless = ImageSpec::new(
        "t/posture:1",
        vec![LayerSpec::new(
            "base",
            vec![
                SpecEntry::file("bin/dash", 120_000).with_mode(0o755),
                SpecEntry::symlink("bin/sh", "dash"),
                SpecEntry::file("usr/bin/passwd", 60_000).with_mode(0o4755),
                SpecEntry::file("usr/bin/apt-get", 50_000).with_mode(0o755),
                SpecEntry::dir("tmp").with_mode(0o1777),
                SpecEntry::dir("app").with_mode(0o777),
            ],
        )],
    );
    careless.env.push("PYTHONHASHSEED=0".into());
    let (_, ex) = examine_spec(&careless);
    for rule in [
        "runs-as-root",
        "shell-present",
        "package-manager-present",
        "env-dontwritebytecode",
        "env-unbuffered",
        "env-locale",
        "env-hashseed",
    ] {
        assert!(finding(&ex, rule).is_some(), "{rule} expected");
    }
    assert_eq!(
        names(finding(&ex, "setuid-files").unwrap()),
        vec!["usr/bin/passwd"]
    );
    assert_eq!(
        names(finding(&ex, "world-writable-dirs").unwrap()),
        vec!["app"]
    );

    let mut tidy = careless.clone();
    tidy.layers[0]
        .entries
        .retain(|e| !e.path.starts_with(b"usr/bin") && e.path != b"app");
    tidy.user = "10001".into();
    tidy.env = vec![
        "PATH=/usr/bin".into(),
        "PYTHONDONTWRITEBYTECODE=1".into(),
        "PYTHONUNBUFFERED=1".into(),
        "LANG=C.UTF-8".into(),
    ];
    let (_, ex) = examine_spec(&tidy);
    for rule in [
        "runs-as-root",
        "setuid-files",
        "world-writable-dirs",
        "env-dontwritebytecode",
        "env-unbuffered",
        "env-locale",
        "env-hashseed",
        "package-manager-present",
    ] {
        assert!(finding(&ex, rule).is_none(), "{rule} not expected");
    }
}

#[test]
fn locales_keep_the_configured_language() {
    let mut spec = ImageSpec::new(
        "t/locale:1",
        vec![LayerSpec::new(
            "base",
            vec![
                SpecEntry::file("usr/share/locale/de/LC_MESSAGES/coreutils.mo", 50_000),
                SpecEntry::file("usr/share/locale/fr/LC_MESSAGES/coreutils.mo", 40_000),
                SpecEntry::file("usr/share/locale/en_GB/LC_MESSAGES/coreutils.mo", 30_000),
                SpecEntry::file("usr/share/locale/locale.alias", 3_000),
            ],
        )],
    );
    spec.env.push("LANG=en_US.UTF-8".into());
    let (_, ex) = examine_spec(&spec);
    let f = finding(&ex, "locales").unwrap();
    assert_eq!(f.bytes, 90_000);
    let mut n = names(f);
    n.sort();
    assert_eq!(n, vec!["usr/share/locale/de", "usr/share/locale/fr"]);
}

#[test]
fn caches_docs_and_wasted_bytes_name_the_instructions() {
    let spec = ImageSpec::new(
        "t/caches:1",
        vec![
            LayerSpec::new(
                "RUN apt-get update && apt-get install -y curl",
                vec![
                    SpecEntry::file("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages", 9_000_000),
                    SpecEntry::file("var/lib/apt/lists/lock", 0),
                    SpecEntry::file("usr/share/doc/curl/changelog.gz", 20_000),
                    SpecEntry::file("usr/share/doc/curl/copyright", 2_000),
                    SpecEntry::file("usr/share/man/man1/curl.1.gz", 30_000),
                ],
            ),
            LayerSpec::new("RUN pip install requests", vec![SpecEntry::file("root/.cache/pip/http-v2/a/b.body", 700_000), SpecEntry::file("app/.git/objects/pack/p.pack", 400_000)]),
            LayerSpec::new("RUN rm -rf /root/.cache", vec![SpecEntry::whiteout("root/.cache")]),
        ],
    );
    let (_, ex) = examine_spec(&spec);
    assert_eq!(finding(&ex, "apt-lists").unwrap().bytes, 9_000_000);
    assert_eq!(
        finding(&ex, "docs").unwrap().bytes,
        50_000,
        "copyright files are kept"
    );
    assert_eq!(finding(&ex, "vcs-folders").unwrap().bytes, 400_000);
    assert!(
        finding(&ex, "pip-cache").is_none(),
        "deleted cache is not in the final image"
    );
    let wasted = finding(&ex, "wasted-bytes").unwrap();
    assert_eq!(wasted.bytes, 700_000);
    assert!(
        wasted
            .summary
            .contains("written by layer 1 (RUN pip install requests)")
            && wasted
                .summary
                .contains("hidden by layer 2 (RUN rm -rf /root/.cache)"),
        "{}",
        wasted.summary
    );
    let caches = ex
        .findings
        .categories
        .iter()
        .find(|c| c.category == "caches")
        .unwrap();
    assert_eq!(caches.bytes, 9_000_000);
}

#[test]
fn alpine_apk_database_names_packages() {
    let db = "P:musl\nV:1.2.4-r2\nI:622592\nF:lib\nR:ld-musl-x86_64.so.1\n\nP:gcc\nV:13.2.1-r0\nI:100000000\nF:usr/libexec/gcc/x86_64-alpine-linux-musl/13.2.1\nR:cc1\n\nP:build-base\nV:0.5-r3\nI:4096\n";
    let spec = ImageSpec::new(
        "t/alpine:1",
        vec![LayerSpec::new(
            "apk add build-base",
            vec![
                SpecEntry::file("lib/ld-musl-x86_64.so.1", 600_000),
                SpecEntry::file(
                    "usr/libexec/gcc/x86_64-alpine-linux-musl/13.2.1/cc1",
                    30_000_000,
                ),
                SpecEntry::text("lib/apk/db/installed", db),
                SpecEntry::file("var/cache/apk/APKINDEX.tar.gz", 1_000_000),
            ],
        )],
    );
    let (_, ex) = examine_spec(&spec);
    assert_eq!(ex.inventory.libc, "musl");
    assert_eq!(ex.inventory.package_manager_db, "apk");
    let cc = finding(&ex, "compilers").unwrap();
    assert_eq!(cc.bytes, 30_000_000);
    assert!(names(cc).contains(&"gcc") && names(cc).contains(&"build-base"));
    assert_eq!(finding(&ex, "apk-cache").unwrap().bytes, 1_000_000);
}

/// A CPython built from source keeps Lib/test in the image; its certdata holds test keys
/// that CPython publishes with its sources. So do packages' own test suites.
fn with_test_keys(extra: Vec<SpecEntry>) -> ImageSpec {
    let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
    let keycert =
        format!("{key}-----BEGIN CERTIFICATE-----\nMIIDpublic\n-----END CERTIFICATE-----\n");
    let lib = "usr/local/lib/python3.12";
    let mut entries = vec![
        SpecEntry::file("usr/local/bin/python3.12", 20_000),
        SpecEntry::file(&format!("{lib}/os.py"), 3_000),
        bytes_entry(
            &format!("{lib}/test/certdata/keycert.pem"),
            keycert.clone().into_bytes(),
        ),
        bytes_entry(
            &format!("{lib}/test/certdata/pycakey.pem"),
            key.as_bytes().to_vec(),
        ),
        bytes_entry(
            &format!("{lib}/test/keycert.pem"),
            keycert.clone().into_bytes(),
        ),
        bytes_entry(
            &format!("{lib}/site-packages/tornado/test/test.key"),
            key.as_bytes().to_vec(),
        ),
        bytes_entry(
            &format!("{lib}/site-packages/urllib3/tests/certs/server.key"),
            key.as_bytes().to_vec(),
        ),
        bytes_entry(
            "usr/src/Python-3.12.4/Lib/test/certdata/keycert.pem",
            keycert.into_bytes(),
        ),
    ];
    entries.extend(extra);
    ImageSpec::new(
        "t/from-source:1",
        vec![LayerSpec::new(
            "RUN ./configure && make && make install",
            entries,
        )],
    )
}

#[test]
fn test_keys_of_cpython_and_packages_are_not_secrets() {
    // Was: CPython's test/certdata/*.pem were "critical secrets" and failed `check`.
    let (_, ex) = examine_spec(&with_test_keys(vec![]));
    assert!(
        finding(&ex, "secrets").is_none(),
        "{:?}",
        finding(&ex, "secrets").map(names)
    );
    let f = finding(&ex, "secrets-test-fixtures").expect("listed as test fixtures");
    assert_eq!(f.severity, pyslim::core::findings::Severity::Info);
    assert_ne!(f.category, "secrets", "fail-on secrets must not count them");
    assert!(!f.bloat);
    let mut listed = names(f);
    listed.sort_unstable();
    assert_eq!(
        listed,
        [
            "usr/local/lib/python3.12/site-packages/tornado/test/test.key",
            "usr/local/lib/python3.12/site-packages/urllib3/tests/certs/server.key",
            "usr/local/lib/python3.12/test/certdata/keycert.pem",
            "usr/local/lib/python3.12/test/certdata/pycakey.pem",
            "usr/local/lib/python3.12/test/keycert.pem",
            "usr/src/Python-3.12.4/Lib/test/certdata/keycert.pem",
        ]
    );
    let cpython = f
        .items
        .iter()
        .find(|i| i.name.ends_with("python3.12/test/certdata/pycakey.pem"))
        .unwrap();
    assert!(
        cpython.note.contains("private key") && cpython.note.contains("CPython's test suite"),
        "{}",
        cpython.note
    );
    let pkg = f.items.iter().find(|i| i.name.contains("tornado")).unwrap();
    assert!(pkg.note.contains("tornado's tests"), "{}", pkg.note);

    // A key in the app's own tests, or anywhere else, is still a secret; so is one named
    // like a test file outside a Python library directory.
    let key = b"-----BEGIN RSA PRIVATE KEY-----\nMIIEsecret\n-----END RSA PRIVATE KEY-----\n";
    let (_, ex) = examine_spec(&with_test_keys(vec![
        bytes_entry("app/tests/deploy.pem", key.to_vec()),
        bytes_entry("root/.ssh/id_rsa", key.to_vec()),
        bytes_entry("srv/test/certdata/prod.key", key.to_vec()),
    ]));
    let s = finding(&ex, "secrets").expect("real keys are secrets");
    let mut listed = names(s);
    listed.sort_unstable();
    assert_eq!(
        listed,
        [
            "app/tests/deploy.pem",
            "root/.ssh/id_rsa",
            "srv/test/certdata/prod.key"
        ]
    );
    assert_eq!(s.severity, pyslim::core::findings::Severity::Critical);
    assert_eq!(finding(&ex, "secrets-test-fixtures").unwrap().count, 6);
}

#[test]
fn empty_directories_are_not_findings() {
    // Was: an empty /usr/include was "C headers 0 B"; empty man directories were listed as
    // documentation items of 0 B.
    let spec = ImageSpec::new(
        "t/empty-dirs:1",
        vec![LayerSpec::new(
            "ADD rootfs.tar /",
            vec![
                SpecEntry::file("usr/local/bin/python3.12", 20_000),
                SpecEntry::dir("usr/include"),
                SpecEntry::dir("usr/include/linux"),
                SpecEntry::dir("usr/local/include"),
                SpecEntry::dir("usr/local/share/man"),
                SpecEntry::dir("usr/local/share/man/man1"),
                SpecEntry::file("usr/share/doc/python3/README", 4_000),
            ],
        )],
    );
    let (_, ex) = examine_spec(&spec);
    assert!(
        finding(&ex, "c-headers").is_none(),
        "{:?}",
        finding(&ex, "c-headers").map(|f| (f.bytes, names(f)))
    );
    let docs = finding(&ex, "docs").expect("the README is documentation");
    assert_eq!(names(docs), ["usr/share/doc"]);
    assert_eq!((docs.count, docs.bytes), (1, 4_000));
    // Every finding of a path rule names at least one file.
    for f in &ex.findings.findings {
        assert!(
            f.bytes > 0 || f.items.iter().all(|i| i.bytes > 0 || !i.name.contains('/')),
            "{}: {:?}",
            f.rule,
            names(f)
        );
    }
}

#[test]
fn a_directory_shared_by_packages_has_no_single_owner() {
    // Was: `usr/share/doc (adduser)`, `usr/include (base-files)`: the first package (by
    // name) whose .list named a directory was its owner.
    let pkg = |name: &str| {
        format!("Package: {name}\nStatus: install ok installed\nVersion: 1\nInstalled-Size: 10\n")
    };
    let status = ["adduser", "base-files", "libc6-dev", "linux-libc-dev"]
        .map(pkg)
        .join("\n");
    let spec = ImageSpec::new(
        "t/owners:1",
        vec![LayerSpec::new(
            "debootstrap",
            vec![
                SpecEntry::file("usr/sbin/adduser", 40_000),
                SpecEntry::file("usr/share/doc/adduser/copyright", 2_000),
                SpecEntry::file("usr/share/doc/adduser/NEWS.gz", 9_000),
                SpecEntry::file("usr/share/doc/base-files/README", 1_000),
                SpecEntry::file("usr/include/stdio.h", 30_000),
                SpecEntry::file("usr/include/linux/types.h", 5_000),
                SpecEntry::file("usr/share/info/dir", 3_000),
                SpecEntry::file("usr/share/info/base.info.gz", 4_000),
                SpecEntry::text("var/lib/dpkg/status", &status),
                SpecEntry::text(
                    "var/lib/dpkg/info/adduser.list",
                    "/.\n/usr\n/usr/sbin\n/usr/sbin/adduser\n/usr/share\n/usr/share/doc\n/usr/share/doc/adduser\n/usr/share/doc/adduser/copyright\n/usr/share/doc/adduser/NEWS.gz\n",
                ),
                SpecEntry::text(
                    "var/lib/dpkg/info/base-files.list",
                    "/.\n/usr\n/usr/include\n/usr/share\n/usr/share/doc\n/usr/share/doc/base-files\n/usr/share/doc/base-files/README\n/usr/share/info\n/usr/share/info/base.info.gz\n",
                ),
                SpecEntry::text(
                    "var/lib/dpkg/info/libc6-dev.list",
                    "/.\n/usr\n/usr/include\n/usr/include/stdio.h\n",
                ),
                SpecEntry::text(
                    "var/lib/dpkg/info/linux-libc-dev.list",
                    "/.\n/usr\n/usr/include\n/usr/include/linux\n/usr/include/linux/types.h\n",
                ),
            ],
        )],
    );
    let (_, ex) = examine_spec(&spec);
    let inv = &ex.inventory;
    let label = |path: &str| inv.owner_label(ex.tree.lookup(path).expect(path));
    assert_eq!(
        label("usr/share/doc").as_deref(),
        Some("shared by 2 packages")
    );
    assert_eq!(
        label("usr/include").as_deref(),
        Some("shared by 3 packages")
    );
    assert_eq!(
        label("usr").as_deref(),
        Some("shared by 4 packages and files no package lists")
    );
    // One package owns everything under these.
    assert_eq!(label("usr/share/doc/adduser").as_deref(), Some("adduser"));
    assert_eq!(
        label("usr/include/linux").as_deref(),
        Some("linux-libc-dev")
    );
    assert_eq!(label("usr/sbin/adduser").as_deref(), Some("adduser"));
    let one = |path: &str| inv.owner_is_one_package(ex.tree.lookup(path).unwrap());
    assert!(one("usr/sbin/adduser") && one("usr/share/doc/adduser") && one("usr/share/info"));
    assert!(!one("usr/include") && !one("usr"));
    // install-info wrote usr/share/info/dir, which no package lists.
    assert_eq!(
        label("usr/share/info").as_deref(),
        Some("base-files and files no package lists")
    );
    // Files are counted for their package only; directories change nothing there.
    let adduser = inv
        .os_packages
        .iter()
        .find(|p| p.name == "adduser")
        .unwrap();
    assert_eq!((adduser.files, adduser.file_bytes), (3, 51_000));

    let note = |rule: &str, item: &str| {
        finding(&ex, rule)
            .unwrap_or_else(|| panic!("{rule} found"))
            .items
            .iter()
            .find(|i| i.name == item)
            .unwrap_or_else(|| panic!("{rule}: {item}"))
            .note
            .clone()
    };
    assert_eq!(note("docs", "usr/share/doc"), "shared by 2 packages");
    assert_eq!(
        note("docs", "usr/share/info"),
        "base-files and files no package lists"
    );
    assert_eq!(note("c-headers", "usr/include"), "shared by 3 packages");
}

#[test]
fn wasted_bytes_findings_name_their_layers_in_the_title() {
    // Two groups of hidden bytes: each finding's title must say which layers, so a list of
    // them does not read as the same line repeated.
    let spec = ImageSpec::new(
        "t/wasted:1",
        vec![
            LayerSpec::new("RUN fetch a", vec![SpecEntry::file("srv/a.bin", 300_000)]),
            LayerSpec::new("RUN fetch b", vec![SpecEntry::file("srv/b.bin", 200_000)]),
            LayerSpec::new("RUN rm /srv/a.bin", vec![SpecEntry::whiteout("srv/a.bin")]),
            LayerSpec::new("RUN rm /srv/b.bin", vec![SpecEntry::whiteout("srv/b.bin")]),
        ],
    );
    let (_, ex) = examine_spec(&spec);
    let mut titles: Vec<&str> = ex
        .findings
        .findings
        .iter()
        .filter(|f| f.rule == "wasted-bytes")
        .map(|f| f.title.as_str())
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        vec![
            "Bytes of layer 0 hidden by layer 2",
            "Bytes of layer 1 hidden by layer 3",
        ]
    );
}
