//! Safety checks before a trimmed image is written: removals that would break the
//! interpreter, a shared library a kept ELF file needs (DT_NEEDED), a package a kept one
//! requires (Requires-Dist) or a file the entrypoint names are refused with a clear message.

use pyslim::core::examine;
use pyslim::core::findings::RuleSet;
use pyslim::core::trim_image::plan_removal;
use pyslim::core::trim_image::safety::{self, Breakage};
use pyslim::source::writer::ArchiveFormat;

use crate::common;
use crate::common::trim_spec::{decisions, dist, spec, SITE};

/// The image, examined, and a removal of the given final paths checked for safety.
fn problems_removing(paths: &[&str]) -> Vec<safety::Problem> {
    let dir = tempfile::tempdir().unwrap();
    let tar = common::write_tar(dir.path(), "t.tar", &spec(), ArchiveFormat::DockerLegacy);
    let image = common::open(&tar).unwrap();
    let ex = examine(&image, Some(&RuleSet::builtin().unwrap()), 20);
    let mut chosen = vec![false; ex.tree.nodes.len()];
    for p in paths {
        chosen[ex.tree.lookup(p).unwrap_or_else(|| panic!("{p}")) as usize] = true;
    }
    let plan = plan_removal(&image, &ex.tree, &chosen);
    safety::check(&image, &ex, &plan.removed)
}

#[test]
fn removing_nothing_that_matters_breaks_nothing() {
    assert_eq!(
        problems_removing(&["root/.cache", "usr/include", "var/lib/apt/lists"]),
        vec![]
    );
}

#[test]
fn removing_the_interpreter_is_refused() {
    let problems = problems_removing(&["usr/bin/python3.11"]);
    let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    assert!(
        messages.contains(&"the venv /opt/venv runs /usr/bin/python3.11, which the trim removes"),
        "{messages:?}"
    );
    assert!(
        messages.contains(&"the trim removes every Python interpreter (/usr/bin/python3.11)"),
        "{messages:?}"
    );
    // CMD runs python3 from PATH: /opt/venv/bin/python3 → /usr/bin/python3.11.
    assert!(
        messages.contains(&"the image's entrypoint/command names /opt/venv/bin/python3, and the trim removes /usr/bin/python3.11"),
        "{messages:?}"
    );
}

#[test]
fn removing_a_library_a_kept_binary_needs_is_refused() {
    let problems = problems_removing(&["usr/lib/x86_64-linux-gnu/libc.so.6"]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].kind, Breakage::SharedLibrary);
    assert_eq!(
        problems[0].message,
        "/usr/bin/python3.11 needs libc.so.6 (DT_NEEDED), and the trim removes /usr/lib/x86_64-linux-gnu/libc.so.6"
    );
}

#[test]
fn removing_a_required_package_is_refused() {
    let problems = problems_removing(&[
        &format!("{SITE}/werkzeug-3.0.4.dist-info"),
        &format!("{SITE}/werkzeug"),
    ]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].kind, Breakage::PythonPackage);
    assert_eq!(
        problems[0].message,
        format!("flask 3.0.3 requires werkzeug (Requires-Dist), and the trim removes werkzeug 3.0.4 from /{SITE}")
    );
}

#[test]
fn removing_a_file_the_command_names_is_refused() {
    let problems = problems_removing(&["app/main.py"]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].kind, Breakage::Entrypoint);
    assert_eq!(
        problems[0].message,
        "the image's entrypoint/command names /app/main.py, and the trim removes /app/main.py"
    );
}

/// The spec with packaging tools that the app's own package still requires at run time.
fn spec_needing_setuptools() -> pyslim::source::writer::ImageSpec {
    let mut s = spec();
    let mut tools = dist(
        "setuptools",
        "75.1.0",
        &[],
        &[
            ("setuptools/__init__.py", 9_000),
            ("pkg_resources/__init__.py", 100_000),
        ],
    );
    tools.extend(dist(
        "pip",
        "24.2",
        &[],
        &[
            ("pip/__init__.py", 1_000),
            ("pip/_internal/cli.py", 400_000),
        ],
    ));
    tools.extend(dist(
        "legacy-lib",
        "1.0",
        &["setuptools"],
        &[("legacy_lib/__init__.py", 3_000)],
    ));
    s.layers[2].entries.extend(tools);
    s
}

#[test]
fn the_session_says_what_accepting_would_break_before_the_user_accepts() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let dir = tempfile::tempdir().unwrap();
    let s = spec_needing_setuptools();
    let tar = common::write_tar(dir.path(), "t.tar", &s, ArchiveFormat::DockerLegacy);
    let image = common::open(&tar).unwrap();
    let rules = RuleSet::builtin().unwrap();
    let ex = examine(&image, Some(&rules), 20);
    let mut app =
        pyslim::tui::app::App::new(image, ex, pyslim::tui::keymap::Keymap::load(None).unwrap());
    app.set_rules(rules);
    app.handle_key(KeyEvent::new(KeyCode::Char('t'), KeyModifiers::NONE));
    let key = |app: &pyslim::tui::app::App| {
        let t = app.trim().unwrap();
        t.session.keys[t.session.cursor].clone()
    };
    while key(&app) != "python-packaging-tools" {
        let t = app.trim().unwrap();
        assert!(
            t.if_accepted.is_empty(),
            "{}: {:?}",
            key(&app),
            t.if_accepted
        );
        app.handle_key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE));
    }
    let t = app.trim().unwrap();
    let expected = format!("legacy-lib 1.0 requires setuptools (Requires-Dist), and the trim removes setuptools 75.1.0 from /{SITE} (finding python-packaging-tools)");
    assert_eq!(t.if_accepted, vec![expected.clone()]);
    let screen = common::render_text(120, 40, |f, theme| pyslim::tui::view::draw(f, &app, theme));
    assert!(
        screen.contains("accepting it would break the app"),
        "{screen}"
    );
    assert!(
        screen.contains("legacy-lib 1.0 requires setuptools"),
        "{screen}"
    );
    // Accepted anyway: the finish screen says the image cannot be written, and why.
    app.handle_key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE));
    app.handle_key(KeyEvent::new(KeyCode::Char('f'), KeyModifiers::NONE));
    let t = app.trim().unwrap();
    assert_eq!(t.projection.problems, vec![expected]);
    let screen = common::render_text(120, 40, |f, theme| pyslim::tui::view::draw(f, &app, theme));
    assert!(
        screen.contains("cannot be written with these decisions"),
        "{screen}"
    );
    // Nor does the patch uninstall what the app needs.
    let dockerfile = "FROM python:3.11-slim\nRUN apt-get update && apt-get install -y python3.11-dev\nRUN python3 -m venv /opt/venv && pip install flask numpy\nCOPY main.py /app/main.py\nRUN rm -f /tmp/build.log && apt-get clean\n";
    let plan = pyslim::core::trim_session::patch::plan(
        &t.session,
        app.image(),
        app.examination(),
        app.rules(),
        &pyslim::core::dockerfile::Dockerfile::parse(dockerfile),
    );
    let tools = plan
        .outcomes
        .iter()
        .find(|o| o.key == "python-packaging-tools")
        .unwrap();
    assert_eq!(tools.saved, 0);
    assert!(
        tools.manual[0]
            .starts_with("not patched, it would break the app: legacy-lib 1.0 requires setuptools"),
        "{:?}",
        tools.manual
    );
    assert!(
        !plan
            .edits
            .iter()
            .any(|e| format!("{e:?}").contains("uninstall")),
        "{:?}",
        plan.edits
    );
}

#[test]
fn a_refused_trim_says_why_in_one_line_and_writes_nothing() {
    let s = spec_needing_setuptools();
    let dir = tempfile::tempdir().unwrap();
    let tar = common::write_tar(dir.path(), "t.tar", &s, ArchiveFormat::DockerLegacy);
    std::fs::write(
        dir.path().join("d.toml"),
        decisions(&["python-packaging-tools", "pip-cache"]),
    )
    .unwrap();
    let out = common::pyslim()
        .current_dir(dir.path())
        .arg("trim")
        .arg(&tar)
        .args(["--decisions", "d.toml", "-o", "out"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end(),
        format!("pyslim: refusing to write the trimmed image, it would break the app: legacy-lib 1.0 requires setuptools (Requires-Dist), and the trim removes setuptools 75.1.0 from /{SITE} (skip finding python-packaging-tools)")
    );
    for name in ["out.tar", "out.md", "out.decisions.toml"] {
        assert!(!dir.path().join(name).exists(), "{name} was written");
    }
    // Skipping that finding lets the rest through.
    std::fs::write(dir.path().join("d.toml"), decisions(&["pip-cache"])).unwrap();
    let ok = common::pyslim()
        .current_dir(dir.path())
        .arg("trim")
        .arg(&tar)
        .args(["--decisions", "d.toml", "-o", "out"])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}
