//! A proposal must run as written: the runtime's ENTRYPOINT cannot swallow the image's CMD,
//! the venv must be made with the interpreter the runtime has, nothing is left for the user
//! to do in a comment, and the estimate counts what the proposal installs.

use super::{careless_app, json, pyslim, setup, stage, DOCKERFILE};
use pyslim::core::propose::{self, BaseFacts, Bases, Request, Target};
use pyslim::source::writer::{ArchiveFormat, LayerSpec, SpecEntry};

/// The proposal for the careless image with `dockerfile` (or the default one), as JSON.
fn proposal(dockerfile: Option<&str>, args: &[&str]) -> (tempfile::TempDir, super::Run) {
    let (dir, _) = setup();
    if let Some(d) = dockerfile {
        std::fs::write(dir.path().join("Dockerfile"), d).unwrap();
    }
    let mut all = vec!["propose", "app.tar", "--json"];
    all.extend_from_slice(args);
    let run = pyslim(dir.path(), &all);
    (dir, run)
}

/// The runtime stage's instructions after its FROM, comments left out.
fn runtime_lines(doc: &serde_json::Value) -> Vec<String> {
    let text = doc["proposal"]["dockerfile"].as_str().unwrap();
    stage(text, 1)
        .lines()
        .skip(1)
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// distroless python sets `ENTRYPOINT ["/usr/bin/python3.11"]`; a CMD of
/// `["python", "main.py"]` under it runs `python3.11 python main.py`. Every target resets the
/// entrypoint the base brings, so the image runs its own command.
#[test]
fn every_target_resets_the_bases_entrypoint_before_the_images_cmd() {
    for target in ["slim", "distroless", "alpine"] {
        let (_dir, run) = proposal(None, &["--target", target]);
        assert_eq!(run.status, 0, "{target}: {}", run.stderr);
        let lines = runtime_lines(&json(&run));
        let entry = lines.iter().position(|l| l == "ENTRYPOINT []");
        let cmd = lines
            .iter()
            .position(|l| l == "CMD [\"python\", \"main.py\"]");
        assert!(
            matches!((entry, cmd), (Some(e), Some(c)) if e < c),
            "{target}: {lines:#?}"
        );
    }
    // An image that had an ENTRYPOINT of its own keeps it (and no reset).
    let dir = tempfile::tempdir().unwrap();
    let mut spec = careless_app();
    spec.entrypoint = vec!["gunicorn".into()];
    spec.cmd = vec!["app:wsgi".into()];
    super::common::write_tar(dir.path(), "app.tar", &spec, ArchiveFormat::DockerLegacy);
    std::fs::write(dir.path().join("Dockerfile"), DOCKERFILE).unwrap();
    let run = pyslim(
        dir.path(),
        &["propose", "app.tar", "--target", "distroless", "--json"],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let lines = runtime_lines(&json(&run));
    assert!(
        lines.contains(&"ENTRYPOINT [\"gunicorn\"]".to_owned()),
        "{lines:#?}"
    );
    assert!(!lines.contains(&"ENTRYPOINT []".to_owned()), "{lines:#?}");
}

/// The builder makes the venv with the runtime's interpreter, at the runtime's path, and
/// the proposal says which (text and JSON).
#[test]
fn the_venv_is_made_with_the_interpreter_the_runtime_has() {
    for (target, path) in [
        ("slim", "/usr/local/bin/python3.11"),
        ("distroless", "/usr/bin/python3.11"),
        ("alpine", "/usr/local/bin/python3.11"),
    ] {
        let (_dir, run) = proposal(None, &["--target", target]);
        assert_eq!(run.status, 0, "{target}: {}", run.stderr);
        let doc = json(&run);
        let builder = stage(doc["proposal"]["dockerfile"].as_str().unwrap(), 0).to_owned();
        assert!(
            builder.contains(&format!("\nRUN {path} -m venv /opt/venv\n")),
            "{target}:\n{builder}"
        );
        assert_eq!(doc["proposal"]["plan"]["interpreter"]["path"], path);
    }
    let (_dir, run) = proposal(None, &["--target", "distroless"]);
    let (_dir2, text_run) = {
        let (dir, _) = setup();
        let r = pyslim(
            dir.path(),
            &["propose", "app.tar", "--target", "distroless"],
        );
        (dir, r)
    };
    assert_eq!(run.status, 0);
    assert!(
        text_run.stdout.contains("  venv     /opt/venv made with /usr/bin/python3.11 (where gcr.io/distroless/python3-debian12:nonroot has it, by the table of known bases)"),
        "{}",
        text_run.stdout
    );
}

/// A runtime base the daemon has is read: a Debian-python runtime under the slim target
/// gets its venv made with /usr/bin/python3.11, not the table's /usr/local/bin.
#[test]
fn a_runtime_base_that_was_read_decides_the_interpreter() {
    let (dir, _) = setup();
    let image = super::common::open(&dir.path().join("app.tar")).unwrap();
    let rules = pyslim::core::findings::RuleSet::builtin().unwrap();
    let ex = pyslim::core::examine(&image, Some(&rules), 20);
    let bases = Bases::load(None).unwrap();
    let req = Request {
        image: &image,
        ex: &ex,
        rules: &rules,
        dockerfile: Some(("Dockerfile", DOCKERFILE)),
        target: Target::Slim,
        bases: &bases,
        builder_base: Some("debian-python:3.11"),
        runtime_base: Some("debian-python:3.11"),
        template: None,
    };
    let facts = BaseFacts {
        bytes: Some(170_000_000),
        digest: None,
        pythons: Some(vec!["/usr/bin/python3.11".into()]),
    };
    let p = propose::propose(&req, &facts).unwrap();
    assert_eq!(p.plan.stages.interpreter.path, "/usr/bin/python3.11");
    assert!(
        p.dockerfile
            .contains("\nRUN /usr/bin/python3.11 -m venv /opt/venv\n"),
        "{}",
        p.dockerfile
    );
    // A base that could not be read: the target's path, and a warning that it is assumed.
    let p = propose::propose(&req, &BaseFacts::default()).unwrap();
    assert_eq!(p.plan.stages.interpreter.path, "/usr/local/bin/python3.11");
    assert!(
        p.plan
            .warnings
            .iter()
            .any(|w| w.starts_with("pyslim could not read debian-python:3.11")),
        "{:?}",
        p.plan.warnings
    );
    // A base with no Python at all is said to be one.
    let p = propose::propose(
        &req,
        &BaseFacts {
            pythons: Some(Vec::new()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        p.plan
            .warnings
            .iter()
            .any(|w| w.contains("debian-python:3.11 has no Python interpreter")),
        "{:?}",
        p.plan.warnings
    );
}

/// A CMD in shell form (or a shell script entrypoint) cannot start on distroless: said.
#[test]
fn distroless_warns_when_the_image_starts_with_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = careless_app();
    spec.cmd = vec!["/bin/sh".into(), "-c".into(), "python main.py".into()];
    super::common::write_tar(dir.path(), "app.tar", &spec, ArchiveFormat::DockerLegacy);
    std::fs::write(dir.path().join("Dockerfile"), DOCKERFILE).unwrap();
    let warnings = |target: &str| -> String {
        let run = pyslim(
            dir.path(),
            &[
                "propose", "app.tar", "--target", target, "--json", "--force",
            ],
        );
        assert_eq!(run.status, 0, "{}", run.stderr);
        json(&run)["proposal"]["plan"]["warnings"].to_string()
    };
    assert!(
        warnings("distroless")
            .contains("the image starts with `/bin/sh`, which needs a shell; distroless has none"),
        "{}",
        warnings("distroless")
    );
    assert!(!warnings("slim").contains("needs a shell"));
}

/// Distroless cannot install libpq5: the proposal copies its library from the builder,
/// which installed it, and counts its bytes; nothing is left in a comment for the user.
#[test]
fn distroless_copies_the_runtime_libraries_from_the_builder() {
    let (_dir, run) = proposal(None, &["--target", "distroless"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let doc = json(&run);
    distroless_copies_libpq(&doc);
    // As Debian ships it: the loader's name is a symlink to the versioned file. COPY follows
    // a symlink source, so only the link's name is copied (once), as the file it points to.
    let mut spec = careless_app();
    let apt = &mut spec.layers[1].entries;
    apt.retain(|e| !String::from_utf8_lossy(&e.path).contains("libpq"));
    apt.push(SpecEntry::text(
        "var/lib/dpkg/info/libpq5:amd64.list",
        "/usr/lib/x86_64-linux-gnu/libpq.so.5\n/usr/lib/x86_64-linux-gnu/libpq.so.5.15\n/usr/share/doc/libpq5/copyright\n",
    ));
    apt.push(SpecEntry::symlink(
        "usr/lib/x86_64-linux-gnu/libpq.so.5",
        "libpq.so.5.15",
    ));
    apt.push(SpecEntry::file(
        "usr/lib/x86_64-linux-gnu/libpq.so.5.15",
        300_000,
    ));
    apt.push(SpecEntry::file("usr/share/doc/libpq5/copyright", 5_000));
    apt.push(SpecEntry::text(
        "var/lib/dpkg/info/libpq-dev.list",
        "/usr/include/postgresql/libpq-fe.h\n",
    ));
    let dir = tempfile::tempdir().unwrap();
    super::common::write_tar(dir.path(), "app.tar", &spec, ArchiveFormat::DockerLegacy);
    std::fs::write(dir.path().join("Dockerfile"), DOCKERFILE).unwrap();
    let run = pyslim(
        dir.path(),
        &["propose", "app.tar", "--target", "distroless", "--json"],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    distroless_copies_libpq(&json(&run));
}

fn distroless_copies_libpq(doc: &serde_json::Value) {
    let lines = runtime_lines(doc);
    assert!(
        lines.contains(
            &"COPY --from=builder /usr/lib/x86_64-linux-gnu/libpq.so.5 /usr/lib/x86_64-linux-gnu/"
                .to_owned()
        ),
        "{lines:#?}"
    );
    let text = doc["proposal"]["dockerfile"].as_str().unwrap();
    assert!(!text.contains("instead:"), "{text}");
    let layers = doc["proposal"]["estimate"]["layers"].as_array().unwrap();
    let libs = layers
        .iter()
        .find(|l| l["instruction"].as_str().unwrap().contains("libpq5"))
        .expect("a layer for the copied library");
    assert_eq!(libs["bytes"], 300_000, "the spec's libpq.so.5, once");
}

/// A package the runtime needs whose files the image does not show cannot be copied to
/// distroless: the target is refused, in one line, and nothing is written.
#[test]
fn distroless_refuses_a_runtime_package_it_cannot_copy() {
    let (dir, run) = proposal(
        Some("FROM debian-python:3.11\nRUN apt-get update && apt-get install -y gcc libpq-dev imagemagick\nRUN python3 -m venv /opt/venv && /opt/venv/bin/pip install flask psycopg2\nWORKDIR /app\nCOPY . /app/\nCMD [\"python\", \"main.py\"]\n"),
        &["--target", "distroless"],
    );
    assert_eq!(run.status, 2, "{}", run.stdout);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].contains("--target distroless cannot install OS packages, and imagemagick"),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("Dockerfile.pyslim").exists());
}

/// `apt-get install python3` in the user's steps must not put Debian's Python into a runtime
/// base that has its own: the runtime installs only libpq5, and the proposal says why.
#[test]
fn the_runtime_installs_no_second_python() {
    let install = "apt-get update && apt-get install -y python3 python3-venv gcc libpq-dev";
    let mut spec = careless_app();
    spec.layers[1].created_by = format!("/bin/sh -c {install}");
    let dir = tempfile::tempdir().unwrap();
    super::common::write_tar(dir.path(), "app.tar", &spec, ArchiveFormat::DockerLegacy);
    std::fs::write(
        dir.path().join("Dockerfile"),
        DOCKERFILE.replace(
            "apt-get update && apt-get install -y gcc libpq-dev",
            install,
        ),
    )
    .unwrap();
    let run = pyslim(dir.path(), &["propose", "app.tar", "--json"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let doc = json(&run);
    let runtime = stage(doc["proposal"]["dockerfile"].as_str().unwrap(), 1).to_owned();
    assert!(
        runtime.contains("apt-get install -y --no-install-recommends libpq5 \\"),
        "{runtime}"
    );
    assert_eq!(doc["proposal"]["plan"]["base_provided"][0], "python3");
    assert!(doc["proposal"]["plan"]["warnings"]
        .to_string()
        .contains("not installed in the runtime: python3 (the runtime base has its own Python"));
}

/// The runtime's package manager installs what libpq5 depends on too, where the runtime
/// base lacks it as the image's base did (libldap, installed by the user's apt-get): the
/// estimate counts it, and distroless copies its library as well.
#[test]
fn runtime_packages_are_counted_with_the_dependencies_the_build_installed() {
    let mut spec = careless_app();
    let apt = &mut spec.layers[1].entries;
    let status = super::status_after_apt().replace(
        "Depends: libc6 (>= 2.36), libssl3 (>= 3.0.0)\n",
        "Depends: libc6 (>= 2.36), libldap-2.5-0 (>= 2.5.4), libssl3 (>= 3.0.0)\n\nPackage: libldap-2.5-0\nStatus: install ok installed\nVersion: 2.5.13\nInstalled-Size: 500\nDepends: libc6 (>= 2.36)\n",
    );
    apt.retain(|e| String::from_utf8_lossy(&e.path) != "var/lib/dpkg/status");
    apt.push(SpecEntry::text("var/lib/dpkg/status", &status));
    apt.push(SpecEntry::text(
        "var/lib/dpkg/info/libldap-2.5-0:amd64.list",
        "/usr/lib/x86_64-linux-gnu/libldap-2.5.so.0\n",
    ));
    apt.push(SpecEntry::file(
        "usr/lib/x86_64-linux-gnu/libldap-2.5.so.0",
        400_000,
    ));
    let dir = tempfile::tempdir().unwrap();
    super::common::write_tar(dir.path(), "app.tar", &spec, ArchiveFormat::DockerLegacy);
    std::fs::write(dir.path().join("Dockerfile"), DOCKERFILE).unwrap();
    let layer_bytes = |target: &str, needle: &str| -> u64 {
        let run = pyslim(
            dir.path(),
            &[
                "propose", "app.tar", "--target", target, "--json", "--force",
            ],
        );
        assert_eq!(run.status, 0, "{}", run.stderr);
        let doc = json(&run);
        doc["proposal"]["estimate"]["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["instruction"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("no {needle} layer: {doc:#}"))["bytes"]
            .as_u64()
            .unwrap()
    };
    // apt-get installs libpq5 (300 kB) and libldap (400 kB); libssl3 is the base's.
    assert_eq!(layer_bytes("slim", "RUN install libpq5"), 700_000);
    assert_eq!(layer_bytes("distroless", "libpq5 libldap-2.5-0"), 700_000);
}

/// On distroless the shell and the package manager are gone: the table says so.
#[test]
fn what_changes_says_distroless_removes_the_shell_and_package_manager() {
    let mut spec = careless_app();
    spec.layers[0]
        .entries
        .push(SpecEntry::file("usr/bin/dash", 125_000).with_mode(0o755));
    spec.layers[0]
        .entries
        .push(SpecEntry::symlink("usr/bin/sh", "dash"));
    spec.layers[0]
        .entries
        .push(SpecEntry::file("usr/bin/apt-get", 50_000).with_mode(0o755));
    spec.layers[0]
        .entries
        .push(SpecEntry::file("usr/bin/dpkg", 300_000).with_mode(0o755));
    let dir = tempfile::tempdir().unwrap();
    super::common::write_tar(dir.path(), "app.tar", &spec, ArchiveFormat::DockerLegacy);
    std::fs::write(dir.path().join("Dockerfile"), DOCKERFILE).unwrap();
    let action = |target: &str, rule: &str| -> String {
        let run = pyslim(
            dir.path(),
            &[
                "propose", "app.tar", "--target", target, "--json", "--force",
            ],
        );
        assert_eq!(run.status, 0, "{}", run.stderr);
        let doc = json(&run);
        let rows = doc["proposal"]["estimate"]["by_finding"]
            .as_array()
            .unwrap();
        rows.iter()
            .find(|r| r["rule"] == rule)
            .unwrap_or_else(|| panic!("no {rule} row: {rows:#?}"))["action"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for rule in ["shell-present", "package-manager-present"] {
        let a = action("distroless", rule);
        assert!(
            a.starts_with("Removed: the distroless runtime has no"),
            "{rule}: {a}"
        );
        assert_eq!(
            action("slim", rule),
            "Not changed by the proposal.",
            "{rule}"
        );
    }
}

/// No venv in the image: pip installed into the system's site-packages (Debian's pip puts
/// it in /usr/local/lib/python3.11/dist-packages). The proposal's pip install fills the
/// venv with those packages, so the venv is estimated from them, not as an empty venv.
#[test]
fn pip_into_the_system_python_is_estimated_from_what_it_installed() {
    const DP: &str = "usr/local/lib/python3.11/dist-packages";
    let mut spec = careless_app();
    let dist = |name: &str, files: &[(&str, u64)]| -> Vec<SpecEntry> {
        let info = format!("{DP}/{name}-1.0.dist-info");
        let mut record: String = files
            .iter()
            .map(|(f, s)| format!("{f},sha256=x,{s}\n"))
            .collect();
        record.push_str(&format!("{name}-1.0.dist-info/METADATA,,\n"));
        let mut out = vec![
            SpecEntry::text(
                &format!("{info}/METADATA"),
                &format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n\n"),
            ),
            SpecEntry::text(&format!("{info}/INSTALLER"), "pip\n"),
            SpecEntry::text(&format!("{info}/RECORD"), &record),
        ];
        for (f, s) in files {
            out.push(SpecEntry::file(&format!("{DP}/{f}"), *s));
        }
        out
    };
    let mut entries = dist(
        "numpy",
        &[
            ("numpy/core/_multiarray.so", 20_000_000),
            ("numpy/__init__.py", 10_000),
            ("numpy/tests/test_x.py", 3_000_000),
        ],
    );
    entries.extend(dist("flask", &[("flask/app.py", 60_000)]));
    // The venv layer of the careless image becomes a system-wide pip install.
    spec.layers[2] = LayerSpec::new(
        "/bin/sh -c pip install --break-system-packages numpy flask",
        entries,
    );
    let dir = tempfile::tempdir().unwrap();
    super::common::write_tar(dir.path(), "app.tar", &spec, ArchiveFormat::DockerLegacy);
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM debian-python:3.11\nRUN apt-get update && apt-get install -y gcc libpq-dev\nRUN pip install --break-system-packages numpy flask\nWORKDIR /app\nCOPY . /app/\nCMD [\"python\", \"main.py\"]\n",
    )
    .unwrap();
    let run = pyslim(dir.path(), &["propose", "app.tar", "--json"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let doc = json(&run);
    let venv = doc["proposal"]["estimate"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["instruction"] == "COPY /opt/venv")
        .expect("the venv layer")["bytes"]
        .as_u64()
        .unwrap();
    // Both packages' files (tests pruned) and their metadata, plus the venv's own files.
    let packages = 20_000_000 + 10_000 + 60_000;
    assert!(
        venv >= packages && venv < packages + 64 * 1024,
        "the venv is estimated at {venv} B; pip will install {packages} B into it"
    );
}

/// Alpine cannot be checked the way the Debian targets are: the proposal says what it did
/// not check.
#[test]
fn alpine_says_what_it_could_not_check() {
    let (_dir, run) = proposal(None, &["--target", "alpine"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let warnings = json(&run)["proposal"]["plan"]["warnings"].to_string();
    assert!(
        warnings.contains("not checked for Alpine: that the packages install on musl"),
        "{warnings}"
    );
}
