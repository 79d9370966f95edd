//! Output formats, run through the real binary: `--format`, `-o`, `--json` as an alias, the
//! JSON documents against the JSON Schemas in docs/schemas/ (generated from the Rust types),
//! Markdown for pull requests, SARIF for code scanning. Written as one module with no
//! `mod common`, so it can become a module of a bigger test binary as it is.

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;

fn pyslim() -> Command {
    // No configuration, .dive-ci or Dockerfile leaks in from the working directory: each
    // run starts in an empty directory of its own (tests that need files pass theirs).
    static EMPTY: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let empty = EMPTY.get_or_init(|| tempfile::tempdir().expect("a temporary directory"));
    let mut cmd = Command::cargo_bin("pyslim").expect("the pyslim binary is built");
    cmd.current_dir(empty.path());
    cmd
}

fn run(args: &[&str]) -> Output {
    pyslim().args(args).output().expect("pyslim runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The image made of real wheels and Debian packages, when it was built (CI builds it).
fn real_fixture() -> Option<PathBuf> {
    let path = std::env::var_os("PYSLIM_REAL_FIXTURE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/fixtures/real-python.tar"));
    if path.exists() {
        return Some(path);
    }
    let why = format!(
        "{} is missing: build it with `python3 tests/fixtures/build-real-fixture.py target/fixtures`",
        path.display()
    );
    assert!(
        std::env::var("PYSLIM_REQUIRE_FIXTURE").as_deref() != Ok("1"),
        "PYSLIM_REQUIRE_FIXTURE=1 but {why}"
    );
    eprintln!("skipping the real-image part: {why}");
    None
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:.400}"))
}

// ---------------------------------------------------------------------------------------
// One way to choose an output

#[test]
fn a_format_a_command_cannot_write_is_one_line_and_exit_2() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["analyze", "--demo", "--format", "sarif"],
            "pyslim: analyze cannot write --format sarif; it writes text, json, markdown, html\n",
        ),
        (
            &["compare", "--demo", "demo", "--format", "sarif"],
            "pyslim: compare cannot write --format sarif; it writes text, json, markdown, html\n",
        ),
        (
            &["propose", "--demo", "--format", "sarif", "-o", "-"],
            "pyslim: propose cannot write --format sarif; it writes text, json, markdown, html\n",
        ),
        (
            &["analyze", "--demo", "--json", "--format", "markdown"],
            "pyslim: --json and --format markdown disagree; give one of them\n",
        ),
    ];
    for (args, want) in cases {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr(&o), want, "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?} printed {}", stdout(&o));
    }
}

#[test]
fn help_says_which_formats_each_command_writes() {
    for (command, formats) in [
        ("analyze", "text (default), json (schema pyslim.analysis/v1"),
        ("check", "markdown or sarif"),
        (
            "compare",
            "text (default), json (schema pyslim.compare/v1), markdown or html",
        ),
        (
            "propose",
            "with --build, the measurement), markdown or html",
        ),
    ] {
        let help = stdout(&run(&[command, "--help"]));
        let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(formats), "{command} --help:\n{help}");
    }
}

#[test]
fn json_is_an_alias_of_format_json() {
    for args in [
        &["analyze", "--demo"][..],
        &["check", "--demo"],
        &["compare", "--demo", "demo"],
    ] {
        let alias = run(&[args, &["--json"]].concat());
        let format = run(&[args, &["--format", "json"]].concat());
        assert_eq!(alias.status.code(), format.status.code(), "{args:?}");
        assert_eq!(json(&stdout(&alias)), json(&stdout(&format)), "{args:?}");
    }
}

#[test]
fn output_path_gets_the_report_and_dash_means_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("analysis.json");
    let to_file = run(&["analyze", "--demo", "--json", "-o", file.to_str().unwrap()]);
    assert_eq!(to_file.status.code(), Some(0), "{}", stderr(&to_file));
    assert!(to_file.stdout.is_empty(), "{}", stdout(&to_file));
    let written = std::fs::read_to_string(&file).unwrap();
    let dash = run(&["analyze", "--demo", "--json", "-o", "-"]);
    assert_eq!(json(&written), json(&stdout(&dash)));
    assert_eq!(json(&written)["schema"], "pyslim.analysis/v1");

    // check writes its report and still answers with the verdict's exit code.
    let md = dir.path().join("check.md");
    let check = run(&[
        "check",
        "--demo",
        "--format",
        "markdown",
        "-o",
        md.to_str().unwrap(),
    ]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    assert!(std::fs::read_to_string(&md).unwrap().contains("❌ FAIL"));

    let missing = dir.path().join("no/such/dir/out.json");
    let o = run(&[
        "analyze",
        "--demo",
        "--json",
        "-o",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "pyslim: {}: no such directory\n",
            dir.path().join("no/such/dir").display()
        )
    );
}

#[test]
fn propose_dash_o_writes_the_dockerfile_to_stdout_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let o = pyslim()
        .current_dir(dir.path())
        .args(["propose", "--demo", "-o", "-"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        !dir.path().join("-").exists(),
        "propose -o - wrote a file named '-'"
    );
    assert!(!dir.path().join("Dockerfile.pyslim").exists());
    let out = stdout(&o);
    assert!(
        out.starts_with("# syntax=") || out.contains("\nFROM "),
        "{out}"
    );
    assert!(out.contains(" AS builder"), "{out}");
    // The report went to stderr, so stdout is the Dockerfile alone.
    assert!(!out.contains("Estimated size"), "{out}");
    assert!(stderr(&o).contains("Estimated size"), "{}", stderr(&o));

    // In JSON the document says where the Dockerfile went.
    let o = pyslim()
        .current_dir(dir.path())
        .args(["propose", "--demo", "-o", "-", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(json(&stderr(&o))["output"], "-");
    assert!(!dir.path().join("-").exists());
}

// ---------------------------------------------------------------------------------------
// JSON documents and their schemas

fn schema_dir() -> PathBuf {
    repo().join("docs/schemas")
}

/// The schemas in docs/schemas/ are what the Rust types generate; PYSLIM_UPDATE_SCHEMAS=1
/// writes them anew after a deliberate change.
#[test]
fn schema_files_match_the_types() {
    let update = std::env::var("PYSLIM_UPDATE_SCHEMAS").as_deref() == Ok("1");
    for (id, schema) in pyslim::report::schema::all() {
        let path = schema_dir().join(pyslim::report::schema::file_name(id));
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if update {
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e}; run with PYSLIM_UPDATE_SCHEMAS=1", path.display())
        });
        assert!(
            json(&on_disk) == schema,
            "{} drifted from the Rust types: run the test with PYSLIM_UPDATE_SCHEMAS=1 and review the diff",
            path.display()
        );
    }
}

fn validator(id: &str) -> jsonschema::Validator {
    let path = schema_dir().join(pyslim::report::schema::file_name(id));
    let schema = json(&std::fs::read_to_string(&path).unwrap());
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn assert_valid(id: &str, doc: &serde_json::Value, what: &str) {
    assert_eq!(doc["schema"], id, "{what}");
    let errors: Vec<String> = validator(id)
        .iter_errors(doc)
        .take(10)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} breaks {id}:\n{}",
        errors.join("\n")
    );
}

/// Every JSON document pyslim writes, from `image`.
fn documents(image: &str) -> Vec<(&'static str, String, serde_json::Value)> {
    // compare's word for the demo image; any other image is compared with the demo.
    let other = if image == "--demo" { "demo" } else { image };
    let dir = tempfile::tempdir().unwrap();
    let dockerfile = dir.path().join("Dockerfile.out");
    let runs: [(&str, Vec<&str>); 4] = [
        ("pyslim.analysis/v1", vec!["analyze", image, "--json"]),
        ("pyslim.check/v1", vec!["check", image, "--format", "json"]),
        (
            "pyslim.compare/v1",
            vec!["compare", other, "demo", "--json"],
        ),
        (
            "pyslim.propose/v1",
            vec![
                "propose",
                image,
                "--format",
                "json",
                "-o",
                dockerfile.to_str().unwrap(),
            ],
        ),
    ];
    runs.into_iter()
        .map(|(id, args)| {
            let o = run(&args);
            assert!(
                matches!(o.status.code(), Some(0 | 1)),
                "{args:?}: {}",
                stderr(&o)
            );
            (id, args.join(" "), json(&stdout(&o)))
        })
        .collect()
}

#[test]
fn every_json_document_names_its_schema_and_validates_on_the_demo() {
    for (id, what, doc) in documents("--demo") {
        assert_valid(id, &doc, &what);
    }
}

#[test]
fn every_json_document_validates_on_the_real_image() {
    let Some(fx) = real_fixture() else { return };
    for (id, what, doc) in documents(fx.to_str().unwrap()) {
        assert_valid(id, &doc, &what);
    }
}

/// A schema that cannot fail proves nothing: a document missing a field, or with a field of
/// the wrong type, or of another kind, is refused.
#[test]
fn the_schemas_refuse_a_drifted_document() {
    let doc = json(&stdout(&run(&["check", "--demo", "--json"])));
    let v = validator("pyslim.check/v1");
    assert!(v.is_valid(&doc));
    let mut missing = doc.clone();
    missing.as_object_mut().unwrap().remove("verdicts");
    assert!(!v.is_valid(&missing), "a document without verdicts passed");
    let mut wrong = doc.clone();
    wrong["passed"] = serde_json::json!("yes");
    assert!(!v.is_valid(&wrong), "passed: \"yes\" passed");
    let mut other = doc;
    other["schema"] = serde_json::json!("pyslim.analysis/v1");
    assert!(!v.is_valid(&other), "another kind's id passed");
}

// ---------------------------------------------------------------------------------------
// Markdown for a pull request

#[test]
fn markdown_has_the_headline_layers_findings_and_verdict() {
    let analyze = stdout(&run(&["analyze", "--demo", "--format", "markdown"]));
    for want in [
        "## pyslim: `pyslim-demo/flask-app:latest`",
        "| size | **556.82 MiB** in the image",
        "### Layers",
        "| 2 | 196.07 MiB | 27.02 MiB | 1023 | `RUN apt-get update && apt-get install -y build-essential libpq-dev` |",
        "#### 🟥 critical Secrets in the image",
        "**Fix:** Move compilation to a builder stage",
    ] {
        assert!(analyze.contains(want), "no {want:?} in:\n{analyze}");
    }
    let check = run(&["check", "--demo", "--format", "markdown"]);
    assert_eq!(check.status.code(), Some(1));
    let check = stdout(&check);
    assert!(
        check.starts_with("## pyslim check: ❌ FAIL — `pyslim-demo/flask-app:latest`"),
        "{check}"
    );
    assert!(
        check.contains(
            "| fail-on | findings | compilers, secrets | compilers (1), secrets (1) | ❌ fail |"
        ),
        "{check}"
    );
    let compare = stdout(&run(&["compare", "--demo", "demo", "--format", "markdown"]));
    assert!(
        compare.contains("| size | 556.82 MiB | 556.82 MiB |"),
        "{compare}"
    );
    let dir = tempfile::tempdir().unwrap();
    let propose = pyslim()
        .current_dir(dir.path())
        .args(["propose", "--demo", "--format", "markdown"])
        .output()
        .unwrap();
    let propose = stdout(&propose);
    assert!(propose.contains("| proposed (estimate) | **"), "{propose}");
    assert!(propose.contains("```diff\n"), "{propose}");
}

#[test]
fn markdown_of_the_real_image_fits_a_pull_request_comment() {
    let Some(fx) = real_fixture() else { return };
    let fx = fx.to_str().unwrap();
    for args in [
        vec!["analyze", fx, "--format", "markdown"],
        vec!["check", fx, "--format", "markdown"],
        vec!["compare", fx, "demo", "--format", "markdown"],
    ] {
        let o = run(&args);
        let md = stdout(&o);
        let chars = md.chars().count();
        eprintln!("{}: {chars} characters", args.join(" "));
        assert!(chars < 65_536, "{args:?}: {chars} characters");
        assert!(md.starts_with("## pyslim"), "{args:?}: {md:.300}");
        assert!(!md.contains("(cut here"), "{args:?} was cut");
    }
}

// ---------------------------------------------------------------------------------------
// check --baseline

#[test]
fn check_against_a_baseline_shows_growth_new_and_fixed_findings_in_every_format() {
    let Some(fx) = real_fixture() else { return };
    let fx = fx.to_str().unwrap();
    // The demo image is 135.87 MiB bigger than the real fixture: grown past 10MB, it fails.
    let base = ["check", "--demo", "--fail-on", "none", "--baseline", fx];
    let text = run(&[&base[..], &["--highest-size-increase", "10MB"]].concat());
    assert_eq!(text.status.code(), Some(1), "{}", stderr(&text));
    let out = stdout(&text);
    assert!(
        out.contains("highest-size-increase           baseline  9.54 MiB             +135.87 MiB (+32.3%)         FAIL"),
        "{out}"
    );
    assert!(
        out.contains("  new    [medium] Version-control folders (.git) (vcs-folders) 12.06 MiB"),
        "{out}"
    );
    assert!(
        out.contains("  fixed  [info] Virtual environments"),
        "{out}"
    );

    let doc = json(&stdout(&run(&[
        &base[..],
        &["--highest-size-increase", "33%", "--json"],
    ]
    .concat())));
    assert_valid("pyslim.check/v1", &doc, "check --baseline --json");
    assert_eq!(doc["passed"], true);
    assert_eq!(doc["baseline"]["image"], fx);
    assert!(doc["baseline"]["size_change"].as_i64().unwrap() > 135 << 20);
    let rules = |key: &str| -> Vec<String> {
        doc["baseline"][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(rules("new_findings").contains(&"vcs-folders".to_owned()));
    assert!(rules("fixed_findings").contains(&"python-venvs".to_owned()));

    let md = stdout(&run(&[&base[..], &["--format", "markdown"]].concat()));
    assert!(md.contains("**+135.87 MiB** (+32.3%, from"), "{md}");
    assert!(
        md.contains("- New: 🟨 medium Version-control folders (.git) (`vcs-folders`) 12.06 MiB"),
        "{md}"
    );

    // The same image as its own baseline: nothing changed.
    let same = stdout(&run(&[
        "check",
        "--demo",
        "--baseline",
        "demo",
        "--fail-on",
        "none",
        "--highest-size-increase",
        "0",
    ]));
    assert!(same.contains("+0 B (+0.0%)"), "{same}");
    assert!(same.ends_with("PASS\n"), "{same}");
}

#[test]
fn a_bad_growth_threshold_is_one_line_and_exit_2() {
    let o = run(&[
        "check",
        "--demo",
        "--baseline",
        "demo",
        "--highest-size-increase",
        "5x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "pyslim: --highest-size-increase: highest-size-increase = \"5x\": expected a size like 20MB, 20MiB or 1048576, or \"disabled\"\n"
    );
}

// ---------------------------------------------------------------------------------------
// SARIF 2.1.0

/// A Dockerfile whose final stage made the demo image's layers above its base.
const DEMO_DOCKERFILE: &str = "FROM python:3.12
RUN apt-get update && apt-get install -y build-essential libpq-dev
RUN pip install -r requirements.txt
COPY . /app
RUN rm -rf /root/.ssh /var/cache/apt/archives/*.deb && chmod -R 777 /app
CMD [\"python\", \"app.py\"]
";

fn sarif_validator() -> jsonschema::Validator {
    let path = repo().join("assets/sarif/sarif-schema-2.1.0.json");
    let schema = json(&std::fs::read_to_string(&path).unwrap());
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn assert_valid_sarif(doc: &serde_json::Value, what: &str) {
    let errors: Vec<String> = sarif_validator()
        .iter_errors(doc)
        .take(10)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} is not SARIF 2.1.0:\n{}",
        errors.join("\n")
    );
}

/// Runs `check --format sarif` in `dir` and returns its exit code and document.
fn sarif_in(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let o = pyslim()
        .current_dir(dir)
        .args([&["check", "--format", "sarif"][..], args].concat())
        .output()
        .unwrap();
    (o.status.code(), json(&stdout(&o)))
}

fn result_of<'a>(doc: &'a serde_json::Value, rule: &str) -> &'a serde_json::Value {
    doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == rule)
        .unwrap_or_else(|| panic!("no {rule} result"))
}

#[test]
fn sarif_places_results_on_the_dockerfile_line_that_made_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), DEMO_DOCKERFILE).unwrap();
    let (code, doc) = sarif_in(dir.path(), &["--demo", "-f", "Dockerfile"]);
    assert_eq!(code, Some(1), "the verdict is still the exit code");
    assert_valid_sarif(&doc, "check --demo --format sarif -f Dockerfile");
    assert_eq!(doc["version"], "2.1.0");
    // The vendored schema can refuse: a level SARIF does not have is caught.
    let mut bad = doc.clone();
    bad["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    assert!(
        !sarif_validator().is_valid(&bad),
        "the SARIF schema let level \"fatal\" pass"
    );
    let line = |rule: &str| {
        let loc = &result_of(&doc, rule)["locations"][0]["physicalLocation"];
        (
            loc["artifactLocation"]["uri"].as_str().unwrap().to_owned(),
            loc["region"]["startLine"].as_u64(),
        )
    };
    assert_eq!(line("compilers"), ("Dockerfile".into(), Some(2)));
    assert_eq!(line("pip-cache"), ("Dockerfile".into(), Some(3)));
    assert_eq!(line("vcs-folders"), ("Dockerfile".into(), Some(4)));
    // The base image's layers are in no line of this Dockerfile: on the image.
    assert_eq!(
        line("python-stdlib-tests"),
        ("pyslim-demo/flask-app%3Alatest".into(), None)
    );
    // ./Dockerfile is the default, as for propose and trim.
    let (_, default) = sarif_in(dir.path(), &["--demo"]);
    assert_eq!(default["runs"][0]["results"], doc["runs"][0]["results"]);
    // Without one, every result is on the image.
    let bare = tempfile::tempdir().unwrap();
    let (_, on_image) = sarif_in(bare.path(), &["--demo"]);
    for r in on_image["runs"][0]["results"].as_array().unwrap() {
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(
            loc["artifactLocation"]["uri"], "pyslim-demo/flask-app%3Alatest",
            "{r}"
        );
        assert!(loc.get("region").is_none(), "{r}");
    }
}

#[test]
fn sarif_has_one_rule_per_finding_kind_with_help_from_the_rules_and_levels_from_severities() {
    let bare = tempfile::tempdir().unwrap();
    let (_, doc) = sarif_in(bare.path(), &["--demo"]);
    let rules = pyslim::core::findings::RuleSet::builtin().unwrap();
    let descriptors = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let enabled: Vec<_> = rules.enabled().collect();
    assert_eq!(descriptors.len(), enabled.len());
    for (d, r) in descriptors.iter().zip(&enabled) {
        assert_eq!(d["id"], r.id.as_str());
        assert_eq!(d["shortDescription"]["text"], r.title.as_str());
        assert_eq!(
            d["help"]["text"],
            format!("{}\n\nFix: {}", r.why, r.fix),
            "{}",
            r.id
        );
    }
    for r in doc["runs"][0]["results"].as_array().unwrap() {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(descriptors[index]["id"], r["ruleId"], "{r}");
    }
    assert_eq!(result_of(&doc, "secrets")["level"], "error"); // critical
    assert_eq!(result_of(&doc, "compilers")["level"], "error"); // high
    assert_eq!(result_of(&doc, "vcs-folders")["level"], "warning"); // medium
    assert_eq!(result_of(&doc, "python-bytecode")["level"], "note"); // low
    assert_eq!(
        doc["runs"][0]["properties"]["failedThresholds"],
        serde_json::json!(["fail-on"])
    );
}

#[test]
fn sarif_of_the_real_image_is_valid_and_marks_new_findings_against_a_baseline() {
    let Some(fx) = real_fixture() else { return };
    let bare = tempfile::tempdir().unwrap();
    let (_, doc) = sarif_in(bare.path(), &[fx.to_str().unwrap(), "--baseline", "demo"]);
    assert_valid_sarif(&doc, "check real-python.tar --format sarif --baseline demo");
    assert_eq!(
        result_of(&doc, "unstripped-binaries")["baselineState"],
        "new"
    );
    assert_eq!(result_of(&doc, "compilers")["baselineState"], "unchanged");
}

/// A real consumer reads it back: `sarif summary` from sarif-tools (PyPI).
#[test]
fn sarif_tools_reads_the_sarif_back() {
    let found = std::process::Command::new("sarif")
        .arg("--version")
        .output();
    if !found.is_ok_and(|o| o.status.success()) {
        let why = "`sarif` (pip install sarif-tools) is not on PATH";
        assert!(
            std::env::var("PYSLIM_REQUIRE_SARIF").as_deref() != Ok("1"),
            "PYSLIM_REQUIRE_SARIF=1 but {why}"
        );
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), DEMO_DOCKERFILE).unwrap();
    let file = dir.path().join("pyslim.sarif");
    let o = pyslim()
        .current_dir(dir.path())
        .args([
            "check",
            "--demo",
            "--format",
            "sarif",
            "-o",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let summary = std::process::Command::new("sarif")
        .arg("summary")
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&summary.stdout);
    assert!(
        summary.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&summary.stderr)
    );
    // The demo's 24 findings by level, as check's severities make them.
    for want in [
        "error: 2",
        "warning: 12",
        "note: 10",
        " - compilers Compilers and build tools",
    ] {
        assert!(text.contains(want), "no {want:?} in sarif summary:\n{text}");
    }
}

// ---------------------------------------------------------------------------------------
// HTML: one self-contained page

fn chromium() -> Option<&'static str> {
    for name in ["chromium", "chromium-browser"] {
        if std::process::Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(name);
        }
    }
    let why = "no chromium on PATH (Debian package `chromium`)";
    assert!(
        std::env::var("PYSLIM_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
        "PYSLIM_REQUIRE_CHROMIUM=1 but {why}"
    );
    eprintln!("skipping the browser part: {why}");
    None
}

/// Writes `analyze IMAGE --format html` into `dir` and returns the page's path and text.
fn html_report(dir: &std::path::Path, image: &str) -> (PathBuf, String) {
    let page = dir.join("report.html");
    let o = run(&[
        "analyze",
        image,
        "--format",
        "html",
        "-o",
        page.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&page).unwrap();
    (page, text)
}

#[test]
fn html_is_one_file_that_asks_for_nothing_outside_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_, page) = html_report(dir.path(), "--demo");
    assert!(page.starts_with("<!DOCTYPE html>"), "{page:.200}");
    for outside in ["src=", "href=", "@import", "url(", "<link"] {
        assert!(!page.contains(outside), "the page has {outside:?}");
    }
    assert!(
        page.contains("default-src 'none'"),
        "no CSP that forbids requests"
    );
    assert!(page.len() < 200_000, "{} bytes", page.len());
}

#[test]
fn html_draws_in_a_real_browser_with_the_largest_path_and_every_finding() {
    let Some(browser) = chromium() else { return };
    let image = real_fixture().unwrap_or_else(|| PathBuf::from("--demo"));
    let image = image.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (page, text) = html_report(dir.path(), image);
    eprintln!("analyze {image} --format html: {} bytes", text.len());
    assert!(text.len() < 3 << 20, "{} bytes", text.len());
    let url = format!("file://{}", page.display());
    let o = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(["--virtual-time-budget=5000", "--dump-dom", &url])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&o.stdout);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{log}");
    for line in log.lines() {
        assert!(
            !line.contains("Uncaught") && !line.contains("Refused to"),
            "console: {line}"
        );
    }
    // The script ran: the treemap has boxes, the tables have rows.
    assert!(
        dom.matches("class=\"tm-box\"").count() >= 3,
        "no treemap in the DOM"
    );
    let analysis = json(&stdout(&run(&["analyze", image, "--json"])));
    let largest = analysis["largest_files"][0]["path"].as_str().unwrap();
    assert!(
        dom.contains(&format!("/{largest}")),
        "the largest path {largest} is not in the DOM"
    );
    for f in analysis["findings"].as_array().unwrap() {
        let title = f["title"]
            .as_str()
            .unwrap()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(dom.contains(&title), "finding {title:?} is not in the DOM");
    }
    // The README's screenshot, refreshed on demand.
    if std::env::var("PYSLIM_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        let shot = repo().join("screenshots/report-html.png");
        let o = std::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .args(["--window-size=1400,1100", "--virtual-time-budget=5000"])
            .arg(format!("--screenshot={}", shot.display()))
            .arg(&url)
            .output()
            .unwrap();
        assert!(o.status.success() && shot.exists());
    }
}

#[test]
fn compare_and_propose_write_static_self_contained_pages() {
    let dir = tempfile::tempdir().unwrap();
    let compare = stdout(&run(&["compare", "--demo", "demo", "--format", "html"]));
    let propose = pyslim()
        .current_dir(dir.path())
        .args(["propose", "--demo", "--format", "html"])
        .output()
        .unwrap();
    let propose = stdout(&propose);
    for (what, page) in [("compare", &compare), ("propose", &propose)] {
        assert!(page.starts_with("<!DOCTYPE html>"), "{what}: {page:.200}");
        for outside in ["src=", "href=", "@import", "url(", "<link", "<script"] {
            assert!(!page.contains(outside), "{what}: the page has {outside:?}");
        }
    }
    assert!(
        compare.contains(
            "<tr><th>size</th><td class=r>556.82 MiB</td><td class=r>556.82 MiB</td></tr>"
        ),
        "{compare}"
    );
    assert!(
        propose.contains("<h2>Diff</h2>") && propose.contains("<span class=add>+FROM "),
        "{propose}"
    );
    assert!(propose.contains(" AS builder"), "{propose}");
}
