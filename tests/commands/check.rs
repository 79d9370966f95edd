//! `pyslim check`, the CI gate, through the real binary: exit 0 pass, 1 fail, 2 error.

use pyslim::source::writer::{ArchiveFormat, Content, ImageSpec, LayerSpec, SpecEntry, SpecKind};

use crate::common;

fn careless() -> ImageSpec {
    ImageSpec::new(
        "t/careless:1",
        vec![
            LayerSpec::new(
                "base",
                vec![
                    SpecEntry::file("usr/lib/x86_64-linux-gnu/libc.so.6", 2_000_000),
                    SpecEntry::file("usr/local/bin/python3.12", 20_000),
                ],
            ),
            LayerSpec::new(
                "RUN apt-get install -y gcc",
                vec![
                    SpecEntry::file("usr/lib/gcc/x86_64-linux-gnu/12/cc1", 3_000_000),
                    SpecEntry::file("tmp/build.o", 1_000_000),
                ],
            ),
            LayerSpec::new(
                "RUN rm /tmp/build.o",
                vec![SpecEntry::whiteout("tmp/build.o")],
            ),
        ],
    )
}

fn slim() -> ImageSpec {
    let mut spec = ImageSpec::new(
        "t/slim:1",
        vec![
            LayerSpec::new(
                "base",
                vec![
                    SpecEntry::file("usr/lib/x86_64-linux-gnu/libc.so.6", 2_000_000),
                    SpecEntry::file("usr/local/bin/python3.12", 20_000),
                ],
            ),
            LayerSpec::new(
                "COPY --from=builder /opt/venv /opt/venv",
                vec![SpecEntry::file(
                    "opt/venv/lib/python3.12/site-packages/app/main.py",
                    9_000,
                )],
            ),
        ],
    );
    spec.user = "10001".into();
    spec.env.extend([
        "PYTHONDONTWRITEBYTECODE=1".to_owned(),
        "PYTHONUNBUFFERED=1".to_owned(),
        "LANG=C.UTF-8".to_owned(),
    ]);
    spec
}

fn check(dir: &std::path::Path, image: &std::path::Path, extra: &[&str]) -> std::process::Output {
    common::pyslim()
        .current_dir(dir)
        .arg("check")
        .arg(image)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn a_careless_image_fails_out_of_the_box_and_a_slim_one_passes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = common::write_tar(
        dir.path(),
        "bad.tar",
        &careless(),
        ArchiveFormat::DockerLegacy,
    );
    let out = check(dir.path(), &bad, &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("(thresholds from defaults)"), "{text}");
    let line = |key: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap_or_else(|| panic!("{key} row: {text}"))
            .to_owned()
    };
    assert!(line("fail-on").contains("compilers (1)") && line("fail-on").ends_with("FAIL"));
    assert!(line("lowest-efficiency").contains("90.0%"));
    assert!(
        line("highest-user-wasted-percent").ends_with("FAIL"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("FAIL"));

    let good = common::write_tar(dir.path(), "good.tar", &slim(), ArchiveFormat::DockerLegacy);
    let out = check(dir.path(), &good, &[]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.trim_end().ends_with("PASS"));
}

#[test]
fn flags_and_files_set_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let bad = common::write_tar(
        dir.path(),
        "bad.tar",
        &careless(),
        ArchiveFormat::DockerLegacy,
    );
    let relaxed = [
        "--fail-on",
        "none",
        "--lowest-efficiency",
        "disabled",
        "--highest-user-wasted-percent",
        "disabled",
    ];
    assert_eq!(check(dir.path(), &bad, &relaxed).status.code(), Some(0));
    let out = check(
        dir.path(),
        &bad,
        &[
            "--fail-on",
            "none",
            "--lowest-efficiency",
            "0",
            "--highest-user-wasted-percent",
            "100%",
            "--highest-bloat-bytes",
            "1MB",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("highest-bloat-bytes"));

    // dive's .dive-ci is honoured, and .pyslim.toml's [check] overrides it.
    std::fs::write(
        dir.path().join(".dive-ci"),
        "rules:\n  lowestEfficiency: 0.1\n  highestUserWastedPercent: disabled\n",
    )
    .unwrap();
    let out = check(dir.path(), &bad, &["--fail-on", "none"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("thresholds from .dive-ci and flags"));
    std::fs::write(
        dir.path().join(".pyslim.toml"),
        "[check]\nfail-on = [\"compilers\"]\n",
    )
    .unwrap();
    assert_eq!(check(dir.path(), &bad, &[]).status.code(), Some(1));
    std::fs::write(
        dir.path().join(".pyslim.toml"),
        "[rules.compilers]\nenabled = false\n[check]\nfail-on = [\"compilers\"]\n",
    )
    .unwrap();
    assert_eq!(
        check(dir.path(), &bad, &[]).status.code(),
        Some(0),
        "a switched-off rule finds nothing"
    );
}

#[test]
fn bad_configuration_is_an_error_not_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let bad = common::write_tar(
        dir.path(),
        "bad.tar",
        &careless(),
        ArchiveFormat::DockerLegacy,
    );
    std::fs::write(
        dir.path().join(".pyslim.toml"),
        "[check]\nlowest-efficiency = \"high\"\n",
    )
    .unwrap();
    let out = check(dir.path(), &bad, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1);
    assert!(
        err.contains(".pyslim.toml: lowest-efficiency = \"high\": expected a ratio"),
        "{err}"
    );
    let out = check(
        dir.path(),
        &dir.path().join("missing.tar"),
        &["--config", "/dev/null"],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_verdict_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let bad = common::write_tar(
        dir.path(),
        "bad.tar",
        &careless(),
        ArchiveFormat::DockerLegacy,
    );
    let out = check(dir.path(), &bad, &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["passed"], false);
    let keys: Vec<&str> = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["key"].as_str().unwrap())
        .collect();
    // The rows scripts already read keep their place; rows added since come after them.
    assert_eq!(
        keys,
        vec![
            "lowest-efficiency",
            "highest-user-wasted-percent",
            "highest-wasted-bytes",
            "highest-bloat-bytes",
            "fail-on",
            "lowest-pyslim-efficiency",
            "highest-pyslim-wasted-percent",
            "highest-pyslim-wasted-bytes",
        ]
    );
}

/// One line on stderr, exit 2, naming the bad value and listing what is valid.
fn assert_usage_error(out: &std::process::Output, bad: &str, valid: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}\nstderr: {err}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(bad), "{err}");
    for v in valid {
        assert!(err.contains(v), "{v} missing from: {err}");
    }
}

#[test]
fn unknown_categories_rules_and_keys_are_errors_not_passes() {
    // Was: `--fail-on compiler` (the category is `compilers`) printed "none present PASS"
    // on an image full of compilers, and so did `fail-on = ["compiler"]` in .pyslim.toml.
    let dir = tempfile::tempdir().unwrap();
    let bad = common::write_tar(
        dir.path(),
        "bad.tar",
        &careless(),
        ArchiveFormat::DockerLegacy,
    );
    let out = check(dir.path(), &bad, &["--fail-on", "compiler"]);
    assert_usage_error(&out, "compiler", &["compilers", "secrets", "headers"]);
    assert!(out.stdout.is_empty(), "no verdict is printed");
    let out = check(
        dir.path(),
        &bad,
        &["--fail-on", "secrets,compiler", "--json"],
    );
    assert_usage_error(&out, "compiler", &["compilers"]);

    std::fs::write(
        dir.path().join(".pyslim.toml"),
        "[check]\nfail-on = [\"compiler\"]\n",
    )
    .unwrap();
    let out = check(dir.path(), &bad, &[]);
    assert_usage_error(&out, "compiler", &[".pyslim.toml", "compilers", "secrets"]);

    // A rule id names the findings of that rule: c-headers is in category headers.
    std::fs::write(
        dir.path().join(".pyslim.toml"),
        "[check]\nfail-on = [\"compilers\"]\n",
    )
    .unwrap();
    let relaxed = [
        "--lowest-efficiency",
        "disabled",
        "--highest-user-wasted-percent",
        "disabled",
    ];
    let out = check(
        dir.path(),
        &bad,
        &[&relaxed[..], &["--fail-on", "c-headers"]].concat(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = check(
        dir.path(),
        &bad,
        &[&relaxed[..], &["--fail-on", "compilers"]].concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    let out = check(dir.path(), &bad, &relaxed);
    assert_eq!(out.status.code(), Some(1), "the file's fail-on still gates");
    // A category a user rule adds is valid.
    std::fs::write(
        dir.path().join(".pyslim.toml"),
        "[[rule]]\nid = \"build-objects\"\ncategory = \"objects\"\nseverity = \"low\"\ntitle = \"t\"\nwhy = \"w\"\nfix = \"f\"\npaths = [\"**/*.o\"]\n[check]\nfail-on = [\"objects\"]\n",
    )
    .unwrap();
    let out = check(dir.path(), &bad, &relaxed);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A patch of a rule that does not exist lists the rules that do.
    std::fs::write(
        dir.path().join(".pyslim.toml"),
        "[rules.compiler]\nenabled = false\n",
    )
    .unwrap();
    let out = check(dir.path(), &bad, &[]);
    assert_usage_error(
        &out,
        "[rules.compiler]",
        &["compilers", "c-headers", "secrets"],
    );

    // A threshold key that does not exist, in either file.
    std::fs::write(
        dir.path().join(".pyslim.toml"),
        "[check]\nlowest-efficency = 0.8\n",
    )
    .unwrap();
    let out = check(dir.path(), &bad, &[]);
    assert_usage_error(
        &out,
        "lowest-efficency",
        &[".pyslim.toml", "lowest-efficiency", "fail-on"],
    );
    std::fs::remove_file(dir.path().join(".pyslim.toml")).unwrap();
    std::fs::write(
        dir.path().join(".dive-ci"),
        "rules:\n  lowestEfficency: 0.1\n",
    )
    .unwrap();
    let out = check(dir.path(), &bad, &[]);
    assert_usage_error(
        &out,
        "lowestEfficency",
        &[
            ".dive-ci",
            "lowestEfficiency",
            "highestWastedBytes",
            "highestUserWastedPercent",
        ],
    );
}

#[test]
fn check_and_analyze_label_whose_figures_they_show() {
    // Was: check showed dive's efficiency where analyze showed pyslim's, neither saying so.
    // A file rewritten bigger is where the two formulas part: dive counts its smaller copy
    // as the efficient size, pyslim counts what the image shows.
    let dir = tempfile::tempdir().unwrap();
    let mut spec = careless();
    spec.layers.push(LayerSpec::new(
        "RUN pip install --upgrade app",
        vec![SpecEntry::file("usr/local/bin/python3.12", 3_000_000)],
    ));
    let bad = common::write_tar(dir.path(), "bad.tar", &spec, ArchiveFormat::DockerLegacy);
    let analyze = |json: bool| {
        let mut cmd = common::pyslim();
        cmd.current_dir(dir.path()).arg("analyze").arg(&bad);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let a: serde_json::Value = serde_json::from_str(&analyze(true)).unwrap();
    assert_eq!(a["totals"]["measure"], "pyslim");
    assert_eq!(a["dive"]["measure"], "dive");
    let (ours, dives) = (
        a["totals"]["efficiency"].as_f64().unwrap(),
        a["dive"]["efficiency"].as_f64().unwrap(),
    );
    assert!((ours - dives).abs() > 0.01, "the two figures differ here");
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    let text = analyze(false);
    assert!(
        text.contains(&format!("efficiency {}   (pyslim's figures", pct(ours))),
        "{text}"
    );
    assert!(
        text.contains(&format!("dive's formulas, as `dive` and `check`'s default thresholds compute them): efficiency {}", pct(dives))),
        "{text}"
    );

    let out = check(
        dir.path(),
        &bad,
        &["--json", "--lowest-pyslim-efficiency", "0.99"],
    );
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = |key: &str| {
        c["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["key"] == key)
            .unwrap_or_else(|| panic!("{key}: {c}"))
            .clone()
    };
    assert_eq!(row("lowest-efficiency")["measure"], "dive");
    assert_eq!(row("lowest-efficiency")["value"], pct(dives));
    assert_eq!(row("lowest-pyslim-efficiency")["measure"], "pyslim");
    assert_eq!(row("lowest-pyslim-efficiency")["value"], pct(ours));
    assert_eq!(row("lowest-pyslim-efficiency")["result"], "fail");
    assert_eq!(row("highest-pyslim-wasted-bytes")["measure"], "pyslim");
    assert_eq!(row("fail-on")["measure"], "findings");
    assert_eq!(c["figures"]["dive"]["efficiency"], a["dive"]["efficiency"]);
    assert_eq!(
        c["figures"]["pyslim"]["efficiency"],
        a["totals"]["efficiency"]
    );
    assert_eq!(
        c["figures"]["pyslim"]["wasted_bytes"],
        a["totals"]["wasted_bytes"]
    );

    // The text table has a measure column, and a threshold may be named by what it reads.
    let out = check(
        dir.path(),
        &bad,
        &[
            "--lowest-dive-efficiency",
            "0.5",
            "--lowest-pyslim-efficiency",
            "0.5",
        ],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |key: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("{key} row: {text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        line("lowest-efficiency"),
        format!("lowest-efficiency dive 50.0% {} PASS", pct(dives))
    );
    assert_eq!(
        line("lowest-pyslim-efficiency"),
        format!("lowest-pyslim-efficiency pyslim 50.0% {} PASS", pct(ours))
    );
    std::fs::write(
        dir.path().join(".pyslim.toml"),
        "[check]\nlowest-dive-efficiency = 0.99\nhighest-pyslim-wasted-percent = \"1%\"\n",
    )
    .unwrap();
    let out = check(dir.path(), &bad, &["--json"]);
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let limit = |key: &str| {
        c["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["key"] == key)
            .map(|v| v["limit"].clone())
    };
    assert_eq!(limit("lowest-efficiency").unwrap(), "99.0%");
    assert_eq!(limit("highest-pyslim-wasted-percent").unwrap(), "1.0%");
}

#[test]
fn cpython_test_keys_do_not_fail_the_secrets_gate() {
    // Was: an image with a CPython built from source failed `check` (exit 1) on the test
    // keys in lib/python3.12/test/certdata, which CPython publishes with its sources.
    let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
    let file = |path: &str| {
        SpecEntry::new(
            path,
            SpecKind::File(Content::Bytes(key.as_bytes().to_vec())),
        )
    };
    let mut spec = slim();
    spec.layers.push(LayerSpec::new(
        "RUN ./configure --prefix=/usr/local && make && make install",
        vec![
            file("usr/local/lib/python3.12/test/certdata/keycert.pem"),
            file("usr/local/lib/python3.12/test/certdata/pycakey.pem"),
            file("usr/local/lib/python3.12/site-packages/tornado/test/test.key"),
        ],
    ));
    let dir = tempfile::tempdir().unwrap();
    let image = common::write_tar(
        dir.path(),
        "cpython.tar",
        &spec,
        ArchiveFormat::DockerLegacy,
    );
    let out = check(dir.path(), &image, &["--fail-on", "secrets"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("none present"), "{text}");
    // The same key anywhere else still fails the gate.
    spec.layers.push(LayerSpec::new(
        "COPY . /app",
        vec![file("app/certs/server.key")],
    ));
    let image = common::write_tar(dir.path(), "leak.tar", &spec, ArchiveFormat::DockerLegacy);
    let out = check(dir.path(), &image, &["--fail-on", "secrets"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("secrets (1)"), "{text}");
}
